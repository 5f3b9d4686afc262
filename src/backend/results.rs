//! Sorting and filtering a result snapshot as a Job, off the UI thread: the UI sends the
//! snapshot it shows with the wanted order and filter and gets back the row numbers to display.
//! The computation runs on a blocking thread and stops soon after the job is cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::sessions::TabId;
use super::{Event, Outbox, Shared};
use crate::jobs::{JobId, UserError};
use crate::query::{RowFilter, SortOrder, StoreError, StoreSnapshot};

/// What to compute.
#[derive(Clone, Debug)]
pub struct OrderRequest {
    /// The tab showing the result.
    pub tab: TabId,
    /// Which result of the tab (statement index).
    pub result: usize,
    /// The rows to order (the answer refers to them).
    pub snapshot: StoreSnapshot,
    /// Sort by this column, this way.
    pub sort: Option<(usize, SortOrder)>,
    /// Keep only matching rows.
    pub filter: Option<RowFilter>,
    /// Echoed back, so the UI can drop answers to requests it has since replaced.
    pub generation: u64,
}

/// The answer to an [`OrderRequest`].
#[derive(Clone, Debug)]
pub struct OrderedRows {
    /// The tab.
    pub tab: TabId,
    /// Which result.
    pub result: usize,
    /// The job that computed it.
    pub job: JobId,
    /// The request's generation.
    pub generation: u64,
    /// The snapshot the rows refer to.
    pub snapshot: StoreSnapshot,
    /// Row numbers to show, in order; `Err` when it could not be computed.
    pub rows: Result<Arc<Vec<u32>>, UserError>,
}

/// Sets the flag when dropped: a cancelled job's blocking computation stops soon after.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Rows of `snapshot` in the requested order, keeping only those the filter keeps.
pub fn order_rows(
    snapshot: &StoreSnapshot,
    sort: Option<(usize, SortOrder)>,
    filter: Option<&RowFilter>,
    cancel: &AtomicBool,
) -> Result<Vec<u32>, StoreError> {
    let kept = filter
        .map(|filter| snapshot.filter(filter, cancel))
        .transpose()?;
    match (sort, kept) {
        (Some((column, order)), kept) => {
            let sorted = snapshot.sort(column, order, cancel)?;
            Ok(match kept {
                None => sorted,
                Some(kept) => {
                    let rows = usize::try_from(snapshot.row_count()).unwrap_or(usize::MAX);
                    let mut keep = vec![false; rows];
                    for row in kept {
                        keep[row as usize] = true;
                    }
                    sorted.into_iter().filter(|&r| keep[r as usize]).collect()
                }
            })
        }
        (None, Some(kept)) => Ok(kept),
        (None, None) => {
            let rows =
                u32::try_from(snapshot.row_count()).map_err(|_| StoreError::TooManyRows {
                    rows: snapshot.row_count(),
                })?;
            Ok((0..rows).collect())
        }
    }
}

/// Starts the job computing `request`.
pub(super) fn order(shared: &Arc<Shared>, outbox: &Outbox, request: OrderRequest) {
    let outbox = outbox.clone();
    let title = match (&request.sort, &request.filter) {
        (Some(_), Some(_)) => "Sort and filter result",
        (Some(_), None) => "Sort result",
        _ => "Filter result",
    };
    shared.jobs.spawn(title, move |ctx| async move {
        let cancel = Arc::new(AtomicBool::new(false));
        let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancel));
        let snapshot = request.snapshot.clone();
        let sort = request.sort;
        let filter = request.filter.clone();
        let computed = tokio::task::spawn_blocking(move || {
            order_rows(&snapshot, sort, filter.as_ref(), &cancel)
        })
        .await;
        let rows = match computed {
            Ok(Ok(rows)) => Ok(Arc::new(rows)),
            Ok(Err(error)) => Err(UserError::from_error(
                &error,
                "Show the rows unsorted, or filter first to fewer rows",
            )),
            Err(error) => Err(UserError::from_error(&error, "Try again")),
        };
        let summary = match &rows {
            Ok(rows) => format!("{} rows", rows.len()),
            Err(error) => error.message.clone(),
        };
        let answer = OrderedRows {
            tab: request.tab,
            result: request.result,
            job: ctx.id(),
            generation: request.generation,
            snapshot: request.snapshot,
            rows,
        };
        outbox.send(Event::ResultOrdered(answer)).await;
        Ok(summary)
    });
}
