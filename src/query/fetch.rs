//! Running a SQL script on a session and streaming each statement's result into a
//! [`ResultSink`]. Every statement is prepared first (which tells its columns); result sets whose
//! types we render exactly are fetched in binary format (cheaper for the server, which is the
//! bottleneck), others in the server's text format through the simple query protocol; commands
//! run on the prepared statement and report rows affected. The session settings that shape the
//! text (`TimeZone`, `DateStyle`…) are read in the same round trip as each prepare.

use std::pin::pin;
use std::time::Instant;

use futures_util::TryStreamExt as _;
use tokio_postgres::error::{ErrorPosition, SqlState};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, SimpleQueryMessage, Statement};

use super::render::ColumnRenderer;
use super::session::{Canceller, NoticeQueue};
use super::settings::{SETTINGS_SQL, SessionSettings};
use super::sink::{FetchedRow, ResultSink, SinkError, StatementInfo, StatementOutcome};
use super::split::split_statements;
use super::store::StoreColumn;

/// Optional session parts a run uses.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Where the session's connection task queues notices ([`super::drive_connection`]); without
    /// it no notices are reported.
    pub notices: Option<NoticeQueue>,
    /// Used to stop the server sending when the sink stops reading; without it the rest of the
    /// result still crosses the wire (and is discarded) before the session is free.
    pub canceller: Option<Canceller>,
}

/// A script stopped at a statement.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The server refused or aborted the statement, or the session broke.
    #[error("statement {} failed: {}", .statement.index + 1, describe(.source))]
    Failed {
        /// Which statement.
        statement: StatementInfo,
        /// Byte offset in the script where the server located the error (for the editor).
        error_offset: Option<usize>,
        /// The driver's error; `as_db_error()` has code, detail, hint.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The statement was cancelled (cancel request or `statement_timeout`); rows received
    /// before were delivered.
    #[error("statement {} was cancelled: {}", .statement.index + 1, describe(.source))]
    Cancelled {
        /// Which statement.
        statement: StatementInfo,
        /// The server's message (user request or statement timeout).
        #[source]
        source: tokio_postgres::Error,
    },
    /// The statement has `$1`-style parameters, which a script cannot supply.
    #[error("statement {} has {count} parameter(s) ($1 …) but a script cannot supply values", .statement.index + 1)]
    Parameters {
        /// Which statement.
        statement: StatementInfo,
        /// How many parameters.
        count: usize,
    },
    /// The sink refused a result (or stopped reading).
    #[error("statement {}: {source}", .statement.index + 1)]
    Sink {
        /// Which statement.
        statement: StatementInfo,
        /// Why.
        #[source]
        source: SinkError,
    },
}

impl QueryError {
    /// The statement the script stopped at.
    pub fn statement(&self) -> &StatementInfo {
        match self {
            Self::Failed { statement, .. }
            | Self::Cancelled { statement, .. }
            | Self::Parameters { statement, .. }
            | Self::Sink { statement, .. } => statement,
        }
    }

    /// Byte offset in the script to highlight, when the server gave a position.
    pub fn error_offset(&self) -> Option<usize> {
        match self {
            Self::Failed { error_offset, .. } => *error_offset,
            _ => None,
        }
    }

    /// What the user can do about it.
    pub fn next_step(&self) -> &'static str {
        match self {
            Self::Failed { source, .. } if source.is_closed() || source.as_db_error().is_none() => {
                "The session to the database was lost; reconnect and run again"
            }
            Self::Failed { .. } => {
                "Fix the statement (the error position is highlighted) and run again"
            }
            Self::Cancelled { .. } => {
                "Rows received before the cancel are kept; run again to fetch all"
            }
            Self::Parameters { .. } => "Replace the $n placeholders with values",
            Self::Sink { .. } => {
                "See the cause above; for a spill error free disk space or raise the memory limit"
            }
        }
    }
}

/// `ERROR 42P01: relation "x" does not exist` for server errors, else the driver's text.
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
        None => error.to_string(),
    }
}

/// Runs every statement of `sql` in order on `client`, streaming results into `sink`; stops at
/// the first failing statement. Returns the number of statements run (comment-only text: 0).
///
/// To cancel from elsewhere, call [`Canceller::cancel`] (made for this client): the running
/// statement then ends with [`QueryError::Cancelled`], the session stays usable. Dropping the
/// future stops reading but, as with a stopped sink, the server keeps sending until cancelled.
pub async fn fetch_to_sink<S: ResultSink + ?Sized>(
    client: &Client,
    sql: &str,
    sink: &mut S,
    options: &RunOptions,
) -> Result<usize, QueryError> {
    let statements = split_statements(sql);
    if let Some(notices) = &options.notices {
        // Notices from before this run belong to nobody here.
        notices.take();
    }
    for (index, span) in statements.iter().enumerate() {
        let info = StatementInfo {
            index,
            sql_range: span.range.clone(),
        };
        let started = Instant::now();
        let result = run_statement(client, span.text(sql), &info, sink, options).await;
        if let Some(notices) = &options.notices {
            for notice in notices.take() {
                sink.notice(&info, &notice)
                    .map_err(|source| QueryError::Sink {
                        statement: info.clone(),
                        source,
                    })?;
            }
        }
        let (returned_rows, rows) = result?;
        let outcome = StatementOutcome {
            statement: info.clone(),
            returned_rows,
            rows,
            elapsed: started.elapsed(),
        };
        sink.end_statement(&outcome)
            .map_err(|source| QueryError::Sink {
                statement: info,
                source,
            })?;
    }
    Ok(statements.len())
}

