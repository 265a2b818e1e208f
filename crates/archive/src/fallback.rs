//! Where a record goes when the archive would not take it, so it is never lost.
//!
//! WriteRecord builds the record's bytes, then writes them to the archive. When that
//! write fails (the archive unreachable, a policy refusing the put, a lock
//! misconfigured), the same bytes are kept here first, named by their digest, and the
//! failure is still reported: the execution retries, and if it never succeeds an
//! operator replays the kept bytes into the archive ([`replay`], `gdpr-erasure audit
//! replay-fallback`), where they are written exactly as the archive writes any record
//! (locked, checked against the ticket's chain), and `audit verify` checks them.
//!
//! A record holds no personal data (pseudonyms only), yet it is kept as protected as
//! the archive: on S3 under its own prefix of the archive bucket (private, as the
//! bucket is) with the archive's server-side encryption; locally a directory of files
//! only the owner can read.

use std::path::PathBuf;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;

use crate::error::ArchiveError;
use crate::record::Record;
use crate::s3::ServerSideEncryption;
use crate::{Archive, Receipt, key};

/// A store of records the archive did not take.
#[async_trait]
pub trait Fallback: Send + Sync {
    fn location(&self) -> String;
    /// Keeps `record`'s canonical bytes; the same record again overwrites nothing new.
    async fn keep(&self, record: &Record) -> Result<String, ArchiveError>;
    /// The names of everything kept, sorted.
    async fn names(&self) -> Result<Vec<String>, ArchiveError>;
    async fn bytes(&self, name: &str) -> Result<Vec<u8>, ArchiveError>;
}

/// `<ticket>/<digest hex>.json`.
fn name_of(record: &Record) -> String {
    let hex = record.digest().trim_start_matches("sha256:");
    format!("{}/{hex}.json", record.view().ticket_id)
}

/// A directory (local runs).
#[derive(Debug, Clone)]
pub struct LocalFallback {
    root: PathBuf,
}

impl LocalFallback {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

fn io(operation: &str, e: std::io::Error) -> ArchiveError {
    ArchiveError::ArchiveUnavailable {
        operation: operation.into(),
        detail: e.to_string(),
    }
}

#[async_trait]
impl Fallback for LocalFallback {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    async fn keep(&self, record: &Record) -> Result<String, ArchiveError> {
        let name = name_of(record);
        let path = self.root.join(&name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create fallback dir", e))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .map_err(|e| io("open fallback file", e))?;
        std::io::Write::write_all(&mut file, record.canonical_bytes())
            .map_err(|e| io("write fallback file", e))?;
        Ok(name)
    }

    async fn names(&self) -> Result<Vec<String>, ArchiveError> {
        let mut out = Vec::new();
        let Ok(tickets) = std::fs::read_dir(&self.root) else {
            return Ok(out);
        };
        for t in tickets.flatten() {
            let files = std::fs::read_dir(t.path()).map_err(|e| io("list fallback", e))?;
            for f in files.flatten() {
                out.push(format!(
                    "{}/{}",
                    t.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                ));
            }
        }
        out.sort();
        Ok(out)
    }

    async fn bytes(&self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        std::fs::read(self.root.join(name)).map_err(|e| io("read fallback file", e))
    }
}

/// A prefix of a bucket (deployed: `<archive prefix>fallback/` of the archive bucket).
#[derive(Debug, Clone)]
pub struct S3Fallback {
    client: Client,
    bucket: String,
    prefix: String,
    encryption: ServerSideEncryption,
}

impl S3Fallback {
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        prefix: &str,
        encryption: ServerSideEncryption,
    ) -> Result<Self, ArchiveError> {
        let bucket = bucket.into();
        crate::s3::validate_bucket_name(&bucket)?;
        Ok(Self {
            client,
            bucket,
            prefix: key::normalise_prefix(prefix)?,
            encryption,
        })
    }
}

fn s3_error<E: ProvideErrorMetadata>(operation: &str, e: E) -> ArchiveError {
    ArchiveError::ArchiveUnavailable {
        operation: operation.into(),
        detail: e.code().unwrap_or("no answer").to_owned(),
    }
}

#[async_trait]
impl Fallback for S3Fallback {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    async fn keep(&self, record: &Record) -> Result<String, ArchiveError> {
        let name = name_of(record);
        let put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(format!("{}{name}", self.prefix))
            .body(ByteStream::from(record.canonical_bytes().to_vec()))
            .content_type("application/json")
            // A bucket with Object Lock refuses a put without an integrity checksum.
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256);
        self.encryption
            .apply(put)
            .send()
            .await
            .map_err(|e| s3_error("PutObject", e))?;
        Ok(name)
    }

