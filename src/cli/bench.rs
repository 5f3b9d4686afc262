//! `rds-explorer bench window-fetch` (hidden): the window's query path without the window, for
//! `scripts/bench`. It starts the real backend, connects with the connect command (tunnel route,
//! auth mode and TLS as the dialog would), runs the query as an editor tab does and follows the
//! events the window would draw: when the first rows arrive (what the grid shows on the next
//! frame), when the run ends, the process's memory growth while the result is held, and
//! optionally the grid's frame times scrolling the whole result. Prints `name=value` lines.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

use super::query::{QueryArgs, connection_from_args};
use crate::aws::profiles::AwsFiles;
use crate::backend::{
    self, BackendContext, Command, ConnectRequest, Event, QueryEnd, QueryUpdate, TabId,
};
use crate::query::StoreOptions;
use crate::secret::Secret;
use crate::store::{Database, Paths, load_settings};

/// What `bench window-fetch` was asked for.
#[derive(Clone, Debug, clap::Args)]
pub struct WindowFetchArgs {
    /// The connection and the SQL, as for `query`.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Stop the query once the first rows are in (a slow route: only the first rows matter).
    #[arg(long)]
    pub first_rows_only: bool,
    /// Afterwards, scroll the grid over the result for this many headless frames.
    #[arg(long, default_value_t = 0)]
    pub grid_frames: usize,
}

/// How long any one step may take before the bench gives up.
const STEP_LIMIT: Duration = Duration::from_mins(10);

/// Runs the bench and prints its figures.
pub fn window_fetch(
    runtime: &tokio::runtime::Runtime,
    args: &WindowFetchArgs,
) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let (mut settings, _) = load_settings(&paths.settings_file());
    if let Some(ca_file) = &args.query.ca_file {
        settings.extra_ca_file = Some(ca_file.clone());
    }
    let mut connection = connection_from_args(&paths, &args.query)?;
    // The window keeps the socket's address in the connection (its port is the endpoint's).
    if let Some(hostaddr) = args.query.hostaddr {
        connection.hostaddr = Some(hostaddr);
    }
    std::fs::create_dir_all(&paths.data_dir).context("creating the data directory")?;
    let database = Database::open(&paths.database_file())?;
    let memory_cap_bytes = (settings.result_memory_cap_mib as usize) << 20;
    let context = BackendContext {
        paths,
        database,
        aws_files: AwsFiles::from_env(),
        settings,
    };
    let mut handle = backend::start(runtime.handle(), context, || {});
    let send = |handle: &backend::BackendHandle, command| {
        handle
            .send(command)
            .map_err(|busy| anyhow!("the backend refused a command: {busy}"))
    };
    send(
        &handle,
        Command::Connect(ConnectRequest {
            connection,
            replacing: None,
            save: false,
            typed_password: std::env::var("PGPASSWORD").ok().map(Secret::new),
            save_password: false,
        }),
    )?;
    let session = next_event(&mut handle, |event| match event {
        Event::SessionOpened(info) => Some(Ok(info.id)),
        Event::ConnectFailed((error, _)) => Some(Err(anyhow!("{error}"))),
        _ => None,
    })??;
    let rss_before = rss_bytes("VmRSS");
    let tab = TabId(1);
    let started = Instant::now();
    send(
        &handle,
        Command::RunQuery {
            session,
            tab,
            sql: args.query.sql.clone(),
            store: StoreOptions {
                memory_cap_bytes,
                spill_dir: None,
            },
        },
    )?;
    let mut first_rows = None;
    let last = loop {
        let update = next_event(&mut handle, |event| match event {
            Event::QueryUpdate(update) if update.tab == tab => Some(update),
            _ => None,
        })?;
        if first_rows.is_none() && update.total_rows() > 0 {
            first_rows = Some(started.elapsed());
            if args.first_rows_only {
                send(&handle, Command::CancelQuery { session })?;
            }
        }
        if update.end.is_some() {
            break update;
        }
    };
    let total = started.elapsed();
    match &last.end {
        Some(QueryEnd::Succeeded) => {}
        Some(QueryEnd::Cancelled { .. }) if args.first_rows_only => {}
        other => bail!("the query did not succeed: {other:?}"),
    }
    let grown = rss_bytes("VmHWM")
        .zip(rss_before)
        .map(|(peak, before)| peak.saturating_sub(before));
    report(&last, first_rows, total, grown, args.grid_frames)?;
    drop(handle);
    Ok(ExitCode::SUCCESS)
}

/// Prints the figures; scrolls the grid over the last result first when asked.
fn report(
    last: &QueryUpdate,
    first_rows: Option<Duration>,
    total: Duration,
    grown: Option<u64>,
    grid_frames: usize,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "rows={}", last.total_rows())?;
    writeln!(out, "received_bytes={}", last.received_bytes)?;
    if let Some(first) = first_rows {
        writeln!(out, "first_rows_ms={:.1}", first.as_secs_f64() * 1000.0)?;
    }
    writeln!(out, "total_ms={:.1}", total.as_secs_f64() * 1000.0)?;
    if let Some(grown) = grown {
        writeln!(out, "peak_rss_growth_bytes={grown}")?;
    }
    if grid_frames > 0 {
        let snapshot = last
            .statements
            .iter()
            .rev()
            .find_map(|statement| statement.snapshot.clone())
            .ok_or_else(|| anyhow!("the query returned no rows to scroll"))?;
        let times = crate::ui::scroll_grid_frames(snapshot, grid_frames);
        writeln!(
            out,
            "grid_frame_ms={:.3} {:.3} {:.3}",
            times.p50.as_secs_f64() * 1000.0,
            times.p99.as_secs_f64() * 1000.0,
            times.max.as_secs_f64() * 1000.0
        )?;
    }
    Ok(())
}

/// Waits for the first event `pick` accepts (others are dropped, as a window would ignore them).
fn next_event<T>(
    handle: &mut backend::BackendHandle,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + STEP_LIMIT;
    loop {
        while let Some(event) = handle.try_recv() {
            if let Some(found) = pick(event) {
                return Ok(found);
            }
        }
        if Instant::now() > deadline {
            bail!("no answer from the backend in {STEP_LIMIT:?}");
        }
        // A window polls once a frame; a millisecond is finer than any frame.
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A `/proc/self/status` memory figure (`VmRSS`, `VmHWM`) in bytes; `None` off Linux.
fn rss_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}
