//! Sample facts every template is rendered against at start: for each kind, one with
//! every optional fact present and counts above one, one with every fact absent or one.
//! With undefined values as errors, a misspelt or unknown placeholder on either side of
//! a condition fails here, not when a letter is due.

use chrono::NaiveDate;

use crate::context::{
    Dates, DeferralFacts, Erased, Extension, Gaps, Kept, Late, LetterContext, LetterKind,
    REJECTION_REASONS, RejectionFacts, Systems,
};
use crate::settings::LetterSettings;

fn day(y: i32, m: u32, d: u32) -> crate::context::Date {
    NaiveDate::from_ymd_opt(y, m, d)
        .expect("a valid sample date")
        .into()
}

pub(crate) fn samples(
    settings: &LetterSettings,
    kind: LetterKind,
    language: &str,
) -> Vec<LetterContext> {
    let rich = LetterContext {
        addressee: crate::ADDRESSEE_PLACEHOLDER,
        language: language.to_owned(),
        kind,
        reference: "DSAR-SAMPLE-1".into(),
        controller: settings.controller.clone(),
        dpo: settings.dpo.clone(),
        authority: settings.supervisory_authority.clone(),
        dates: Dates {
            letter: day(2027, 3, 2),
            received: day(2026, 11, 30),
            due: day(2026, 12, 30),
            effective_due: day(2027, 2, 28),
            completed: day(2027, 3, 2),
        },
        late: Late {
            within_deadline: Some(false),
            days_late: 2,
        },
        extension: Some(Extension {
            due: day(2027, 2, 28),
            notice_sent: day(2026, 12, 10),
            reason: "complexity".into(),
        }),
        erased: Erased {
            conversations: 3,
            recordings: 2,
            agent_account: true,
        },
        kept: Kept {
            other_people: 4,
            held: 2,
            held_recordings: 2,
        },
        systems: Systems {
            told: vec!["crm".into(), "warehouse".into()],
        },
        gaps: Gaps {
            conversations: 2,
            protected: true,
            genesys: true,
            recordings: 2,
            agent_account: true,
            systems: vec!["ticketing".into(), "billing".into()],
        },
        deferral: Some(DeferralFacts {
            ground: erasure_core::record::LEGAL_BASIS_HOLD.into(),
            holds: 2,
            resume_on: Some(day(2027, 7, 1)),
        }),
        rejection: Some(RejectionFacts {
            reasons: REJECTION_REASONS.to_vec(),
        }),
    };
    let mut bare = rich.clone();
    bare.controller.address = None;
    bare.authority.url = None;
    bare.late = Late {
        within_deadline: Some(true),
        days_late: 0,
    };
    bare.erased = Erased {
        conversations: 1,
        recordings: 0,
        agent_account: false,
    };
    bare.kept = Kept {
        other_people: 0,
        held: 1,
        held_recordings: 0,
    };
    bare.systems.told.clear();
    bare.gaps = Gaps {
        conversations: 1,
        protected: false,
        genesys: false,
        recordings: 0,
        agent_account: false,
        systems: Vec::new(),
    };
    bare.deferral = Some(DeferralFacts {
        ground: erasure_core::record::LEGAL_BASIS_HOLD.into(),
        holds: 1,
        resume_on: None,
    });
    bare.rejection = Some(RejectionFacts {
        reasons: vec![REJECTION_REASONS[0]],
    });
    // Facts a record of this kind never has stay absent, as they would be.
    if kind != LetterKind::Extension {
        bare.extension = None;
    }
    let mut out = vec![rich, bare];
    for c in &mut out {
        if kind != LetterKind::Deferred {
            c.deferral = None;
        }
        if kind != LetterKind::Rejected {
            c.rejection = None;
        }
    }
    out
}
