//! The letter to the data subject, per outcome: its facts match the record (dates,
//! counts, grounds, systems) in English and German, the DSAR tool receives text and
//! HTML whose SHA-256 the record holds, `render_letter` reproduces them byte for byte
//! from the record alone, and no identifier of the subject is in any of them.

use chrono::{Datelike, NaiveDate};
use e2e::Harness;
use erasure_core::record::ComplianceRecord;
use letters::{Format, Letter, LetterKind, render_letter};
use serde_json::json;

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DE_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

fn en(d: NaiveDate) -> String {
    format!(
        "{} {} {}",
        d.day(),
        EN_MONTHS[d.month0() as usize],
        d.year()
    )
}

fn de(d: NaiveDate) -> String {
    format!(
        "{}. {} {}",
        d.day(),
        DE_MONTHS[d.month0() as usize],
        d.year()
    )
}

/// The run's record and the letters the DSAR tool was sent with it, each checked:
/// digests as the record holds them, rendered again identically, no identifier.
fn letters_of(h: &Harness, run: &e2e::Run) -> (ComplianceRecord, Vec<Letter>) {
    let record: ComplianceRecord =
        serde_json::from_value(run.record().clone()).expect("the record reads as its type");
    let report = h
        .reports
        .reports()
        .into_iter()
        .rfind(|r| r.ticket_id == record.ticket_id.as_str())
        .expect("the ticket was told the outcome");
    let section = record
        .letter
        .as_ref()
        .expect("the record names its letters");
    assert_eq!(section.templates, "embedded:v1");
    assert_eq!(
        section.template_set,
        letters::TemplateSet::embedded().digest()
    );
    assert_eq!(
        section.settings,
        letters::LetterSettings::example().digest()
    );
    let engine = erasure_steps::local::example_letters().expect("letters");
    assert_eq!(report.letters.len(), section.letters.len() * 2);
    for d in &section.letters {
        for (format, digest) in [(Format::Text, &d.text), (Format::Html, &d.html)] {
            let sent = report
                .letters
                .iter()
                .find(|l| l.kind == d.kind && l.language == d.language && l.format == format)
                .unwrap_or_else(|| panic!("no {} {} {format:?} letter sent", d.kind, d.language));
            assert_eq!(&sent.sha256, digest);
            assert_eq!(&letters::sha256(sent.body.as_bytes()), digest);
            let again = render_letter(
                &engine,
                &record,
                LetterKind::parse(&d.kind),
                &d.language,
                format,
            )
            .expect("renders again from the record");
            assert_eq!(
                again.body, sent.body,
                "{} {} {format:?}",
                d.kind, d.language
            );
            assert!(sent.body.contains(letters::ADDRESSEE_PLACEHOLDER));
            let leaks = e2e::evidence::needles().scan(&sent.body, "letter");
            assert!(leaks.is_empty(), "{leaks:?}");
        }
    }
    (record, report.letters)
}

fn text<'a>(letters: &'a [Letter], kind: &str, lang: &str) -> &'a str {
    &letters
        .iter()
        .find(|l| l.kind == kind && l.language == lang && l.format == Format::Text)
        .unwrap_or_else(|| panic!("no {kind} {lang} text letter"))
        .body
}

fn local(r: &ComplianceRecord, at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    let tz: chrono_tz::Tz = r.clock.time_zone.parse().expect("a zone");
    at.with_timezone(&tz).date_naive()
}

