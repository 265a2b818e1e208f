//! Keyed pseudonyms: HMAC-SHA256 over `"<kind>:<normalised value>"`, rendered
//! `hmac-sha256:<64 hex>`. The compliance record holds only these, so an auditor with
//! the key can confirm which identifiers were covered while the archive (which can
//! never be erased) holds no personal data. A plain hash would not do: phone numbers
//! and e-mails are guessable, so anyone could confirm them by brute force.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{IdentifierError, PseudonymError};
use crate::identifiers::{
    Email, ExternalContactId, GenesysUserId, IdentifierKind, PersonName, PhoneE164,
};

/// NIST SP 800-107: an HMAC key should be at least as long as the hash output.
pub const MIN_KEY_BYTES: usize = 32;
const PREFIX: &str = "hmac-sha256:";
/// Names how refs are computed (see `pseudonymise`); recorded in every record so an
/// auditor holding the key can recompute a ref.
pub const SCHEME: &str = "gdpr-erasure/pseudonym/v1";

/// What a key id is a fingerprint over, before the key: domain separation, so the id
/// is no HMAC or hash computed anywhere else from the same bytes.
const KEY_ID_DOMAIN: &[u8] = b"gdpr-erasure/pseudonym-key-id/v1\0";
/// Key ids computed from the key ([`PseudonymKey::fingerprint`]) start with this.
pub const KEY_ID_PREFIX: &str = "key-sha256-";

/// The pseudonym key and its id. `Debug` never shows the key. The raw bytes are
/// overwritten once the keyed HMAC state has been derived from them.
pub struct PseudonymKey {
    id: String,
    mac: Hmac<Sha256>,
}

