//! Streaming a script's results to a writer as text, TSV, CSV, JSON or NDJSON, one row at a time:
//! memory stays bounded whatever the result size. Used by `rds-explorer query` (stdout) and by
//! exports to a file.
//!
//! `text` is exactly what `psql -At` prints for result sets: values as PostgreSQL renders them,
//! `|` between columns, NULL as nothing, no header. Commands print nothing (`psql -Atq`).

use std::fmt::Write as _;
use std::io::Write;

use super::render::{ColumnFormat, ScalarKind};
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
}

struct OutputColumn {
    column: StoreColumn,
    /// JSON key (the name as a JSON string).
    key: String,
    json: JsonKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum JsonKind {
    String,
    Number,
    Bool,
    Raw,
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
        }
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn write(&mut self, text: &str) -> Result<(), SinkError> {
        self.out.write_all(text.as_bytes()).map_err(io_error)
    }
}

fn io_error(error: std::io::Error) -> SinkError {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        SinkError::Stopped
    } else {
        SinkError::Other(Box::new(error))
    }
}

fn json_kind(column: &StoreColumn) -> JsonKind {
    match column.renderer.format() {
        ColumnFormat::Scalar(ScalarKind::Bool) => JsonKind::Bool,
        ColumnFormat::Scalar(kind) if kind.is_number() => JsonKind::Number,
        _ if matches!(column.type_name.as_str(), "json" | "jsonb") => JsonKind::Raw,
        _ => JsonKind::String,
    }
}

/// Appends `text` as a JSON string literal.
pub fn push_json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `text` as a CSV field: quoted when it holds a separator, quote or line break, or is
/// empty (so that it differs from NULL).
pub fn push_csv_field(text: &str, out: &mut String) {
    if text.is_empty() || text.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// Appends `text` escaped as in `COPY … TO` text format.
pub fn push_tsv_field(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// Numbers JSON can hold as numbers: not `NaN` / `Infinity`, which become strings.
fn is_json_number(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
}

impl<W: Write> ResultSink for OutputSink<W> {
    fn begin_rows(
        &mut self,
        _statement: &StatementInfo,
        columns: &[StoreColumn],
    ) -> Result<(), SinkError> {
        self.columns = columns
            .iter()
            .map(|column| {
                let mut key = String::new();
                push_json_string(&column.name, &mut key);
                OutputColumn {
                    json: json_kind(column),
                    key,
                    column: column.clone(),
                }
            })
            .collect();
        self.rows_in_set = 0;
        self.sets += 1;
        let mut header = String::new();
        match self.format {
            OutputFormat::Text | OutputFormat::Ndjson => {}
            OutputFormat::Tsv | OutputFormat::Csv => {
                if self.sets > 1 {
                    header.push('\n');
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
                        OutputFormat::Tsv => push_tsv_field(&column.name, &mut header),
                        _ => push_csv_field(&column.name, &mut header),
                    }
                }
                header.push('\n');
            }
            OutputFormat::Json => header.push('['),
        }
        self.write(&header)
    }

    fn row(&mut self, row: &FetchedRow<'_>) -> Result<(), SinkError> {
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        let mut value = String::new();
        let json = matches!(self.format, OutputFormat::Json | OutputFormat::Ndjson);
        if self.format == OutputFormat::Json && self.rows_in_set > 0 {
            line.push(',');
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
                        push_tsv_field(&value, &mut line);
                    } else {
                        line.push_str("\\N");
                    }
                }
                OutputFormat::Csv => {
                    if index > 0 {
                        line.push(',');
                    }
                    if present {
                        push_csv_field(&value, &mut line);
                    }
                }
                OutputFormat::Json | OutputFormat::Ndjson => {
                    if index > 0 {
                        line.push(',');
                    }
                    line.push_str(&column.key);
                    line.push(':');
                    match (present, column.json) {
                        (false, _) => line.push_str("null"),
                        (true, JsonKind::Bool) => {
                            line.push_str(if value == "t" { "true" } else { "false" });
                        }
                        (true, JsonKind::Number) if is_json_number(&value) => {
                            line.push_str(&value);
                        }
                        (true, JsonKind::Raw) => line.push_str(&value),
                        (true, _) => push_json_string(&value, &mut line),
                    }
                }
            }
        }
        if json {
            line.push('}');
        }
        if self.format != OutputFormat::Json {
            line.push('\n');
        }
        self.rows_in_set += 1;
        let written = self.write(&line);
        self.scratch = line;
        written
    }

    fn end_statement(&mut self, outcome: &StatementOutcome) -> Result<(), SinkError> {
        if outcome.returned_rows && self.format == OutputFormat::Json {
            self.write("]\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped_per_format() {
        let mut out = String::new();
        push_csv_field("a,b", &mut out);
        out.push('|');
        push_csv_field("say \"hi\"", &mut out);
        out.push('|');
        push_csv_field("", &mut out);
        out.push('|');
        push_csv_field("plain", &mut out);
        assert_eq!(out, r#""a,b"|"say ""hi"""|""|plain"#);
        let mut out = String::new();
        push_tsv_field("a\tb\nc\\d", &mut out);
        assert_eq!(out, r"a\tb\nc\\d");
        let mut out = String::new();
        push_json_string("q\"\\\n\u{1}é", &mut out);
        assert_eq!(out, r#""q\"\\\n\u0001é""#);
        assert!(is_json_number("-1.5e10"));
        assert!(!is_json_number("NaN"));
        assert!(!is_json_number("Infinity"));
    }
}
