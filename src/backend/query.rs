//! Running an editor tab's SQL on its session as a Job: rows stream into columnar stores (one per
//! statement that returns rows) while a publisher task sends the UI a [`QueryUpdate`] with cheap
//! snapshots at most every [`PUBLISH_INTERVAL`] — the first rows as soon as they arrive. Stop
//! sends a cancel request over the session's route (the statement ends within a second, the
//! session stays usable) and keeps what arrived. Every run is recorded in the history.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::sessions::{RunningQuery, Session, SessionId, TabId};
use super::{Event, Outbox, Shared};
use crate::jobs::{JobContext, JobId, Progress, UserError};
use crate::query::{
    FetchedRow, Notice, QueryError, ResultSink, ResultStore, RowValues as _, RunOptions, SinkError,
    StatementInfo, StatementOutcome, StoreColumn, StoreOptions, StoreSnapshot, fetch_to_sink,
};
use crate::store::{HistoryEntry, HistoryStatus};

/// The UI is told about new rows at most this often (≤ 20 updates a second).
pub const PUBLISH_INTERVAL: Duration = Duration::from_millis(50);

/// One statement of a run, as the UI shows it.
#[derive(Clone, Debug)]
pub struct StatementView {
    /// Which statement (its range in the SQL that ran).
    pub statement: StatementInfo,
    /// Its rows so far, for a statement returning rows.
    pub snapshot: Option<StoreSnapshot>,
    /// How it ended; `None` while it runs (or when the run stopped in it).
    pub outcome: Option<StatementOutcome>,
    /// Rows of it kept in the spill file.
    pub spilled_rows: u64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryEnd {
    /// Every statement ran.
    Succeeded,
    /// A statement failed; earlier results are kept.
    Failed {
        /// What happened and what to do.
        error: UserError,
        /// Byte offset in the SQL that ran, when the server located the error.
        error_offset: Option<usize>,
        /// The statement that failed.
        statement: Option<StatementInfo>,
    },
    /// Stopped (Stop or a statement timeout); rows received before are kept.
    Cancelled {
        /// The server's reason.
        message: String,
    },
}

/// The state of a run, sent while it runs and once at its end.
#[derive(Clone, Debug)]
pub struct QueryUpdate {
    /// The tab that ran it.
    pub tab: TabId,
    /// The run's job.
    pub job: JobId,
    /// Where it ran.
    pub session: SessionId,
    /// One entry per statement started so far, in order.
    pub statements: Vec<StatementView>,
    /// Notices received so far, in order.
    pub notices: Vec<Notice>,
    /// Bytes of values received.
    pub received_bytes: u64,
    /// Time since the run started.
    pub elapsed: Duration,
    /// Set on the last update.
    pub end: Option<QueryEnd>,
}

impl QueryUpdate {
    /// Rows received over all statements.
    pub fn total_rows(&self) -> u64 {
        self.statements
            .iter()
            .filter_map(|s| s.snapshot.as_ref())
            .map(StoreSnapshot::row_count)
            .sum()
    }
}

/// What the fetching task and the publisher share.
#[derive(Default)]
struct Live {
    finished: Vec<StatementView>,
    current: Option<(StatementInfo, ResultStore)>,
    notices: Vec<Notice>,
    received_bytes: u64,
}

type SharedLive = Arc<Mutex<Live>>;

fn lock(live: &SharedLive) -> MutexGuard<'_, Live> {
    // Plain appends under the lock: a panic cannot leave it inconsistent.
    live.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Streams into [`Live`] and nudges the publisher when a result starts or its first row comes.
struct LiveSink {
    live: SharedLive,
    notify: Arc<Notify>,
    options: StoreOptions,
}

impl ResultSink for LiveSink {
    fn begin_rows(
        &mut self,
        statement: &StatementInfo,
        columns: &[StoreColumn],
    ) -> Result<(), SinkError> {
        let store = ResultStore::new(columns.to_vec(), self.options.clone());
        lock(&self.live).current = Some((statement.clone(), store));
        self.notify.notify_one();
        Ok(())
    }