/// Runs one statement; returns whether it returned rows, and how many rows (or rows affected).
async fn run_statement<S: ResultSink + ?Sized>(
    client: &Client,
    text: &str,
    info: &StatementInfo,
    sink: &mut S,
    options: &RunOptions,
) -> Result<(bool, u64), QueryError> {
    let failed = |source| failure(info, text, source);
    // Both go out at once: reading the settings costs no extra round trip.
    let (prepared, settings) =
        tokio::join!(client.prepare(text), client.simple_query(SETTINGS_SQL));
    let statement = prepared.map_err(failed)?;
    if !statement.params().is_empty() {
        return Err(QueryError::Parameters {
            statement: info.clone(),
            count: statement.params().len(),
        });
    }
    if statement.columns().is_empty() {
        let no_params: [&(dyn ToSql + Sync); 0] = [];
        let affected = client
            .execute_raw(&statement, no_params)
            .await
            .map_err(failed)?;
        return Ok((false, affected));
    }
    let settings = settings.map_or_else(
        |_| SessionSettings::unknown(),
        |messages| read_settings(&messages),
    );
    let renderers: Option<Vec<ColumnRenderer>> = statement
        .columns()
        .iter()
        .map(|column| ColumnRenderer::binary(column.type_(), &settings))
        .collect();
    let binary = renderers.is_some();
    let columns = store_columns(&statement, renderers);
    let sink_error = |source| QueryError::Sink {
        statement: info.clone(),
        source,
    };
    sink.begin_rows(info, &columns).map_err(sink_error)?;
    let streamed = if binary {
        stream_binary(client, &statement, sink).await
    } else {
        stream_text(client, text, sink).await
    };
    match streamed {
        Ok(rows) => Ok((true, rows)),
        Err(Streamed::Driver(source)) => Err(failed(source)),
        Err(Streamed::Sink(source)) => {
            if let Some(canceller) = &options.canceller
                && let Err(error) = canceller.cancel().await
            {
                tracing::warn!(error = %crate::jobs::error_chain(&error), "could not cancel a result nobody reads");
            }
            Err(sink_error(source))
        }
    }
}

/// The columns as the store keeps them: binary renderers, or server text for all columns.
fn store_columns(
    statement: &Statement,
    renderers: Option<Vec<ColumnRenderer>>,
) -> Vec<StoreColumn> {
    let mut renderers = renderers.map(Vec::into_iter);
    statement
        .columns()
        .iter()
        .map(|column| StoreColumn {
            name: column.name().to_owned(),
            type_oid: column.type_().oid(),
            type_name: column.type_().name().to_owned(),
            renderer: renderers
                .as_mut()
                .and_then(Iterator::next)
                .unwrap_or_else(ColumnRenderer::server_text),
        })
        .collect()
}

fn read_settings(messages: &[SimpleQueryMessage]) -> SessionSettings {
    messages
        .iter()
        .find_map(|message| match message {
            SimpleQueryMessage::Row(row) => {
                let values: Vec<&str> = (0..row.len())
                    .map(|i| row.get(i).unwrap_or_default())
                    .collect();
                Some(SessionSettings::from_values(&values))
            }
            _ => None,
        })
        .unwrap_or_else(SessionSettings::unknown)
}

enum Streamed {
    Driver(tokio_postgres::Error),
    Sink(SinkError),
}

async fn stream_binary<S: ResultSink + ?Sized>(
    client: &Client,
    statement: &Statement,
    sink: &mut S,
) -> Result<u64, Streamed> {
    let no_params: [&(dyn ToSql + Sync); 0] = [];
    let stream = client
        .query_raw(statement, no_params)
        .await
        .map_err(Streamed::Driver)?;
    let mut stream = pin!(stream);
    let mut rows = 0;
    while let Some(row) = stream.try_next().await.map_err(Streamed::Driver)? {
        sink.row(&FetchedRow::binary(&row))
            .map_err(Streamed::Sink)?;
        rows += 1;
    }
    Ok(rows)
}

async fn stream_text<S: ResultSink + ?Sized>(
    client: &Client,
    text: &str,
    sink: &mut S,
) -> Result<u64, Streamed> {
    let stream = client
        .simple_query_raw(text)
        .await
        .map_err(Streamed::Driver)?;
    let mut stream = pin!(stream);
    let mut rows = 0;
    while let Some(message) = stream.try_next().await.map_err(Streamed::Driver)? {
        if let SimpleQueryMessage::Row(row) = message {
            sink.row(&FetchedRow::text(&row)).map_err(Streamed::Sink)?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// The error for a failed statement, with the server's position turned into a script offset.
fn failure(info: &StatementInfo, text: &str, source: tokio_postgres::Error) -> QueryError {
    if source.code() == Some(&SqlState::QUERY_CANCELED) {
        return QueryError::Cancelled {
            statement: info.clone(),
            source,
        };
    }
    let error_offset = match source.as_db_error().and_then(|db| db.position()) {
        Some(ErrorPosition::Original(position)) => {
            Some(info.sql_range.start + char_position_to_byte(text, *position))
        }
        _ => None,
    };
    QueryError::Failed {
        statement: info.clone(),
        error_offset,
        source,
    }
}

/// PostgreSQL positions count characters from 1.
fn char_position_to_byte(text: &str, position: u32) -> usize {
    let index = (position as usize).saturating_sub(1);
    text.char_indices()
        .nth(index)
        .map_or(text.len(), |(byte, _)| byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_positions_count_characters() {
        assert_eq!(char_position_to_byte("select 1", 1), 0);
        assert_eq!(char_position_to_byte("select 'é' + x", 14), 14);
        assert_eq!(char_position_to_byte("abc", 9), 3);
    }
}
