//! Task tokens of `.waitForTaskToken` Tasks: the runner-wide registry behind
//! `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use clock::SharedClock;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::handler::TaskError;

/// Why a callback was refused; the names are the Step Functions API's exceptions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The token was never issued by this runner.
    #[error("InvalidToken: the task token is not one this runner issued")]
    InvalidToken,
    /// The Task already completed or its execution ended.
    #[error("TaskDoesNotExist: the task of this token is no longer waiting")]
    TaskDoesNotExist,
    /// The Task timed out before the callback.
    #[error("TaskTimedOut: the task of this token timed out")]
    TaskTimedOut,
}

pub(crate) type Outcome = Result<Value, TaskError>;

enum Slot {
    Open {
        sender: Option<oneshot::Sender<Outcome>>,
        last_beat: Arc<Mutex<DateTime<Utc>>>,
        state: String,
        execution: String,
    },
    Done,
    TimedOut,
}

/// A token waiting for its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingToken {
    /// The execution's ARN.
    pub execution_id: String,
    /// The Task state's name.
    pub state_name: String,
    /// The token to pass to `send_task_success` / `send_task_failure`.
    pub token: String,
}

pub(crate) struct Tokens {
    slots: Mutex<HashMap<String, Slot>>,
    clock: SharedClock,
}

/// The waiting side of a token.
pub(crate) struct Waiter {
    pub receiver: oneshot::Receiver<Outcome>,
    pub last_beat: Arc<Mutex<DateTime<Utc>>>,
}

impl Tokens {
    pub fn new(clock: SharedClock) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // A panic elsewhere cannot leave the map half-updated: every change is one insert.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn register(&self, token: &str, execution: &str, state: &str) -> Waiter {
        let (sender, receiver) = oneshot::channel();
        let last_beat = Arc::new(Mutex::new(self.clock.now()));
        self.lock().insert(
            token.to_string(),
            Slot::Open {
                sender: Some(sender),
                last_beat: last_beat.clone(),
                state: state.to_string(),
                execution: execution.to_string(),
            },
        );
        Waiter {
            receiver,
            last_beat,
        }
    }

    pub fn complete(&self, token: &str, outcome: Outcome) -> Result<(), CallbackError> {
        let mut slots = self.lock();
        match slots.get_mut(token) {
            None => Err(CallbackError::InvalidToken),
            Some(Slot::Done) => Err(CallbackError::TaskDoesNotExist),
            Some(Slot::TimedOut) => Err(CallbackError::TaskTimedOut),
            Some(Slot::Open { sender, .. }) => {
                let sender = sender.take();
                slots.insert(token.to_string(), Slot::Done);
                match sender.map(|s| s.send(outcome)) {
                    Some(Ok(())) => Ok(()),
                    // The waiting Task went away (its execution failed elsewhere).
                    _ => Err(CallbackError::TaskDoesNotExist),
                }
            }
        }
    }

    pub fn heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        match self.lock().get(token) {
            None => Err(CallbackError::InvalidToken),
            Some(Slot::Done) => Err(CallbackError::TaskDoesNotExist),
            Some(Slot::TimedOut) => Err(CallbackError::TaskTimedOut),
            Some(Slot::Open { last_beat, .. }) => {
                *last_beat.lock().unwrap_or_else(|p| p.into_inner()) = self.clock.now();
                Ok(())
            }
        }
    }

    /// Closes a token whose Task stopped waiting (timed out, or ended otherwise).
    pub fn close(&self, token: &str, timed_out: bool) {
        let mut slots = self.lock();
        if let Some(Slot::Open { .. }) = slots.get(token) {
            slots.insert(
                token.to_string(),
                if timed_out {
                    Slot::TimedOut
                } else {
                    Slot::Done
                },
            );
        }
    }

    pub fn pending(&self, execution: Option<&str>) -> Vec<PendingToken> {
        let mut out: Vec<PendingToken> = self
            .lock()
            .iter()
            .filter_map(|(token, slot)| match slot {
                Slot::Open {
                    state,
                    execution: e,
                    ..
                } if execution.is_none_or(|x| x == e) => Some(PendingToken {
                    execution_id: e.clone(),
                    state_name: state.clone(),
                    token: token.clone(),
                }),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.token.cmp(&b.token));
        out
    }
}
