//! Rows of the matrix that are not a fault on one Genesys call: a step that crashes
//! after its side effect, the archive failing, the same ticket started twice, the
//! same approval answered twice. Each checks what every row checks
//! (`world::common_checks`) and what its own fault could break.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use e2e::{ArchiveChoice, Harness, proxy::FaultyProxy};
use erasure_core::record::ApprovalDecision;
use genesys_emulator::RequestType;
use local_runner::{TaskError, handler_fn};
use serde_json::Value;

use crate::world::{common_checks, others, personas_of};

/// How the wrapped step fails after it did its work.
#[derive(Clone, Copy)]
enum Crash {
    /// The function's process dies before answering (Lambda `Runtime.ExitError`).
    Exit,
    /// The handler panics.
    Panic,
}

/// A runner whose `state` runs its real step, then, on the first attempt only,
/// crashes before its answer reaches Step Functions.
fn crashing(
    h: &Harness,
    state: &'static str,
    function: &'static str,
    crash: Crash,
) -> local_runner::Runner {
    let crashes = Arc::new(AtomicU32::new(0));
    h.runner_with(move |r| {
        let inner = r.resolve(state, Some(function)).expect("a handler");
        r.state(
            state,
            handler_fn(move |input: Value, ctx| {
                let (inner, crashes) = (inner.clone(), crashes.clone());
                async move {
                    let out = inner.invoke(input, ctx).await?;
                    if crashes.fetch_add(1, Ordering::SeqCst) == 0 {
                        match crash {
                            Crash::Exit => {
                                return Err(TaskError::lambda(
                                    "Runtime.ExitError",
                                    "RequestId: 1 Error: Runtime exited with error: signal: killed",
                                ));
                            }
                            Crash::Panic => panic!("{state} crashed after its side effect"),
                        }
                    }
                    Ok(out)
                }
            }),
        )
    })
}

async fn record_of(h: &Harness, result: &local_runner::ExecutionResult) -> Value {
    let receipt = erasure_steps::local::record_of(result)
        .unwrap_or_else(|| panic!("no record: {:?}", result.error()));
    h.read_record(&receipt.key).await
}

/// Every GDPR_DELETE was submitted once: no more submissions than names accepted.
fn each_delete_sent_once(h: &Harness) -> bool {
    let accepted = crate::world::deletes_accepted(h);
    accepted.names > 0
        && accepted.most_of_one == 1
        && h.emulator.gdpr_submissions(RequestType::GdprDelete) == accepted.names
}

/// The record's GDPR_DELETEs.
fn deletes_in(record: &Value) -> Vec<&Value> {
    requests_in(record, "GDPR_DELETE")
}

/// The record's GDPR requests of one type (one per identifier).
fn requests_in<'a>(record: &'a Value, request_type: &str) -> Vec<&'a Value> {
    (record["genesys"]["requests"]
        .as_array()
        .into_iter()
        .flatten())
    .filter(|r| r["requestType"] == request_type)
    .collect()
}

fn assert_no_problems(row: &str, problems: Vec<String>) {
    assert!(problems.is_empty(), "{row}: {}", problems.join("; "));
    println!("  {row}: ok");
}

#[tokio::test]
async fn a_step_that_crashes_after_its_genesys_side_effect_is_retried_without_a_second_request() {
    // (state, function, fixture, what must not happen twice)
    for (state, function, fixture) in [
        ("Erase", "erase", "happy-path"),
        ("Locate", "locate", "happy-path"),
        ("PurgeRecordings", "purge-recordings", "happy-path"),
        ("OffboardAgent", "offboard-agent", "former-agent"),
        ("WriteRecord", "write-record", "happy-path"),
    ] {
        let h = Harness::builder().start().await;
        let personas = personas_of(fixture);
        let before = others(&h, personas);
        let t = e2e::ticket(fixture);
        let id = t["ticket"]["id"].as_str().expect("an id").to_owned();
        let result = crashing(&h, state, function, Crash::Exit)
            .start_named(&id, t)
            .expect("starts")
            .wait()
            .await;
        let record = record_of(&h, &result).await;
        let row = format!("{state} exits after its side effect ({fixture})");
        let mut problems = common_checks(&h, &id, 1, &before, personas).await;
        if record["outcome"] != "COMPLETED" {
            problems.push(format!("{} instead of COMPLETED", record["outcome"]));
        }
        if result.counts.retries < 1 {
            problems.push("no retry".into());
        }
        // One export per identifier, each submitted once.
        let exports = h.emulator.gdpr_submissions(RequestType::GdprExport);
        if exports != requests_in(&record, "GDPR_EXPORT").len() {
            problems.push(format!("{exports} GDPR_EXPORT submissions"));
        }
        if !each_delete_sent_once(&h) {
            problems.push("a GDPR_DELETE was submitted twice".into());
        }
        if state == "Erase" && deletes_in(&record).iter().any(|d| d["reused"] != true) {
            problems.push("the retried Erase did not find its request by name".into());
        }
        if state == "Locate"
            && (requests_in(&record, "GDPR_EXPORT").iter()).any(|r| r["reused"] != true)
        {
            problems.push("the retried Locate did not find its export by name".into());
        }
        assert_no_problems(&row, problems);
    }
}

