//! Templates are checked at start: a bad set is refused with a precise error.

use letters::{LetterError, LetterSettings, Letters, TemplateSet};

fn custom(edit: impl FnOnce(&std::path::Path)) -> Result<Letters, LetterError> {
    let dir = tempfile::tempdir().unwrap();
    TemplateSet::embedded().write_to(dir.path()).unwrap();
    edit(dir.path());
    let mut s = LetterSettings::example();
    s.template_dir = Some(dir.path().to_owned());
    Letters::from_settings(s)
}

#[test]
fn the_embedded_set_passes_its_own_checks_in_both_languages() {
    let l = Letters::from_settings(LetterSettings::example()).unwrap();
    assert_eq!(l.template_set().label(), "embedded:v1");
    assert!(l.template_set().digest().starts_with("sha256:"));
}

#[test]
fn an_unchanged_copy_of_the_embedded_set_is_the_same_set_by_digest() {
    let l = custom(|_| {}).unwrap();
    assert_eq!(l.template_set().label(), "custom");
    assert_eq!(l.template_set().digest(), TemplateSet::embedded().digest());
}

#[test]
fn an_unknown_placeholder_is_refused_at_start() {
    let e = custom(|d| {
        let p = d.join("de/_head.txt");
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, t.replace("{{ reference }}", "{{ referenz }}")).unwrap();
    })
    .unwrap_err();
    assert!(matches!(e, LetterError::UnknownPlaceholder { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("de/_head.txt") && msg.contains("`referenz`"),
        "{msg}"
    );
}

#[test]
fn a_misspelt_field_inside_a_condition_is_refused_at_start() {
    let e = custom(|d| {
        let p = d.join("en/partial.txt");
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            &p,
            t.replace("gaps.recordings, \"call", "gaps.recording, \"call"),
        )
        .unwrap();
    })
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, LetterError::Render { .. }), "{msg}");
    assert!(msg.contains("en/partial.txt"), "{msg}");
}

#[test]
fn a_missing_translation_is_refused_at_start() {
    let e = custom(|d| std::fs::remove_file(d.join("de/deferred.txt")).unwrap()).unwrap_err();
    assert!(
        matches!(&e, LetterError::MissingTranslation { language, template } if language == "de" && template == "de/deferred.txt"),
        "{e}"
    );
    // A partial one language has and another lacks is missing too.
    let e = custom(|d| std::fs::write(d.join("en/_extra.txt"), "x").unwrap()).unwrap_err();
    assert!(e.to_string().contains("de/_extra.txt"), "{e}");
}

#[test]
fn a_syntax_error_names_the_template() {
    let e = custom(|d| std::fs::write(d.join("en/rejected.txt"), "{% if %}").unwrap()).unwrap_err();
    assert!(matches!(e, LetterError::Template { .. }), "{e}");
    assert!(e.to_string().contains("en/rejected.txt"), "{e}");
}

#[test]
fn a_language_without_templates_is_refused() {
    let mut s = LetterSettings::example();
    s.languages.push("fr".into());
    let e = Letters::from_settings(s).unwrap_err();
    assert!(
        e.to_string()
            .contains("language fr has no fr/completed.txt"),
        "{e}"
    );
}

mod again {
    //! Rendering a record's letter again: only with the template set and settings the
    //! record names.

    use erasure_core::record::{ComplianceRecord, Outcome};
    use letters::{Format, LetterError, LetterKind, LetterSettings, Letters, render_letter};

    fn record() -> ComplianceRecord {
        serde_json::from_str(include_str!("fixtures/deferred-record.json")).unwrap()
    }

    fn sent(l: &Letters) -> ComplianceRecord {
        let mut r = record();
        r.letter = Some(l.render_record(&r).unwrap().unwrap().record);
        r
    }

    #[test]
    fn the_same_set_and_settings_render_the_recorded_bytes() {
        let l = Letters::from_settings(LetterSettings::example()).unwrap();
        let r = sent(&l);
        for lang in ["en", "de"] {
            for f in [Format::Text, Format::Html] {
                let a = render_letter(&l, &r, None, lang, f).unwrap();
                assert_eq!(a.kind, "deferred");
                let d = r
                    .letter
                    .as_ref()
                    .unwrap()
                    .letters
                    .iter()
                    .find(|d| d.language == lang)
                    .unwrap();
                assert_eq!(&a.sha256, if f == Format::Text { &d.text } else { &d.html });
            }
        }
        // A copy of the embedded set in a directory is the same set.
        let copy = super::custom(|_| {}).unwrap();
        assert!(render_letter(&copy, &r, None, "de", Format::Html).is_ok());
    }

    #[test]
    fn a_changed_template_set_or_changed_settings_are_refused() {
        let l = Letters::from_settings(LetterSettings::example()).unwrap();
        let r = sent(&l);
        let edited = super::custom(|d| {
            let p = d.join("en/deferred.txt");
            let t = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, t.replace("must wait", "waits")).unwrap();
        })
        .unwrap();
        // Written with the embedded set: still found among the embedded sets.
        assert!(render_letter(&edited, &r, None, "en", Format::Text).is_ok());
        // Written with the edited set, which is then changed back: refused.
        let r2 = sent(&edited);
        let e = render_letter(&l, &r2, None, "en", Format::Text).unwrap_err();
        assert!(matches!(e, LetterError::TemplateSetChanged { .. }), "{e}");
        assert!(e.to_string().contains("custom"), "{e}");

        let mut s = LetterSettings::example();
        s.dpo.contact = "another-office@contact-centre.example.ie".into();
        let other = Letters::from_settings(s).unwrap();
        let e = render_letter(&other, &r, None, "en", Format::Text).unwrap_err();
        assert!(matches!(e, LetterError::SettingsChanged { .. }), "{e}");
    }

    #[test]
    fn records_without_letters_say_so() {
        let l = Letters::from_settings(LetterSettings::example()).unwrap();
        let e = render_letter(&l, &record(), None, "en", Format::Text).unwrap_err();
        assert!(matches!(e, LetterError::NotInRecord), "{e}");
        let r = sent(&l);
        let e = render_letter(&l, &r, Some(LetterKind::Extension), "en", Format::Text).unwrap_err();
        assert!(
            e.to_string()
                .contains("no extension letter in en (it has: deferred en, deferred de)"),
            "{e}"
        );
        let mut failed = r.clone();
        failed.outcome = Outcome::Failed;
        assert!(l.render_record(&failed).unwrap().is_none());
        let e = render_letter(&l, &failed, None, "en", Format::Text).unwrap_err();
        assert!(matches!(e, LetterError::NoLetter { .. }), "{e}");
    }
}
