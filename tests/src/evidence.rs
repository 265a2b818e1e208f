//! The privacy hook of the whole end-to-end suite.
//!
//! Every e2e test binary captures everything `tracing` emits, from every crate, at
//! TRACE (installed by the first [`crate::Harness`] a binary starts), and every
//! harness, when it is dropped at the end of its test, scans the log lines captured
//! since the last scan, the bytes its archive holds (record files and sidecars of a
//! local archive, every record written to an S3 one) for every spelling of every
//! identifier of every test subject: the dataset's personas, the fixture tickets, the
//! hostile-input corpus and the generated load subjects. A find fails the test.
//!
//! Case is folded (the haystack is lower-cased); phone numbers are also looked for as
//! the digits of every run of digits and phone punctuation, so `+353 (0)83 456-7890`
//! is caught as well as `+353834567890`; names only as whole words.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use aho_corasick::{AhoCorasick, MatchKind};
use erasure_core::identifiers::PhoneE164;
use serde_json::Value;

/// Everything `tracing` wrote in this process, and how much of it was scanned.
struct Capture {
    bytes: Mutex<Vec<u8>>,
    scanned: Mutex<usize>,
}

static CAPTURE: OnceLock<Capture> = OnceLock::new();

#[derive(Clone)]
struct Writer;

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(c) = CAPTURE.get() {
            c.bytes
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the TRACE capture as the process's subscriber (once). Panics when another
/// subscriber was installed first: a test that logs elsewhere would escape the check.
pub fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = CAPTURE.set(Capture {
            bytes: Mutex::new(Vec::new()),
            scanned: Mutex::new(0),
        });
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Writer)
            .with_ansi(false)
            .try_init()
            .expect("the e2e privacy capture is the only tracing subscriber of the binary");
    });
}

/// The log text captured since the last call (each line is scanned once).
pub fn take_unscanned_logs() -> String {
    let Some(c) = CAPTURE.get() else {
        return String::new();
    };
    let bytes = c.bytes.lock().unwrap_or_else(|p| p.into_inner());
    let mut scanned = c.scanned.lock().unwrap_or_else(|p| p.into_inner());
    let text = String::from_utf8_lossy(&bytes[*scanned..]).into_owned();
    *scanned = bytes.len();
    text
}

/// How many log bytes this process captured so far.
pub fn captured_log_bytes() -> usize {
    CAPTURE.get().map_or(0, |c| {
        c.bytes.lock().unwrap_or_else(|p| p.into_inner()).len()
    })
}

