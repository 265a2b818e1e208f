//! Template sets: the embedded default (each version kept as it was, addressed by its
//! digest, so a record's letter renders again after the defaults change) or a
//! controller's directory.
//!
//! The digest of a set is SHA-256 over its files in name order, each as
//! `<name> NUL <length as 8 bytes big-endian> <content>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::LetterError;

macro_rules! embedded_set {
    ($version:literal: $($file:literal),* $(,)?) => {
        (
            $version,
            &[$(($file, include_str!(concat!("../templates/", $version, "/", $file)))),*],
        )
    };
}

/// Every embedded set, oldest first; the last is the default. A released set is never
/// edited: a change of wording is a new version.
const EMBEDDED: &[(&str, &[(&str, &str)])] = &[embedded_set!("v1":
    "en/_footer.txt", "en/_head.txt", "en/_late.txt", "en/_macros.txt", "en/_systems.txt",
    "en/completed.txt", "en/deferred.txt", "en/extension.txt", "en/letter.html",
    "en/nothing-found.txt", "en/partial.txt", "en/rejected.txt",
    "de/_footer.txt", "de/_head.txt", "de/_late.txt", "de/_macros.txt", "de/_systems.txt",
    "de/completed.txt", "de/deferred.txt", "de/extension.txt", "de/letter.html",
    "de/nothing-found.txt", "de/partial.txt", "de/rejected.txt",
)];

/// A template directory holds at most this many files of at most this size.
const MAX_FILES: usize = 500;
const MAX_FILE_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateOrigin {
    Embedded { version: &'static str },
    Directory(PathBuf),
}

#[derive(Debug, Clone)]
pub struct TemplateSet {
    origin: TemplateOrigin,
    files: BTreeMap<String, String>,
    digest: String,
}

impl TemplateSet {
    /// The current embedded default.
    pub fn embedded() -> Self {
        let (version, files) = EMBEDDED[EMBEDDED.len() - 1];
        Self::from_embedded(version, files)
    }

    /// Every embedded version, oldest first.
    pub fn embedded_sets() -> Vec<Self> {
        EMBEDDED
            .iter()
            .map(|(v, files)| Self::from_embedded(v, files))
            .collect()
    }

    fn from_embedded(version: &'static str, files: &[(&str, &str)]) -> Self {
        let files = files
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect();
        Self::new(TemplateOrigin::Embedded { version }, files)
    }

    /// Every file of `<dir>/<lang>/<name>` (one level of language directories; names of
    /// a-z 0-9 _ . -). Anything else in the directory is refused, not skipped.
    pub fn from_dir(dir: &Path) -> Result<Self, LetterError> {
        let err = |detail: String| LetterError::TemplateDir {
            path: dir.to_owned(),
            detail,
        };
        let name_ok = |n: &str| {
            !n.is_empty()
                && !n.starts_with('.')
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
        };
        let mut files = BTreeMap::new();
        let langs = std::fs::read_dir(dir).map_err(|e| err(format!("cannot be read: {e}")))?;
        for lang in langs {
            let lang = lang.map_err(|e| err(format!("cannot be read: {e}")))?;
            let lang_name = lang.file_name().to_string_lossy().into_owned();
            if !lang.path().is_dir() || !name_ok(&lang_name) {
                return Err(err(format!(
                    "{lang_name} is not a language directory (expected <lang>/<template>)"
                )));
            }
            let entries = std::fs::read_dir(lang.path())
                .map_err(|e| err(format!("{lang_name} cannot be read: {e}")))?;
            for f in entries {
                let f = f.map_err(|e| err(format!("{lang_name} cannot be read: {e}")))?;
                let name = format!("{lang_name}/{}", f.file_name().to_string_lossy());
                let meta = f.metadata().map_err(|e| err(format!("{name}: {e}")))?;
                if !meta.is_file() || !name_ok(&f.file_name().to_string_lossy()) {
                    return Err(err(format!("{name} is not a template file")));
                }
                if meta.len() > MAX_FILE_BYTES {
                    return Err(err(format!("{name} is larger than {MAX_FILE_BYTES} bytes")));
                }
                let text = std::fs::read_to_string(f.path())
                    .map_err(|e| err(format!("{name} is not UTF-8 text: {e}")))?;
                files.insert(name, text);
                if files.len() > MAX_FILES {
                    return Err(err(format!("more than {MAX_FILES} files")));
                }
            }
        }
        if files.is_empty() {
            return Err(err("holds no templates".into()));
        }
        Ok(Self::new(TemplateOrigin::Directory(dir.to_owned()), files))
    }

    fn new(origin: TemplateOrigin, files: BTreeMap<String, String>) -> Self {
        let mut h = Sha256::new();
        for (name, text) in &files {
            h.update(name.as_bytes());
            h.update([0]);
            h.update((text.len() as u64).to_be_bytes());
            h.update(text.as_bytes());
        }
        let digest = format!("sha256:{}", hex::encode(h.finalize()));
        TemplateSet {
            origin,
            files,
            digest,
        }
    }

    pub fn origin(&self) -> &TemplateOrigin {
        &self.origin
    }

    /// `embedded:<version>` or `custom`, as the record names the set.
    pub fn label(&self) -> String {
        match &self.origin {
            TemplateOrigin::Embedded { version } => format!("embedded:{version}"),
            TemplateOrigin::Directory(_) => "custom".into(),
        }
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// Writes the set into `dir` as `<lang>/<name>`: the start of a controller's own.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<()> {
        for (name, text) in &self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, text)?;
        }
        Ok(())
    }
}