#[tokio::test]
async fn a_completed_erasure_is_told_by_kind_count_and_the_systems_told() {
    let h = Harness::builder().start().await;
    let run = h.run("happy-path").await;
    assert_eq!(run.outcome(), "COMPLETED");
    let (r, letters) = letters_of(&h, &run);
    let c = &r.counts;
    assert!(
        c.conversations_erased > 0 && c.recordings_purged > 0,
        "{c:?}"
    );
    let told: Vec<&str> = r.downstream.iter().map(|d| d.system.as_str()).collect();
    assert!(!told.is_empty());
    let received = local(&r, r.clock.received_at);
    let completed = local(&r, r.clock.completed_at.expect("completed"));

    let t = text(&letters, "completed", "en");
    assert!(
        t.contains(&format!("in {} records of calls", c.conversations_erased)),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "{} call recordings, deleted entirely",
            c.recordings_purged
        )),
        "{t}"
    );
    assert!(
        t.contains("rather than deleting the records themselves"),
        "{t}"
    );
    assert!(t.contains(&format!("On {} you asked", en(received))), "{t}");
    assert!(
        t.contains(&format!("completed on {}", en(completed))),
        "{t}"
    );
    assert!(
        t.contains(&format!("each confirmed it: {}.", told.join(", "))),
        "{t}"
    );
    assert!(
        t.contains(&format!("Our reference: {}", r.ticket_id)),
        "{t}"
    );

    let t = text(&letters, "completed", "de");
    assert!(
        t.contains(&format!(
            "in {} Datensätzen zu Anrufen",
            c.conversations_erased
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "{} Gesprächsmitschnitte, vollständig gelöscht",
            c.recordings_purged
        )),
        "{t}"
    );
    assert!(t.contains("statt die Datensätze selbst zu löschen"), "{t}");
    assert!(
        t.contains(&format!("am {} haben Sie uns gebeten", de(received))),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "Die Löschung war am {} abgeschlossen",
            de(completed)
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("bestätigt: {}.", told.join(", "))),
        "{t}"
    );
    // No extension, no extension notice.
    assert!(!letters.iter().any(|l| l.kind == "extension"));
}

#[tokio::test]
async fn a_deferral_names_what_is_held_the_ground_and_when_erasure_resumes() {
    let h = Harness::builder().start().await;
    let run = h.run("legal-hold").await;
    assert_eq!(run.outcome(), "DEFERRED");
    let (r, letters) = letters_of(&h, &run);
    let d = r.deferral.as_ref().expect("a deferral");
    let resume = d.resume_on.expect("the register's hold ends");
    let held = r.counts.conversations_withheld;

    let t = text(&letters, "deferred", "en");
    assert!(
        t.contains(&format!("- {held} records of calls and other contacts")),
        "{t}"
    );
    assert!(t.contains("Article 17(3)(e) GDPR"), "{t}");
    assert!(
        t.contains(&format!("the hold ends before {}", en(resume))),
        "{t}"
    );
    assert!(
        t.contains(&format!("in {} records", r.counts.conversations_erased)),
        "{t}"
    );

    let t = text(&letters, "deferred", "de");
    assert!(
        t.contains(&format!("- {held} Datensätze zu Anrufen")),
        "{t}"
    );
    assert!(t.contains("Art. 17 Abs. 3 lit. e DSGVO"), "{t}");
    assert!(t.contains(&format!("endet vor dem {}", de(resume))), "{t}");
}

#[tokio::test]
async fn a_partial_erasure_names_what_could_not_be_erased_why_and_what_happens_next() {
    let h = Harness::builder().start().await;
    let run = h.run("deletion-protection").await;
    assert_eq!(run.outcome(), "PARTIAL");
    let (r, letters) = letters_of(&h, &run);
    let not_erased = r
        .gaps
        .iter()
        .filter(|g| g.kind == erasure_core::record::GapKind::ConversationNotErased)
        .count();
    assert!(not_erased > 0, "{:?}", r.gaps);
    let due = r.clock.effective_due_date;

    let t = text(&letters, "partial", "en");
    assert!(t.contains(&format!("in {not_erased} records of calls and other contacts: they are protected against deletion")), "{t}");
    assert!(t.contains(&format!("by {}", en(due))), "{t}");
    assert!(
        t.contains(&format!(
            "{} call recordings, deleted entirely",
            r.counts.recordings_purged
        )),
        "{t}"
    );

    let t = text(&letters, "partial", "de");
    assert!(
        t.contains(&format!(
            "in {not_erased} Datensätzen zu Anrufen und anderen Kontakten: Diese sind"
        )),
        "{t}"
    );
    assert!(t.contains(&format!("bis zum {} von Hand", de(due))), "{t}");
}

