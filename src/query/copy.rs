//! Turning a selection of result cells into text for the clipboard: TSV (what spreadsheets paste),
//! CSV (RFC 4180), JSON (an array of objects, numbers and booleans as JSON values, `json`/`jsonb`
//! embedded) and SQL `INSERT` statements. NULL stays distinct from the empty string in every
//! format: CSV writes NULL as nothing and `''` as `""`, TSV as `\N` (as `COPY` does).

use std::fmt::Write as _;

use super::render::{ColumnFormat, ScalarKind};
use super::store::{StoreError, StoreSnapshot};

/// A clipboard format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyFormat {
    /// Tab-separated, no header; tabs, newlines and backslashes escaped as `COPY` does.
    Tsv,
    /// Comma-separated with a header row.
    Csv,
    /// A JSON array of objects keyed by column name.
    Json,
    /// One `INSERT INTO <table> (…) VALUES (…);` per row.
    SqlInsert,
}

/// The cells of `rows` × `columns` of `snapshot` in `format`; `table` names the target of SQL
/// inserts.
pub fn copy_cells(
    snapshot: &StoreSnapshot,
    rows: impl IntoIterator<Item = u64>,
    columns: &[usize],
    format: CopyFormat,
    table: &str,
) -> Result<String, StoreError> {
    let names: Vec<&str> = columns
        .iter()
        .map(|&c| {
            snapshot
                .columns()
                .get(c)
                .map_or("?", |col| col.name.as_str())
        })
        .collect();
    let formats: Vec<Option<ColumnFormat>> = columns
        .iter()
        .map(|&c| snapshot.columns().get(c).map(|col| col.renderer.format()))
        .collect();
    let mut out = String::new();
    let mut cell = String::new();
    match format {
        CopyFormat::Csv => {
            let header: Vec<String> = names.iter().map(|n| csv_field(n)).collect();
            out.push_str(&header.join(","));
            out.push_str("\r\n");
        }
        CopyFormat::Json => out.push('['),
        CopyFormat::Tsv | CopyFormat::SqlInsert => {}
    }
    for (index, row) in rows.into_iter().enumerate() {
        match format {
            CopyFormat::Json if index > 0 => out.push_str(",\n "),
            CopyFormat::Json => out.push_str("\n "),
            CopyFormat::SqlInsert => {
                let _ = write!(
                    out,
                    "INSERT INTO {table} ({}) VALUES (",
                    names
                        .iter()
                        .map(|n| quote_ident(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            _ => {}
        }
        if format == CopyFormat::Json {
            out.push('{');
        }
        for (position, &column) in columns.iter().enumerate() {
            cell.clear();
            let present = snapshot.render_cell(row, column, &mut cell)?;
            let value = present.then_some(cell.as_str());
            let separator = match format {
                CopyFormat::Tsv => "\t",
                CopyFormat::Csv => ",",
                CopyFormat::Json | CopyFormat::SqlInsert => ", ",
            };
            if position > 0 {
                out.push_str(separator);
            }
            match format {
                CopyFormat::Tsv => out.push_str(&value.map_or_else(|| "\\N".to_owned(), tsv_field)),
                CopyFormat::Csv => {
                    if let Some(value) = value {
                        out.push_str(&csv_field(value));
                    }
                }
                CopyFormat::Json => {
                    let _ = write!(out, "{}: ", json_string(names[position]));
                    out.push_str(&json_value(value, formats[position]));
                }
                CopyFormat::SqlInsert => out.push_str(&sql_literal(value, formats[position])),
            }
        }
        match format {
            CopyFormat::Tsv => out.push('\n'),
            CopyFormat::Csv => out.push_str("\r\n"),
            CopyFormat::Json => out.push('}'),
            CopyFormat::SqlInsert => out.push_str(");\n"),
        }
    }
    if format == CopyFormat::Json {
        out.push_str("\n]\n");
    }
    Ok(out)
}

/// A TSV field escaped as in `COPY … TO` text format.
pub fn tsv_field(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// A CSV field: quoted when empty (so it differs from NULL) or holding `,` `"` or a line break.
pub fn csv_field(value: &str) -> String {
    if value.is_empty() || value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// A JSON string literal.
pub fn json_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

fn is_number(format: Option<ColumnFormat>) -> bool {
    matches!(format, Some(ColumnFormat::Scalar(kind)) if kind.is_number())
}

/// A cell as a JSON value: numbers (finite ones) and booleans as such, `jsonb` embedded, else a
/// string; NULL as `null`.
pub fn json_value(value: Option<&str>, format: Option<ColumnFormat>) -> String {
    let Some(value) = value else {
        return "null".to_owned();
    };
    match format {
        Some(ColumnFormat::Scalar(ScalarKind::Bool)) => {
            (if value == "t" { "true" } else { "false" }).to_owned()
        }
        Some(ColumnFormat::Scalar(ScalarKind::Jsonb))
            if serde_json::from_str::<serde_json::Value>(value).is_ok() =>
        {
            value.to_owned()
        }
        _ if is_number(format) && value.parse::<f64>().is_ok_and(f64::is_finite) => {
            value.to_owned()
        }
        _ => json_string(value),
    }
}

/// A cell as a SQL literal: numbers bare, booleans as `true`/`false`, else a quoted string (`E''`
/// never needed: standard strings only double the quote); NULL as `NULL`.
pub fn sql_literal(value: Option<&str>, format: Option<ColumnFormat>) -> String {
    let Some(value) = value else {
        return "NULL".to_owned();
    };
    match format {
        Some(ColumnFormat::Scalar(ScalarKind::Bool)) => {
            (if value == "t" { "true" } else { "false" }).to_owned()
        }
        _ if is_number(format) && value.parse::<f64>().is_ok_and(f64::is_finite) => {
            value.to_owned()
        }
        _ => format!("'{}'", value.replace('\'', "''")),
    }
}

/// An identifier, quoted when it is not a plain lower-case name.
pub fn quote_ident(name: &str) -> String {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !super::highlight::is_keyword(name);
    if plain {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::render::ColumnRenderer;
    use crate::query::{ResultStore, StoreColumn, StoreOptions};

    fn snapshot() -> StoreSnapshot {
        let column = |name: &str| StoreColumn {
            name: name.into(),
            type_oid: 25,
            type_name: "text".into(),
            renderer: ColumnRenderer::server_text(),
        };
        let mut store = ResultStore::new(
            vec![column("id"), column("Note"), column("select")],
            StoreOptions::default(),
        );
        let rows: [[Option<&[u8]>; 3]; 3] = [
            [Some(b"1"), Some(b"a,b"), None],
            [Some(b"2"), Some(b""), Some(b"it's")],
            [Some(b"3"), Some(b"tab\there"), Some(b"say \"hi\"")],
        ];
        for row in &rows {
            store.push_row(&row[..]).unwrap();
        }
        store.snapshot()
    }

    #[test]
    fn csv_and_tsv_keep_null_apart_from_empty() {
        let snapshot = snapshot();
        let csv = copy_cells(&snapshot, 0..3, &[0, 1, 2], CopyFormat::Csv, "t").unwrap();
        assert_eq!(
            csv,
            "id,Note,select\r\n1,\"a,b\",\r\n2,\"\",it's\r\n3,tab\there,\"say \"\"hi\"\"\"\r\n"
        );
        let tsv = copy_cells(&snapshot, [2, 0], &[1, 2], CopyFormat::Tsv, "t").unwrap();
        assert_eq!(tsv, "tab\\there\tsay \"hi\"\na,b\t\\N\n");
    }

    #[test]
    fn json_and_inserts_quote_what_they_must() {
        let snapshot = snapshot();
        let json = copy_cells(&snapshot, 0..2, &[1, 2], CopyFormat::Json, "t").unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!([{"Note": "a,b", "select": null}, {"Note": "", "select": "it's"}])
        );
        let sql = copy_cells(
            &snapshot,
            1..2,
            &[0, 1, 2],
            CopyFormat::SqlInsert,
            "public.t",
        )
        .unwrap();
        assert_eq!(
            sql,
            "INSERT INTO public.t (id, \"Note\", \"select\") VALUES ('2', '', 'it''s');\n"
        );
    }

    #[test]
    fn typed_values_become_json_and_sql_values() {
        let int = Some(ColumnFormat::Scalar(ScalarKind::Int4));
        let boolean = Some(ColumnFormat::Scalar(ScalarKind::Bool));
        let jsonb = Some(ColumnFormat::Scalar(ScalarKind::Jsonb));
        let float = Some(ColumnFormat::Scalar(ScalarKind::Float8));
        assert_eq!(json_value(Some("42"), int), "42");
        assert_eq!(json_value(Some("NaN"), float), "\"NaN\"");
        assert_eq!(json_value(Some("t"), boolean), "true");
        assert_eq!(json_value(Some("{\"a\": 1}"), jsonb), "{\"a\": 1}");
        assert_eq!(json_value(None, int), "null");
        assert_eq!(sql_literal(Some("-7"), int), "-7");
        assert_eq!(sql_literal(Some("Infinity"), float), "'Infinity'");
        assert_eq!(sql_literal(Some("f"), boolean), "false");
    }
}
