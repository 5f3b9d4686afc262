//! Store tests: appending, reading, NULL vs empty string, the spill path under a tiny cap, and
//! sort/filter on snapshots.

use std::sync::atomic::AtomicBool;

use tokio_postgres::types::Type;

use super::*;
use crate::query::render::ColumnRenderer;
use crate::query::settings::SessionSettings;

fn column(name: &str, ty: &Type) -> StoreColumn {
    let settings =
        SessionSettings::from_values(&["UTC", "ISO, MDY", "postgres", "1", "hex", "150000"]);
    StoreColumn {
        name: name.to_owned(),
        type_oid: ty.oid(),
        type_name: ty.name().to_owned(),
        renderer: ColumnRenderer::binary(ty, &settings).unwrap_or_else(ColumnRenderer::server_text),
    }
}

/// id int4, name text, score float8, note (server text).
fn columns() -> Vec<StoreColumn> {
    vec![
        column("id", &Type::INT4),
        column("name", &Type::TEXT),
        column("score", &Type::FLOAT8),
        column("note", &Type::POINT),
    ]
}

fn push(store: &mut ResultStore, id: i32, name: Option<&str>, float: Option<f64>, note: &str) {
    let id_bytes = id.to_be_bytes();
    let score_bytes = float.map(f64::to_be_bytes);
    let row: [Option<&[u8]>; 4] = [
        Some(&id_bytes),
        name.map(str::as_bytes),
        score_bytes.as_ref().map(|s| &s[..]),
        Some(note.as_bytes()),
    ];
    store.push_row(&row[..]).unwrap();
}

#[test]
fn cells_render_and_null_differs_from_empty_string() {
    let mut store = ResultStore::new(columns(), StoreOptions::default());
    push(&mut store, 1, Some("one"), Some(0.5), "(1,2)");
    push(&mut store, -2, Some(""), None, "");
    push(&mut store, 3, None, Some(f64::NAN), "x");
    assert_eq!(store.row_count(), 3);
    assert_eq!(store.cell_text(0, 0).unwrap().as_deref(), Some("1"));
    assert_eq!(store.cell_text(0, 2).unwrap().as_deref(), Some("0.5"));
    assert_eq!(store.cell_text(0, 3).unwrap().as_deref(), Some("(1,2)"));
    assert_eq!(store.cell_text(1, 0).unwrap().as_deref(), Some("-2"));
    assert_eq!(store.cell_text(1, 1).unwrap().as_deref(), Some(""));
    assert_eq!(store.cell_text(1, 2).unwrap(), None);
    assert_eq!(store.cell_text(2, 1).unwrap(), None);
    assert_eq!(store.cell_text(2, 2).unwrap().as_deref(), Some("NaN"));
    assert!(matches!(
        store.cell_text(3, 0),
        Err(StoreError::OutOfRange { rows: 3, .. })
    ));
    assert!(matches!(
        store.cell_text(0, 4),
        Err(StoreError::OutOfRange { columns: 4, .. })
    ));
}

#[test]
fn malformed_rows_are_refused_whole() {
    let mut store = ResultStore::new(columns(), StoreOptions::default());
    let short: [Option<&[u8]>; 2] = [Some(b"1234"), None];
    assert!(matches!(
        store.push_row(&short[..]),
        Err(StoreError::RowWidth {
            expected: 4,
            got: 2
        })
    ));
    let wrong: [Option<&[u8]>; 4] = [Some(b"12"), None, None, None];
    let error = store.push_row(&wrong[..]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "column \"id\" holds 4-byte values, but one has 2 bytes"
    );
    assert_eq!(store.row_count(), 0);
}

