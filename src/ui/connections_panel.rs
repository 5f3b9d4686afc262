//! Saved connections in the side panel and the connect dialog: opening the dialog on a saved
//! connection or on a draft from the inventory, and turning the dialog's buttons into backend
//! commands. Keeps `app.rs` to a few calls.

use super::connect_dialog::{ConnectAction, ConnectDialog};
use crate::aws::inventory::draft::{ResourceRef, connection_draft};
use crate::aws::inventory::{RegionInventory, suggest_targets};
use crate::backend::{Command, Event};
use crate::store::{ProductionRules, SavedConnection};

/// The saved connections and the connect dialog.
#[derive(Default)]
pub struct ConnectionsUi {
    saved: Vec<SavedConnection>,
    dialog: ConnectDialog,
}

impl ConnectionsUi {
    /// Handles the connection events; returns any other event untouched.
    pub fn apply(&mut self, event: Event) -> Option<Event> {
        match event {
            Event::ConnectionsLoaded(saved) => self.saved = saved,
            Event::ConnectionTested(result) => self.dialog.set_result(result),
            Event::ConnectFailed(failure) => self.dialog.set_result(Err(failure)),
            other => return Some(other),
        }
        None
    }

    /// A session opened from the dialog: close it.
    pub fn connected(&mut self) {
        self.dialog.close();
    }

    /// Opens the dialog on a draft for `resource` of `inventory`; `false` when the resource has
    /// no endpoint to connect to.
    pub fn open_for_resource(
        &mut self,
        profile: &str,
        inventory: &RegionInventory,
        resource: &ResourceRef,
        rules: &ProductionRules,
    ) -> bool {
        let Some(draft) = connection_draft(profile, inventory, resource, rules) else {
            return false;
        };
        let vpc = match resource {
            ResourceRef::Instance(id) => inventory
                .instances
                .iter()
                .find(|db| &db.id == id)
                .and_then(|db| db.vpc_id.clone()),
            ResourceRef::Cluster(id) => inventory
                .clusters
                .iter()
                .find(|cluster| &cluster.id == id)
                .and_then(|cluster| cluster.vpc_id.clone()),
            ResourceRef::Proxy(name) => inventory
                .proxies
                .iter()
                .find(|proxy| &proxy.name == name)
                .and_then(|proxy| proxy.vpc_id.clone()),
        };
        let targets = suggest_targets(&inventory.ssm_targets, &inventory.region, vpc.as_deref())
            .into_iter()
            .map(|target| target.instance_id.clone())
            .collect();
        // A saved connection for the same resource and user is opened instead of a new draft.
        match self.saved.iter().find(|saved| {
            saved.resource == draft.resource
                && saved.host == draft.host
                && saved.profile == draft.profile
        }) {
            Some(saved) => self.dialog.open(saved.clone(), true, targets),
            None => self.dialog.open(draft, false, targets),
        }
        true
    }

    /// The side panel's list of saved connections; a click opens the dialog on one.
    pub fn list_ui(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new(format!("Saved connections ({})", self.saved.len()))
            .id_salt("saved_connections")
            .default_open(true)
            .show(ui, |ui| {
                if self.saved.is_empty() {
                    ui.weak("Select a database and press Connect… to add one.");
                }
                let mut open = None;
                for connection in &self.saved {
                    ui.horizontal(|ui| {
                        if let Some(color) = connection
                            .color
                            .as_deref()
                            .and_then(|hex| egui::Color32::from_hex(hex).ok())
                        {
                            let (rect, _) =
                                ui.allocate_exact_size(egui::vec2(4.0, 14.0), egui::Sense::hover());
                            ui.painter().rect_filled(rect, 1.0, color);
                        }
                        let text = if connection.production {
                            format!("{} (production)", connection.name)
                        } else {
                            connection.name.clone()
                        };
                        if ui
                            .selectable_label(false, text)
                            .on_hover_text(format!(
                                "{}@{}:{}/{} — {}",
                                connection.user,
                                connection.host,
                                connection.port,
                                connection.database,
                                connection.auth.label()
                            ))
                            .clicked()
                        {
                            open = Some(connection.clone());
                        }
                    });
                }
                if let Some(connection) = open {
                    self.dialog.open(connection, true, Vec::new());
                }
            });
    }

    /// Draws the dialog; returns the command its buttons asked for.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<Command> {
        match self.dialog.show(ctx)? {
            ConnectAction::Test(request) => Some(Command::TestConnection(request)),
            ConnectAction::Connect(request) => Some(Command::Connect(request)),
        }
    }
}
