//! The world whole erasures run in, as `make demo` runs them: the workflow definition
//! on the local runner with every step in process (`erasure_steps::local`), the Genesys
//! emulator in process on a virtual clock, a local archive, a local downstream receiver
//! checking signatures (two systems, `crm` and `warehouse`), the fixture legal-hold
//! register, and a DPO who approves if asked.
//!
//! [`happy_path_like`] makes as many independent subjects as wanted, each a copy of the
//! happy-path ticket's subject (Liam Walsh: three recorded calls, found by number and
//! CRM contact id) under a number and contact id of its own.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use archive::{LocalArchive, RetentionPolicy};
use chrono::{DateTime, Utc};
use clock::{SharedClock, VirtualClock};
use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use erasure_core::record::ApprovalDecision;
use erasure_steps::gdpr::PollPolicy;
use erasure_steps::local::receiver::{Behaviour, DownstreamReceiver};
use erasure_steps::local::{Decider, LocalPipeline, LocalPorts, PipelineDeps, RunOutcome};
use erasure_steps::ports::{
    Downstream, DownstreamSystem, KeyRing, MemoryReviewNotifier, MemoryTicketReporter,
    StaticHoldRegister,
};
use genesys::{ClientConfig, Credentials, Environment, GenesysClient};
use genesys_emulator::{Dataset, Emulator, JobTiming, RunningEmulator};
use serde_json::Value;

/// The happy-path ticket (`make demo`'s first scenario).
pub const HAPPY_PATH: &str = include_str!("../../../tests/fixtures/tickets/happy-path.json");
/// The fixture legal-hold register (none of its holds touches the happy path).
pub const REGISTER: &str = include_str!("../../../tests/fixtures/holds/register.json");
/// When the world starts: after the dataset's date and the ticket's sign-off.
pub const START: &str = "2026-11-23T09:00:00Z";
const DPO: &str = "maeve.brennan@brightwater.example";

/// The happy-path ticket as JSON.
pub fn happy_path() -> Value {
    serde_json::from_str(HAPPY_PATH).expect("the fixture is JSON")
}

/// How a world is set up.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub dataset: Dataset,
    pub job_timing: JobTiming,
    pub poll: PollPolicy,
    /// Requests per minute per OAuth client (`None`: the emulator's default, Genesys's 300).
    pub rate_limit: Option<u32>,
    pub start: DateTime<Utc>,
    /// A discrete-event clock (`clock::TokioClock`, under a runtime whose time is
    /// paused) instead of the `VirtualClock`, which jumps ahead at every sleep for every
    /// execution at once: right for one ticket, not for many started together.
    pub simulated: bool,
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            dataset: Dataset::bundled(),
            job_timing: JobTiming::default(),
            poll: PollPolicy::default(),
            rate_limit: None,
            start: START.parse().expect("START is a timestamp"),
            simulated: false,
        }
    }
}

pub struct World {
    pub clock: SharedClock,
    pub emulator: RunningEmulator,
    pub pipeline: LocalPipeline,
    _receiver: DownstreamReceiver,
    _archive: tempfile::TempDir,
}

/// The bench's pseudonym key (a fixed test key: nothing here is real).
pub fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(PseudonymKey::new("bench-key", vec![0x42; 32]).expect("a valid key"))
}

/// A Genesys client of `emu` on `clock`.
pub fn genesys_client(emu: &RunningEmulator, clock: SharedClock) -> anyhow::Result<GenesysClient> {
    let oauth = emu.oauth_client();
    Ok(GenesysClient::new(
        ClientConfig::new(
            Environment::BaseUrl(emu.base_url().parse()?),
            Credentials::new(oauth.client_id, oauth.client_secret),
        )
        .with_clock(clock),
    )?)
}

impl World {
    pub async fn start(o: WorldOptions) -> anyhow::Result<Self> {
        let shared: SharedClock = if o.simulated {
            Arc::new(clock::TokioClock::starting_at(o.start))
        } else {
            Arc::new(VirtualClock::starting_at(o.start))
        };
        let clock = shared.clone();
        let mut emu = Emulator::builder()
            .dataset(o.dataset)
            .clock(shared.clone())
            .seed(2026)
            .job_timing(o.job_timing);
        if let Some(n) = o.rate_limit {
            emu = emu.rate_limit_per_minute(n);
        }
        let emulator = emu.start().await.context("the emulator")?;
        let genesys = genesys_client(&emulator, shared.clone())?;

        let systems: Vec<(String, KeyRing, Behaviour)> = ["crm", "warehouse"]
            .into_iter()
            .map(|n| {
                let key = KeyRing::from_key(format!("bench-{n}-key-0123456789abcdef0123456789"))
                    .context("a key")?;
                Ok((n.to_owned(), key, Behaviour::Acknowledge))
            })
            .collect::<anyhow::Result<_>>()?;
        let receiver = DownstreamReceiver::start(systems.clone(), shared.clone()).await?;
        let downstream = Downstream::new(
            systems
                .into_iter()
                .map(|(name, key, _)| DownstreamSystem {
                    endpoint: receiver.endpoint(&name),
                    name,
                    key,
                    timeout: std::time::Duration::from_secs(30),
                })
                .collect(),
        )?;
        let dir = tempfile::tempdir()?;
        let pseudonymiser = Arc::new(pseudonymiser());
        let mut deps = PipelineDeps::from_ports(LocalPorts {
            genesys,
            clock: shared.clone(),
            pseudonymiser: pseudonymiser.clone(),
            intake: Default::default(),
            holds: Arc::new(StaticHoldRegister {
                name: "tests/fixtures/holds/register.json".into(),
                bytes: REGISTER.as_bytes().to_vec(),
            }),
            downstream,
            archive: Arc::new(LocalArchive::new(dir.path(), RetentionPolicy::default())),
            notifier: Arc::new(MemoryReviewNotifier::default()),
            reporter: Arc::new(MemoryTicketReporter::default()),
            letters: erasure_steps::local::example_letters()
                .expect("the embedded letter templates pass their checks"),
        });
        deps.genesys.poll = o.poll;
        deps.review.genesys.poll = o.poll;
        let dpo = Decider::new(
            Some(ApprovalDecision::Approve),
            &DPO.parse().context("the DPO's address")?,
            "DPO",
            "bench",
            &pseudonymiser,
            shared.clone(),
        );
        let pipeline = LocalPipeline::new(deps, Arc::new(dpo), shared, 2026)?;
        Ok(World {
            clock,
            emulator,
            pipeline,
            _receiver: receiver,
            _archive: dir,
        })
    }

