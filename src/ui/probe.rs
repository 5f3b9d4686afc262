//! The start-up probe behind `--exit-after-first-frame` and `--exit-after-inventory`: records how
//! long after process start the first frame, the cached inventory and the refreshed inventory were
//! on screen, and can close the window then. `scripts/bench` reads the figures.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::inventory_tree::LoadState;

/// Longest the probe waits for the inventory before closing the window anyway.
const INVENTORY_TIMEOUT: Duration = Duration::from_mins(2);

/// When the probe closes the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeExit {
    /// Never: the probe only measures.
    Never,
    /// Once the first frame was presented.
    AfterFirstFrame,
    /// Once the inventory refresh that follows start-up was presented.
    AfterInventory,
}

/// Times after process start, each set once the frame showing it was presented.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProbeMarks {
    /// The first frame.
    pub first_frame: Option<Duration>,
    /// The first frame with cached resources in the tree.
    pub inventory_cached: Option<Duration>,
    /// The first frame after every region was fetched again.
    pub inventory_refreshed: Option<Duration>,
}

#[derive(Default)]
struct State {
    marks: ProbeMarks,
    /// Marks whose frame was drawn; they are recorded when the next frame starts, that is once
    /// the drawn frame was presented.
    pending: ProbeMarks,
}

/// Shared between `main` (which prints the figures) and the window (which records them).
#[derive(Clone)]
pub struct StartupProbe {
    started: Instant,
    exit: ProbeExit,
    state: Arc<Mutex<State>>,
}

impl StartupProbe {
    /// A probe timing from `started`.
    pub fn new(started: Instant, exit: ProbeExit) -> Self {
        Self {
            started,
            exit,
            state: Arc::default(),
        }
    }

    /// What was measured so far.
    pub fn marks(&self) -> ProbeMarks {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .marks
    }

    /// Called at the start of every frame with the inventory that frame is about to draw.
    pub(super) fn on_frame(&self, ctx: &egui::Context, load: LoadState) {
        let now = self.started.elapsed();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let State { marks, pending } = &mut *state;
        // What the previous frame drew is on screen now.
        for (mark, drawn) in [
            (&mut marks.first_frame, &mut pending.first_frame),
            (&mut marks.inventory_cached, &mut pending.inventory_cached),
            (
                &mut marks.inventory_refreshed,
                &mut pending.inventory_refreshed,
            ),
        ] {
            if mark.is_none() && drawn.take().is_some() {
                *mark = Some(now);
            }
        }
        if marks.first_frame.is_none() {
            pending.first_frame = Some(now);
        }
        if marks.inventory_cached.is_none() && load.resources > 0 && load.fetched_regions == 0 {
            pending.inventory_cached = Some(now);
        }
        if marks.inventory_refreshed.is_none() && load.fetched_regions > 0 && !load.refreshing {
            pending.inventory_refreshed = Some(now);
        }
        let done = match self.exit {
            ProbeExit::Never => false,
            ProbeExit::AfterFirstFrame => marks.first_frame.is_some(),
            ProbeExit::AfterInventory => {
                marks.inventory_refreshed.is_some() || now > INVENTORY_TIMEOUT
            }
        };
        if done {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        } else if pending.first_frame.is_some()
            || pending.inventory_cached.is_some()
            || pending.inventory_refreshed.is_some()
        {
            // One more frame, so the mark is taken once this one was presented.
            ctx.request_repaint();
        } else if self.exit == ProbeExit::AfterInventory {
            ctx.request_repaint_after(Duration::from_secs(1));
        }
    }
}
