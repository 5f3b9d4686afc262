//! The History panel: every run, newest first, searchable (full-text, in the backend); a past
//! query opens into a new editor tab.

use egui::RichText;

use crate::store::{HistoryEntry, HistoryStatus};

/// What the user asked for in the panel.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum HistoryAction {
    /// Search again with this text.
    Search(String),
    /// Open this SQL in a new tab.
    Open(String),
}

/// The panel's state.
#[derive(Default)]
pub struct HistoryPanel {
    search: String,
    entries: Vec<HistoryEntry>,
    /// Whether the list was asked for since start.
    loaded: bool,
}

impl HistoryPanel {
    /// Search results for `text` arrived.
    pub fn set_found(&mut self, text: &str, entries: Vec<HistoryEntry>) {
        if text == self.search {
            self.entries = entries;
        }
    }

    /// A new run was recorded: shown at once when no search narrows the list.
    pub fn recorded(&mut self, entry: HistoryEntry) {
        if self.search.trim().is_empty() {
            self.entries.insert(0, entry);
        }
    }

    /// Draws the panel.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<HistoryAction> {
        let mut action = None;
        if !self.loaded {
            self.loaded = true;
            action = Some(HistoryAction::Search(String::new()));
        }
        ui.horizontal(|ui| {
            let label = ui.label("Search history");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .id_salt("history_search")
                        .hint_text("words of the SQL or the connection name"),
                )
                .labelled_by(label.id);
            if field.changed() {
                action = Some(HistoryAction::Search(self.search.clone()));
            }
        });
        egui::ScrollArea::vertical()
            .id_salt("history_list")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if self.entries.is_empty() {
                    ui.weak("No runs found");
                }
                for entry in &self.entries {
                    ui.horizontal(|ui| {
                        let open = ui
                            .small_button("Open")
                            .on_hover_text("Open this query in a new tab");
                        if open.clicked() {
                            action = Some(HistoryAction::Open(entry.sql.clone()));
                        }
                        let status = RichText::new(entry.status.as_str());
                        ui.label(if entry.status == HistoryStatus::Failed {
                            status.color(ui.visuals().error_fg_color)
                        } else {
                            status
                        });
                        ui.weak(format!(
                            "{} · {} rows · {} ms · {}",
                            entry.connection,
                            entry.rows,
                            entry.duration_millis,
                            format_started(entry.started_at_millis)
                        ));
                        let first_line = entry.sql.lines().next().unwrap_or_default();
                        ui.add(egui::Label::new(RichText::new(first_line).monospace()).truncate())
                            .on_hover_text(&entry.sql);
                    });
                }
            });
        action
    }
}

/// `2026-08-01 14:03:12` in local time when known, else UTC.
fn format_started(millis: i64) -> String {
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(millis / 1000) else {
        return String::new();
    };
    let at = time::UtcOffset::current_local_offset().map_or(at, |offset| at.to_offset(offset));
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    at.format(&format).unwrap_or_default()
}
