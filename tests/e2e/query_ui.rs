//! The query editor in the window, by accessible labels, on a real backend and the sandbox's TLS
//! PostgreSQL: type a query, Ctrl+Enter, the row count and first cell appear; sort a column;
//! copy a range as CSV; find the run in the history; the buffer comes back after a restart.

use egui::{Key, Modifiers, OutputCommand};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use rds_explorer::ui::ExplorerApp;

use crate::query_backend::PgSandbox;
use crate::util::{TestHome, runtime, settle, start_app, step_until};

const QUERY: &str = "select 'cell-' || g as name, g as n from generate_series(1, 60) g";

/// With `RDSX_WRITE_SCREENSHOTS=1`, renders the window (wgpu, software rasterizer in CI) to
/// `docs/screenshots/<name>.png`; otherwise does nothing.
pub(crate) fn screenshot(harness: &mut Harness<'_, ExplorerApp>, name: &str) {
    if std::env::var_os("RDSX_WRITE_SCREENSHOTS").is_none() {
        return;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/screenshots")
        .join(format!("{name}.png"));
    harness.render().unwrap().save(&path).unwrap();
}

/// Steps until a frame's output puts text on the clipboard; returns it.
fn copied_text(harness: &mut Harness<'_, ExplorerApp>) -> String {
    for _ in 0..10 {
        harness.step();
        let copied = harness
            .output()
            .platform_output
            .commands
            .iter()
            .find_map(|command| match command {
                OutputCommand::CopyText(text) => Some(text.clone()),
                _ => None,
            });
        if let Some(text) = copied {
            return text;
        }
    }
    panic!("nothing was copied");
}

#[test]
fn type_run_sort_copy_and_find_in_history() {
    let sandbox = PgSandbox::start();
    sandbox
        .cluster
        .psql(&format!(
            "\\c {}\ncreate schema shop;\n\
             create table shop.orders (id int primary key, note text not null default 'none');\n\
             create view shop.recent as select * from shop.orders;",
            sandbox.cluster.info().database
        ))
        .unwrap();
    let home = TestHome::new();
    let runtime = runtime();
    let mut harness = start_app(&home, &runtime);
    settle(&mut harness);
    harness.state_mut().open_session(
        sandbox.params(),
        sandbox.tls.clone(),
        sandbox.info("sandbox"),
    );
    step_until(&mut harness, "tab bound to the session", |h| {
        h.query_by_label("sandbox · Query 1").is_some()
    });

    schema_browser_lists_the_sandbox_tables(&mut harness);

    harness.get_by_label("SQL editor").focus();
    settle(&mut harness);
    harness.get_by_label("SQL editor").type_text(QUERY);
    settle(&mut harness);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    step_until(&mut harness, "row count and first cell", |h| {
        h.query_by_label_contains("60 rows ·").is_some() && h.query_by_label("cell-1").is_some()
    });
    assert!(
        harness.query_by_label("cell-60").is_none(),
        "the last row is off screen before sorting"
    );
    screenshot(&mut harness, "editor-grid");

    sort_filter_copy_chart_and_explain(&mut harness);

    // The run is in the history, found by a word of its SQL.
    harness.get_by_label("History").click();
    settle(&mut harness);
    harness.get_by_label("Search history").focus();
    settle(&mut harness);
    harness
        .get_by_label("Search history")
        .type_text("generate_series");
    step_until(&mut harness, "history entry", |h| {
        h.query_by_label(QUERY).is_some()
    });
    let database = home.paths().database_file();
    step_until(&mut harness, "buffer autosaved", |_| {
        rds_explorer::store::Database::open(&database)
            .unwrap()
            .state("editor_buffers")
            .unwrap()
            .is_some_and(|json| json.contains("generate_series"))
    });
    drop(harness);

    // The buffer was autosaved and comes back.
    let mut harness = start_app(&home, &runtime);
    step_until(&mut harness, "restored buffer", |h| {
        h.get_by_label("SQL editor").value().as_deref() == Some(QUERY)
    });
}

fn schema_browser_lists_the_sandbox_tables(harness: &mut Harness<'_, ExplorerApp>) {
    // The schema browser lists the sandbox's schema, its table (columns, keys) and view.
    step_until(harness, "schema tree", |h| {
        h.query_by_label("shop").is_some()
    });
    harness.get_by_label("shop").click();
    step_until(harness, "tables of shop", |h| {
        h.query_by_label("Tables (1)").is_some() && h.query_by_label("Views (1)").is_some()
    });
    harness.get_by_label("orders").click();
    step_until(harness, "columns of orders", |h| {
        h.query_by_label("id  integer  not null").is_some()
            // Listed as an index and as a constraint.
            && h.query_all_by_label("orders_pkey").count() == 2
    });
    harness.get_by_label("recent");
    screenshot(harness, "schema-browser");
}

fn sort_filter_copy_chart_and_explain(harness: &mut Harness<'_, ExplorerApp>) {
    // Sort by n: ascending, then descending puts cell-60 first.
    harness.get_by_label("n").click();
    step_until(harness, "sorted ascending", |h| {
        h.query_by_label("n (asc)").is_some()
    });
    harness.get_by_label("n (asc)").click();
    step_until(harness, "sorted descending", |h| {
        h.query_by_label("n (desc)").is_some() && h.query_by_label("cell-60").is_some()
    });
    assert!(harness.query_by_label("cell-1").is_none());

    // Select the first two rows of both columns and copy them as CSV.
    harness.get_by_label("cell-60").click();
    settle(harness);
    harness.get_by_label("59").click_modifiers(Modifiers::SHIFT);
    settle(harness);
    harness.get_by_label("Copy as CSV").click();
    assert_eq!(
        copied_text(harness),
        "name,n\r\ncell-60,60\r\ncell-59,59\r\n"
    );

    // Filter by a column: only matching rows remain (still sorted), then clear it.
    harness.get_by_label("Filter rows").focus();
    settle(harness);
    harness.get_by_label("Filter rows").type_text("cell-1");
    settle(harness);
    harness.get_by_label("Apply").click();
    step_until(harness, "filtered rows", |h| {
        // cell-1 and cell-10 … cell-19, sorted descending: cell-19 first.
        h.query_by_label("cell-19").is_some()
            && h.query_by_label("cell-60").is_none()
            && h.query_by_label("cell-2").is_none()
    });
    harness.get_by_label("Clear filter").click();
    step_until(harness, "filter cleared", |h| {
        h.query_by_label("cell-60").is_some()
    });

    // A chart of the numeric column, then back to the grid.
    harness.get_by_label("Chart").click();
    settle(harness);
    harness.get_by_label("Scatter");
    screenshot(harness, "chart");
    harness.get_by_label("Grid").click();
    settle(harness);

    // EXPLAIN ANALYZE of the statement at the cursor shows the plan tree with timings.
    harness.get_by_label("Explain analyze").click();
    step_until(harness, "plan tree", |h| {
        h.query_by_label("Function Scan").is_some()
            && h.query_by_label_contains("Execution ").is_some()
            && h.query_by_label_contains("actual 60 rows x 1 loops")
                .is_some()
    });
    screenshot(harness, "explain-analyze");
}
