//! `ExplorerApp`: the eframe app. Drains backend events first thing each frame, draws the panels,
//! then turns what the panels asked for into backend commands.

use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::banner::banner_ui;
use super::connections_panel::ConnectionsUi;
use super::details_pane::details_ui;
use super::editor_tabs::EditorTabs;
use super::inventory_tree::{InventoryAction, InventoryView, Selection};
use super::jobs_view::{JobsAction, JobsView};
use super::log_view::LogView;
use super::profiles_panel::{ProfilesAction, ProfilesPanel};
use super::query::RunScope;
use super::query::history_panel::HistoryPanel;
use super::settings_window::{SettingsAction, SettingsWindow};
use super::sign_in_window::{SignInAction, SignInPrompt, sign_in_window};
use super::tunnels_view::TunnelsView;
use super::{AppInit, StartupProbe, theme};
use crate::aws::inventory::draft::ResourceRef;
use crate::backend::{self, BackendContext, BackendHandle, Command, Event};
use crate::jobs::{JobOutcome, JobUpdate};
use crate::store::{Paths, Settings, StartupProblem};

mod query_commands;

/// How long one frame may spend applying backend events before it draws.
const EVENT_BUDGET: Duration = Duration::from_millis(8);

/// Which view the bottom panel shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BottomTab {
    Jobs,
    Log,
    History,
    Tunnels,
}

/// The status bar line.
struct Status {
    text: String,
    is_error: bool,
}

/// The main window.
pub struct ExplorerApp {
    backend: BackendHandle,
    paths: Paths,
    settings: Settings,
    problems: Vec<StartupProblem>,
    profiles: ProfilesPanel,
    inventory: InventoryView,
    tabs: EditorTabs,
    jobs: JobsView,
    log: LogView,
    history: HistoryPanel,
    tunnels: TunnelsView,
    bottom_tab: BottomTab,
    settings_window: SettingsWindow,
    connections: ConnectionsUi,
    sign_in: Option<SignInPrompt>,
    /// A page to open in the browser on the next frame (events arrive outside `ui`).
    open_url: Option<String>,
    status: Status,
    probe: Option<StartupProbe>,
}

impl ExplorerApp {
    /// Starts the backend on `runtime` and builds the window state.
    pub fn start(cc: &eframe::CreationContext<'_>, runtime: &Handle, init: AppInit) -> Self {
        let ctx = cc.egui_ctx.clone();
        theme::apply(&ctx, init.settings.theme);
        let log_ctx = ctx.clone();
        // Coalesce log bursts into one repaint; a log line is never urgent.
        init.log_buffer
            .set_waker(move || log_ctx.request_repaint_after(Duration::from_millis(100)));
        let context = BackendContext {
            paths: init.paths.clone(),
            database: init.database,
            aws_files: init.aws_files,
            settings: init.settings.clone(),
        };
        let wake_ctx = ctx.clone();
        let backend = backend::start(runtime, context, move || wake_ctx.request_repaint());
        let mut app = Self {
            backend,
            paths: init.paths,
            settings: init.settings,
            problems: init.problems,
            profiles: ProfilesPanel::new(init.last_profile.clone()),
            inventory: InventoryView::default(),
            tabs: EditorTabs::restore(init.editor_buffers),
            jobs: JobsView::default(),
            log: LogView::new(init.log_buffer),
            history: HistoryPanel::default(),
            tunnels: TunnelsView::default(),
            bottom_tab: BottomTab::Jobs,
            settings_window: SettingsWindow::default(),
            connections: ConnectionsUi::default(),
            sign_in: None,
            open_url: None,
            status: Status {
                text: "Ready".into(),
                is_error: false,
            },
            probe: init.probe,
        };
        app.send(Command::LoadProfiles);
        app.send(Command::LoadConnections);
        app.profiles.set_loading();
        // The profile used last time most likely stays selected: show its cached inventory while
        // the profile list is still being read. Another selection replaces it when the list says so.
        if let Some(profile) = init.last_profile {
            app.inventory.open(&profile);
            app.send(Command::OpenProfile { profile });
        }
        app
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn send(&mut self, command: Command) {
        if let Err(busy) = self.backend.send(command) {
            self.set_status(busy.to_string(), true);
        }
    }

    fn set_status(&mut self, text: impl Into<String>, is_error: bool) {
        self.status = Status {
            text: text.into(),
            is_error,
        };
    }

    fn apply(&mut self, event: Event) {
        let Some(event) = self.connections.apply(event) else {
            return;
        };
        match event {
            Event::Job(update) => {
                if let JobUpdate::Finished { id, .. } = &update {
                    self.tabs.job_finished(*id);
                }
                if let JobUpdate::Finished {
                    outcome: JobOutcome::Failed(error),
                    ..
                } = &update
                {
                    self.set_status(error.to_string(), true);
                    self.profiles.set_failed();
                }
                self.jobs.apply(update);
            }
            Event::TunnelsChanged(tunnels) => self.tunnels.set(tunnels),
            Event::ProfilesLoaded { list, .. } => {
                self.profiles.set_list(list);
                self.open_selected_profile();
            }
            Event::InventoryCached { profile, regions } => {
                self.inventory.set_cached(&profile, regions);
            }
            Event::InventoryRefreshing { profile, regions } => {
                self.inventory.set_refreshing(&profile, &regions);
            }
            Event::InventoryRegion { profile, inventory } => {
                self.inventory.set_region(&profile, inventory);
            }
            Event::IdentityChecked { profile, result } => {
                self.inventory.set_identity(&profile, result);
            }
            Event::SettingsSaved { path } => {
                self.set_status(format!("Settings saved to {}", path.display()), false);
            }
            Event::SettingsSaveFailed(error) => {
                self.set_status(error.to_string(), true);
                self.settings_window.set_error(error.to_string());
            }
            Event::CaFilePicked(Some(path)) => self.settings_window.set_ca_file(&path),
            Event::CaFilePicked(None) => {}
            Event::SignInCode {
                profile,
                job,
                user_code,
                url,
            } => {
                self.set_status(
                    format!("Confirm code {user_code} in the browser to sign in to {profile}"),
                    false,
                );
                self.open_url = Some(url.clone());
                self.sign_in = Some(SignInPrompt {
                    profile,
                    job,
                    user_code,
                    url,
                });
            }
            Event::SignInFinished { profile, signed_in } => {
                self.sign_in = None;
                if signed_in {
                    self.set_status(format!("Signed in to {profile}; refreshing"), false);
                }
            }
            event => self.apply_query_event(event),
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        use egui::{Key, KeyboardShortcut, Modifiers};
        let pressed = |key| {
            ctx.input_mut(|input| {
                input.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, key))
            })
        };
        let run_all = ctx.input_mut(|input| {
            input.consume_shortcut(&KeyboardShortcut::new(
                Modifiers::COMMAND | Modifiers::SHIFT,
                Key::Enter,
            ))
        });
        if run_all {
            self.run_selected_tab(RunScope::All);
        }
        if pressed(Key::Enter) {
            self.run_selected_tab(RunScope::Current);
        }
        if pressed(Key::T) {
            self.tabs.open();
        }
        if pressed(Key::W) {
            self.tabs.close_selected();
        }
        if pressed(Key::Comma) {
            self.settings_window.open(&self.settings);
        }
    }

