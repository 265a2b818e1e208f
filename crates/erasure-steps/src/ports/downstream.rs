//! Downstream systems (Art. 19): each configured recipient gets a signed erasure
//! instruction and answers with an acknowledgement `{status, reference}`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::StepError;
use signing::{Endpoint, KeyRing, PostOutcome, SignedPost, http_client};

/// One recipient: where it is and the key it verifies our signature with.
#[derive(Clone)]
pub struct DownstreamSystem {
    pub name: String,
    pub endpoint: Endpoint,
    pub key: KeyRing,
    /// How long one attempt waits for the answer.
    pub timeout: Duration,
}

impl fmt::Debug for DownstreamSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownstreamSystem")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// A system name as the record accepts it.
pub fn valid_system_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._-".contains(c))
}

/// What a system answered when it accepted the instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub status: String,
    pub reference: String,
}

/// The configured recipients.
#[derive(Debug, Clone)]
pub struct Downstream {
    systems: Vec<DownstreamSystem>,
    http: reqwest::Client,
}

impl Downstream {
    pub fn new(systems: Vec<DownstreamSystem>) -> Result<Self, StepError> {
        for (i, s) in systems.iter().enumerate() {
            if !valid_system_name(&s.name) {
                return Err(StepError::misconfigured(format!(
                    "downstream system #{} has an invalid name (1 to 64 of A-Z a-z 0-9 space . _ -)",
                    i + 1
                )));
            }
            if systems[..i].iter().any(|o| o.name == s.name) {
                return Err(StepError::misconfigured(format!(
                    "downstream system {} is configured twice",
                    s.name
                )));
            }
        }
        Ok(Downstream {
            systems,
            http: http_client(),
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.systems.iter().map(|s| s.name.clone()).collect()
    }

    pub fn system(&self, name: &str) -> Option<&DownstreamSystem> {
        self.systems.iter().find(|s| s.name == name)
    }

    /// Sends one instruction. `Ok` only for a 2xx answer carrying an acknowledgement.
    pub async fn send(
        &self,
        system: &DownstreamSystem,
        body: &serde_json::Value,
        idempotency_key: &str,
        timestamp: i64,
    ) -> Result<(u16, Acknowledgement), StepError> {
        let name = system.name.clone();
        let body = serde_json::to_vec(body).map_err(|_| StepError::DownstreamRejected {
            system: name.clone(),
            detail: "the instruction cannot be encoded".into(),
        })?;
        let post = SignedPost {
            endpoint: &system.endpoint,
            keys: &system.key,
            timestamp,
            body: &body,
            idempotency_key,
            timeout: system.timeout,
        };
        match post.send(&self.http).await {
            PostOutcome::Accepted { status, body } => {
                match serde_json::from_slice::<Acknowledgement>(&body) {
                    Ok(ack)
                        if !ack.reference.trim().is_empty()
                            && ack.reference.chars().count() <= 256 =>
                    {
                        Ok((status, ack))
                    }
                    _ => Err(StepError::DownstreamRejected {
                        system: name,
                        detail: format!(
                            "HTTP {status} without an acknowledgement {{status, reference}}"
                        ),
                    }),
                }
            }
            PostOutcome::Unavailable(detail) => Err(StepError::DownstreamUnavailable {
                system: name,
                detail,
            }),
            PostOutcome::Refused { status } => Err(StepError::DownstreamRejected {
                system: name,
                detail: format!("HTTP {status}"),
            }),
        }
    }
}
