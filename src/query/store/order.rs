//! Sorting and filtering a [`StoreSnapshot`], meant for a background thread: both return row
//! numbers (a permutation, or the matching rows in order) and leave the store as it is. Sorting
//! compares typed values (numbers as numbers, numeric exactly, timestamps as instants, text by
//! bytes = the C collation) with NULLs last ascending and first descending, as PostgreSQL does.

use std::cmp::Ordering;
use std::sync::atomic::{self, AtomicBool};

use super::chunk::Chunk;
use super::{StoreError, StoreSnapshot};
use crate::query::render::{ColumnFormat, ColumnRenderer, ScalarKind, compare_numeric};

/// Direction of a sort.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortOrder {
    /// Smallest first, NULLs last.
    Ascending,
    /// Largest first, NULLs first.
    Descending,
}

/// Which rows to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowFilter {
    /// The cell's text in `column` (any column when `None`) contains `text`, ignoring case.
    /// NULL cells never match.
    Contains {
        /// The column, or all.
        column: Option<usize>,
        /// The text to find.
        text: String,
    },
    /// The cell is NULL.
    IsNull {
        /// The column.
        column: usize,
    },
    /// The cell is not NULL.
    IsNotNull {
        /// The column.
        column: usize,
    },
}

/// Sort keys of one column, one per row (a placeholder for NULL).
enum Keys {
    Integer(Vec<i128>),
    Float(Vec<f64>),
    /// Concatenated byte keys; `numeric` ones compare as PostgreSQL numerics.
    Bytes {
        data: Vec<u8>,
        ends: Vec<usize>,
        numeric: bool,
    },
}

/// What a column's key is made of.
#[derive(Clone, Copy)]
enum KeyKind {
    Integer(ScalarKind),
    Float,
    Numeric,
    /// The wire bytes compare as they are: text (C collation), bytea, uuid.
    Raw,
    /// Family, address, then prefix length.
    Inet,
    /// The rendered text compares: jsonb, arrays, server text.
    Rendered,
}

impl KeyKind {
    fn of(format: ColumnFormat) -> Self {
        match format {
            ColumnFormat::Scalar(kind) => match kind {
                ScalarKind::Float4 | ScalarKind::Float8 => Self::Float,
                ScalarKind::Numeric => Self::Numeric,
                ScalarKind::Text | ScalarKind::Bytea | ScalarKind::Uuid => Self::Raw,
                ScalarKind::Inet | ScalarKind::Cidr => Self::Inet,
                ScalarKind::Jsonb => Self::Rendered,
                kind => Self::Integer(kind),
            },
            ColumnFormat::Array(_) | ColumnFormat::ServerText => Self::Rendered,
        }
    }
}

impl Keys {
    fn new(kind: KeyKind, rows: usize) -> Self {
        match kind {
            KeyKind::Integer(_) => Self::Integer(Vec::with_capacity(rows)),
            KeyKind::Float => Self::Float(Vec::with_capacity(rows)),
            KeyKind::Numeric | KeyKind::Raw | KeyKind::Inet | KeyKind::Rendered => Self::Bytes {
                data: Vec::new(),
                ends: Vec::with_capacity(rows),
                numeric: matches!(kind, KeyKind::Numeric),
            },
        }
    }

    fn push(
        &mut self,
        kind: KeyKind,
        renderer: &ColumnRenderer,
        value: &[u8],
        text: &mut String,
    ) -> Result<(), StoreError> {
        match (self, kind) {
            (Self::Integer(keys), KeyKind::Integer(scalar)) => {
                keys.push(integer_key(scalar, value));
            }
            (Self::Float(keys), _) => keys.push(match <[u8; 4]>::try_from(value) {
                Ok(bytes) => f64::from(f32::from_be_bytes(bytes)),
                Err(_) => f64::from_be_bytes(value.try_into().unwrap_or_default()),
            }),
            (Self::Bytes { data, ends, .. }, kind) => {
                match kind {
                    KeyKind::Inet => {
                        // family, bits, is_cidr, length, address…
                        data.extend(value.first());
                        data.extend(value.get(4..).unwrap_or_default());
                        data.extend(value.get(1));
                    }
                    KeyKind::Rendered => {
                        text.clear();
                        renderer.render(value, text)?;
                        data.extend_from_slice(text.as_bytes());
                    }
                    _ => data.extend_from_slice(value),
                }
                ends.push(data.len());
            }
            (Self::Integer(keys), _) => keys.push(0),
        }
        Ok(())
    }

    fn compare(&self, a: usize, b: usize) -> Ordering {
        match self {
            Self::Integer(keys) => keys[a].cmp(&keys[b]),
            Self::Float(keys) => compare_floats(keys[a], keys[b]),
            Self::Bytes {
                data,
                ends,
                numeric,
            } => {
                let slice = |i: usize| &data[i.checked_sub(1).map_or(0, |p| ends[p])..ends[i]];
                if *numeric {
                    compare_numeric(slice(a), slice(b))
                } else {
                    slice(a).cmp(slice(b))
                }
            }
        }
    }
}

