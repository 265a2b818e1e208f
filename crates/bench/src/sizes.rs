//! Binary sizes: every function binary given (release profile: stripped, fat LTO,
//! size-optimised), as built and as a Lambda deployment zip, against the targets; and
//! the guide step's Python deployment package for comparison.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use crate::report::{Context, Rendered, Section, Target, table};

/// Goal for a binary without an AWS SDK, bytes (decimal MB).
pub const NO_SDK_GOAL: u64 = 3_000_000;
/// Goal for a binary with an AWS SDK client, bytes.
pub const SDK_GOAL: u64 = 8_000_000;

/// Whether a binary holds an AWS SDK client: every SDK client is built on the
/// `aws-smithy-*` runtime crates, whose names stay in a stripped binary (panic
/// locations, type names).
pub fn has_aws_sdk(bytes: &[u8]) -> bool {
    let needles: [&[u8]; 2] = [b"aws-smithy-runtime", b"aws_smithy_runtime"];
    needles
        .iter()
        .any(|n| bytes.windows(n.len()).any(|w| w == *n))
}

/// The crates that weigh most in a function, by a name of theirs that stays in a
/// stripped binary (panic locations): what the "contains" column shows.
pub const HEAVY_CRATES: [(&str, &str); 6] = [
    ("aws-sdk-s3", "S3"),
    ("aws-sdk-sfn", "Step Functions"),
    ("aws-sdk-secretsmanager", "Secrets Manager"),
    ("jsonschema", "jsonschema"),
    ("phonenumber", "phonenumber"),
    ("chrono-tz", "chrono-tz"),
];

/// Which of [`HEAVY_CRATES`] a binary shows, by their labels. A crate none of whose
/// code can panic leaves no name behind: this can miss one, never invent one.
pub fn heavy_crates(bytes: &[u8]) -> Vec<&'static str> {
    HEAVY_CRATES
        .iter()
        .filter(|(needle, _)| {
            let n = needle.as_bytes();
            bytes.windows(n.len()).any(|w| w == n)
        })
        .map(|(_, label)| *label)
        .collect()
}

const ZIP_ONE: &str = r#"
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))
"#;

// The guide step as it would be deployed: its directory plus requests and its
// dependencies (not part of the Lambda Python runtime), bytecode caches left out.
const ZIP_PYTHON_STEP: &str = r#"
import importlib.util, io, os, sys, zipfile
step = sys.argv[1]
roots = [(step, "")]
for name in ["requests", "urllib3", "idna", "charset_normalizer", "certifi"]:
    spec = importlib.util.find_spec(name)
    path = list(spec.submodule_search_locations)[0]
    roots.append((path, name))
raw = 0
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    for root, prefix in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for f in filenames:
                full = os.path.join(dirpath, f)
                raw += os.path.getsize(full)
                z.write(full, os.path.join(prefix, os.path.relpath(full, root)))
print(raw, len(buf.getvalue()))
"#;