#[tokio::test]
async fn a_rejection_gives_every_reason_and_the_right_to_complain_and_to_a_court() {
    let h = Harness::builder().start().await;
    let run = h.run("rejected-no-sign-off").await;
    assert_eq!(run.outcome(), "REJECTED");
    let (r, letters) = letters_of(&h, &run);
    let fields: Vec<&str> = r
        .rejection
        .as_ref()
        .expect("reasons")
        .reasons
        .iter()
        .map(|e| e.field.as_str())
        .collect();
    assert!(
        fields.iter().any(|f| f.starts_with("ticket.signOff")),
        "{fields:?}"
    );
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("ticket.identityVerifiedAt")),
        "{fields:?}"
    );
    let authority = letters::LetterSettings::example().supervisory_authority;

    let t = text(&letters, "rejected", "en");
    assert!(t.contains("following reasons:"), "{t}");
    assert!(
        t.contains("- The request had not been approved by our data protection officer"),
        "{t}"
    );
    assert!(
        t.contains("- We could not confirm that the request came from you"),
        "{t}"
    );
    assert!(
        t.contains("Article 12(4) GDPR") && t.contains("judicial remedy"),
        "{t}"
    );
    assert!(
        t.contains(&format!("{}, {}", authority.name, authority.address)),
        "{t}"
    );

    let t = text(&letters, "rejected", "de");
    assert!(t.contains("aus folgenden Gründen:"), "{t}");
    assert!(
        t.contains("- Der Antrag war nicht von unserem Datenschutzbeauftragten freigegeben"),
        "{t}"
    );
    assert!(
        t.contains("- Wir konnten nicht bestätigen, dass der Antrag von Ihnen stammt"),
        "{t}"
    );
    assert!(
        t.contains("Art. 12 Abs. 4 DSGVO") && t.contains("gerichtlichen Rechtsbehelf"),
        "{t}"
    );

    // A ticket that is not even JSON still gets its letter.
    let run = h
        .run_raw("DSAR-2026-1008", &e2e::ticket_text("malformed"))
        .await;
    let (_, letters) = letters_of(&h, &run);
    assert!(text(&letters, "rejected", "en").contains("in a form we could not process"));
}

#[tokio::test]
async fn nothing_found_is_its_own_letter_and_an_extension_sends_its_notice() {
    let h = Harness::builder().start().await;
    let mut t = e2e::ticket("happy-path");
    t["ticket"]["id"] = json!("DSAR-2026-1090");
    t["subject"] = json!({"name": null, "emails": [], "phones": [{"number": "+353 87 111 2233", "from": "2016-04-01", "until": null}],
        "genesysUserId": null, "externalContactId": null});
    t["ticket"]["extension"] =
        json!({"noticeSentAt": "2026-11-22T09:00:00Z", "reasonCode": "complexity"});
    let run = h.run_input("DSAR-2026-1090", t).await;
    assert_eq!(run.outcome(), "COMPLETED", "{:#}", run.record());
    let (r, letters) = letters_of(&h, &run);
    assert_eq!(r.counts.conversations_in_scope, 0);
    let kinds: Vec<&str> = r
        .letter
        .as_ref()
        .unwrap()
        .letters
        .iter()
        .map(|l| l.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        ["nothing-found", "nothing-found", "extension", "extension"]
    );
    assert!(text(&letters, "nothing-found", "en").contains("found no personal data about you"));
    assert!(
        text(&letters, "nothing-found", "de")
            .contains("keine personenbezogenen Daten über Sie gefunden")
    );

    let ext = r.clock.extension.as_ref().expect("extended");
    let t = text(&letters, "extension", "en");
    assert!(
        t.contains(&format!("by {} at the latest", en(ext.extended_due_date))),
        "{t}"
    );
    assert!(
        t.contains(&format!("answered by {}", en(r.clock.due_date))),
        "{t}"
    );
    assert!(t.contains("because your request is complex"), "{t}");
    let t = text(&letters, "extension", "de");
    assert!(
        t.contains(&format!("spätestens am {}", de(ext.extended_due_date))),
        "{t}"
    );
    assert!(t.contains("weil Ihr Antrag komplex ist"), "{t}");
}