    fn on_profiles(&mut self, action: &ProfilesAction) {
        match action {
            ProfilesAction::Reload => {
                self.profiles.set_loading();
                self.send(Command::LoadProfiles);
            }
            ProfilesAction::Select(_) => self.open_selected_profile(),
        }
    }

    /// Opens the selected profile in the inventory tree unless it is already open.
    fn open_selected_profile(&mut self) {
        let Some(profile) = self.profiles.selected().map(str::to_owned) else {
            // No profile left (the one opened at start is gone): show nothing stale.
            self.inventory = InventoryView::default();
            return;
        };
        if self.inventory.profile() != Some(profile.as_str()) {
            self.inventory.open(&profile);
            self.send(Command::OpenProfile { profile });
        }
    }

    fn on_inventory(&mut self, action: InventoryAction) {
        let Some(profile) = self.inventory.profile().map(str::to_owned) else {
            return;
        };
        match action {
            InventoryAction::SignIn => self.send(Command::SignIn { profile }),
            InventoryAction::Refresh { all_regions } => self.send(Command::RefreshInventory {
                profile,
                all_regions,
            }),
        }
    }

    fn details_panel_ui(&mut self, ui: &mut egui::Ui) {
        let Some(selection) = self.inventory.selected().cloned() else {
            return;
        };
        let region = match &selection {
            Selection::Instance(region, _)
            | Selection::Cluster(region, _)
            | Selection::Proxy(region, _)
            | Selection::SsmTarget(region, _) => region,
        };
        let Some(inventory) = self.inventory.region(region) else {
            return;
        };
        if details_ui(ui, &selection, inventory) {
            let resource = match &selection {
                Selection::Instance(_, id) => ResourceRef::Instance(id.clone()),
                Selection::Cluster(_, id) => ResourceRef::Cluster(id.clone()),
                Selection::Proxy(_, name) => ResourceRef::Proxy(name.clone()),
                Selection::SsmTarget(..) => return,
            };
            let profile = self.inventory.profile().unwrap_or_default().to_owned();
            let inventory = inventory.clone();
            if !self.connections.open_for_resource(
                &profile,
                &inventory,
                &resource,
                &self.settings.production,
            ) {
                self.set_status(
                    "This resource has no endpoint yet; refresh when it is available",
                    true,
                );
            }
        }
    }

    fn on_settings(&mut self, ctx: &egui::Context, action: SettingsAction) {
        match action {
            SettingsAction::Save(settings) => {
                theme::apply(ctx, settings.theme);
                self.settings = settings.clone();
                self.send(Command::SaveSettings(settings));
            }
            SettingsAction::PickCaFile => self.send(Command::PickCaFile),
            SettingsAction::UpdateCaBundle => self.send(Command::UpdateCaBundle(None)),
        }
    }

