//! Who is looking: the ID token of the session cookie (or an `Authorization: Bearer`
//! header, as API Gateway's JWT authorizer also reads it), checked on every request,
//! and what its groups let the person do.

use erasure_core::pseudonym::{Pseudonym, Pseudonymiser};
use hmac::{KeyInit as _, Mac as _};
use serde_json::Value;

/// The session cookie: the ID token itself, so any console instance can check it
/// (nothing kept on the server). HttpOnly, Secure, SameSite=Lax.
pub const SESSION_COOKIE: &str = "console_session";
/// The sign-in in progress (state, nonce, PKCE verifier), for ten minutes.
pub const LOGIN_COOKIE: &str = "console_login";

/// Which groups may do what. A person in none of them is refused everything.
#[derive(Debug, Clone)]
pub struct Roles {
    /// The claim holding the groups (`groups`, `cognito:groups`, ...).
    pub claim: String,
    /// Groups that may decide; the group's name is the role the record names.
    pub deciders: Vec<String>,
    /// Groups that may read the console without deciding.
    pub readers: Vec<String>,
    /// Groups that may see the identifiers a ticket holds.
    pub identifier_readers: Vec<String>,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            claim: "groups".into(),
            deciders: endpoints::approval::default_roles(),
            readers: Vec::new(),
            identifier_readers: endpoints::approval::default_roles(),
        }
    }
}

/// A signed-in person, as the checked token says.
#[derive(Clone)]
pub struct Viewer {
    /// The issuer that vouched for them; `None` for the local sign-in.
    pub issuer: Option<String>,
    pub subject: String,
    /// For the page header only (never logged, never recorded).
    pub display_name: String,
    pub groups: Vec<String>,
    /// The group that lets them decide (the recorded role), if any.
    pub decider_role: Option<String>,
    pub may_read: bool,
    pub may_see_identifiers: bool,
    /// The token the session holds: keys the CSRF token.
    pub(crate) session_secret: String,
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Viewer")
            .field("issuer", &self.issuer)
            .field("decider_role", &self.decider_role)
            .finish_non_exhaustive()
    }
}

impl Viewer {
    pub fn from_claims(
        issuer: Option<String>,
        subject: String,
        claims: &serde_json::Map<String, Value>,
        roles: &Roles,
        session_secret: String,
    ) -> Self {
        let groups: Vec<String> = match claims.get(&roles.claim) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            // Some issuers send one group as a string, or several space-separated.
            Some(Value::String(s)) => s.split([' ', ',']).map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        let member = |list: &[String]| {
            list.iter()
                .find(|r| groups.iter().any(|g| g.eq_ignore_ascii_case(r)))
                .cloned()
        };
        let decider_role = member(&roles.deciders);
        let may_read = decider_role.is_some() || member(&roles.readers).is_some();
        let may_see_identifiers = may_read && member(&roles.identifier_readers).is_some();
        let display_name = ["name", "preferred_username", "email"]
            .iter()
            .find_map(|c| claims.get(*c).and_then(Value::as_str))
            .unwrap_or("signed in")
            .chars()
            .take(80)
            .collect();
        Viewer {
            issuer,
            subject,
            display_name,
            groups,
            decider_role,
            may_read,
            may_see_identifiers,
            session_secret,
        }
    }

    /// The keyed pseudonym the record names the decider by: of the issuer's subject
    /// id when an issuer vouched, else of the local name.
    pub fn actor_ref(&self, pseudonymiser: &Pseudonymiser) -> Pseudonym {
        match &self.issuer {
            Some(issuer) => pseudonymiser.oidc_actor(issuer, &self.subject),
            None => pseudonymiser.pseudonymise("actor-local", &self.subject),
        }
    }

    /// The CSRF token of this session: an HMAC of a fixed label keyed by the session's
    /// token, which a page of another site can neither read nor compute.
    pub fn csrf_token(&self) -> String {
        csrf_for(&self.session_secret)
    }

