//! One chunk of a result: per column a null bitmap, one byte buffer, and the end offset of each
//! value (none for fixed-size types, whose values sit at `row × width`). Chunks grow while rows
//! arrive, are sealed (shrunk to size) when full, and can be encoded for the spill file.

use super::StoreError;

/// The values of one column within a chunk.
#[derive(Clone, Debug, Default)]
pub(super) struct ColumnData {
    /// Bytes per value for fixed-size types (NULLs take zeroed slots); `None` = variable.
    width: Option<usize>,
    /// Bit `row % 64` of word `row / 64` is set when the value is NULL.
    nulls: Vec<u64>,
    /// End offset in `data` of each value (variable-size columns only).
    ends: Vec<u32>,
    data: Vec<u8>,
}

impl ColumnData {
    fn new(width: Option<usize>) -> Self {
        Self {
            width,
            ..Self::default()
        }
    }

    fn is_null(&self, row: usize) -> bool {
        self.nulls
            .get(row / 64)
            .is_some_and(|word| word >> (row % 64) & 1 == 1)
    }

    fn value(&self, row: usize) -> Option<&[u8]> {
        if self.is_null(row) {
            return None;
        }
        if let Some(width) = self.width {
            return self.data.get(row * width..(row + 1) * width);
        }
        let start = row
            .checked_sub(1)
            .and_then(|previous| self.ends.get(previous))
            .map_or(0, |&end| end as usize);
        let end = *self.ends.get(row)? as usize;
        self.data.get(start..end)
    }

    fn push(&mut self, row: usize, value: Option<&[u8]>) -> Result<(), StoreError> {
        if row.is_multiple_of(64) {
            self.nulls.push(0);
        }
        match value {
            None => {
                if let Some(word) = self.nulls.last_mut() {
                    *word |= 1 << (row % 64);
                }
                if let Some(width) = self.width {
                    self.data.resize(self.data.len() + width, 0);
                }
            }
            Some(bytes) => self.data.extend_from_slice(bytes),
        }
        if self.width.is_none() {
            let end = u32::try_from(self.data.len()).map_err(|_| StoreError::ValueTooLarge)?;
            self.ends.push(end);
        }
        Ok(())
    }

    fn capacity_bytes(&self) -> usize {
        self.nulls.capacity() * 8 + self.ends.capacity() * 4 + self.data.capacity()
    }

    fn shrink(&mut self) {
        self.nulls.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.data.shrink_to_fit();
    }
}

/// Rows `0..rows` of every column.
#[derive(Clone, Debug)]
pub(super) struct Chunk {
    rows: usize,
    columns: Vec<ColumnData>,
}

impl Chunk {
    /// An empty chunk for columns of these fixed widths.
    pub(super) fn new(widths: &[Option<usize>]) -> Self {
        Self {
            rows: 0,
            columns: widths.iter().map(|&w| ColumnData::new(w)).collect(),
        }
    }

    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes held, counting spare capacity.
    pub(super) fn memory_bytes(&self) -> usize {
        self.columns.iter().map(ColumnData::capacity_bytes).sum()
    }

    /// Bytes of values held (no offsets, bitmaps or spare capacity).
    pub(super) fn data_bytes(&self) -> usize {
        self.columns.iter().map(|c| c.data.len()).sum()
    }

    /// The value at (`row`, `column`) of this chunk: `None` for NULL (and out of range).
    pub(super) fn value(&self, row: usize, column: usize) -> Option<&[u8]> {
        self.columns.get(column)?.value(row)
    }

    /// Appends a row whose values were already checked against the column widths.
    pub(super) fn push_row<'a>(
        &mut self,
        values: impl Iterator<Item = Option<&'a [u8]>>,
    ) -> Result<(), StoreError> {
        let row = self.rows;
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.push(row, value)?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Frees spare capacity once no more rows come.
    pub(super) fn seal(&mut self) {
        for column in &mut self.columns {
            column.shrink();
        }
    }

    /// Encodes the chunk for the spill file: row count, then per column the lengths of bitmap,
    /// offsets and data, then their bytes (little-endian).
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.memory_bytes() + 8 + self.columns.len() * 24);
        bytes.extend((self.rows as u64).to_le_bytes());
        for column in &self.columns {
            bytes.extend((column.nulls.len() as u64).to_le_bytes());
            bytes.extend((column.ends.len() as u64).to_le_bytes());
            bytes.extend((column.data.len() as u64).to_le_bytes());
            bytes.extend(column.nulls.iter().flat_map(|word| word.to_le_bytes()));
            bytes.extend(column.ends.iter().flat_map(|end| end.to_le_bytes()));
            bytes.extend_from_slice(&column.data);
        }
        bytes
    }

    /// Reverses [`Chunk::encode`] for columns of these widths.
    pub(super) fn decode(bytes: &[u8], widths: &[Option<usize>]) -> Option<Self> {
        let mut reader = Decoder { bytes };
        let rows = usize::try_from(reader.u64()?).ok()?;
        let mut columns = Vec::with_capacity(widths.len());
        for &width in widths {
            let nulls_len = usize::try_from(reader.u64()?).ok()?;
            let ends_len = usize::try_from(reader.u64()?).ok()?;
            let data_len = usize::try_from(reader.u64()?).ok()?;
            let nulls = reader
                .take(nulls_len.checked_mul(8)?)?
                .chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect();
            let ends = reader
                .take(ends_len.checked_mul(4)?)?
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default()))
                .collect();
            let data = reader.take(data_len)?.to_vec();
            columns.push(ColumnData {
                width,
                nulls,
                ends,
                data,
            });
        }
        Some(Self { rows, columns })
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
}

impl<'a> Decoder<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.bytes.split_at_checked(len)?;
        self.bytes = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_nulls_and_empty_strings_survive_encoding() {
        let widths = [Some(4), None];
        let mut chunk = Chunk::new(&widths);
        let rows: [[Option<&[u8]>; 2]; 3] = [
            [Some(&[0, 0, 0, 1]), Some(b"a")],
            [None, Some(b"")],
            [Some(&[0, 0, 0, 3]), None],
        ];
        for _ in 0..30 {
            for row in &rows {
                chunk.push_row(row.iter().copied()).unwrap();
            }
        }
        chunk.seal();
        let check = |chunk: &Chunk| {
            assert_eq!(chunk.rows(), 90);
            for (i, row) in rows.iter().cycle().take(90).enumerate() {
                assert_eq!(chunk.value(i, 0), row[0], "row {i}");
                assert_eq!(chunk.value(i, 1), row[1], "row {i}");
            }
        };
        check(&chunk);
        check(&Chunk::decode(&chunk.encode(), &widths).unwrap());
        assert!(Chunk::decode(&chunk.encode()[..20], &widths).is_none());
    }
}
