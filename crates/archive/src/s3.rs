//! The S3 Object Lock backend: the production archive.
//!
//! Each record is one `PutObject` with `ObjectLockMode=COMPLIANCE`, a retain-until
//! date, `If-None-Match: *` (written only if absent), a SHA-256 checksum S3 verifies
//! on receipt, and the digest in the object's metadata. The bucket must have Object
//! Lock enabled; the backend checks that before its first write and refuses otherwise.
//!
//! Listing uses `ListObjectVersions`, not `ListObjectsV2`: in a versioned (and so in
//! every Object Lock) bucket a delete marker hides a record from ordinary listings and
//! a later `PutObject` stacks a new version over it; neither removes the locked
//! original, and the archive reads and reports both situations instead of missing them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectLockEnabled, ObjectLockMode};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::canonical::checksum_sha256_base64;
use crate::chain;
use crate::error::ArchiveError;
use crate::key::{self, ANNOTATIONS_DIR, MANIFESTS_DIR, RECORDS_DIR, VERIFICATIONS_DIR};
use crate::manifest::Manifest;
use crate::record::Record;
use crate::retention::RetentionPolicy;
use crate::verification::Verification;
use crate::{Archive, ObjectEntry, Receipt, StoredLock, StoredObject};

/// The object metadata key (`x-amz-meta-digest`) carrying the record's digest.
pub const DIGEST_METADATA_KEY: &str = "digest";

/// Server-side encryption for written records; reading needs no setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ServerSideEncryption {
    /// Whatever the bucket's default encryption is (S3 always encrypts at rest).
    #[default]
    BucketDefault,
    /// SSE-S3 (`AES256`).
    S3,
    /// SSE-KMS, with the given key id or ARN (or the account's `aws/s3` key when `None`).
    Kms { key_id: Option<String> },
}

impl ServerSideEncryption {
    /// The encryption headers of a put (records, and the fallback's copies).
    pub(crate) fn apply(
        &self,
        put: aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder {
        match self {
            ServerSideEncryption::BucketDefault => put,
            ServerSideEncryption::S3 => {
                put.server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::Aes256)
            }
            ServerSideEncryption::Kms { key_id } => put
                .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                .set_ssekms_key_id(key_id.clone()),
        }
    }
}

/// Where and how the S3 backend writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix before `records/`; empty or ending in `/` once normalised.
    pub prefix: String,
    pub retention: RetentionPolicy,
    pub encryption: ServerSideEncryption,
}

impl S3Settings {
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: prefix.into(),
            retention: RetentionPolicy::default(),
            encryption: ServerSideEncryption::BucketDefault,
        }
    }
}

/// An S3 client from the standard AWS environment (path-style against `endpoint_url`).
pub(crate) async fn client_from_environment(
    endpoint_url: Option<&str>,
) -> Result<Client, ArchiveError> {
    let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared);
    if let Some(url) = endpoint_url {
        config = config.endpoint_url(url).force_path_style(true);
    }
    if shared.region().is_none() {
        return Err(ArchiveError::misconfigured(
            "no AWS region: set AWS_REGION (or a profile's region)",
        ));
    }
    Ok(Client::from_conf(config.build()))
}

/// Checks an S3 bucket name (3-63 of a-z 0-9 . -, starting and ending alphanumeric).
pub(crate) fn validate_bucket_name(bucket: &str) -> Result<(), ArchiveError> {
    let b = bucket.as_bytes();
    let ok = (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ArchiveError::misconfigured(format!(
            "'{bucket}' is not a valid S3 bucket name (3-63 characters of a-z 0-9 . -)"
        )))
    }
}

/// An archive in an S3 bucket with Object Lock.
#[derive(Debug)]
pub struct S3Archive {
    client: Client,
    settings: S3Settings,
    lock_checked: OnceCell<()>,
}

