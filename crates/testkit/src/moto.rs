//! A moto server per test: S3 (and the other AWS services moto serves) on a free
//! 127.0.0.1 port, killed by PID when the handle is dropped, panicking test or not.
//!
//! Step Functions: [`MotoServer::start_with_step_functions`] switches moto 5 from its
//! default (executions are recorded, never run) to its ASL interpreter. moto has no
//! environment variable for that: it is the `stepfunctions.execute_state_machine`
//! setting of its `/moto-api/config` endpoint, which the harness posts once the
//! server is up. The same call sets `lambda.use_docker: false`, so a Task invoking a
//! Lambda function reaches moto's in-process stub (it answers with its payload, and
//! runs no code): enough for `lambda:invoke.waitForTaskToken`, whose token a test
//! reads back from the execution history ([`MotoServer::stub_lambda`] creates such a
//! function).

use std::ffi::OsString;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The region tests use against moto (moto accepts any).
pub const REGION: &str = "us-east-1";
/// The account moto answers as.
pub const ACCOUNT: &str = "123456789012";
const STUB_ROLE: &str = "testkit-stub";

const HOW_TO_GET_IT: &str = "run `make tools` in the repository root (it installs moto[server] into .venv), \
then run the tests through `make test`, or export MOTO_SERVER=\"$PWD/.venv/bin/moto_server\" before `cargo test`";

// Readiness is polled, never timed: the bound is only there so a broken install
// fails the test instead of hanging it.
const READY_ATTEMPTS: u32 = 600;
const READY_PAUSE: Duration = Duration::from_millis(100);
const START_ATTEMPTS: u32 = 3;

/// A running `moto_server` child process.
#[derive(Debug)]
pub struct MotoServer {
    child: Child,
    endpoint: String,
    log_path: PathBuf,
}

