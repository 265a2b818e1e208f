//! The local-directory backend: the demo's and `run`'s archive.
//!
//! Layout under the root directory:
//!
//! ```text
//! records/<ticket id>/<writtenAt>-<OUTCOME>.json        canonical record bytes, read-only
//! records/<ticket id>/<writtenAt>-<OUTCOME>.json.meta   sidecar: digest, checksum, lock asked for
//! .staging/                                             files being written (never records)
//! ```
//!
//! A file appears at its final name only complete: it is staged, synced and made
//! read-only, then hard-linked into place, and `link(2)` fails when the name exists, so
//! a name is created exactly once. A directory cannot enforce retention the way S3
//! Object Lock does; read-only files, the sidecar and `audit verify` make any change
//! visible instead.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::canonical::checksum_sha256_base64;
use crate::chain;
use crate::error::ArchiveError;
use crate::key::{self, ANNOTATIONS_DIR, MANIFESTS_DIR, RECORDS_DIR, VERIFICATIONS_DIR};
use crate::manifest::Manifest;
use crate::record::Record;
use crate::retention::RetentionPolicy;
use crate::verification::Verification;
use crate::{Archive, ObjectEntry, Receipt, StoredLock, StoredObject};

const SIDECAR_SUFFIX: &str = ".meta";
const STAGING_DIR: &str = ".staging";
const SIDECAR_SCHEMA: &str = "gdpr-erasure/local-archive-sidecar/v1";

static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What the local backend keeps beside each record, standing in for S3's checksum,
/// metadata and Object Lock fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Sidecar {
    schema: String,
    key: String,
    digest: String,
    checksum_sha256: String,
    lock: SidecarLock,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SidecarLock {
    mode: String,
    retain_until: String,
}

/// A directory of read-only record files.
#[derive(Debug)]
pub struct LocalArchive {
    root: PathBuf,
    policy: RetentionPolicy,
    // One writer at a time within the process, so two records of one ticket cannot
    // both pass the chain check and fork it.
    write_lock: tokio::sync::Mutex<()>,
}

