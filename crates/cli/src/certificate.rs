//! `gdpr-erasure audit certificate TICKET [--html]`: the certificate of erasure
//! (crate `archive`, `certificate`) on stdout.

use std::process::ExitCode;

/// The arguments of `audit certificate`.
#[derive(Debug, clap::Args)]
pub struct CertificateArgs {
    /// The ticket id.
    ticket: String,
    /// A self-contained HTML page instead of text.
    #[arg(long)]
    html: bool,
}

pub async fn audit_certificate(
    archive: &dyn archive::Archive,
    args: CertificateArgs,
    issued_at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(String, ExitCode)> {
    match archive::certificate::certificate(archive, &args.ticket, issued_at, args.html).await? {
        Some(c) => Ok((c, ExitCode::SUCCESS)),
        None => {
            eprintln!(
                "no record for ticket {} in {}",
                args.ticket,
                archive.location()
            );
            Ok((String::new(), ExitCode::from(1)))
        }
    }
}
