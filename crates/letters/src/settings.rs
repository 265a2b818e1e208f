//! The controller's settings the letters name (`docs/letters.md`): who writes, whom to
//! ask, where to complain, in which languages, and optionally the template directory.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::LetterError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LetterSettings {
    pub controller: Controller,
    pub dpo: Dpo,
    pub supervisory_authority: Authority,
    /// Every language a letter is rendered in, the first the DSAR tool's default.
    #[serde(default = "default_languages")]
    pub languages: Vec<String>,
    /// A directory of templates in place of the embedded set (`<lang>/<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Controller {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dpo {
    /// An address the subject can write to (a role mailbox, not a person's).
    pub contact: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authority {
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub url: Option<String>,
}

fn default_languages() -> Vec<String> {
    vec!["en".into(), "de".into()]
}

/// What the letters say, as one document: its digest is what the record names.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Said<'a> {
    controller: &'a Controller,
    dpo: &'a Dpo,
    supervisory_authority: &'a Authority,
}

impl LetterSettings {
    /// Parses and checks settings from JSON.
    pub fn from_json(text: &str) -> Result<Self, LetterError> {
        let s: LetterSettings = serde_json::from_str(text)
            .map_err(|e| LetterError::Settings(format!("not valid: {e}")))?;
        s.check()?;
        Ok(s)
    }

    /// The example controller of the demo and the tests.
    pub fn example() -> Self {
        LetterSettings {
            controller: Controller {
                name: "Example Contact Centre Ltd".into(),
                address: Some("1 Harbour Square, Dublin 2, Ireland".into()),
            },
            dpo: Dpo {
                contact: "privacy-office@contact-centre.example.ie".into(),
            },
            supervisory_authority: Authority {
                name: "Data Protection Commission".into(),
                address: "21 Fitzwilliam Square South, Dublin 2, D02 RD28, Ireland".into(),
                url: Some("https://www.dataprotection.ie".into()),
            },
            languages: default_languages(),
            template_dir: None,
        }
    }

    pub fn check(&self) -> Result<(), LetterError> {
        let bad = |m: &str| Err(LetterError::Settings(m.to_owned()));
        let text_ok = |s: &str| !s.trim().is_empty() && s.chars().count() <= 500;
        if !text_ok(&self.controller.name) {
            return bad("controller.name must be 1 to 500 characters");
        }
        if self
            .controller
            .address
            .as_deref()
            .is_some_and(|a| !text_ok(a))
        {
            return bad("controller.address must be 1 to 500 characters when given");
        }
        if !text_ok(&self.dpo.contact) {
            return bad("dpo.contact must be 1 to 500 characters");
        }
        if !text_ok(&self.supervisory_authority.name)
            || !text_ok(&self.supervisory_authority.address)
        {
            return bad("supervisoryAuthority.name and .address must be 1 to 500 characters");
        }
        if self.languages.is_empty() {
            return bad("languages must name at least one language");
        }
        for (i, l) in self.languages.iter().enumerate() {
            let ok = (2..=8).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                && l.starts_with(|c: char| c.is_ascii_lowercase());
            if !ok {
                return Err(LetterError::Settings(format!(
                    "languages[{i}] `{l}` is not a language tag such as en or de"
                )));
            }
            if self.languages[..i].contains(l) {
                return Err(LetterError::Settings(format!("languages names {l} twice")));
            }
        }
        Ok(())
    }

    /// `sha256:<hex>` of what the letters say from the settings (controller, DPO,
    /// authority; not the languages or where templates are).
    pub fn digest(&self) -> String {
        let said = Said {
            controller: &self.controller,
            dpo: &self.dpo,
            supervisory_authority: &self.supervisory_authority,
        };
        crate::sha256(&serde_json::to_vec(&said).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_with_precise_errors() {
        assert!(LetterSettings::example().check().is_ok());
        let mut s = LetterSettings::example();
        s.languages = vec!["en".into(), "EN".into()];
        let e = s.check().unwrap_err().to_string();
        assert!(e.contains("languages[1] `EN`"), "{e}");
        s.languages = vec!["en".into(), "en".into()];
        assert!(s.check().unwrap_err().to_string().contains("twice"));
        let e = LetterSettings::from_json(r#"{"controller":{"name":"X"},"dpo":{"contact":"d"}}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("supervisoryAuthority"), "{e}");
    }

    #[test]
    fn the_digest_covers_what_is_said_not_where_templates_are() {
        let a = LetterSettings::example();
        let mut b = a.clone();
        b.template_dir = Some("/somewhere".into());
        b.languages = vec!["de".into()];
        assert_eq!(a.digest(), b.digest());
        b.dpo.contact = "privacy@example.com".into();
        assert_ne!(a.digest(), b.digest());
    }
}