impl PseudonymKey {
    pub fn new(id: impl Into<String>, bytes: Vec<u8>) -> Result<Self, PseudonymError> {
        let id = id.into();
        let id_ok = !id.is_empty()
            && id.len() <= 128
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-'));
        if !id_ok {
            return Err(PseudonymError::InvalidKeyId);
        }
        let mut bytes = bytes;
        let len = bytes.len();
        let too_short = PseudonymError::KeyTooShort {
            len,
            min: MIN_KEY_BYTES,
        };
        let mac = if len < MIN_KEY_BYTES {
            Err(too_short.clone())
        } else {
            <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes).map_err(|_| too_short)
        };
        bytes.fill(0);
        // Keeps the wipe from being optimised away as a dead store.
        std::hint::black_box(&bytes);
        Ok(Self { id, mac: mac? })
    }

    /// The key with its fingerprint as its id ([`PseudonymKey::fingerprint`]): how every
    /// deployed key is identified, so records name the key itself, and a changed key
    /// can never be taken for the old one, whatever the secret holding it is called.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, PseudonymError> {
        let id = Self::fingerprint(&bytes);
        Self::new(id, bytes)
    }

    /// `key-sha256-` and the first 16 hex digits of SHA-256 over a domain tag and the
    /// key. 64 bits tell keys apart; they reveal nothing usable about a key of at least
    /// 256 bits.
    pub fn fingerprint(bytes: &[u8]) -> String {
        let digest = Sha256::new()
            .chain_update(KEY_ID_DOMAIN)
            .chain_update(bytes)
            .finalize();
        format!("{KEY_ID_PREFIX}{}", &hex::encode(digest)[..16])
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("id", &self.id)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// `hmac-sha256:<64 lower-case hex>`. Not personal data on its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Pseudonym(String);

impl Pseudonym {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Pseudonym {
    type Err = IdentifierError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.strip_prefix(PREFIX).is_some_and(|hex| {
            hex.len() == 64 && hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
        });
        if ok {
            Ok(Pseudonym(s.to_owned()))
        } else {
            Err(IdentifierError::InvalidIdentifier {
                code: "invalid-pseudonym",
                message: "must be hmac-sha256: followed by 64 lower-case hex digits".to_owned(),
            })
        }
    }
}

impl<'de> Deserialize<'de> for Pseudonym {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// Turns identifiers into pseudonyms with one key.
#[derive(Debug)]
pub struct Pseudonymiser {
    key: PseudonymKey,
}

impl Pseudonymiser {
    pub fn new(key: PseudonymKey) -> Self {
        Self { key }
    }

    pub fn key_id(&self) -> &str {
        self.key.id()
    }

    /// HMAC over `"<domain>:<canonical>"`. Callers pass an already normalised value;
    /// the typed helpers below do so.
    pub fn pseudonymise(&self, domain: &str, canonical: &str) -> Pseudonym {
        let mut mac = self.key.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(b":");
        mac.update(canonical.as_bytes());
        let digest = mac.finalize().into_bytes();
        Pseudonym(format!("{PREFIX}{}", hex::encode(digest)))
    }

    pub fn name(&self, v: &PersonName) -> Pseudonym {
        self.pseudonymise(IdentifierKind::Name.domain(), &v.canonical())
    }
    pub fn email(&self, v: &Email) -> Pseudonym {
        self.pseudonymise(IdentifierKind::Email.domain(), v.expose())
    }
    pub fn phone(&self, v: &PhoneE164) -> Pseudonym {
        self.pseudonymise(IdentifierKind::Phone.domain(), v.expose())
    }
    pub fn genesys_user(&self, v: &GenesysUserId) -> Pseudonym {
        self.pseudonymise(IdentifierKind::GenesysUserId.domain(), v.expose())
    }
    pub fn external_contact(&self, v: &ExternalContactId) -> Pseudonym {
        self.pseudonymise(IdentifierKind::ExternalContactId.domain(), v.expose())
    }
    /// A person acting on the ticket (the DPO who signed off or approved), by e-mail.
    /// Its own domain: the DPO's address never collides with a subject e-mail ref.
    pub fn actor(&self, v: &Email) -> Pseudonym {
        self.pseudonymise("actor", v.expose())
    }
    /// A person an OpenID Connect issuer vouched for (the console's sign-in), by the
    /// issuer and its stable subject id (`sub`): unique per issuer, never reassigned.
    pub fn oidc_actor(&self, issuer: &str, subject: &str) -> Pseudonym {
        self.pseudonymise("actor-oidc", &format!("{issuer}#{subject}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> PseudonymKey {
        PseudonymKey::new(id, vec![byte; 32]).unwrap()
    }

    #[test]
    fn short_keys_and_bad_key_ids_are_refused() {
        assert_eq!(
            PseudonymKey::new("k1", vec![1; 31]).unwrap_err(),
            PseudonymError::KeyTooShort { len: 31, min: 32 }
        );
        assert_eq!(
            PseudonymKey::new("", vec![1; 32]).unwrap_err(),
            PseudonymError::InvalidKeyId
        );
        assert_eq!(
            PseudonymKey::new("key id", vec![1; 32]).unwrap_err(),
            PseudonymError::InvalidKeyId
        );
    }

    #[test]
    fn a_key_id_is_a_fingerprint_of_the_key_itself() {
        let a = PseudonymKey::from_bytes(vec![b'k'; 32]).unwrap();
        let again = PseudonymKey::from_bytes(vec![b'k'; 32]).unwrap();
        let changed = PseudonymKey::from_bytes(vec![b'j'; 32]).unwrap();
        assert_eq!(a.id(), again.id(), "the same key, the same id");
        assert_ne!(a.id(), changed.id(), "another key, another id");
        // printf 'gdpr-erasure/pseudonym-key-id/v1\0%s' "$(printf 'k%.0s' {1..32})" | sha256sum
        assert_eq!(a.id(), "key-sha256-e7c4576b2c53299f");
        assert_eq!(
            PseudonymKey::from_bytes(vec![b'k'; 31]).unwrap_err(),
            PseudonymError::KeyTooShort { len: 31, min: 32 }
        );
    }

    #[test]
    fn key_debug_never_shows_the_key() {
        let k = PseudonymKey::new("k1", b"super-secret-key-material-0123456789".to_vec()).unwrap();
        let shown_key = format!("{k:?}");
        let shown = format!("{shown_key} {:?}", Pseudonymiser::new(k));
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(shown.contains("k1"));
    }

    #[test]
    fn pseudonym_matches_an_independent_hmac_computation() {
        // Checked against openssl over the domain-separated message:
        // printf 'phone:+353861234567' | openssl dgst -sha256 -hmac "$(printf 'k%.0s' {1..32})"
        let p = Pseudonymiser::new(PseudonymKey::new("k", vec![b'k'; 32]).unwrap());
        let phone = PhoneE164::parse("+353 86 123 4567", None).unwrap();
        assert_eq!(
            p.phone(&phone).as_str(),
            "hmac-sha256:dfc4427f49660e164c17c3496b6e3843a622614c34508b80a58294878165a51b"
        );
    }

    #[test]
    fn internationalised_addresses_have_one_pseudonym_and_ascii_ones_keep_theirs() {
        let p = Pseudonymiser::new(PseudonymKey::new("k", vec![b'k'; 32]).unwrap());
        let unicode: Email = "jörg@bücher.de".parse().unwrap();
        let punycode: Email = "jörg@xn--bcher-kva.de".parse().unwrap();
        let decomposed: Email = "jo\u{308}rg@BU\u{308}CHER.de".parse().unwrap();
        assert_eq!(p.email(&unicode), p.email(&punycode));
        assert_eq!(p.email(&unicode), p.email(&decomposed));
        // Records written before normalisation compare against this value:
        // printf 'email:jane@example.com' | openssl dgst -sha256 -hmac "$(printf 'k%.0s' {1..32})"
        let jane: Email = "jane@example.com".parse().unwrap();
        assert_eq!(
            p.email(&jane).as_str(),
            "hmac-sha256:446a58a648c3a11b3208986a4ee3fa95f31e0152f06bc91a1711f06ec1ccbd8c"
        );
    }

    #[test]
    fn pseudonyms_are_domain_separated_keyed_and_stable() {
        let p1 = Pseudonymiser::new(key("k1", 1));
        let p2 = Pseudonymiser::new(key("k2", 2));
        let email: Email = "jane@example.com".parse().unwrap();
        let same: Email = " JANE@example.COM".parse().unwrap();
        let name: PersonName = "jane@example.com".parse().unwrap();
        assert_eq!(p1.email(&email), p1.email(&same));
        assert_ne!(p1.email(&email), p2.email(&email));
        assert_ne!(p1.email(&email), p1.name(&name));
        assert_ne!(p1.email(&email), p1.actor(&email));
        let r = p1.email(&email);
        assert!(r.as_str().parse::<Pseudonym>().is_ok());
        assert!(!r.as_str().contains("jane"));
    }

    #[test]
    fn names_differing_in_case_and_spacing_share_a_pseudonym() {
        let p = Pseudonymiser::new(key("k1", 1));
        let a: PersonName = "Jane  Doe".parse().unwrap();
        let b: PersonName = " jane doe ".parse().unwrap();
        assert_eq!(p.name(&a), p.name(&b));
    }
}
