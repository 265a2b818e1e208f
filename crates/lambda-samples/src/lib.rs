//! Sample Lambda functions, one binary each (see `src/bin`):
//!
//! - `sample-poll`: the Poll step's two Genesys calls (client-credentials token, then
//!   `GET /api/v2/gdpr/requests/{id}`) with reqwest and rustls, the Rust side of the
//!   cold-start comparison in `make bench` (`bench/guide-step` is the Python side).
//!   When `functions/poll` lands, the bench measures that binary as well.
//! - `sample-behaviours`: the test function of `local_runner::LambdaProcess`: each
//!   event asks for one behaviour (answer, fail with an error type, exit, abort,
//!   panic, sleep, allocate).
//!
//! The binaries are tested through the Runtime API in `tests/`.
