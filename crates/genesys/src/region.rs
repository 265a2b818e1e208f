//! Genesys Cloud regions and where a client sends its calls.
//!
//! Each org lives in one region; the API host is `api.<domain>` and the token host is
//! `login.<domain>` (contract 1.1). The local emulator serves both on one base URL.

use std::fmt;
use std::str::FromStr;

use url::Url;

macro_rules! regions {
    ($($variant:ident => $name:literal, $domain:literal;)+) => {
        /// A Genesys Cloud region, named as the Genesys SDKs name it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Region {
            $(
                #[doc = concat!("`", $name, "`: `", $domain, "`")]
                $variant,
            )+
        }

        impl Region {
            /// Every region, in the order of the contract's table.
            pub const ALL: &'static [Region] = &[$(Region::$variant),+];

            /// The SDK key, e.g. `eu_west_1`.
            pub fn name(self) -> &'static str {
                match self { $(Region::$variant => $name,)+ }
            }

            /// The region's domain, e.g. `mypurecloud.ie`.
            pub fn domain(self) -> &'static str {
                match self { $(Region::$variant => $domain,)+ }
            }
        }
    };
}

regions! {
    UsEast1 => "us_east_1", "mypurecloud.com";
    EuWest1 => "eu_west_1", "mypurecloud.ie";
    ApSoutheast2 => "ap_southeast_2", "mypurecloud.com.au";
    ApNortheast1 => "ap_northeast_1", "mypurecloud.jp";
    EuCentral1 => "eu_central_1", "mypurecloud.de";
    UsWest2 => "us_west_2", "usw2.pure.cloud";
    CaCentral1 => "ca_central_1", "cac1.pure.cloud";
    ApNortheast2 => "ap_northeast_2", "apne2.pure.cloud";
    EuWest2 => "eu_west_2", "euw2.pure.cloud";
    ApSouth1 => "ap_south_1", "aps1.pure.cloud";
    UsEast2 => "us_east_2", "use2.us-gov-pure.cloud";
    SaEast1 => "sa_east_1", "sae1.pure.cloud";
    MeCentral1 => "me_central_1", "mec1.pure.cloud";
    ApNortheast3 => "ap_northeast_3", "apne3.pure.cloud";
    EuCentral2 => "eu_central_2", "euc2.pure.cloud";
    MxCentral1 => "mx_central_1", "mxc1.pure.cloud";
    ApSoutheast1 => "ap_southeast_1", "apse1.pure.cloud";
    EuscDeEast1 => "eusc_de_east_1", "edee1.eusc-pure.cloud";
}

impl Region {
    /// `https://api.<domain>/`
    pub fn api_base(self) -> Url {
        https_base("api", self.domain())
    }

    /// `https://login.<domain>/`
    pub fn login_base(self) -> Url {
        https_base("login", self.domain())
    }
}

fn https_base(label: &str, domain: &str) -> Url {
    // Only ever called with the static table above (no input reaches it); the
    // region test parses every entry.
    Url::parse(&format!("https://{label}.{domain}/")).expect("static region hosts are valid URLs")
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no known region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Genesys Cloud region {input:?}: expected a region name such as eu_west_1 or a domain such as mypurecloud.ie"
)]
pub struct UnknownRegion {
    /// What was given (a region name or domain is not personal data).
    pub input: String,
}

impl FromStr for Region {
    type Err = UnknownRegion;

    /// Accepts the SDK name (`eu_west_1`, also `eu-west-1`), the domain
    /// (`mypurecloud.ie`), or the API/login host (`api.mypurecloud.ie`); any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().trim_end_matches('.').to_ascii_lowercase();
        let host = wanted
            .strip_prefix("api.")
            .or_else(|| wanted.strip_prefix("login."))
            .unwrap_or(&wanted);
        Region::ALL
            .iter()
            .copied()
            .find(|r| r.name() == wanted.replace('-', "_") || r.domain() == host)
            .ok_or_else(|| UnknownRegion {
                input: s.to_owned(),
            })
    }
}

/// Where the client sends its calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Environment {
    /// A real Genesys Cloud region: `https://login.<domain>/oauth/token` and
    /// `https://api.<domain>/api/v2/...`.
    Region(Region),
    /// One base URL that serves both `/oauth/token` and `/api/v2/...` (the local
    /// emulator).
    BaseUrl(Url),
    /// Separate bases for the token endpoint and the API (a proxy, a test double).
    Custom {
        /// Base of `/api/v2/...`.
        api_base: Url,
        /// Base of `/oauth/token`.
        login_base: Url,
    },
}

impl Environment {
    /// The base URL of `/api/v2/...`, with a trailing slash.
    pub fn api_base(&self) -> Url {
        match self {
            Environment::Region(r) => r.api_base(),
            Environment::BaseUrl(u) => with_trailing_slash(u),
            Environment::Custom { api_base, .. } => with_trailing_slash(api_base),
        }
    }

    /// The base URL of `/oauth/token`, with a trailing slash.
    pub fn login_base(&self) -> Url {
        match self {
            Environment::Region(r) => r.login_base(),
            Environment::BaseUrl(u) => with_trailing_slash(u),
            Environment::Custom { login_base, .. } => with_trailing_slash(login_base),
        }
    }
}

fn with_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

impl From<Region> for Environment {
    fn from(region: Region) -> Self {
        Environment::Region(region)
    }
}

/// A string that names neither a region nor a usable base URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentParseError {
    /// Not a region name or domain.
    #[error(transparent)]
    UnknownRegion(#[from] UnknownRegion),
    /// Looked like a URL but was not a usable http(s) base URL.
    #[error("invalid Genesys base URL: {reason}")]
    InvalidBaseUrl {
        /// What was wrong.
        reason: String,
    },
}

