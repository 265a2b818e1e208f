//! OpenID Connect against any issuer: discovery, the authorization code flow with
//! PKCE, and the check of an ID token on every request (issuer, audience, expiry,
//! signature with the issuer's published keys).

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore as _;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

/// The algorithms an issuer may sign with: asymmetric only (a shared-secret HMAC
/// token could be minted by anyone holding the client secret).
const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
/// An unknown key id refetches the JWKS (key rotation), at most this often.
const JWKS_REFRESH: Duration = Duration::from_secs(60);

/// How the console signs people in.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The issuer URL, exactly as its tokens name it.
    pub issuer: String,
    /// The console's client id: the ID token's audience.
    pub client_id: String,
    /// A confidential client's secret (sent with HTTP Basic); none for a public client
    /// (PKCE protects the code either way).
    pub client_secret: Option<String>,
    /// Scopes asked for (`openid` is always among them).
    pub scopes: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
}

/// Why a token or a sign-in was refused. Messages name no person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or answered badly: {0}")]
    Provider(String),
    #[error("the token is not valid: {0}")]
    InvalidToken(String),
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    end_session_endpoint: Option<String>,
}

/// The issuer as discovered, with its keys.
#[derive(Debug)]
pub struct Oidc {
    settings: OidcSettings,
    discovery: Discovery,
    http: reqwest::Client,
    keys: RwLock<(JwkSet, Instant)>,
}

/// A token that passed every check: its claims.
#[derive(Clone)]
pub struct VerifiedToken {
    pub issuer: String,
    pub subject: String,
    pub claims: Map<String, Value>,
}

impl std::fmt::Debug for VerifiedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedToken")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// What the sign-in keeps between the redirect and the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginState {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl LoginState {
    pub fn new() -> Self {
        LoginState {
            state: random_token(),
            nonce: random_token(),
            verifier: random_token(),
        }
    }

    /// `state.nonce.verifier`: three URL-safe tokens.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.verifier)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let mut it = s.split('.');
        let (state, nonce, verifier) = (it.next()?, it.next()?, it.next()?);
        let ok = |t: &str| (20..=128).contains(&t.len()) && t.bytes().all(is_url_safe);
        if it.next().is_some() || !ok(state) || !ok(nonce) || !ok(verifier) {
            return None;
        }
        Some(LoginState {
            state: state.into(),
            nonce: nonce.into(),
            verifier: verifier.into(),
        })
    }

    /// The PKCE S256 challenge of the verifier.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }
}

impl Default for LoginState {
    fn default() -> Self {
        Self::new()
    }
}

