//! `rds-sandbox`: starts the sandbox services by hand, prints how to reach them, and cleans up on
//! Ctrl-C or SIGTERM. `rds-sandbox up --only aws --auto-approve` for the AWS side alone with
//! SSO sign-in that needs no approval.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use rds_sandbox::{DeviceApproval, Sandbox, SandboxInfo, SandboxOptions};

/// Real local stand-ins for RDS Explorer: a TLS-only Postgres with an RDS-like certificate, and
/// an AWS account on loopback (moto plus a front for what moto lacks).
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Debug, Subcommand)]
enum CliCommand {
    /// Start the sandbox, print one line of JSON describing it, and run until SIGINT or SIGTERM.
    Up {
        /// Start only this service (default: both).
        #[arg(long, value_enum)]
        only: Option<Service>,
        /// Approve SSO device authorizations at once instead of waiting for `POST
        /// /sandbox/approve` or the device page.
        #[arg(long)]
        auto_approve: bool,
        /// Also create COUNT plain PostgreSQL instances `bench-…` in REGION (repeatable), e.g.
        /// `--seed-instances eu-west-1=125`, for benchmarks and demos of a large inventory.
        #[arg(long = "seed-instances", value_name = "REGION=COUNT", value_parser = region_count)]
        seed_instances: Vec<(String, usize)>,
    },
}

fn region_count(text: &str) -> Result<(String, usize), String> {
    let (region, count) = text
        .split_once('=')
        .ok_or_else(|| format!("expected REGION=COUNT, got {text:?}"))?;
    let count = count
        .parse()
        .map_err(|_| format!("COUNT must be a number, got {count:?}"))?;
    Ok((region.to_owned(), count))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Service {
    /// The TLS-only PostgreSQL cluster.
    Pg,
    /// moto, the AWS front and the seed.
    Aws,
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
        CliCommand::Up {
            only,
            auto_approve,
            seed_instances,
        } => {
            let mut options = match only {
                None => SandboxOptions::default(),
                Some(Service::Pg) => SandboxOptions::pg_only(),
                Some(Service::Aws) => SandboxOptions::aws_only(),
            };
            if auto_approve && let Some(aws) = options.aws.as_mut() {
                aws.device_approval = DeviceApproval::Automatic;
            }
            up(&options, &seed_instances)
        }
    }
}

fn up(options: &SandboxOptions, seed_instances: &[(String, usize)]) -> anyhow::Result<()> {
    // Installed before starting anything, so a signal during the start still ends in a clean stop.
    let (stop_sender, stop_receiver) = mpsc::sync_channel(1);
    ctrlc::set_handler(move || {
        // Full means a stop is already pending; a second signal has nothing to add.
        _ = stop_sender.try_send(());
    })
    .context("installing the SIGINT/SIGTERM handler")?;

    let sandbox = Sandbox::start(options).context("starting the sandbox")?;
    if !seed_instances.is_empty() {
        let aws = sandbox
            .aws
            .as_ref()
            .context("--seed-instances needs the AWS side of the sandbox")?;
        for (region, count) in seed_instances {
            aws.seed_instances(region, "bench", *count)?;
        }
    }
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
