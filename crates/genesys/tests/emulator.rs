//! Every client call against the project's Genesys emulator, over real HTTP.
//!
//! The client and the emulator were written independently from the contract, so each
//! checks the other: a call that passes here agrees on paths, query parameters,
//! bodies, status codes and error envelopes. Time is one `VirtualClock` shared by
//! both, so GDPR jobs that take minutes finish at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use clock::{Clock, VirtualClock};
use genesys::{
    ClientConfig, ConversationQuery, Credentials, Environment, GdprRequestStatus, GdprSubject,
    GenesysClient, GenesysError, Interval, NewGdprRequest, RetryPolicy, SearchType,
    SegmentDetailQueryFilter, UpdateUser, UserLookupState, UserState,
};
use genesys_emulator::{
    Dataset, Emulator, Fault, FaultAction, FileState, RequestType, RunningEmulator,
};

const HAPPY_PHONE: &str = "+353834567890";
const HAPPY_EMAIL: &str = "liam.walsh@example.com";
const RECYCLED_PHONE: &str = "+353861234567";
const FORMER_AGENT: &str = "1b7e7ad0-0d78-4841-afe9-1396fb86ef4d";
const PROTECTED_CONVERSATION: &str = "c4a48a42-f31c-42db-8a50-4ee16b44103d";

struct Setup {
    clock: Arc<VirtualClock>,
    emulator: RunningEmulator,
    client: GenesysClient,
}

async fn setup() -> Setup {
    setup_with(|c| c).await
}

async fn setup_with(tune: impl FnOnce(ClientConfig) -> ClientConfig) -> Setup {
    let clock = Arc::new(VirtualClock::starting_at(Dataset::bundled().as_of));
    let emulator = Emulator::builder()
        .clock(clock.clone())
        .seed(11)
        .start()
        .await
        .expect("emulator starts");
    let oauth = emulator.oauth_client();
    let environment: Environment = emulator.base_url().parse().expect("base url");
    let config = ClientConfig::new(
        environment,
        Credentials::new(oauth.client_id, oauth.client_secret),
    )
    .with_clock(clock.clone());
    let client = GenesysClient::new(tune(config)).expect("client");
    Setup {
        clock,
        emulator,
        client,
    }
}

fn phone_subject(number: &str) -> GdprSubject {
    GdprSubject {
        phone_numbers: vec![number.into()],
        ..GdprSubject::default()
    }
}

/// Polls a GDPR request on the shared clock until Genesys reports a terminal status.
async fn wait_until_terminal(s: &Setup, id: &str) -> Vec<GdprRequestStatus> {
    let mut seen = Vec::new();
    for _ in 0..200 {
        let request = s.client.get_gdpr_request(id).await.expect("get request");
        let status = request.status.expect("a request has a status");
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status.is_terminal() {
            return seen;
        }
        s.clock.sleep(Duration::from_secs(15)).await;
    }
    panic!("request {id} never finished; saw {seen:?}");
}

fn conversations_with(emulator: &RunningEmulator, phone: &str) -> Vec<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    emulator
        .conversations()
        .into_iter()
        .filter(|c| {
            c.participants.iter().any(|p| {
                [&p.ani, &p.dnis, &p.address_from, &p.address_to]
                    .into_iter()
                    .flatten()
                    .any(|a| a.chars().filter(char::is_ascii_digit).collect::<String>() == digits)
            })
        })
        .map(|c| c.id)
        .collect()
}

#[tokio::test]
async fn subject_search_finds_the_customer_behind_a_phone_number() {
    let s = setup().await;
    let subjects = s
        .client
        .search_gdpr_subjects(SearchType::Phone, HAPPY_PHONE)
        .await
        .expect("search");
    assert!(!subjects.is_empty(), "the happy-path customer is found");
    let by_email = s
        .client
        .search_gdpr_subjects(SearchType::Email, HAPPY_EMAIL)
        .await
        .expect("search by email");
    assert!(!by_email.is_empty());
}

