//! Drawing a query tab: run/stop bar, the editor (resizable, on top), then the status line,
//! error, notices, one tab per statement's result, the result toolbar (filter, copy) and the
//! grid with an optional cell inspector.

use egui::RichText;

use super::chart_view::chart_ui;
use super::editor::editor_ui;
use super::grid::{GridAction, grid_ui};
use super::plan_view::plan_ui;
use super::{InspectorMode, QueryAction, QueryTab, ResultPane, ResultView, RunScope};
use crate::backend::TabId;
use crate::query::copy::{CopyFormat, copy_cells};
use crate::query::export::ExportFormat;

/// Draws tab `tab_id`'s editor and results.
/// `names` completes schema names in the editor.
pub fn query_tab_ui(
    ui: &mut egui::Ui,
    tab_id: TabId,
    tab: &mut QueryTab,
    names: &dyn Fn(&str) -> Vec<String>,
) -> Option<QueryAction> {
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        let running = tab.running.is_some();
        if ui
            .add_enabled(!running, egui::Button::new("Run"))
            .on_hover_text("Run the statement at the cursor, or the selection (Ctrl+Enter)")
            .clicked()
        {
            action = Some(QueryAction::Run(RunScope::Current));
        }
        if ui
            .add_enabled(!running, egui::Button::new("Run all"))
            .on_hover_text("Run the whole buffer (Ctrl+Shift+Enter)")
            .clicked()
        {
            action = Some(QueryAction::Run(RunScope::All));
        }
        if ui
            .add_enabled(running, egui::Button::new("Stop"))
            .on_hover_text("Cancel on the server; rows received so far are kept")
            .clicked()
        {
            action = Some(QueryAction::Stop);
        }
        if running {
            ui.spinner();
        }
        if ui
            .add_enabled(!running, egui::Button::new("Explain"))
            .on_hover_text("Show the plan of the statement at the cursor")
            .clicked()
        {
            action = Some(QueryAction::Explain { analyze: false });
        }
        if ui
            .add_enabled(!running, egui::Button::new("Explain analyze"))
            .on_hover_text("Run the statement at the cursor and show its plan with timings")
            .clicked()
        {
            action = Some(QueryAction::Explain { analyze: true });
        }
        ui.separator();
        for (name, format) in [
            ("Export CSV…", ExportFormat::Csv),
            ("Export JSON…", ExportFormat::Json),
            ("Export NDJSON…", ExportFormat::Ndjson),
        ] {
            let button = ui
                .add_enabled(!running, egui::Button::new(name))
                .on_hover_text("Run the statement at the cursor again, streaming it to a file");
            if button.clicked() {
                action = Some(QueryAction::Export(format));
            }
        }
    });
    let error_at = tab.error.as_ref().and_then(|e| e.offset);
    egui::Panel::top(("editor_panel", tab_id.0))
        .resizable(true)
        .default_size(220.0)
        .show(ui, |ui| {
            let (_, cursor) = editor_ui(
                ui,
                tab_id.0,
                &mut tab.sql,
                error_at,
                names,
                &mut tab.completion,
            );
            if let Some(cursor) = cursor {
                tab.cursor = cursor;
            }
        });
    egui::CentralPanel::default().show(ui, |ui| {
        if let Some(result_action) = results_ui(ui, tab_id, tab) {
            action = Some(result_action);
        }
    });
    action
}

