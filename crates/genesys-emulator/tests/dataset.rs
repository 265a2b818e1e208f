//! The committed dataset is the generator's output and holds the documented personas.

use std::collections::HashSet;

use chrono::NaiveDate;
use genesys_emulator::dataset::BUNDLED_DATASET_JSON;
use genesys_emulator::generate::{DEFAULT_SEED, generate, personas_markdown};
use genesys_emulator::{Dataset, MediaType, UserState, normalise_phone};

#[test]
fn committed_dataset_equals_the_generators_output() {
    let generated = generate(DEFAULT_SEED);
    assert!(
        BUNDLED_DATASET_JSON == generated.to_json_pretty(),
        "data/dataset.json is stale: run `cargo run -p genesys-emulator --example generate-dataset`"
    );
    let personas =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/PERSONAS.md")).unwrap();
    assert!(
        personas == personas_markdown(&generated),
        "data/PERSONAS.md is stale: regenerate it"
    );
}

#[test]
fn generator_is_deterministic_and_seed_dependent() {
    assert!(generate(5) == generate(5));
    assert!(generate(5) != generate(6));
}

#[test]
fn dataset_spans_five_years_with_hundreds_of_conversations() {
    let ds = Dataset::bundled();
    assert!(ds.conversations.len() >= 300, "{}", ds.conversations.len());
    let years: HashSet<i32> = ds
        .conversations
        .iter()
        .map(|c| c.start.format("%Y").to_string().parse().unwrap())
        .collect();
    assert_eq!(years, (2021..=2026).collect());
    assert!(ds.users.len() >= 8);
    assert!(ds.external_contacts.len() >= 80);
    for media in [
        MediaType::Voice,
        MediaType::Email,
        MediaType::Chat,
        MediaType::Message,
    ] {
        assert!(ds.conversations.iter().any(|c| c.media_type == media));
    }
    // Fictional ranges and domains only.
    for c in &ds.external_contacts {
        for p in &c.phone_numbers {
            let n = normalise_phone(p).unwrap();
            assert!(n.starts_with("+3538") || n.starts_with("+447700900"), "{n}");
        }
        for e in &c.email_addresses {
            assert!(
                e.to_lowercase().ends_with("@example.com")
                    || e.to_lowercase().ends_with("@example.org"),
                "{e}"
            );
        }
    }
}

fn in_2024_or_later(ds: &Dataset, id: &str) -> bool {
    ds.conversations
        .iter()
        .find(|c| c.id == id)
        .unwrap()
        .start
        .date_naive()
        >= NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
}

#[test]
fn recycled_number_has_an_old_owner_before_2024_and_a_new_one_after() {
    let ds = Dataset::bundled();
    let old = ds.persona("recycled-number-old-owner").unwrap();
    let new = ds.persona("recycled-number-new-owner").unwrap();
    assert_eq!(old.phone_numbers[0].number, new.phone_numbers[0].number);
    assert!(
        old.customer_conversation_ids
            .iter()
            .all(|id| !in_2024_or_later(&ds, id))
    );
    assert!(
        new.customer_conversation_ids
            .iter()
            .all(|id| in_2024_or_later(&ds, id))
    );
    assert!(old.customer_conversation_ids.len() >= 5 && new.customer_conversation_ids.len() >= 5);
}

#[test]
fn former_agent_is_an_inactive_user_with_agent_and_customer_conversations() {
    let ds = Dataset::bundled();
    let p = ds.persona("former-agent").unwrap();
    let user = ds
        .users
        .iter()
        .find(|u| Some(&u.id) == p.user_id.as_ref())
        .unwrap();
    assert_eq!(user.state, UserState::Inactive);
    assert!(p.agent_conversation_ids.len() >= 5);
    assert!(
        p.customer_conversation_ids
            .iter()
            .all(|id| in_2024_or_later(&ds, id))
    );
    assert!(
        p.agent_conversation_ids
            .iter()
            .all(|id| !in_2024_or_later(&ds, id))
    );
}

#[test]
fn legal_hold_persona_has_a_protected_conversation_with_recordings() {
    let ds = Dataset::bundled();
    let p = ds.persona("legal-hold").unwrap();
    let held = &p.protected_conversation_ids[0];
    assert!(ds.deletion_protected_conversation_ids.contains(held));
    assert!(p.customer_conversation_ids.contains(held));
    assert!(
        !ds.conversations
            .iter()
            .find(|c| &c.id == held)
            .unwrap()
            .recordings
            .is_empty()
    );
}

#[test]
fn email_and_voice_persona_and_happy_path_and_active_agent() {
    let ds = Dataset::bundled();
    let grace = ds.persona("email-and-voice").unwrap();
    let media: HashSet<MediaType> = grace
        .customer_conversation_ids
        .iter()
        .map(|id| {
            ds.conversations
                .iter()
                .find(|c| &c.id == id)
                .unwrap()
                .media_type
        })
        .collect();
    assert!(media.contains(&MediaType::Email) && media.contains(&MediaType::Voice));

    let liam = ds.persona("happy-path").unwrap();
    assert_eq!(liam.customer_conversation_ids.len(), 3);
    assert!(liam.customer_conversation_ids.iter().all(|id| {
        !ds.conversations
            .iter()
            .find(|c| &c.id == id)
            .unwrap()
            .recordings
            .is_empty()
    }));

    let niamh = ds.persona("active-agent").unwrap();
    let user = ds
        .users
        .iter()
        .find(|u| Some(&u.id) == niamh.user_id.as_ref())
        .unwrap();
    assert_eq!(user.state, UserState::Active);
    assert!(
        !niamh.customer_conversation_ids.is_empty() && !niamh.agent_conversation_ids.is_empty()
    );
}

#[test]
fn invalid_datasets_are_refused_with_the_reason() {
    let mut ds = Dataset::bundled();
    ds.deletion_protected_conversation_ids
        .push("missing".into());
    let err = Dataset::from_json(&serde_json::to_string(&ds).unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("unknown conversation missing"),
        "{err}"
    );
    let err = Dataset::from_json("{\"formatVersion\": 1}").unwrap_err();
    assert!(err.to_string().contains("missing field"), "{err}");
}