impl MotoServer {
    /// Starts `$MOTO_SERVER` and waits until it answers HTTP.
    ///
    /// # Panics
    /// When `MOTO_SERVER` is unset or names no file, or the server does not come up:
    /// a test that needs S3 fails with instructions, it never skips.
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`MotoServer::start`], returning the reason instead of panicking.
    pub fn try_start() -> Result<Self, String> {
        let program = server_program()?;
        Self::try_start_program(&program, &[])
    }

    fn try_start_program(program: &Path, args: &[OsString]) -> Result<Self, String> {
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            // Another process can take the port between probing and binding; then
            // the server exits at once and the next attempt picks another port.
            match Self::start_on_free_port(program, args) {
                Ok(server) => return Ok(server),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// Starts moto's server through a Python `launcher` run by the interpreter moto is
    /// installed in (beside `$MOTO_SERVER`): `<python> <launcher> <launcher_args> --
    /// -H 127.0.0.1 -p <port>`. For a launcher that changes one thing about moto before
    /// serving (`tests/moto-sfn/launch.py`); the server is then configured to run state
    /// machines, as [`MotoServer::start_with_step_functions`] does.
    ///
    /// # Panics
    /// As [`MotoServer::start_with_step_functions`].
    pub fn start_launched_with_step_functions(launcher: &Path, launcher_args: &[&str]) -> Self {
        let python = python().unwrap_or_else(|e| panic!("{e}"));
        let mut args: Vec<OsString> = vec![launcher.into()];
        args.extend(launcher_args.iter().map(OsString::from));
        args.push("--".into());
        let server = Self::try_start_program(&python, &args).unwrap_or_else(|e| panic!("{e}"));
        server.enable_step_functions();
        server
    }

    fn start_on_free_port(program: &Path, args: &[OsString]) -> Result<Self, String> {
        let port = crate::free_port()?;
        let log_path =
            std::env::temp_dir().join(format!("testkit-moto-{}-{port}.log", std::process::id()));
        let log = fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot duplicate the log handle: {e}"))?;
        let child = Command::new(program)
            .args(args)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // The interpreter's service integrations call back into the server at
            // localhost:$MOTO_PORT; an inherited value would send them elsewhere.
            .env("MOTO_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}; {HOW_TO_GET_IT}", program.display()))?;
        let mut server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            log_path,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        for _ in 0..READY_ATTEMPTS {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "moto_server exited ({status}) before answering on port {port}:\n{}",
                    server.log_tail()
                ));
            }
            if crate::answers_http(addr) {
                return Ok(server);
            }
            std::thread::sleep(READY_PAUSE);
        }
        Err(format!(
            "moto_server did not answer on port {port}:\n{}",
            server.log_tail()
        ))
    }

    /// Starts a server that runs state machines (see the module documentation).
    ///
    /// # Panics
    /// As [`MotoServer::start`], and when moto refuses the configuration.
    pub fn start_with_step_functions() -> Self {
        let server = Self::start();
        server.enable_step_functions();
        server
    }

    fn enable_step_functions(&self) {
        let config = r#"{"stepfunctions": {"execute_state_machine": true}, "lambda": {"use_docker": false}}"#;
        match self.post("/moto-api/config", "application/json", None, config) {
            Ok((status, _)) if (200..300).contains(&status) => {}
            Ok((status, body)) => {
                panic!("moto refused the Step Functions configuration: HTTP {status} {body}")
            }
            Err(e) => panic!("cannot configure moto for Step Functions: {e}"),
        }
    }

    /// A Step Functions client for this server: static test credentials, [`REGION`].
    pub fn sfn_client(&self) -> aws_sdk_sfn::Client {
        let config = aws_sdk_sfn::config::Builder::new()
            .behavior_version_latest()
            .region(aws_sdk_sfn::config::Region::new(REGION))
            .credentials_provider(aws_sdk_sfn::config::Credentials::new(
                "testing", "testing", None, None, "testkit",
            ))
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_sfn::Client::from_conf(config)
    }

    /// A Secrets Manager client for this server.
    pub fn secrets_client(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::config::Builder::new()
            .behavior_version_latest()
            .region(aws_sdk_secretsmanager::config::Region::new(REGION))
            .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
                "testing", "testing", None, None, "testkit",
            ))
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    /// The IAM role state machines and stub functions run as (created on first use).
    ///
    /// # Panics
    /// When moto refuses to create it.
    pub fn role_arn(&self) -> String {
        let body = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName={STUB_ROLE}&AssumeRolePolicyDocument=%7B%7D"
        );
        match self.post("/", "application/x-www-form-urlencoded", Some("iam"), &body) {
            // 409: created by an earlier call.
            Ok((status, _)) if (200..300).contains(&status) || status == 409 => {}
            Ok((status, body)) => panic!("moto refused CreateRole: HTTP {status} {body}"),
            Err(e) => panic!("CreateRole: {e}"),
        }
        format!("arn:aws:iam::{ACCOUNT}:role/{STUB_ROLE}")
    }

    /// Creates a state machine from `definition` (running as [`MotoServer::role_arn`])
    /// and returns its ARN.
    ///
    /// # Panics
    /// When moto refuses the definition.
    pub async fn create_state_machine(&self, name: &str, definition: &str) -> String {
        self.sfn_client()
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(self.role_arn())
            .send()
            .await
            .unwrap_or_else(|e| panic!("moto refused state machine {name}: {e:?}"))
            .state_machine_arn
    }

    /// Waits until the execution schedules a `.waitForTaskToken` Task and returns the
    /// token its `Payload.taskToken` carries (as the Task's `Parameters` pass it on).
    ///
    /// # Panics
    /// When none is scheduled in time ([`crate::eventually`]).
    pub async fn task_token(&self, execution_arn: &str) -> String {
        task_token(&self.sfn_client(), execution_arn).await
    }

    /// Waits until the execution is no longer running and returns how it ended.
    ///
    /// # Panics
    /// When it still runs when [`crate::eventually`] gives up.
    pub async fn execution_ended(
        &self,
        execution_arn: &str,
    ) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
        let sfn = self.sfn_client();
        crate::eventually("the execution to end", || {
            let (sfn, arn) = (sfn.clone(), execution_arn.to_owned());
            async move {
                let d = sfn
                    .describe_execution()
                    .execution_arn(arn)
                    .send()
                    .await
                    .ok()?;
                (d.status != aws_sdk_sfn::types::ExecutionStatus::Running).then_some(d)
            }
        })
        .await
    }

    /// Creates a Lambda function that moto's stub runs (it answers with the payload it
    /// gets, without running code) and returns its ARN. Needs a server from
    /// [`MotoServer::start_with_step_functions`] for invocations to succeed.
    ///
    /// # Panics
    /// When moto refuses to create it.
    pub fn stub_lambda(&self, name: &str) -> String {
        let role = self.role_arn();
        // "bootstrap" zipped would not run either: moto's stub never unpacks it.
        let body = format!(
            r#"{{"FunctionName": "{name}", "Runtime": "provided.al2023", "Role": "{role}", "Handler": "bootstrap", "Code": {{"ZipFile": "c3R1Yg=="}}}}"#
        );
        match self.post(
            "/2015-03-31/functions",
            "application/json",
            Some("lambda"),
            &body,
        ) {
            Ok((status, _)) if (200..300).contains(&status) => {}
            Ok((status, body)) => panic!("moto refused CreateFunction: HTTP {status} {body}"),
            Err(e) => panic!("CreateFunction: {e}"),
        }
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
    }

    /// One plain HTTP/1.1 POST to the server; `service` names the AWS service for
    /// moto's routing (by the credential scope of an Authorization header it does not
    /// verify).
    fn post(
        &self,
        path: &str,
        content_type: &str,
        service: Option<&str>,
        body: &str,
    ) -> Result<(u16, String), String> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let auth = service
            .map(|s| {
                format!(
                    "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{s}/aws4_request, SignedHeaders=host, Signature=0\r\n"
                )
            })
            .unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("send: {e}"))?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| format!("read: {e}"))?;
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| "no HTTP status in the answer".to_owned())?;
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// Sets moto's `INITIAL_NO_AUTH_ACTION_COUNT` (through `/moto-api/reset-auth`, which
    /// also restarts the count): after `count` more calls, every call must be signed by
    /// an IAM user's access key and allowed by that user's policies.
    ///
    /// # Panics
    /// When moto refuses.
    pub fn enforce_iam_after(&self, count: u32) {
        match self.post(
            "/moto-api/reset-auth",
            "text/plain",
            None,
            &count.to_string(),
        ) {
            Ok((status, _)) if (200..300).contains(&status) => {}
            Ok((status, body)) => panic!("moto refused reset-auth: HTTP {status} {body}"),
            Err(e) => panic!("reset-auth: {e}"),
        }
    }

    /// The AWS configuration of a caller with these access keys (region [`REGION`], this
    /// server as the endpoint of every service), as a Lambda function gets it from its
    /// role: clients built from it act as that IAM user.
    pub fn sdk_config_as(
        &self,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sfn::config::SharedCredentialsProvider::new(
                aws_sdk_sfn::config::Credentials::new(
                    access_key_id,
                    secret_access_key,
                    None,
                    None,
                    "testkit",
                ),
            ))
            .build()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An S3 client for this server: path-style addressing, static test credentials,
    /// [`REGION`].
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version_latest()
            .region(aws_sdk_s3::config::Region::new(REGION))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "testkit",
            ))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Environment variables that point the standard AWS environment (and so a child
    /// process such as the `gdpr-erasure` binary) at this server's credentials and region.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", REGION.into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Child::kill signals this PID only (SIGKILL); wait reaps it so no zombie stays.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_file(&self.log_path);
    }
}