impl S3Archive {
    /// An archive using `client`; the bucket's lock is checked at the first write.
    pub fn new(client: Client, mut settings: S3Settings) -> Result<Self, ArchiveError> {
        validate_bucket_name(&settings.bucket)?;
        settings.prefix = key::normalise_prefix(&settings.prefix)?;
        Ok(Self {
            client,
            settings,
            lock_checked: OnceCell::new(),
        })
    }

    /// An archive with a client from the standard AWS environment (region,
    /// credentials, profile). `endpoint_url` points at a local S3 server; it also
    /// switches to path-style addressing, which such servers need.
    pub async fn from_environment(
        settings: S3Settings,
        endpoint_url: Option<&str>,
    ) -> Result<Self, ArchiveError> {
        Self::new(client_from_environment(endpoint_url).await?, settings)
    }

    pub fn settings(&self) -> &S3Settings {
        &self.settings
    }

    fn records_prefix(&self) -> String {
        format!("{}{RECORDS_DIR}/", self.settings.prefix)
    }

    /// Whether the bucket has Object Lock enabled; the error says what is wrong.
    pub async fn check_bucket_locked(&self) -> Result<(), ArchiveError> {
        let bucket = &self.settings.bucket;
        match self
            .client
            .get_object_lock_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => {
                let enabled = out
                    .object_lock_configuration()
                    .and_then(|c| c.object_lock_enabled())
                    == Some(&ObjectLockEnabled::Enabled);
                if enabled {
                    Ok(())
                } else {
                    Err(ArchiveError::ArchiveNotLocked {
                        detail: format!(
                            "bucket {bucket} reports an Object Lock configuration that is not enabled; a record in an unlocked bucket proves nothing, so nothing was written"
                        ),
                    })
                }
            }
            Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => {
                Err(ArchiveError::ArchiveNotLocked {
                    detail: format!(
                        "bucket {bucket} has no Object Lock (create it with Object Lock enabled); a record in an unlocked bucket proves nothing, so nothing was written"
                    ),
                })
            }
            Err(e) => Err(classify("GetObjectLockConfiguration", e)),
        }
    }

    async fn ensure_locked(&self) -> Result<(), ArchiveError> {
        // Only success is cached: a bucket fixed after a refusal is accepted next time.
        self.lock_checked
            .get_or_try_init(|| self.check_bucket_locked())
            .await
            .map(|_| ())
    }

    /// Every object under `dir` (records or verifications), or one ticket's, each
    /// with the first version written at its key.
    async fn list_dir(
        &self,
        dir: &str,
        ticket_id: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ArchiveError> {
        let records_prefix = format!("{}{dir}/", self.settings.prefix);
        let prefix = match ticket_id {
            Some(t) => {
                key::validate_ticket_id(t)?;
                format!("{records_prefix}{t}/")
            }
            None => records_prefix.clone(),
        };
        let mut by_key: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let out = self
                .client
                .list_object_versions()
                .bucket(&self.settings.bucket)
                .prefix(&prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(|e| classify("ListObjectVersions", e))?;
            for v in out.versions() {
                if let Some(k) = v.key() {
                    by_key.entry(k.to_owned()).or_default().push(Listed {
                        version_id: v.version_id().map(str::to_owned),
                        last_modified: v.last_modified().and_then(from_smithy),
                        delete_marker: false,
                    });
                }
            }
            for m in out.delete_markers() {
                if let Some(k) = m.key() {
                    by_key.entry(k.to_owned()).or_default().push(Listed {
                        version_id: m.version_id().map(str::to_owned),
                        last_modified: m.last_modified().and_then(from_smithy),
                        delete_marker: true,
                    });
                }
            }
            if out.is_truncated() != Some(true) {
                break;
            }
            key_marker = out.next_key_marker().map(str::to_owned);
            version_marker = out.next_version_id_marker().map(str::to_owned);
            if key_marker.is_none() && version_marker.is_none() {
                break;
            }
        }

        let mut entries = Vec::with_capacity(by_key.len());
        for (full_key, listed) in by_key {
            let rest = full_key.strip_prefix(&records_prefix).unwrap_or(&full_key);
            let (ticket_folder, file_name) = match rest.split_once('/') {
                Some((t, f)) => (t.to_owned(), f.to_owned()),
                None => (String::new(), rest.to_owned()),
            };
            let mut anomalies = Vec::new();
            if ticket_folder.is_empty() || file_name.contains('/') {
                anomalies.push(format!("the key is not {dir}/<ticket id>/<file>"));
            } else if key::validate_ticket_id(&ticket_folder).is_err() {
                anomalies.push("the folder name is not a ticket id".to_owned());
            }
            if !key::is_file_name_in(dir, &file_name) {
                anomalies.push(format!(
                    "the file name is not <writtenAt>-<{}>.json: not a document the archive wrote",
                    if dir == VERIFICATIONS_DIR {
                        "RESULT"
                    } else {
                        "OUTCOME"
                    }
                ));
            }
            // The record is the first version written at the key: the archive only
            // writes when the key is absent, so any later version came from elsewhere.
            // S3 lists each key's versions newest first.
            let versions: Vec<&Listed> = listed.iter().filter(|l| !l.delete_marker).collect();
            let original = versions
                .iter()
                .rev()
                .min_by_key(|l| l.last_modified)
                .map(|l| l.version_id.clone());
            if versions.len() > 1 {
                anomalies.push(format!(
                    "{} versions at this key: a later object was written over the record (the first version is the one read)",
                    versions.len()
                ));
            }
            let markers = listed.iter().filter(|l| l.delete_marker).count();
            if markers > 0 {
                anomalies.push(format!(
                    "{markers} delete marker(s) hide this key from ordinary listings"
                ));
            }
            if versions.is_empty() {
                anomalies
                    .push("only delete markers remain: no version of the record exists".to_owned());
            }
            entries.push(ObjectEntry {
                key: full_key,
                ticket_folder,
                file_name,
                version_id: original.flatten(),
                anomalies,
            });
        }
        Ok(entries)
    }

    /// Writes `doc` once: an identical document at the key is answered as a repeat;
    /// otherwise `extends` must hold first.
    async fn write_doc(
        &self,
        doc: Doc<'_>,
        extends: impl std::future::Future<Output = Result<(), ArchiveError>>,
    ) -> Result<Receipt, ArchiveError> {
        self.ensure_locked().await?;
        if let Some(receipt) = self.existing_or_conflict(&doc).await? {
            return Ok(receipt);
        }
        extends.await?;
        match self.put_new(&doc).await? {
            PutOutcome::Written { version_id } => {
                // Write-once does not rest on If-None-Match alone: some S3-compatible
                // stores (Ceph radosgw in versioned buckets) ignore it and keep both
                // versions. The first version at the key is the document; if another
                // came first, this write is answered as that one's repeat or conflict.
                if let Some(ours) = version_id.as_deref() {
                    let first = self
                        .list_dir(doc.dir, Some(doc.ticket))
                        .await?
                        .into_iter()
                        .find(|e| e.key == doc.key)
                        .and_then(|e| e.version_id);
                    if first.as_deref().is_some_and(|f| f != ours) {
                        return self.existing_or_conflict(&doc).await?.ok_or_else(|| {
                            ArchiveError::ArchiveUnavailable {
                                operation: "ListObjectVersions".into(),
                                detail: format!("{}: the first version is not readable", doc.key),
                            }
                        });
                    }
                }
                Ok(Receipt {
                    key: doc.key,
                    version_id,
                    digest: doc.digest.to_owned(),
                    retain_until: doc.retain_until,
                    already_present: false,
                })
            }
            // Written meanwhile (a retry racing its own earlier attempt): same answer
            // as when the document was found before writing.
            PutOutcome::KeyExists => self.existing_or_conflict(&doc).await?.ok_or_else(|| {
                ArchiveError::ArchiveUnavailable {
                    operation: "PutObject".into(),
                    detail: format!(
                        "{}: If-None-Match failed but no version is listed yet",
                        doc.key
                    ),
                }
            }),
        }
    }

    async fn existing_or_conflict(&self, doc: &Doc<'_>) -> Result<Option<Receipt>, ArchiveError> {
        let entries = self.list_dir(doc.dir, Some(doc.ticket)).await?;
        let Some(entry) = entries
            .iter()
            .find(|e| e.key == doc.key && e.version_id.is_some())
        else {
            return Ok(None);
        };
        let stored = self.read(entry).await?;
        chain::existing_answer(doc.digest, &stored, doc.retain_until).map(Some)
    }

    /// One conditional, locked PutObject: the only way the archive writes to S3.
    async fn put_new(&self, doc: &Doc<'_>) -> Result<PutOutcome, ArchiveError> {
        let (key, retain_until) = (doc.key.as_str(), doc.retain_until);
        let bytes = doc.bytes.to_vec();
        let checksum = checksum_sha256_base64(&bytes);
        let mut put = self
            .client
            .put_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .body(ByteStream::from(bytes))
            .content_type("application/json")
            .object_lock_mode(ObjectLockMode::Compliance)
            .object_lock_retain_until_date(to_smithy(retain_until))
            .if_none_match("*")
            // S3 requires a checksum algorithm header on locked writes, and checks
            // the given value against the bytes it receives.
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum)
            .metadata(DIGEST_METADATA_KEY, doc.digest);
        put = self.settings.encryption.apply(put);
        match put.send().await {
            Ok(out) => Ok(PutOutcome::Written {
                version_id: out.version_id().map(str::to_owned),
            }),
            Err(e) if e.code() == Some("PreconditionFailed") => Ok(PutOutcome::KeyExists),
            Err(e) => Err(classify("PutObject", e)),
        }
    }
}

