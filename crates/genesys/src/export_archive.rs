//! Reading a GDPR export archive (live-tenants.md section 3): a ZIP of flat
//! `<service>!<identifier>` entries holding the subject's own content (audio,
//! transcripts, e-mail bodies). Only ids and counts come out of it; no content is kept
//! or logged.
//!
//! The archive comes from outside, so nothing in it is trusted: the entry count is
//! checked against the end-of-central-directory record before the central directory is
//! read, every entry is decompressed through a `take()` bound (declared sizes are
//! ignored), each entry's compression ratio and the archive's total uncompressed bytes
//! are capped, and a name that could escape a folder (`..`, absolute, backslash, NUL,
//! drive letter) is refused. Any of these is an [`ArchiveProblem`]: a precise error,
//! never an allocation the size of the bomb.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

use serde::Deserialize;

use crate::Pii;

/// Hard limits on one archive. Defaults sit well above what live archives showed (the
/// largest had 37,194 entries, 96-99% of them ~600-byte analytics receipts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Bytes the downloaded archive may have.
    pub max_archive_bytes: u64,
    /// Entries one archive may have.
    pub max_entries: u64,
    /// Uncompressed bytes of all entries together.
    pub max_total_uncompressed: u64,
    /// Uncompressed bytes of one entry.
    pub max_entry_uncompressed: u64,
    /// Uncompressed bytes per compressed byte of one entry (past a small floor).
    pub max_ratio: u64,
    /// Bytes of one entry that is parsed (an analytics receipt, an external contact).
    pub max_parsed_entry: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_archive_bytes: 2 << 30,
            max_entries: 200_000,
            max_total_uncompressed: 8 << 30,
            max_entry_uncompressed: 1 << 30,
            max_ratio: 100,
            max_parsed_entry: 1 << 20,
        }
    }
}

/// Entries smaller than this are never a bomb, whatever their ratio (a 27-byte Opus
/// header stored in 40 bytes, a receipt of repeated spaces).
const RATIO_FLOOR: u64 = 64 * 1024;

/// Why an archive was refused. Messages name the entry by its index and prefix only
/// (an entry name carries an identifier: a conversation id at best, an e-mail at worst).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveProblem {
    /// Not a ZIP, a broken central directory, a CRC mismatch, a truncated entry.
    #[error("the archive is not a readable ZIP: {0}")]
    Malformed(String),
    /// More entries than [`ArchiveLimits::max_entries`].
    #[error("the archive has {found} entries or more, the limit is {limit}")]
    TooManyEntries {
        /// Entries announced.
        found: u64,
        /// The limit.
        limit: u64,
    },
    /// The download is larger than [`ArchiveLimits::max_archive_bytes`].
    #[error("the archive is larger than {limit} bytes")]
    ArchiveTooLarge {
        /// The limit.
        limit: u64,
    },
    /// An entry decompresses past its ratio or size limit (a ZIP bomb).
    #[error("entry {index} ({prefix}) decompresses past {limit} bytes ({why})")]
    EntryTooLarge {
        /// Position in the central directory.
        index: usize,
        /// The entry's service prefix.
        prefix: String,
        /// The bound that was hit.
        limit: u64,
        /// Which limit.
        why: &'static str,
    },
    /// All entries together decompress past [`ArchiveLimits::max_total_uncompressed`].
    #[error("the archive decompresses past {limit} bytes in total")]
    TotalTooLarge {
        /// The limit.
        limit: u64,
    },
    /// A name that could write outside a folder, or is not text.
    #[error("entry {index} has a hostile name ({why})")]
    HostileName {
        /// Position in the central directory.
        index: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An entry the catalogue must read (an analytics receipt, an external contact)
    /// is not what live archives hold.
    #[error("entry {index} ({prefix}) is unreadable: {why}")]
    UnreadableEntry {
        /// Position in the central directory.
        index: usize,
        /// The entry's service prefix.
        prefix: String,
        /// What did not parse (never content).
        why: String,
    },
}

/// One recording listed in an archive.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArchivedRecording {
    /// Conversation id from the entry name.
    pub conversation_id: String,
    /// Recording id from the entry name.
    pub recording_id: String,
}