impl LocalArchive {
    /// An archive rooted at `root`. Nothing is touched until the first write, which
    /// creates the directory; reading a missing directory is an error.
    pub fn new(root: impl Into<PathBuf>, policy: RetentionPolicy) -> Self {
        Self {
            root: root.into(),
            policy,
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> PathBuf {
        let mut p = self.root.clone();
        p.extend(key.split('/'));
        p
    }

    fn io_error(&self, operation: &str, what: &str, e: io::Error) -> ArchiveError {
        let detail = format!("{what} in {}: {e}", self.root.display());
        match e.kind() {
            io::ErrorKind::PermissionDenied | io::ErrorKind::NotFound => {
                ArchiveError::misconfigured(detail)
            }
            _ => ArchiveError::ArchiveUnavailable {
                operation: operation.to_owned(),
                detail,
            },
        }
    }

    fn read_sidecar(&self, key: &str) -> Result<Option<Sidecar>, String> {
        let path = self.path_of(&format!("{key}{SIDECAR_SUFFIX}"));
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Sidecar>(&bytes)
                .map(Some)
                .map_err(|e| format!("sidecar is not readable: {e}")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("sidecar cannot be read: {e}")),
        }
    }

    /// Writes `bytes` to `key` exactly once: staged, synced, read-only, then linked.
    /// Returns `false` when the name already existed (nothing written).
    fn create_once(&self, key: &str, bytes: &[u8]) -> Result<bool, ArchiveError> {
        let staging = self.root.join(STAGING_DIR);
        fs::create_dir_all(&staging)
            .map_err(|e| self.io_error("write", "cannot create the staging folder", e))?;
        let (staged_path, mut file) = loop {
            let n = STAGING_COUNTER.fetch_add(1, Ordering::Relaxed);
            let p = staging.join(format!("{}-{n}.tmp", std::process::id()));
            match fs::OpenOptions::new().write(true).create_new(true).open(&p) {
                Ok(f) => break (p, f),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(self.io_error("write", "cannot stage a file", e)),
            }
        };
        let staged = (|| {
            file.write_all(bytes)?;
            file.sync_all()?;
            let mut perms = file.metadata()?.permissions();
            perms.set_readonly(true);
            fs::set_permissions(&staged_path, perms)
        })();
        drop(file);
        let result = staged
            .map_err(|e| self.io_error("write", "cannot stage a file", e))
            .and_then(|()| {
                let target = self.path_of(key);
                match fs::hard_link(&staged_path, &target) {
                    Ok(()) => {
                        if let Some(dir) = target.parent() {
                            // Make the new name durable before answering.
                            let _ = fs::File::open(dir).and_then(|d| d.sync_all());
                        }
                        Ok(true)
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(self.io_error("write", &format!("cannot create {key}"), e)),
                }
            });
        let _ = fs::remove_file(&staged_path);
        result
    }

    fn sidecar_for(
        &self,
        key: &str,
        bytes: &[u8],
        digest: &str,
        retain_until: DateTime<Utc>,
    ) -> Sidecar {
        Sidecar {
            schema: SIDECAR_SCHEMA.to_owned(),
            key: key.to_owned(),
            digest: digest.to_owned(),
            checksum_sha256: checksum_sha256_base64(bytes),
            lock: SidecarLock {
                mode: "COMPLIANCE".to_owned(),
                retain_until: retain_until.to_rfc3339_opts(SecondsFormat::Millis, true),
            },
        }
    }

    /// Writes the sidecar if it is missing (a write interrupted between the record and
    /// its sidecar is completed by the retry); refuses a sidecar that says otherwise.
    fn ensure_sidecar(&self, sidecar: &Sidecar) -> Result<(), ArchiveError> {
        let key = format!("{}{SIDECAR_SUFFIX}", sidecar.key);
        let bytes = serde_json::to_vec_pretty(sidecar)
            .map_err(|e| ArchiveError::invalid(format!("sidecar: {e}")))?;
        if self.create_once(&key, &bytes)? {
            return Ok(());
        }
        match self.read_sidecar(&sidecar.key) {
            Ok(Some(existing)) if existing.digest == sidecar.digest => Ok(()),
            Ok(Some(existing)) => Err(ArchiveError::corrupt(
                &key,
                format!(
                    "sidecar names digest {} but the record is {}",
                    existing.digest, sidecar.digest
                ),
            )),
            Ok(None) => Err(ArchiveError::corrupt(
                &key,
                "sidecar vanished while writing",
            )),
            Err(e) => Err(ArchiveError::corrupt(&key, e)),
        }
    }

    fn list_sync(&self, ticket_id: Option<&str>) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_dir(RECORDS_DIR, ticket_id)
    }

    /// Every object of `dir` (records or verifications), or one ticket's.
    fn list_dir(
        &self,
        dir: &str,
        ticket_id: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ArchiveError> {
        if let Some(t) = ticket_id {
            key::validate_ticket_id(t)?;
        }
        match fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(ArchiveError::misconfigured(format!(
                    "{} is not a directory",
                    self.root.display()
                )));
            }
            Err(e) => {
                return Err(ArchiveError::misconfigured(format!(
                    "no archive at {}: {e}",
                    self.root.display()
                )));
            }
        }
        let records = self.root.join(dir);
        let folders: Vec<(String, PathBuf)> = match ticket_id {
            Some(t) => vec![(t.to_owned(), records.join(t))],
            None => match read_dir_names(&records) {
                Ok(names) => names
                    .into_iter()
                    .map(|n| (n.clone(), records.join(n)))
                    .collect(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(self.io_error("list", "cannot list records", e)),
            },
        };
        let mut entries = Vec::new();
        for (folder, path) in folders {
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io_error("list", "cannot list records", e)),
            };
            let folder_problem = if key::validate_ticket_id(&folder).is_err() {
                Some("the folder name is not a ticket id".to_owned())
            } else if meta.file_type().is_symlink() {
                Some("the ticket folder is a symbolic link; it is not followed".to_owned())
            } else if !meta.is_dir() {
                Some("a file where a ticket folder belongs".to_owned())
            } else {
                None
            };
            if let Some(problem) = folder_problem {
                entries.push(ObjectEntry {
                    key: format!("{dir}/{folder}"),
                    ticket_folder: folder,
                    file_name: String::new(),
                    version_id: None,
                    anomalies: vec![problem],
                });
                continue;
            }
            let names = read_dir_names(&path)
                .map_err(|e| self.io_error("list", "cannot list a ticket folder", e))?;
            for name in &names {
                let key = format!("{dir}/{folder}/{name}");
                let mut anomalies = Vec::new();
                if let Some(record_name) = name.strip_suffix(SIDECAR_SUFFIX) {
                    if !names.iter().any(|n| n == record_name) {
                        anomalies.push("a sidecar without its record".to_owned());
                    } else {
                        continue; // read together with its record
                    }
                } else if !key::is_file_name_in(dir, name) {
                    anomalies.push(format!(
                        "the file name is not <writtenAt>-<{}>.json: not a document the archive wrote",
                        key::tag_of(dir)
                    ));
                } else if fs::symlink_metadata(path.join(name))
                    .map(|m| !m.file_type().is_file())
                    .unwrap_or(true)
                {
                    anomalies.push("not a regular file; it is not followed".to_owned());
                }
                entries.push(ObjectEntry {
                    key,
                    ticket_folder: folder.clone(),
                    file_name: name.clone(),
                    version_id: None,
                    anomalies,
                });
            }
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }

