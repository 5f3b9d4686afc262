//! Exporting a query to a file as a Job: the save dialog (unless a path is given), then the query
//! streams through an `OutputSink` (file conventions) into a temporary file beside the target, renamed into place
//! when complete — a failed or cancelled export leaves no half file. Progress shows rows and
//! bytes; cancelling the job cancels the statement on the server.

use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use super::sessions::{RunningQuery, SessionId, TabId};
use super::{Event, Outbox, Shared};
use crate::jobs::{Progress, UserError};
use crate::query::export::ExportFormat;
use crate::query::output::OutputSink;
use crate::query::{
    FetchedRow, ResultSink, RunOptions, SinkError, StatementInfo, StatementOutcome, StoreColumn,
    fetch_to_sink,
};

/// Reports progress every this many rows.
const PROGRESS_ROWS: u64 = 10_000;

/// An export sink that also reports progress on the job.
struct ProgressSink<'a> {
    inner: OutputSink<BufWriter<std::fs::File>>,
    job: &'a crate::jobs::JobContext,
}

impl ResultSink for ProgressSink<'_> {
    fn begin_rows(
        &mut self,
        statement: &StatementInfo,
        columns: &[StoreColumn],
    ) -> Result<(), SinkError> {
        self.inner.begin_rows(statement, columns)
    }

    fn row(&mut self, row: &FetchedRow<'_>) -> Result<(), SinkError> {
        self.inner.row(row)?;
        let rows = self.inner.rows();
        if rows.is_multiple_of(PROGRESS_ROWS) {
            self.job.progress(
                Progress::Count {
                    done: rows,
                    total: None,
                },
                format!(
                    "{}, {}",
                    super::count_rows(rows),
                    super::format_bytes(self.inner.bytes())
                ),
            );
        }
        Ok(())
    }

    fn end_statement(&mut self, outcome: &StatementOutcome) -> Result<(), SinkError> {
        self.inner.end_statement(outcome)
    }
}

/// Asks where (unless `path`), then starts the export job.
pub(super) async fn export(
    shared: &Arc<Shared>,
    outbox: &Outbox,
    session_id: SessionId,
    tab: TabId,
    sql: String,
    format: ExportFormat,
    path: Option<PathBuf>,
) {
    let path = if let Some(path) = path {
        path
    } else {
        let picked = rfd::AsyncFileDialog::new()
            .set_title("Export the query result")
            .set_file_name(format!("result.{}", format.extension()))
            .save_file()
            .await;
        let Some(handle) = picked else {
            return;
        };
        handle.path().to_path_buf()
    };
    let Some(session) = shared.sessions.get(session_id) else {
        let error = UserError::new("This tab's session is closed", "Connect again, then export");
        outbox
            .send(Event::ExportFinished {
                tab,
                result: Err(error),
            })
            .await;
        return;
    };
    let outbox = outbox.clone();
    let title = format!("Export to {}", path.display());
    shared.jobs.spawn(title, move |ctx| async move {
        let job = ctx.id();
        if session.start_query(RunningQuery { tab, job }).is_err() {
            let error = UserError::new(
                "A query is still running in this session",
                "Stop it first, then export",
            );
            outbox
                .send(Event::ExportFinished {
                    tab,
                    result: Err(error.clone()),
                })
                .await;
            return Err(error);
        }
        let guard = super::query::RunGuard::new(Arc::clone(&session), job);
        let result = write_file(&session, &sql, format, &path, &ctx).await;
        guard.finished();
        let event_result = result.clone().map(|rows| (path.clone(), rows));
        outbox
            .send(Event::ExportFinished {
                tab,
                result: event_result,
            })
            .await;
        result.map(|rows| format!("{rows} rows written"))
    });
}

async fn write_file(
    session: &super::sessions::Session,
    sql: &str,
    format: ExportFormat,
    path: &std::path::Path,
    ctx: &crate::jobs::JobContext,
) -> Result<u64, UserError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(|error| {
        UserError::from_error(
            &error,
            format!("Choose a folder you can write to (not {})", dir.display()),
        )
    })?;
    let file = temp
        .reopen()
        .map_err(|error| UserError::from_error(&error, "Try again"))?;
    let mut sink = ProgressSink {
        inner: format.sink(BufWriter::with_capacity(1 << 20, file)),
        job: ctx,
    };
    let options = RunOptions {
        notices: None,
        canceller: Some(session.canceller.clone()),
    };
    fetch_to_sink(&session.client, sql, &mut sink, &options)
        .await
        .map_err(|error| UserError::from_error(&error, error.next_step()))?;
    let rows = sink.inner.rows();
    sink.inner
        .finish()
        .map_err(|error| UserError::from_error(&error, "Free disk space, then export again"))?;
    temp.persist(path).map_err(|error| {
        UserError::from_error(
            &error.error,
            format!("Check that {} can be replaced", path.display()),
        )
    })?;
    Ok(rows)
}
