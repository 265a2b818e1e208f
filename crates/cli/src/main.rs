//! `gdpr-erasure`: the one command for people. Each subcommand lives in its own
//! module and only wires arguments to the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod annotate;
mod asl;
mod audit;
mod certificate;
mod console;
mod demo;
mod emulator;
mod letter;
mod local;
mod run;
mod timeline;

#[derive(Parser)]
#[command(
    name = "gdpr-erasure",
    version,
    about = "GDPR Article 17 erasure pipeline for Genesys Cloud"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the pipeline version.
    Version,
    /// Run sample tickets through the workflow against the emulator (`make demo`).
    Demo(demo::DemoArgs),
    /// Run one ticket through the workflow (emulator by default, or a real org).
    Run(run::RunArgs),
    /// Run Amazon States Language definitions locally.
    Asl {
        #[command(subcommand)]
        command: asl::AslCommand,
    },
    /// A local Genesys Cloud emulator.
    Emulator(emulator::EmulatorArgs),
    /// Read and check the compliance archive (for auditors).
    Audit(audit::AuditArgs),
    /// The DPO's console over the demo's tickets (`make console`).
    Console(console::ConsoleArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("gdpr-erasure {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Demo(args) => demo::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Asl { command } => asl::run(command),
        Command::Emulator(args) => match emulator::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Audit(args) => audit::run(args).await,
        Command::Console(args) => console::run(args).await,
    }
}
