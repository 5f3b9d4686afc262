//! The columnar store of one result set: values kept as the wire sent them (binary, or text for
//! types we do not render ourselves), per column one byte buffer + end offsets + null bitmap,
//! appended in chunks as rows arrive. Memory ≈ the raw bytes. Past a memory cap, new chunks go
//! to a temporary file and are read back on demand, so reads keep working. Cells become text
//! only when asked ([`ResultStore::render_cell`]); sort and filter run on a [`StoreSnapshot`] in
//! a background thread while rows keep arriving.
//!
//! No I/O other than the spill file, no async, no UI types.

mod chunk;
mod order;
mod spill;

use std::path::PathBuf;
use std::sync::Arc;

pub use order::{RowFilter, SortOrder};

use self::chunk::Chunk;
use self::spill::{ChunkCache, SpillFile, SpillRef};
use super::render::{ColumnRenderer, RenderError};

/// One column of a result.
#[derive(Clone, Debug)]
pub struct StoreColumn {
    /// The column name the server sent.
    pub name: String,
    /// The type OID the server sent (for a domain, its base type).
    pub type_oid: u32,
    /// The type's name (`int4`, `_text`, or the name of an extension type).
    pub type_name: String,
    /// How values were fetched and how they are rendered.
    pub renderer: ColumnRenderer,
}

/// Limits of a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Bytes of values kept in memory; further chunks go to the spill file.
    pub memory_cap_bytes: usize,
    /// Directory of the spill file; the system temporary directory when `None`.
    pub spill_dir: Option<PathBuf>,
}