    pub fn csrf_matches(&self, given: &str) -> bool {
        let expected = self.csrf_token();
        expected.len() == given.len()
            && expected
                .bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

fn csrf_for(secret: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"gdpr-erasure console csrf");
    hex::encode(mac.finalize().into_bytes())
}

/// Reads a cookie from the request headers.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The bearer token of an `Authorization` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A `Set-Cookie` value.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The local sign-in (`make console` without an identity provider): a name and a
/// group chosen on a form, signed with a key of this process. Compiled only with the
/// `local-sign-in` feature, which the AWS function never enables.
#[cfg(feature = "local-sign-in")]
pub mod local {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{KeyInit as _, Mac as _};

    /// Tokens this process signs for the local sign-in.
    #[derive(Clone)]
    pub struct LocalSignIn {
        key: Vec<u8>,
    }

    impl std::fmt::Debug for LocalSignIn {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("LocalSignIn")
        }
    }

    impl Default for LocalSignIn {
        fn default() -> Self {
            Self::new()
        }
    }

    impl LocalSignIn {
        pub fn new() -> Self {
            LocalSignIn {
                key: super::super::oidc::random_token().into_bytes(),
            }
        }

        fn mac(&self, payload: &str) -> String {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key)
                .expect("HMAC takes keys of any length");
            mac.update(payload.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }

        /// `local.<name b64>.<group b64>.<mac>`.
        pub fn issue(&self, name: &str, group: &str) -> String {
            let payload = format!(
                "local.{}.{}",
                URL_SAFE_NO_PAD.encode(name),
                URL_SAFE_NO_PAD.encode(group)
            );
            let mac = self.mac(&payload);
            format!("{payload}.{mac}")
        }

        /// The name and group of a token this process issued.
        pub fn check(&self, token: &str) -> Option<(String, String)> {
            let (payload, mac) = token.rsplit_once('.')?;
            if self.mac(payload) != mac {
                return None;
            }
            let mut it = payload.split('.');
            let (tag, name, group) = (it.next()?, it.next()?, it.next()?);
            if tag != "local" {
                return None;
            }
            let text = |s: &str| String::from_utf8(URL_SAFE_NO_PAD.decode(s).ok()?).ok();
            Some((text(name)?, text(group)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn viewer(groups: Value) -> Viewer {
        let claims = json!({ "groups": groups, "name": "Maeve" });
        Viewer::from_claims(
            Some("https://idp.example".into()),
            "sub-1".into(),
            claims.as_object().unwrap(),
            &Roles {
                readers: vec!["Auditor".into()],
                identifier_readers: vec!["DPO".into()],
                ..Roles::default()
            },
            "token".into(),
        )
    }

    #[test]
    fn groups_give_roles() {
        let dpo = viewer(json!(["staff", "dpo"]));
        assert_eq!(dpo.decider_role.as_deref(), Some("DPO"));
        assert!(dpo.may_read && dpo.may_see_identifiers);
        let auditor = viewer(json!(["Auditor"]));
        assert!(auditor.may_read && auditor.decider_role.is_none());
        assert!(!auditor.may_see_identifiers);
        let sales = viewer(json!(["sales"]));
        assert!(!sales.may_read && sales.decider_role.is_none());
        assert!(!viewer(json!(null)).may_read);
    }

    #[test]
    fn the_csrf_token_belongs_to_the_session() {
        let a = viewer(json!(["DPO"]));
        let mut b = a.clone();
        b.session_secret = "another".into();
        assert!(a.csrf_matches(&a.csrf_token()));
        assert!(!a.csrf_matches(&b.csrf_token()));
        assert!(!a.csrf_matches(""));
    }

    #[test]
    fn cookies_and_bearer_tokens_are_read_from_headers() {
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", "a=1; console_session=tok; b=2".parse().unwrap());
        h.insert("authorization", "Bearer abc".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
        assert_eq!(bearer(&h), Some("abc"));
    }
}
