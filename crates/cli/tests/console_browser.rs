//! `gdpr-erasure console` in headless Chromium through a real OpenID Connect sign-in
//! (tools/console-e2e/run.mjs: npm's oidc-provider, Playwright driving Debian's
//! chromium, axe-core on every page). This test runs the script and then reads the
//! records the two decisions produced: each names the decider as the keyed
//! pseudonym of the issuer's subject, and the issuer that vouched for them.
//!
//! Needs `make tools` (node modules) and chromium (`make chromium`); `make test`
//! installs both. Never skipped: a missing tool fails with what to run.

use std::path::{Path, PathBuf};
use std::process::Command;

use erasure_core::pseudonym::{PseudonymKey, Pseudonymiser};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pseudonymiser(key_file: &Path) -> Pseudonymiser {
    let v: Value = serde_json::from_slice(&std::fs::read(key_file).expect("the key file"))
        .expect("the key file is JSON");
    let key = hex::decode(v["key"].as_str().expect("key")).expect("hex key");
    Pseudonymiser::new(PseudonymKey::new(v["keyId"].as_str().expect("keyId"), key).expect("key"))
}

/// Every record of a ticket in a local archive directory.
fn records(archive: &Path, ticket: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![archive.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json")
                && p.parent()
                    .and_then(|d| d.file_name())
                    .is_some_and(|d| d == ticket)
                && let Ok(v) = serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap())
                && v.get("ticketId").is_some()
            {
                out.push(v);
            }
        }
    }
    out
}

#[test]
fn a_signed_in_dpo_rejects_one_review_and_two_approve_another_in_chromium() {
    let root = repo();
    let script = root.join("tools/console-e2e/run.mjs");
    assert!(
        root.join("tools/node_modules/playwright-core").is_dir(),
        "tools/node_modules is missing: run `make tools` (make test does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: run `make chromium` (make test does)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("console-archive");
    let mut cmd = Command::new("node");
    cmd.arg(&script)
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_gdpr-erasure"))
        .arg("--archive")
        .arg(&archive)
        .arg("--chromium")
        .arg(&chromium);
    if let Ok(shots) = std::env::var("CONSOLE_SCREENSHOTS") {
        cmd.arg("--shots").arg(shots);
    }
    let out = cmd.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser test failed:\n{stderr}");
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|_| panic!("no summary from the script:\n{stdout}\n{stderr}"));
    let issuer = summary["issuer"].as_str().unwrap();
    let p = pseudonymiser(&archive.with_file_name("console-archive.pseudonym-key.json"));

    let rejected = records(&archive, summary["rejected"].as_str().unwrap());
    let r = rejected
        .iter()
        .find(|r| r["outcome"] == "REJECTED")
        .expect("a REJECTED record for the rejected review");
    let a = &r["decisions"]["approval"];
    assert_eq!(a["decision"], "reject");
    assert_eq!(a["channel"], "console");
    assert_eq!(a["reasonCode"], "not-the-subject");
    assert_eq!(a["issuer"], issuer);
    assert_eq!(a["actorRef"], p.oidc_actor(issuer, "maeve").as_str());
    assert!(r["genesys"].to_string().contains("GDPR_EXPORT"));
    assert!(
        !r.to_string().contains("GDPR_DELETE"),
        "nothing was deleted"
    );

    let approved = records(&archive, summary["approved"].as_str().unwrap());
    let r = approved
        .iter()
        .find(|r| r["outcome"] == "COMPLETED")
        .expect("a COMPLETED record for the approved review: the execution continued");
    let a = &r["decisions"]["approval"];
    assert_eq!(a["decision"], "approve");
    assert_eq!(a["issuer"], issuer);
    assert_eq!(a["actorRef"], p.oidc_actor(issuer, "siobhan").as_str());
    assert_eq!(
        a["firstApproval"]["actorRef"],
        p.oidc_actor(issuer, "maeve").as_str(),
        "four-eyes: the first approver is recorded"
    );
    assert!(a.get("reasonCode").is_none());
    // The escalation closed from the console: an annotation naming the document, the
    // reason, the support case and the signed-in decider's pseudonym; the annotated
    // archive verifies.
    let ticket = summary["annotated"].as_str().unwrap();
    let dir = archive.join("annotations").join(ticket);
    let annotations: Vec<Value> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-ANNOTATION.json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    assert_eq!(annotations.len(), 1, "{annotations:#?}");
    let n = &annotations[0];
    assert_eq!(n["annotates"]["key"], summary["annotatedDocument"]);
    assert_eq!(n["closes"], serde_json::json!([summary["annotatedReason"]]));
    assert_eq!(n["resolution"], "resolved-by-genesys");
    assert_eq!(n["supportCase"], "GEN-CASE-0042187");
    assert_eq!(n["by"]["actorRef"], p.oidc_actor(issuer, "maeve").as_str());
    let verified = Command::new(env!("CARGO_BIN_EXE_gdpr-erasure"))
        .arg("audit")
        .arg("--archive")
        .arg(&archive)
        .arg("verify")
        .output()
        .expect("audit verify runs");
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(!n.to_string().contains("maeve"));
    // No identifier of the subject nor the deciders' names in any record.
    for r in rejected.iter().chain(&approved) {
        let text = r.to_string();
        for needle in ["@brightwater", "maeve", "siobhan", "Maeve", "+353"] {
            assert!(!text.contains(needle), "{needle} in a record");
        }
    }
}