#[tokio::test]
async fn export_progresses_to_completed_and_its_results_list_what_matched() {
    let s = setup().await;
    let created = s
        .client
        .create_gdpr_request(
            &NewGdprRequest::export(phone_subject(HAPPY_PHONE)).with_name("DSAR-T-1/export"),
            false,
        )
        .await
        .expect("create export");
    assert_eq!(created.status, Some(GdprRequestStatus::Initiated));

    let statuses = wait_until_terminal(&s, &created.id).await;
    assert_eq!(statuses.first(), Some(&GdprRequestStatus::Initiated));
    assert_eq!(statuses.last(), Some(&GdprRequestStatus::Completed));
    assert!(
        statuses.contains(&GdprRequestStatus::Searching),
        "{statuses:?}"
    );

    let done = s.client.get_gdpr_request(&created.id).await.expect("get");
    let urls = done.result_urls();
    assert!(!urls.is_empty(), "a completed export names its results");
    // ZIP archives behind the downloads API, as on live orgs.
    let catalog = s
        .client
        .catalogue_export(&urls, &genesys::ArchiveLimits::default())
        .await
        .expect("download");
    let mut expected = conversations_with(&s.emulator, HAPPY_PHONE);
    expected.sort();
    assert_eq!(
        catalog.conversation_ids.iter().cloned().collect::<Vec<_>>(),
        expected,
        "the archives list every conversation with the number"
    );
    // An export changes nothing.
    assert!(!conversations_with(&s.emulator, HAPPY_PHONE).is_empty());
}

#[tokio::test]
async fn delete_by_phone_redacts_every_conversation_with_the_number_including_a_later_owners() {
    // The trap the pipeline must avoid: a GDPR delete has no date range.
    let s = setup().await;
    let before = conversations_with(&s.emulator, RECYCLED_PHONE);
    assert!(before.len() >= 2, "both owners called from the number");
    let created = s
        .client
        .create_gdpr_request(
            &NewGdprRequest::delete(phone_subject(RECYCLED_PHONE)).with_name("DSAR-T-2/delete"),
            true,
        )
        .await
        .expect("create delete");
    let statuses = wait_until_terminal(&s, &created.id).await;
    assert!(
        statuses.contains(&GdprRequestStatus::Deleting),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&GdprRequestStatus::Completed));
    // COMPLETED is not "gone": the number is still on the calls until the redaction
    // lands (live-tenants.md 1), days later.
    assert_eq!(conversations_with(&s.emulator, RECYCLED_PHONE), before);
    s.clock.sleep(Duration::from_secs(15 * 24 * 3600)).await;
    let new_owner = Dataset::bundled()
        .persona("recycled-number-new-owner")
        .expect("persona")
        .customer_conversation_ids
        .clone();
    assert!(conversations_with(&s.emulator, RECYCLED_PHONE).is_empty());
    for id in &before {
        assert!(
            s.emulator.conversation(id).is_some(),
            "{id} redacted, not removed"
        );
    }
    assert!(
        new_owner.iter().any(|id| before.contains(id)),
        "the later owner's calls were among those redacted"
    );
}

#[tokio::test]
async fn a_delete_without_confirmation_is_refused_locally_and_never_sent() {
    let s = setup().await;
    let err = s
        .client
        .create_gdpr_request(&NewGdprRequest::delete(phone_subject(HAPPY_PHONE)), false)
        .await
        .expect_err("refused");
    assert_eq!(err.name(), "GenesysInvalidRequest");
    assert_eq!(s.emulator.gdpr_submissions(RequestType::GdprDelete), 0);
}

