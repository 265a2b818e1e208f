//! Binary sizes: every function binary given (release profile: stripped, thin LTO,
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

pub struct Sizes {
    pub binaries: Vec<PathBuf>,
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
            rows.push(vec![
                if reference {
                    format!("{name} (reference)")
                } else {
                    name.clone()
                },
                if sdk { "yes" } else { "no" }.into(),
                mb(size),
                zipped,
            ]);
            if reference {
                continue;
            }
            let goal = if sdk { SDK_GOAL } else { NO_SDK_GOAL };
            let met = size < goal;
            targets.push(Target {
                what: format!(
                    "binary size, {name} ({})",
                    if sdk { "with an AWS SDK" } else { "no AWS SDK" }
                ),
                goal: format!("under {}", mb(goal)),
                measured: mb(size),
                met: Some(met),
                margin: if met {
                    format!("{} to spare", mb(goal - size))
                } else {
                    format!("{} over", mb(size - goal))
                },
            });
        }
        let mut body = String::from(
            "Release profile of the workspace (`strip = true`, `lto = \"thin\"`, \
             `codegen-units = 1`, `opt-level = \"s\"`), built for this machine's architecture \
             (the deployed functions are arm64; sizes differ by a few per cent). *zipped*: the \
             binary as `bootstrap` in a deflated zip, as a Lambda deployment package. *AWS SDK*: \
             whether the binary contains the SDK's `aws-smithy-runtime`. MB are 10^6 bytes. \
             *(reference)*: not a function, shown to tell what the size is made of.\n\n",
        );
        body.push_str(&table(&["binary", "AWS SDK", "size", "zipped"], &rows));
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
    fn sdk_binaries_are_told_apart_by_the_smithy_runtime() {
        assert!(super::has_aws_sdk(
            b"..../aws-smithy-runtime-1.9.0/src/client.rs..."
        ));
        assert!(!super::has_aws_sdk(
            b"..../reqwest-0.13.5/src/async_impl/client.rs..."
        ));
    }
}
