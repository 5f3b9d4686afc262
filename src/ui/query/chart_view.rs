//! The Chart view of a result: line, bar or scatter of numeric columns, with pickers for the X
//! column (or the row number) and the Y series. Points are read from the snapshot once per
//! choice (sampled to at most [`MAX_POINTS`]) and cached, not every frame.

use egui_plot::{Bar, BarChart, Legend, Line, Plot, Points};

use crate::query::StoreSnapshot;
use crate::query::chart::{numeric_columns, series};

/// Points drawn per series at most.
pub const MAX_POINTS: usize = 20_000;

/// Kind of chart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChartKind {
    /// Connected points.
    #[default]
    Line,
    /// Bars.
    Bar,
    /// Unconnected points.
    Scatter,
}

/// What the cached points were read for: rows, X column, Y columns.
type CacheKey = (u64, Option<usize>, Vec<usize>);

/// Choices and cached points of one result's chart.
#[derive(Default)]
pub struct ChartState {
    kind: ChartKind,
    x: Option<usize>,
    y: Vec<usize>,
    /// (rows, x, y) the cache was made for, and the points per Y column.
    cache: Option<(CacheKey, Vec<Vec<[f64; 2]>>)>,
}

/// Draws the chart view.
pub fn chart_ui(ui: &mut egui::Ui, id: u64, snapshot: &StoreSnapshot, state: &mut ChartState) {
    let numeric = numeric_columns(snapshot);
    if numeric.is_empty() {
        ui.weak("No numeric columns to chart");
        return;
    }
    if state.y.is_empty() {
        state.y.push(*numeric.last().unwrap_or(&0));
    }
    let name = |c: usize| snapshot.columns().get(c).map_or("?", |c| c.name.as_str());
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut state.kind, ChartKind::Line, "Line");
        ui.selectable_value(&mut state.kind, ChartKind::Bar, "Bar");
        ui.selectable_value(&mut state.kind, ChartKind::Scatter, "Scatter");
        ui.separator();
        let x_text = state.x.map_or("row number", name).to_owned();
        egui::ComboBox::new(("chart_x", id), "X")
            .selected_text(x_text)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.x, None, "row number");
                for &c in &numeric {
                    ui.selectable_value(&mut state.x, Some(c), name(c));
                }
            });
        ui.separator();
        ui.label("Y:");
        for &c in &numeric {
            let mut on = state.y.contains(&c);
            if ui.checkbox(&mut on, name(c)).changed() {
                if on {
                    state.y.push(c);
                } else {
                    state.y.retain(|&y| y != c);
                }
            }
        }
    });
    let key = (snapshot.row_count(), state.x, state.y.clone());
    if state.cache.as_ref().is_none_or(|(k, _)| *k != key) {
        let points = state
            .y
            .iter()
            .map(|&y| series(snapshot, state.x, y, MAX_POINTS).unwrap_or_default())
            .collect();
        state.cache = Some((key, points));
    }
    let Some((_, points)) = &state.cache else {
        return;
    };
    let kind = state.kind;
    let names: Vec<String> = state.y.iter().map(|&c| name(c).to_owned()).collect();
    Plot::new(("chart", id))
        .legend(Legend::default())
        .show(ui, |plot| {
            for (series, name) in points.iter().zip(&names) {
                match kind {
                    ChartKind::Line => plot.line(Line::new(name.clone(), series.clone())),
                    ChartKind::Scatter => {
                        plot.points(Points::new(name.clone(), series.clone()).radius(2.0));
                    }
                    ChartKind::Bar => plot.bar_chart(BarChart::new(
                        name.clone(),
                        series.iter().map(|[x, y]| Bar::new(*x, *y)).collect(),
                    )),
                }
            }
        });
}