#[tokio::test]
async fn listing_requests_follows_every_page_and_finds_by_name() {
    let s = setup_with(|c| c.with_page_size(2)).await;
    for i in 0..5 {
        s.client
            .create_gdpr_request(
                &NewGdprRequest::export(phone_subject(HAPPY_PHONE)).with_name(format!("T-{i}")),
                false,
            )
            .await
            .expect("create");
    }
    let all = s.client.list_gdpr_requests().await.expect("list");
    assert_eq!(all.len(), 5, "five requests over three pages");
    let found = s
        .client
        .find_gdpr_requests_by_name("T-3")
        .await
        .expect("find");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name.as_deref(), Some("T-3"));
}

#[tokio::test]
async fn a_former_agent_is_read_renamed_deactivated_and_soft_deleted() {
    let s = setup().await;
    let user = s
        .client
        .get_user(FORMER_AGENT, UserLookupState::Active)
        .await
        .expect("get user");
    assert_eq!(user.state, Some(UserState::Inactive));
    let version = user.version;

    let renamed = s
        .client
        .patch_user(
            FORMER_AGENT,
            &UpdateUser {
                name: Some("Former agent".to_string().into()),
                ..UpdateUser::new(version)
            },
        )
        .await
        .expect("patch");
    assert!(renamed.version > version);

    let stale = s
        .client
        .patch_user(
            FORMER_AGENT,
            &UpdateUser {
                department: Some("x".into()),
                ..UpdateUser::new(version)
            },
        )
        .await
        .expect_err("a stale version is a conflict");
    assert_eq!(stale.name(), "GenesysConflict");

    s.client
        .set_user_state(FORMER_AGENT, renamed.version, UserState::Active)
        .await
        .expect("state change");
    s.client.delete_user(FORMER_AGENT).await.expect("delete");
    let gone = s
        .client
        .get_user(FORMER_AGENT, UserLookupState::Active)
        .await
        .expect_err("a deleted user is not found by default");
    assert_eq!(gone.name(), "GenesysNotFound");
    let deleted = s
        .client
        .get_user(FORMER_AGENT, UserLookupState::Deleted)
        .await
        .expect("read with state=deleted");
    assert_eq!(deleted.state, Some(UserState::Deleted));
    assert_eq!(
        s.emulator.user(FORMER_AGENT).expect("kept").name,
        "Former agent"
    );
}

#[tokio::test]
async fn recordings_are_listed_and_deleted_one_by_one_but_not_under_protection() {
    let s = setup().await;
    let (conversation, _) = s
        .emulator
        .recordings()
        .into_iter()
        .find(|(c, _)| c != PROTECTED_CONVERSATION)
        .expect("a recording");
    let listed = s
        .client
        .list_recording_metadata(&conversation)
        .await
        .expect("metadata");
    assert!(!listed.is_empty());
    for r in &listed {
        s.client
            .set_recording_delete_date(&conversation, r.id.as_deref().expect("id"), s.clock.now())
            .await
            .expect("delete date");
    }
    // The media goes; Genesys keeps the metadata with fileState DELETED.
    let left: Vec<_> = s
        .emulator
        .recordings()
        .into_iter()
        .filter(|(c, _)| c == &conversation)
        .collect();
    assert!(!left.is_empty());
    assert!(
        left.iter().all(|(_, r)| r.file_state == FileState::Deleted),
        "every recording of the conversation is deleted"
    );

    let protected = s
        .client
        .list_recording_metadata(PROTECTED_CONVERSATION)
        .await
        .expect("metadata");
    let r = protected
        .first()
        .expect("the protected conversation is recorded");
    {
        let refused = s
            .client
            .set_recording_delete_date(
                PROTECTED_CONVERSATION,
                r.id.as_deref().expect("id"),
                s.clock.now(),
            )
            .await
            .expect_err("protected");
        assert!(refused.status().is_some_and(|c| (400..500).contains(&c)));
    }
}