fn is_url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Oidc {
    /// Reads the issuer's discovery document and keys. The document must name the
    /// configured issuer exactly (OpenID Connect Discovery 1.0, section 4.3).
    pub async fn discover(settings: OidcSettings) -> Result<Self, OidcError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            settings.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = get_json(&http, &url).await?;
        if discovery.issuer != settings.issuer {
            return Err(OidcError::Provider(format!(
                "the discovery document names the issuer {:?}, not {:?}",
                discovery.issuer, settings.issuer
            )));
        }
        let keys: JwkSet = get_json(&http, &discovery.jwks_uri).await?;
        Ok(Oidc {
            settings,
            discovery,
            http,
            keys: RwLock::new((keys, Instant::now())),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// Where the browser goes to sign in.
    pub fn authorization_url(&self, redirect_uri: &str, login: &LoginState) -> String {
        let mut scopes: Vec<&str> = vec!["openid"];
        scopes.extend(
            self.settings
                .scopes
                .iter()
                .map(String::as_str)
                .filter(|s| *s != "openid"),
        );
        let mut url = match url::Url::parse(&self.discovery.authorization_endpoint) {
            Ok(u) => u,
            Err(_) => return self.discovery.authorization_endpoint.clone(),
        };
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &login.state)
            .append_pair("nonce", &login.nonce)
            .append_pair("code_challenge", &login.challenge())
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Where the browser goes to sign out at the issuer, if it says.
    pub fn end_session_url(&self) -> Option<&str> {
        self.discovery.end_session_endpoint.as_deref()
    }

    /// Exchanges the code (with the PKCE verifier) for tokens, checks the ID token and
    /// its nonce, and returns the ID token.
    pub async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        login: &LoginState,
    ) -> Result<(String, VerifiedToken), OidcError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", self.settings.client_id.as_str()),
            ("code_verifier", login.verifier.as_str()),
        ];
        let mut request = self.http.post(&self.discovery.token_endpoint).form(&form);
        if let Some(secret) = &self.settings.client_secret {
            request = request.basic_auth(&self.settings.client_id, Some(secret));
        }
        let response = request
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("token endpoint: {}", e.without_url())))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|_| OidcError::Provider("token endpoint: not JSON".into()))?;
        if !status.is_success() {
            // The error code only: the description could quote input.
            let code = body["error"].as_str().unwrap_or("unknown");
            return Err(OidcError::Provider(format!(
                "token endpoint refused the code ({status}, {code})"
            )));
        }
        let id_token = body["id_token"]
            .as_str()
            .ok_or_else(|| OidcError::Provider("token endpoint: no id_token".into()))?
            .to_owned();
        let verified = self.verify(&id_token).await?;
        if verified.claims.get("nonce").and_then(Value::as_str) != Some(login.nonce.as_str()) {
            return Err(OidcError::InvalidToken(
                "the nonce is not the one this sign-in sent".into(),
            ));
        }
        Ok((id_token, verified))
    }

    /// Checks an ID token: signature with one of the issuer's keys, issuer, audience
    /// (this client), expiry, and a subject.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, OidcError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| OidcError::InvalidToken("not a signed JWT".into()))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(OidcError::InvalidToken(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = self.key_for(header.kid.as_deref(), header.alg).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| OidcError::InvalidToken(describe(&e)))?;
        let claims = data.claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or_else(|| OidcError::InvalidToken("no subject".into()))?
            .to_owned();
        Ok(VerifiedToken {
            issuer: self.settings.issuer.clone(),
            subject,
            claims,
        })
    }

    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, OidcError> {
        if let Some(k) = self.find(kid, alg).await {
            return k;
        }
        // Perhaps rotated: fetch the keys again, not more than once a minute.
        {
            let mut keys = self.keys.write().await;
            if keys.1.elapsed() >= JWKS_REFRESH {
                let fresh: JwkSet = get_json(&self.http, &self.discovery.jwks_uri).await?;
                *keys = (fresh, Instant::now());
            }
        }
        match self.find(kid, alg).await {
            Some(k) => k,
            None => Err(OidcError::InvalidToken(
                "signed with a key the issuer does not publish".into(),
            )),
        }
    }

    async fn find(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<Result<DecodingKey, OidcError>> {
        let keys = self.keys.read().await;
        let jwk = match kid {
            Some(kid) => keys.0.find(kid)?,
            // Without a kid only an issuer with one key is unambiguous.
            None if keys.0.keys.len() == 1 => &keys.0.keys[0],
            None => return None,
        };
        if let Some(key_alg) = jwk.common.key_algorithm
            && format!("{key_alg:?}") != format!("{alg:?}")
        {
            return Some(Err(OidcError::InvalidToken(
                "the token's algorithm is not its key's".into(),
            )));
        }
        Some(
            DecodingKey::from_jwk(jwk)
                .map_err(|_| OidcError::InvalidToken("the issuer's key is unusable".into())),
        )
    }
}

fn describe(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "expired".into(),
        ErrorKind::ImmatureSignature => "not valid yet".into(),
        ErrorKind::InvalidIssuer => "issued by another issuer".into(),
        ErrorKind::InvalidAudience => "issued for another client".into(),
        ErrorKind::InvalidSignature => "the signature does not verify".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("no {c} claim"),
        _ => "malformed".into(),
    }
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, OidcError> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| OidcError::Provider(format!("{url}: {}", e.without_url())))?;
    if !response.status().is_success() {
        return Err(OidcError::Provider(format!(
            "{url} answered {}",
            response.status()
        )));
    }
    response
        .json()
        .await
        .map_err(|e| OidcError::Provider(format!("{url}: {}", e.without_url())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_state_round_trips_and_refuses_junk() {
        let l = LoginState::new();
        assert_eq!(LoginState::decode(&l.encode()), Some(l.clone()));
        assert_eq!(LoginState::decode("a.b.c"), None);
        assert_eq!(LoginState::decode(&format!("{}.x", l.encode())), None);
        assert_eq!(
            LoginState::decode(&l.encode().replace('.', ".<")),
            None,
            "only URL-safe characters"
        );
    }

    #[test]
    fn the_pkce_challenge_is_rfc_7636_s256() {
        // RFC 7636 appendix B.
        let l = LoginState {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        };
        assert_eq!(l.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
