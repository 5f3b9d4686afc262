//! The left panel: the profile picker with the selected profile's details, problems found in the
//! AWS files, and the empty state that explains how to add a profile. The inventory tree of the
//! selected profile is drawn below it by `inventory_tree`.

use crate::aws::profiles::{Profile, ProfileList};

/// What the user asked for in this panel.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum ProfilesAction {
    /// Read the AWS files again.
    Reload,
    /// A profile was picked.
    Select(String),
}

/// State of the left panel.
#[derive(Default)]
pub struct ProfilesPanel {
    list: Option<ProfileList>,
    loading: bool,
    selected: Option<String>,
    /// The profile remembered from last time, applied once the list arrives.
    wanted: Option<String>,
}

impl ProfilesPanel {
    /// A panel that will select `wanted` once profiles are loaded.
    pub fn new(wanted: Option<String>) -> Self {
        Self {
            wanted,
            ..Self::default()
        }
    }

    /// Profiles are being read.
    pub fn set_loading(&mut self) {
        self.loading = true;
    }

    /// New profiles arrived; keeps the selection if the profile still exists.
    pub fn set_list(&mut self, list: ProfileList) {
        self.loading = false;
        let exists = |name: &String| list.profiles.iter().any(|profile| &profile.name == name);
        self.selected = [
            self.selected.take(),
            self.wanted.take(),
            list.env_profile.clone(),
            Some("default".to_owned()),
        ]
        .into_iter()
        .flatten()
        .find(exists)
        .or_else(|| list.profiles.first().map(|profile| profile.name.clone()));
        self.list = Some(list);
    }

    /// The selected profile's name.
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// Reading failed; the old list (if any) stays.
    pub fn set_failed(&mut self) {
        self.loading = false;
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<ProfilesAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.heading("Profiles");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .add_enabled(!self.loading, egui::Button::new("Reload"))
                    .on_hover_text("Read the AWS files again")
                    .clicked()
                {
                    action = Some(ProfilesAction::Reload);
                }
                if self.loading {
                    ui.spinner();
                }
            });
        });
        ui.separator();
        let Some(list) = &self.list else {
            ui.label("Reading AWS profiles…");
            return action;
        };
        if list.profiles.is_empty() {
            empty_state_ui(ui, list);
        } else if let Some(name) = picker_ui(ui, list, self.selected.as_deref()) {
            self.selected = Some(name.clone());
            action = Some(ProfilesAction::Select(name));
        }
        if let Some(profile) = self
            .selected
            .as_ref()
            .and_then(|name| list.profiles.iter().find(|p| &p.name == name))
        {
            details_ui(ui, profile);
        }
        problems_ui(ui, list);
        action
    }
}

fn picker_ui(ui: &mut egui::Ui, list: &ProfileList, selected: Option<&str>) -> Option<String> {
    let mut picked = None;
    egui::ComboBox::from_label("Profile")
        .selected_text(selected.unwrap_or("(none)"))
        .width(180.0)
        .show_ui(ui, |ui| {
            for profile in &list.profiles {
                let is_selected = selected == Some(profile.name.as_str());
                if ui.selectable_label(is_selected, &profile.name).clicked() && !is_selected {
                    picked = Some(profile.name.clone());
                }
            }
        });
    picked
}

fn details_ui(ui: &mut egui::Ui, profile: &Profile) {
    ui.add_space(4.0);
    egui::Grid::new("profile_details")
        .num_columns(2)
        .spacing([8.0, 2.0])
        .show(ui, |ui| {
            ui.weak("Credentials");
            ui.label(profile.kind.label());
            ui.end_row();
            ui.weak("Region");
            ui.label(profile.region.as_deref().unwrap_or("not set"));
            ui.end_row();
            if let Some(url) = &profile.endpoint_url {
                ui.weak("Endpoint URL");
                ui.label(url);
                ui.end_row();
            }
        });
}

fn empty_state_ui(ui: &mut egui::Ui, list: &ProfileList) {
    ui.add_space(8.0);
    ui.strong("No AWS profiles found");
    ui.add_space(4.0);
    ui.label("RDS Explorer uses the same profiles as the AWS CLI. It looked in:");
    ui.monospace(list.files.config.display().to_string());
    ui.monospace(list.files.credentials.display().to_string());
    ui.add_space(4.0);
    ui.label("To add a profile, run one of these in a terminal, then press Reload:");
    ui.monospace("aws configure sso");
    ui.monospace("aws configure --profile NAME");
    ui.add_space(4.0);
    ui.label("or write a [profile NAME] section in the config file yourself. To use other files, set AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE.");
}

fn problems_ui(ui: &mut egui::Ui, list: &ProfileList) {
    if list.problems.is_empty() {
        return;
    }
    ui.add_space(8.0);
    ui.colored_label(
        ui.visuals().warn_fg_color,
        format!("{} problem(s) in the AWS files", list.problems.len()),
    );
    for problem in &list.problems {
        ui.add(egui::Label::new(egui::RichText::new(problem.to_string()).small()).wrap());
    }
}
