//! The central area: query editor tabs. Ctrl+T opens a tab, Ctrl+W closes the current one; each
//! tab holds its SQL (and, from P1·5, its connection and results).

/// One editor tab.
struct EditorTab {
    /// Stable id for egui state across reorders.
    id: u64,
    title: String,
    sql: String,
}

/// What the user asked for in the tab area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum TabsAction {
    /// Run the current tab's SQL (Ctrl+Enter or the Run button).
    Run,
}

/// The tab strip and the editor of the selected tab.
pub struct EditorTabs {
    tabs: Vec<EditorTab>,
    selected: usize,
    next_id: u64,
}

impl Default for EditorTabs {
    fn default() -> Self {
        let mut tabs = Self {
            tabs: Vec::new(),
            selected: 0,
            next_id: 1,
        };
        tabs.open();
        tabs
    }
}

impl EditorTabs {
    /// Opens a new empty tab and selects it.
    pub fn open(&mut self) {
        let id = self.next_id;
        self.next_id += 1;
        self.tabs.push(EditorTab {
            id,
            title: format!("Query {id}"),
            sql: String::new(),
        });
        self.selected = self.tabs.len() - 1;
    }

    /// Closes the tab at `index`. The last tab is replaced by a fresh one, so there is always one.
    pub fn close(&mut self, index: usize) {
        if index >= self.tabs.len() {
            return;
        }
        self.tabs.remove(index);
        if self.tabs.is_empty() {
            self.open();
        } else if self.selected >= index && self.selected > 0 {
            self.selected -= 1;
        }
    }

    /// Closes the selected tab.
    pub fn close_selected(&mut self) {
        self.close(self.selected);
    }

    /// Titles of all tabs, in order.
    #[cfg(test)]
    fn titles(&self) -> Vec<&str> {
        self.tabs.iter().map(|tab| tab.title.as_str()).collect()
    }

    /// The selected tab's SQL.
    pub fn selected_sql(&self) -> &str {
        self.tabs
            .get(self.selected)
            .map_or("", |tab| tab.sql.as_str())
    }

    /// Draws the tab strip and the selected editor.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<TabsAction> {
        let mut action = None;
        let mut close = None;
        ui.horizontal_wrapped(|ui| {
            for (index, tab) in self.tabs.iter().enumerate() {
                if ui
                    .selectable_label(index == self.selected, &tab.title)
                    .clicked()
                {
                    self.selected = index;
                }
                let close_button = ui.small_button("x").on_hover_text("Close tab (Ctrl+W)");
                let label = format!("Close {}", tab.title);
                close_button
                    .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
                if close_button.clicked() {
                    close = Some(index);
                }
                ui.separator();
            }
            if ui.button("+ New tab").on_hover_text("Ctrl+T").clicked() {
                self.open();
            }
        });
        if let Some(index) = close {
            self.close(index);
        }
        ui.separator();
        ui.horizontal(|ui| {
            if ui.button("Run").on_hover_text("Ctrl+Enter").clicked() {
                action = Some(TabsAction::Run);
            }
        });
        let Some(tab) = self.tabs.get_mut(self.selected) else {
            return action;
        };
        let label = ui.label("SQL editor");
        egui::ScrollArea::vertical()
            .id_salt(("editor", tab.id))
            .show(ui, |ui| {
                ui.add_sized(
                    ui.available_size(),
                    egui::TextEdit::multiline(&mut tab.sql)
                        .id_salt(("sql", tab.id))
                        .code_editor()
                        .hint_text(
                            "-- Write SQL here; Ctrl+Enter runs it in this tab's connection",
                        ),
                )
                .labelled_by(label.id);
            });
        action
    }
}

#[cfg(test)]
mod tests {
    use super::EditorTabs;

    #[test]
    fn there_is_always_one_tab_and_selection_follows_closes() {
        let mut tabs = EditorTabs::default();
        tabs.open();
        tabs.open();
        assert_eq!(tabs.titles(), ["Query 1", "Query 2", "Query 3"]);
        tabs.close(0);
        assert_eq!(tabs.titles(), ["Query 2", "Query 3"]);
        assert_eq!(tabs.selected, 1);
        tabs.close_selected();
        tabs.close_selected();
        assert_eq!(tabs.titles(), ["Query 4"]);
        tabs.close(7);
        assert_eq!(tabs.titles(), ["Query 4"]);
    }
}