/// Whole log text captured so far (for tests that look for their own lines).
pub fn all_logs() -> String {
    CAPTURE.get().map_or_else(String::new, |c| {
        String::from_utf8_lossy(&c.bytes.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Any substring of the lower-cased text.
    Text,
    /// Letters that must stand as a whole word (names: "nair" is in "questionnaire").
    Word,
    /// Digits, matched against the digit runs of the text too.
    Digits,
}

/// Every spelling of every test subject's identifiers.
pub struct Needles {
    items: Vec<(String, Kind)>,
    matcher: AhoCorasick,
}

impl Needles {
    fn build(mut set: BTreeSet<(String, Kind)>) -> Self {
        // The same spelling under two kinds: the strictest reading wins (Text).
        let texts: BTreeSet<String> = set
            .iter()
            .filter(|(_, k)| *k == Kind::Text)
            .map(|(s, _)| s.clone())
            .collect();
        set.retain(|(s, k)| *k == Kind::Text || !texts.contains(s));
        let items: Vec<(String, Kind)> = set.into_iter().collect();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(items.iter().map(|(s, _)| s.as_str()))
            .expect("the needles build a matcher");
        Needles { items, matcher }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every needle found in `text`, with where (`what`) and a little context.
    pub fn scan(&self, text: &str, what: &str) -> Vec<String> {
        let mut found = BTreeSet::new();
        let hay = text.to_lowercase();
        for m in self.matcher.find_overlapping_iter(&hay) {
            let (needle, kind) = &self.items[m.pattern().as_usize()];
            if *kind == Kind::Word && !whole_word(&hay, m.start(), m.end()) {
                continue;
            }
            found.insert(format!(
                "{what}: {needle:?} in {:?}",
                context(&hay, m.start(), m.end())
            ));
        }
        // Each run is searched on its own, and reported with the text it came from, so
        // a finding says whether it is a leak or a number that happens to contain one.
        for (digits, raw) in number_runs(text) {
            for m in self.matcher.find_overlapping_iter(&digits) {
                let (needle, kind) = &self.items[m.pattern().as_usize()];
                if *kind == Kind::Digits {
                    found.insert(format!("{what}: {needle:?} as a number in {raw:?}"));
                }
            }
        }
        found.into_iter().collect()
    }
}

fn whole_word(hay: &str, start: usize, end: usize) -> bool {
    let before = hay[..start].chars().next_back();
    let after = hay[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

fn context(hay: &str, start: usize, end: usize) -> String {
    let mut a = start.saturating_sub(60);
    while !hay.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (end + 60).min(hay.len());
    while !hay.is_char_boundary(b) {
        b += 1;
    }
    hay[a..b].to_owned()
}

/// Every run of digits and phone punctuation (`+ - ( ) . /` and spaces) of at least
/// seven digits: its digits alone, and the run as written. A decimal (one to three
/// digits, one dot, the rest digits: `51.234567`, a duration in a dependency's trace
/// line) is not a number anyone dials, and is left out.
fn number_runs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut digits = String::new();
    let mut raw = String::new();
    let is_decimal = |raw: &str| {
        raw.split_once('.').is_some_and(|(whole, fraction)| {
            (1..=3).contains(&whole.len())
                && whole.chars().all(|c| c.is_ascii_digit())
                && !fraction.is_empty()
                && fraction.chars().all(|c| c.is_ascii_digit())
        })
    };
    let flush = |digits: &mut String, raw: &mut String, out: &mut Vec<(String, String)>| {
        let run = raw.trim();
        if digits.len() >= 7 && !is_decimal(run) {
            out.push((digits.clone(), run.to_owned()));
        }
        digits.clear();
        raw.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            raw.push(c);
        } else if " +-()./".contains(c) {
            raw.push(c);
        } else {
            flush(&mut digits, &mut raw, &mut out);
        }
    }
    flush(&mut digits, &mut raw, &mut out);
    out
}

/// The needles of the whole suite (built once per process).
pub fn needles() -> &'static Needles {
    static NEEDLES: OnceLock<Needles> = OnceLock::new();
    NEEDLES.get_or_init(|| Needles::build(all_spellings()))
}

fn all_spellings() -> BTreeSet<(String, Kind)> {
    let mut out = BTreeSet::new();
    let ds = genesys_emulator::Dataset::bundled();
    for p in &ds.personas {
        name(&p.name, &mut out);
        for ph in &p.phone_numbers {
            phone(&ph.number, &mut out);
        }
        for e in &p.email_addresses {
            email(e, &mut out);
        }
        for id in p.user_id.iter().chain(p.external_contact_id.iter()) {
            uuid_like(id, &mut out);
        }
    }
    email(crate::DPO, &mut out);
    // The fixture tickets, the hostile corpus and the load subjects.
    let tickets = crate::fixtures().join("tickets");
    for e in std::fs::read_dir(&tickets).into_iter().flatten().flatten() {
        if let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(e.path()).unwrap_or_default())
        {
            ticket_values(&v, &mut out);
        }
    }
    for case in crate::corpus::load() {
        if let Some(v) = case.parsed() {
            ticket_values(&v, &mut out);
        }
        for s in &case.personal_data {
            text(s, &mut out);
        }
    }
    for s in crate::load::subjects(crate::load::MAX_SUBJECTS) {
        name(&s.name, &mut out);
        phone(&s.phone, &mut out);
        email(&s.email, &mut out);
    }
    out
}

/// The identifiers of a ticket document, wherever they sit (a wrong type too).
fn ticket_values(v: &Value, out: &mut BTreeSet<(String, Kind)>) {
    let s = &v["subject"];
    // A ticket has at most 20 phones and e-mails; the corpus's 100,000-entry ones are
    // refused for their count, and their first entries stand for the rest. A 10 MiB
    // name is looked for by its first 100 characters.
    let strings = |v: &Value| -> Vec<String> {
        let clip = |s: &str| s.chars().take(100).collect::<String>();
        match v {
            Value::String(s) => vec![clip(s)],
            Value::Array(a) => a
                .iter()
                .take(25)
                .filter_map(|x| x.as_str().map(clip))
                .collect(),
            _ => Vec::new(),
        }
    };
    for n in strings(&s["name"]) {
        name(&n, out);
    }
    for e in strings(&s["emails"]) {
        email(&e, out);
    }
    for p in s["phones"].as_array().into_iter().flatten().take(25) {
        for n in strings(&p["number"]).into_iter().chain(strings(p)) {
            phone(&n, out);
        }
    }
    for k in ["genesysUserId", "externalContactId"] {
        for id in strings(&s[k]) {
            uuid_like(&id, out);
        }
    }
    for by in strings(&v["ticket"]["signOff"]["by"]) {
        email(&by, out);
    }
}

/// Short or empty strings are words of the messages themselves ("DPO", "a@b").
fn long_enough(s: &str) -> bool {
    s.trim().chars().count() >= 6
}

fn text(s: &str, out: &mut BTreeSet<(String, Kind)>) {
    if long_enough(s) {
        out.insert((s.trim().to_lowercase(), Kind::Text));
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 8 {
        out.insert((digits, Kind::Digits));
    }
}

fn name(n: &str, out: &mut BTreeSet<(String, Kind)>) {
    let folded: String = n.split_whitespace().collect::<Vec<_>>().join(" ");
    if long_enough(&folded) {
        out.insert((folded.to_lowercase(), Kind::Text));
    }
    // The family name alone, as a word ("Walsh", "O'Connor").
    let words: Vec<&str> = folded.split(' ').collect();
    if words.len() > 1
        && let Some(last) = words.last()
        && last.chars().count() >= 4
        && last.chars().all(|c| c.is_alphabetic() || c == '\'')
    {
        out.insert((last.to_lowercase(), Kind::Word));
    }
}

fn email(e: &str, out: &mut BTreeSet<(String, Kind)>) {
    let e = e.trim();
    if !long_enough(e) {
        return;
    }
    let lower = e.to_lowercase();
    out.insert((lower.replace('@', "%40"), Kind::Text));
    if let Some((local, _)) = lower.split_once('@')
        && local.chars().count() >= 6
    {
        // The local part alone ("declan.murphy") gives the person away too.
        out.insert((local.to_owned(), Kind::Text));
    }
    out.insert((lower, Kind::Text));
}

fn uuid_like(id: &str, out: &mut BTreeSet<(String, Kind)>) {
    if long_enough(id) {
        out.insert((id.trim().to_lowercase(), Kind::Text));
        out.insert((id.trim().to_lowercase().replace('-', ""), Kind::Text));
    }
}

fn phone(raw: &str, out: &mut BTreeSet<(String, Kind)>) {
    if long_enough(raw) {
        out.insert((raw.trim().to_lowercase(), Kind::Text));
    }
    let mut digits: BTreeSet<String> = BTreeSet::new();
    let all: String = raw.chars().filter(char::is_ascii_digit).collect();
    digits.insert(all.clone());
    if let Ok(e164) = PhoneE164::parse(raw, None) {
        let e = e164.expose().to_owned();
        out.insert((e.to_lowercase(), Kind::Text));
        out.insert((e.replace('+', "%2b"), Kind::Text));
        digits.insert(e.chars().filter(char::is_ascii_digit).collect());
    }
    // National spellings: without a country code of 1 to 3 digits, bare or with a
    // trunk 0.
    for d in digits.clone() {
        for cc in 1..=3 {
            if d.len() >= cc + 8 {
                digits.insert(d[cc..].to_owned());
                digits.insert(format!("0{}", &d[cc..]));
            }
        }
    }
    for d in digits {
        if d.len() >= 8 {
            out.insert((d, Kind::Digits));
        }
    }
}

/// Every file below `dir`.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Records written through the harness's archive, as stored (canonical bytes).
#[derive(Clone, Default)]
pub struct Written(pub Arc<Mutex<Vec<KeyedBytes>>>);

/// A record's key and its stored bytes.
pub type KeyedBytes = (String, Vec<u8>);

impl Written {
    pub fn take(&self) -> Vec<KeyedBytes> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The archive as the steps see it: the harness's store, every record written also
/// kept for the privacy scan (so an S3 archive's bytes are scanned too).
pub struct Teed {
    pub inner: Arc<dyn archive::Archive>,
    pub written: Written,
}

#[async_trait::async_trait]
impl archive::Archive for Teed {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn retention(&self) -> archive::RetentionPolicy {
        self.inner.retention()
    }
    async fn write(
        &self,
        record: &archive::Record,
    ) -> Result<archive::Receipt, archive::ArchiveError> {
        let r = self.inner.write(record).await;
        if let Ok(receipt) = &r {
            self.written
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((receipt.key.clone(), record.canonical_bytes().to_vec()));
        }
        r
    }
    async fn chain_head(
        &self,
        ticket_id: &str,
    ) -> Result<Option<archive::ChainHead>, archive::ArchiveError> {
        self.inner.chain_head(ticket_id).await
    }
    async fn list(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<archive::ObjectEntry>, archive::ArchiveError> {
        self.inner.list(ticket_id).await
    }
    async fn read(
        &self,
        entry: &archive::ObjectEntry,
    ) -> Result<archive::StoredObject, archive::ArchiveError> {
        self.inner.read(entry).await
    }
    async fn store_problems(&self) -> Result<Vec<String>, archive::ArchiveError> {
        self.inner.store_problems().await
    }
    async fn list_verifications(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<archive::ObjectEntry>, archive::ArchiveError> {
        self.inner.list_verifications(ticket_id).await
    }
    async fn list_annotations(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<archive::ObjectEntry>, archive::ArchiveError> {
        self.inner.list_annotations(ticket_id).await
    }
    async fn write_annotation(
        &self,
        annotation: &archive::annotation::Annotation,
    ) -> Result<archive::Receipt, archive::ArchiveError> {
        self.inner.write_annotation(annotation).await
    }
    async fn list_manifests(&self) -> Result<Vec<archive::ObjectEntry>, archive::ArchiveError> {
        self.inner.list_manifests().await
    }
    async fn write_manifest(
        &self,
        manifest: &archive::manifest::Manifest,
    ) -> Result<archive::Receipt, archive::ArchiveError> {
        self.inner.write_manifest(manifest).await
    }
    async fn write_verification(
        &self,
        verification: &archive::Verification,
    ) -> Result<archive::Receipt, archive::ArchiveError> {
        let r = self.inner.write_verification(verification).await;
        if let Ok(receipt) = &r {
            self.written
                .0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((receipt.key.clone(), verification.canonical_bytes().to_vec()));
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::number_runs;

    #[test]
    fn a_decimal_is_not_a_number_run_and_a_dotted_phone_number_is() {
        let digits = |t: &str| -> Vec<String> { number_runs(t).into_iter().map(|r| r.0).collect() };
        assert!(digits("took 51.234567s").is_empty());
        assert_eq!(digits("call 083.456.7890"), ["0834567890"]);
        assert_eq!(digits("+353 83 456 7890"), ["353834567890"]);
        assert_eq!(
            digits("0834.567890"),
            ["0834567890"],
            "four digits before the dot"
        );
    }
}
