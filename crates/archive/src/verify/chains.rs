//! The chains `audit verify` checks: a ticket's records, and the verifications and
//! annotations that hang off its documents.

use std::collections::BTreeMap;

use super::{Check, Finding};

/// A record's place in its chain.
pub(super) struct Link {
    pub(super) key: String,
    pub(super) sequence: u64,
    pub(super) previous_digest: Option<String>,
    pub(super) digest: String,
}

/// A ticket's verifications or annotations: 1, 2, ... without gaps or forks, the first
/// hanging off one of `anchors` (a document of the ticket), each later one off the one
/// before.
pub(super) fn check_hanging_chain(
    ticket: &str,
    what: &str,
    mut links: Vec<Link>,
    anchors: &[String],
    findings: &mut Vec<Finding>,
) {
    links.sort_by(|a, b| a.sequence.cmp(&b.sequence).then(a.key.cmp(&b.key)));
    let mut push = |key: &str, detail: String| {
        findings.push(Finding {
            key: key.to_owned(),
            check: Check::Chain,
            detail,
        })
    };
    let mut previous: Option<&Link> = None;
    for (i, l) in links.iter().enumerate() {
        let expected = u64::try_from(i + 1).unwrap_or(u64::MAX);
        if l.sequence != expected {
            push(
                &l.key,
                format!(
                    "ticket {ticket}'s {what} has sequence {}, expected {expected} (a gap, a fork or a missing first {what})",
                    l.sequence
                ),
            );
        }
        let prev = l.previous_digest.as_deref().unwrap_or_default();
        match previous {
            None if !anchors.iter().any(|d| d == prev) => push(
                &l.key,
                format!(
                    "missing link: the first {what} of ticket {ticket} names {prev}, which is no document of the ticket it can hang off"
                ),
            ),
            Some(p) if p.digest != prev => push(
                &l.key,
                format!(
                    "wrong previousDigest: names {prev}, but the {what} before it is {} at {}",
                    p.digest, p.key
                ),
            ),
            _ => {}
        }
        previous = Some(l);
    }
}

pub(super) fn check_chain(ticket: &str, mut links: Vec<Link>, findings: &mut Vec<Finding>) {
    links.sort_by(|a, b| a.sequence.cmp(&b.sequence).then(a.key.cmp(&b.key)));
    let mut push = |key: &str, detail: String| {
        findings.push(Finding {
            key: key.to_owned(),
            check: Check::Chain,
            detail,
        })
    };
    let mut by_seq: BTreeMap<u64, Vec<&Link>> = BTreeMap::new();
    for l in &links {
        by_seq.entry(l.sequence).or_default().push(l);
    }
    for (seq, same) in &by_seq {
        if same.len() > 1 {
            let keys: Vec<&str> = same.iter().map(|l| l.key.as_str()).collect();
            for l in same {
                push(
                    &l.key,
                    format!(
                        "fork: ticket {ticket} has {} records with sequence {seq} ({})",
                        same.len(),
                        keys.join(", ")
                    ),
                );
            }
        }
    }
    for l in &links {
        if l.sequence == 0 {
            push(&l.key, "sequence 0: sequences start at 1".into());
            continue;
        }
        if l.sequence == 1 {
            if l.previous_digest.is_some() {
                push(&l.key, "sequence 1 must have previousDigest null".into());
            }
            continue;
        }
        let Some(prev) = &l.previous_digest else {
            push(
                &l.key,
                format!("sequence {} has no previousDigest", l.sequence),
            );
            continue;
        };
        match by_seq.get(&(l.sequence - 1)).map(Vec::as_slice) {
            None | Some([]) => {
                let named = links.iter().find(|o| &o.digest == prev);
                let detail = match named {
                    Some(o) => format!(
                        "sequence gap: the previous record is {} with sequence {}, expected sequence {}",
                        o.key,
                        o.sequence,
                        l.sequence - 1
                    ),
                    None => format!(
                        "missing link: ticket {ticket} has no record with sequence {}, and previousDigest {prev} matches no record of the ticket",
                        l.sequence - 1
                    ),
                };
                push(&l.key, detail);
            }
            Some(prevs) => {
                if !prevs.iter().any(|p| &p.digest == prev) {
                    let actual: Vec<String> = prevs
                        .iter()
                        .map(|p| format!("{} at {}", p.digest, p.key))
                        .collect();
                    push(
                        &l.key,
                        format!(
                            "wrong previousDigest: names {prev}, but sequence {} is {}",
                            l.sequence - 1,
                            actual.join(" and ")
                        ),
                    );
                }
            }
        }
    }
    // A chain starting at 2 was already reported by its first record's missing link.
    if !by_seq.contains_key(&1)
        && let Some(first) = links.first().filter(|f| f.sequence > 2)
    {
        push(
            &first.key,
            format!(
                "missing link: ticket {ticket} has no record with sequence 1 (its first record here has sequence {})",
                first.sequence
            ),
        );
    }
}
