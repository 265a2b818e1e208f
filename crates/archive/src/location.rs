//! Naming an archive: a directory, or `s3://bucket/prefix`.

use std::fmt;
use std::path::PathBuf;

use crate::Archive;
use crate::error::ArchiveError;
use crate::key::normalise_prefix;
use crate::local::LocalArchive;
use crate::retention::RetentionPolicy;
use crate::s3::{S3Archive, S3Settings, ServerSideEncryption, validate_bucket_name};

/// Where an archive is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveLocation {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl ArchiveLocation {
    /// Parses `s3://bucket[/prefix]` or a directory path. Any other `scheme://` is
    /// refused rather than taken for a directory name.
    pub fn parse(s: &str) -> Result<Self, ArchiveError> {
        if s.trim().is_empty() {
            return Err(ArchiveError::misconfigured(
                "empty archive location: expected a directory or s3://bucket/prefix",
            ));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(ArchiveError::misconfigured(format!(
                    "archive location '{s}' has no bucket: expected s3://bucket/prefix"
                )));
            }
            validate_bucket_name(bucket)?;
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: normalise_prefix(prefix)?,
            });
        }
        if let Some((scheme, _)) = s.split_once("://")
            && !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+')
        {
            return Err(ArchiveError::misconfigured(format!(
                "archive location scheme '{scheme}://' is not supported: expected a directory or s3://bucket/prefix"
            )));
        }
        Ok(Self::Local(PathBuf::from(s)))
    }
}

impl fmt::Display for ArchiveLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// How to open an archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub retention: RetentionPolicy,
    /// A local S3 server's URL (S3 only).
    pub endpoint_url: Option<String>,
    pub encryption: ServerSideEncryption,
}

/// Opens the archive at `location`; S3 clients come from the standard AWS environment.
pub async fn open(
    location: &ArchiveLocation,
    options: &OpenOptions,
) -> Result<Box<dyn Archive>, ArchiveError> {
    match location {
        ArchiveLocation::Local(dir) => Ok(Box::new(LocalArchive::new(dir, options.retention))),
        ArchiveLocation::S3 { bucket, prefix } => {
            let settings = S3Settings {
                bucket: bucket.clone(),
                prefix: prefix.clone(),
                retention: options.retention,
                encryption: options.encryption.clone(),
            };
            Ok(Box::new(
                S3Archive::from_environment(settings, options.endpoint_url.as_deref()).await?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_urls_and_directories() {
        assert_eq!(
            ArchiveLocation::parse("s3://gdpr-records/prod").expect("ok"),
            ArchiveLocation::S3 {
                bucket: "gdpr-records".into(),
                prefix: "prod/".into()
            }
        );
        assert_eq!(
            ArchiveLocation::parse("s3://gdpr-records").expect("ok"),
            ArchiveLocation::S3 {
                bucket: "gdpr-records".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            ArchiveLocation::parse("./demo-archive").expect("ok"),
            ArchiveLocation::Local("./demo-archive".into())
        );
    }

    #[test]
    fn bad_locations_get_precise_errors() {
        for (bad, says) in [
            ("s3://", "no bucket"),
            ("s3:///prefix", "no bucket"),
            ("s3://Bad_Bucket/x", "not a valid S3 bucket name"),
            ("s3://bucket/../x", "prefix"),
            ("https://example.com/x", "not supported"),
            ("", "empty"),
        ] {
            let err = ArchiveLocation::parse(bad).unwrap_err();
            assert_eq!(err.name(), "ArchiveMisconfigured");
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }
}
