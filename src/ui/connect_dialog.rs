//! The connect dialog: a connection draft (pre-filled from the inventory selection or a saved
//! connection) with endpoint, database, user, auth mode, route, colour and read-only flag; Test
//! runs a login and `SELECT version()`; Connect opens a session tab. The typed password only
//! lives here until it is sent; it is never written anywhere but the OS keyring (when asked).

use super::settings_window::tunnel_client_ui;
use crate::backend::ConnectRequest;
use crate::db::diagnose::{CheckStatus, Diagnosis};
use crate::jobs::UserError;
use crate::secret::Secret;
use crate::store::{AuthMode, Route, SavedConnection};
use crate::tunnel::supervisor::Via;

/// What the user asked for.
#[derive(Debug)]
#[must_use]
pub enum ConnectAction {
    /// Log in and out once, reporting the server version.
    Test(ConnectRequest),
    /// Open a session (and save the connection when asked).
    Connect(ConnectRequest),
}

/// What a test or a failed connect found.
enum Outcome {
    Running,
    Ok(String),
    Failed {
        error: UserError,
        diagnosis: Option<Diagnosis>,
    },
}

/// The dialog's state.
#[derive(Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent check boxes of the form"
)]
pub struct ConnectDialog {
    open: bool,
    draft: Option<SavedConnection>,
    /// The saved connection being edited, to replace it on save.
    replacing: Option<String>,
    secret_id: String,
    hostaddr: String,
    target: String,
    password: String,
    save: bool,
    save_password: bool,
    color: egui::Color32,
    has_color: bool,
    /// SSM targets to suggest for a tunnel (same VPC first).
    suggested_targets: Vec<String>,
    outcome: Option<Outcome>,
}

impl ConnectDialog {
    /// Opens the dialog on `draft`. `saved` when it is a saved connection (edits replace it).
    pub fn open(&mut self, draft: SavedConnection, saved: bool, suggested_targets: Vec<String>) {
        self.secret_id = match &draft.auth {
            AuthMode::Secret { secret_id } => secret_id.clone(),
            _ => String::new(),
        };
        self.target = match &draft.route {
            Route::SsmTunnel { target, .. } => target.clone(),
            Route::Direct => String::new(),
        };
        self.hostaddr = draft
            .hostaddr
            .map(|addr| addr.to_string())
            .unwrap_or_default();
        self.has_color = draft.color.is_some();
        self.color = draft
            .color
            .as_deref()
            .and_then(|hex| egui::Color32::from_hex(hex).ok())
            .unwrap_or(egui::Color32::from_rgb(0x30, 0x80, 0xd0));
        self.replacing = saved.then(|| draft.name.clone());
        self.save = true;
        self.save_password = false;
        self.password.clear();
        self.suggested_targets = suggested_targets;
        self.outcome = None;
        self.draft = Some(draft);
        self.open = true;
    }

    /// A test or connect finished: `Ok` with the server's version, or why not.
    pub fn set_result(&mut self, result: Result<String, (UserError, Option<Diagnosis>)>) {
        self.outcome = Some(match result {
            Ok(version) => Outcome::Ok(version),
            Err((error, diagnosis)) => Outcome::Failed { error, diagnosis },
        });
    }

    /// The session opened: the dialog is done.
    pub fn close(&mut self) {
        self.open = false;
        self.password.clear();
    }

