//! Exporting a query straight to a file: a [`ResultSink`] that renders each row as it arrives
//! (psql's text for every value) and writes it as CSV, a JSON array or NDJSON, so an export never
//! holds the result in memory. Several result sets are written one after another (CSV: a header
//! before each; JSON: one array of all rows).

use std::io::Write;

use super::copy::{csv_field, json_string, json_value};
use super::render::ColumnFormat;
use super::sink::{FetchedRow, ResultSink, SinkError, StatementInfo, StatementOutcome};
use super::store::{RowValues as _, StoreColumn};

/// A file format for exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row; NULL is an empty field, `''` is `""`.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl ExportFormat {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Ndjson => "ndjson",
        }
    }
}

/// Writes rows to `out` as they arrive.
pub struct ExportSink<W: Write> {
    out: W,
    format: ExportFormat,
    columns: Vec<(String, ColumnFormat, super::render::ColumnRenderer)>,
    rows: u64,
    bytes: u64,
    result_sets: usize,
    line: String,
    cell: String,
}

impl<W: Write> ExportSink<W> {
    /// A sink writing `format` to `out`.
    pub fn new(out: W, format: ExportFormat) -> Self {
        Self {
            out,
            format,
            columns: Vec::new(),
            rows: 0,
            bytes: 0,
            result_sets: 0,
            line: String::new(),
            cell: String::new(),
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Ends the file (closes the JSON array) and returns the writer.
    pub fn finish(mut self) -> Result<W, std::io::Error> {
        if self.format == ExportFormat::Json {
            let end: &[u8] = if self.rows == 0 { b"[]\n" } else { b"\n]\n" };
            self.out.write_all(end)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn write_line(&mut self) -> Result<(), SinkError> {
        self.bytes += self.line.len() as u64;
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|error| SinkError::Other(Box::new(error)))
    }
}

impl<W: Write> ResultSink for ExportSink<W> {
    fn begin_rows(
        &mut self,
        _statement: &StatementInfo,
        columns: &[StoreColumn],
    ) -> Result<(), SinkError> {
        self.columns = columns
            .iter()
            .map(|c| (c.name.clone(), c.renderer.format(), c.renderer.clone()))
            .collect();
        self.result_sets += 1;
        if self.format == ExportFormat::Csv {
            self.line.clear();
            if self.result_sets > 1 {
                self.line.push_str("\r\n");
            }
            let header: Vec<String> = self.columns.iter().map(|c| csv_field(&c.0)).collect();
            self.line.push_str(&header.join(","));
            self.line.push_str("\r\n");
            self.write_line()?;
        }
        Ok(())
    }

    fn row(&mut self, row: &FetchedRow<'_>) -> Result<(), SinkError> {
        self.line.clear();
        match self.format {
            ExportFormat::Json if self.rows == 0 => self.line.push_str("[\n"),
            ExportFormat::Json => self.line.push_str(",\n"),
            ExportFormat::Csv | ExportFormat::Ndjson => {}
        }
        if self.format != ExportFormat::Csv {
            self.line.push('{');
        }
        for (index, (name, format, renderer)) in self.columns.iter().enumerate() {
            self.cell.clear();
            let value = match row.value(index) {
                Some(bytes) => {
                    renderer
                        .render(bytes, &mut self.cell)
                        .map_err(|error| SinkError::Other(Box::new(error)))?;
                    Some(self.cell.as_str())
                }
                None => None,
            };
            if index > 0 {
                self.line.push(',');
            }
            if self.format == ExportFormat::Csv {
                if let Some(value) = value {
                    self.line.push_str(&csv_field(value));
                }
            } else {
                self.line.push_str(&json_string(name));
                self.line.push(':');
                self.line.push_str(&json_value(value, Some(*format)));
            }
        }
        match self.format {
            ExportFormat::Csv => self.line.push_str("\r\n"),
            ExportFormat::Json => self.line.push('}'),
            ExportFormat::Ndjson => self.line.push_str("}\n"),
        }
        self.write_line()?;
        self.rows += 1;
        Ok(())
    }

    fn end_statement(&mut self, _outcome: &StatementOutcome) -> Result<(), SinkError> {
        Ok(())
    }
}
