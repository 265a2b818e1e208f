//! The export archive reader on real ZIPs written by the `zip` crate: the live layout
//! catalogued into ids and counts, and every hostile archive refused with a precise
//! error before it can exhaust memory.

use std::io::{Cursor, Write};

use genesys::{ArchiveLimits, ArchiveProblem, ArchivedRecording, ExportCatalog};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

const CONV_A: &str = "0b1e7a52-1111-4c4c-9a9a-000000000001";
const CONV_B: &str = "0b1e7a52-1111-4c4c-9a9a-000000000002";
const REC_A: &str = "9f9f9f9f-2222-4d4d-8b8b-00000000000a";

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, body) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(body).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn receipt(topic: &str, external_id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "topic": topic,
        "externalId": external_id,
        "eventTime": "2026-09-13T10:00:00.000Z",
    }))
    .unwrap()
}

fn read(bytes: Vec<u8>, limits: &ArchiveLimits) -> Result<ExportCatalog, ArchiveProblem> {
    let mut c = ExportCatalog::default();
    c.read_archive(Cursor::new(bytes), limits).map(|()| c)
}

fn live_like() -> Vec<u8> {
    zip_of(&[
        (
            "analytics!5a0c6d7e-0000-4000-8000-000000000001",
            receipt("ConversationEvent", CONV_A),
        ),
        (
            "analytics!5a0c6d7e-0000-4000-8000-000000000002",
            receipt("TranscriptsEvent", CONV_B),
        ),
        (
            "analytics!5a0c6d7e-0000-4000-8000-000000000003",
            receipt("UserActivityEvents", "user-1"),
        ),
        (
            &format!("recording!Recording_Conv_{CONV_A}_Rec_{REC_A}.opus"),
            b"OggS\0\x02 opus header and audio".to_vec(),
        ),
        (
            "contacts-service!externalContact-1.json",
            br#"{"id":"ext-contact-77","firstName":"Jane","phoneNumber":"+353861234567"}"#.to_vec(),
        ),
        (
            &format!("quality!Survey_Conv_{CONV_B}.json"),
            b"{\"answers\":[]}".to_vec(),
        ),
        (
            "billing-service!7d7d7d7d-0000-4000-8000-000000000009",
            b"inv-1".to_vec(),
        ),
        ("journey-session-store!s1.json", b"{}".to_vec()),
        ("wem-container!x", b"who knows".to_vec()),
    ])
}

#[test]
fn a_live_layout_archive_is_catalogued_into_ids_and_counts() {
    let c = read(live_like(), &ArchiveLimits::default()).unwrap();
    assert_eq!(c.archives, 1);
    assert_eq!(c.entries, 9);
    let convs: Vec<&str> = c.conversation_ids.iter().map(String::as_str).collect();
    assert_eq!(
        convs,
        [CONV_A, CONV_B],
        "user activity ids are not conversations"
    );
    assert_eq!(
        c.recordings.iter().cloned().collect::<Vec<_>>(),
        [ArchivedRecording {
            conversation_id: CONV_A.into(),
            recording_id: REC_A.into()
        }]
    );
    let contacts: Vec<&str> = c.external_contact_ids.iter().map(|p| p.as_str()).collect();
    assert_eq!(contacts, ["ext-contact-77"]);
    assert_eq!(c.by_prefix["analytics"], 3);
    assert_eq!(c.by_prefix["billing-service"], 1);
    assert_eq!(c.analytics_topics["UserActivityEvents"], 1);
    assert_eq!(
        c.unknown_prefixes["wem-container"], 1,
        "an unknown prefix is counted"
    );
}

