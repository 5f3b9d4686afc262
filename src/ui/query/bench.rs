//! Headless frame-time measurement of the result grid, for `scripts/bench` and a test: the grid
//! over a snapshot is laid out and tessellated in a bare `egui::Context` (no window, no GPU) while
//! it jumps through the rows, page by page past [`super::grid::PAGE_ROWS`], and each frame's
//! CPU time is recorded.

use std::time::{Duration, Instant};

use super::grid::{GridState, RowView, grid_ui};
use crate::query::StoreSnapshot;

/// Frame times of a run.
#[derive(Clone, Copy, Debug)]
pub struct FrameTimes {
    /// Frames measured.
    pub frames: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Slowest.
    pub max: Duration,
}

/// Draws the grid over `snapshot` for `frames` frames (after two warm-up frames) in a
/// 1280×800 headless context, scrolling evenly from the first row to the last.
pub fn scroll_grid_frames(snapshot: StoreSnapshot, frames: usize) -> FrameTimes {
    let ctx = egui::Context::default();
    let view = RowView {
        snapshot,
        order: None,
    };
    let rows = view.row_count().max(1);
    let mut state = GridState::default();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    let mut times = Vec::with_capacity(frames);
    for frame in 0..frames + 2 {
        let target = (frame.saturating_sub(2) as u64 * (rows - 1)) / frames.max(1) as u64;
        state.scroll_to = Some(target);
        let input = egui::RawInput {
            screen_rect: Some(screen),
            ..Default::default()
        };
        let started = Instant::now();
        let mut output = ctx.run_ui(input, |ui| {
            let _ = grid_ui(ui, "bench_grid", &view, &mut state);
        });
        let _ = ctx.tessellate(std::mem::take(&mut output.shapes), output.pixels_per_point);
        // Font atlas uploads would go to the GPU; here they are measured and dropped.
        output.textures_delta.clear();
        if frame >= 2 {
            times.push(started.elapsed());
        }
    }
    times.sort_unstable();
    let at = |percent: usize| {
        let index = times.len().saturating_sub(1) * percent / 100;
        times.get(index).copied().unwrap_or_default()
    };
    FrameTimes {
        frames: times.len(),
        p50: at(50),
        p99: at(99),
        max: times.last().copied().unwrap_or_default(),
    }
}