impl FromStr for Environment {
    type Err = EnvironmentParseError;

    /// `http://127.0.0.1:8080` (anything with `://`) is a base URL, except the
    /// `api.`/`login.` host of a known region, which is that region; anything else a
    /// region name or domain.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.contains("://") {
            let url = Url::parse(s).map_err(|e| EnvironmentParseError::InvalidBaseUrl {
                reason: e.to_string(),
            })?;
            check_base_url(&url).map_err(|reason| EnvironmentParseError::InvalidBaseUrl {
                reason: reason.to_owned(),
            })?;
            // `https://api.mypurecloud.ie` names a region: its token endpoint is on
            // `login.`, not on the URL given, so it must not become a single base URL.
            if let Some(region) = url
                .host_str()
                .and_then(|host| host.parse::<Region>().ok())
                .filter(|r| {
                    url.host_str() == r.api_base().host_str()
                        || url.host_str() == r.login_base().host_str()
                })
            {
                return Ok(Environment::Region(region));
            }
            Ok(Environment::BaseUrl(url))
        } else {
            Ok(Environment::Region(s.parse()?))
        }
    }
}

/// Why a base URL cannot be used, if it cannot.
pub(crate) fn check_base_url(url: &Url) -> Result<(), &'static str> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https");
    }
    if url.host().is_none() {
        return Err("the URL has no host");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("a base URL cannot carry a query or fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a base URL cannot carry credentials");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's table 1.1, verbatim.
    const CONTRACT_TABLE: &[(&str, &str)] = &[
        ("us_east_1", "mypurecloud.com"),
        ("eu_west_1", "mypurecloud.ie"),
        ("ap_southeast_2", "mypurecloud.com.au"),
        ("ap_northeast_1", "mypurecloud.jp"),
        ("eu_central_1", "mypurecloud.de"),
        ("us_west_2", "usw2.pure.cloud"),
        ("ca_central_1", "cac1.pure.cloud"),
        ("ap_northeast_2", "apne2.pure.cloud"),
        ("eu_west_2", "euw2.pure.cloud"),
        ("ap_south_1", "aps1.pure.cloud"),
        ("us_east_2", "use2.us-gov-pure.cloud"),
        ("sa_east_1", "sae1.pure.cloud"),
        ("me_central_1", "mec1.pure.cloud"),
        ("ap_northeast_3", "apne3.pure.cloud"),
        ("eu_central_2", "euc2.pure.cloud"),
        ("mx_central_1", "mxc1.pure.cloud"),
        ("ap_southeast_1", "apse1.pure.cloud"),
        ("eusc_de_east_1", "edee1.eusc-pure.cloud"),
    ];

    #[test]
    fn every_contract_region_maps_name_to_domain_and_hosts() {
        assert_eq!(Region::ALL.len(), CONTRACT_TABLE.len());
        for (name, domain) in CONTRACT_TABLE {
            let by_name: Region = name.parse().unwrap();
            let by_domain: Region = domain.parse().unwrap();
            assert_eq!(by_name, by_domain, "{name}");
            assert_eq!(by_name.name(), *name);
            assert_eq!(by_name.domain(), *domain);
            assert_eq!(by_name.to_string(), *name);
            assert_eq!(
                by_name.api_base().as_str(),
                format!("https://api.{domain}/")
            );
            assert_eq!(
                by_name.login_base().as_str(),
                format!("https://login.{domain}/")
            );
            let env = Environment::from(by_name);
            assert_eq!(
                env.login_base().join("oauth/token").unwrap().as_str(),
                format!("https://login.{domain}/oauth/token")
            );
        }
    }

    #[test]
    fn region_parses_hyphenated_upper_case_and_host_forms() {
        assert_eq!("EU-WEST-1".parse::<Region>().unwrap(), Region::EuWest1);
        assert_eq!(
            "api.mypurecloud.de".parse::<Region>().unwrap(),
            Region::EuCentral1
        );
        assert_eq!(
            "login.euw2.pure.cloud".parse::<Region>().unwrap(),
            Region::EuWest2
        );
    }

    #[test]
    fn unknown_region_is_a_precise_error() {
        let err = "mars_north_1".parse::<Region>().unwrap_err();
        assert!(err.to_string().contains("mars_north_1"), "{err}");
        // `api.mypurecloud.com` is a host of us_east_1; a bare `mypurecloud` is not a domain.
        assert!("mypurecloud".parse::<Region>().is_err());
    }

    #[test]
    fn environment_parses_a_base_url_or_a_region() {
        let env: Environment = "http://127.0.0.1:9000".parse().unwrap();
        assert_eq!(env.api_base().as_str(), "http://127.0.0.1:9000/");
        assert_eq!(env.login_base().as_str(), "http://127.0.0.1:9000/");
        let env: Environment = "http://localhost:9000/genesys".parse().unwrap();
        assert_eq!(
            env.api_base()
                .join("api/v2/gdpr/requests")
                .unwrap()
                .as_str(),
            "http://localhost:9000/genesys/api/v2/gdpr/requests"
        );
        assert_eq!(
            "eu_west_1".parse::<Environment>().unwrap(),
            Environment::Region(Region::EuWest1)
        );
        assert!("ftp://example.com".parse::<Environment>().is_err());
        // A real region's API host is that region, so the token goes to `login.`.
        let env: Environment = "https://api.mypurecloud.ie/".parse().unwrap();
        assert_eq!(env, Environment::Region(Region::EuWest1));
        assert_eq!(env.login_base().as_str(), "https://login.mypurecloud.ie/");
        assert!("http://u:p@example.com".parse::<Environment>().is_err());
        assert!("nowhere".parse::<Environment>().is_err());
    }
}
