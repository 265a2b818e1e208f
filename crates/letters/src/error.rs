use std::path::PathBuf;

/// Why letters cannot be rendered. Raised at start (settings, templates) or when a
/// letter is rendered again from a record.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    #[error("letter settings: {0}")]
    Settings(String),
    #[error("letter templates in {}: {detail}", path.display())]
    TemplateDir { path: PathBuf, detail: String },
    #[error("letter template {template}: {detail}")]
    Template { template: String, detail: String },
    #[error("letter template {template} uses the unknown placeholder `{name}` (known: {known})")]
    UnknownPlaceholder {
        template: String,
        name: String,
        known: String,
    },
    #[error(
        "letter templates: language {language} has no {template} (every language needs every template of the set)"
    )]
    MissingTranslation { language: String, template: String },
    #[error("letter template {template} could not be rendered for a {kind} letter: {detail}")]
    Render {
        template: String,
        kind: String,
        detail: String,
    },
    #[error(
        "a {outcome} record has no letter: the ticket is not answered until a person completes it"
    )]
    NoLetter { outcome: String },
    #[error("the record has no letter section (written before letters, or without them)")]
    NotInRecord,
    #[error("the record has no {kind} letter in {language} (it has: {recorded})")]
    NotRecorded {
        kind: String,
        language: String,
        recorded: String,
    },
    #[error(
        "the record's letter was rendered with template set {recorded}; the embedded sets and the configured templates ({current}) differ: render it with that template set"
    )]
    TemplateSetChanged { recorded: String, current: String },
    #[error(
        "the record's letter was rendered with letter settings {recorded}, the current settings are {current}: render it with the settings of that time"
    )]
    SettingsChanged { recorded: String, current: String },
    #[error("the record cannot be read for a letter: {0}")]
    Record(String),
}
