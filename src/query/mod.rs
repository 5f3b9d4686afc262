//! Queries: split a SQL script into statements, stream each result from an open session into a
//! sink (binary format where we can print values exactly as psql does, else the server's text),
//! keep results in a columnar store that spills to a temporary file past a memory cap, render
//! cells lazily, sort and filter on the store. Also notices and cancel for a session.
//!
//! Core code: no UI types, no `Command`/`Event`; the backend and the CLI call it. The session
//! itself comes from `db::connect`.
//!
//! ```text
//! fetch_to_sink(client, sql, &mut sink, &RunOptions { notices, canceller })
//!   → sink.begin_rows(statement, columns) → sink.row(row)… → sink.notice(…)… → sink.end_statement(outcome)
//! StoreSink / ResultStore: row_count, render_cell(row, col, &mut out), snapshot() → sort / filter
//! ```

pub mod bench;
pub mod chart;
pub mod copy;
pub mod explain;
pub mod export;
mod fetch;
pub mod highlight;
pub mod output;
pub mod render;
mod session;
mod settings;
mod sink;
pub mod split;
pub mod store;

pub use fetch::{QueryError, RunOptions, fetch_to_sink};
pub use session::{CancelError, Canceller, Notice, NoticeQueue, drive_connection};
pub use settings::SessionSettings;
pub use sink::{
    FetchedRow, ResultSink, SinkError, StatementInfo, StatementOutcome, StatementResult, StoreSink,
};
pub use store::{
    ResultStore, RowFilter, RowValues, SortOrder, StoreColumn, StoreError, StoreOptions,
    StoreSnapshot,
};
