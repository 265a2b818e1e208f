//! The period report over a local archive: the figures a DPO reads, as text and as a
//! self-contained HTML page.

use std::fs;

use archive::report::{Period, RecordFilter, build_report, load_records, parse_date};
use archive::{Archive, LocalArchive, Outcome, Record, RetentionPolicy};
use chrono::NaiveDate;
use testkit::RecordBuilder;

fn date(s: &str) -> NaiveDate {
    parse_date(s).expect("date")
}

/// Seven tickets through November 2026 and one in December:
///
/// | ticket | outcome (seq) | written | clock start -> done | within |
/// |---|---|---|---|---|
/// | T1 | COMPLETED | 11-10 | 11-01 -> 11-03 (2d) | yes |
/// | T2 | PARTIAL | 11-15 | 11-01 -> 11-11 (10d) | yes |
/// | T3 | COMPLETED | 11-20 | 10-01 -> 11-19 (49d) | no, 18 days late |
/// | T4 | DEFERRED | 11-22 | 11-20 -> 11-21 (1d) | yes; hold LH-1 to 2027-06-30, resumes 2027-07-01 |
/// | T5 | DEFERRED (1), COMPLETED (2) | 11-05, 11-25 | 11-01 -> 11-04 (3d), -> 11-25 (24d) | yes |
/// | T6 | REJECTED | 11-12 | never completed | n/a |
/// | T7 | COMPLETED | 12-05 | outside the period | |
async fn november(archive: &LocalArchive) {
    let one = |ticket: &str, outcome: &str, written: &str| {
        RecordBuilder::new(ticket, outcome).written_at(written)
    };
    let records = vec![
        one("DSAR-T1", "COMPLETED", "2026-11-10T09:00:00Z").clock(
            "2026-11-01T00:00:00Z",
            Some("2026-11-03T00:00:00Z"),
            Some(true),
            Some(0),
        ),
        one("DSAR-T2", "PARTIAL", "2026-11-15T09:00:00Z").clock(
            "2026-11-01T00:00:00Z",
            Some("2026-11-11T00:00:00Z"),
            Some(true),
            Some(0),
        ),
        one("DSAR-T3", "COMPLETED", "2026-11-20T09:00:00Z").clock(
            "2026-10-01T00:00:00Z",
            Some("2026-11-19T00:00:00Z"),
            Some(false),
            Some(18),
        ),
        one("DSAR-T4", "DEFERRED", "2026-11-22T09:00:00Z")
            .clock(
                "2026-11-20T00:00:00Z",
                Some("2026-11-21T00:00:00Z"),
                Some(true),
                Some(0),
            )
            .deferral(&[("LH-1", Some("2027-06-30"))], Some("2027-07-01")),
        one("DSAR-T6", "REJECTED", "2026-11-12T09:00:00Z"),
        one("DSAR-T7", "COMPLETED", "2026-12-05T09:00:00Z"),
    ];
    for b in records {
        let r = Record::from_value(b.build()).expect("valid");
        archive.write(&r).await.expect("written");
    }
    let t5a = Record::from_value(
        one("DSAR-T5", "DEFERRED", "2026-11-05T09:00:00Z")
            .clock(
                "2026-11-01T00:00:00Z",
                Some("2026-11-04T00:00:00Z"),
                Some(true),
                Some(0),
            )
            .build(),
    )
    .expect("valid");
    archive.write(&t5a).await.expect("t5a");
    let t5b = Record::from_value(
        one("DSAR-T5", "COMPLETED", "2026-11-25T09:00:00Z")
            .sequence(2, Some(t5a.digest()))
            .clock(
                "2026-11-01T00:00:00Z",
                Some("2026-11-25T00:00:00Z"),
                Some(true),
                Some(0),
            )
            .build(),
    )
    .expect("valid");
    archive.write(&t5b).await.expect("t5b");
}

async fn report_for(
    archive: &LocalArchive,
    period: Period,
    today: &str,
) -> archive::report::Report {
    let (records, unusable) = load_records(archive, &RecordFilter::default())
        .await
        .expect("load");
    build_report(&archive.location(), &records, unusable, period, date(today))
}

fn november_period() -> Period {
    Period::new(Some(date("2026-11-01")), Some(date("2026-11-30"))).expect("period")
}

