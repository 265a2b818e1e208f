//! The engine: a template set and the settings, checked once at start, rendering a
//! record's letters in text and HTML.
//!
//! The text template is the letter; the HTML rendering is the same text laid out by the
//! language's `letter.html` (its first paragraph the title, lines starting `- ` a list),
//! so the two never say different things.

use std::collections::BTreeSet;

use erasure_core::record::{ComplianceRecord, LetterDigest, LetterRecord};
use minijinja::value::{Serde, Value};
use minijinja::{Environment, UndefinedBehavior, context};
use serde::{Deserialize, Serialize};

use crate::context::{LetterContext, LetterKind, TOP_LEVEL};
use crate::error::LetterError;
use crate::settings::LetterSettings;
use crate::templates::TemplateSet;

/// The layout every language has for the HTML rendering.
const HTML_LAYOUT: &str = "letter.html";
/// Names `letter.html` may use.
const HTML_TOP_LEVEL: &[&str] = &["title", "blocks", "letter"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Html,
}

/// One rendering of one letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Letter {
    pub kind: String,
    pub language: String,
    pub format: Format,
    pub body: String,
    /// `sha256:<hex>` of `body` in UTF-8.
    pub sha256: String,
}

/// A record's letters as sent: the record's `letter` section, and every rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedLetters {
    pub record: LetterRecord,
    pub letters: Vec<Letter>,
}

pub struct Letters {
    settings: LetterSettings,
    set: TemplateSet,
    env: Environment<'static>,
}

impl std::fmt::Debug for Letters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letters")
            .field("templates", &self.set.label())
            .field("digest", &self.set.digest())
            .field("languages", &self.settings.languages)
            .finish_non_exhaustive()
    }
}

impl Letters {
    /// The settings' template directory, or the embedded default set; checked.
    pub fn from_settings(settings: LetterSettings) -> Result<Self, LetterError> {
        let set = match &settings.template_dir {
            Some(dir) => TemplateSet::from_dir(dir)?,
            None => TemplateSet::embedded(),
        };
        Self::new(settings, set)
    }

    /// Checks the settings and every template: each outcome's template and the HTML
    /// layout in every language, no template one language has and another lacks, no
    /// unknown placeholder, and every template rendered against sample facts.
    pub fn new(settings: LetterSettings, set: TemplateSet) -> Result<Self, LetterError> {
        settings.check()?;
        let env = environment(&set)?;
        let letters = Letters { settings, set, env };
        letters.check_translations()?;
        letters.check_placeholders()?;
        letters.check_samples()?;
        Ok(letters)
    }

    pub fn settings(&self) -> &LetterSettings {
        &self.settings
    }

    pub fn template_set(&self) -> &TemplateSet {
        &self.set
    }

    fn check_translations(&self) -> Result<(), LetterError> {
        let names = |lang: &str| -> BTreeSet<String> {
            self.set
                .files()
                .keys()
                .filter_map(|n| n.strip_prefix(&format!("{lang}/")).map(str::to_owned))
                .collect()
        };
        // The outcomes' templates and the layout first, then what any language has.
        let mut all: Vec<String> = LetterKind::ALL
            .iter()
            .map(|k| format!("{}.txt", k.as_str()))
            .collect();
        all.push(HTML_LAYOUT.into());
        let others: BTreeSet<String> = self
            .settings
            .languages
            .iter()
            .flat_map(|l| names(l))
            .filter(|n| !all.contains(n))
            .collect();
        all.extend(others);
        for lang in &self.settings.languages {
            let have = names(lang);
            if let Some(missing) = all.iter().find(|n| !have.contains(*n)) {
                return Err(LetterError::MissingTranslation {
                    language: lang.clone(),
                    template: format!("{lang}/{missing}"),
                });
            }
        }
        Ok(())
    }

    fn check_placeholders(&self) -> Result<(), LetterError> {
        for lang in &self.settings.languages {
            for (name, _) in self.set.files().range(format!("{lang}/")..) {
                if !name.starts_with(&format!("{lang}/")) {
                    break;
                }
                let known = if name.ends_with(&format!("/{HTML_LAYOUT}")) {
                    HTML_TOP_LEVEL
                } else {
                    TOP_LEVEL
                };
                let t = self
                    .env
                    .get_template(name)
                    .map_err(|e| template_error(name, &e))?;
                let mut unknown: Vec<String> = t
                    .undeclared_variables(false)
                    .into_iter()
                    .filter(|v| !known.contains(&v.as_str()))
                    .collect();
                unknown.sort();
                if let Some(name_used) = unknown.into_iter().next() {
                    return Err(LetterError::UnknownPlaceholder {
                        template: name.clone(),
                        name: name_used,
                        known: known.join(", "),
                    });
                }
            }
        }
        Ok(())
    }

