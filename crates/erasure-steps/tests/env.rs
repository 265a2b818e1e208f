//! The Lambda functions' configuration: variables named as `infra/template.yaml` sets
//! them, secrets in Secrets Manager, the register and the archive in S3. Against
//! moto's server (`$MOTO_SERVER`, from `make tools`).

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::config::{Credentials, Region};
use erasure_steps::env::Env;
use erasure_steps::{
    intake, locate, notify_downstream, notify_review, report_ticket, review, write_record,
};
use testkit::MotoServer;

async fn sdk(moto: &MotoServer) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(testkit::REGION))
        .credentials_provider(Credentials::new(
            "testing", "testing", None, None, "env-test",
        ))
        .endpoint_url(moto.endpoint())
        .load()
        .await
}

async fn secret(sm: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    sm.create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("secret created")
        .arn()
        .expect("an ARN")
        .to_owned()
}

#[tokio::test]
async fn every_step_reads_its_configuration_from_the_template_variables_and_secrets() {
    let moto = MotoServer::start();
    let sdk = sdk(&moto).await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let s3 = moto.s3_client();
    s3.create_bucket()
        .bucket("holds")
        .send()
        .await
        .expect("bucket");
    s3.put_object()
        .bucket("holds")
        .key("legal-holds.json")
        .body(
            br#"{"holds": [{"holdId": "LH-1", "conversationIds": ["c-1"], "expiry": null}]}"#
                .to_vec()
                .into(),
        )
        .send()
        .await
        .expect("register");
    s3.create_bucket()
        .bucket("records")
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("archive bucket");
    s3.create_bucket()
        .bucket("ledger")
        .send()
        .await
        .expect("ledger bucket");

    let vars = vec![
        ("GENESYS_REGION", "eu_west_1".to_owned()),
        (
            "GENESYS_SECRET_ARN",
            secret(&sm, "genesys", r#"{"clientId": "id", "clientSecret": "s"}"#).await,
        ),
        (
            "PSEUDONYM_KEY_SECRET_ARN",
            secret(
                &sm,
                "pseudonym-key",
                &format!(r#"{{"key": "{}"}}"#, "k".repeat(64)),
            )
            .await,
        ),
        (
            "DOWNSTREAM_SYSTEMS",
            r#"[{"name": "crm", "endpoint": "https://crm.example.com/erase"}]"#.to_owned(),
        ),
        (
            "DOWNSTREAM_SECRET_ARN",
            secret(
                &sm,
                "downstream",
                &format!(r#"{{"crm": "{}"}}"#, "c".repeat(32)),
            )
            .await,
        ),
        ("HOLD_REGISTER_BUCKET", "holds".to_owned()),
        ("HOLD_REGISTER_KEY", "legal-holds.json".to_owned()),
        (
            "REVIEW_ENDPOINT_URL",
            "https://review.example.com/".to_owned(),
        ),
        (
            "REVIEW_SECRET_ARN",
            secret(
                &sm,
                "review",
                &format!(r#"{{"key": "{}"}}"#, "r".repeat(32)),
            )
            .await,
        ),
        ("APPROVAL_URL", "https://approve.example.com/".to_owned()),
        (
            "TICKET_CALLBACK_URL",
            "https://dsar.example.com/callback".to_owned(),
        ),
        (
            "TICKET_SECRET_ARN",
            secret(
                &sm,
                "ticket",
                &format!(r#"{{"key": "{}"}}"#, "t".repeat(32)),
            )
            .await,
        ),
        ("ARCHIVE_BUCKET", "records".to_owned()),
        ("LEDGER_BUCKET", "ledger".to_owned()),
        (
            "LETTER_SETTINGS",
            testkit::lambda::example_letter_settings(),
        ),
        ("ARCHIVE_PREFIX", "prod/".to_owned()),
        ("RETENTION_YEARS", "10".to_owned()),
        ("CONTROLLER_TIME_ZONE", "Europe/Dublin".to_owned()),
        ("PUBLIC_HOLIDAYS", "2026-12-25, 2026-12-26".to_owned()),
    ];
    let env = Env::from_vars(
        vars.iter().map(|(k, v)| ((*k).to_owned(), v.clone())),
        sdk.clone(),
    );

    let i = intake::Deps::from_env(&env).await.expect("intake");
    assert!(
        i.pseudonymiser
            .key_id()
            .starts_with(erasure_core::pseudonym::KEY_ID_PREFIX),
        "the key is named by its fingerprint, not its secret: {}",
        i.pseudonymiser.key_id()
    );
    assert_eq!(i.config.deadline.time_zone.name(), "Europe/Dublin");
    assert_eq!(i.config.deadline.holidays.len(), 2);
    assert_eq!(i.downstream, ["crm"]);

    let r = review::Deps::from_env(&env).await.expect("review");
    let register = r.holds.load().await.expect("the register loads from S3");
    assert!(String::from_utf8_lossy(&register).contains("LH-1"));
    assert_eq!(
        r.genesys.client.api_base().as_str(),
        "https://api.mypurecloud.ie/"
    );

    let n = notify_downstream::Deps::from_env(&env)
        .await
        .expect("notify");
    assert!(n.downstream.system("crm").is_some());
    let w = write_record::Deps::from_env(&env)
        .await
        .expect("write record");
    assert_eq!(w.archive.location(), "s3://records/prod/");
    assert_eq!(w.archive.retention().in_years(), 10);
    locate::Deps::from_env(&env).await.expect("locate");

    // The submission ledger in S3: write-once intent and request id, read back.
    let erase = erasure_steps::erase::Deps::from_env(&env)
        .await
        .expect("erase");
    let register = erase
        .holds
        .load()
        .await
        .expect("Erase reads the register too");
    assert!(String::from_utf8_lossy(&register).contains("LH-1"));
    let e = &erase.genesys;
    let name = "gdpr-erasure/DSAR-1/delete";
    assert_eq!(e.ledger.get(name).await.expect("get"), None);
    let t1: chrono::DateTime<chrono::Utc> = "2026-11-22T11:00:00Z".parse().unwrap();
    let first = e.ledger.record_intent(name, t1).await.expect("intent");
    assert_eq!(first.intent_at, t1);
    let later = t1 + chrono::Duration::hours(1);
    let second = e
        .ledger
        .record_intent(name, later)
        .await
        .expect("intent again");
    assert_eq!(second.intent_at, t1, "the first intent is never moved");
    e.ledger
        .record_request(name, "req-1")
        .await
        .expect("request id");
    e.ledger
        .record_request(name, "req-1")
        .await
        .expect("the same id again");
    let err = e.ledger.record_request(name, "req-2").await.unwrap_err();
    assert_eq!(err.name(), "GdprSubmissionUnknown");
    let entry = e.ledger.get(name).await.expect("get").expect("entry");
    assert_eq!(entry.request_id.as_deref(), Some("req-1"));
    let listed = s3
        .list_objects_v2()
        .bucket("ledger")
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            "ledger/gdpr-erasure/DSAR-1/delete/intent.json",
            "ledger/gdpr-erasure/DSAR-1/delete/request.json"
        ]
    );

    notify_review::Deps::from_env(&env)
        .await
        .expect("notify review");
    report_ticket::Deps::from_env(&env)
        .await
        .expect("report ticket");

    // A missing variable, a secret that is not there, a malformed secret: named.
    let without = |name: &str| {
        Env::from_vars(
            vars.iter()
                .filter(|(k, _)| *k != name)
                .map(|(k, v)| ((*k).to_owned(), v.clone())),
            sdk.clone(),
        )
    };
    let e = locate::Deps::from_env(&without("GENESYS_REGION"))
        .await
        .unwrap_err();
    assert_eq!(e.name(), "StepMisconfigured");
    assert!(e.to_string().contains("GENESYS_REGION is not set"));
    let wrong = Env::from_vars(
        vars.iter().map(|(k, v)| {
            let v = if *k == "GENESYS_SECRET_ARN" {
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf".to_owned()
            } else {
                v.clone()
            };
            ((*k).to_owned(), v)
        }),
        sdk.clone(),
    );
    let e = locate::Deps::from_env(&wrong).await.unwrap_err();
    assert_eq!(e.name(), "StepMisconfigured", "{e}");
    let e = review::Deps::from_env(&without("HOLD_REGISTER_KEY"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HOLD_REGISTER_KEY"));
    let e = write_record::Deps::from_env(&without("RETENTION_YEARS"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("RETENTION_YEARS"));
}

/// The signed-POST rules hold at configuration: a downstream system with a 1-byte
/// key, or reached over plain `http://`, stops the cold start, named; the value is
/// never shown.
#[tokio::test]
async fn a_short_downstream_key_or_an_http_downstream_is_refused_at_configuration() {
    let moto = MotoServer::start();
    let sdk = sdk(&moto).await;
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let good_key = "c".repeat(32);
    let one_byte = secret(&sm, "one-byte", r#"{"crm": "Q"}"#).await;
    let good = secret(&sm, "good", &format!(r#"{{"crm": "{good_key}"}}"#)).await;
    let env = |endpoint: &str, secret_arn: &str| {
        Env::from_vars(
            [
                (
                    "DOWNSTREAM_SYSTEMS".to_owned(),
                    format!(r#"[{{"name": "crm", "endpoint": "{endpoint}"}}]"#),
                ),
                ("DOWNSTREAM_SECRET_ARN".to_owned(), secret_arn.to_owned()),
            ],
            sdk.clone(),
        )
    };
    notify_downstream::Deps::from_env(&env("https://crm.example.com/erase", &good))
        .await
        .expect("an https endpoint and a 32-byte key are accepted");

    let e = notify_downstream::Deps::from_env(&env("https://crm.example.com/erase", &one_byte))
        .await
        .unwrap_err();
    assert_eq!(e.name(), "StepMisconfigured", "{e}");
    assert!(e.to_string().contains("1 bytes, at least 32"), "{e}");
    assert!(e.to_string().contains("crm"), "{e}");

    let e = notify_downstream::Deps::from_env(&env("http://crm.example.com/erase", &good))
        .await
        .unwrap_err();
    assert_eq!(e.name(), "StepMisconfigured", "{e}");
    assert!(e.to_string().contains("https://"), "{e}");
    assert!(!e.to_string().contains(&good_key), "{e}");
}
