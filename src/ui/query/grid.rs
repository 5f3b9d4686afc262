//! The result grid: an `egui_table` over a [`StoreSnapshot`], virtual in rows and columns, a
//! sticky header (name and type, click to sort), a sticky row-number gutter, resizable columns,
//! rectangular range selection (click, Shift+click), NULL drawn apart from the empty string.
//! Only visible cells are rendered to text, each frame, from the store.
//!
//! Row offsets are `f32` pixels inside egui: past a few million pixels they lose precision, so
//! more than [`PAGE_ROWS`] rows are shown a page at a time.

use std::sync::Arc;

use egui::accesskit::Role;
use egui::text::{LayoutJob, TextFormat, TextWrapping};
use egui::{Align, RichText, Sense, WidgetInfo};

use crate::query::SortOrder;
use crate::query::StoreSnapshot;
use crate::query::render::ColumnFormat;

/// Rows per page: 400k rows × ~20 px stays below 2^23 px, where `f32` still has whole pixels.
pub const PAGE_ROWS: u64 = 400_000;

const ROW_HEIGHT: f32 = 20.0;
const HEADER_HEIGHT: f32 = 36.0;
const GUTTER_WIDTH: f32 = 64.0;

/// A cell position in display order (row after sort/filter, column index in the result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellPos {
    /// Display row.
    pub row: u64,
    /// Result column.
    pub column: usize,
}

/// A rectangular selection between two corners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    /// Where it started.
    pub anchor: CellPos,
    /// Where it ends (moves with Shift+click).
    pub cursor: CellPos,
}

impl Selection {
    /// Display rows covered, in order.
    pub fn rows(&self) -> std::ops::RangeInclusive<u64> {
        self.anchor.row.min(self.cursor.row)..=self.anchor.row.max(self.cursor.row)
    }

    /// Columns covered, in order.
    pub fn columns(&self) -> std::ops::RangeInclusive<usize> {
        self.anchor.column.min(self.cursor.column)..=self.anchor.column.max(self.cursor.column)
    }

    fn contains(&self, pos: CellPos) -> bool {
        self.rows().contains(&pos.row) && self.columns().contains(&pos.column)
    }
}

/// What the rows on screen are: all rows of a snapshot, or a sorted/filtered list of them.
#[derive(Clone, Debug)]
pub struct RowView {
    /// The rows' source.
    pub snapshot: StoreSnapshot,
    /// Row numbers in display order; `None` = natural order.
    pub order: Option<Arc<Vec<u32>>>,
}

impl RowView {
    /// Rows shown.
    pub fn row_count(&self) -> u64 {
        self.order
            .as_ref()
            .map_or(self.snapshot.row_count(), |o| o.len() as u64)
    }

    /// The store row at display position `row`.
    pub fn source_row(&self, row: u64) -> Option<u64> {
        match &self.order {
            Some(order) => usize::try_from(row)
                .ok()
                .and_then(|r| order.get(r))
                .map(|&r| u64::from(r)),
            None => (row < self.snapshot.row_count()).then_some(row),
        }
    }
}

/// What the user did in the grid this frame.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum GridAction {
    /// Sort by a column (`None`: back to the natural order).
    Sort(Option<(usize, SortOrder)>),
}

/// State of one grid kept across frames.
#[derive(Clone, Debug, Default)]
pub struct GridState {
    /// The selection, if any.
    pub selection: Option<Selection>,
    /// The first display row of the page shown.
    pub page_start: u64,
    /// The current sort.
    pub sort: Option<(usize, SortOrder)>,
    /// Show this display row at the top in the next frame (switching page if needed).
    pub scroll_to: Option<u64>,
}

struct Delegate<'a> {
    view: &'a RowView,
    state: &'a mut GridState,
    text: String,
    action: Option<GridAction>,
    formats: CellFormats,
    selection_fill: egui::Color32,
}

/// How cell text looks: values, row numbers, NULL, a value that could not be rendered.
struct CellFormats {
    value: TextFormat,
    gutter: TextFormat,
    null: TextFormat,
    error: TextFormat,
}

impl CellFormats {
    fn new(ui: &egui::Ui) -> Self {
        let font = egui::TextStyle::Body.resolve(ui.style());
        let visuals = ui.visuals();
        Self {
            value: TextFormat::simple(font.clone(), visuals.text_color()),
            gutter: TextFormat::simple(font.clone(), visuals.weak_text_color()),
            null: TextFormat {
                italics: true,
                ..TextFormat::simple(font.clone(), visuals.weak_text_color())
            },
            error: TextFormat::simple(font, visuals.error_fg_color),
        }
    }
}