#[tokio::test]
async fn counts_outcomes_deadlines_durations_and_open_deferrals_for_the_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    november(&archive).await;

    let r = report_for(&archive, november_period(), "2027-01-15").await;

    assert_eq!((r.records, r.tickets), (7, 6));
    let count = |o: Outcome| r.per_outcome.iter().find(|(x, _)| *x == o).map(|(_, n)| *n);
    assert_eq!(count(Outcome::Completed), Some(3));
    assert_eq!(count(Outcome::Partial), Some(1));
    assert_eq!(count(Outcome::Deferred), Some(2));
    assert_eq!(count(Outcome::Rejected), Some(1));
    assert_eq!(count(Outcome::Failed), Some(0));
    assert_eq!(r.erasures, 4);
    assert_eq!(
        (r.deadline.judged, r.deadline.within, r.deadline.late),
        (6, 5, 1)
    );
    assert_eq!(r.deadline.worst_days_late, 18);
    let t = r.duration.as_ref().expect("durations");
    assert_eq!(t.count, 6);
    assert_eq!(t.median, chrono::TimeDelta::hours(6 * 24 + 12)); // (3d + 10d) / 2
    assert_eq!(t.worst, chrono::TimeDelta::days(49));
    assert!(t.worst_key.contains("DSAR-T3"));
    assert_eq!(
        r.open_deferrals.len(),
        1,
        "T5's deferral was followed by a completion"
    );
    let d = &r.open_deferrals[0];
    assert_eq!(d.ticket_id, "DSAR-T4");
    assert_eq!(d.holds[0].hold_id, "LH-1");
    assert_eq!(d.holds[0].expiry, Some(date("2027-06-30")));
    assert_eq!(d.resume_on, Some(date("2027-07-01")));
    assert!(!d.resume_overdue);
    assert_eq!(r.as_of, date("2026-11-30"));

    let text = r.to_text();
    assert!(
        text.contains("Outcomes recorded:        7 (6 tickets)"),
        "{text}"
    );
    assert!(
        text.contains("5 of 6 outcomes with a completion time (83.3%)"),
        "{text}"
    );
    assert!(
        text.contains("median 6d 12h 00m, worst 49d 00h 00m"),
        "{text}"
    );
    assert!(
        text.contains("DSAR-T4  holds: LH-1 until 2027-06-30  resumes: 2027-07-01"),
        "{text}"
    );
}

#[tokio::test]
async fn a_deferral_is_judged_open_at_the_end_of_the_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    november(&archive).await;

    // Up to 11-20 T5's completion (11-25) had not happened yet, and T4 not deferred.
    let early = Period::new(None, Some(date("2026-11-20"))).expect("period");
    let r = report_for(&archive, early, "2027-01-15").await;
    let open: Vec<&str> = r
        .open_deferrals
        .iter()
        .map(|d| d.ticket_id.as_str())
        .collect();
    assert_eq!(open, ["DSAR-T5"]);

    // With no end, judged today: after T4's resume date it is overdue.
    let r = report_for(&archive, Period::default(), "2027-08-01").await;
    assert_eq!(r.records, 8);
    assert_eq!(r.open_deferrals.len(), 1);
    assert!(r.open_deferrals[0].resume_overdue);
    assert!(r.to_text().contains("RESUME OVERDUE"));
}