fn results_ui(ui: &mut egui::Ui, tab_id: TabId, tab: &mut QueryTab) -> Option<QueryAction> {
    if !tab.status.is_empty() {
        ui.label(&tab.status);
    }
    if let Some(error) = &tab.error {
        ui.label(RichText::new(&error.text).color(ui.visuals().error_fg_color));
    }
    if !tab.notices.is_empty() {
        egui::CollapsingHeader::new(format!("Notices ({})", tab.notices.len()))
            .id_salt(("notices", tab_id.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt(("notices_scroll", tab_id.0))
                    .max_height(100.0)
                    .show(ui, |ui| {
                        for notice in &tab.notices {
                            ui.label(notice.to_string());
                        }
                    });
            });
    }
    if tab.results.is_empty() {
        return None;
    }
    ui.horizontal_wrapped(|ui| {
        for (index, pane) in tab.results.iter().enumerate() {
            let label = match (&pane.view.snapshot, &pane.view.outcome) {
                (Some(snapshot), _) => {
                    format!(
                        "Result {} ({})",
                        index + 1,
                        crate::backend::count_rows(snapshot.row_count())
                    )
                }
                (None, Some(outcome)) => {
                    format!("Statement {}: {} affected", index + 1, outcome.rows)
                }
                (None, None) => format!("Statement {}", index + 1),
            };
            if ui
                .selectable_label(tab.selected_result == index, label)
                .clicked()
            {
                tab.selected_result = index;
            }
        }
    });
    let index = tab.selected_result.min(tab.results.len() - 1);
    let pane = &mut tab.results[index];
    let snapshot = pane.view.snapshot.clone()?;
    ui.horizontal(|ui| {
        ui.selectable_value(&mut pane.view_mode, ResultView::Grid, "Grid");
        ui.selectable_value(&mut pane.view_mode, ResultView::Chart, "Chart");
        if pane.plan.is_some() {
            ui.selectable_value(&mut pane.view_mode, ResultView::Plan, "Plan");
        }
    });
    match pane.view_mode {
        ResultView::Grid => {}
        ResultView::Chart => {
            chart_ui(ui, tab_id.0 << 8 | index as u64, &snapshot, &mut pane.chart);
            return None;
        }
        ResultView::Plan => {
            if let Some(plan) = &pane.plan {
                plan_ui(ui, plan);
            }
            return None;
        }
    }
    let mut reorder = result_toolbar_ui(ui, tab_id, index, pane);
    if pane.inspector {
        egui::Panel::right(("inspector", tab_id.0, index))
            .resizable(true)
            .default_size(280.0)
            .show(ui, |ui| inspector_ui(ui, pane));
    }
    if let Some(rows) = pane.rows()
        && let Some(GridAction::Sort(sort)) =
            grid_ui(ui, ("grid", tab_id.0, index), &rows, &mut pane.grid)
    {
        pane.grid.sort = sort;
        reorder = true;
    }
    if reorder {
        return tab.order_request(tab_id, index).map(QueryAction::Order);
    }
    None
}

/// Filter and copy controls; returns whether the order must be recomputed.
fn result_toolbar_ui(
    ui: &mut egui::Ui,
    tab_id: TabId,
    index: usize,
    pane: &mut ResultPane,
) -> bool {
    let mut reorder = false;
    ui.horizontal_wrapped(|ui| {
        let Some(snapshot) = pane.view.snapshot.clone() else {
            return;
        };
        let column_name = |c: Option<usize>| {
            c.and_then(|c| snapshot.columns().get(c))
                .map_or_else(|| "All columns".to_owned(), |col| col.name.clone())
        };
        let label = ui.label("Filter rows");
        let field = ui
            .add(
                egui::TextEdit::singleline(&mut pane.filter.0)
                    .id_salt(("filter", tab_id.0, index))
                    .desired_width(160.0)
                    .hint_text("contains…"),
            )
            .labelled_by(label.id);
        egui::ComboBox::new(("filter_column", tab_id.0, index), "Filter column")
            .selected_text(column_name(pane.filter.1))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut pane.filter.1, None, "All columns");
                for (c, col) in snapshot.columns().iter().enumerate() {
                    ui.selectable_value(&mut pane.filter.1, Some(c), &col.name);
                }
            });
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            reorder = true;
        }
        if ui.button("Apply").clicked() {
            reorder = true;
        }
        if !pane.filter.0.is_empty() && ui.button("Clear filter").clicked() {
            pane.filter.0.clear();
            reorder = true;
        }
        if pane.ordering {
            ui.spinner();
        }
        ui.separator();
        let selection = pane.grid.selection;
        for (name, format) in [
            ("Copy as TSV", CopyFormat::Tsv),
            ("Copy as CSV", CopyFormat::Csv),
            ("Copy as JSON", CopyFormat::Json),
            ("Copy as SQL INSERT", CopyFormat::SqlInsert),
        ] {
            let button = ui
                .add_enabled(selection.is_some(), egui::Button::new(name))
                .on_disabled_hover_text("Select cells first: click one, Shift+click another");
            if button.clicked() {
                copy_selection(ui, pane, format);
            }
        }
        ui.toggle_value(&mut pane.inspector, "Inspector");
    });
    // Ctrl+C copies the selection as TSV when no text field has the focus.
    let copy_pressed = ui.input(|i| i.events.iter().any(|e| matches!(e, egui::Event::Copy)));
    if copy_pressed && pane.grid.selection.is_some() && ui.memory(|m| m.focused().is_none()) {
        copy_selection(ui, pane, CopyFormat::Tsv);
    }
    reorder
}