impl Default for StoreOptions {
    /// 512 MiB in memory, spill to the system temporary directory.
    fn default() -> Self {
        Self {
            memory_cap_bytes: 512 << 20,
            spill_dir: None,
        }
    }
}

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row did not have one value per column.
    #[error("a row has {got} values but the result has {expected} columns")]
    RowWidth {
        /// Columns of the result.
        expected: usize,
        /// Values in the row.
        got: usize,
    },
    /// A value of a fixed-size type had another size.
    #[error("column \"{column}\" holds {expected}-byte values, but one has {got} bytes")]
    ValueWidth {
        /// The column's name.
        column: String,
        /// Its values' size.
        expected: usize,
        /// The offending value's size.
        got: usize,
    },
    /// A chunk outgrew 4 GiB (a single value above that cannot come from PostgreSQL).
    #[error("a value is too large for the result store")]
    ValueTooLarge,
    /// The spill file could not be created or written.
    #[error(
        "cannot write the result's spill file in {dir}; free disk space or raise the memory limit in Settings"
    )]
    Spill {
        /// Where the file is.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The spill file could not be read back.
    #[error("cannot read the result's spill file back")]
    SpillRead(#[source] std::io::Error),
    /// A cell outside the result was asked for.
    #[error("cell ({row}, {column}) is outside the result ({rows} rows, {columns} columns)")]
    OutOfRange {
        /// Row asked for.
        row: u64,
        /// Column asked for.
        column: usize,
        /// Rows in the result.
        rows: u64,
        /// Columns in the result.
        columns: usize,
    },
    /// A value did not decode.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// Sort or filter was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Row permutations are `u32`: more rows cannot be sorted or filtered.
    #[error("{rows} rows are too many to sort or filter")]
    TooManyRows {
        /// Rows in the result.
        rows: u64,
    },
}

/// The values of one incoming row, in column order: `None` is NULL.
pub trait RowValues {
    /// Number of values.
    fn len(&self) -> usize;
    /// Whether the row has no values.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Value `index`, `None` for NULL (and out of range).
    fn value(&self, index: usize) -> Option<&[u8]>;
}

impl RowValues for [Option<&[u8]>] {
    fn len(&self) -> usize {
        <[_]>::len(self)
    }

    fn value(&self, index: usize) -> Option<&[u8]> {
        self.get(index).copied().flatten()
    }
}

/// A sealed chunk: in memory, or in the spill file.
#[derive(Clone)]
enum Stored {
    Memory(Arc<Chunk>),
    Spilled(SpillRef),
}

#[derive(Clone)]
struct Segment {
    first_row: u64,
    rows: usize,
    stored: Stored,
}

/// The sealed part of a store, shared with snapshots.
#[derive(Clone)]
struct Segments {
    columns: Arc<[StoreColumn]>,
    widths: Arc<[Option<usize>]>,
    list: Vec<Segment>,
    spill: Option<Arc<SpillFile>>,
    cache: Arc<ChunkCache>,
}

impl Segments {
    /// The chunk holding `row` and the row's index in it.
    fn locate(&self, row: u64) -> Result<Option<(Arc<Chunk>, usize)>, StoreError> {
        let index = self.list.partition_point(|s| s.first_row <= row);
        let Some(index) = index.checked_sub(1) else {
            return Ok(None);
        };
        let segment = &self.list[index];
        let local = usize::try_from(row - segment.first_row).unwrap_or(usize::MAX);
        if local >= segment.rows {
            return Ok(None);
        }
        Ok(Some((self.load(index)?, local)))
    }

    /// Chunk `index`, from memory or the spill file.
    fn load(&self, index: usize) -> Result<Arc<Chunk>, StoreError> {
        match (&self.list[index].stored, &self.spill) {
            (Stored::Memory(chunk), _) => Ok(chunk.clone()),
            (Stored::Spilled(at), Some(spill)) => self
                .cache
                .get_or_load(index, || spill.read(*at, &self.widths)),
            (Stored::Spilled(_), None) => Err(StoreError::SpillRead(std::io::Error::other(
                "spilled chunk without a spill file",
            ))),
        }
    }

    fn rows(&self) -> u64 {
        self.list.last().map_or(0, |s| s.first_row + s.rows as u64)
    }

    fn with_value<R>(
        &self,
        row: u64,
        column: usize,
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StoreError> {
        let located = if column < self.columns.len() {
            self.locate(row)?
        } else {
            None
        };
        let (chunk, local) = located.ok_or(StoreError::OutOfRange {
            row,
            column,
            rows: self.rows(),
            columns: self.columns.len(),
        })?;
        Ok(f(chunk.value(local, column)))
    }
}

/// Renders a fetched value of `columns[column]`; `false` for NULL.
fn render_value(
    columns: &[StoreColumn],
    column: usize,
    value: Option<&[u8]>,
    out: &mut String,
) -> Result<bool, StoreError> {
    match (value, columns.get(column)) {
        (Some(bytes), Some(c)) => c
            .renderer
            .render(bytes, out)
            .map(|()| true)
            .map_err(StoreError::from),
        _ => Ok(false),
    }
}

/// Chunks close at this many rows even when small, so sealed rows reach snapshots regularly.
const CHUNK_MAX_ROWS: usize = 65_536;

/// A result set being received or received.
pub struct ResultStore {
    segments: Segments,
    open: Chunk,
    options: StoreOptions,
    /// Bytes of value data after which the open chunk is sealed.
    chunk_target_bytes: usize,
    sealed_memory_bytes: usize,
    peak_memory_bytes: usize,
    spilled_rows: u64,
}

impl ResultStore {
    /// An empty store for these columns.
    pub fn new(columns: Vec<StoreColumn>, options: StoreOptions) -> Self {
        let widths: Arc<[Option<usize>]> =
            columns.iter().map(|c| c.renderer.fixed_width()).collect();
        let open = Chunk::new(&widths);
        // Small chunks under a small cap, so the cap is kept closely; 4 MiB at most.
        let chunk_target_bytes = (options.memory_cap_bytes / 16).clamp(16 << 10, 4 << 20);
        Self {
            segments: Segments {
                columns: columns.into(),
                widths,
                list: Vec::new(),
                spill: None,
                cache: Arc::default(),
            },
            open,
            options,
            chunk_target_bytes,
            sealed_memory_bytes: 0,
            peak_memory_bytes: 0,
            spilled_rows: 0,
        }
    }

    /// The columns.
    pub fn columns(&self) -> &[StoreColumn] {
        &self.segments.columns
    }

    /// Rows received so far.
    pub fn row_count(&self) -> u64 {
        self.segments.rows() + self.open.rows() as u64
    }

    /// Bytes held in memory now: chunks (with spare capacity), offsets, bitmaps, read cache.
    pub fn memory_bytes(&self) -> usize {
        self.sealed_memory_bytes + self.open.memory_bytes() + self.segments.cache.memory_bytes()
    }

    /// The most [`ResultStore::memory_bytes`] has been.
    pub fn peak_memory_bytes(&self) -> usize {
        self.peak_memory_bytes.max(self.memory_bytes())
    }

    /// Bytes written to the spill file.
    pub fn spilled_bytes(&self) -> u64 {
        self.segments.spill.as_ref().map_or(0, |s| s.len_bytes())
    }

    /// Rows that live in the spill file.
    pub fn spilled_rows(&self) -> u64 {
        self.spilled_rows
    }

    /// Appends a row. Nothing is appended when it fails.
    pub fn push_row(&mut self, row: &(impl RowValues + ?Sized)) -> Result<(), StoreError> {
        let columns = &self.segments.columns;
        if row.len() != columns.len() {
            return Err(StoreError::RowWidth {
                expected: columns.len(),
                got: row.len(),
            });
        }
        for (index, width) in self.segments.widths.iter().enumerate() {
            if let (Some(width), Some(value)) = (width, row.value(index))
                && value.len() != *width
            {
                return Err(StoreError::ValueWidth {
                    column: columns[index].name.clone(),
                    expected: *width,
                    got: value.len(),
                });
            }
        }
        self.open.push_row((0..row.len()).map(|i| row.value(i)))?;
        if self.open.rows() >= CHUNK_MAX_ROWS || self.open.data_bytes() >= self.chunk_target_bytes {
            self.seal_open_chunk()?;
        }
        Ok(())
    }

    /// Seals the open chunk: kept in memory while under the cap, else written to the spill file.
    /// The first rows, which people look at first, so stay in memory.
    fn seal_open_chunk(&mut self) -> Result<(), StoreError> {
        if self.open.rows() == 0 {
            return Ok(());
        }
        self.peak_memory_bytes = self.peak_memory_bytes.max(self.memory_bytes());
        let mut chunk = std::mem::replace(&mut self.open, Chunk::new(&self.segments.widths));
        chunk.seal();
        let first_row = self.segments.rows();
        let rows = chunk.rows();
        let size = chunk.memory_bytes();
        let stored = if self.sealed_memory_bytes + size <= self.options.memory_cap_bytes {
            self.sealed_memory_bytes += size;
            Stored::Memory(Arc::new(chunk))
        } else {
            let spill = if let Some(spill) = &self.segments.spill {
                spill.clone()
            } else {
                let spill = Arc::new(SpillFile::create(self.options.spill_dir.as_deref())?);
                self.segments.spill = Some(spill.clone());
                spill
            };
            self.spilled_rows += rows as u64;
            Stored::Spilled(spill.write(&chunk)?)
        };
        self.segments.list.push(Segment {
            first_row,
            rows,
            stored,
        });
        Ok(())
    }

    /// Calls `f` with the value at (`row`, `column`): `None` for NULL.
    pub fn with_value<R>(
        &self,
        row: u64,
        column: usize,
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StoreError> {
        if row >= self.row_count() || column >= self.columns().len() {
            return Err(StoreError::OutOfRange {
                row,
                column,
                rows: self.row_count(),
                columns: self.columns().len(),
            });
        }
        let sealed_rows = self.segments.rows();
        if row >= sealed_rows {
            let local = usize::try_from(row - sealed_rows).unwrap_or(usize::MAX);
            return Ok(f(self.open.value(local, column)));
        }
        self.segments.with_value(row, column, f)
    }

    /// Appends the cell's text as psql prints it to `out`; `false` when the cell is NULL (then
    /// nothing is appended).
    pub fn render_cell(
        &self,
        row: u64,
        column: usize,
        out: &mut String,
    ) -> Result<bool, StoreError> {
        let columns = &self.segments.columns;
        self.with_value(row, column, |value| {
            render_value(columns, column, value, out)
        })?
    }

    /// The cell's text, `None` for NULL (an empty string is `Some("")`).
    pub fn cell_text(&self, row: u64, column: usize) -> Result<Option<String>, StoreError> {
        let mut text = String::new();
        Ok(self.render_cell(row, column, &mut text)?.then_some(text))
    }

    /// A read-only view of the rows so far, for a background thread (sort, filter, export)
    /// while rows keep arriving here. Cheap: chunks are shared, only the open one is copied.
    pub fn snapshot(&self) -> StoreSnapshot {
        let mut segments = self.segments.clone();
        if self.open.rows() > 0 {
            segments.list.push(Segment {
                first_row: self.segments.rows(),
                rows: self.open.rows(),
                stored: Stored::Memory(Arc::new(self.open.clone())),
            });
        }
        StoreSnapshot { segments }
    }
}

/// The rows of a [`ResultStore`] at one moment, readable from any thread.
#[derive(Clone)]
pub struct StoreSnapshot {
    segments: Segments,
}

impl std::fmt::Debug for StoreSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSnapshot")
            .field("columns", &self.segments.columns.len())
            .field("rows", &self.row_count())
            .finish()
    }
}

impl StoreSnapshot {
    /// The columns.
    pub fn columns(&self) -> &[StoreColumn] {
        &self.segments.columns
    }

    /// Rows in the snapshot.
    pub fn row_count(&self) -> u64 {
        self.segments.rows()
    }

    /// Calls `f` with the value at (`row`, `column`): `None` for NULL.
    pub fn with_value<R>(
        &self,
        row: u64,
        column: usize,
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> Result<R, StoreError> {
        self.segments.with_value(row, column, f)
    }

    /// Appends the cell's text to `out`; `false` when the cell is NULL.
    pub fn render_cell(
        &self,
        row: u64,
        column: usize,
        out: &mut String,
    ) -> Result<bool, StoreError> {
        let columns = &self.segments.columns;
        self.with_value(row, column, |value| {
            render_value(columns, column, value, out)
        })?
    }

    /// Calls `f` for every chunk in row order with its first row number, stopping at an error.
    fn for_each_chunk(
        &self,
        mut f: impl FnMut(u64, &Chunk) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for (index, segment) in self.segments.list.iter().enumerate() {
            f(segment.first_row, self.segments.load(index)?.as_ref())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
