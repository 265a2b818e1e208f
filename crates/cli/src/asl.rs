//! `gdpr-erasure asl run`: runs any Amazon States Language definition on this
//! machine with the local runner, Task results taken from a Step Functions Local
//! mock configuration. Exit codes: 0 the execution succeeded (its output on
//! stdout), 1 it failed (`{"Error", "Cause"}` on stdout), 2 the definition, mock
//! file or input could not be used (the reason on stderr).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use local_runner::mock::MockConfig;
use local_runner::{Definition, Outcome, Resources, Runner};
use serde_json::{Value, json};

/// `asl` subcommands.
#[derive(Debug, Subcommand)]
pub enum AslCommand {
    /// Run a state machine definition locally, Task results from a mock configuration.
    Run(RunArgs),
}

/// Arguments of `asl run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The ASL definition (JSON).
    pub definition: PathBuf,
    /// The execution input (JSON file).
    #[arg(long)]
    pub input: PathBuf,
    /// A Step Functions Local mock configuration file.
    #[arg(long, requires = "test_case")]
    pub mock_config: Option<PathBuf>,
    /// The test case of the mock configuration to run.
    #[arg(long, requires = "mock_config")]
    pub test_case: Option<String>,
    /// The state machine in the mock configuration (default: its only one).
    #[arg(long)]
    pub state_machine: Option<String>,
    /// Print the execution history (one JSON event per line) on stderr.
    #[arg(long)]
    pub history: bool,
    /// A definition substitution, as SAM's DefinitionSubstitutions (repeatable).
    #[arg(long = "substitution", value_name = "KEY=VALUE")]
    pub substitutions: Vec<String>,
    /// Wait in real time instead of on a virtual clock that jumps ahead.
    #[arg(long)]
    pub real_clock: bool,
}

/// Runs the subcommand to completion on its own runtime (on its own thread, so it
/// works whether or not the caller is already inside a tokio runtime).
pub fn run(command: AslCommand) -> ExitCode {
    let worker = std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return 2;
            }
        };
        runtime.block_on(async {
            let AslCommand::Run(args) = command;
            execute(&args, &mut std::io::stdout(), &mut std::io::stderr()).await
        })
    });
    ExitCode::from(worker.join().unwrap_or(2))
}

/// A reason to exit with 2.
struct Refusal(String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal(e.to_string())
    }
}

/// Runs `asl run` and returns the exit code.
pub async fn execute(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let (runner, input) = match prepare(args) {
        Ok(r) => r,
        Err(Refusal(reason)) => {
            let _ = writeln!(err, "error: {reason}");
            return 2;
        }
    };
    let result = runner.run(input).await;
    if args.history {
        for event in &result.history {
            let _ = writeln!(err, "{}", json!(event));
        }
        let _ = writeln!(err, "{}", json!({"counts": result.counts}));
    }
    let (printed, code) = match &result.outcome {
        Outcome::Succeeded(output) => (output.clone(), 0),
        Outcome::Failed(e) => (json!({"Error": e.error, "Cause": e.cause}), 1),
    };
    let text = serde_json::to_string_pretty(&printed).unwrap_or_else(|_| printed.to_string());
    let _ = writeln!(out, "{text}");
    code
}

fn read(path: &Path, what: &str) -> Result<String, Refusal> {
    std::fs::read_to_string(path)
        .map_err(|e| Refusal(format!("cannot read the {what} {}: {e}", path.display())))
}

fn prepare(args: &RunArgs) -> Result<(Runner, Value), Refusal> {
    let mut substitutions = HashMap::new();
    for s in &args.substitutions {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| Refusal(format!("--substitution '{s}' is not KEY=VALUE")))?;
        substitutions.insert(k.to_string(), v.to_string());
    }
    let definition =
        Definition::from_json_str(&read(&args.definition, "definition")?, &substitutions)
            .map_err(|e| Refusal(format!("{}: {e}", args.definition.display())))?;
    let input: Value = serde_json::from_str(&read(&args.input, "input")?)
        .map_err(|e| Refusal(format!("{}: not valid JSON: {e}", args.input.display())))?;

    let (resources, name) = match (&args.mock_config, &args.test_case) {
        (Some(path), Some(case)) => {
            let mocks = MockConfig::from_json_str(&read(path, "mock configuration")?)
                .map_err(|e| Refusal(format!("{}: {e}", path.display())))?;
            let machine = mocks
                .state_machine(args.state_machine.as_deref())
                .map_err(|e| Refusal(format!("{}: {e}", path.display())))?
                .to_string();
            let mocked = mocks
                .mocked_states(&machine, case)
                .map_err(|e| Refusal(format!("{}: {e}", path.display())))?;
            if let Some(task) = definition
                .tasks()
                .iter()
                .find(|t| !mocked.contains(&t.state))
            {
                return Err(Refusal(format!(
                    "Task state '{}' has no mock in test case '{case}' of state machine '{machine}'",
                    task.state
                )));
            }
            (mocks.resources(&machine, case)?, machine)
        }
        _ => {
            if let Some(task) = definition.tasks().first() {
                return Err(Refusal(format!(
                    "Task state '{}' has no mock: give --mock-config and --test-case",
                    task.state
                )));
            }
            let name = args.state_machine.clone().unwrap_or_else(|| {
                args.definition
                    .file_stem()
                    .map(|s| s.to_string_lossy().replace(['.', ' '], "-"))
                    .unwrap_or_else(|| "StateMachine".into())
            });
            (Resources::new(), name)
        }
    };
    let clock: clock::SharedClock = if args.real_clock {
        Arc::new(clock::SystemClock)
    } else {
        Arc::new(clock::VirtualClock::starting_at(chrono::Utc::now()))
    };
    let runner = Runner::builder(definition)
        .resources(resources)
        .state_machine_name(name)
        .clock(clock)
        .build()?;
    Ok((runner, input))
}
