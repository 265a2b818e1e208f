//! The ticket webhook: the DSAR tool's way in (a Lambda function URL).
//!
//! A signed ticket (see [`crate::signature`]) that Intake would accept starts one
//! execution, named after the ticket id, with the ticket as its input. The input is the ticket in RFC 8785 canonical form,
//! so the same ticket always gives byte-identical input whatever the sender's key
//! order or spacing; that is what makes a repeat idempotent:
//!
//! | situation | Step Functions | answer |
//! |---|---|---|
//! | new ticket | starts it | 202 `{executionArn, startDate, executionName}` |
//! | same ticket again, execution still running | returns the same execution | 202, same body |
//! | same ticket again, execution ended | `ExecutionAlreadyExists` | 200, the existing execution with `status` and `alreadyStarted: true`: the ticket was taken in once, and that is the truth the DSAR tool needs |
//! | another ticket under the same name | `ExecutionAlreadyExists` | 409 `ticket-conflict` with the existing `executionArn`: two different documents claim one ticket id, and a person must decide which is right. A ticket id runs once: to erase again (after a hold, say) the DSAR tool opens a follow-up ticket with `ticket.resumes` |
//! | a ticket the archive holds a record of | not called | 200 `{executionName, executionArn, alreadyStarted: true, closed: true, outcome, recordKey, recordDigest, sequence}` |
//!
//! The last row is checked first, before Step Functions is asked: Step Functions
//! forgets an execution name 90 days after it closed, and `StartExecution` would then
//! start the ticket a second time. The archive keeps every ticket's record for years,
//! under the ticket's own key prefix, so one short listing tells a closed ticket. Its
//! record does not keep the ticket document, so beyond Step Functions' memory a
//! different document under a closed ticket id is answered as a repeat too (never
//! run): the pessimistic reading of "a ticket id runs once".
//!
//! A ticket Intake would reject is refused here with Intake's own reasons, so the DSAR
//! tool learns at once and nothing starts. Bodies and logs never quote the ticket.

use chrono::Duration;
use clock::SharedClock;
use erasure_core::ticket::TicketError;
use erasure_core::ticket::{IntakeConfig, validate};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

use archive::Archive;

use crate::answer::{self, Answer};
use crate::sfn::{SfnError, StepFunctions, execution_arn};
use crate::signature::{self, KeyRing};

/// How the webhook is set up (built once per cold start).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub state_machine_arn: String,
    pub keys: KeyRing,
    /// The same rules Intake applies (the deployment's defaults).
    pub intake: IntakeConfig,
    /// The replay window.
    pub tolerance: Duration,
}

impl WebhookConfig {
    pub fn new(state_machine_arn: impl Into<String>, keys: KeyRing) -> Self {
        Self {
            state_machine_arn: state_machine_arn.into(),
            keys,
            intake: IntakeConfig::default(),
            tolerance: signature::DEFAULT_TOLERANCE,
        }
    }
}

/// The webhook with its clients.
pub struct Webhook<S> {
    pub config: WebhookConfig,
    pub sfn: S,
    /// The compliance archive (read only): the memory of closed tickets.
    pub archive: Box<dyn Archive>,
    pub clock: SharedClock,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Webhook<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("config", &self.config)
            .field("sfn", &self.sfn)
            .field("archive", &self.archive.location())
            .finish_non_exhaustive()
    }
}