    /// Draws the dialog if it is open.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<ConnectAction> {
        if !self.open {
            return None;
        }
        let mut action = None;
        let mut open = self.open;
        let title = self
            .draft
            .as_ref()
            .map_or_else(String::new, |draft| format!("Connect to {}", draft.name));
        egui::Window::new(title)
            .open(&mut open)
            .resizable(false)
            .collapsible(false)
            .anchor(egui::Align2::CENTER_TOP, [0.0, 60.0])
            .show(ctx, |ui| action = self.contents_ui(ui));
        self.open = open;
        if ctx.input(|input| input.key_pressed(egui::Key::Escape)) {
            self.close();
        }
        action
    }

    fn contents_ui(&mut self, ui: &mut egui::Ui) -> Option<ConnectAction> {
        let draft = self.draft.as_mut()?;
        if draft.production {
            ui.colored_label(
                egui::Color32::from_rgb(0xd0, 0x30, 0x30),
                "Production: sessions open read-only with a statement timeout until you unlock them.",
            );
        }
        egui::Grid::new("connect_grid")
            .num_columns(2)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                text_row(ui, "Name", &mut draft.name);
                ui.label("Profile");
                ui.label(draft.profile.as_deref().unwrap_or("(none)"));
                ui.end_row();
                let mut region = draft.region.clone().unwrap_or_default();
                text_row(ui, "Region", &mut region);
                draft.region = (!region.trim().is_empty()).then(|| region.trim().to_owned());
                text_row(ui, "Host", &mut draft.host);
                let label = ui.label("Host address");
                let tunnel = draft.route.is_tunnel();
                let field = ui
                    .add_enabled(
                        !tunnel,
                        egui::TextEdit::singleline(&mut self.hostaddr)
                            .hint_text("optional IP; TLS and tokens still use Host")
                            .desired_width(320.0),
                    )
                    .labelled_by(label.id)
                    .on_disabled_hover_text("The SSM tunnel's 127.0.0.1 port is used instead");
                let parsed = self.hostaddr.trim().parse::<std::net::IpAddr>().ok();
                if parsed.is_none() && !self.hostaddr.trim().is_empty() {
                    field.on_hover_text("Not an IP address: ignored");
                }
                draft.hostaddr = parsed;
                ui.end_row();
                let label = ui.label("Port");
                ui.add(egui::DragValue::new(&mut draft.port).range(1..=65_535))
                    .labelled_by(label.id);
                ui.end_row();
                text_row(ui, "Database", &mut draft.database);
                text_row(ui, "User", &mut draft.user);

                ui.label("Authentication");
                ui.vertical(|ui| {
                    auth_ui(
                        ui,
                        draft,
                        &mut self.secret_id,
                        &mut self.password,
                        &mut self.save_password,
                    );
                });
                ui.end_row();

                ui.label("Route");
                ui.vertical(|ui| route_ui(ui, draft, &mut self.target, &self.suggested_targets));
                ui.end_row();

                ui.label("Colour");
                ui.horizontal(|ui| {
                    ui.checkbox(&mut self.has_color, "Colour bar");
                    if self.has_color {
                        ui.color_edit_button_srgba(&mut self.color);
                    }
                });
                draft.color = self
                    .has_color
                    .then(|| self.color.to_hex().chars().take(7).collect());
                ui.end_row();

                ui.label("Safety");
                ui.add_enabled(
                    !draft.production,
                    egui::Checkbox::new(&mut draft.read_only, "Read-only sessions"),
                );
                ui.end_row();
            });
        ui.checkbox(&mut self.save, "Save this connection");
        self.outcome_ui(ui);
        ui.separator();
        let mut action = None;
        ui.horizontal(|ui| {
            let running = matches!(self.outcome, Some(Outcome::Running));
            if ui
                .add_enabled(!running, egui::Button::new("Test connection"))
                .clicked()
            {
                action = Some(ConnectAction::Test(self.request()));
                self.outcome = Some(Outcome::Running);
            }
            if ui
                .add_enabled(!running, egui::Button::new("Connect"))
                .clicked()
            {
                action = Some(ConnectAction::Connect(self.request()));
                self.outcome = Some(Outcome::Running);
            }
            if ui.button("Cancel").clicked() {
                self.close();
            }
        });
        action
    }

    fn outcome_ui(&self, ui: &mut egui::Ui) {
        match &self.outcome {
            None => {}
            Some(Outcome::Running) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label("Connecting…");
                });
            }
            Some(Outcome::Ok(version)) => {
                ui.colored_label(
                    egui::Color32::from_rgb(0x20, 0xa0, 0x40),
                    format!("Connected: {version}"),
                );
            }
            Some(Outcome::Failed { error, diagnosis }) => {
                ui.colored_label(ui.visuals().error_fg_color, &error.message);
                ui.label(format!("Next: {}", error.next_step));
                if let Some(diagnosis) = diagnosis {
                    diagnosis_ui(ui, diagnosis);
                }
            }
        }
    }

    fn request(&mut self) -> ConnectRequest {
        let password = std::mem::take(&mut self.password);
        ConnectRequest {
            connection: self.draft.clone().unwrap_or_else(empty_connection),
            replacing: self.replacing.clone(),
            save: self.save,
            typed_password: (!password.is_empty()).then(|| Secret::new(password)),
            save_password: self.save_password,
        }
    }
}

fn empty_connection() -> SavedConnection {
    SavedConnection {
        name: String::new(),
        profile: None,
        region: None,
        resource: None,
        host: String::new(),
        port: 5432,
        hostaddr: None,
        database: "postgres".into(),
        user: String::new(),
        auth: AuthMode::Iam,
        route: Route::Direct,
        color: None,
        read_only: false,
        production: false,
    }
}

fn auth_kind(mode: &AuthMode) -> u8 {
    match mode {
        AuthMode::Iam => 0,
        AuthMode::Secret { .. } => 1,
        AuthMode::Password => 2,
    }
}