/// Space between a cell's edge and its text.
const CELL_PADDING: f32 = 4.0;

/// Lays `text` out on one line, cut with an ellipsis to fit the cell, and paints it centred
/// vertically, at the left or (numbers) the right.
fn paint_text(ui: &egui::Ui, rect: egui::Rect, text: &str, format: &TextFormat, right: bool) {
    let inner = rect.shrink2(egui::vec2(CELL_PADDING, 0.0));
    let mut job = LayoutJob::single_section(text.to_owned(), format.clone());
    job.wrap = TextWrapping::truncate_at_width(inner.width().max(0.0));
    let galley = ui.painter().layout_job(job);
    let x = if right {
        inner.right() - galley.size().x
    } else {
        inner.left()
    };
    let at = egui::pos2(x, inner.center().y - galley.size().y / 2.0);
    ui.painter().galley(at, galley, format.color);
}

impl egui_table::TableDelegate for Delegate<'_> {
    fn header_cell_ui(&mut self, ui: &mut egui::Ui, cell: &egui_table::HeaderCellInfo) {
        let column = cell.col_range.start;
        egui::Frame::NONE
            .inner_margin(egui::Margin::symmetric(4, 0))
            .show(ui, |ui| {
                if column == 0 {
                    ui.weak("#");
                    return;
                }
                let index = column - 1;
                let Some(col) = self.view.snapshot.columns().get(index) else {
                    return;
                };
                ui.vertical(|ui| {
                    let arrow = match self.state.sort {
                        Some((c, SortOrder::Ascending)) if c == index => " (asc)",
                        Some((c, SortOrder::Descending)) if c == index => " (desc)",
                        _ => "",
                    };
                    let name = ui
                        .add(
                            egui::Label::new(
                                RichText::new(format!("{}{arrow}", col.name)).strong(),
                            )
                            .sense(Sense::click())
                            .truncate(),
                        )
                        .on_hover_text("Click to sort by this column");
                    if name.clicked() {
                        let next = match self.state.sort {
                            Some((c, SortOrder::Ascending)) if c == index => {
                                Some((index, SortOrder::Descending))
                            }
                            Some((c, SortOrder::Descending)) if c == index => None,
                            _ => Some((index, SortOrder::Ascending)),
                        };
                        self.action = Some(GridAction::Sort(next));
                    }
                    ui.add(
                        egui::Label::new(RichText::new(&col.type_name).weak().small()).truncate(),
                    );
                });
            });
    }

    fn cell_ui(&mut self, ui: &mut egui::Ui, cell: &egui_table::CellInfo) {
        let row = self.state.page_start + cell.row_nr;
        let rect = ui.max_rect();
        if cell.col_nr == 0 {
            paint_text(
                ui,
                rect,
                &(row + 1).to_string(),
                &self.formats.gutter,
                false,
            );
            return;
        }
        let column = cell.col_nr - 1;
        let pos = CellPos { row, column };
        let selected = self.state.selection.is_some_and(|s| s.contains(pos));
        if selected {
            ui.painter().rect_filled(rect, 0.0, self.selection_fill);
        }
        let response = ui.interact(rect, ui.scope_id().with("cell"), Sense::click());
        if response.clicked() {
            let shift = ui.input(|i| i.modifiers.shift);
            self.state.selection = Some(match self.state.selection {
                Some(selection) if shift => Selection {
                    anchor: selection.anchor,
                    cursor: pos,
                },
                _ => Selection {
                    anchor: pos,
                    cursor: pos,
                },
            });
        }
        let Some(source) = self.view.source_row(row) else {
            return;
        };
        self.text.clear();
        let numeric = matches!(
            self.view.snapshot.columns().get(column).map(|c| c.renderer.format()),
            Some(ColumnFormat::Scalar(kind)) if kind.is_number()
        );
        // Painted, not laid out as widgets: a frame jumping through a million rows lays out
        // every visible cell's new text, and a child Ui plus a Label per cell cost more than
        // the text itself. The cell still says what it shows to screen readers and tests.
        match self
            .view
            .snapshot
            .render_cell(source, column, &mut self.text)
        {
            Ok(true) => {
                // One line in the grid; the inspector shows the rest.
                let shown = self.text.lines().next().unwrap_or_default();
                paint_text(ui, rect, shown, &self.formats.value, numeric);
                response.widget_info(|| WidgetInfo::labeled(Role::Label, true, shown));
            }
            Ok(false) => {
                paint_text(ui, rect, "NULL", &self.formats.null, numeric);
                response.widget_info(|| WidgetInfo::labeled(Role::Label, true, "NULL"));
            }
            Err(error) => {
                paint_text(ui, rect, "!", &self.formats.error, numeric);
                response.on_hover_text(error.to_string());
            }
        }
    }

    fn default_row_height(&self) -> f32 {
        ROW_HEIGHT
    }
}

