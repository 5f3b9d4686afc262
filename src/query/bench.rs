//! Measuring a fetch for `scripts/bench`: time to stream a query into a [`ResultStore`], the
//! store's peak memory and spill, and the size of the same result as psql's unaligned text, the
//! yardstick of the memory budget. Reads nothing but the session; prints nothing.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::fetch::{QueryError, RunOptions, fetch_to_sink};
use super::sink::StoreSink;
use super::store::{StoreError, StoreOptions, StoreSnapshot};

/// Figures of one measured fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchReport {
    /// Rows of the last result set.
    pub rows: u64,
    /// From sending the script to its last row stored.
    pub elapsed: Duration,
    /// Peak bytes the store held in memory.
    pub peak_memory_bytes: usize,
    /// Bytes that went to the spill file.
    pub spilled_bytes: u64,
    /// Size of the result as `psql -At` prints it (fields, `|`, newlines): the raw text bytes.
    pub text_bytes: u64,
}

/// Fetches `sql` into a store with `options`, then (untimed) sizes the result as text.
pub async fn measure_fetch(
    client: &Client,
    sql: &str,
    options: StoreOptions,
) -> Result<FetchReport, MeasureError> {
    let started = Instant::now();
    let mut sink = StoreSink::new(options);
    fetch_to_sink(client, sql, &mut sink, &RunOptions::default()).await?;
    let elapsed = started.elapsed();
    let store = sink
        .into_results()
        .into_iter()
        .rev()
        .find_map(|result| result.store)
        .ok_or(MeasureError::NoRows)?;
    let snapshot = store.snapshot();
    let text_bytes = tokio::task::spawn_blocking(move || text_bytes(&snapshot))
        .await
        .map_err(|_| MeasureError::Panicked)??;
    Ok(FetchReport {
        rows: store.row_count(),
        elapsed,
        peak_memory_bytes: store.peak_memory_bytes(),
        spilled_bytes: store.spilled_bytes(),
        text_bytes,
    })
}

/// A measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// The fetch failed.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Rendering the stored result failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The script returned no rows to measure.
    #[error("the benchmark query returned no result set")]
    NoRows,
    /// The sizing thread panicked (a bug).
    #[error("sizing the result panicked")]
    Panicked,
}

/// Bytes of the result as `psql -At` output: every cell's text, `|` between cells, a newline
/// after each row.
pub fn text_bytes(snapshot: &StoreSnapshot) -> Result<u64, StoreError> {
    let columns = snapshot.columns().len();
    let mut total = 0u64;
    let mut text = String::new();
    for row in 0..snapshot.row_count() {
        for column in 0..columns {
            text.clear();
            snapshot.render_cell(row, column, &mut text)?;
            total += text.len() as u64;
        }
        total += columns as u64;
    }
    Ok(total)
}
