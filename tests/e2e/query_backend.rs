//! The query editor's backend path, headless, over the sandbox's TLS PostgreSQL: open a session
//! through `Command::OpenSession`, run scripts with `Command::RunQuery` and read the events the
//! window would get — streaming snapshots (throttled), one result per statement, notices, the
//! error position, Stop within a second with the session still usable, a 1M-row result through
//! a small memory cap (spilling), and the run in the history.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rds_explorer::backend::{
    self, BackendContext, BackendHandle, Command, Event, QueryEnd, QueryUpdate, SessionId,
    SessionInfo, TabId,
};
use rds_explorer::db::connect::{ConnectParams, Endpoint};
use rds_explorer::db::tls::{TrustConfig, client_config};
use rds_explorer::jobs::{JobOutcome, JobUpdate};
use rds_explorer::query::StoreOptions;
use rds_explorer::query::export::ExportFormat;
use rds_explorer::store::{Database, HistoryStatus};
use rds_sandbox::{PgCluster, PgClusterOptions};

use crate::util::TestHome;

/// A sandbox database and the connect parameters the app would resolve for it.
pub struct PgSandbox {
    pub cluster: PgCluster,
    pub tls: Arc<rustls::ClientConfig>,
}

impl PgSandbox {
    pub fn start() -> Self {
        let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
        let tls = client_config(&TrustConfig {
            extra_ca_file: Some(cluster.info().ca_file.clone()),
            ..TrustConfig::default()
        })
        .unwrap();
        Self { cluster, tls }
    }

    pub fn params(&self) -> ConnectParams {
        let info = self.cluster.info();
        ConnectParams {
            endpoint: Endpoint {
                host: info.host_name.clone(),
                hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: info.port,
            },
            database: info.database.clone(),
            user: info.app_user.clone(),
            password: info.app_password.as_str().into(),
            timeout: Duration::from_secs(10),
        }
    }

    pub fn info(&self, title: &str) -> SessionInfo {
        let info = self.cluster.info();
        SessionInfo {
            id: SessionId(0),
            title: title.into(),
            color: Some([0x20, 0x90, 0x40]),
            read_only: false,
            production: false,
            database: info.database.clone(),
            user: info.app_user.clone(),
            endpoint: self.params().endpoint.to_string(),
        }
    }
}

struct Backend {
    handle: BackendHandle,
    _runtime: tokio::runtime::Runtime,
    home: TestHome,
}

impl Backend {
    fn start() -> Self {
        let home = TestHome::new();
        let runtime = crate::util::runtime();
        let context = BackendContext {
            settings: rds_explorer::store::Settings::default(),
            paths: home.paths(),
            database: Database::open(&home.paths().database_file()).unwrap(),
            aws_files: home.aws_files(),
        };
        let handle = backend::start(runtime.handle(), context, || {});
        Self {
            handle,
            _runtime: runtime,
            home,
        }
    }