#[tokio::test]
async fn erase_panicking_after_genesys_accepted_the_delete_is_failed_and_a_rerun_finds_the_delete_by_name()
 {
    let h = Harness::builder().start().await;
    let personas = personas_of("happy-path");
    let before = others(&h, personas);
    let result = crashing(&h, "Erase", "erase", Crash::Panic)
        .start_named("DSAR-2026-1001", e2e::ticket("happy-path"))
        .expect("starts")
        .wait()
        .await;
    let first = record_of(&h, &result).await;
    // A panic is not a transient error: the record names the stage, not a success.
    assert_eq!(first["outcome"], "FAILED", "{first:#}");
    assert_eq!(first["failure"]["stage"], "Erase");
    assert!(each_delete_sent_once(&h));

    // The operator reruns the ticket: the delete Genesys accepted is found, not resent.
    let again = h
        .run_on(
            &h.another_pipeline(),
            "DSAR-2026-1001",
            e2e::ticket("happy-path"),
        )
        .await;
    let record = again.record();
    assert_eq!(again.outcome(), "COMPLETED", "{record:#}");
    assert!(deletes_in(record).iter().all(|d| d["reused"] == true));
    assert_eq!(record["sequence"], 2);
    assert_no_problems(
        "Erase panics after the delete was accepted, then a rerun",
        common_checks(&h, "DSAR-2026-1001", 2, &before, personas).await,
    );
}

/// The happy-path ticket on the harness's own pipeline, to its end.
async fn start_happy_path(h: &Harness) -> local_runner::ExecutionResult {
    h.pipeline
        .runner()
        .start_named("DSAR-2026-1001", e2e::ticket("happy-path"))
        .expect("starts")
        .wait()
        .await
}

async fn s3_harness(create_bucket: bool) -> Harness {
    let moto = testkit::MotoServer::start();
    let proxy = FaultyProxy::start(moto.endpoint()).await;
    Harness::builder()
        .archive(ArchiveChoice::S3Proxied {
            moto,
            proxy,
            create_bucket,
        })
        .start()
        .await
}

#[tokio::test]
async fn a_bucket_without_object_lock_stops_the_ticket_before_any_genesys_call() {
    let h = s3_harness(false).await;
    // The bucket exists, but without Object Lock: a record there would prove nothing.
    h.moto()
        .expect("moto")
        .s3_client()
        .create_bucket()
        .bucket(e2e::BUCKET)
        .send()
        .await
        .expect("a plain bucket");
    let result = start_happy_path(&h).await;
    assert!(
        h.emulator.request_log().is_empty(),
        "nothing erased that cannot be recorded"
    );
    let intake_failed = (result.history.iter())
        .any(|e| e.kind == "PassStateEntered" && e.state_name.as_deref() == Some("IntakeFailed"));
    assert!(intake_failed, "Intake stopped the ticket");
    let text = serde_json::to_string(
        &result
            .history
            .iter()
            .map(|e| &e.details)
            .collect::<Vec<_>>(),
    )
    .expect("JSON");
    assert!(text.contains("ArchiveNotLocked"), "the reason is named");
}

#[tokio::test]
async fn an_unreachable_s3_archive_is_retried_until_the_one_record_is_written() {
    let h = s3_harness(true).await;
    let personas = personas_of("happy-path");
    let before = others(&h, personas);
    // The store refuses the next connections: moto unreachable for a while.
    h.proxy().expect("a proxy").refuse_next(4);
    let run = h.run("happy-path").await;
    assert_eq!(run.outcome(), "COMPLETED", "{:#}", run.record());
    assert!(h.proxy().expect("a proxy").refused() >= 4);
    // Nothing else failed in this world: the retries are WriteRecord's.
    assert!(
        run.outcome.result.counts.retries >= 1,
        "WriteRecord was retried"
    );
    assert_no_problems(
        "S3 unreachable for 4 connections",
        common_checks(&h, "DSAR-2026-1001", 1, &before, personas).await,
    );
}

