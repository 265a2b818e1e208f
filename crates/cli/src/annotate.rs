//! `gdpr-erasure audit annotate`: a person closes an escalation or a residue with an
//! annotation appended to the ticket's documents (crate `archive`, `annotation`): the
//! document whose escalations it closes, how they were resolved (a code), the support
//! case (a reference, never free text), who (their e-mail address, kept only as its keyed
//! hash) and when. Nothing is resubmitted to Genesys; this records what a person did.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use archive::annotation::{AnnotateError, Closing, annotate};
use erasure_core::identifiers::Email;

/// The arguments of `audit annotate`.
#[derive(Debug, clap::Args)]
pub struct AnnotateArgs {
    /// The ticket id.
    ticket: String,
    /// The record or verification whose escalations are closed, by key below the
    /// archive's prefix (`records/<ticket>/<file>`; `audit show` and the certificate
    /// list them).
    #[arg(long, value_name = "KEY")]
    document: String,
    /// An escalation reason of that document to close (repeat for several; default:
    /// every one still open).
    #[arg(long = "closes", value_name = "REASON")]
    closes: Vec<String>,
    /// resolved-by-genesys, erased-by-hand, kept-lawfully or not-the-subject.
    #[arg(long)]
    resolution: String,
    /// The support case or change reference (letters, digits and . _ : -).
    #[arg(long, value_name = "REFERENCE")]
    support_case: String,
    /// Who decides: their e-mail address, kept only as its keyed hash.
    #[arg(long, value_name = "EMAIL")]
    by: String,
    /// Their role, as the record schema accepts roles.
    #[arg(long, default_value = "DPO")]
    role: String,
    /// The pseudonym key (default: the one beside a local archive).
    #[arg(long, value_name = "FILE")]
    pseudonym_key_file: Option<PathBuf>,
}

pub async fn audit_annotate(
    archive: &dyn archive::Archive,
    archive_dir: Option<PathBuf>,
    args: AnnotateArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(String, ExitCode)> {
    if !erasure_core::record::is_valid_role(&args.role) {
        anyhow::bail!("--role is not a role the record accepts");
    }
    let by: Email = args
        .by
        .parse()
        .map_err(|_| anyhow::anyhow!("--by is not an e-mail address"))?;
    let key_file = match (&args.pseudonym_key_file, &archive_dir) {
        (Some(f), _) => f.clone(),
        (None, Some(dir)) => crate::local::default_key_file(dir),
        (None, None) => anyhow::bail!("--pseudonym-key-file is needed for an S3 archive"),
    };
    let pseudonymiser = crate::local::pseudonymiser(&key_file, false, archive_dir.as_deref())
        .with_context(|| format!("the pseudonym key {}", key_file.display()))?;
    // As the approval endpoint and Intake name a person acting on a ticket.
    let actor = pseudonymiser.actor(&by);
    let closing = Closing {
        ticket_id: &args.ticket,
        document_key: &args.document,
        reasons: args.closes.clone(),
        resolution: &args.resolution,
        support_case: &args.support_case,
        actor_ref: actor.as_str(),
        role: &args.role,
    };
    match annotate(archive, &closing, now).await {
        Ok(r) => Ok((
            format!("annotation written: {} ({})\n", r.key, r.digest),
            ExitCode::SUCCESS,
        )),
        Err(AnnotateError::Refused(why) | AnnotateError::Closed(why)) => {
            eprintln!("not annotated: {why}");
            Ok((String::new(), ExitCode::from(2)))
        }
        Err(AnnotateError::Archive(e)) => Err(e.into()),
    }
}