/// PostgreSQL's float order: NaN above everything, -0 equal to 0.
fn compare_floats(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// A big-endian two's-complement integer of any width, sign-extended.
fn signed(bytes: &[u8]) -> i128 {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    bytes.iter().fold(if negative { -1 } else { 0 }, |acc, &b| {
        (acc << 8) | i128::from(b)
    })
}

const USECS_PER_DAY: i128 = 86_400_000_000;

/// A key ordering values of an integer-like type as PostgreSQL's comparison does.
fn integer_key(kind: ScalarKind, value: &[u8]) -> i128 {
    let part = |range: std::ops::Range<usize>| signed(value.get(range).unwrap_or_default());
    match kind {
        ScalarKind::Oid => part(0..4) & 0xffff_ffff,
        // Months count as 30 days and days as 24 hours (`interval_cmp_value`).
        ScalarKind::Interval => {
            part(0..8) + part(8..12) * USECS_PER_DAY + part(12..16) * 30 * USECS_PER_DAY
        }
        // The instant in UTC first, then the zone (`timetz_cmp_internal`).
        ScalarKind::TimeTz => {
            let zone = part(8..12);
            ((part(0..8) + zone * 1_000_000) << 33) + zone
        }
        _ => signed(value),
    }
}

fn cancelled(cancel: &AtomicBool) -> Result<(), StoreError> {
    if cancel.load(atomic::Ordering::Relaxed) {
        Err(StoreError::Cancelled)
    } else {
        Ok(())
    }
}

impl StoreSnapshot {
    /// Row numbers in the order of `column`; ties keep their original order. Returns
    /// [`StoreError::Cancelled`] soon after `cancel` is set.
    pub fn sort(
        &self,
        column: usize,
        order: SortOrder,
        cancel: &AtomicBool,
    ) -> Result<Vec<u32>, StoreError> {
        let rows = self.row_count_u32()? as usize;
        let renderer = self.column_renderer(column)?;
        let kind = KeyKind::of(renderer.format());
        let mut nulls = Vec::with_capacity(rows);
        let mut keys = Keys::new(kind, rows);
        let mut text = String::new();
        self.for_each_chunk(|_, chunk| {
            cancelled(cancel)?;
            for row in 0..chunk.rows() {
                let value = chunk.value(row, column);
                nulls.push(value.is_none());
                keys.push(kind, renderer, value.unwrap_or_default(), &mut text)?;
            }
            Ok(())
        })?;
        cancelled(cancel)?;
        let mut permutation: Vec<u32> = (0..rows as u32).collect();
        permutation.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            // NULL is larger than every value: last ascending, first descending.
            let ordering = match (nulls[a], nulls[b]) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => keys.compare(a, b),
            };
            match order {
                SortOrder::Ascending => ordering,
                SortOrder::Descending => ordering.reverse(),
            }
        });
        Ok(permutation)
    }

    /// The rows `filter` keeps, in ascending order.
    pub fn filter(&self, filter: &RowFilter, cancel: &AtomicBool) -> Result<Vec<u32>, StoreError> {
        self.row_count_u32()?;
        let columns: Vec<usize> = match filter {
            RowFilter::Contains { column: None, .. } => (0..self.columns().len()).collect(),
            RowFilter::Contains {
                column: Some(column),
                ..
            }
            | RowFilter::IsNull { column }
            | RowFilter::IsNotNull { column } => {
                self.column_renderer(*column)?;
                vec![*column]
            }
        };
        let needle = match filter {
            RowFilter::Contains { text, .. } => Some(Needle::new(text)),
            RowFilter::IsNull { .. } | RowFilter::IsNotNull { .. } => None,
        };
        let mut matches = Vec::new();
        let mut text = String::new();
        self.for_each_chunk(|first_row, chunk| {
            cancelled(cancel)?;
            for row in 0..chunk.rows() {
                let keep = match (&needle, filter) {
                    (Some(needle), _) => {
                        self.row_contains(chunk, row, &columns, needle, &mut text)?
                    }
                    (None, RowFilter::IsNull { column }) => chunk.value(row, *column).is_none(),
                    (None, _) => chunk.value(row, columns[0]).is_some(),
                };
                if keep {
                    matches.push((first_row + row as u64) as u32);
                }
            }
            Ok(())
        })?;
        Ok(matches)
    }

    fn row_contains(
        &self,
        chunk: &Chunk,
        row: usize,
        columns: &[usize],
        needle: &Needle,
        text: &mut String,
    ) -> Result<bool, StoreError> {
        for &column in columns {
            if let Some(value) = chunk.value(row, column) {
                text.clear();
                self.columns()[column].renderer.render(value, text)?;
                if needle.is_in(text) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn row_count_u32(&self) -> Result<u32, StoreError> {
        u32::try_from(self.row_count()).map_err(|_| StoreError::TooManyRows {
            rows: self.row_count(),
        })
    }

    fn column_renderer(&self, column: usize) -> Result<&ColumnRenderer, StoreError> {
        self.columns()
            .get(column)
            .map(|c| &c.renderer)
            .ok_or(StoreError::OutOfRange {
                row: 0,
                column,
                rows: self.row_count(),
                columns: self.columns().len(),
            })
    }
}

/// A case-insensitive substring search.
struct Needle {
    lower: String,
    ascii: bool,
}

impl Needle {
    fn new(text: &str) -> Self {
        Self {
            lower: text.to_lowercase(),
            ascii: text.is_ascii(),
        }
    }

    fn is_in(&self, haystack: &str) -> bool {
        if self.lower.is_empty() {
            true
        } else if self.ascii {
            let needle = self.lower.as_bytes();
            haystack
                .as_bytes()
                .windows(needle.len())
                .any(|window| window.eq_ignore_ascii_case(needle))
        } else {
            haystack.to_lowercase().contains(&self.lower)
        }
    }
}