    fn read_sync(&self, entry: &ObjectEntry) -> Result<StoredObject, ArchiveError> {
        // Only names the listing produced and the layout allows: never a path built
        // from anything else.
        key::validate_ticket_id(&entry.ticket_folder)?;
        let dir = [VERIFICATIONS_DIR, MANIFESTS_DIR, ANNOTATIONS_DIR]
            .into_iter()
            .find(|d| entry.key.starts_with(&format!("{d}/")))
            .unwrap_or(RECORDS_DIR);
        if !key::is_file_name_in(dir, &entry.file_name) {
            return Err(ArchiveError::RecordNotFound {
                key: entry.key.clone(),
            });
        }
        let key = format!("{dir}/{}/{}", entry.ticket_folder, entry.file_name);
        let path = self.path_of(&key);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => m,
            Ok(_) => return Err(ArchiveError::corrupt(&key, "not a regular file")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ArchiveError::RecordNotFound { key });
            }
            Err(e) => return Err(self.io_error("read", &format!("cannot read {key}"), e)),
        };
        let bytes =
            fs::read(&path).map_err(|e| self.io_error("read", &format!("cannot read {key}"), e))?;
        let mut protection_problems = Vec::new();
        if !meta.permissions().readonly() {
            protection_problems.push("the record file is writable".to_owned());
        }
        let (recorded_digest, recorded_checksum_sha256, lock) = match self.read_sidecar(&key) {
            Ok(Some(s)) => {
                if s.key != key {
                    protection_problems
                        .push(format!("the sidecar describes another key ({})", s.key));
                }
                if s.schema != SIDECAR_SCHEMA {
                    protection_problems
                        .push(format!("the sidecar has an unknown schema ({})", s.schema));
                }
                let retain_until = DateTime::parse_from_rfc3339(&s.lock.retain_until)
                    .ok()
                    .map(|d| d.with_timezone(&Utc));
                if retain_until.is_none() {
                    protection_problems
                        .push("the sidecar's retainUntil is not a date-time".to_owned());
                }
                let sidecar_meta =
                    fs::symlink_metadata(self.path_of(&format!("{key}{SIDECAR_SUFFIX}")));
                if sidecar_meta
                    .map(|m| !m.permissions().readonly())
                    .unwrap_or(false)
                {
                    protection_problems.push("the sidecar file is writable".to_owned());
                }
                (
                    Some(s.digest),
                    Some(s.checksum_sha256),
                    StoredLock {
                        mode: Some(s.lock.mode),
                        retain_until,
                    },
                )
            }
            Ok(None) => {
                protection_problems
                    .push("no sidecar: digest, checksum and lock were not recorded".to_owned());
                (None, None, StoredLock::default())
            }
            Err(e) => {
                protection_problems.push(e);
                (None, None, StoredLock::default())
            }
        };
        Ok(StoredObject {
            key,
            version_id: None,
            bytes,
            recorded_digest,
            recorded_checksum_sha256,
            lock,
            protection_problems,
        })
    }
}