#[tokio::test]
async fn an_s3_write_whose_answer_is_lost_is_found_on_retry_not_written_twice() {
    let h = s3_harness(true).await;
    let personas = personas_of("happy-path");
    let before = others(&h, personas);
    h.proxy().expect("a proxy").lose_next_put_answer();
    let run = h.run("happy-path").await;
    assert_eq!(run.outcome(), "COMPLETED", "{:#}", run.record());
    assert_eq!(h.proxy().expect("a proxy").answers_lost(), 1);
    let receipt = run.outcome.record.as_ref().expect("a receipt");
    assert!(
        receipt.already_present,
        "the retry found the record the lost PUT wrote"
    );
    assert_no_problems(
        "S3 PUT applied, answer lost",
        common_checks(&h, "DSAR-2026-1001", 1, &before, personas).await,
    );
}

#[tokio::test]
async fn a_missing_archive_bucket_fails_the_execution_loudly_and_a_rerun_after_the_fix_writes_one_record()
 {
    let h = s3_harness(false).await;
    let personas = personas_of("happy-path");
    let before = others(&h, personas);
    let result = start_happy_path(&h).await;
    // No record can be written: the execution fails with the alarm's name, and
    // Intake found it out before any Genesys call (nothing erased unrecorded).
    let error = result.error().expect("the execution failed");
    assert_eq!(error.error, "RecordNotWritten", "{error:?}");
    assert!(
        h.emulator.request_log().is_empty(),
        "no Genesys call before the archive can take a record"
    );

    // Someone creates the bucket and reruns the ticket.
    e2e::create_locked_bucket(&h.moto().expect("moto").s3_client()).await;
    let again = h
        .run_on(
            &h.another_pipeline(),
            "DSAR-2026-1001",
            e2e::ticket("happy-path"),
        )
        .await;
    assert_eq!(again.outcome(), "COMPLETED", "{:#}", again.record());
    assert_no_problems(
        "archive bucket missing, then created and rerun",
        common_checks(&h, "DSAR-2026-1001", 1, &before, personas).await,
    );
}

#[tokio::test]
async fn a_repeated_webhook_starts_no_second_execution_and_a_rerun_sends_no_second_request() {
    let h = Harness::builder().start().await;
    let personas = personas_of("happy-path");
    let before = others(&h, personas);
    // Without the checks after the record, so the rerun below comes days, not weeks,
    // later (an export is reused for six days; after that it is made again).
    let quick = h.pipeline_with(|d| d.verify.later_checks.clear());
    let runner = quick.runner();
    let t = e2e::ticket("happy-path");
    let first = runner
        .start_named("DSAR-2026-1001", t.clone())
        .expect("starts");
    // The same webhook again while it runs: Step Functions answers with the same
    // execution; with other input (an edited ticket) it refuses the name.
    let same = runner
        .start_named("DSAR-2026-1001", t.clone())
        .expect("idempotent");
    assert_eq!(same.id(), first.id());
    let mut edited = t.clone();
    edited["options"]["eraseRecordings"] = false.into();
    assert!(matches!(
        runner.start_named("DSAR-2026-1001", edited),
        Err(local_runner::StartError::ExecutionAlreadyExists(_))
    ));
    let result = first.wait().await;
    assert!(result.output().is_some());
    // And once it has ended, the name is taken for good.
    assert!(matches!(
        runner.start_named("DSAR-2026-1001", t.clone()),
        Err(local_runner::StartError::ExecutionAlreadyExists(_))
    ));
    assert_eq!(h.records_of("DSAR-2026-1001").await.len(), 1);

    // A rerun through another deployment finds both requests by name.
    let again = h.run_on(&h.another_pipeline(), "DSAR-2026-1001", t).await;
    assert_eq!(again.outcome(), "COMPLETED");
    for r in again.record()["genesys"]["requests"]
        .as_array()
        .expect("requests")
    {
        assert_eq!(r["reused"], true, "{r}");
    }
    assert_eq!(
        h.emulator.gdpr_submissions(RequestType::GdprExport),
        requests_in(again.record(), "GDPR_EXPORT").len()
    );
    assert_no_problems(
        "duplicate webhook, then a rerun",
        common_checks(&h, "DSAR-2026-1001", 2, &before, personas).await,
    );
}