    /// Runs one ticket (named after its id) and returns it with its record's outcome.
    pub async fn run(&self, ticket: Value) -> anyhow::Result<(RunOutcome, String)> {
        let name = ticket["ticket"]["id"]
            .as_str()
            .context("a ticket id")?
            .to_owned();
        let outcome = self.pipeline.run(&name, ticket).await?;
        let record = outcome
            .record
            .as_ref()
            .map(|r| r.outcome.clone())
            .with_context(|| format!("{name} ended without a record"))?;
        Ok((outcome, record))
    }
}

/// `n` subjects like the happy path's, each with a number and CRM contact id of its
/// own and copies of the three recorded calls, and a ticket for each
/// (`DSAR-BENCH-0000`, ...). The subjects are added to the bundled dataset.
pub fn happy_path_like(n: usize) -> anyhow::Result<(Dataset, Vec<Value>)> {
    let mut ds = Dataset::bundled();
    let ticket = happy_path();
    let contact = ticket["subject"]["externalContactId"]
        .as_str()
        .context("the happy path names a contact")?
        .to_owned();
    let number = ticket["subject"]["phones"][0]["number"]
        .as_str()
        .context("the happy path has a phone")?
        .replace(' ', "");
    let persona = ds
        .personas
        .iter()
        .find(|p| p.external_contact_id.as_deref() == Some(contact.as_str()))
        .context("the happy path's subject is a persona of the dataset")?
        .clone();
    let calls: Vec<_> = ds
        .conversations
        .iter()
        .filter(|c| persona.customer_conversation_ids.contains(&c.id))
        .cloned()
        .collect();
    let original = ds
        .external_contacts
        .iter()
        .find(|c| c.id == contact)
        .context("the happy path's contact is in the dataset")?
        .clone();
    if calls.is_empty() {
        bail!("the happy path's subject has no conversations");
    }
    let id = |kind: u32, i: usize, j: usize| {
        format!("{kind:08x}-{i:04x}-4{j:03x}-8000-{:012x}", i * 1000 + j)
    };
    let mut tickets = Vec::with_capacity(n);
    for i in 0..n {
        let new_number = format!("+35383{}", 9_000_000 + i);
        let new_contact = id(0xbe0c_0001, i, 0);
        let swap = |s: &mut Option<String>| {
            if let Some(v) = s.as_mut() {
                *v = v.replace(&number, &new_number);
                if *v == contact {
                    *v = new_contact.clone();
                }
            }
        };
        let mut c = original.clone();
        c.id = new_contact.clone();
        c.phone_numbers = vec![new_number.clone()];
        ds.external_contacts.push(c);
        for (j, call) in calls.iter().enumerate() {
            let mut call = call.clone();
            call.id = id(0xbe0c_0002, i, j);
            for (k, p) in call.participants.iter_mut().enumerate() {
                p.id = id(0xbe0c_0003, i, j * 10 + k);
                p.session_id = id(0xbe0c_0004, i, j * 10 + k);
                swap(&mut p.external_contact_id);
                swap(&mut p.ani);
                swap(&mut p.dnis);
                swap(&mut p.address_from);
                swap(&mut p.address_to);
            }
            for (k, r) in call.recordings.iter_mut().enumerate() {
                r.id = id(0xbe0c_0005, i, j * 10 + k);
            }
            ds.conversations.push(call);
        }
        let mut t = ticket.clone();
        t["ticket"]["id"] = Value::from(format!("DSAR-BENCH-{i:04}"));
        t["subject"]["phones"][0]["number"] = Value::from(new_number);
        t["subject"]["externalContactId"] = Value::from(new_contact);
        tickets.push(t);
    }
    ds.validate()
        .map_err(|e| anyhow::anyhow!("the bench dataset is invalid: {e}"))?;
    Ok((ds, tickets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copies_of_the_happy_path_each_end_completed_on_their_own_data() {
        let (dataset, tickets) = happy_path_like(3).unwrap();
        let world = World::start(WorldOptions {
            dataset,
            ..WorldOptions::default()
        })
        .await
        .unwrap();
        for t in tickets {
            let (outcome, record) = world.run(t).await.unwrap();
            assert_eq!(record, "COMPLETED", "{:?}", outcome.result.error());
        }
        // Each subject's calls were found and erased, nobody else's: one delete per
        // identifier each ticket clears (its e-mail and its number), none twice.
        let names: std::collections::BTreeSet<String> = world
            .emulator
            .gdpr_requests()
            .into_iter()
            .filter(|r| r.request_type == genesys_emulator::RequestType::GdprDelete)
            .filter_map(|r| r.name)
            .collect();
        assert_eq!(names.len(), 3 * 2, "{names:?}");
    }
}