/// What one or more archives of an export hold: ids and counts, no content.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExportCatalog {
    /// Archives read.
    pub archives: u32,
    /// Entries read.
    pub entries: u64,
    /// Their uncompressed bytes, as counted while reading.
    pub uncompressed_bytes: u64,
    /// Conversation ids: analytics receipts of conversation topics, recordings,
    /// surveys, e-mail routing entries.
    pub conversation_ids: BTreeSet<String>,
    /// Recordings by entry name.
    pub recordings: BTreeSet<ArchivedRecording>,
    /// Ids of the external contacts exported (`contacts-service!externalContact*`).
    pub external_contact_ids: BTreeSet<Pii<String>>,
    /// Entries per known service prefix (`analytics`, `recording`, ...).
    pub by_prefix: BTreeMap<String, u64>,
    /// Entries per prefix this reader does not know: counted, never dropped, so a new
    /// kind of entry is seen.
    pub unknown_prefixes: BTreeMap<String, u64>,
    /// Analytics receipts per topic.
    pub analytics_topics: BTreeMap<String, u64>,
}

impl fmt::Debug for ExportCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportCatalog")
            .field("archives", &self.archives)
            .field("entries", &self.entries)
            .field("uncompressed_bytes", &self.uncompressed_bytes)
            .field("conversations", &self.conversation_ids.len())
            .field("recordings", &self.recordings.len())
            .field("external_contacts", &self.external_contact_ids.len())
            .field("by_prefix", &self.by_prefix)
            .field("unknown_prefixes", &self.unknown_prefixes)
            .field("analytics_topics", &self.analytics_topics)
            .finish()
    }
}

/// The service prefixes live archives hold (live-tenants.md section 3).
pub const KNOWN_PREFIXES: &[&str] = &[
    "analytics",
    "recording",
    "contacts-service",
    "journey-session-store",
    "quality",
    "billing-service",
    "venue",
    "auth-api",
    "postino-service",
    "REALTIME",
    "sta-transcript-outliner",
    "gamification-service",
];

impl ExportCatalog {
    /// Reads one archive into the catalogue. On error the catalogue may hold part of
    /// the archive: the caller discards it.
    pub fn read_archive<R: Read + Seek>(
        &mut self,
        mut reader: R,
        limits: &ArchiveLimits,
    ) -> Result<(), ArchiveProblem> {
        check_announced_entries(&mut reader, limits)?;
        let mut zip =
            zip::ZipArchive::new(reader).map_err(|e| ArchiveProblem::Malformed(zip_error(&e)))?;
        let count = zip.len() as u64;
        if count > limits.max_entries {
            return Err(ArchiveProblem::TooManyEntries {
                found: count,
                limit: limits.max_entries,
            });
        }
        self.archives += 1;
        for index in 0..zip.len() {
            let entry = zip
                .by_index(index)
                .map_err(|e| ArchiveProblem::Malformed(zip_error(&e)))?;
            let name = checked_name(index, entry.name_raw())?;
            if entry.is_dir() {
                // Live archives are flat: a folder is counted as an unknown kind.
                *self.unknown_prefixes.entry("(folder)".into()).or_default() += 1;
                self.entries += 1;
                continue;
            }
            let compressed = entry.compressed_size();
            let (prefix, rest) = match name.split_once('!') {
                Some((p, r)) => (p.to_owned(), r.to_owned()),
                None => (String::new(), name.clone()),
            };
            let remaining_total = limits
                .max_total_uncompressed
                .saturating_sub(self.uncompressed_bytes);
            let bound = EntryBound::new(index, &prefix, compressed, remaining_total, limits);
            let parse = wants_content(&prefix, &rest);
            let (read, content) = bound.read(entry, parse.then_some(limits.max_parsed_entry))?;
            self.entries += 1;
            self.uncompressed_bytes += read;
            self.catalogue(index, &prefix, &rest, content.as_deref())?;
        }
        Ok(())
    }

