//! The `rds-explorer` binary: parse the command line, build the tokio runtime, then run either a
//! subcommand or the window. Everything else lives in the library.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser as _;
use rds_explorer::aws::profiles::AwsFiles;
use rds_explorer::cli::{self, Cli};
use rds_explorer::logging::{self, LogBuffer};
use rds_explorer::store::Paths;
use rds_explorer::ui::{self, AppInit, ProbeExit, StartupProbe};

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    match run(&cli, started) {
        Ok(code) => code,
        Err(error) => {
            report(&format!("rds-explorer: {error:#}"));
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli, started: Instant) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("rdsx-worker")
        .enable_all()
        .build()?;
    if let Some(command) = cli.command.clone() {
        return cli::run(command, &runtime);
    }
    let exit = if cli.exit_after_first_frame {
        ProbeExit::AfterFirstFrame
    } else if cli.exit_after_inventory {
        ProbeExit::AfterInventory
    } else {
        ProbeExit::Never
    };
    let probe = StartupProbe::new(started, exit);
    run_gui(&runtime, probe.clone())?;
    // The window closed its tunnels on exit (`App::on_exit`); give other tasks a moment to finish
    // cleanly, never hang.
    runtime.shutdown_timeout(Duration::from_secs(2));
    let marks = probe.marks();
    let millis = |mark: Option<Duration>| {
        mark.map_or(-1, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
    };
    if exit != ProbeExit::Never {
        report(&format!("first_frame_millis={}", millis(marks.first_frame)));
    }
    if exit == ProbeExit::AfterInventory {
        report(&format!(
            "inventory_cached_millis={}",
            millis(marks.inventory_cached)
        ));
        report(&format!(
            "inventory_refreshed_millis={}",
            millis(marks.inventory_refreshed)
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_gui(runtime: &tokio::runtime::Runtime, probe: StartupProbe) -> anyhow::Result<()> {
    let paths = Paths::from_env()?;
    let log_buffer = LogBuffer::new(5000);
    let (_log_guard, log_problem) = logging::init(Some(&paths.log_dir()), log_buffer.clone());
    if let Some(problem) = &log_problem {
        tracing::warn!(%problem, "logging to the in-app Log view only");
    }
    tracing::info!(version = rds_explorer::VERSION, "RDS Explorer starting");
    let mut init = AppInit::load(paths, AwsFiles::from_env(), log_buffer)?;
    init.probe = Some(probe);
    let handle = runtime.handle().clone();
    eframe::run_native(
        "RDS Explorer",
        ui::native_options(),
        Box::new(move |cc| Ok(Box::new(ui::ExplorerApp::start(cc, &handle, init)))),
    )
    .map_err(|error| anyhow::anyhow!("could not open the main window: {error}"))
}

/// The binary's one place that writes to stderr.
#[expect(
    clippy::print_stderr,
    reason = "errors and the bench figure go to stderr"
)]
fn report(text: &str) {
    eprintln!("{text}");
}
