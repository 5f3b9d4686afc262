//! Exporting a query straight to a file: the streaming [`OutputSink`] with file conventions
//! (CRLF in CSV, one JSON array for every result set), so an export never holds the result in
//! memory and writes exactly what `rds-explorer query` would, values rendered as psql does.

use std::io::Write;

use super::output::{OutputFormat, OutputSink};

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

    /// The sink writing this format to a file.
    pub fn sink<W: Write>(self, out: W) -> OutputSink<W> {
        let format = match self {
            Self::Csv => OutputFormat::Csv,
            Self::Json => OutputFormat::Json,
            Self::Ndjson => OutputFormat::Ndjson,
        };
        OutputSink::for_file(out, format)
    }
}
