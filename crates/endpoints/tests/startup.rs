//! Cold start against moto's Secrets Manager: the keys are read as the functions
//! read them, and an unusable secret stops the start naming the variable, never the
//! value.

use endpoints::startup::{StartupError, pseudonymiser, signing_keys};
use signing::SecretError;
use testkit::MotoServer;

async fn secret(moto: &MotoServer, name: &str, value: &str) -> String {
    moto.secrets_client()
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret")
        .arn()
        .expect("arn")
        .to_owned()
}

#[tokio::test]
async fn keys_are_read_from_their_secrets() {
    let moto = MotoServer::start();
    let client = moto.secrets_client();
    let key = "k".repeat(64);
    let hmac = secret(&moto, "webhook", &format!(r#"{{"key": "{key}"}}"#)).await;
    let pseudo = secret(&moto, "pseudonym", &format!(r#"{{"key": "{key}"}}"#)).await;

    let keys = signing_keys(&client, "WEBHOOK_SECRET_ARN", &hmac)
        .await
        .expect("webhook key");
    let p = pseudonymiser(&client, "PSEUDONYM_KEY_SECRET_ARN", &pseudo)
        .await
        .expect("pseudonym key");

    // The key is the secret's string: the same signature openssl would make.
    let expected = endpoints::signature::SigningKey::new(key.as_bytes())
        .unwrap()
        .sign(1_795_000_000, b"{}");
    assert_eq!(keys.signing_key().sign(1_795_000_000, b"{}"), expected);
    let dpo: erasure_core::identifiers::Email = "dpo@example.com".parse().unwrap();
    assert!(p.actor(&dpo).as_str().starts_with("hmac-sha256:"));
}

#[tokio::test]
async fn an_unusable_secret_stops_the_start_naming_the_variable_not_the_value() {
    let moto = MotoServer::start();
    let client = moto.secrets_client();
    let weak = secret(&moto, "weak", r#"{"key": "hunter2-hunter2"}"#).await;
    let not_json = secret(&moto, "plain", "hunter2-hunter2").await;
    let missing = weak.replace("weak", "never-created");

    for (arn, expect_readable) in [(&weak, true), (&not_json, true), (&missing, false)] {
        let err = signing_keys(&client, "APPROVAL_SECRET_ARN", arn)
            .await
            .expect_err("refused");
        let shown = err.to_string();
        assert!(shown.contains("APPROVAL_SECRET_ARN"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        match (err, expect_readable) {
            (
                StartupError::Secret(SecretError::Invalid { .. } | SecretError::NotJson { .. }),
                true,
            ) => {}
            (StartupError::Secret(SecretError::Refused { .. }), false) => {}
            (other, _) => panic!("unexpected {other:?}"),
        }
    }
}