/// A document about to be written: a record or a verification.
struct Doc<'a> {
    dir: &'static str,
    key: String,
    ticket: &'a str,
    bytes: &'a [u8],
    digest: &'a str,
    retain_until: DateTime<Utc>,
}

/// What a conditional PutObject did.
#[derive(Debug, PartialEq, Eq)]
enum PutOutcome {
    Written {
        version_id: Option<String>,
    },
    /// `If-None-Match: *` failed: the key already holds an object.
    KeyExists,
}

fn to_smithy(t: DateTime<Utc>) -> aws_sdk_s3::primitives::DateTime {
    aws_sdk_s3::primitives::DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}

fn from_smithy(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Maps an SDK error onto the archive's error names: transient failures are
/// retryable, access and location problems are configuration, the rest refused.
fn classify<E>(operation: &str, err: SdkError<E>) -> ArchiveError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or("").to_owned();
    let detail = match (&err, code.is_empty()) {
        (SdkError::ServiceError(_), false) => format!(
            "{code}: {} (HTTP {})",
            err.message().unwrap_or("no message"),
            status.map_or_else(|| "?".to_owned(), |s| s.to_string())
        ),
        _ => DisplayErrorContext(&err).to_string(),
    };
    let operation = operation.to_owned();
    let transient_codes = [
        "SlowDown",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "ConditionalRequestConflict",
        "OperationAborted",
        "RequestLimitExceeded",
        "ThrottlingException",
    ];
    let config_codes = [
        "NoSuchBucket",
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
        "ExpiredToken",
        "InvalidToken",
        "InvalidBucketName",
        "KMS.NotFoundException",
        "KMS.DisabledException",
        "KMS.AccessDeniedException",
    ];
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ArchiveError::ArchiveUnavailable { operation, detail }
        }
        SdkError::ConstructionFailure(_) => ArchiveError::ArchiveRefused { operation, detail },
        _ if transient_codes.contains(&code.as_str())
            || matches!(status, Some(429) | Some(500..=599)) =>
        {
            ArchiveError::ArchiveUnavailable { operation, detail }
        }
        _ if config_codes.contains(&code.as_str()) || matches!(status, Some(301 | 403)) => {
            ArchiveError::ArchiveMisconfigured {
                detail: format!("{operation}: {detail}"),
            }
        }
        _ => ArchiveError::ArchiveRefused { operation, detail },
    }
}

fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    matches!(err.code(), Some("NoSuchKey" | "NoSuchVersion" | "NotFound"))
        || err.raw_response().map(|r| r.status().as_u16()) == Some(404)
}

/// One version or delete marker from `ListObjectVersions`, in response order.
struct Listed {
    version_id: Option<String>,
    last_modified: Option<DateTime<Utc>>,
    delete_marker: bool,
}

#[async_trait]
impl Archive for S3Archive {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.settings.bucket, self.settings.prefix)
    }

    fn retention(&self) -> RetentionPolicy {
        self.settings.retention
    }

    async fn write(&self, record: &Record) -> Result<Receipt, ArchiveError> {
        let doc = Doc {
            dir: RECORDS_DIR,
            key: format!(
                "{}{}",
                self.records_prefix(),
                key::relative_key(record.view())?
            ),
            ticket: &record.view().ticket_id,
            bytes: record.canonical_bytes(),
            digest: record.digest(),
            retain_until: chain::lock_until(self.settings.retention, record),
        };
        self.write_doc(doc, async {
            let head = chain::head(self, &record.view().ticket_id).await?;
            chain::check_extends(head.as_ref(), record)
        })
        .await
    }

    async fn write_verification(&self, v: &Verification) -> Result<Receipt, ArchiveError> {
        let doc = Doc {
            dir: VERIFICATIONS_DIR,
            key: format!(
                "{}{}",
                self.settings.prefix,
                key::verification_key(v.view())?
            ),
            ticket: &v.view().ticket_id,
            bytes: v.canonical_bytes(),
            digest: v.digest(),
            retain_until: chain::verification_lock_until(self.settings.retention, v),
        };
        self.write_doc(doc, chain::check_verification_extends(self, v))
            .await
    }

    async fn list_verifications(
        &self,
        ticket_id: Option<&str>,
    ) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_dir(VERIFICATIONS_DIR, ticket_id).await
    }

    async fn write_manifest(&self, m: &Manifest) -> Result<Receipt, ArchiveError> {
        let view = m.view();
        let doc = Doc {
            dir: MANIFESTS_DIR,
            key: format!(
                "{}{}",
                self.settings.prefix,
                crate::manifest::manifest_key(view)
            ),
            ticket: crate::manifest::CHECKPOINTS,
            bytes: m.canonical_bytes(),
            digest: m.digest(),
            retain_until: chain::lock_for(
                self.settings.retention,
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
        self.list_dir(ANNOTATIONS_DIR, ticket_id).await
    }

    async fn write_annotation(
        &self,
        a: &crate::annotation::Annotation,
    ) -> Result<Receipt, ArchiveError> {
        let view = a.view();
        let doc = Doc {
            dir: ANNOTATIONS_DIR,
            key: format!(
                "{}{}",
                self.settings.prefix,
                crate::annotation::annotation_key(view)
            ),
            ticket: &view.ticket_id,
            bytes: a.canonical_bytes(),
            digest: a.digest(),
            retain_until: chain::lock_for(
                self.settings.retention,
                view.written_at,
                view.retention.retain_until,
            ),
        };
        self.write_doc(doc, chain::check_annotation_extends(self, a))
            .await
    }

    async fn list_manifests(&self) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_dir(MANIFESTS_DIR, Some(crate::manifest::CHECKPOINTS))
            .await
    }

    async fn list(&self, ticket_id: Option<&str>) -> Result<Vec<ObjectEntry>, ArchiveError> {
        self.list_dir(RECORDS_DIR, ticket_id).await
    }

    async fn read(&self, entry: &ObjectEntry) -> Result<StoredObject, ArchiveError> {
        let not_found = || ArchiveError::RecordNotFound {
            key: entry.key.clone(),
        };
        // The lock, checksum and metadata come from HeadObject, the bytes from
        // GetObject, both for the same version.
        let head = self
            .client
            .head_object()
            .bucket(&self.settings.bucket)
            .key(&entry.key)
            .set_version_id(entry.version_id.clone())
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    not_found()
                } else {
                    classify("HeadObject", e)
                }
            })?;
        let got = self
            .client
            .get_object()
            .bucket(&self.settings.bucket)
            .key(&entry.key)
            .set_version_id(entry.version_id.clone())
            .send()
            .await
            .map_err(|e| {
                if is_not_found(&e) {
                    not_found()
                } else {
                    classify("GetObject", e)
                }
            })?;
        let bytes = got
            .body
            .collect()
            .await
            .map_err(|e| ArchiveError::ArchiveUnavailable {
                operation: "GetObject".into(),
                detail: format!("{}: reading the body failed: {e}", entry.key),
            })?
            .into_bytes()
            .to_vec();
        Ok(StoredObject {
            key: entry.key.clone(),
            version_id: head
                .version_id()
                .map(str::to_owned)
                .or_else(|| entry.version_id.clone()),
            bytes,
            recorded_digest: head
                .metadata()
                .and_then(|m| m.get(DIGEST_METADATA_KEY))
                .cloned(),
            recorded_checksum_sha256: head.checksum_sha256().map(str::to_owned),
            lock: StoredLock {
                mode: head.object_lock_mode().map(|m| m.as_str().to_owned()),
                retain_until: head.object_lock_retain_until_date().and_then(from_smithy),
            },
            protection_problems: Vec::new(),
        })
    }

    async fn store_problems(&self) -> Result<Vec<String>, ArchiveError> {
        match self.check_bucket_locked().await {
            Ok(()) => Ok(Vec::new()),
            Err(ArchiveError::ArchiveNotLocked { detail }) => Ok(vec![detail]),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_checked() {
        for ok in ["abc", "gdpr-erasure-records.eu", "a1b"] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "UPPER", "-abc", "abc-", "a_b", &"a".repeat(64), "a/b"] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_archive_puts_only_when_the_key_is_absent() {
        // Removing If-None-Match from put_new makes the second put succeed.
        let moto = testkit::MotoServer::start();
        let client = moto.s3_client();
        client
            .create_bucket()
            .bucket("records")
            .object_lock_enabled_for_bucket(true)
            .send()
            .await
            .expect("bucket");
        let archive = S3Archive::new(client, S3Settings::new("records", "")).expect("archive");
        let r = Record::from_json(include_bytes!("../../../schemas/examples/completed.json"))
            .expect("valid");
        let until: DateTime<Utc> = "2033-11-22T11:42:10.512Z".parse().expect("date");

        let doc = || Doc {
            dir: RECORDS_DIR,
            key: "k.json".into(),
            ticket: "DSAR-1",
            bytes: r.canonical_bytes(),
            digest: r.digest(),
            retain_until: until,
        };
        let first = archive.put_new(&doc()).await;
        let second = archive.put_new(&doc()).await;

        assert!(
            matches!(
                first,
                Ok(PutOutcome::Written {
                    version_id: Some(_)
                })
            ),
            "{first:?}"
        );
        assert_eq!(second, Ok(PutOutcome::KeyExists));
    }

    #[test]
    fn lock_dates_round_trip_to_the_millisecond() {
        let t: DateTime<Utc> = "2033-11-22T11:42:10.512Z".parse().expect("date");
        assert_eq!(from_smithy(&to_smithy(t)), Some(t));
    }
}
