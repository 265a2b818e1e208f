//! Generated data subjects for the load test: each a customer with one recorded voice
//! call from a number of their own, added to the bundled dataset, and a signed-off
//! ticket asking for their erasure. Fictional: numbers from +353 89 700 0000 up,
//! e-mails at example.net.

use chrono::{DateTime, TimeDelta, Utc};
use genesys_emulator::Dataset;
use genesys_emulator::dataset::{Conversation, FileState};
use serde_json::{Value, json};

/// The most subjects a load run can have.
pub const MAX_SUBJECTS: usize = 500;

#[derive(Debug, Clone)]
pub struct Subject {
    pub index: usize,
    pub ticket_id: String,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub email: String,
    pub conversation_id: String,
    pub recording_id: String,
}

fn uuid(kind: u16, i: usize) -> String {
    format!("10ad0000-{kind:04x}-4000-8000-{i:012}")
}

pub fn subjects(n: usize) -> Vec<Subject> {
    assert!(n <= MAX_SUBJECTS, "at most {MAX_SUBJECTS} load subjects");
    (0..n)
        .map(|i| Subject {
            index: i,
            ticket_id: format!("LOAD-{i:04}"),
            name: format!("Loadtest Subject{i:04}"),
            phone: format!("+3538970{i:05}"),
            email: format!("load.subject.{i:04}@example.net"),
            conversation_id: uuid(1, i),
            recording_id: uuid(2, i),
        })
        .collect()
}

/// The bundled dataset with one recorded call of each subject (a copy of one of the
/// dataset's own inbound voice calls, its customer's number replaced).
pub fn dataset(subjects: &[Subject]) -> Dataset {
    let mut ds = Dataset::bundled();
    let template: Conversation = ds
        .conversations
        .iter()
        .find(|c| c.id == "8a15996b-fa29-4d78-9331-69ded1d4e015")
        .cloned()
        .expect("the happy-path persona's first call is in the dataset");
    let start: DateTime<Utc> = "2026-06-01T09:00:00Z".parse().expect("a timestamp");
    for s in subjects {
        let mut c = template.clone();
        c.id = s.conversation_id.clone();
        let at = start + TimeDelta::minutes(7 * s.index as i64);
        let length = template.end - template.start;
        c.start = at;
        c.end = at + length;
        for (k, p) in c.participants.iter_mut().enumerate() {
            p.id = uuid(3 + k as u16 * 2, s.index);
            p.session_id = uuid(4 + k as u16 * 2, s.index);
            if p.purpose == "customer" {
                p.ani = Some(format!("tel:{}", s.phone));
                p.name = Some(s.name.clone());
                p.external_contact_id = None;
            }
        }
        c.recordings.truncate(1);
        for r in &mut c.recordings {
            r.id = s.recording_id.clone();
            r.start_time = c.start;
            r.end_time = c.end;
            r.file_state = FileState::Available;
            r.delete_date = None;
        }
        ds.conversations.push(c);
    }
    ds
}

/// The subject's ticket, received and signed off just before `now`.
pub fn ticket(s: &Subject, now: DateTime<Utc>) -> Value {
    let at = |hours: i64| (now - TimeDelta::hours(hours)).to_rfc3339();
    json!({
        "ticket": {
            "id": s.ticket_id,
            "source": "onetrust",
            "receivedAt": at(48),
            "identityVerifiedAt": at(24),
            "verificationMethod": "account-login",
            "signOff": { "by": crate::DPO, "role": "DPO", "at": at(2) },
            "extension": null
        },
        "subject": {
            "name": s.name,
            "emails": [s.email],
            "phones": [ { "number": s.phone, "from": "2020-01-01", "until": null } ],
            "genesysUserId": null,
            "externalContactId": null
        },
        "options": { "eraseRecordings": true, "exportReview": "when-needed" }
    })
}
