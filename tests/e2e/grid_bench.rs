//! Grid frame time while scrolling 1M rows × 9 typed columns headless (DESIGN budget: p99 ≤ 4 ms
//! CPU in a release build). This debug-build test only guards against a grid that does work
//! proportional to the result (a frame must stay far below what rendering every row would take);
//! `scripts/bench` reports the release figures.

use std::time::Duration;

use rds_explorer::query::render::ColumnRenderer;
use rds_explorer::query::{ResultStore, SessionSettings, StoreColumn, StoreOptions};
use tokio_postgres::types::Type;

fn million_rows() -> ResultStore {
    let settings =
        SessionSettings::from_values(&["UTC", "ISO, MDY", "postgres", "1", "hex", "150000"]);
    let column = |name: &str, ty: Type| StoreColumn {
        name: name.into(),
        type_oid: ty.oid(),
        type_name: ty.name().into(),
        renderer: ColumnRenderer::binary(&ty, &settings).unwrap(),
    };
    let columns = vec![
        column("id", Type::INT4),
        column("big", Type::INT8),
        column("name", Type::TEXT),
        column("ratio", Type::FLOAT8),
        column("created_at", Type::TIMESTAMPTZ),
        column("flag", Type::BOOL),
        column("uid", Type::UUID),
        column("note", Type::TEXT),
        column("sparse", Type::TEXT),
    ];
    let mut store = ResultStore::new(
        columns,
        StoreOptions {
            memory_cap_bytes: 64 << 20,
            spill_dir: None,
        },
    );
    for g in 0..1_000_000_i64 {
        let id = (g as i32).to_be_bytes();
        let big = (g * 1_000_003).to_be_bytes();
        let name = format!("name-{g}");
        let ratio = (g as f64 / 7.0).to_be_bytes();
        let created = (g * 1_000_000).to_be_bytes();
        let flag = [u8::from(g % 3 == 0)];
        let uid = u128::try_from(g).unwrap().to_be_bytes();
        let sparse = format!("sparse-{g}");
        let row: [Option<&[u8]>; 9] = [
            Some(&id),
            Some(&big),
            Some(name.as_bytes()),
            Some(&ratio),
            Some(&created),
            Some(&flag),
            Some(&uid),
            Some(b"a longer text value that fills a cell"),
            (g % 10 == 0).then_some(sparse.as_bytes()),
        ];
        store.push_row(&row[..]).unwrap();
    }
    store
}

#[test]
#[expect(
    clippy::print_stdout,
    reason = "the figures are the point; nextest shows them with --no-capture"
)]
fn scrolling_a_million_rows_costs_a_bounded_frame() {
    let store = million_rows();
    assert!(store.spilled_rows() > 0, "the spill path is exercised too");
    let times = rds_explorer::ui::scroll_grid_frames(store.snapshot(), 200);
    println!(
        "grid frame over 1M rows: p50 {:?}, p99 {:?}, max {:?} ({} frames, debug build)",
        times.p50, times.p99, times.max, times.frames
    );
    assert_eq!(times.frames, 200);
    // Rendering every row would take seconds; a virtual grid stays at tens of ms even unoptimised.
    assert!(times.p99 < Duration::from_millis(250), "{times:?}");
}
