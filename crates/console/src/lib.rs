//! The DPO's console (issue 16): reviews waiting, one review in full, approve (after a
//! confirmation) or reject with a reason, tickets near their deadline, open
//! deferrals / residues / escalations, and each ticket's records. Server-rendered
//! HTML, no script. Every request carries an ID token from the organisation's
//! OpenID Connect issuer, checked each time; the decider's keyed pseudonym and the
//! issuer go into the compliance record.
//!
//! The same router serves `gdpr-erasure console` on one machine and the AWS
//! function behind API Gateway; only the [`ports`] differ.

pub mod auth;
pub mod aws;
pub mod decide;
pub mod documents;
pub mod oidc;
pub mod pages;
pub mod ports;
mod routes;
pub mod views;

use std::sync::Arc;

use archive::Archive;
use clock::SharedClock;
use erasure_core::pseudonym::Pseudonymiser;

pub use routes::router;

use crate::auth::Roles;
use crate::oidc::Oidc;
use crate::ports::{Executions, FirstApprovals, TicketDocuments};

/// A deadline this close (days) is flagged.
pub const NEAR_DEADLINE_DAYS: i64 = 7;

/// The `channel` the record names for a decision made here.
pub const CHANNEL: &str = "console";

/// Reasons a reviewer can give for a rejection: codes the record keeps
/// (`decisions.approval.reasonCode`), with what the form says.
pub const REJECT_REASONS: &[(&str, &str)] = &[
    (
        "not-the-subject",
        "The data found is not the requester's (wrong person)",
    ),
    (
        "scope-too-wide",
        "The erasure would reach other people's data",
    ),
    (
        "identity-not-confirmed",
        "The requester's identity is not confirmed",
    ),
    ("exemption-applies", "An Art. 17(3) exemption applies"),
    ("hold-not-cleared", "A hold must be cleared first"),
    ("request-withdrawn", "The requester withdrew the request"),
    (
        "duplicate-request",
        "Another ticket already covers this request",
    ),
];

/// How the console is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The console's own URL as the browser sees it (the sign-in's redirect URI
    /// is `<public_url>/auth/callback`), without a trailing slash.
    pub public_url: String,
    pub roles: Roles,
    /// An approval needs two different people.
    pub four_eyes: bool,
    /// Cookies only over HTTPS (or a loopback address, which browsers treat alike).
    pub secure_cookies: bool,
}

/// Everything a request needs.
pub struct Console {
    pub settings: Settings,
    /// The issuer; `None` only with the local sign-in.
    pub oidc: Option<Oidc>,
    #[cfg(feature = "local-sign-in")]
    pub local_sign_in: Option<auth::local::LocalSignIn>,
    pub executions: Arc<dyn Executions>,
    pub archive: Arc<dyn Archive>,
    pub documents: Arc<dyn TicketDocuments>,
    pub first_approvals: Arc<dyn FirstApprovals>,
    pub pseudonymiser: Arc<Pseudonymiser>,
    pub clock: SharedClock,
}

impl Console {
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.settings.public_url)
    }

    /// Whether this build and setup offer the local sign-in.
    pub fn has_local_sign_in(&self) -> bool {
        #[cfg(feature = "local-sign-in")]
        {
            self.local_sign_in.is_some()
        }
        #[cfg(not(feature = "local-sign-in"))]
        {
            false
        }
    }
}