impl<S: StepFunctions> Webhook<S> {
    /// The Lambda handler: one request, one answer. A 5xx answer is also counted as
    /// the metric [`answer::WEBHOOK_SERVER_ERRORS`] (a 5xx is no Lambda error: without
    /// it no alarm would fire).
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let answer = self.answer(&request).await;
        if let Some(line) = answer.server_error_metric(
            answer::WEBHOOK_SERVER_ERRORS,
            &self.config.state_machine_arn,
            self.clock.now(),
        ) {
            println!("{line}");
        }
        answer.into_response()
    }

    /// What the webhook answers to `request`.
    pub async fn answer(&self, request: &Request) -> Answer {
        match self.try_answer(request).await {
            Ok(a) | Err(a) => a,
        }
    }

    async fn try_answer(&self, request: &Request) -> Result<Answer, Answer> {
        answer::require_post(request)?;
        let body = answer::body_bytes(request);
        answer::require_size(body, self.config.intake.max_input_bytes)?;
        let now = self.clock.now();
        answer::require_signature(
            request,
            body,
            &self.config.keys,
            now,
            self.config.tolerance,
            "ticket",
        )?;
        let value = answer::parse_strict_json(body)?;
        if !value.duplicates.is_empty() {
            tracing::warn!(
                problems = value.duplicates.len(),
                "ticket refused: a key given twice"
            );
            return Err(Answer::invalid(
                422,
                "invalid-ticket",
                "the ticket would be rejected by Intake; nothing was started",
                &value.duplicate_key_errors(),
            ));
        }
        let value = value.value;
        let ticket = validate(&value, &self.config.intake, now).map_err(|e| {
            let TicketError::InvalidTicket { errors, salvage } = &e;
            tracing::warn!(
                ticket_id = salvage.ticket_id.as_ref().map(|t| t.as_str()),
                problems = errors.len(),
                "ticket refused: invalid"
            );
            Answer::invalid(
                422,
                "invalid-ticket",
                "the ticket would be rejected by Intake; nothing was started",
                errors,
            )
        })?;
        // One execution per ticket id: a repeated webhook cannot start a second
        // erasure, and a follow-up ticket (`ticket.resumes`) has an id of its own.
        let name = ticket.ticket.id.as_str().to_owned();
        let span = tracing::info_span!("ticket", ticket_id = name.as_str());
        let _entered = span.enter();
        let input = canonical_input(&value)?;
        if let Some(closed) = self.closed(&name).await? {
            return Ok(closed);
        }
        match self
            .sfn
            .start_execution(&self.config.state_machine_arn, &name, &input)
            .await
        {
            Ok(started) => {
                tracing::info!("execution started (or already running with this ticket)");
                Ok(Answer::ok(
                    202,
                    json!({
                        "executionArn": started.execution_arn,
                        "startDate": erasure_core::time::format_utc(&started.start_date),
                        "executionName": name,
                    }),
                ))
            }
            Err(SfnError::ExecutionAlreadyExists) => self.existing(&name, &value).await,
            Err(e) => Err(aws_failure(&e)),
        }
    }

    /// The repeat answer for a ticket the archive holds a record of, if it does.
    async fn closed(&self, name: &str) -> Result<Option<Answer>, Answer> {
        let closed = archive::closed_ticket(self.archive.as_ref(), name)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the archive could not be read");
                Answer::refuse(
                    502,
                    "archive-unavailable",
                    "the archive could not be read to tell whether this ticket already ran; nothing was started; retry later",
                )
            })?;
        Ok(closed.map(|c| {
            tracing::info!(
                outcome = c.outcome.as_str(),
                "repeat of a closed ticket (from the archive)"
            );
            Answer::ok(
                200,
                json!({
                    "executionName": name,
                    "executionArn": c.execution_id,
                    "alreadyStarted": true,
                    "closed": true,
                    "outcome": c.outcome.as_str(),
                    "recordKey": c.record_key,
                    "recordDigest": c.record_digest,
                    "sequence": c.sequence,
                }),
            )
        }))
    }

    /// `ExecutionAlreadyExists`: the same ticket again (200) or another one (409).
    async fn existing(&self, name: &str, sent: &Value) -> Result<Answer, Answer> {
        let arn = execution_arn(&self.config.state_machine_arn, name).ok_or_else(|| {
            tracing::error!("STATE_MACHINE_ARN is not a state machine ARN");
            Answer::refuse(500, "misconfigured", "the webhook is misconfigured")
        })?;
        let existing = self
            .sfn
            .describe_execution(&arn)
            .await
            .map_err(|e| aws_failure(&e))?;
        let same = existing
            .input
            .as_deref()
            .and_then(|i| serde_json::from_str::<Value>(i).ok())
            .is_some_and(|v| &v == sent);
        let body = json!({
            "executionArn": existing.execution_arn,
            "startDate": erasure_core::time::format_utc(&existing.start_date),
            "executionName": name,
            "status": existing.status,
        });
        if same {
            tracing::info!(status = %existing.status, "repeat of an already started ticket");
            Ok(Answer::ok(200, body).with("alreadyStarted", json!(true)))
        } else {
            tracing::warn!(status = %existing.status, "ticket conflicts with an existing execution");
            Err(Answer::refuse(
                409,
                "ticket-conflict",
                "an execution of this ticket id already exists with a different ticket document; nothing was started. A ticket id runs once: to erase again (e.g. after a hold), open a follow-up ticket with ticket.resumes",
            )
            .with("executionArn", body["executionArn"].clone())
            .with("status", body["status"].clone()))
        }
    }
}

/// The execution input: the ticket as received, in canonical form.
fn canonical_input(value: &Value) -> Result<String, Answer> {
    archive::canonical::canonicalize(value)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            Answer::refuse(
                422,
                "invalid-ticket",
                "the ticket holds a number that cannot be represented exactly",
            )
        })
}

/// A Step Functions failure: the caller should retry; nothing about it is echoed.
pub(crate) fn aws_failure(e: &SfnError) -> Answer {
    tracing::error!(error = %e, "Step Functions call failed");
    Answer::refuse(
        502,
        "step-functions-unavailable",
        "Step Functions did not answer as expected; retry later",
    )
}