    fn catalogue(
        &mut self,
        index: usize,
        prefix: &str,
        rest: &str,
        content: Option<&[u8]>,
    ) -> Result<(), ArchiveProblem> {
        if !KNOWN_PREFIXES.contains(&prefix) {
            let key = if prefix.is_empty() { "(none)" } else { prefix };
            *self.unknown_prefixes.entry(key.to_owned()).or_default() += 1;
            return Ok(());
        }
        *self.by_prefix.entry(prefix.to_owned()).or_default() += 1;
        let unreadable = |why: String| ArchiveProblem::UnreadableEntry {
            index,
            prefix: prefix.to_owned(),
            why,
        };
        match prefix {
            "analytics" => {
                let receipt: AnalyticsReceipt = serde_json::from_slice(content.unwrap_or(&[]))
                    .map_err(|e| {
                        unreadable(format!("not an analytics receipt ({})", e.classify_name()))
                    })?;
                let topic = receipt.topic.unwrap_or_default();
                if is_conversation_topic(&topic) {
                    let id = receipt
                        .external_id
                        .filter(|s| !s.trim().is_empty())
                        .ok_or_else(|| {
                            unreadable(format!("a {topic} receipt has no externalId"))
                        })?;
                    self.conversation_ids.insert(id);
                }
                let key = if topic.is_empty() {
                    "(none)".to_owned()
                } else {
                    topic
                };
                *self.analytics_topics.entry(key).or_default() += 1;
            }
            "recording" => match recording_ids(rest) {
                Some(r) => {
                    self.conversation_ids.insert(r.conversation_id.clone());
                    self.recordings.insert(r);
                }
                None => {
                    *self
                        .unknown_prefixes
                        .entry("recording (unparsed name)".into())
                        .or_default() += 1;
                }
            },
            "quality" => {
                if let Some(cid) = rest
                    .strip_prefix("Survey_Conv_")
                    .and_then(|r| r.strip_suffix(".json"))
                {
                    self.conversation_ids.insert(cid.to_owned());
                }
            }
            "postino-service" => {
                self.conversation_ids.insert(rest.to_owned());
            }
            "contacts-service" if rest.starts_with("externalContact") => {
                let contact: ContactEntry = serde_json::from_slice(content.unwrap_or(&[]))
                    .map_err(|e| {
                        unreadable(format!("not an external contact ({})", e.classify_name()))
                    })?;
                let id = contact
                    .id
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| unreadable("an external contact has no id".into()))?;
                self.external_contact_ids.insert(Pii::new(id));
            }
            _ => {}
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnalyticsReceipt {
    #[serde(default, alias = "topicName")]
    topic: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct ContactEntry {
    #[serde(default)]
    id: Option<String>,
}

/// Topics whose `externalId` is a conversation id (`ConversationEvent`,
/// `TranscriptsEvent`, ...); user activity and other topics are counted only.
fn is_conversation_topic(topic: &str) -> bool {
    let t = topic.to_ascii_lowercase();
    t.contains("conversation") || t.contains("transcript")
}

/// The entries whose content the catalogue reads (bounded); all others are drained.
fn wants_content(prefix: &str, rest: &str) -> bool {
    prefix == "analytics" || (prefix == "contacts-service" && rest.starts_with("externalContact"))
}

/// `Recording_Conv_<conversationId>_Rec_<recordingId>.<ext>`.
fn recording_ids(rest: &str) -> Option<ArchivedRecording> {
    let body = rest.strip_prefix("Recording_Conv_")?;
    let (conv, tail) = body.split_once("_Rec_")?;
    let rec = tail.rsplit_once('.').map_or(tail, |(r, _)| r);
    (!conv.is_empty() && !rec.is_empty()).then(|| ArchivedRecording {
        conversation_id: conv.to_owned(),
        recording_id: rec.to_owned(),
    })
}

/// The entry's name, refused when it could escape a folder or is not text.
fn checked_name(index: usize, raw: &[u8]) -> Result<String, ArchiveProblem> {
    let hostile = |why| ArchiveProblem::HostileName { index, why };
    if raw.is_empty() {
        return Err(hostile("empty"));
    }
    if raw.contains(&0) {
        return Err(hostile("NUL byte"));
    }
    let name = std::str::from_utf8(raw).map_err(|_| hostile("not UTF-8"))?;
    if name.contains('\\') {
        return Err(hostile("backslash"));
    }
    if name.starts_with('/') {
        return Err(hostile("absolute path"));
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Err(hostile("drive letter"));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(hostile("parent-directory component"));
    }
    if name.chars().any(char::is_control) {
        return Err(hostile("control character"));
    }
    Ok(name.to_owned())
}

/// How far one entry may decompress.
struct EntryBound<'a> {
    index: usize,
    prefix: &'a str,
    limit: u64,
    why: &'static str,
    total_left: u64,
}

impl<'a> EntryBound<'a> {
    fn new(
        index: usize,
        prefix: &'a str,
        compressed: u64,
        total_left: u64,
        limits: &ArchiveLimits,
    ) -> Self {
        let by_ratio = compressed.saturating_mul(limits.max_ratio).max(RATIO_FLOOR);
        let (limit, why) = if by_ratio < limits.max_entry_uncompressed {
            (by_ratio, "compression ratio")
        } else {
            (limits.max_entry_uncompressed, "entry size")
        };
        EntryBound {
            index,
            prefix,
            limit,
            why,
            total_left,
        }
    }

    /// Decompresses the entry through `take()`: its bytes counted, its CRC checked by
    /// the reader at the end, the first `keep` bytes returned when asked for.
    fn read<R: Read>(
        &self,
        entry: R,
        keep: Option<u64>,
    ) -> Result<(u64, Option<Vec<u8>>), ArchiveProblem> {
        let cap = self.limit.min(self.total_left);
        let mut limited = entry.take(cap.saturating_add(1));
        let (read, kept) = match keep {
            Some(max) => {
                let mut buf = Vec::new();
                let n = (&mut limited)
                    .take(max.saturating_add(1))
                    .read_to_end(&mut buf)
                    .map_err(|e| self.io_problem(&e))? as u64;
                if n > max {
                    return Err(ArchiveProblem::EntryTooLarge {
                        index: self.index,
                        prefix: self.prefix.to_owned(),
                        limit: max,
                        why: "parsed entry size",
                    });
                }
                // Past `max` nothing is left unless the entry is larger: drain to check.
                let more =
                    io::copy(&mut limited, &mut io::sink()).map_err(|e| self.io_problem(&e))?;
                (n + more, Some(buf))
            }
            None => (
                io::copy(&mut limited, &mut io::sink()).map_err(|e| self.io_problem(&e))?,
                None,
            ),
        };
        if read > cap {
            if cap == self.total_left && self.total_left < self.limit {
                return Err(ArchiveProblem::TotalTooLarge {
                    limit: self.total_left,
                });
            }
            return Err(ArchiveProblem::EntryTooLarge {
                index: self.index,
                prefix: self.prefix.to_owned(),
                limit: self.limit,
                why: self.why,
            });
        }
        Ok((read, kept))
    }

    fn io_problem(&self, e: &io::Error) -> ArchiveProblem {
        ArchiveProblem::Malformed(format!(
            "entry {} ({}) cannot be decompressed: {}",
            self.index,
            self.prefix,
            io_kind(e)
        ))
    }
}

/// The entry count the end-of-central-directory record announces, checked before the
/// central directory is read (a forged directory of millions of entries would
/// otherwise be allocated first). A central directory larger than `max_entries`
/// minimal records is refused the same way.
fn check_announced_entries<R: Read + Seek>(
    reader: &mut R,
    limits: &ArchiveLimits,
) -> Result<(), ArchiveProblem> {
    let len = reader
        .seek(SeekFrom::End(0))
        .map_err(|e| ArchiveProblem::Malformed(io_kind(&e)))?;
    let tail_len = len.min(22 + 65_535);
    reader
        .seek(SeekFrom::Start(len - tail_len))
        .map_err(|e| ArchiveProblem::Malformed(io_kind(&e)))?;
    let mut tail = vec![0u8; usize::try_from(tail_len).unwrap_or(0)];
    reader
        .read_exact(&mut tail)
        .map_err(|e| ArchiveProblem::Malformed(io_kind(&e)))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| ArchiveProblem::Malformed(io_kind(&e)))?;
    let Some(at) = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
    else {
        return Err(ArchiveProblem::Malformed(
            "no end-of-central-directory record".into(),
        ));
    };
    let u16_at = |o: usize| u64::from(u16::from_le_bytes([tail[at + o], tail[at + o + 1]]));
    let u32_at = |o: usize| {
        u64::from(u32::from_le_bytes([
            tail[at + o],
            tail[at + o + 1],
            tail[at + o + 2],
            tail[at + o + 3],
        ]))
    };
    let entries = u16_at(10);
    let directory_bytes = u32_at(12);
    // ZIP64 puts 0xFFFF here; then the directory's size bounds the count (46 bytes is
    // the smallest directory record), and the count read later is checked again.
    let announced = match (entries, directory_bytes) {
        (0xFFFF, 0xFFFF_FFFF) => None,
        (0xFFFF, bytes) => Some(bytes / 46),
        (n, _) => Some(n),
    };
    match announced {
        Some(found) if found > limits.max_entries => Err(ArchiveProblem::TooManyEntries {
            found,
            limit: limits.max_entries,
        }),
        _ => Ok(()),
    }
}

fn io_kind(e: &io::Error) -> String {
    // The message of an io error from a decompressor names no content.
    format!("{:?}: {e}", e.kind())
}

fn zip_error(e: &zip::result::ZipError) -> String {
    e.to_string()
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}