/// Draws the grid for `view` with `state`; `id` keeps column widths apart per result.
pub fn grid_ui(
    ui: &mut egui::Ui,
    id: impl egui::AsIdSalt,
    view: &RowView,
    state: &mut GridState,
) -> Option<GridAction> {
    let total = view.row_count();
    if state.page_start >= total {
        state.page_start = total.saturating_sub(1) / PAGE_ROWS * PAGE_ROWS;
    }
    let scroll_to = state.scroll_to.take().filter(|&row| row < total);
    if let Some(row) = scroll_to {
        state.page_start = row / PAGE_ROWS * PAGE_ROWS;
    }
    if total > PAGE_ROWS {
        page_bar_ui(ui, total, state);
    }
    let rows = (total - state.page_start.min(total)).min(PAGE_ROWS);
    let columns: Vec<egui_table::Column> = std::iter::once(
        egui_table::Column::new(GUTTER_WIDTH).resizable(false),
    )
    .chain(view.snapshot.columns().iter().map(|column| {
        let width = if matches!(column.renderer.format(), ColumnFormat::Scalar(k) if k.is_number())
        {
            100.0
        } else {
            160.0
        };
        egui_table::Column::new(width)
            .range(40.0..=2000.0)
            .resizable(true)
    }))
    .collect();
    let page_start = state.page_start;
    let mut delegate = Delegate {
        view,
        state,
        text: String::new(),
        action: None,
        formats: CellFormats::new(ui),
        selection_fill: ui.visuals().selection.bg_fill.gamma_multiply(0.6),
    };
    let mut table = egui_table::Table::new().id_salt(id);
    // A new table would size its columns to the first frame's content, which is often just the
    // header (no rows yet): start from sensible widths instead; columns still grow to fit.
    let table_id = table.get_id(ui);
    if egui_table::TableState::load(ui.ctx(), table_id).is_none() {
        let mut initial = egui_table::TableState::default();
        for (index, column) in columns.iter().enumerate() {
            initial
                .col_widths
                .insert(column.id_for(index), column.current);
        }
        initial.store(ui.ctx(), table_id);
    }
    if let Some(row) = scroll_to {
        table = table.scroll_to_row(row - page_start, Some(Align::TOP));
    }
    table
        .num_rows(rows)
        .columns(columns)
        .num_sticky_cols(1)
        .headers([egui_table::HeaderRow::new(HEADER_HEIGHT)])
        .auto_size_mode(egui_table::AutoSizeMode::Never)
        .show(ui, &mut delegate);
    delegate.action
}

fn page_bar_ui(ui: &mut egui::Ui, total: u64, state: &mut GridState) {
    ui.horizontal(|ui| {
        let first = state.page_start + 1;
        let last = (state.page_start + PAGE_ROWS).min(total);
        if ui
            .add_enabled(state.page_start > 0, egui::Button::new("Previous rows"))
            .clicked()
        {
            state.page_start = state.page_start.saturating_sub(PAGE_ROWS);
        }
        ui.label(format!("Rows {first}-{last} of {total}"));
        if ui
            .add_enabled(last < total, egui::Button::new("Next rows"))
            .clicked()
        {
            state.page_start += PAGE_ROWS;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_covers_the_rectangle_between_its_corners() {
        let selection = Selection {
            anchor: CellPos { row: 5, column: 2 },
            cursor: CellPos { row: 3, column: 0 },
        };
        assert_eq!(selection.rows(), 3..=5);
        assert_eq!(selection.columns(), 0..=2);
        assert!(selection.contains(CellPos { row: 4, column: 1 }));
        assert!(!selection.contains(CellPos { row: 6, column: 1 }));
    }
}