    fn row(&mut self, row: &FetchedRow<'_>) -> Result<(), SinkError> {
        let bytes: usize = (0..row.len())
            .map(|i| row.value(i).map_or(0, <[u8]>::len))
            .sum();
        let mut live = lock(&self.live);
        live.received_bytes += bytes as u64;
        let Some((_, store)) = &mut live.current else {
            return Ok(());
        };
        store.push_row(row)?;
        let first = store.row_count() == 1;
        drop(live);
        if first {
            self.notify.notify_one();
        }
        Ok(())
    }

    fn end_statement(&mut self, outcome: &StatementOutcome) -> Result<(), SinkError> {
        let mut live = lock(&self.live);
        let store = live.current.take().map(|(_, store)| store);
        live.finished.push(StatementView {
            statement: outcome.statement.clone(),
            spilled_rows: store.as_ref().map_or(0, ResultStore::spilled_rows),
            // The snapshot shares the sealed chunks (and the spill file); the store can go.
            snapshot: store.as_ref().map(ResultStore::snapshot),
            outcome: Some(outcome.clone()),
        });
        drop(live);
        self.notify.notify_one();
        Ok(())
    }

    fn notice(&mut self, _statement: &StatementInfo, notice: &Notice) -> Result<(), SinkError> {
        lock(&self.live).notices.push(notice.clone());
        Ok(())
    }
}

/// Who and what a run is about, for its updates.
#[derive(Clone, Copy)]
struct RunHeader {
    tab: TabId,
    job: JobId,
    session: SessionId,
    started: Instant,
}

fn build_update(live: &SharedLive, header: RunHeader, end: Option<QueryEnd>) -> QueryUpdate {
    let live = lock(live);
    let mut statements = live.finished.clone();
    if let Some((statement, store)) = &live.current {
        statements.push(StatementView {
            statement: statement.clone(),
            snapshot: Some(store.snapshot()),
            outcome: None,
            spilled_rows: store.spilled_rows(),
        });
    }
    QueryUpdate {
        tab: header.tab,
        job: header.job,
        session: header.session,
        statements,
        notices: live.notices.clone(),
        received_bytes: live.received_bytes,
        elapsed: header.started.elapsed(),
        end,
    }
}

/// Sends updates until `done`: after a nudge or every interval, never faster than the interval.
async fn publish(
    live: SharedLive,
    notify: Arc<Notify>,
    done: CancellationToken,
    outbox: Outbox,
    header: RunHeader,
    job: JobContext,
) {
    loop {
        tokio::select! {
            () = done.cancelled() => return,
            () = notify.notified() => {}
            () = tokio::time::sleep(PUBLISH_INTERVAL) => {}
        }
        let update = build_update(&live, header, None);
        job.progress(
            Progress::Count {
                done: update.total_rows(),
                total: None,
            },
            format!(
                "{}, {}",
                count_rows(update.total_rows()),
                format_bytes(update.received_bytes)
            ),
        );
        if !outbox.send(Event::QueryUpdate(Box::new(update))).await {
            return;
        }
        tokio::select! {
            () = done.cancelled() => return,
            () = tokio::time::sleep(PUBLISH_INTERVAL) => {}
        }
    }
}

/// Marks the session free when the run ends; if the run is dropped midway (its job was
/// cancelled from the jobs panel), also asks the server to stop the statement.
pub(super) struct RunGuard {
    session: Arc<Session>,
    job: JobId,
    finished: bool,
}

impl RunGuard {
    /// Guards `job` running on `session`.
    pub(super) fn new(session: Arc<Session>, job: JobId) -> Self {
        Self {
            session,
            job,
            finished: false,
        }
    }

