//! The Settings window (Ctrl+,): theme, production tag rules, extra CA file, result memory cap.
//! Edits a draft; Save sends it to the backend, which writes the file; Cancel drops the draft.

use std::path::PathBuf;

use crate::store::{ProductionRules, Settings, ThemeChoice};
use crate::tunnel::supervisor::Via;

/// What the user asked for in the Settings window.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum SettingsAction {
    /// Save and apply these settings.
    Save(Settings),
    /// Open the native file dialog for the CA file.
    PickCaFile,
    /// Download AWS's current RDS CA bundle.
    UpdateCaBundle,
}

/// State of the Settings window.
#[derive(Default)]
pub struct SettingsWindow {
    open: bool,
    draft: Settings,
    tag_keys: String,
    value_patterns: String,
    ca_file: String,
    /// The last save error, shown in the window until the next save.
    error: Option<String>,
}

impl SettingsWindow {
    /// Opens the window on a copy of `current`.
    pub fn open(&mut self, current: &Settings) {
        self.draft = current.clone();
        self.tag_keys = current.production.tag_keys.join(", ");
        self.value_patterns = current.production.value_patterns.join(", ");
        self.ca_file = current
            .extra_ca_file
            .as_ref()
            .map(|path| path.display().to_string())
            .unwrap_or_default();
        self.error = None;
        self.open = true;
    }

    /// The file dialog returned a path.
    pub fn set_ca_file(&mut self, path: &std::path::Path) {
        self.ca_file = path.display().to_string();
    }

    /// Saving failed; show why and keep the window open.
    pub fn set_error(&mut self, error: String) {
        self.error = Some(error);
        self.open = true;
    }

    /// Draws the window if it is open.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<SettingsAction> {
        let mut action = None;
        let mut open = self.open;
        egui::Window::new("Settings")
            .open(&mut open)
            .resizable(false)
            .collapsible(false)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 80.0])
            .show(ctx, |ui| {
                action = self.contents_ui(ui);
            });
        self.open = open && !matches!(action, Some(SettingsAction::Save(_)));
        if self.open && ctx.input(|input| input.key_pressed(egui::Key::Escape)) {
            self.open = false;
        }
        action
    }

    fn contents_ui(&mut self, ui: &mut egui::Ui) -> Option<SettingsAction> {
        let mut action = None;
        egui::Grid::new("settings_grid")
            .num_columns(2)
            .spacing([12.0, 8.0])
            .show(ui, |ui| {
                ui.label("Theme");
                ui.horizontal(|ui| {
                    ui.radio_value(&mut self.draft.theme, ThemeChoice::System, "System");
                    ui.radio_value(&mut self.draft.theme, ThemeChoice::Light, "Light");
                    ui.radio_value(&mut self.draft.theme, ThemeChoice::Dark, "Dark");
                });
                ui.end_row();

                let label = ui.label("Production tag keys");
                ui.text_edit_singleline(&mut self.tag_keys)
                    .labelled_by(label.id)
                    .on_hover_text("Comma-separated tag keys, e.g. env, environment, stage");
                ui.end_row();

                let label = ui.label("Production tag values");
                ui.text_edit_singleline(&mut self.value_patterns)
                    .labelled_by(label.id)
                    .on_hover_text("Comma-separated patterns; * matches anything, e.g. prod*");
                ui.end_row();

                let label = ui.label("Production statement timeout (s)");
                ui.add(
                    egui::DragValue::new(&mut self.draft.production_statement_timeout_secs)
                        .range(1..=86_400),
                )
                .labelled_by(label.id);
                ui.end_row();

                let label = ui.label("Extra CA file");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut self.ca_file)
                            .hint_text("none")
                            .desired_width(260.0),
                    )
                    .labelled_by(label.id);
                    if ui.button("Browse…").clicked() {
                        action = Some(SettingsAction::PickCaFile);
                    }
                    if ui.button("Clear").clicked() {
                        self.ca_file.clear();
                    }
                });
                ui.end_row();

                ui.label("RDS CA bundle");
                ui.horizontal(|ui| {
                    if ui
                        .button("Update CA bundle")
                        .on_hover_text(
                            "Download AWS's current global RDS CA bundle (newer regions, \
                             GovCloud, China) from truststore.pki.rds.amazonaws.com",
                        )
                        .clicked()
                    {
                        action = Some(SettingsAction::UpdateCaBundle);
                    }
                    ui.weak("bundled: 120 certificates");
                });
                ui.end_row();

                let label = ui.label("Result memory cap (MiB)");
                ui.add(
                    egui::DragValue::new(&mut self.draft.result_memory_cap_mib).range(64..=65_536),
                )
                .labelled_by(label.id)
                .on_hover_text("Past this, query results spill to a temporary file");
                ui.end_row();

                ui.label("SSM tunnel client");
                tunnel_client_ui(ui, "settings_tunnel_client", &mut self.draft.tunnel_client);
                ui.end_row();
            });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        ui.separator();
        ui.horizontal(|ui| {
            if ui.button("Save").clicked() {
                action = Some(SettingsAction::Save(self.settings()));
            }
            if ui.button("Cancel").clicked() {
                self.open = false;
            }
        });
        action
    }

    /// The draft with the text fields parsed.
    fn settings(&self) -> Settings {
        let split = |text: &str| {
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let ca_file = self.ca_file.trim();
        Settings {
            production: ProductionRules {
                tag_keys: split(&self.tag_keys),
                value_patterns: split(&self.value_patterns),
            },
            extra_ca_file: (!ca_file.is_empty()).then(|| PathBuf::from(ca_file)),
            ..self.draft.clone()
        }
    }
}

/// Native client or the installed plugin; connections may override it.
pub fn tunnel_client_ui(ui: &mut egui::Ui, id: &str, via: &mut Via) {
    let text = |via: Via| match via {
        Via::Native => "Native (built in)",
        Via::Plugin => "session-manager-plugin",
    };
    egui::ComboBox::new(id, "Tunnel client")
        .selected_text(text(*via))
        .show_ui(ui, |ui| {
            for choice in [Via::Native, Via::Plugin] {
                ui.selectable_value(via, choice, text(choice));
            }
        })
        .response
        .on_hover_text(
            "The native client multiplexes connections over one session and resumes it after a \
             network drop; the plugin is AWS's own, if you must use it",
        );
}