/// A state machine that waits for the DPO as the real definition's `AwaitDecision`
/// does (`lambda:invoke.waitForTaskToken` on `notify_function`, the task token in the
/// payload, the answer at `$.approval`, `ReviewRejected` caught into
/// `$.approvalRejection`), then ends. Its input needs `ticket.id` and `review`.
pub fn await_decision_definition(notify_function: &str) -> serde_json::Value {
    serde_json::json!({
        "StartAt": "AwaitDecision",
        "States": {
            "AwaitDecision": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": notify_function,
                    "Payload": {
                        "ticketId.$": "$.ticket.id",
                        "executionId.$": "$$.Execution.Id",
                        "taskToken.$": "$$.Task.Token",
                        "review.$": "$.review"
                    }
                },
                "ResultPath": "$.approval",
                "Catch": [{"ErrorEquals": ["ReviewRejected"], "ResultPath": "$.approvalRejection", "Next": "WriteRecord"}],
                "Next": "WriteRecord"
            },
            "WriteRecord": {"Type": "Pass", "End": true}
        }
    })
}

/// As [`MotoServer::task_token`], reading the history with `sfn` (a client with other
/// credentials, when moto enforces IAM).
///
/// # Panics
/// When none is scheduled in time ([`crate::eventually`]).
pub async fn task_token(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> String {
    crate::eventually("the task token in the history", || {
        let (sfn, arn) = (sfn.clone(), execution_arn.to_owned());
        async move {
            let history = sfn
                .get_execution_history()
                .execution_arn(arn)
                .send()
                .await
                .ok()?;
            history.events().iter().find_map(|e| {
                let params = e.task_scheduled_event_details()?.parameters();
                let v: serde_json::Value = serde_json::from_str(params).ok()?;
                v["Payload"]["taskToken"].as_str().map(str::to_owned)
            })
        }
    })
    .await
}

/// The Python interpreter moto is installed in (beside `$MOTO_SERVER`), for launchers and
/// scripts that use moto's or boto3's modules.
pub fn python() -> Result<PathBuf, String> {
    let moto = server_program()?;
    let python = moto.with_file_name("python");
    if python.is_file() {
        Ok(python)
    } else {
        Err(format!(
            "no Python interpreter beside {}: {HOW_TO_GET_IT}",
            moto.display()
        ))
    }
}

fn server_program() -> Result<PathBuf, String> {
    crate::tool_from_env(
        "MOTO_SERVER",
        "the S3 tests cannot start moto",
        HOW_TO_GET_IT,
    )
}