    fn check_samples(&self) -> Result<(), LetterError> {
        for lang in &self.settings.languages {
            for kind in LetterKind::ALL {
                for sample in crate::samples::samples(&self.settings, kind, lang) {
                    let text = self.render_context(&sample, Format::Text)?;
                    if text.trim().is_empty() {
                        return Err(LetterError::Render {
                            template: kind.template(lang),
                            kind: kind.as_str().into(),
                            detail: "the letter is empty".into(),
                        });
                    }
                    self.render_context(&sample, Format::Html)?;
                }
            }
        }
        Ok(())
    }

    fn render_context(&self, ctx: &LetterContext, format: Format) -> Result<String, LetterError> {
        let name = ctx.kind.template(&ctx.language);
        let render_err = |template: &str, e: minijinja::Error| LetterError::Render {
            template: template.to_owned(),
            kind: ctx.kind.as_str().into(),
            detail: describe(&e),
        };
        let t = self
            .env
            .get_template(&name)
            .map_err(|e| render_err(&name, e))?;
        let text = tidy(
            &t.render(Value::from(Serde(ctx)))
                .map_err(|e| render_err(&name, e))?,
        );
        match format {
            Format::Text => Ok(text),
            Format::Html => {
                let layout = format!("{}/{HTML_LAYOUT}", ctx.language);
                let (title, blocks) = blocks(&text);
                let t = self
                    .env
                    .get_template(&layout)
                    .map_err(|e| render_err(&layout, e))?;
                let html = t
                    .render(context! {
                        title => title,
                        blocks => Value::from(Serde(&blocks)),
                        letter => Value::from(Serde(ctx)),
                    })
                    .map_err(|e| render_err(&layout, e))?;
                Ok(tidy(&html))
            }
        }
    }

    /// One letter of a record, with this engine's templates and settings (no check that
    /// they are the record's: see [`render_letter`]).
    pub fn render(
        &self,
        record: &ComplianceRecord,
        kind: LetterKind,
        language: &str,
        format: Format,
    ) -> Result<Letter, LetterError> {
        if !self.settings.languages.iter().any(|l| l == language) {
            return Err(LetterError::Settings(format!(
                "{language} is not one of the configured languages ({})",
                self.settings.languages.join(", ")
            )));
        }
        let ctx = LetterContext::from_record(record, &self.settings, kind, language)?;
        let body = self.render_context(&ctx, format)?;
        Ok(Letter {
            kind: kind.as_str().into(),
            language: language.into(),
            format,
            sha256: crate::sha256(body.as_bytes()),
            body,
        })
    }

    /// Every letter of a record (its outcome's, and the extension notice when there is
    /// one) in every language and both formats, and the section the record keeps of
    /// them. `None` for a record with no letter (FAILED).
    pub fn render_record(
        &self,
        record: &ComplianceRecord,
    ) -> Result<Option<RenderedLetters>, LetterError> {
        let kinds = LetterKind::for_record(record);
        if kinds.is_empty() {
            return Ok(None);
        }
        let mut letters = Vec::new();
        let mut digests = Vec::new();
        for kind in kinds {
            for lang in &self.settings.languages {
                let text = self.render(record, kind, lang, Format::Text)?;
                let html = self.render(record, kind, lang, Format::Html)?;
                digests.push(LetterDigest {
                    kind: kind.as_str().into(),
                    language: lang.clone(),
                    text: text.sha256.clone(),
                    html: html.sha256.clone(),
                });
                letters.push(text);
                letters.push(html);
            }
        }
        Ok(Some(RenderedLetters {
            record: LetterRecord {
                template_set: self.set.digest().to_owned(),
                templates: self.set.label(),
                settings: self.settings.digest(),
                letters: digests,
            },
            letters,
        }))
    }

    /// An engine with the template set the record names: this one's, or an embedded
    /// version with that digest.
    fn for_record(
        &self,
        recorded: &LetterRecord,
    ) -> Result<std::borrow::Cow<'_, Letters>, LetterError> {
        if recorded.settings != self.settings.digest() {
            return Err(LetterError::SettingsChanged {
                recorded: recorded.settings.clone(),
                current: self.settings.digest(),
            });
        }
        if recorded.template_set == self.set.digest() {
            return Ok(std::borrow::Cow::Borrowed(self));
        }
        match TemplateSet::embedded_sets()
            .into_iter()
            .find(|s| s.digest() == recorded.template_set)
        {
            Some(set) => Ok(std::borrow::Cow::Owned(Letters::new(
                self.settings.clone(),
                set,
            )?)),
            None => Err(LetterError::TemplateSetChanged {
                recorded: format!("{} ({})", recorded.template_set, recorded.templates),
                current: format!("{} {}", self.set.label(), self.set.digest()),
            }),
        }
    }
}

