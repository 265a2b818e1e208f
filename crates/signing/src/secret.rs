//! Secrets Manager secrets, read the one way every function reads them: a JSON
//! object in the secret's string value. Errors name the environment variable that
//! points at the secret and the service's error code, never the value.

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use serde_json::Value;

use crate::scheme::{KeyError, KeyRing};

/// A secret's JSON and its name (`name-AbCdEf`, for key ids that default to it).
#[derive(Clone)]
pub struct Secret {
    pub name: String,
    pub json: Value,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a secret could not be used. `var` is the variable naming the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Secrets Manager refused for good (no such secret, no permission, the key
    /// cannot decrypt it): a configuration to fix, not a moment to wait out.
    #[error("the secret in {var} cannot be read ({code})")]
    Refused { var: String, code: String },
    /// No answer, throttling, a service error: worth trying again.
    #[error("the secret in {var} could not be read now ({code})")]
    Unavailable { var: String, code: String },
    #[error("the secret in {var} has no string value (fill it as docs/deploy.md says)")]
    NoString { var: String },
    #[error("the secret in {var} is not a JSON object (line {line}, column {column})")]
    NotJson {
        var: String,
        line: usize,
        column: usize,
    },
    #[error("the secret in {var} is not usable: {reason}")]
    Invalid { var: String, reason: String },
}

impl SecretError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Unavailable { .. })
    }

    fn invalid(var: &str, reason: impl std::fmt::Display) -> Self {
        SecretError::Invalid {
            var: var.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// Reads the secret `arn` (named by the variable `var`) as a JSON object.
pub async fn read(
    client: &aws_sdk_secretsmanager::Client,
    var: &str,
    arn: &str,
) -> Result<Secret, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| match e.code() {
            Some(
                code @ ("ResourceNotFoundException"
                | "AccessDeniedException"
                | "DecryptionFailure"
                | "InvalidRequestException"
                | "InvalidParameterException"),
            ) => SecretError::Refused {
                var: var.to_owned(),
                code: code.to_owned(),
            },
            code => SecretError::Unavailable {
                var: var.to_owned(),
                code: code.unwrap_or("no answer from Secrets Manager").to_owned(),
            },
        })?;
    let text = out.secret_string().ok_or_else(|| SecretError::NoString {
        var: var.to_owned(),
    })?;
    // serde_json's message could quote the secret: say only where it broke.
    let json: Value = serde_json::from_str(text).map_err(|e| SecretError::NotJson {
        var: var.to_owned(),
        line: e.line(),
        column: e.column(),
    })?;
    if !json.is_object() {
        return Err(SecretError::invalid(var, "it must be a JSON object"));
    }
    let name = out
        .name()
        .map(str::to_owned)
        .unwrap_or_else(|| secret_name(arn));
    Ok(Secret { name, json })
}

impl Secret {
    /// The HMAC keys of a `{"key", "previousKey"?}` secret.
    pub fn key_ring(&self, var: &str) -> Result<KeyRing, SecretError> {
        KeyRing::from_secret_value(&self.json).map_err(|e: KeyError| SecretError::invalid(var, e))
    }

    /// The HMAC keys of `member` in a secret of one entry per system
    /// (`{"<name>": "<key>" | {"key", "previousKey"?}}`).
    pub fn member_key_ring(&self, var: &str, member: &str) -> Result<KeyRing, SecretError> {
        let entry = self
            .json
            .get(member)
            .ok_or_else(|| SecretError::invalid(var, format!("it has no key for {member}")))?;
        KeyRing::from_secret_value(entry)
            .map_err(|e| SecretError::invalid(var, format!("the key for {member}: {e}")))
    }

    /// A string member (`key`, `clientId`, ...), named in the error if missing.
    pub fn string(&self, var: &str, member: &str) -> Result<&str, SecretError> {
        self.json
            .get(member)
            .and_then(Value::as_str)
            .ok_or_else(|| SecretError::invalid(var, format!("it has no \"{member}\" string")))
    }
}

/// `name-AbCdEf` of `arn:aws:secretsmanager:<region>:<account>:secret:name-AbCdEf`.
pub fn secret_name(arn: &str) -> String {
    arn.rsplit_once(":secret:")
        .map_or(arn, |(_, n)| n)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_come_from_the_arn() {
        assert_eq!(
            secret_name(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gdpr-pseudonym-AbCdEf"
            ),
            "gdpr-pseudonym-AbCdEf"
        );
    }

    #[test]
    fn members_are_read_and_never_quoted() {
        let s = Secret {
            name: "downstream".into(),
            json: serde_json::json!({"crm": "k", "warehouse": "w".repeat(32)}),
        };
        assert!(
            s.member_key_ring("DOWNSTREAM_SECRET_ARN", "warehouse")
                .is_ok()
        );
        let e = s
            .member_key_ring("DOWNSTREAM_SECRET_ARN", "crm")
            .unwrap_err();
        assert!(e.to_string().contains("1 bytes, at least 32"), "{e}");
        let e = s
            .member_key_ring("DOWNSTREAM_SECRET_ARN", "erp")
            .unwrap_err();
        assert!(e.to_string().contains("no key for erp"), "{e}");
        assert!(!format!("{s:?}").contains("www"));
    }
}