    /// The run ended on its own: free the session, no cancel needed.
    pub(super) fn finished(mut self) {
        self.finished = true;
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.session.finish_query(self.job);
        if !self.finished
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let canceller = self.session.canceller.clone();
            runtime.spawn(async move {
                if let Err(error) = canceller.cancel().await {
                    tracing::warn!(error = %crate::jobs::error_chain(&error), "could not cancel an abandoned query");
                }
            });
        }
    }
}

/// Starts `sql` on `session` for `tab` as a job.
pub(super) async fn run_query(
    shared: &Arc<Shared>,
    outbox: &Outbox,
    session_id: SessionId,
    tab: TabId,
    sql: String,
    options: StoreOptions,
) {
    let Some(session) = shared.sessions.get(session_id) else {
        let error = UserError::new(
            "This tab's session is closed",
            "Connect again from the inventory, then run",
        );
        outbox.send(Event::QueryRefused { tab, error }).await;
        return;
    };
    let database = Arc::clone(&shared.database);
    let run_shared = Arc::clone(shared);
    let run_outbox = outbox.clone();
    let title = format!("Query on {}", session.info.title);
    shared.jobs.spawn(title, move |ctx| async move {
        let outbox = run_outbox;
        let job = ctx.id();
        // Sent by the job itself, so it precedes every update of the run on the same channel.
        outbox
            .send(Event::QueryStarted {
                tab,
                job,
                session: session_id,
            })
            .await;
        if let Err(other) = session.start_query(RunningQuery { tab, job }) {
            let error = UserError::new(
                format!("Query {} is still running in this session", other.job),
                "Stop it first, or open another connection",
            );
            outbox.send(Event::QueryRefused { tab, error }).await;
            return Ok("not started: the session is busy".to_owned());
        }
        let guard = RunGuard::new(Arc::clone(&session), job);
        let header = RunHeader {
            tab,
            job,
            session: session_id,
            started: Instant::now(),
        };
        let started_at = SystemTime::now();
        let live = SharedLive::default();
        let notify = Arc::new(Notify::new());
        let done = CancellationToken::new();
        // Also stops the publisher when the job is cancelled and this future dropped.
        let _stop_publisher = done.clone().drop_guard();
        let publisher = tokio::spawn(publish(
            Arc::clone(&live),
            Arc::clone(&notify),
            done.clone(),
            outbox.clone(),
            header,
            ctx.clone(),
        ));
        let mut sink = LiveSink {
            live: Arc::clone(&live),
            notify,
            options,
        };
        let run_options = RunOptions {
            notices: Some(session.notices.clone()),
            canceller: Some(session.canceller.clone()),
        };
        let result = fetch_to_sink(&session.client, &sql, &mut sink, &run_options).await;
        guard.finished();
        done.cancel();
        let _ = publisher.await;
        let end = query_end(result);
        let update = build_update(&live, header, Some(end.clone()));
        let rows = update.total_rows();
        let summary = summary(&end, rows);
        let entry = HistoryEntry {
            id: 0,
            connection: session.info.title.clone(),
            database: session.info.database.clone(),
            sql,
            started_at_millis: unix_millis(started_at),
            duration_millis: u64::try_from(update.elapsed.as_millis()).unwrap_or(u64::MAX),
            rows,
            status: history_status(&end),
        };
        let failed = !matches!(end, QueryEnd::Succeeded);
        outbox.send(Event::QueryUpdate(Box::new(update))).await;
        record_history(database, entry, &outbox).await;
        if failed {
            // A statement that failed because the server ended the session (terminated,
            // restarted, network) leaves a client that cannot run more; its connection task
            // may notice the end a moment after the error.
            tokio::spawn(report_if_closed(run_shared, outbox, session, session_id));
        }
        Ok(summary)
    });
}

/// How long after a failed run the session's connection may take to show it is closed.
const CLOSED_GRACE: Duration = Duration::from_secs(1);