#[tokio::test]
async fn a_deferral_resumed_by_a_follow_up_ticket_is_no_longer_open_and_names_the_follow_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    november(&archive).await;
    // After T4's hold: a follow-up ticket of its own, naming T4 in `resumes`.
    let follow_up = RecordBuilder::new("DSAR-T4-F", "COMPLETED")
        .written_at("2027-07-02T09:00:00Z")
        .resumes(Some("DSAR-T4"))
        .build();
    archive
        .write(&Record::from_value(follow_up).expect("valid"))
        .await
        .expect("written");

    let r = report_for(&archive, Period::default(), "2027-08-01").await;
    assert!(r.open_deferrals.is_empty(), "{:?}", r.open_deferrals);
    assert_eq!(r.resumed_deferrals.len(), 1);
    let rd = &r.resumed_deferrals[0];
    assert_eq!(rd.ticket_id, "DSAR-T4");
    assert!(rd.key.contains("DSAR-T4/"));
    assert_eq!(rd.follow_ups.len(), 1);
    assert_eq!(rd.follow_ups[0].ticket_id, "DSAR-T4-F");
    assert_eq!(rd.follow_ups[0].outcome, Outcome::Completed);
    let text = r.to_text();
    assert!(
        text.contains("Open deferrals as of 2027-08-01: 0"),
        "{text}"
    );
    assert!(
        text.contains("DSAR-T4  resumed by DSAR-T4-F (COMPLETED)"),
        "{text}"
    );
    assert!(!text.contains("RESUME OVERDUE"), "{text}");
    let html = r.to_html();
    assert!(html.contains("Deferrals resumed by a follow-up ticket"));
    assert!(html.contains("DSAR-T4-F (COMPLETED)"));

    // Judged at the end of November, the follow-up had not happened: still open.
    let r = report_for(&archive, november_period(), "2027-08-01").await;
    let open: Vec<&str> = r
        .open_deferrals
        .iter()
        .map(|d| d.ticket_id.as_str())
        .collect();
    assert_eq!(open, ["DSAR-T4"]);
    assert!(r.resumed_deferrals.is_empty());
}

#[tokio::test]
async fn records_that_cannot_be_read_are_listed_not_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    november(&archive).await;
    let bad = dir
        .path()
        .join("records/DSAR-T9/20261111T000000.000Z-COMPLETED.json");
    fs::create_dir_all(bad.parent().expect("parent")).expect("mkdir");
    fs::write(&bad, b"{\"schema\":\"something else\"}").expect("write");

    let r = report_for(&archive, november_period(), "2027-01-15").await;

    assert_eq!(r.records, 7);
    assert_eq!(r.not_counted.len(), 1);
    assert!(r.not_counted[0].key.contains("DSAR-T9"));
    assert!(
        r.to_text()
            .contains("Not counted (1 objects; run `gdpr-erasure audit verify`)")
    );
    assert!(r.to_html().contains("DSAR-T9"));
}

#[tokio::test]
async fn html_report_is_a_self_contained_page_with_the_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
    november(&archive).await;
    let r = report_for(&archive, november_period(), "2027-01-15").await;

    let html = r.to_html();

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    // Self-contained: styles and chart inline, nothing fetched, nothing run.
    assert!(html.contains("<style>") && html.contains("<svg"));
    for forbidden in [
        "<script", "<link", "src=", "href=", "url(", "@import", "<iframe", "<img",
    ] {
        assert!(!html.contains(forbidden), "found {forbidden}");
    }
    let without_svg_namespace = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !without_svg_namespace.contains("http://") && !without_svg_namespace.contains("https://")
    );
    // The figures.
    let figure = |id: &str| -> String {
        let start = html
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id}"));
        let n = html[start..].find("class=\"n\">").expect("figure value") + start + 10;
        html[n..n + html[n..].find('<').expect("end")].to_owned()
    };
    assert_eq!(figure("fig-records"), "7");
    assert_eq!(figure("fig-erasures"), "4");
    assert_eq!(figure("fig-within"), "83.3%");
    assert_eq!(figure("fig-median"), "6d 12h 00m");
    assert_eq!(figure("fig-worst"), "49d 00h 00m");
    assert_eq!(figure("fig-deferrals"), "1");
    // The chart has one bar per outcome, each titled with its count.
    for (outcome, n) in [
        ("COMPLETED", 3),
        ("PARTIAL", 1),
        ("DEFERRED", 2),
        ("REJECTED", 1),
        ("FAILED", 0),
    ] {
        assert!(
            html.contains(&format!("<title>{outcome}: {n}</title>")),
            "{outcome}"
        );
    }
    assert!(html.contains("<td>DSAR-T4</td><td>LH-1 until 2027-06-30</td><td>2027-07-01</td>"));
    // Balanced structure: every element opened is closed.
    for tag in [
        "html", "head", "body", "svg", "table", "style", "div", "h1", "h2", "p", "tr", "td", "th",
    ] {
        let opened =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let closed = html.matches(&format!("</{tag}>")).count();
        assert_eq!(opened, closed, "<{tag}>");
    }
}
