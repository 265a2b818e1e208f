//! Letters to the data subject: the answer the controller owes for every outcome
//! (Art. 12(3) and (4), Art. 17(3)(e), Art. 19), rendered from the compliance record and
//! the controller's settings only, so `gdpr-erasure audit letter` renders the same bytes
//! again years later and the SHA-256 in the record proves what was said.
//!
//! - [`LetterSettings`]: controller, DPO contact, supervisory authority, languages and
//!   an optional template directory (`docs/letters.md`).
//! - [`TemplateSet`]: the embedded default set (versioned, addressed by its digest) or a
//!   controller's directory of minijinja templates.
//! - [`Letters`]: settings and a template set, checked at start: every outcome in every
//!   language, every placeholder known (undefined values are errors), every template
//!   rendered against sample facts of every outcome.
//! - [`render_letter`]: a record's letter, again, in one language and format.
//!
//! The addressee is the literal placeholder [`ADDRESSEE_PLACEHOLDER`], which the DSAR
//! tool fills: the pipeline holds no identifier of the subject, and a letter carries none.

mod context;
mod error;
mod render;
mod samples;
mod settings;
mod templates;

pub use context::{LetterContext, LetterKind};
pub use error::LetterError;
pub use render::{Format, Letter, Letters, RenderedLetters, render_letter};
pub use settings::{Authority, Controller, Dpo, LetterSettings};
pub use templates::{TemplateOrigin, TemplateSet};

/// What a letter says in place of the subject's name; the DSAR tool replaces it.
pub const ADDRESSEE_PLACEHOLDER: &str = "{{addressee}}";

/// `sha256:<hex>` of some bytes, the form digests take in the record.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