/// Removes `session` and tells the UI when its connection is closed (now or within
/// [`CLOSED_GRACE`]).
async fn report_if_closed(
    shared: Arc<Shared>,
    outbox: Outbox,
    session: Arc<Session>,
    session_id: SessionId,
) {
    let deadline = tokio::time::Instant::now() + CLOSED_GRACE;
    while !session.client.is_closed() {
        if tokio::time::Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shared.sessions.remove(session_id);
    outbox
        .send(Event::SessionClosed {
            id: session_id,
            reason: "the connection to the server was lost; connect again".into(),
        })
        .await;
}

fn query_end(result: Result<usize, QueryError>) -> QueryEnd {
    match result {
        Ok(_) => QueryEnd::Succeeded,
        Err(QueryError::Cancelled { source, .. }) => QueryEnd::Cancelled {
            message: source
                .as_db_error()
                .map_or_else(|| source.to_string(), |db| db.message().to_owned()),
        },
        Err(error) => QueryEnd::Failed {
            error_offset: error.error_offset(),
            statement: Some(error.statement().clone()),
            error: UserError::from_error(&error, error.next_step()),
        },
    }
}

fn history_status(end: &QueryEnd) -> HistoryStatus {
    match end {
        QueryEnd::Succeeded => HistoryStatus::Succeeded,
        QueryEnd::Failed { .. } => HistoryStatus::Failed,
        QueryEnd::Cancelled { .. } => HistoryStatus::Cancelled,
    }
}

fn summary(end: &QueryEnd, rows: u64) -> String {
    match end {
        QueryEnd::Succeeded => count_rows(rows),
        QueryEnd::Failed { .. } => format!("failed after {}", count_rows(rows)),
        QueryEnd::Cancelled { .. } => format!("stopped; {} kept", count_rows(rows)),
    }
}

async fn record_history(
    database: Arc<Mutex<crate::store::Database>>,
    entry: HistoryEntry,
    outbox: &Outbox,
) {
    let result = tokio::task::spawn_blocking(move || {
        let database = database.lock().unwrap_or_else(PoisonError::into_inner);
        database
            .history_add(&entry)
            .map(|id| HistoryEntry { id, ..entry })
    })
    .await;
    match result {
        Ok(Ok(entry)) => {
            outbox.send(Event::HistoryRecorded(entry)).await;
        }
        Ok(Err(error)) => tracing::warn!(%error, "could not record the query in the history"),
        Err(error) => tracing::warn!(%error, "could not record the query in the history"),
    }
}

/// Sends a cancel request for the query running in `session`, if any.
pub(super) async fn cancel_query(shared: &Arc<Shared>, outbox: &Outbox, session_id: SessionId) {
    let Some(session) = shared.sessions.get(session_id) else {
        return;
    };
    let Some(running) = session.running() else {
        return;
    };
    if let Err(error) = session.canceller.cancel().await {
        let error = UserError::from_error(
            &error,
            "The query may still run on the server; check the connection, or close the tab's session",
        );
        outbox
            .send(Event::QueryRefused {
                tab: running.tab,
                error,
            })
            .await;
    }
}

fn unix_millis(at: SystemTime) -> i64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `1 row`, `2 rows`, `1,000,000 rows`: a row count as the UI shows it.
pub fn count_rows(rows: u64) -> String {
    let digits = rows.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if rows == 1 {
        format!("{grouped} row")
    } else {
        format!("{grouped} rows")
    }
}

/// `512 B`, `1.5 KiB`, `12.3 MiB`, `1.2 GiB`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(5 << 20), "5.0 MiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
    }

    #[test]
    fn row_counts_are_grouped_and_singular_for_one() {
        assert_eq!(count_rows(0), "0 rows");
        assert_eq!(count_rows(1), "1 row");
        assert_eq!(count_rows(999), "999 rows");
        assert_eq!(count_rows(1000), "1,000 rows");
        assert_eq!(count_rows(1_000_000), "1,000,000 rows");
    }
}
