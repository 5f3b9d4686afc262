//! `rds-sandbox`: starts the sandbox services by hand, prints how to reach them, and cleans up on
//! Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use rds_sandbox::{Sandbox, SandboxInfo};

/// Real local stand-ins for RDS Explorer: a TLS-only Postgres with an RDS-like certificate.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Debug, Subcommand)]
enum CliCommand {
    /// Start the sandbox, print one line of JSON describing it, and run until SIGINT or SIGTERM.
    Up,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report_error(&err);
            ExitCode::from(2)
        }
    }
}

#[expect(
    clippy::print_stderr,
    reason = "the one place the CLI reports a failure"
)]
fn report_error(err: &anyhow::Error) {
    eprintln!("rds-sandbox: {err:#}");
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        CliCommand::Up => up(),
    }
}

fn up() -> anyhow::Result<()> {
    // Installed before starting anything, so a signal during the start still ends in a clean stop.
    let (stop_sender, stop_receiver) = mpsc::sync_channel(1);
    ctrlc::set_handler(move || {
        // Full means a stop is already pending; a second signal has nothing to add.
        _ = stop_sender.try_send(());
    })
    .context("installing the SIGINT/SIGTERM handler")?;

    let sandbox = Sandbox::up().context("starting the sandbox")?;
    print_info(&sandbox.info())?;
    stop_receiver
        .recv()
        .context("waiting for SIGINT or SIGTERM")?;
    sandbox.stop().context("stopping the sandbox")
}

/// One line of JSON, flushed at once: the caller reads it from a pipe and keeps us running.
fn print_info(info: &SandboxInfo) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, info).context("writing the sandbox info")?;
    writeln!(stdout)
        .and_then(|()| stdout.flush())
        .context("writing the sandbox info")
}