#[tokio::test]
async fn a_replayed_approval_is_refused_and_changes_nothing() {
    let h = Harness::builder().decision(None).start().await;
    let personas = personas_of("recycled-number");
    let before = others(&h, personas);
    let t = e2e::ticket("recycled-number");
    let id = t["ticket"]["id"].as_str().expect("an id").to_owned();
    let runner = h.pipeline.runner();
    let execution = runner.start_named(&id, t).expect("starts");
    let token = testkit::eventually("the review gate waits for the DPO", || {
        let pending = execution.pending_task_tokens();
        async move { pending.first().map(|p| p.token.clone()) }
    })
    .await;
    let approve = h.approval(ApprovalDecision::Approve);
    runner
        .send_task_success(&token, approve.clone())
        .expect("the first answer is taken");
    // The same approval again (a double click, a replayed request), and a rejection
    // sent with the used token: both refused.
    assert!(runner.send_task_success(&token, approve).is_err());
    let reject = serde_json::to_string(&h.approval(ApprovalDecision::Reject)).expect("JSON");
    assert!(
        runner
            .send_task_failure(&token, "ReviewRejected", reject)
            .is_err()
    );
    let result = execution.wait().await;
    let record = record_of(&h, &result).await;
    assert_eq!(record["decisions"]["approval"]["decision"], "approve");
    assert_ne!(record["outcome"], "REJECTED");
    assert!(each_delete_sent_once(&h));
    let approvals = result
        .history
        .iter()
        .filter(|e| e.state_name.as_deref() == Some("AwaitDecision") && e.kind == "TaskSucceeded")
        .count();
    assert_eq!(approvals, 1);
    assert_no_problems(
        "approval replayed",
        common_checks(&h, &id, 1, &before, personas).await,
    );
}

/// A store that ignores `If-None-Match` (Ceph's radosgw in a versioned bucket), and
/// another writer's record landing at the same key between this writer's look and its
/// PUT: the store keeps both versions, yet write-once holds, because the archive asks
/// which version came first. A different record is a conflict and the first stands (and
/// `audit verify` names the extra version); the same record is answered as a repeat.
#[tokio::test]
async fn write_once_holds_on_a_store_that_ignores_if_none_match() {
    use archive::verify::{Check, VerifyOptions, verify};
    use archive::{Archive, ArchiveError, Record, S3Archive, S3Settings};

    let moto = testkit::MotoServer::start();
    let proxy = FaultyProxy::start(moto.endpoint()).await;
    e2e::create_locked_bucket(&moto.s3_client()).await;
    proxy.ignore_if_none_match();
    let settings = || S3Settings::new(e2e::BUCKET, "prod/");
    let ours = S3Archive::new(e2e::proxied_s3_client(&proxy), settings()).expect("archive");
    let theirs = || S3Archive::new(moto.s3_client(), settings()).expect("archive");
    let record = |ticket: &str, execution: &str| {
        let v = testkit::RecordBuilder::new(ticket, "COMPLETED")
            .set(
                "/executionId",
                serde_json::json!(format!(
                    "arn:aws:states:eu-west-1:123456789012:execution:gdpr-erasure:{execution}"
                )),
            )
            .build();
        Record::from_value(v).expect("a record")
    };

    // Another execution's record at the same key gets there first.
    let mine = record("DSAR-2026-0070", "ours");
    let other = record("DSAR-2026-0070", "theirs");
    assert_ne!(mine.digest(), other.digest());
    let (them, first) = (theirs(), other.clone());
    proxy.before_next_put(async move {
        them.write(&first)
            .await
            .expect("their record is written first");
    });
    let result = ours.write(&mine).await;
    assert!(
        matches!(result, Err(ArchiveError::ArchiveConflict { .. })),
        "{result:?}"
    );
    assert!(proxy.if_none_match_dropped() >= 1, "the store never saw it");
    // The store let the second PUT through: two versions at the key.
    let versions = moto
        .s3_client()
        .list_object_versions()
        .bucket(e2e::BUCKET)
        .prefix("prod/records/DSAR-2026-0070/")
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 2);
    // The record is the first version, theirs; verify names the one written over it.
    let listed = ours.list(Some("DSAR-2026-0070")).await.expect("listed");
    let read = ours.read(&listed[0]).await.expect("read");
    assert_eq!(
        Record::from_json(&read.bytes).expect("a record").digest(),
        other.digest()
    );
    let report = verify(&ours, &VerifyOptions::default())
        .await
        .expect("verify ran");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.check == Check::Layout && f.key.contains("DSAR-2026-0070")),
        "{}",
        report.to_text()
    );

    // The same record racing itself (a retry and its earlier attempt): a repeat.
    let same = record("DSAR-2026-0071", "ours");
    let (them, first) = (theirs(), same.clone());
    proxy.before_next_put(async move {
        them.write(&first).await.expect("the earlier attempt lands");
    });
    let receipt = ours.write(&same).await.expect("answered as a repeat");
    assert_eq!(receipt.digest, same.digest());
    assert!(receipt.already_present, "{receipt:?}");
}