impl Clone for Letters {
    fn clone(&self) -> Self {
        Letters {
            settings: self.settings.clone(),
            set: self.set.clone(),
            env: environment(&self.set).expect("a checked set builds again"),
        }
    }
}

/// A record's letter again, as it was sent: the outcome's letter (or `kind`, e.g. the
/// extension notice) in `language` and `format`, rendered with the template set and
/// settings the record names, and checked against the digest the record holds.
pub fn render_letter(
    letters: &Letters,
    record: &ComplianceRecord,
    kind: Option<LetterKind>,
    language: &str,
    format: Format,
) -> Result<Letter, LetterError> {
    let recorded = record.letter.as_ref().ok_or(LetterError::NotInRecord)?;
    let kind = match kind {
        Some(k) => k,
        None => LetterKind::for_outcome(record).ok_or_else(|| LetterError::NoLetter {
            outcome: record.outcome.as_str().into(),
        })?,
    };
    let entry = recorded
        .letters
        .iter()
        .find(|l| l.kind == kind.as_str() && l.language == language)
        .ok_or_else(|| LetterError::NotRecorded {
            kind: kind.as_str().into(),
            language: language.into(),
            recorded: recorded
                .letters
                .iter()
                .map(|l| format!("{} {}", l.kind, l.language))
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let mut engine = letters.for_record(recorded)?;
    if !engine.settings.languages.iter().any(|l| l == language) {
        // Recorded in a language no longer configured: the set must still have it.
        let mut settings = engine.settings.clone();
        settings.languages.push(language.into());
        engine = std::borrow::Cow::Owned(Letters::new(settings, engine.set.clone())?);
    }
    let letter = engine.render(record, kind, language, format)?;
    let want = match format {
        Format::Text => &entry.text,
        Format::Html => &entry.html,
    };
    if &letter.sha256 != want {
        return Err(LetterError::Record(format!(
            "the {} {} letter renders to {}, the record holds {want}",
            kind.as_str(),
            language,
            letter.sha256
        )));
    }
    Ok(letter)
}

fn environment(set: &TemplateSet) -> Result<Environment<'static>, LetterError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| template_error("(syntax)", &e))?,
    );
    // Escape HTML in .html templates only (minijinja's default by file name).
    for (name, text) in set.files() {
        env.add_template_owned(name.clone(), text.clone())
            .map_err(|e| template_error(name, &e))?;
    }
    Ok(env)
}

fn template_error(name: &str, e: &minijinja::Error) -> LetterError {
    LetterError::Template {
        template: name.to_owned(),
        detail: describe(e),
    }
}

/// The error with where it happened (template and line), without minijinja's
/// multi-line debug dump.
fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// Trailing spaces off every line, at most one blank line in a row, one final newline:
/// the letter does not depend on how a template's conditions laid out whitespace.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = true;
    for line in s.lines().map(str::trim_end) {
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[derive(Debug, Serialize)]
struct Block<'a> {
    list: bool,
    lines: Vec<&'a str>,
}

/// The text's first paragraph (the title) and the rest as paragraphs and lists.
fn blocks(text: &str) -> (String, Vec<Block<'_>>) {
    let mut paragraphs = text
        .split("\n\n")
        .map(|p| p.trim_matches('\n'))
        .filter(|p| !p.is_empty());
    let title = paragraphs.next().unwrap_or_default().replace('\n', " ");
    let mut out: Vec<Block<'_>> = Vec::new();
    for p in paragraphs {
        let mut current: Option<Block<'_>> = None;
        for line in p.lines() {
            let (list, line) = match line.strip_prefix("- ") {
                Some(item) => (true, item),
                None => (false, line),
            };
            match &mut current {
                Some(b) if b.list == list => b.lines.push(line),
                _ => {
                    out.extend(current.take());
                    current = Some(Block {
                        list,
                        lines: vec![line],
                    });
                }
            }
        }
        out.extend(current);
    }
    (title, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_keeps_paragraphs_and_drops_layout_whitespace() {
        assert_eq!(tidy("a  \n\n\n\nb\n- c\n\n\n"), "a\n\nb\n- c\n");
        assert_eq!(tidy("\n\na"), "a\n");
    }

    #[test]
    fn blocks_split_paragraphs_and_lists() {
        let (title, b) = blocks("Title\n\nIntro:\n- one\n- two\nAfter\n\nEnd\n");
        assert_eq!(title, "Title");
        let shape: Vec<(bool, usize)> = b.iter().map(|b| (b.list, b.lines.len())).collect();
        assert_eq!(shape, [(false, 1), (true, 2), (false, 1), (false, 1)]);
    }
}
