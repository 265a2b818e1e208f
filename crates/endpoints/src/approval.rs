//! The approval endpoint: the DPO's answer to a review (a Lambda function URL).
//!
//! A signed decision (same scheme as the webhook, its own key)
//!
//! ```json
//! { "taskToken": "...", "executionArn": "arn:...:execution:...:DSAR-1"?, "decision": "approve|reject",
//!   "by": "dpo@example.com", "role": "DPO", "at": "2026-11-24T09:30:00Z", "reasonCode": "..."? }
//! ```
//!
//! resumes the execution waiting in `AwaitDecision`:
//!
//! - approve: `SendTaskSuccess` with `{decision: "approve", actorRef, role, at,
//!   channel: "approval-endpoint"}` (the record's `decisions.approval`);
//! - reject: `SendTaskFailure` with error `ReviewRejected` and cause the JSON string
//!   `{actorRef, role, at, channel, reasonCode}`.
//!
//! `actorRef` is the keyed pseudonym of `by` (the same as Intake gives the sign-off),
//! so the compliance record names who decided without holding their address.
//!
//! When the decision names its execution, that execution must be one of this state
//! machine's, still running, and waiting in `AwaitDecision` for exactly this token;
//! otherwise nothing is sent. Step Functions itself refuses a token that was already
//! answered or timed out: a second answer changes nothing and gets 409/410.

use archive::Archive;
use chrono::{DateTime, Duration, Utc};
use clock::SharedClock;
use erasure_core::error::FieldError;
use erasure_core::identifiers::Email;
use erasure_core::pseudonym::Pseudonym;
use erasure_core::pseudonym::Pseudonymiser;
use erasure_core::record::ApprovalDecision;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use crate::annotation;
use crate::answer::{self, Answer, Fields};
use crate::sfn::{self, SfnError, StepFunctions};
use crate::signature::{self, KeyRing};
use crate::webhook::aws_failure;

/// The `channel` recorded for decisions that came through this endpoint.
pub const CHANNEL: &str = "approval-endpoint";
/// The error name the definition's `AwaitDecision` Catch matches.
pub const REJECTED_ERROR: &str = "ReviewRejected";
/// The state of the definition that waits for the DPO.
pub const AWAIT_DECISION_STATE: &str = "AwaitDecision";
/// A decision is a few hundred bytes; anything near this is not one.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Step Functions task tokens are at most 2048 characters.
const MAX_TOKEN_CHARS: usize = 2048;

/// How the endpoint is set up (built once per cold start).
#[derive(Debug)]
pub struct ApprovalConfig {
    pub state_machine_arn: String,
    pub keys: KeyRing,
    pub pseudonymiser: Pseudonymiser,
    /// Roles allowed to decide (compared case-insensitively; recorded as spelled here).
    pub allowed_roles: Vec<String>,
    pub tolerance: Duration,
    /// How far in the future `at` may be (clock skew between systems); also how far
    /// before the review was put to the DPO.
    pub max_clock_skew: Duration,
    /// Four-eyes: the person who signed the ticket off may not also approve its
    /// erasure (`APPROVAL_FOUR_EYES=true`). Compared as pseudonyms.
    pub four_eyes: bool,
}

impl ApprovalConfig {
    pub fn new(
        state_machine_arn: impl Into<String>,
        keys: KeyRing,
        pseudonymiser: Pseudonymiser,
    ) -> Self {
        Self {
            state_machine_arn: state_machine_arn.into(),
            keys,
            pseudonymiser,
            allowed_roles: default_roles(),
            tolerance: signature::DEFAULT_TOLERANCE,
            max_clock_skew: Duration::minutes(5),
            four_eyes: false,
        }
    }
}

/// The roles of erasure-core's sign-off default: the same people approve.
pub fn default_roles() -> Vec<String> {
    erasure_core::ticket::IntakeConfig::default().allowed_sign_off_roles
}