    fn next_event(&mut self, what: &str, deadline: Instant) -> Event {
        loop {
            if let Some(event) = self.handle.try_recv() {
                return event;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn open_session(&mut self, sandbox: &PgSandbox) -> SessionId {
        self.handle
            .send(Command::OpenSession {
                params: sandbox.params(),
                tls: sandbox.tls.clone(),
                info: sandbox.info("sandbox"),
            })
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.next_event("session opened", deadline) {
                Event::SessionOpened(info) => return info.id,
                Event::SessionFailed { error, .. } => panic!("{error}"),
                _ => {}
            }
        }
    }

    fn run(&mut self, session: SessionId, tab: u64, sql: &str, store: StoreOptions) {
        self.handle
            .send(Command::RunQuery {
                session,
                tab: TabId(tab),
                sql: sql.into(),
                store,
            })
            .unwrap();
    }

    /// Every update of the run in `tab` until its end, with the time each arrived.
    fn updates_until_end(&mut self, tab: u64, timeout: Duration) -> Vec<(Instant, QueryUpdate)> {
        let deadline = Instant::now() + timeout;
        let mut updates = Vec::new();
        loop {
            if let Event::QueryUpdate(update) = self.next_event("query end", deadline)
                && update.tab == TabId(tab)
            {
                let end = update.end.is_some();
                updates.push((Instant::now(), *update));
                if end {
                    return updates;
                }
            }
        }
    }
}

fn cell(update: &QueryUpdate, statement: usize, row: u64, column: usize) -> Option<String> {
    let snapshot = update.statements[statement].snapshot.as_ref().unwrap();
    let mut text = String::new();
    snapshot
        .render_cell(row, column, &mut text)
        .unwrap()
        .then_some(text)
}

#[test]
fn a_script_gives_one_result_per_statement_notices_and_the_error_position() {
    let sandbox = PgSandbox::start();
    let mut backend = Backend::start();
    let session = backend.open_session(&sandbox);
    let script = "select 'a' as x, null::text as y, '' as z;\n\
                  do $$ begin raise notice 'hello %', 6 * 7; end $$;\n\
                  create temp table t(n int);\n\
                  insert into t select generate_series(1, 5);\n\
                  select n from t order by n;\n\
                  select nope from t";
    backend.run(session, 1, script, StoreOptions::default());
    let updates = backend.updates_until_end(1, Duration::from_secs(20));
    let last = &updates.last().unwrap().1;
    // The sixth failed while being prepared: it never had a result.
    assert_eq!(last.statements.len(), 5);
    assert_eq!(cell(last, 0, 0, 0).as_deref(), Some("a"));
    assert_eq!(cell(last, 0, 0, 1), None, "NULL");
    assert_eq!(cell(last, 0, 0, 2).as_deref(), Some(""), "empty, not NULL");
    assert_eq!(last.statements[3].outcome.as_ref().unwrap().rows, 5);
    assert_eq!(cell(last, 4, 4, 0).as_deref(), Some("5"));
    assert_eq!(last.notices.len(), 1);
    assert_eq!(last.notices[0].message, "hello 42");
    let Some(QueryEnd::Failed {
        error,
        error_offset,
        statement,
    }) = &last.end
    else {
        panic!("{:?}", last.end);
    };
    assert!(error.message.contains("42703"), "{error}");
    assert!(error.next_step.contains("highlighted"), "{error}");
    assert_eq!(&script[error_offset.unwrap()..], "nope from t");
    assert_eq!(statement.as_ref().unwrap().index, 5);
}

#[test]
fn stop_cancels_pg_sleep_within_a_second_and_the_session_stays_usable() {
    let sandbox = PgSandbox::start();
    let mut backend = Backend::start();
    let session = backend.open_session(&sandbox);
    backend.run(
        session,
        7,
        "select 1 as before; select pg_sleep(30)",
        StoreOptions::default(),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Event::QueryStarted { tab, .. } = backend.next_event("query started", deadline) {
            assert_eq!(tab, TabId(7));
            break;
        }
    }
    // Let the sleep start on the server.
    std::thread::sleep(Duration::from_millis(500));
    let stopped_at = Instant::now();
    backend
        .handle
        .send(Command::CancelQuery { session })
        .unwrap();
    let updates = backend.updates_until_end(7, Duration::from_secs(10));
    let (ended_at, last) = updates.last().unwrap();
    assert!(
        ended_at.duration_since(stopped_at) < Duration::from_secs(1),
        "{:?}",
        ended_at.duration_since(stopped_at)
    );
    assert!(
        matches!(&last.end, Some(QueryEnd::Cancelled { message }) if message.contains("cancel")),
        "{:?}",
        last.end
    );
    assert_eq!(
        cell(last, 0, 0, 0).as_deref(),
        Some("1"),
        "kept what arrived"
    );

    backend.run(session, 8, "select 'still usable'", StoreOptions::default());
    let updates = backend.updates_until_end(8, Duration::from_secs(10));
    let last = &updates.last().unwrap().1;
    assert_eq!(last.end, Some(QueryEnd::Succeeded));
    assert_eq!(cell(last, 0, 0, 0).as_deref(), Some("still usable"));

    let database = Database::open(&backend.home.paths().database_file()).unwrap();
    let runs = database.history_search("pg_sleep", 10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, HistoryStatus::Cancelled);
    assert_eq!(runs[0].connection, "sandbox");
}

/// The benchmark's 1M-row × 9-column shape (`shared/reference/test-environment.md` §4).
pub(crate) const MILLION_ROWS: &str = "SELECT g::int AS id, g::bigint * 1000003 AS big, 'name-' || g AS name, \
     ((g % 100000) / 100.0)::numeric(12,2) AS amount, to_timestamp(1704067200 + g) AS created_at, \
     ('{\"k\": ' || (g % 1000) || ', \"tag\": \"v' || (g % 7) || '\"}')::jsonb AS payload, \
     (g % 3 = 0) AS flag, \
     ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid AS uid, \
     CASE WHEN g % 10 = 0 THEN 'sparse-' || g END AS sparse \
     FROM generate_series(1, 1000000) AS g";

#[test]
fn a_million_rows_stream_to_the_window_path_through_a_small_cap() {
    let sandbox = PgSandbox::start();
    let mut backend = Backend::start();
    let session = backend.open_session(&sandbox);
    let spill_dir = tempfile::tempdir().unwrap();
    let store = StoreOptions {
        memory_cap_bytes: 8 << 20,
        spill_dir: Some(spill_dir.path().to_owned()),
    };
    let started = Instant::now();
    backend.run(
        session,
        3,
        &format!("SET TimeZone = 'UTC'; {MILLION_ROWS}"),
        store,
    );
    let updates = backend.updates_until_end(3, Duration::from_mins(2));
    let (_, last) = updates.last().unwrap();
    assert_eq!(last.end, Some(QueryEnd::Succeeded));
    let result = &last.statements[1];
    let snapshot = result.snapshot.as_ref().unwrap();
    assert_eq!(snapshot.row_count(), 1_000_000);
    assert!(result.spilled_rows > 800_000, "{}", result.spilled_rows);

    // Rows were on the way long before the end, and updates were throttled.
    let (first_rows_at, _) = updates.iter().find(|(_, u)| u.total_rows() > 0).unwrap();
    let total = started.elapsed();
    assert!(
        first_rows_at.duration_since(started) < total / 2,
        "first rows after {:?} of {total:?}",
        first_rows_at.duration_since(started)
    );
    let per_second = updates.len() as f64 / total.as_secs_f64();
    assert!(per_second <= 25.0, "{} updates in {total:?}", updates.len());
    assert!(updates.len() >= 3, "{} updates", updates.len());

    let row = |g: u64| {
        (0..9)
            .map(|c| cell(last, 1, g - 1, c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("|")
    };
    assert_eq!(
        row(1),
        "1|1000003|name-1|0.01|2024-01-01 00:00:01+00|{\"k\": 1, \"tag\": \"v1\"}|f|\
         00000000-0000-4000-8000-000000000001|"
    );
    assert_eq!(
        row(1_000_000),
        "1000000|1000003000000|name-1000000|0.00|2024-01-12 13:46:40+00|{\"k\": 0, \"tag\": \"v1\"}|f|\
         00000000-0000-4000-8000-0000000f4240|sparse-1000000"
    );
    assert_eq!(
        std::fs::read_dir(spill_dir.path()).unwrap().count(),
        0,
        "the spill file has no name: nothing is left behind after a crash"
    );
}

#[test]
fn export_streams_a_query_to_csv_json_and_ndjson_files() {
    let sandbox = PgSandbox::start();
    let mut backend = Backend::start();
    let session = backend.open_session(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let sql = "select g as n, case when g % 2 = 0 then 'a,\"b\"' when g = 3 then '' end as t, \
               (g % 3 = 0) as flag from generate_series(1, 200000) g";
    for (format, name) in [
        (ExportFormat::Csv, "out.csv"),
        (ExportFormat::Json, "out.json"),
        (ExportFormat::Ndjson, "out.ndjson"),
    ] {
        let path = dir.path().join(name);
        backend
            .handle
            .send(Command::ExportQuery {
                session,
                tab: TabId(1),
                sql: sql.into(),
                format,
                path: Some(path.clone()),
            })
            .unwrap();
        let deadline = Instant::now() + Duration::from_mins(1);
        let written = loop {
            if let Event::ExportFinished { result, .. } = backend.next_event("export", deadline) {
                break result.unwrap();
            }
        };
        assert_eq!(written, (path.clone(), 200_000));
        let text = std::fs::read_to_string(&path).unwrap();
        match format {
            ExportFormat::Csv => {
                let lines: Vec<&str> = text.split("\r\n").take(5).collect();
                assert_eq!(
                    lines,
                    [
                        "n,t,flag",
                        "1,,f",
                        "2,\"a,\"\"b\"\"\",f",
                        "3,\"\",t",
                        "4,\"a,\"\"b\"\"\",f"
                    ]
                );
                assert_eq!(text.matches("\r\n").count(), 200_001);
            }
            ExportFormat::Json => {
                let rows: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
                assert_eq!(rows.len(), 200_000);
                assert_eq!(rows[2], serde_json::json!({"n": 3, "t": "", "flag": true}));
                assert_eq!(
                    rows[0],
                    serde_json::json!({"n": 1, "t": null, "flag": false})
                );
            }
            ExportFormat::Ndjson => {
                let lines: Vec<&str> = text.lines().collect();
                assert_eq!(lines.len(), 200_000);
                assert_eq!(lines[1], r#"{"n":2,"t":"a,\"b\"","flag":false}"#);
            }
        }
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "no temporary files left: {names:?}");
}

#[test]
fn a_session_the_server_ends_is_reported_closed_and_refuses_more_runs() {
    let sandbox = PgSandbox::start();
    let mut backend = Backend::start();
    let session = backend.open_session(&sandbox);
    backend.run(
        session,
        4,
        "select pg_terminate_backend(pg_backend_pid())",
        StoreOptions::default(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let (id, reason) = loop {
        if let Event::SessionClosed { id, reason } = backend.next_event("session closed", deadline)
        {
            break (id, reason);
        }
    };
    assert_eq!(id, session);
    assert!(reason.contains("connect again"), "{reason}");
    backend.run(session, 5, "select 1", StoreOptions::default());
    let refused = loop {
        if let Event::QueryRefused { tab, error } = backend.next_event("refused", deadline) {
            assert_eq!(tab, TabId(5));
            break error;
        }
    };
    assert!(refused.message.contains("closed"), "{refused}");
}

#[test]
fn cancelling_the_job_also_stops_the_statement_on_the_server() {
    let sandbox = PgSandbox::start();
    let mut backend = Backend::start();
    let session = backend.open_session(&sandbox);
    backend.run(session, 9, "select pg_sleep(30)", StoreOptions::default());
    let deadline = Instant::now() + Duration::from_secs(10);
    let job = loop {
        if let Event::QueryStarted { job, .. } = backend.next_event("query started", deadline) {
            break job;
        }
    };
    std::thread::sleep(Duration::from_millis(300));
    // The jobs panel's Cancel: the run is dropped without a final update.
    backend.handle.send(Command::CancelJob(job)).unwrap();
    loop {
        if let Event::Job(JobUpdate::Finished { id, outcome }) =
            backend.next_event("job cancelled", deadline)
            && id == job
        {
            assert_eq!(outcome, JobOutcome::Cancelled);
            break;
        }
    }
    // Without the cancel request on the server, this would queue behind the 30 s sleep.
    let started = Instant::now();
    backend.run(session, 10, "select 'free again'", StoreOptions::default());
    let updates = backend.updates_until_end(10, Duration::from_secs(20));
    let last = &updates.last().unwrap().1;
    assert_eq!(cell(last, 0, 0, 0).as_deref(), Some("free again"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