fn python_numbers(python: &Path, script: &str, arg: &Path) -> anyhow::Result<Vec<u64>> {
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(arg)
        .output()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|n| n.parse().context("a size"))
        .collect()
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// The `[profile.release]` settings of the workspace's `Cargo.toml`, as written.
pub fn release_profile(cargo_toml: &str) -> Vec<String> {
    cargo_toml
        .lines()
        .skip_while(|l| l.trim() != "[profile.release]")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

// The bootstrap's size inside a Lambda zip, and the zip's own size.
const ZIP_SIZES: &str = r#"
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    print(z.getinfo("bootstrap").file_size, os.path.getsize(sys.argv[1]))
"#;

pub struct Sizes {
    pub binaries: Vec<PathBuf>,
    /// Where `make package` put the arm64 zips (`<dir>/<binary>/bootstrap.zip`).
    pub lambda_dir: Option<PathBuf>,
    /// Binaries shown for reference only (no target): e.g. a function with
    /// lambda_runtime alone, to show where the size goes.
    pub references: Vec<PathBuf>,
    /// The guide step's directory, to size its Python deployment package.
    pub python_step: Option<PathBuf>,
}

#[async_trait::async_trait]
impl Section for Sizes {
    fn title(&self) -> String {
        "Binary and package sizes".into()
    }

    async fn run(&self, ctx: &Context) -> anyhow::Result<Rendered> {
        let mut rows = Vec::new();
        let mut targets = Vec::new();
        // (name, x86_64 size) of the references, and how many functions missed.
        let mut reference_sizes: Vec<(String, u64)> = Vec::new();
        let mut missed = 0usize;
        let all = self
            .binaries
            .iter()
            .map(|p| (p, false))
            .chain(self.references.iter().map(|p| (p, true)));
        for (path, reference) in all {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let size = bytes.len() as u64;
            let sdk = has_aws_sdk(&bytes);
            let zipped = match &ctx.python {
                Some(py) => python_numbers(py, ZIP_ONE, path)?
                    .first()
                    .map(|z| mb(*z))
                    .unwrap_or_else(|| "-".into()),
                None => "-".into(),
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // The deployed build: make package's arm64 zip, when it was run.
            let arm = match (&self.lambda_dir, &ctx.python) {
                (Some(dir), Some(py)) if !reference => {
                    let zip = dir.join(&name).join("bootstrap.zip");
                    if zip.is_file() {
                        match python_numbers(py, ZIP_SIZES, &zip)?[..] {
                            [bin, z] => Some((bin, z)),
                            _ => None,
                        }
                    } else {
                        None
                    }
                }
                _ => None,
            };
            let goal = if sdk { SDK_GOAL } else { NO_SDK_GOAL };
            let largest = arm.map_or(size, |(a, _)| a.max(size));
            let verdict = if reference {
                String::new()
            } else if largest < goal {
                format!("under {}", mb(goal))
            } else {
                format!("**{} over {}**", mb(largest - goal), mb(goal))
            };
            rows.push(vec![
                if reference {
                    format!("{name} (reference)")
                } else {
                    name.clone()
                },
                if sdk { "yes" } else { "no" }.into(),
                {
                    let heavy = heavy_crates(&bytes);
                    if heavy.is_empty() {
                        "-".to_owned()
                    } else {
                        heavy.join(", ")
                    }
                },
                mb(size),
                zipped,
                arm.map_or_else(|| "-".into(), |(a, _)| mb(a)),
                arm.map_or_else(|| "-".into(), |(_, z)| mb(z)),
                verdict,
            ]);
            if reference {
                reference_sizes.push((name, size));
                continue;
            }
            let met = largest < goal;
            if !met {
                missed += 1;
            }
            targets.push(Target {
                what: format!(
                    "binary size, {name} ({})",
                    if sdk { "with an AWS SDK" } else { "no AWS SDK" }
                ),
                goal: format!("under {}", mb(goal)),
                measured: match arm {
                    Some((a, _)) => format!("{} x86_64, {} arm64", mb(size), mb(a)),
                    None => format!("{} x86_64 (arm64 not packaged)", mb(size)),
                },
                met: Some(met),
                margin: if met {
                    format!("{} to spare", mb(goal - largest))
                } else {
                    format!("{} over", mb(largest - goal))
                },
            });
        }
        let profile = std::fs::read_to_string(ctx.root.join("Cargo.toml"))
            .map(|t| release_profile(&t))
            .unwrap_or_default();
        let mut body = format!(
            "Stripped release binaries of the workspace's release profile (`{}`): *x86_64* \
             built for this machine by `make bench`, *arm64* the `bootstrap` of the zip `make \
             package` built for Lambda (cargo-lambda, zig), when it was run. *zipped*: the \
             x86_64 binary as `bootstrap` in a deflated zip; *arm64 zip*: the deployment \
             package as built. *AWS SDK*: whether the binary contains the SDK's \
             `aws-smithy-runtime` (every function here reads its secrets through the Secrets \
             Manager client). *contains*: which of the heaviest crates (the S3, Step Functions and \
             Secrets Manager clients, `jsonschema`, `phonenumber`, `chrono-tz`) the x86_64 \
             binary shows by name (in panic locations: one that cannot panic there would not \
             show). The target is checked on the larger of the two builds. MB are \
             10^6 bytes. *(reference)*: not a function, shown to tell what the size is made \
             of.\n\n",
            profile.join("`, `")
        );
        body.push_str(&table(
            &[
                "binary",
                "AWS SDK",
                "contains",
                "x86_64",
                "zipped",
                "arm64",
                "arm64 zip",
                "target",
            ],
            &rows,
        ));
        if missed > 0 {
            let refs = reference_sizes
                .iter()
                .map(|(n, sz)| format!("{n} {}", mb(*sz)))
                .collect::<Vec<_>>()
                .join(", ");
            body.push_str(&format!(
                "\n**{missed} of {} functions over their target.** Where the size goes: \
                 the references ({refs}) are a function with lambda_runtime, tokio and \
                 serde_json only, and one with reqwest and rustls added (its aws-lc-rs \
                 crypto provider, which the AWS SDK's HTTPS client brings too). Every step \
                 adds the AWS SDK (aws-config with its credential providers and the Secrets \
                 Manager client, S3 where the step reads or writes the archive or the hold \
                 register) and the step's code: `erasure-steps` with the Genesys client and, in \
                 the steps that use them, the JSON Schema validator (`jsonschema`), \
                 phone-number metadata (`phonenumber`) and time-zone data (`chrono-tz`). \
                 The levers tried and not taken are in docs/bench.md (\"Size levers\").\n",
                self.binaries.len()
            ));
        }
        if let (Some(step), Some(py)) = (&self.python_step, &ctx.python) {
            let numbers = python_numbers(py, ZIP_PYTHON_STEP, step)?;
            if let [raw, zipped] = numbers[..] {
                body.push_str(&format!(
                    "\nFor comparison, the guide step's deployment package ({} and requests with \
                     its dependencies, which the Lambda Python runtime does not include): {} \
                     unpacked, {} zipped, plus the Python runtime Lambda provides.\n",
                    step.display(),
                    mb(raw),
                    mb(zipped)
                ));
            }
        }
        Ok(Rendered { body, targets })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_release_profile_is_read_as_written() {
        let toml = "[workspace]\n[profile.release]\n# why\nstrip = true\nlto = \"fat\"\n\n[profile.dev]\ndebug = 0\n";
        assert_eq!(
            super::release_profile(toml),
            ["strip = true", "lto = \"fat\""]
        );
    }

    #[test]
    fn heavy_crates_are_named_by_what_the_binary_holds() {
        use super::heavy_crates;
        let bytes = b"..src/aws-sdk-s3-1.157.0/src/x.rs..phonenumber-0.3/src/y.rs..";
        assert_eq!(heavy_crates(bytes), vec!["S3", "phonenumber"]);
        assert!(heavy_crates(b"nothing here").is_empty());
    }

    #[test]
    fn sdk_binaries_are_told_apart_by_the_smithy_runtime() {
        assert!(super::has_aws_sdk(
            b"..../aws-smithy-runtime-1.9.0/src/client.rs..."
        ));
        assert!(!super::has_aws_sdk(
            b"..../reqwest-0.13.5/src/async_impl/client.rs..."
        ));
    }
}