#[tokio::test]
async fn deletion_protection_is_read_and_set() {
    let s = setup().await;
    let other = s
        .emulator
        .conversations()
        .into_iter()
        .map(|c| c.id)
        .find(|id| !s.emulator.protected_conversation_ids().contains(id))
        .expect("an unprotected conversation");
    let ids = vec![PROTECTED_CONVERSATION.to_string(), other.clone()];
    let protected = s.client.protected_conversations(&ids).await.expect("query");
    let protected: Vec<_> = protected.into_iter().filter_map(|r| r.id).collect();
    assert_eq!(protected, vec![PROTECTED_CONVERSATION.to_string()]);

    s.client
        .set_deletion_protection(std::slice::from_ref(&other), true)
        .await
        .expect("protect");
    assert!(s.emulator.protected_conversation_ids().contains(&other));
    s.client
        .set_deletion_protection(std::slice::from_ref(&other), false)
        .await
        .expect("release");
    assert!(!s.emulator.protected_conversation_ids().contains(&other));
}

#[tokio::test]
async fn analytics_finds_a_numbers_conversations_across_pages_and_each_one_by_id() {
    let s = setup_with(|c| c.with_page_size(3)).await;
    let start: DateTime<Utc> = "2021-01-01T00:00:00Z".parse().unwrap();
    // Asked until tomorrow: the client stops at its clock, in bounded slices.
    let end = s.clock.now() + TimeDelta::days(1);
    let mut query = ConversationQuery::new(Interval::new(start, end).expect("interval"));
    query.segment_filters = vec![SegmentDetailQueryFilter::ani_or_dnis(&format!(
        "tel:{HAPPY_PHONE}"
    ))];
    let found = s
        .client
        .conversation_details_between(&query, start, end)
        .await
        .expect("query");
    let mut ids: Vec<String> = found
        .iter()
        .filter_map(|c| c.conversation_id.clone())
        .collect();
    ids.sort();
    let mut expected = conversations_with(&s.emulator, HAPPY_PHONE);
    expected.sort();
    assert!(!expected.is_empty());
    assert_eq!(ids, expected);

    let one = s
        .client
        .get_conversation_details(&ids[0])
        .await
        .expect("details");
    assert_eq!(one.conversation_id.as_deref(), Some(ids[0].as_str()));
}

#[tokio::test]
async fn one_token_serves_many_calls() {
    let s = setup().await;
    for _ in 0..10 {
        s.client
            .get_user(FORMER_AGENT, UserLookupState::Active)
            .await
            .expect("get");
    }
    let token_requests = s
        .emulator
        .request_log()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(token_requests, 1);
}

#[tokio::test]
async fn a_rate_limited_call_waits_retry_after_on_the_clock_then_succeeds() {
    let s = setup().await;
    s.emulator
        .add_fault(
            Fault::new(
                "GET",
                "/api/v2/users/*",
                FaultAction::RateLimited {
                    retry_after_seconds: 42,
                },
            )
            .times(1),
        )
        .expect("fault");
    let before = s.clock.now();
    s.client
        .get_user(FORMER_AGENT, UserLookupState::Active)
        .await
        .expect("succeeds after the wait");
    assert!(s.clock.now() - before >= TimeDelta::seconds(42));
}

#[tokio::test]
async fn server_errors_are_retried_then_give_up_with_the_emulators_ids() {
    let s = setup_with(|c| {
        c.with_retry(RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        })
    })
    .await;
    s.emulator
        .add_fault(
            Fault::new(
                "GET",
                "/api/v2/users/*",
                FaultAction::ServerError { status: 503 },
            )
            .times(3),
        )
        .expect("fault");
    let err: GenesysError = s
        .client
        .get_user(FORMER_AGENT, UserLookupState::Active)
        .await
        .expect_err("gives up");
    assert_eq!(err.name(), "GenesysTransient");
    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(503));
    assert!(err.correlation_id().is_some(), "{err}");
    let attempts = s
        .emulator
        .request_log()
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/users/"))
        .count();
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn a_gdpr_submission_whose_answer_is_lost_is_ambiguous_and_sent_once() {
    let s = setup().await;
    s.emulator
        .add_fault(
            Fault::new(
                "POST",
                "/api/v2/gdpr/requests",
                FaultAction::ProcessThenDrop,
            )
            .times(1),
        )
        .expect("fault");
    let err = s
        .client
        .create_gdpr_request(
            &NewGdprRequest::delete(phone_subject(HAPPY_PHONE)).with_name("DSAR-T-9/delete"),
            true,
        )
        .await
        .expect_err("the answer was lost");
    assert_eq!(err.name(), "GenesysAmbiguous");
    assert_eq!(s.emulator.gdpr_submissions(RequestType::GdprDelete), 1);
    let found = s
        .client
        .find_gdpr_requests_by_name("DSAR-T-9/delete")
        .await
        .expect("find");
    assert_eq!(
        found.len(),
        1,
        "the request exists: check by name, never resubmit"
    );
}