/// Parses `APPROVAL_ROLES`-style configuration: roles separated by commas.
pub fn parse_roles(raw: &str) -> Result<Vec<String>, String> {
    let roles: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    if roles.is_empty() {
        return Err("no role is allowed to decide: list at least one, comma-separated".into());
    }
    if let Some(bad) = roles
        .iter()
        .find(|r| !erasure_core::record::is_valid_role(r))
    {
        return Err(format!(
            "role {bad:?} cannot be recorded: a role is a letter, then up to 39 letters, digits, spaces, '_' or '-' (the record schema's role)"
        ));
    }
    Ok(roles)
}

/// The endpoint with its clients.
pub struct ApprovalEndpoint<S> {
    pub config: ApprovalConfig,
    pub sfn: S,
    /// The compliance archive: annotations (`/annotations`) are written to it.
    pub archive: Box<dyn Archive>,
    pub clock: SharedClock,
}

impl<S: std::fmt::Debug> std::fmt::Debug for ApprovalEndpoint<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalEndpoint")
            .field("config", &self.config)
            .field("sfn", &self.sfn)
            .field("archive", &self.archive.location())
            .finish_non_exhaustive()
    }
}

/// A decision that passed every check.
struct Decision {
    task_token: String,
    execution_arn: String,
    decision: ApprovalDecision,
    by: Email,
    role: String,
    at: DateTime<Utc>,
    reason_code: Option<String>,
}

