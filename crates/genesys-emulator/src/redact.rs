//! A GDPR_DELETE as live orgs show it (live-tenants.md section 1): the conversations
//! stay, the subject's identifiers are removed from every participant, the recordings
//! are deleted and matched external contacts anonymised, some days after the request
//! reads COMPLETED.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::dataset::{Conversation, FileState, Participant};
use crate::phone::{normalise_email, normalise_name, normalise_phone};
use crate::world::{DeletionProtection, GdprJob, GdprSubject, World};

/// A per-conversation fault on when a redaction lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum RedactionFault {
    /// Lands this much later than the configured lag.
    #[serde(rename_all = "camelCase")]
    LandsLate { extra_seconds: u64 },
    /// Never lands: the conversation keeps the subject's identifiers and recordings.
    NeverLands,
}

/// What a delete removes from the conversations it reaches, normalised, fixed when
/// the request is submitted: the subject's own identifiers, plus those of the external
/// contact or user it names by id.
#[derive(Clone, Default, PartialEq)]
pub struct RedactionIdentifiers {
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub names: Vec<String>,
    pub user_ids: Vec<String>,
    pub external_contact_ids: Vec<String>,
}

// Personal data: Debug shows counts only.
impl std::fmt::Debug for RedactionIdentifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactionIdentifiers")
            .field("phones", &self.phones.len())
            .field("emails", &self.emails.len())
            .field("names", &self.names.len())
            .finish_non_exhaustive()
    }
}

impl RedactionIdentifiers {
    pub fn of(w: &World, subject: &GdprSubject) -> Self {
        let mut ids = Self::default();
        let add_phone = |ids: &mut Self, p: &str| {
            if let Some(n) = normalise_phone(p).filter(|n| !ids.phones.contains(n)) {
                ids.phones.push(n);
            }
        };
        let add_email = |ids: &mut Self, e: &str| {
            if let Some(n) = normalise_email(e).filter(|n| !ids.emails.contains(n)) {
                ids.emails.push(n);
            }
        };
        let add_name = |ids: &mut Self, n: &str| {
            let n = normalise_name(n);
            if !n.is_empty() && !ids.names.contains(&n) {
                ids.names.push(n);
            }
        };
        subject
            .phone_numbers
            .iter()
            .for_each(|p| add_phone(&mut ids, p));
        subject
            .email_addresses
            .iter()
            .for_each(|e| add_email(&mut ids, e));
        if let Some(n) = &subject.name {
            add_name(&mut ids, n);
        }
        if let Some(id) = subject
            .external_contact_id
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            ids.external_contact_ids.push(id.to_string());
            if let Some(x) = w.contacts.iter().find(|x| x.id == id) {
                x.phone_numbers.iter().for_each(|p| add_phone(&mut ids, p));
                x.email_addresses
                    .iter()
                    .for_each(|e| add_email(&mut ids, e));
                if let Some(n) = x.full_name() {
                    add_name(&mut ids, &n);
                }
            }
        }
        if let Some(id) = subject.user_id.as_deref().filter(|s| !s.is_empty()) {
            ids.user_ids.push(id.to_string());
            if let Some(u) = w.users.iter().find(|u| u.id == id) {
                add_email(&mut ids, &u.email);
                add_name(&mut ids, &u.name);
            }
        }
        ids
    }

    fn is_identifier(&self, value: &str) -> bool {
        normalise_phone(value).is_some_and(|p| self.phones.contains(&p))
            || normalise_email(value).is_some_and(|e| self.emails.contains(&e))
    }

    /// Whether the participant is the subject's own leg of the conversation.
    fn is_subjects(&self, p: &Participant) -> bool {
        p.user_id.as_ref().is_some_and(|u| self.user_ids.contains(u))
            || p
                .external_contact_id
                .as_ref()
                .is_some_and(|x| self.external_contact_ids.contains(x))
            || p.name
                .as_deref()
                .is_some_and(|n| self.names.contains(&normalise_name(n)))
            // Every leg carries the conversation's addresses; only a customer-side leg
            // with the subject's address is the subject's own.
            || (matches!(p.purpose.as_str(), "customer" | "external")
                && p.address_fields().any(|(_, v)| self.is_identifier(v)))
    }

    /// Removes the subject's identifiers from every participant; the subject's own
    /// legs also lose their names and participant data attributes. Returns whether
    /// anything changed.
    pub fn redact(&self, c: &mut Conversation) -> bool {
        let mut changed = false;
        for p in &mut c.participants {
            let own = self.is_subjects(p);
            for f in [
                &mut p.ani,
                &mut p.dnis,
                &mut p.address_from,
                &mut p.address_to,
                &mut p.email_address,
            ] {
                if f.as_deref().is_some_and(|v| self.is_identifier(v)) {
                    *f = None;
                    changed = true;
                }
            }
            let name_is_subjects = p
                .name
                .as_deref()
                .is_some_and(|n| self.names.contains(&normalise_name(n)));
            if (own || name_is_subjects) && p.name.is_some() {
                p.name = None;
                changed = true;
            }
            if own && !p.attributes.is_empty() {
                p.attributes.clear();
                changed = true;
            }
        }
        changed
    }
}

