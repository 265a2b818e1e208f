use e2e::Harness;
use serde_json::Value;

fn ticket_received(id: &str, received: &str, verified: &str, extension: Option<&str>) -> Value {
    let mut t = e2e::ticket("happy-path");
    t["ticket"]["id"] = id.into();
    t["ticket"]["receivedAt"] = received.into();
    t["ticket"]["identityVerifiedAt"] = verified.into();
    t["ticket"]["signOff"]["at"] = verified.into();
    if let Some(notice) = extension {
        t["ticket"]["extension"] =
            serde_json::json!({"noticeSentAt": notice, "reasonCode": "complexity"});
    }
    t
}

#[tokio::test]
async fn received_31_january_is_due_the_last_day_of_february_within_deadline_from_the_real_completion()
 {
    let h = Harness::builder()
        .start_at("2027-02-02T09:00:00Z")
        .start()
        .await;
    let run = h
        .run_input(
            "DSAR-2027-0131",
            ticket_received(
                "DSAR-2027-0131",
                "2027-01-31T10:00:00Z",
                "2027-02-01T09:00:00Z",
                None,
            ),
        )
        .await;
    let clock = &run.record()["clock"];
    assert_eq!(run.outcome(), "COMPLETED");
    assert_eq!(clock["dueDate"], "2027-02-28");
    assert_eq!(clock["effectiveDueDate"], "2027-02-28");
    assert_eq!(clock["withinDeadline"], true);
    assert_eq!(clock["daysLate"], 0);
    // Completed when the run ended (the virtual clock moved while Genesys worked).
    assert_eq!(clock["completedAt"], run.record()["writtenAt"]);
    assert!(clock["completedAt"].as_str().unwrap_or_default() > "2027-02-02T09:00:00Z");
}

#[tokio::test]
async fn an_extension_notified_in_the_first_month_makes_it_three_months() {
    let h = Harness::builder()
        .start_at("2027-02-12T09:00:00Z")
        .start()
        .await;
    let run = h
        .run_input(
            "DSAR-2027-0132",
            ticket_received(
                "DSAR-2027-0132",
                "2027-01-31T10:00:00Z",
                "2027-02-01T09:00:00Z",
                Some("2027-02-10T12:00:00Z"),
            ),
        )
        .await;
    let clock = &run.record()["clock"];
    assert_eq!(clock["dueDate"], "2027-02-28");
    assert_eq!(clock["extension"]["extendedDueDate"], "2027-04-30");
    assert_eq!(clock["effectiveDueDate"], "2027-04-30");
    assert_eq!(clock["withinDeadline"], true);
}

#[tokio::test]
async fn a_ticket_past_its_deadline_still_runs_and_the_record_says_how_late() {
    let h = Harness::builder()
        .start_at("2027-03-05T09:00:00Z")
        .start()
        .await;
    let run = h
        .run_input(
            "DSAR-2027-0133",
            ticket_received(
                "DSAR-2027-0133",
                "2027-01-31T10:00:00Z",
                "2027-02-01T09:00:00Z",
                None,
            ),
        )
        .await;
    let clock = &run.record()["clock"];
    assert_eq!(run.outcome(), "COMPLETED", "the erasure is still owed");
    assert_eq!(clock["lateAtIntake"], true);
    assert_eq!(clock["withinDeadline"], false);
    // Late by the days from the due date (28 February) to the completion: 5 at intake
    // (5 March), more by the time the deletion and its verification are done.
    let completed: chrono::NaiveDate = clock["completedAt"].as_str().expect("completedAt")[..10]
        .parse()
        .expect("a date");
    let due: chrono::NaiveDate = "2027-02-28".parse().unwrap();
    assert_eq!(clock["daysLate"], (completed - due).num_days());
    assert!(clock["daysLate"].as_i64() >= Some(5));
}
