//! The `poll` binary as Lambda runs it: started through the Runtime API with the
//! template's variables and its secrets in moto's Secrets Manager, it wires the
//! `poll` step and names its errors (`testkit::lambda::check_step_binary`).

#[tokio::test]
async fn starts_reads_its_secret_and_answers_by_error_name() {
    testkit::lambda::check_step_binary(
        env!("CARGO_BIN_EXE_poll"),
        "poll",
        "poll",
        &["requestId", "giveUpAt"],
    )
    .await;
}