// ---- Live-org exports: ZIP archives behind the downloads API ----

async fn zip_setup() -> Setup {
    let clock = Arc::new(VirtualClock::starting_at(Dataset::bundled().as_of));
    let emulator = Emulator::builder()
        .clock(clock.clone())
        .seed(11)
        .export_format(genesys_emulator::ExportFormat::Zip)
        .archive_max_entries(3)
        .start()
        .await
        .expect("emulator starts");
    let oauth = emulator.oauth_client();
    let environment: Environment = emulator.base_url().parse().expect("base url");
    let client = GenesysClient::new(
        ClientConfig::new(
            environment,
            Credentials::new(oauth.client_id, oauth.client_secret),
        )
        .with_clock(clock.clone()),
    )
    .expect("client");
    Setup {
        clock,
        emulator,
        client,
    }
}

async fn completed_export(s: &Setup, name: &str) -> genesys::GdprRequest {
    let created = s
        .client
        .create_gdpr_request(
            &NewGdprRequest::export(phone_subject(HAPPY_PHONE)).with_name(name),
            false,
        )
        .await
        .expect("create export");
    let statuses = wait_until_terminal(s, &created.id).await;
    assert_eq!(statuses.last(), Some(&GdprRequestStatus::Completed));
    s.client.get_gdpr_request(&created.id).await.expect("get")
}

#[tokio::test]
async fn the_emulators_split_zip_export_is_catalogued_into_the_numbers_conversations() {
    let s = zip_setup().await;
    let done = completed_export(&s, "DSAR-Z-1/export").await;
    let urls = done.result_urls();
    assert!(urls.len() > 1, "three entries an archive: split in several");
    assert!(urls.iter().all(|u| genesys::download_id(u).is_some()));
    let catalog = s
        .client
        .catalogue_export(&urls, &genesys::ArchiveLimits::default())
        .await
        .expect("catalogue");
    let mut expected = conversations_with(&s.emulator, HAPPY_PHONE);
    expected.sort();
    let found: Vec<String> = catalog.conversation_ids.iter().cloned().collect();
    assert_eq!(found, expected);
    assert_eq!(catalog.archives as usize, urls.len());
    assert!(catalog.by_prefix.get("analytics").is_some_and(|n| *n > 0));
}

#[tokio::test]
async fn an_expired_download_and_a_hostile_archive_have_their_own_errors() {
    let s = zip_setup().await;
    let done = completed_export(&s, "DSAR-Z-2/export").await;
    let urls = done.result_urls();

    s.emulator
        .set_archive_fault(Some(genesys_emulator::ArchiveFault::HostileNames));
    let fresh = completed_export(&s, "DSAR-Z-3/export").await;
    let err = s
        .client
        .catalogue_export(&fresh.result_urls(), &genesys::ArchiveLimits::default())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "GenesysExportArchiveInvalid", "{err}");
    s.emulator.set_archive_fault(None);

    s.clock.advance(Duration::from_secs(8 * 24 * 3600));
    let err = s
        .client
        .catalogue_export(&urls, &genesys::ArchiveLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(err, GenesysError::DownloadExpired(_)), "{err}");
}
