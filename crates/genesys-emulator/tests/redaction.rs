//! Debug output of the emulator's state types names no personal data.

mod common;

use common::start;
use serde_json::json;

#[tokio::test]
async fn debug_output_of_state_redacts_identifiers() {
    let h = start().await;
    let token = h.token().await;
    let r = h
        .submit(&token, "GDPR_EXPORT", json!({"name": "Liam Walsh", "phoneNumbers": ["+353834567890"], "emailAddresses": ["liam.walsh@example.com"]}))
        .await;
    h.run_to_end(&token, r.body["id"].as_str().unwrap(), 60)
        .await;
    let liam = h.persona("happy-path");
    let text = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        h.emu.gdpr_requests(),
        h.emu.request_log(),
        h.emu.conversation(&liam.customer_conversation_ids[0]),
        h.emu.external_contacts(),
        h.emu.users(),
        h.emu.oauth_client(),
    );
    for secret in [
        "353834567890",
        "liam",
        "Liam",
        "Walsh",
        "example.com",
        "emulator-pipeline-secret",
        "Niamh",
    ] {
        assert!(!text.contains(secret), "Debug leaks {secret}");
    }
}