fn read_dir_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        // A name that is not UTF-8 cannot be a key the archive wrote; keep it visible.
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

// The local backend uses blocking std::fs calls on small files: it serves the demo
// and single-ticket runs, where a short block of the runtime thread costs nothing.
#[async_trait]
impl Archive for LocalArchive {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn retention(&self) -> RetentionPolicy {
        self.policy
    }

    async fn write(&self, record: &Record) -> Result<Receipt, ArchiveError> {
        let _guard = self.write_lock.lock().await;
        let doc = Doc {
            key: format!("{RECORDS_DIR}/{}", key::relative_key(record.view())?),
            ticket: &record.view().ticket_id,
            bytes: record.canonical_bytes(),
            digest: record.digest(),
            retain_until: chain::lock_until(self.policy, record),
        };
        self.write_doc(doc, async {
            let head = chain::head(self, &record.view().ticket_id).await?;
            chain::check_extends(head.as_ref(), record)
        })
        .await
    }

    async fn write_verification(&self, v: &Verification) -> Result<Receipt, ArchiveError> {
        let _guard = self.write_lock.lock().await;
        let doc = Doc {
            key: key::verification_key(v.view())?,
            ticket: &v.view().ticket_id,
            bytes: v.canonical_bytes(),
            digest: v.digest(),
            retain_until: chain::verification_lock_until(self.policy, v),
        };
        self.write_doc(doc, chain::check_verification_extends(self, v))
            .await
    }

    async fn write_manifest(&self, m: &Manifest) -> Result<Receipt, ArchiveError> {
        let _guard = self.write_lock.lock().await;
        let view = m.view();
        let doc = Doc {
            key: crate::manifest::manifest_key(view),
            ticket: crate::manifest::CHECKPOINTS,
            bytes: m.canonical_bytes(),
            digest: m.digest(),
            retain_until: chain::lock_for(
                self.policy,
                view.written_at,
                view.retention.retain_until,
            ),
        };
        self.write_doc(doc, chain::check_manifest_extends(self, m))
            .await
    }

    async fn list_annotations(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_dir(ANNOTATIONS_DIR, ticket_id)
    }

    async fn write_annotation(
        &self,
        a: &crate::annotation::Annotation,
    ) -> Result<Receipt, ArchiveError> {
        let _guard = self.write_lock.lock().await;
        let view = a.view();
        let doc = Doc {
            key: crate::annotation::annotation_key(view),
            ticket: &view.ticket_id,
            bytes: a.canonical_bytes(),
            digest: a.digest(),
            retain_until: chain::lock_for(
                self.policy,
                view.written_at,
                view.retention.retain_until,
            ),
        };
        self.write_doc(doc, chain::check_annotation_extends(self, a))
            .await
    }

    async fn list_manifests(&self) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_dir(MANIFESTS_DIR, Some(crate::manifest::CHECKPOINTS))
    }

    async fn list(&self, ticket_id: Option<&str>) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_sync(ticket_id)
    }

    async fn list_verifications(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_dir(VERIFICATIONS_DIR, ticket_id)
    }

    async fn read(&self, entry: &ObjectEntry) -> Result<StoredObject, ArchiveError> {
        self.read_sync(entry)
    }
}

/// A document about to be written: a record or a verification.
struct Doc<'a> {
    key: String,
    ticket: &'a str,
    bytes: &'a [u8],
    digest: &'a str,
    retain_until: DateTime<Utc>,
}