#[test]
fn past_the_cap_chunks_spill_to_disk_and_reads_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        memory_cap_bytes: 256 << 10,
        spill_dir: Some(dir.path().to_owned()),
    };
    let mut store = ResultStore::new(columns(), options);
    let rows = 200_000;
    for i in 0..rows {
        let name = format!("name-{i}");
        let name = (i % 10 != 0).then_some(name.as_str());
        push(&mut store, i, name, Some(f64::from(i) / 4.0), "");
    }
    assert_eq!(store.row_count(), 200_000);
    assert!(store.spilled_rows() > 150_000, "{}", store.spilled_rows());
    assert!(store.spilled_bytes() > 1 << 20);
    // The anonymous spill file leaves nothing in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // Cap + the open chunk (≤ cap/16 of data, with capacity slack) + two cached chunks.
    let bound = (256 << 10) + 4 * (64 << 10);
    assert!(
        store.peak_memory_bytes() <= bound,
        "{} > {bound}",
        store.peak_memory_bytes()
    );
    for row in [0u64, 1, 12_345, 150_000, 199_999, 10, 70_000] {
        let expected_name = (row % 10 != 0).then(|| format!("name-{row}"));
        assert_eq!(store.cell_text(row, 1).unwrap(), expected_name, "row {row}");
        assert_eq!(store.cell_text(row, 0).unwrap(), Some(row.to_string()));
        assert_eq!(store.cell_text(row, 3).unwrap().as_deref(), Some(""));
    }
    assert!(store.memory_bytes() <= bound);

    let snapshot = store.snapshot();
    let cancel = AtomicBool::new(false);
    let by_score = snapshot.sort(2, SortOrder::Descending, &cancel).unwrap();
    assert_eq!(by_score.len(), 200_000);
    assert_eq!(&by_score[..3], &[199_999, 199_998, 199_997]);
    let matches = snapshot
        .filter(
            &RowFilter::Contains {
                column: Some(1),
                text: "NAME-19999".to_owned(),
            },
            &cancel,
        )
        .unwrap();
    assert_eq!(
        matches,
        [
            19_999, 199_991, 199_992, 199_993, 199_994, 199_995, 199_996, 199_997, 199_998, 199_999
        ]
    );
}

#[test]
fn sort_puts_nulls_last_ascending_and_first_descending_and_is_stable() {
    let mut store = ResultStore::new(columns(), StoreOptions::default());
    let data = [
        (0, Some("b"), Some(2.0)),
        (1, None, Some(f64::NAN)),
        (2, Some("a"), None),
        (3, Some("B"), Some(-1.0)),
        (4, Some("a"), Some(-0.0)),
        (5, Some(""), Some(0.0)),
    ];
    for (id, name, score) in data {
        push(&mut store, id, name, score, "");
    }
    let snapshot = store.snapshot();
    let cancel = AtomicBool::new(false);
    let sort = |column, order| snapshot.sort(column, order, &cancel).unwrap();
    assert_eq!(sort(1, SortOrder::Ascending), [5, 3, 2, 4, 0, 1]);
    assert_eq!(sort(1, SortOrder::Descending), [1, 0, 2, 4, 3, 5]);
    assert_eq!(sort(2, SortOrder::Ascending), [3, 4, 5, 0, 1, 2]);
    assert_eq!(sort(0, SortOrder::Descending), [5, 4, 3, 2, 1, 0]);

    let filter = |filter| snapshot.filter(&filter, &cancel).unwrap();
    assert_eq!(filter(RowFilter::IsNull { column: 1 }), [1]);
    assert_eq!(filter(RowFilter::IsNotNull { column: 2 }), [0, 1, 3, 4, 5]);
    let any = |text: &str| RowFilter::Contains {
        column: None,
        text: text.to_owned(),
    };
    assert_eq!(filter(any("nan")), [1]);
    assert_eq!(filter(any("A")), [1, 2, 4]);
    assert!(matches!(
        snapshot.sort(9, SortOrder::Ascending, &cancel),
        Err(StoreError::OutOfRange { .. })
    ));
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(matches!(
        snapshot.sort(0, SortOrder::Ascending, &cancel),
        Err(StoreError::Cancelled)
    ));
}

#[test]
fn snapshots_do_not_see_later_rows() {
    let mut store = ResultStore::new(columns(), StoreOptions::default());
    push(&mut store, 1, Some("a"), None, "");
    let snapshot = store.snapshot();
    push(&mut store, 2, Some("b"), None, "");
    assert_eq!(snapshot.row_count(), 1);
    assert_eq!(store.row_count(), 2);
    let mut text = String::new();
    assert!(snapshot.render_cell(0, 1, &mut text).unwrap());
    assert_eq!(text, "a");
    assert!(snapshot.render_cell(1, 1, &mut text).is_err());
}
