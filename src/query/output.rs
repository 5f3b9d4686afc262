//! Streaming a script's results to a writer as text, TSV, CSV, JSON or NDJSON, one row at a time:
//! memory stays bounded whatever the result size. Used by `rds-explorer query` (stdout) and, with
//! file conventions ([`OutputSink::for_file`]: CRLF in CSV, one JSON array for every result set),
//! by the editor's exports.
//!
//! `text` is exactly what `psql -At` prints for result sets: values as PostgreSQL renders them,
//! `|` between columns, NULL as nothing, no header. Commands print nothing (`psql -Atq`).

use std::io::Write;

use super::copy::{csv_field, json_string, json_value, tsv_field};
use super::sink::{FetchedRow, ResultSink, SinkError, StatementInfo, StatementOutcome};
use super::store::{RowValues as _, StoreColumn};

/// How rows are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// `psql -At`: `|`-separated, no header, NULL as empty.
    Text,
    /// Header line, then tab-separated values; tab, newline, carriage return and backslash
    /// escaped as in `COPY … TO` text format; NULL as `\N`.
    Tsv,
    /// RFC 4180 with a header; NULL is an empty unquoted field, an empty string is `""`.
    Csv,
    /// One JSON array of row objects per result set (several result sets: one array each, one
    /// per line). Numbers, booleans and json values keep their types; NULL is `null`.
    Json,
    /// One JSON object per row and line.
    Ndjson,
}

/// Writes each row as it arrives.
pub struct OutputSink<W: Write> {
    out: W,
    format: OutputFormat,
    columns: Vec<OutputColumn>,
    rows_in_set: u64,
    scratch: String,
    /// Result sets started, for separators between sets.
    sets: u64,
    /// File conventions: CRLF line ends in CSV (RFC 4180), and JSON as one array of every
    /// result set's rows, one row a line.
    file: bool,
    /// Rows written, over every result set.
    rows: u64,
    /// Bytes written.
    bytes: u64,
}

struct OutputColumn {
    column: StoreColumn,
    /// JSON key (the name as a JSON string).
    key: String,
}

impl<W: Write> OutputSink<W> {
    /// A sink writing `format` to `out`.
    pub fn new(out: W, format: OutputFormat) -> Self {
        Self {
            out,
            format,
            columns: Vec::new(),
            rows_in_set: 0,
            scratch: String::new(),
            sets: 0,
            file: false,
            rows: 0,
            bytes: 0,
        }
    }

    /// A sink writing a file a spreadsheet or a JSON reader opens: CSV lines end in CRLF, JSON
    /// is one array holding every result set's rows.
    pub fn for_file(out: W, format: OutputFormat) -> Self {
        Self {
            file: true,
            ..Self::new(out, format)
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

    /// Ends the output (a file's JSON array), flushes and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.file && self.format == OutputFormat::Json {
            let end: &[u8] = if self.rows == 0 { b"[]\n" } else { b"\n]\n" };
            self.out.write_all(end)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn write(&mut self, text: &str) -> Result<(), SinkError> {
        self.bytes += text.len() as u64;
        self.out.write_all(text.as_bytes()).map_err(io_error)
    }

    /// The line end: CRLF in a CSV file, else LF.
    fn newline(&self) -> &'static str {
        if self.file && self.format == OutputFormat::Csv {
            "\r\n"
        } else {
            "\n"
        }
    }
}

fn io_error(error: std::io::Error) -> SinkError {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        SinkError::Stopped
    } else {
        SinkError::Other(Box::new(error))
    }
}

impl<W: Write> ResultSink for OutputSink<W> {
    fn begin_rows(
        &mut self,
        _statement: &StatementInfo,
        columns: &[StoreColumn],
    ) -> Result<(), SinkError> {
        self.columns = columns
            .iter()
            .map(|column| OutputColumn {
                key: json_string(&column.name),
                column: column.clone(),
            })
            .collect();
        self.rows_in_set = 0;
        self.sets += 1;
        let mut header = String::new();
        match self.format {
            OutputFormat::Text | OutputFormat::Ndjson => {}
            OutputFormat::Tsv | OutputFormat::Csv => {
                if self.sets > 1 {
                    header.push_str(self.newline());
                }
                for (index, column) in columns.iter().enumerate() {
                    if index > 0 {
                        header.push(if self.format == OutputFormat::Tsv {
                            '\t'
                        } else {
                            ','
                        });
                    }
                    match self.format {
                        OutputFormat::Tsv => header.push_str(&tsv_field(&column.name)),
                        _ => header.push_str(&csv_field(&column.name)),
                    }
                }
                header.push_str(self.newline());
            }
            OutputFormat::Json if self.file => {}
            OutputFormat::Json => header.push('['),
        }
        self.write(&header)
    }

    fn row(&mut self, row: &FetchedRow<'_>) -> Result<(), SinkError> {
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        let mut value = String::new();
        let json = matches!(self.format, OutputFormat::Json | OutputFormat::Ndjson);
        if self.format == OutputFormat::Json {
            match (self.file, self.rows, self.rows_in_set) {
                (true, 0, _) => line.push_str("[\n"),
                (true, _, _) => line.push_str(",\n"),
                (false, _, 0) => {}
                (false, _, _) => line.push(','),
            }
        }
        if json {
            line.push('{');
        }
        for (index, column) in self.columns.iter().enumerate() {
            value.clear();
            let present = match row.value(index) {
                Some(raw) => {
                    column
                        .column
                        .renderer
                        .render(raw, &mut value)
                        .map_err(|error| SinkError::Other(Box::new(error)))?;
                    true
                }
                None => false,
            };
            match self.format {
                OutputFormat::Text => {
                    if index > 0 {
                        line.push('|');
                    }
                    line.push_str(&value);
                }
                OutputFormat::Tsv => {
                    if index > 0 {
                        line.push('\t');
                    }
                    if present {
                        line.push_str(&tsv_field(&value));
                    } else {
                        line.push_str("\\N");
                    }
                }
                OutputFormat::Csv => {
                    if index > 0 {
                        line.push(',');
                    }
                    if present {
                        line.push_str(&csv_field(&value));
                    }
                }
                OutputFormat::Json | OutputFormat::Ndjson => {
                    if index > 0 {
                        line.push(',');
                    }
                    line.push_str(&column.key);
                    line.push(':');
                    let format = Some(column.column.renderer.format());
                    line.push_str(&json_value(present.then_some(value.as_str()), format));
                }
            }
        }
        if json {
            line.push('}');
        }
        if self.format != OutputFormat::Json {
            line.push_str(self.newline());
        }
        self.rows_in_set += 1;
        self.rows += 1;
        let written = self.write(&line);
        self.scratch = line;
        written
    }

    fn end_statement(&mut self, outcome: &StatementOutcome) -> Result<(), SinkError> {
        if outcome.returned_rows && self.format == OutputFormat::Json && !self.file {
            self.write("]\n")?;
        }
        Ok(())
    }
}