impl LocalArchive {
    /// Writes `doc` once (the caller holds the write lock): an identical document at
    /// the key is answered as a repeat; otherwise `extends` must hold first.
    async fn write_doc(
        &self,
        doc: Doc<'_>,
        extends: impl std::future::Future<Output = Result<(), ArchiveError>>,
    ) -> Result<Receipt, ArchiveError> {
        let Doc {
            key,
            ticket,
            bytes,
            digest,
            retain_until,
        } = doc;
        let sidecar = self.sidecar_for(&key, bytes, digest, retain_until);
        let dir = key.split('/').next().unwrap_or(RECORDS_DIR);
        fs::create_dir_all(self.path_of(&format!("{dir}/{ticket}")))
            .map_err(|e| self.io_error("write", "cannot create the ticket folder", e))?;
        let existing = |this: &Self| -> Result<Receipt, ArchiveError> {
            let entry = ObjectEntry {
                key: key.clone(),
                ticket_folder: ticket.to_owned(),
                file_name: key.rsplit('/').next().unwrap_or_default().to_owned(),
                version_id: None,
                anomalies: Vec::new(),
            };
            let stored = this.read_sync(&entry)?;
            let receipt = chain::existing_answer(digest, &stored, retain_until)?;
            this.ensure_sidecar(&sidecar)?;
            Ok(receipt)
        };
        if self.path_of(&key).symlink_metadata().is_ok() {
            return existing(self);
        }
        extends.await?;
        if !self.create_once(&key, bytes)? {
            return existing(self);
        }
        self.ensure_sidecar(&sidecar)?;
        Ok(Receipt {
            key,
            version_id: None,
            digest: digest.to_owned(),
            retain_until,
            already_present: false,
        })
    }
}

/// The sidecar's digest must match the bytes; exposed for tests of tampering.
#[cfg(test)]
pub(crate) fn sidecar_path(root: &Path, key: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(format!("{key}{SIDECAR_SUFFIX}").split('/'));
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canonical::digest_of;
    use serde_json::Value;

    const COMPLETED: &str = include_str!("../../../schemas/examples/completed.json");

    fn record() -> Record {
        Record::from_json(COMPLETED.as_bytes()).expect("valid")
    }

    #[tokio::test]
    async fn writes_canonical_read_only_file_with_sidecar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
        let r = record();
        let receipt = archive.write(&r).await.expect("written");
        assert_eq!(
            receipt.key,
            "records/DSAR-2026-0042/20261122T114210.512Z-COMPLETED.json"
        );
        assert!(!receipt.already_present);
        assert_eq!(receipt.digest, r.digest());
        let path = dir.path().join(&receipt.key);
        assert_eq!(fs::read(&path).expect("read"), r.canonical_bytes());
        assert!(fs::metadata(&path).expect("meta").permissions().readonly());
        let sidecar: Value = serde_json::from_slice(
            &fs::read(sidecar_path(dir.path(), &receipt.key)).expect("sidecar"),
        )
        .expect("json");
        assert_eq!(sidecar["digest"], r.digest());
        assert_eq!(sidecar["lock"]["mode"], "COMPLIANCE");
        assert_eq!(sidecar["lock"]["retainUntil"], "2033-11-22T11:42:10.512Z");
        assert_eq!(digest_of(&fs::read(&path).expect("read")), r.digest());
    }

    #[tokio::test]
    async fn missing_sidecar_is_restored_by_a_retry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
        let r = record();
        let first = archive.write(&r).await.expect("written");
        let sidecar = sidecar_path(dir.path(), &first.key);
        let mut perms = fs::metadata(&sidecar).expect("meta").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&sidecar, perms).expect("chmod");
        fs::remove_file(&sidecar).expect("rm");
        let again = archive.write(&r).await.expect("retry");
        assert!(again.already_present);
        assert!(sidecar.exists());
    }

    #[tokio::test]
    async fn reading_a_missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = LocalArchive::new(dir.path().join("nope"), RetentionPolicy::default());
        let err = archive.list(None).await.unwrap_err();
        assert_eq!(err.name(), "ArchiveMisconfigured");
        assert!(err.to_string().contains("no archive at"), "{err}");
    }

    #[tokio::test]
    async fn bad_ticket_ids_never_become_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = LocalArchive::new(dir.path(), RetentionPolicy::default());
        for bad in ["..", "../x", "a/b", "/etc"] {
            assert_eq!(
                archive.list(Some(bad)).await.unwrap_err().name(),
                "RecordInvalid"
            );
            assert_eq!(
                archive.chain_head(bad).await.unwrap_err().name(),
                "RecordInvalid"
            );
        }
        let entry = ObjectEntry {
            key: "records/../../etc/passwd".into(),
            ticket_folder: "..".into(),
            file_name: "20261122T114210.512Z-COMPLETED.json".into(),
            version_id: None,
            anomalies: vec![],
        };
        assert!(archive.read(&entry).await.is_err());
    }
}