#[test]
fn the_catalogue_prints_no_content_and_no_contact_id() {
    let c = read(live_like(), &ArchiveLimits::default()).unwrap();
    let printed = format!("{c:?}");
    for secret in ["ext-contact-77", "Jane", "353", CONV_A] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

#[test]
fn a_zip_bomb_entry_is_refused_by_its_ratio_without_reading_it_whole() {
    // 4 MiB of zeros deflate to ~4 KiB: a ratio of ~1000.
    let bomb = zip_of(&[("analytics!bomb", vec![0u8; 4 << 20])]);
    assert!(bomb.len() < 64 * 1024);
    let err = read(bomb, &ArchiveLimits::default()).unwrap_err();
    match err {
        ArchiveProblem::EntryTooLarge { index: 0, why, .. } => {
            assert_eq!(why, "compression ratio")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_recording_bomb_is_refused_although_its_content_is_never_parsed() {
    let name = format!("recording!Recording_Conv_{CONV_A}_Rec_{REC_A}.opus");
    let bomb = zip_of(&[(&name, vec![0u8; 4 << 20])]);
    let err = read(bomb, &ArchiveLimits::default()).unwrap_err();
    assert!(
        matches!(err, ArchiveProblem::EntryTooLarge { .. }),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains(CONV_A),
        "the message names no id: {err}"
    );
}

#[test]
fn the_total_uncompressed_bytes_are_capped_across_entries() {
    let noise = |seed: u8| {
        (0..50_000u32)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect::<Vec<u8>>()
    };
    let archive = zip_of(&[
        ("billing-service!a", noise(1)),
        ("billing-service!b", noise(2)),
        ("billing-service!c", noise(3)),
    ]);
    let limits = ArchiveLimits {
        max_total_uncompressed: 120_000,
        ..ArchiveLimits::default()
    };
    let err = read(archive, &limits).unwrap_err();
    assert!(
        matches!(err, ArchiveProblem::TotalTooLarge { .. }),
        "{err:?}"
    );
}

#[test]
fn too_many_entries_are_refused_before_the_directory_is_read() {
    let entries: Vec<(String, Vec<u8>)> = (0..11)
        .map(|i| (format!("billing-service!{i}"), b"x".to_vec()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    let limits = ArchiveLimits {
        max_entries: 10,
        ..ArchiveLimits::default()
    };
    let err = read(zip_of(&refs), &limits).unwrap_err();
    assert_eq!(
        err,
        ArchiveProblem::TooManyEntries {
            found: 11,
            limit: 10
        }
    );
    assert!(read(zip_of(&refs[..10]), &limits).is_ok());
}

#[test]
fn hostile_names_are_refused_with_what_is_wrong() {
    for (name, why) in [
        ("../../etc/cron.d/x", "parent-directory component"),
        ("recording!../../x", "parent-directory component"),
        ("/etc/passwd", "absolute path"),
        ("recording!a\\..\\b", "backslash"),
        ("C:evil", "drive letter"),
        ("analytics!a\0b", "NUL byte"),
    ] {
        let archive = zip_of(&[
            ("billing-service!ok", b"1".to_vec()),
            (name, b"{}".to_vec()),
        ]);
        let err = read(archive, &ArchiveLimits::default()).unwrap_err();
        assert_eq!(
            err,
            ArchiveProblem::HostileName { index: 1, why },
            "{name:?}"
        );
    }
}

#[test]
fn something_that_is_not_a_zip_or_is_truncated_is_malformed() {
    let err = read(
        b"{\"conversations\":[]}".to_vec(),
        &ArchiveLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ArchiveProblem::Malformed(_)), "{err:?}");
    let mut cut = live_like();
    cut.truncate(cut.len() / 2);
    assert!(matches!(
        read(cut, &ArchiveLimits::default()).unwrap_err(),
        ArchiveProblem::Malformed(_)
    ));
}

#[test]
fn a_corrupted_entry_fails_its_checksum() {
    let mut bytes = zip_of(&[
        ("billing-service!a", vec![7u8; 1000]),
        ("billing-service!b", b"x".to_vec()),
    ]);
    // Flip a byte inside the first entry's compressed data (after its 30-byte local
    // header and 17-byte name).
    bytes[30 + 17 + 2] ^= 0xff;
    let err = read(bytes, &ArchiveLimits::default()).unwrap_err();
    assert!(matches!(err, ArchiveProblem::Malformed(_)), "{err:?}");
}

#[test]
fn an_analytics_receipt_that_is_not_json_fails_closed() {
    let archive = zip_of(&[("analytics!x", b"not json at all".to_vec())]);
    let err = read(archive, &ArchiveLimits::default()).unwrap_err();
    assert!(
        matches!(err, ArchiveProblem::UnreadableEntry { index: 0, .. }),
        "{err:?}"
    );
    let archive = zip_of(&[("analytics!x", receipt("ConversationEvent", ""))]);
    assert!(read(archive, &ArchiveLimits::default()).is_err());
}

#[test]
fn several_archives_of_one_export_add_up() {
    let mut c = ExportCatalog::default();
    let one = zip_of(&[("analytics!1", receipt("ConversationEvent", CONV_A))]);
    let two = zip_of(&[("analytics!2", receipt("ConversationEvent", CONV_B))]);
    c.read_archive(Cursor::new(one), &ArchiveLimits::default())
        .unwrap();
    c.read_archive(Cursor::new(two), &ArchiveLimits::default())
        .unwrap();
    assert_eq!(c.archives, 2);
    assert_eq!(c.conversation_ids.len(), 2);
}