    async fn names(&self) -> Result<Vec<String>, ArchiveError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| s3_error("ListObjectsV2", e))?;
            for o in page.contents() {
                if let Some(k) = o.key().and_then(|k| k.strip_prefix(&self.prefix)) {
                    out.push(k.to_owned());
                }
            }
        }
        out.sort();
        Ok(out)
    }

    async fn bytes(&self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(format!("{}{name}", self.prefix))
            .send()
            .await
            .map_err(|e| s3_error("GetObject", e))?;
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| ArchiveError::ArchiveUnavailable {
                operation: "GetObject".into(),
                detail: e.to_string(),
            })?;
        Ok(body.into_bytes().to_vec())
    }
}

/// The fallback at `location`; for an S3 archive at `s3://B/P` the deployed one is
/// `s3://B/Pfallback/` ([`default_for`]).
pub async fn open(
    location: &crate::ArchiveLocation,
    endpoint_url: Option<&str>,
) -> Result<Box<dyn Fallback>, ArchiveError> {
    Ok(match location {
        crate::ArchiveLocation::Local(dir) => Box::new(LocalFallback::new(dir)),
        crate::ArchiveLocation::S3 { bucket, prefix } => Box::new(S3Fallback::new(
            crate::s3::client_from_environment(endpoint_url).await?,
            bucket.clone(),
            prefix,
            ServerSideEncryption::BucketDefault,
        )?),
    })
}

/// Where WriteRecord keeps what `archive` refused: `<prefix>fallback/` of an S3
/// archive's bucket; `<dir>.fallback` beside a local one.
pub fn default_for(archive: &crate::ArchiveLocation) -> crate::ArchiveLocation {
    match archive {
        crate::ArchiveLocation::Local(dir) => {
            let mut d = dir.clone().into_os_string();
            d.push(".fallback");
            crate::ArchiveLocation::Local(d.into())
        }
        crate::ArchiveLocation::S3 { bucket, prefix } => crate::ArchiveLocation::S3 {
            bucket: bucket.clone(),
            prefix: format!("{prefix}fallback/"),
        },
    }
}

/// What replaying one kept record did.
#[derive(Debug)]
pub struct Replayed {
    pub name: String,
    pub result: Result<Receipt, ArchiveError>,
}

/// Writes every kept record into `archive`, as WriteRecord would have. A record the
/// archive already holds (a later retry got through) is answered as already present;
/// bytes that are not the record their name says are refused, never written.
pub async fn replay(
    fallback: &dyn Fallback,
    archive: &dyn Archive,
) -> Result<Vec<Replayed>, ArchiveError> {
    let mut out = Vec::new();
    for name in fallback.names().await? {
        let result = async {
            let bytes = fallback.bytes(&name).await?;
            let record = Record::from_json(&bytes)?;
            if name_of(&record) != name || record.canonical_bytes() != bytes.as_slice() {
                return Err(ArchiveError::corrupt(
                    fallback.location() + &name,
                    "the kept bytes are not the record their name says; not replayed",
                ));
            }
            archive.write(&record).await
        }
        .await;
        out.push(Replayed { name, result });
    }
    Ok(out)
}