/// Where a redacting delete stands (kept on the job).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedactionProgress {
    /// When the request read COMPLETED (or ERROR) and the lag started.
    pub started_at: Option<DateTime<Utc>>,
    /// When the redaction lands (without per-conversation faults).
    pub lands_at: Option<DateTime<Utc>>,
    /// Conversations still waiting for their redaction (including never-landing ones).
    pub awaiting_conversation_ids: Vec<String>,
    pub contacts_done: bool,
}

fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl World {
    /// Brings the redacting delete at `index` up to `now`.
    pub(crate) fn advance_redaction(&mut self, index: usize, now: DateTime<Utc>) {
        let ended = match self.gdpr[index].phases.last() {
            Some(p) => p.ends,
            None => self.gdpr[index].created_date,
        };
        if now < ended {
            return;
        }
        let lands_at = after(ended, self.config.redaction_lag);
        if self.gdpr[index].redaction.started_at.is_none() {
            self.start_redaction(index, ended, lands_at);
        }
        let job = self.gdpr[index].clone();
        let mut awaiting = Vec::new();
        let mut outcome = job.outcome.clone();
        for cid in &job.redaction.awaiting_conversation_ids {
            let due = match self.redaction_faults.get(cid) {
                None => Some(lands_at),
                Some(RedactionFault::LandsLate { extra_seconds }) => {
                    Some(after(lands_at, Duration::from_secs(*extra_seconds)))
                }
                Some(RedactionFault::NeverLands) => None,
            };
            if due.is_none_or(|d| now < d) {
                awaiting.push(cid.clone());
                continue;
            }
            if self.config.deletion_protection == DeletionProtection::Honoured
                && self.protected.contains(cid)
            {
                outcome.protected_conversation_ids.push(cid.clone());
                continue;
            }
            let Some(c) = self.conversations.iter_mut().find(|c| &c.id == cid) else {
                continue;
            };
            job.redaction_ids.redact(c);
            for r in &mut c.recordings {
                if r.file_state != FileState::Deleted {
                    r.file_state = FileState::Deleted;
                    outcome.deleted_recording_ids.push(r.id.clone());
                }
            }
            outcome.redacted_conversation_ids.push(cid.clone());
        }
        let mut contacts_done = job.redaction.contacts_done;
        if !contacts_done && now >= lands_at {
            if job.partial_error_fraction.is_none() {
                self.anonymise_contacts(&job, &mut outcome);
            }
            contacts_done = true;
        }
        let stored = &mut self.gdpr[index];
        stored.applied = awaiting.is_empty() && contacts_done;
        stored.redaction.awaiting_conversation_ids = awaiting;
        stored.redaction.contacts_done = contacts_done;
        stored.outcome = outcome;
    }

    /// At COMPLETED/ERROR: which conversations the redaction will reach.
    fn start_redaction(&mut self, index: usize, ended: DateTime<Utc>, lands_at: DateTime<Utc>) {
        let job = &self.gdpr[index];
        let present: Vec<String> = job
            .matched
            .conversations
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| self.conversations.iter().any(|c| &c.id == id))
            .collect();
        let take = partial_take(job, present.len());
        let (reached, not) = present.split_at(take);
        let job = &mut self.gdpr[index];
        job.outcome.applied_at = Some(ended);
        job.outcome.not_processed_conversation_ids = not.to_vec();
        job.redaction.started_at = Some(ended);
        job.redaction.lands_at = Some(lands_at);
        job.redaction.awaiting_conversation_ids = reached.to_vec();
    }

    /// Empties the names, phones and e-mails of the external contacts the job matched.
    pub(crate) fn anonymise_contacts(
        &mut self,
        job: &GdprJob,
        outcome: &mut crate::world::JobOutcome,
    ) {
        for id in &job.matched.external_contact_ids {
            if let Some(x) = self.contacts.iter_mut().find(|x| &x.id == id) {
                x.first_name = None;
                x.last_name = None;
                x.phone_numbers.clear();
                x.email_addresses.clear();
                outcome.anonymised_external_contact_ids.push(id.clone());
            }
        }
    }
}

/// How many of `n` matched conversations a job processes: all, unless an injected
/// `gdprPartialError` stops it part-way (at least one and not all when two or more).
pub(crate) fn partial_take(job: &GdprJob, n: usize) -> usize {
    match job.partial_error_fraction {
        None => n,
        Some(_) if n < 2 => 0,
        Some(f) => ((n as f64 * f).floor() as usize).clamp(1, n - 1),
    }
}
