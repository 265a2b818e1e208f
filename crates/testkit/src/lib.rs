//! Test support shared by the workspace's crates (never shipped).
//!
//! - [`MotoServer`]: a moto server (`$MOTO_SERVER`, installed by `make tools`) on a
//!   free 127.0.0.1 port for the duration of a test, with S3, Step Functions and
//!   Secrets Manager clients for it; [`MotoServer::start_with_step_functions`] runs
//!   state machines.
//! - [`records::RecordBuilder`]: valid compliance records built from the schema's
//!   examples.
//! - [`lambda`]: a step's real Lambda binary behind the Runtime API, configured as the
//!   template configures it, its secrets in moto.
//! - [`cargo_lambda::CargoLambdaWatch`]: the function binaries behind `cargo lambda
//!   watch`'s Invoke API (`$CARGO_LAMBDA`), for moto's Step Functions to invoke.

pub mod cargo_lambda;
pub mod lambda;
pub mod moto;
pub mod records;

pub use moto::{ACCOUNT, MotoServer, REGION};
pub use records::RecordBuilder;

/// Polls `check` until it gives a value: for state another process reaches in its
/// own time (a moto execution moving on). Never a timing assertion: the bound only
/// turns a hang into a failure naming `what`.
///
/// # Panics
/// When `check` has given nothing after the bound (about a minute).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..1200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {what}");
}

/// The path of a tool a test starts, from the variable the Makefile exports for it
/// (`MOTO_SERVER`, `CARGO_LAMBDA`): a precise error saying how to get it when the
/// variable is unset or names nothing, never a silent skip.
pub(crate) fn tool_from_env(
    var: &str,
    needed_for: &str,
    how_to_get_it: &str,
) -> Result<std::path::PathBuf, String> {
    let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) else {
        return Err(format!(
            "{var} is not set, so {needed_for}: {how_to_get_it}"
        ));
    };
    let path = std::path::PathBuf::from(path);
    if !path.is_file() {
        return Err(format!(
            "{var} names {}, which does not exist: {how_to_get_it}",
            path.display()
        ));
    }
    Ok(path)
}

/// Whether an HTTP server answers at `addr` (any status): how a test knows a server
/// it started is up.
pub(crate) fn answers_http(addr: std::net::SocketAddr) -> bool {
    use std::io::{Read, Write};
    use std::time::Duration;
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// A port nobody listens on now (for a server a test starts next).
pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free local port: {e}"))
}
