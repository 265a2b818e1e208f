use e2e::Harness;

#[tokio::test]
async fn happy_path_erases_the_subjects_conversations_and_recordings_and_nobody_elses() {
    let h = Harness::builder().start().await;
    let before = h.conversation_ids();
    let recordings_before = h.live_recording_ids();
    let liam = Harness::persona_conversations("happy-path");

    let run = h.run("happy-path").await;
    let record = run.record();
    assert_eq!(run.outcome(), "COMPLETED", "{record:#}");
    println!("{}", serde_json::to_string_pretty(record).unwrap());
}