fn copy_selection(ui: &egui::Ui, pane: &ResultPane, format: CopyFormat) {
    let (Some(selection), Some(rows)) = (pane.grid.selection, pane.rows()) else {
        return;
    };
    let columns: Vec<usize> = selection.columns().collect();
    let source_rows: Vec<u64> = selection
        .rows()
        .filter_map(|r| rows.source_row(r))
        .collect();
    match copy_cells(&rows.snapshot, source_rows, &columns, format, "result") {
        Ok(text) => ui.ctx().copy_text(text),
        Err(error) => tracing::warn!(%error, "copy failed"),
    }
}

fn inspector_ui(ui: &mut egui::Ui, pane: &mut ResultPane) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut pane.inspector_mode, InspectorMode::Text, "Text");
        ui.selectable_value(&mut pane.inspector_mode, InspectorMode::Json, "JSON");
        ui.selectable_value(&mut pane.inspector_mode, InspectorMode::Hex, "Hex");
    });
    let (Some(selection), Some(rows)) = (pane.grid.selection, pane.rows()) else {
        ui.weak("Select a cell to see its whole value");
        return;
    };
    let column = selection.cursor.column;
    let Some(row) = rows.source_row(selection.cursor.row) else {
        return;
    };
    let mut text = String::new();
    let shown = match rows.snapshot.render_cell(row, column, &mut text) {
        Ok(false) => {
            ui.label(RichText::new("NULL").italics().weak());
            return;
        }
        Ok(true) => match pane.inspector_mode {
            InspectorMode::Text => text,
            InspectorMode::Json => serde_json::from_str::<serde_json::Value>(&text)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| format!("(not JSON)\n{text}")),
            InspectorMode::Hex => hex_dump(text.as_bytes()),
        },
        Err(error) => error.to_string(),
    };
    if let Some(col) = rows.snapshot.columns().get(column) {
        ui.weak(format!(
            "{} · {} · row {}",
            col.name,
            col.type_name,
            row + 1
        ));
    }
    egui::ScrollArea::both()
        .id_salt("inspector_text")
        .show(ui, |ui| {
            ui.add(
                egui::Label::new(RichText::new(shown).monospace())
                    .wrap()
                    .selectable(true),
            );
        });
}

/// 16 bytes per line: offset, hex, printable ASCII.
fn hex_dump(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x}  ", line * 16);
        for byte in chunk {
            let _ = write!(out, "{byte:02x} ");
        }
        out.push_str(&"   ".repeat(16 - chunk.len()));
        out.push(' ');
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::hex_dump;

    #[test]
    fn hex_dump_shows_offsets_bytes_and_text() {
        assert_eq!(
            hex_dump(b"AB\n"),
            format!("00000000  41 42 0a {} AB.\n", "   ".repeat(13))
        );
    }
}