    fn top_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("RDS Explorer");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("Settings")
                    .on_hover_text("Settings (Ctrl+,)")
                    .clicked()
                {
                    self.settings_window.open(&self.settings);
                }
            });
        });
        if let Some(index) = banner_ui(ui, &self.problems) {
            self.problems.remove(index);
        }
    }

    fn status_bar_ui(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let text = egui::RichText::new(&self.status.text);
            ui.label(if self.status.is_error {
                text.color(ui.visuals().error_fg_color)
            } else {
                text
            });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.weak(format!("v{}", crate::VERSION));
                let running = self.jobs.running();
                if running > 0 {
                    ui.label(format!("{running} job(s) running"));
                    ui.spinner();
                }
            });
        });
    }

    fn bottom_ui(&mut self, ui: &mut egui::Ui) -> Option<JobsAction> {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.bottom_tab, BottomTab::Jobs, "Jobs");
            ui.selectable_value(&mut self.bottom_tab, BottomTab::Log, "Log");
            ui.selectable_value(&mut self.bottom_tab, BottomTab::History, "History");
            let tunnels = match self.tunnels.len() {
                0 => "Tunnels".to_owned(),
                count => format!("Tunnels ({count})"),
            };
            ui.selectable_value(&mut self.bottom_tab, BottomTab::Tunnels, tunnels);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.weak(format!("Files: {}", self.paths.config_dir.display()));
            });
        });
        ui.separator();
        match self.bottom_tab {
            BottomTab::Jobs => self.jobs.ui(ui),
            BottomTab::Log => {
                self.log.ui(ui);
                None
            }
            BottomTab::History => {
                if let Some(action) = self.history.ui(ui) {
                    self.on_history(action);
                }
                None
            }
            BottomTab::Tunnels => {
                self.tunnels.ui(ui);
                None
            }
        }
    }
}

/// How long closing the window waits for tunnels to terminate their sessions.
const EXIT_WAIT: Duration = Duration::from_secs(2);

impl eframe::App for ExplorerApp {
    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if !self.backend.shut_down(EXIT_WAIT) {
            tracing::warn!(
                "tunnels still closing at exit; the next start terminates their sessions"
            );
        }
    }

    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        let deadline = Instant::now() + EVENT_BUDGET;
        while let Some(event) = self.backend.try_recv() {
            self.apply(event);
            if Instant::now() >= deadline {
                // More may be waiting: draw this frame, continue in the next.
                ctx.request_repaint();
                break;
            }
        }
        if let Some(buffers) = self.tabs.take_autosave() {
            self.send(Command::SaveEditorBuffers(buffers));
        } else if self.tabs.autosave_pending() {
            ctx.request_repaint_after(Duration::from_millis(500));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        if let Some(probe) = &self.probe {
            probe.on_frame(&ctx, self.inventory.load_state());
        }
        self.shortcuts(&ctx);

        egui::Panel::top("top_bar").show(ui, |ui| self.top_bar_ui(ui));
        egui::Panel::bottom("status_bar").show(ui, |ui| self.status_bar_ui(ui));
        let jobs_action = egui::Panel::bottom("bottom_panel")
            .resizable(true)
            .default_size(180.0)
            .show(ui, |ui| self.bottom_ui(ui))
            .inner;
        let (profiles_action, inventory_action) = egui::Panel::left("profiles_panel")
            .resizable(true)
            .default_size(320.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .show(ui, |ui| {
                        let profiles_action = self.profiles.ui(ui);
                        ui.add_space(6.0);
                        self.connections.list_ui(ui);
                        ui.add_space(6.0);
                        let inventory_action = self.inventory.ui(ui, &self.settings.production);
                        (profiles_action, inventory_action)
                    })
                    .inner
            })
            .inner;
        if self.inventory.selected().is_some() {
            egui::Panel::right("details_panel")
                .resizable(true)
                .default_size(360.0)
                .show(ui, |ui| self.details_panel_ui(ui));
        }
        let tabs_action = egui::CentralPanel::default()
            .show(ui, |ui| self.tabs.ui(ui))
            .inner;
        let settings_action = self.settings_window.show(&ctx);
        if let Some(command) = self.connections.show(&ctx) {
            self.send(command);
        }
        if let Some(url) = self.open_url.take() {
            ctx.open_url(egui::OpenUrl::new_tab(url));
        }
        let sign_in_action = self
            .sign_in
            .as_ref()
            .and_then(|prompt| sign_in_window(&ctx, prompt));
        if let Some(SignInAction::Cancel(job)) = sign_in_action {
            self.sign_in = None;
            self.send(Command::CancelJob(job));
        }

        if let Some(JobsAction::Cancel(id)) = jobs_action {
            self.send(Command::CancelJob(id));
        }
        if let Some(action) = profiles_action {
            self.on_profiles(&action);
        }
        if let Some(action) = inventory_action {
            self.on_inventory(action);
        }
        if let Some(action) = tabs_action {
            self.on_tabs(action);
        }
        if let Some(action) = settings_action {
            self.on_settings(&ctx, action);
        }
    }
}
