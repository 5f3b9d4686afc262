//! The window: renders state and turns clicks into backend `Command`s. It never awaits or blocks;
//! results arrive as `Event`s drained at the start of each frame. The only module (with `main.rs`)
//! that uses egui/eframe.

mod app;
mod banner;
mod connect_dialog;
mod connections_panel;
mod details_pane;
mod editor_tabs;
mod inventory_tree;
mod jobs_view;
mod log_view;
mod probe;
mod profiles_panel;
mod query;
mod settings_window;
mod sign_in_window;
mod theme;
mod tunnels_view;

pub use app::ExplorerApp;
pub use probe::{ProbeExit, ProbeMarks, StartupProbe};
pub use query::bench::{FrameTimes, scroll_grid_frames};

use crate::aws::profiles::AwsFiles;
use crate::logging::LogBuffer;
use crate::store::{Database, DatabaseError, Paths, Settings, StartupProblem, load_settings};

/// Everything the window starts from, prepared by `main` (or a test).
pub struct AppInit {
    /// Where files live.
    pub paths: Paths,
    /// Settings loaded at start.
    pub settings: Settings,
    /// Files that could not be used at start; shown in a banner.
    pub problems: Vec<StartupProblem>,
    /// The open database, handed to the backend.
    pub database: Database,
    /// The profile selected last time.
    pub last_profile: Option<String>,
    /// Where AWS profiles are read from.
    pub aws_files: AwsFiles,
    /// Recent log lines for the Log view.
    pub log_buffer: LogBuffer,
    /// Measures time to first frame (for `scripts/bench`).
    pub probe: Option<StartupProbe>,
    /// The editor buffers autosaved last time, one per tab.
    pub editor_buffers: Vec<String>,
}

impl AppInit {
    /// Loads settings and opens the database under `paths`, recovering from bad files (each one
    /// becomes a [`StartupProblem`], logged and shown in a banner). Fails only when not even an
    /// in-memory database can be opened.
    pub fn load(
        paths: Paths,
        aws_files: AwsFiles,
        log_buffer: LogBuffer,
    ) -> Result<Self, DatabaseError> {
        let (settings, settings_problem) = load_settings(&paths.settings_file());
        let (database, database_problem) = Database::open_or_recover(&paths.database_file())?;
        let problems: Vec<_> = settings_problem
            .into_iter()
            .chain(database_problem)
            .collect();
        for problem in &problems {
            tracing::warn!(%problem, "start-up problem");
        }
        let last_profile = database.state("last_profile").unwrap_or_else(|error| {
            tracing::warn!(%error, "could not read the last selected profile");
            None
        });
        let editor_buffers = crate::backend::load_editor_buffers(&database);
        Ok(Self {
            editor_buffers,
            paths,
            settings,
            problems,
            database,
            last_profile,
            aws_files,
            log_buffer,
            probe: None,
        })
    }
}

/// Window options: title, app id (for the desktop file), size.
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("RDS Explorer")
            .with_app_id("rds-explorer")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([720.0, 480.0]),
        // OpenGL via glow: a third of wgpu's binary size and no Vulkan instance at start-up; an
        // explorer's UI draws nothing that needs more. (Test builds also carry wgpu, for
        // kittest's renderer, so the choice is made here explicitly.)
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    }
}
