//! Wrappers that keep personal data and secrets out of `Debug` output.
//!
//! Personal data has to travel in Genesys request bodies (that is the point of a GDPR
//! request), so it serialises unchanged; but a stray `{:?}` in a log line must never
//! print it. Neither type implements `Display`: reading the value is always an explicit
//! call to [`Pii::expose`] or [`Secret::expose`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A value that can hold personal data (a name, phone number, e-mail address, postal
/// address, user name, social handle, contact id, free text written by a person).
///
/// Serialises exactly like the inner value; `Debug` prints `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pii<T>(T);

impl<T> Pii<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The personal data itself. Callers take responsibility for where it goes.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the personal data.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl Pii<String> {
    /// The value as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<T> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> From<T> for Pii<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl From<&str> for Pii<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<T: Serialize> Serialize for Pii<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pii<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Self)
    }
}

/// A credential (OAuth client secret, access token). `Debug` prints `<redacted>`; it
/// does not implement `Serialize`, so it cannot end up in a payload by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_debug_is_redacted_but_serde_is_transparent() {
        let phone: Pii<String> = Pii::from("+353861234567");
        assert_eq!(format!("{phone:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&phone)), "Some(<redacted>)");
        let json = serde_json::to_string(&phone).unwrap();
        assert_eq!(json, "\"+353861234567\"");
        let back: Pii<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "+353861234567");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::new("s3cr3t-value");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.expose(), "s3cr3t-value");
    }
}