impl<S: StepFunctions> ApprovalEndpoint<S> {
    /// The Lambda handler: one request, one answer; a 5xx answer is also counted as
    /// the metric [`answer::APPROVAL_SERVER_ERRORS`].
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let answer = self.answer(&request).await;
        if let Some(line) = answer.server_error_metric(
            answer::APPROVAL_SERVER_ERRORS,
            &self.config.state_machine_arn,
            self.clock.now(),
        ) {
            println!("{line}");
        }
        answer.into_response()
    }

    pub async fn answer(&self, request: &Request) -> Answer {
        match self.try_answer(request).await {
            Ok(a) | Err(a) => a,
        }
    }

    async fn try_answer(&self, request: &Request) -> Result<Answer, Answer> {
        answer::require_post(request)?;
        let body = answer::body_bytes(request);
        answer::require_size(body, MAX_BODY_BYTES)?;
        let now = self.clock.now();
        let annotating = request.uri().path() == annotation::PATH;
        answer::require_signature(
            request,
            body,
            &self.config.keys,
            now,
            self.config.tolerance,
            if annotating { "annotation" } else { "decision" },
        )?;
        let value = answer::parse_json(body)?;
        if annotating {
            let a = annotation::read(&value)?;
            let role = self.allowed_role(&a.role)?;
            let actor_ref = self.config.pseudonymiser.actor(&a.by);
            let written =
                annotation::write(self.archive.as_ref(), &a, actor_ref.as_str(), &role, now).await;
            return if written.status < 300 {
                Ok(written)
            } else {
                Err(written)
            };
        }
        let d = self.read_decision(&value, now)?;
        let role = self.allowed_role(&d.role)?;
        let waiting = self.check_waiting(&d.execution_arn, &d.task_token).await?;
        // A decision cannot be older than the question it answers.
        if d.at + self.config.max_clock_skew < waiting.entered_at {
            tracing::warn!("decision refused: dated before the review was put");
            return Err(Answer::invalid(
                400,
                "decided-before-review",
                "the decision is dated before the review was put to the DPO",
                &[FieldError::new(
                    "at",
                    "before-review",
                    format!(
                        "is before the review began ({})",
                        erasure_core::time::format_utc(&waiting.entered_at)
                    ),
                )],
            ));
        }
        let actor_ref = self.config.pseudonymiser.actor(&d.by);
        if self.config.four_eyes {
            // The ticket's sign-off, as Intake pseudonymised it, from the waiting
            // state's input (read here, never logged). Unknown is refused: four-eyes
            // that cannot be checked is not four-eyes.
            let signer = (waiting.state_input.as_deref())
                .and_then(|i| serde_json::from_str::<Value>(i).ok())
                .and_then(|i| {
                    i.pointer("/ticket/signOff/actorRef")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                });
            match signer {
                Some(s) if s != actor_ref.as_str() => {}
                Some(_) => {
                    tracing::warn!("decision refused: four-eyes, the signer approves");
                    return Err(Answer::refuse(
                        403,
                        "four-eyes",
                        "the person who signed the ticket off may not also decide its review (four-eyes)",
                    ));
                }
                None => {
                    tracing::warn!("decision refused: four-eyes, signer unknown");
                    return Err(Answer::refuse(
                        409,
                        "signer-unknown",
                        "four-eyes is on and the execution does not show who signed the ticket off; nothing was sent",
                    ));
                }
            }
        }
        let sent = match d.decision {
            ApprovalDecision::Approve => {
                let output = approval_output(&actor_ref, &role, d.at);
                self.sfn.send_task_success(&d.task_token, &output).await
            }
            ApprovalDecision::Reject => {
                let cause = rejection_cause(&actor_ref, &role, d.at, d.reason_code.as_deref());
                self.sfn
                    .send_task_failure(&d.task_token, REJECTED_ERROR, &cause)
                    .await
            }
        };
        let at = erasure_core::time::format_utc(&d.at);
        let decision = match d.decision {
            ApprovalDecision::Approve => "approve",
            ApprovalDecision::Reject => "reject",
        };
        match sent {
            Ok(()) => {
                tracing::info!(decision, "decision delivered");
                Ok(Answer::ok(
                    200,
                    json!({
                        "decision": decision,
                        "actorRef": actor_ref.as_str(),
                        "role": role,
                        "at": at,
                        "channel": CHANNEL,
                    }),
                ))
            }
            Err(e) => Err(refused_by_step_functions(&e)),
        }
    }

    /// The role as configured, if the message's role is one allowed to decide.
    fn allowed_role(&self, role: &str) -> Result<String, Answer> {
        let allowed = &self.config.allowed_roles;
        if let Some(r) = allowed.iter().find(|r| r.eq_ignore_ascii_case(role.trim())) {
            return Ok(r.clone());
        }
        tracing::warn!("refused: role not allowed");
        Err(Answer::invalid(
            403,
            "role-not-allowed",
            "this role may not decide a review",
            &[FieldError::new(
                "role",
                "role-not-allowed",
                format!(
                    "is not a role allowed to decide (allowed: {})",
                    allowed.join(", ")
                ),
            )],
        ))
    }

    /// The execution the decision names: one of ours, running, and waiting in
    /// AwaitDecision for this very token. Checked before anything is sent.
    async fn check_waiting(&self, arn: &str, token: &str) -> Result<sfn::CurrentState, Answer> {
        let execution = match self.sfn.describe_execution_metadata(arn).await {
            Ok(e) => e,
            Err(SfnError::ExecutionDoesNotExist) => {
                tracing::warn!("decision refused: no such execution");
                return Err(Answer::refuse(
                    410,
                    "execution-not-found",
                    "the execution the decision names does not exist",
                ));
            }
            Err(e) => return Err(aws_failure(&e)),
        };
        if execution.status != "RUNNING" {
            tracing::warn!(status = %execution.status, "decision refused: execution ended");
            return Err(Answer::refuse(
                409,
                "execution-not-running",
                "the execution the decision names has already ended; nothing was sent",
            )
            .with("status", json!(execution.status)));
        }
        let current = sfn::current_state(&self.sfn, arn)
            .await
            .map_err(|e| aws_failure(&e))?;
        let Some(current) = current.filter(|s| s.name == AWAIT_DECISION_STATE) else {
            tracing::warn!("decision refused: execution is not awaiting a decision");
            return Err(Answer::refuse(
                409,
                "not-awaiting-decision",
                "the execution is not waiting for a decision (already answered, or not yet asked); nothing was sent",
            ));
        };
        // The token the waiting task was given, from its scheduled parameters
        // (Payload.taskToken in the definition). Unreadable parameters leave the
        // check to Step Functions, which refuses a token it does not know.
        let scheduled_token = current
            .task_parameters
            .as_deref()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .and_then(|p| {
                p.pointer("/Payload/taskToken")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
        if scheduled_token.is_some_and(|t| t != token) {
            tracing::warn!("decision refused: token is not the one the execution waits for");
            return Err(Answer::refuse(
                409,
                "task-token-mismatch",
                "the execution is waiting for a decision under another task token; nothing was sent",
            ));
        }
        Ok(current)
    }

    /// Reads the decision, reporting every problem at once.
    fn read_decision(&self, value: &Value, now: DateTime<Utc>) -> Result<Decision, Answer> {
        const FIELDS: &[&str] = &[
            "taskToken",
            "executionArn",
            "decision",
            "by",
            "role",
            "at",
            "reasonCode",
        ];
        let mut f = Fields::of(value, FIELDS).map_err(invalid)?;
        let task_token = f.text("taskToken", MAX_TOKEN_CHARS);
        let decision = f.text("decision", 16).and_then(|d| match d.as_str() {
            "approve" => Some(ApprovalDecision::Approve),
            "reject" => Some(ApprovalDecision::Reject),
            _ => {
                f.err("decision", "invalid-decision", "must be approve or reject");
                None
            }
        });
        let by = f.person("by");
        let role = f.text("role", 40);
        let at = f.text("at", 64).and_then(|s| {
            match erasure_core::time::parse_rfc3339(s.trim()) {
                None => {
                    f.err(
                        "at",
                        "invalid-timestamp",
                        "must be an RFC 3339 timestamp with a time zone offset, e.g. 2026-11-24T09:30:00Z",
                    );
                    None
                }
                Some(t) if t > now + self.config.max_clock_skew => {
                    f.err("at", "in-future", "is in the future");
                    None
                }
                Some(t) => Some(t),
            }
        });
        // Required: a decision is checked against the execution that waits for it.
        let execution_arn = match f.get("executionArn") {
            None => {
                f.err(
                    "executionArn",
                    "required",
                    "is required: the execution the decision answers",
                );
                None
            }
            Some(Value::String(arn)) => {
                if sfn::execution_name_in(&self.config.state_machine_arn, arn).is_some() {
                    Some(arn.clone())
                } else {
                    f.err(
                        "executionArn",
                        "not-this-state-machine",
                        "is not an execution of this pipeline's state machine",
                    );
                    None
                }
            }
            Some(_) => {
                f.err("executionArn", "wrong-type", "must be a string");
                None
            }
        };
        // The record keeps it as a code (`^[a-z0-9][a-z0-9._-]{0,63}$`).
        let reason_code = f.optional_code("reasonCode");
        // The record's approval has no reason: a reason given with an approval would
        // be silently dropped.
        if decision == Some(ApprovalDecision::Approve) && reason_code.is_some() {
            f.err(
                "reasonCode",
                "reason-code-only-with-reject",
                "is only recorded with a rejection",
            );
        }
        match (task_token, execution_arn, decision, by, role, at) {
            (
                Some(task_token),
                Some(execution_arn),
                Some(decision),
                Some(by),
                Some(role),
                Some(at),
            ) if f.errors.is_empty() => Ok(Decision {
                task_token,
                execution_arn,
                decision,
                by,
                role,
                at,
                reason_code,
            }),
            _ => Err(invalid(f.errors)),
        }
    }
}

fn invalid(errors: Vec<FieldError>) -> Answer {
    tracing::warn!(problems = errors.len(), "decision refused: invalid");
    Answer::invalid(
        422,
        "invalid-decision",
        "the decision is not valid; nothing was sent",
        &errors,
    )
}

/// The `SendTaskSuccess` output: exactly the record's `decisions.approval`.
pub fn approval_output(actor_ref: &Pseudonym, role: &str, at: DateTime<Utc>) -> String {
    json!({
        "decision": "approve",
        "actorRef": actor_ref.as_str(),
        "role": role,
        "at": erasure_core::time::format_utc(&at),
        "channel": CHANNEL,
    })
    .to_string()
}

/// The `SendTaskFailure` cause: `{actorRef, role, at, channel, reasonCode}` as a
/// JSON string (the definition's Catch keeps it as `approvalRejection.Cause`).
pub fn rejection_cause(
    actor_ref: &Pseudonym,
    role: &str,
    at: DateTime<Utc>,
    reason_code: Option<&str>,
) -> String {
    json!({
        "actorRef": actor_ref.as_str(),
        "role": role,
        "at": erasure_core::time::format_utc(&at),
        "channel": CHANNEL,
        "reasonCode": reason_code,
    })
    .to_string()
}

/// Step Functions refused the answer: the token was answered, timed out, or unknown.
fn refused_by_step_functions(e: &SfnError) -> Answer {
    let (status, code, message) = match e {
        SfnError::TaskTimedOut => (
            409,
            "review-closed",
            "the review was already answered or has timed out; this decision changed nothing",
        ),
        SfnError::InvalidToken => (
            410,
            "task-token-invalid",
            "Step Functions does not accept this task token: it was already answered, has expired, or never existed; this decision changed nothing",
        ),
        SfnError::TaskDoesNotExist => (
            410,
            "review-not-found",
            "no waiting review has this task token; this decision changed nothing",
        ),
        other => return aws_failure(other),
    };
    tracing::warn!(code, "decision refused by Step Functions");
    Answer::refuse(status, code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use erasure_core::pseudonym::PseudonymKey;
    use erasure_core::record::Approval;

    fn actor() -> Pseudonym {
        let p = Pseudonymiser::new(PseudonymKey::new("k", vec![b'k'; 32]).unwrap());
        p.actor(&"dpo@example.com".parse().unwrap())
    }

    fn at() -> DateTime<Utc> {
        "2026-11-24T09:30:00+01:00".parse().unwrap()
    }

    #[test]
    fn the_approval_output_is_exactly_the_records_approval() {
        let out = approval_output(&actor(), "DPO", at());
        // The record type refuses unknown fields: WriteRecord can take this as is.
        let approval: Approval = serde_json::from_str(&out).unwrap();
        assert_eq!(approval.decision, ApprovalDecision::Approve);
        assert_eq!(approval.actor_ref, actor());
        assert_eq!(approval.channel, "approval-endpoint");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["at"], "2026-11-24T08:30:00Z",
            "UTC with Z, as the record schema wants"
        );
        assert!(!out.contains("dpo@example.com"));
    }

    #[test]
    fn the_rejection_cause_names_actor_role_time_channel_and_reason() {
        let cause = rejection_cause(&actor(), "Privacy Officer", at(), Some("hold-pending"));
        let v: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(
            v,
            json!({
                "actorRef": actor().as_str(),
                "role": "Privacy Officer",
                "at": "2026-11-24T08:30:00Z",
                "channel": "approval-endpoint",
                "reasonCode": "hold-pending",
            })
        );
        let without: Value =
            serde_json::from_str(&rejection_cause(&actor(), "DPO", at(), None)).unwrap();
        assert_eq!(without["reasonCode"], Value::Null);
    }

    #[test]
    fn roles_are_a_comma_separated_list() {
        assert_eq!(
            parse_roles("DPO, Privacy Officer ,").unwrap(),
            vec!["DPO", "Privacy Officer"]
        );
        assert!(parse_roles(" , ").is_err());
        assert_eq!(default_roles(), vec!["DPO", "Privacy Officer"]);
        // Exactly the record schema's roles: one that WriteRecord would refuse is
        // refused here, when the endpoint starts.
        for bad in [
            "Ops/Privacy",
            "DPO!",
            "1st line",
            &"x".repeat(41),
            "Délégué",
        ] {
            let err = parse_roles(&format!("DPO,{bad}")).unwrap_err();
            assert!(err.contains("cannot be recorded"), "{bad}: {err}");
        }
        assert!(parse_roles("Data_Protection-Officer 2").is_ok());
    }
}
