//! One way to sign: the scheme of every signed HTTP message into or out of the
//! pipeline ([`scheme`]), the sender's rules ([`post`]: HTTPS only, no redirects, a
//! timeout, an idempotency key) and the loading of the secrets that hold the keys
//! ([`secret`]). The steps, the entry points, the watchdog and the local runs all use
//! these; nothing else computes or checks a signature.

pub mod post;
pub mod scheme;
pub mod secret;

pub use post::{Endpoint, EndpointError, PostOutcome, SignedPost, http_client};
pub use scheme::{
    DEFAULT_TOLERANCE, IDEMPOTENCY_HEADER, KeyError, KeyRing, MAX_SIGNATURE_ENTRIES, MIN_KEY_BYTES,
    SIGNATURE_HEADER, SignatureError, SigningKey, TIMESTAMP_HEADER, verify,
};
pub use secret::{Secret, SecretError};
