//! Where the legal-hold register comes from: an S3 object (production), a local file,
//! or, for local runs that have none, an explicitly empty register.
//!
//! A register that cannot be read is an error, never an empty register: a missed
//! hold is spoliation of evidence.

use std::path::PathBuf;

use async_trait::async_trait;
use aws_sdk_s3::error::ProvideErrorMetadata;

use crate::error::StepError;

/// The register document's bytes (parsed by `erasure_core::hold::parse_register`).
#[async_trait]
pub trait HoldRegisterSource: Send + Sync + std::fmt::Debug {
    async fn load(&self) -> Result<Vec<u8>, StepError>;
    /// Where it is, for messages.
    fn describe(&self) -> String;
}

/// `s3://bucket/key` (`HOLD_REGISTER_BUCKET`, `HOLD_REGISTER_KEY`).
#[derive(Debug, Clone)]
pub struct S3HoldRegister {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub key: String,
}

#[async_trait]
impl HoldRegisterSource for S3HoldRegister {
    async fn load(&self) -> Result<Vec<u8>, StepError> {
        let where_ = self.describe();
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
            .map_err(|e| {
                let code = e.code().map(str::to_owned);
                match code.as_deref() {
                    // Nobody will fix these by waiting.
                    Some("NoSuchKey" | "NoSuchBucket" | "AccessDenied" | "InvalidObjectState") => {
                        StepError::misconfigured(format!(
                            "the legal-hold register {where_} cannot be read ({})",
                            code.unwrap_or_default()
                        ))
                    }
                    _ => StepError::HoldRegisterUnavailable(format!(
                        "{where_}: {}",
                        code.unwrap_or_else(|| "no answer from S3".to_owned())
                    )),
                }
            })?;
        let bytes = out.body.collect().await.map_err(|_| {
            StepError::HoldRegisterUnavailable(format!("{where_}: the download broke off"))
        })?;
        Ok(bytes.into_bytes().to_vec())
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// A register kept in a local file (local runs and the demo).
#[derive(Debug, Clone)]
pub struct FileHoldRegister {
    pub path: PathBuf,
}

#[async_trait]
impl HoldRegisterSource for FileHoldRegister {
    async fn load(&self) -> Result<Vec<u8>, StepError> {
        tokio::fs::read(&self.path).await.map_err(|e| {
            StepError::misconfigured(format!(
                "the legal-hold register {} cannot be read: {}",
                self.path.display(),
                e.kind()
            ))
        })
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// No register: the controller has stated it keeps none (local runs only; a Lambda
/// deployment always names one). Genesys deletion protection is still checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHoldRegister;

#[async_trait]
impl HoldRegisterSource for NoHoldRegister {
    async fn load(&self) -> Result<Vec<u8>, StepError> {
        Ok(br#"{"holds": []}"#.to_vec())
    }

    fn describe(&self) -> String {
        "no legal-hold register (configured so)".to_owned()
    }
}

/// A register document held in memory (the demo's, compiled in).
#[derive(Debug, Clone)]
pub struct StaticHoldRegister {
    pub name: String,
    pub bytes: Vec<u8>,
}

#[async_trait]
impl HoldRegisterSource for StaticHoldRegister {
    async fn load(&self) -> Result<Vec<u8>, StepError> {
        Ok(self.bytes.clone())
    }

    fn describe(&self) -> String {
        self.name.clone()
    }
}
