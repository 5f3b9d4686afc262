//! Where fetched results go: the [`ResultSink`] trait a consumer implements (the grid's store, a
//! CLI printer, an exporter, a benchmark counter), the row type it receives, and [`StoreSink`],
//! which keeps each result set in a [`ResultStore`].

use std::ops::Range;
use std::time::Duration;

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Row, SimpleQueryRow};

use super::session::Notice;
use super::store::{ResultStore, RowValues, StoreColumn, StoreError, StoreOptions};

/// One statement of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementInfo {
    /// Position in the script, from 0.
    pub index: usize,
    /// Byte range of the statement in the script text (no `;`, no leading blanks/comments).
    pub sql_range: Range<usize>,
}

/// How a statement ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementOutcome {
    /// Which statement.
    pub statement: StatementInfo,
    /// Whether it returned rows (a result set) rather than being a command.
    pub returned_rows: bool,
    /// Rows returned, or rows affected by a command (0 when the command reports none).
    pub rows: u64,
    /// Wall time from sending the statement to its end.
    pub elapsed: Duration,
}

/// A sink refused more rows.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The consumer wants no more (closed window, `head` closed the pipe, Stop pressed).
    #[error("the result's consumer stopped reading")]
    Stopped,
    /// The result could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Any other failure of the consumer (writing an export file…).
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

/// Receives a script's results as they arrive. Called on the async task that fetches: keep each
/// call short (no blocking waits); a spill write of a few MiB is fine.
pub trait ResultSink {
    /// A statement returning rows starts: its columns, before any row.
    fn begin_rows(
        &mut self,
        statement: &StatementInfo,
        columns: &[StoreColumn],
    ) -> Result<(), SinkError>;

    /// One row of the current result set.
    fn row(&mut self, row: &FetchedRow<'_>) -> Result<(), SinkError>;

    /// A statement ended (after its rows, if any).
    fn end_statement(&mut self, outcome: &StatementOutcome) -> Result<(), SinkError>;

    /// A notice the server sent while `statement` ran (delivered after its rows).
    fn notice(&mut self, statement: &StatementInfo, notice: &Notice) -> Result<(), SinkError> {
        let _ = (statement, notice);
        Ok(())
    }
}

/// A row as received: binary values or, for result sets fetched in text format, text values.
pub struct FetchedRow<'a> {
    repr: Repr<'a>,
}

enum Repr<'a> {
    Binary(&'a Row),
    Text(&'a SimpleQueryRow),
}

impl<'a> FetchedRow<'a> {
    pub(super) fn binary(row: &'a Row) -> Self {
        Self {
            repr: Repr::Binary(row),
        }
    }

    pub(super) fn text(row: &'a SimpleQueryRow) -> Self {
        Self {
            repr: Repr::Text(row),
        }
    }
}

/// A value's bytes as sent, whatever the type.
struct RawValue<'a>(&'a [u8]);

impl<'a> FromSql<'a> for RawValue<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

impl RowValues for FetchedRow<'_> {
    fn len(&self) -> usize {
        match self.repr {
            Repr::Binary(row) => row.len(),
            Repr::Text(row) => row.len(),
        }
    }

    fn value(&self, index: usize) -> Option<&[u8]> {
        match self.repr {
            Repr::Binary(row) => row
                .try_get::<_, Option<RawValue<'_>>>(index)
                .ok()
                .flatten()
                .map(|raw| raw.0),
            Repr::Text(row) => row.try_get(index).ok().flatten().map(str::as_bytes),
        }
    }
}

/// One statement's result as [`StoreSink`] keeps it.
pub struct StatementResult {
    /// How it ended.
    pub outcome: StatementOutcome,
    /// Its rows, for statements that return rows.
    pub store: Option<ResultStore>,
    /// Notices sent while it ran.
    pub notices: Vec<Notice>,
}

/// Keeps every result set of a script in its own [`ResultStore`].
pub struct StoreSink {
    options: StoreOptions,
    current: Option<ResultStore>,
    notices: Vec<Notice>,
    results: Vec<StatementResult>,
}

impl StoreSink {
    /// Stores created with `options`.
    pub fn new(options: StoreOptions) -> Self {
        Self {
            options,
            current: None,
            notices: Vec::new(),
            results: Vec::new(),
        }
    }

    /// The result set being received, if any.
    pub fn current(&self) -> Option<&ResultStore> {
        self.current.as_ref()
    }

    /// Finished statements so far, in order.
    pub fn results(&self) -> &[StatementResult] {
        &self.results
    }

    /// Finished statements, in order; a statement that failed midway is not among them
    /// ([`StoreSink::current`] holds its rows).
    pub fn into_results(self) -> Vec<StatementResult> {
        self.results
    }
}

impl ResultSink for StoreSink {
    fn begin_rows(
        &mut self,
        _statement: &StatementInfo,
        columns: &[StoreColumn],
    ) -> Result<(), SinkError> {
        self.current = Some(ResultStore::new(columns.to_vec(), self.options.clone()));
        Ok(())
    }

    fn row(&mut self, row: &FetchedRow<'_>) -> Result<(), SinkError> {
        match &mut self.current {
            Some(store) => Ok(store.push_row(row)?),
            None => Ok(()),
        }
    }

    fn end_statement(&mut self, outcome: &StatementOutcome) -> Result<(), SinkError> {
        self.results.push(StatementResult {
            outcome: outcome.clone(),
            store: self.current.take(),
            notices: std::mem::take(&mut self.notices),
        });
        Ok(())
    }

    fn notice(&mut self, _statement: &StatementInfo, notice: &Notice) -> Result<(), SinkError> {
        self.notices.push(notice.clone());
        Ok(())
    }
}
