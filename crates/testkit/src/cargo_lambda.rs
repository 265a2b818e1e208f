//! `cargo lambda watch` as a child process: the workspace's function binaries behind a
//! local Lambda Invoke API (`POST /2015-03-31/functions/<binary>/invocations`), each
//! built (`cargo run --bin <binary>`) and started on its first invocation, with the
//! variables of an env file.
//!
//! The program is `$CARGO_LAMBDA` (`make tools` installs cargo-lambda into .venv, the
//! Makefile exports the path). cargo-lambda starts `cargo`, which starts the function:
//! the harness puts them in a process group of their own and, when dropped, ends that
//! group by its id (SIGTERM, then SIGKILL for whatever is left), panicking test or not.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOW_TO_GET_IT: &str = "run `make tools` in the repository root (it installs cargo-lambda into .venv), \
then run the tests through `make test`, or export CARGO_LAMBDA=\"$PWD/.venv/bin/cargo-lambda\" before `cargo test`";

// Readiness is polled; the bound only turns a broken install into a failure.
const READY_WITHIN: Duration = Duration::from_secs(120);
// cargo-lambda stops its functions on SIGTERM; this long is allowed before SIGKILL.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// A running `cargo lambda watch`.
#[derive(Debug)]
pub struct CargoLambdaWatch {
    child: Child,
    endpoint: String,
    log_path: PathBuf,
}

impl CargoLambdaWatch {
    /// Starts `cargo lambda watch` for the workspace of `manifest` on 127.0.0.1:`port`,
    /// the functions' environment read from `env_file` (KEY=VALUE lines), and waits until
    /// its Invoke API answers. Sources are not watched (`--ignore-changes`): a binary is
    /// built once, on its first invocation.
    ///
    /// # Panics
    /// When `CARGO_LAMBDA` is unset or names no file, or the server does not come up: a
    /// test that needs it fails with instructions, it never skips.
    pub fn start(manifest: &Path, env_file: &Path, port: u16) -> Self {
        let program = program().unwrap_or_else(|e| panic!("{e}"));
        let log_path = std::env::temp_dir().join(format!(
            "testkit-cargo-lambda-{}-{port}.log",
            std::process::id()
        ));
        let log = fs::File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let log_err = log.try_clone().expect("a second log handle");
        let child = Command::new(&program)
            .args(["lambda", "watch", "--ignore-changes", "--invoke-address"])
            .arg("127.0.0.1")
            .arg("--invoke-port")
            .arg(port.to_string())
            .arg("--env-file")
            .arg(env_file)
            .arg("--manifest-path")
            .arg(manifest)
            .current_dir(manifest.parent().expect("a manifest has a directory"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own group, whose id is its PID: cargo and the functions go with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {HOW_TO_GET_IT}", program.display()));
        let mut watch = CargoLambdaWatch {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log_path,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Ok(Some(status)) = watch.child.try_wait() {
                panic!(
                    "cargo lambda watch exited ({status}) before answering:\n{}",
                    watch.log_tail()
                );
            }
            if crate::answers_http(addr) {
                return watch;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "cargo lambda watch did not answer on port {port}:\n{}",
            watch.log_tail()
        );
    }

    /// `http://127.0.0.1:<port>`: where the Lambda Invoke API is served.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The process id (and process group id) of `cargo lambda watch`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of its output (cargo's and the functions' logs).
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for CargoLambdaWatch {
    fn drop(&mut self) {
        let Ok(group) = i32::try_from(self.child.id()) else {
            return;
        };
        // The group of this child only (negative id), never anything found by name.
        // SAFETY: kill(2) takes plain integers and has no memory effects.
        unsafe { libc::kill(-group, libc::SIGTERM) };
        let asked = Instant::now();
        while asked.elapsed() < STOP_WITHIN {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Whatever is left of the group (a function or cargo that did not stop).
        // SAFETY: as above.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.log_path);
    }
}

fn program() -> Result<PathBuf, String> {
    crate::tool_from_env(
        "CARGO_LAMBDA",
        "the test cannot serve the functions",
        HOW_TO_GET_IT,
    )
}

/// A port nobody listens on now (for a server the test starts next).
///
/// # Panics
/// When the system has no free port.
pub fn free_port() -> u16 {
    crate::free_port().unwrap_or_else(|e| panic!("{e}"))
}