fn text_row(ui: &mut egui::Ui, label: &str, value: &mut String) {
    let label = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).desired_width(320.0))
        .labelled_by(label.id);
    ui.end_row();
}

/// The IAM checklist: one line per check with its status, detail, next step and SQL.
pub fn diagnosis_ui(ui: &mut egui::Ui, diagnosis: &Diagnosis) {
    ui.separator();
    ui.strong("Diagnosis");
    for check in &diagnosis.checks {
        let (mark, color) = match check.status {
            CheckStatus::Pass => ("✔", egui::Color32::from_rgb(0x20, 0xa0, 0x40)),
            CheckStatus::Fail => ("✖", ui.visuals().error_fg_color),
            CheckStatus::Warn => ("⚠", ui.visuals().warn_fg_color),
            CheckStatus::Skipped => ("–", ui.visuals().weak_text_color()),
        };
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(color, mark);
            ui.strong(&check.name);
            ui.label(&check.detail);
        });
        if let Some(next) = &check.next_step {
            ui.label(format!("    Next: {next}"));
        }
        if let Some(sql) = &check.sql {
            ui.horizontal(|ui| {
                ui.code(sql);
                if ui.small_button("Copy SQL").clicked() {
                    ui.ctx().copy_text(sql.clone());
                }
            });
        }
    }
}

/// The auth mode choice and its fields.
fn auth_ui(
    ui: &mut egui::Ui,
    draft: &mut SavedConnection,
    secret_id: &mut String,
    password: &mut String,
    save_password: &mut bool,
) {
    let mut kind = auth_kind(&draft.auth);
    ui.horizontal(|ui| {
        ui.radio_value(&mut kind, 0, "IAM token");
        ui.radio_value(&mut kind, 1, "Secrets Manager");
        ui.radio_value(&mut kind, 2, "Password");
    });
    match kind {
        1 => {
            ui.add(
                egui::TextEdit::singleline(secret_id)
                    .hint_text("secret ARN or name")
                    .desired_width(320.0),
            );
        }
        2 => {
            ui.add(
                egui::TextEdit::singleline(password)
                    .password(true)
                    .hint_text("from the keyring when empty")
                    .desired_width(320.0),
            );
            ui.checkbox(save_password, "Save password in the OS keyring");
        }
        _ => {}
    }
    draft.auth = match kind {
        1 => AuthMode::Secret {
            secret_id: secret_id.trim().to_owned(),
        },
        2 => AuthMode::Password,
        _ => AuthMode::Iam,
    };
}

/// Direct or through an SSM tunnel via a target (suggestions from the inventory).
fn route_ui(
    ui: &mut egui::Ui,
    draft: &mut SavedConnection,
    target: &mut String,
    suggested: &[String],
) {
    let mut tunnel = matches!(draft.route, Route::SsmTunnel { .. });
    ui.horizontal(|ui| {
        ui.radio_value(&mut tunnel, false, "Direct");
        ui.radio_value(&mut tunnel, true, "SSM tunnel via");
    });
    if tunnel {
        ui.horizontal(|ui| {
            ui.add(
                egui::TextEdit::singleline(target)
                    .hint_text("i-… target")
                    .desired_width(200.0),
            );
            if !suggested.is_empty() {
                egui::ComboBox::new("connect_target", "Suggested targets")
                    .selected_text("choose")
                    .show_ui(ui, |ui| {
                        for choice in suggested {
                            ui.selectable_value(target, choice.clone(), choice);
                        }
                    });
            }
        });
    }
    let (mut local_port, mut client) = match draft.route {
        Route::SsmTunnel {
            local_port, client, ..
        } => (local_port, client),
        Route::Direct => (0, None),
    };
    if tunnel {
        ui.horizontal(|ui| {
            let label = ui.label("Local port");
            ui.add(egui::DragValue::new(&mut local_port).range(0..=65_535))
                .labelled_by(label.id)
                .on_hover_text(
                    "The port on 127.0.0.1; 0 picks a free one once and keeps it for this endpoint",
                );
            let mut own_client = client.is_some();
            ui.checkbox(&mut own_client, "Own tunnel client")
                .on_hover_text("Otherwise the client chosen in Settings");
            if own_client {
                let via = client.get_or_insert_with(Via::default);
                tunnel_client_ui(ui, "connect_tunnel_client", via);
            } else {
                client = None;
            }
        });
    }
    draft.route = if tunnel {
        Route::SsmTunnel {
            target: target.trim().to_owned(),
            local_port,
            client,
        }
    } else {
        Route::Direct
    };
}
