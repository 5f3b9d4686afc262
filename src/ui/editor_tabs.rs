//! The central area: query editor tabs. Ctrl+T opens a tab, Ctrl+W closes the current one; each
//! tab holds its SQL, its session (connection name and colour in the title, a read-only badge on
//! production) and its results. Query events from the backend are routed to their tab here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::query::schema_browser::{SchemaAction, SchemaBrowser};
use super::query::{QueryAction, QueryTab, RunScope, query_tab_ui};
use crate::backend::{OrderedRows, QueryUpdate, SessionId, SessionInfo, TabId};
use crate::jobs::JobId;

/// Buffers are autosaved this long after the last edit.
const AUTOSAVE_DELAY: Duration = Duration::from_secs(1);

/// One editor tab.
struct EditorTab {
    /// Stable id for egui state across reorders, and for backend events.
    id: u64,
    title: String,
    session: Option<SessionId>,
    query: QueryTab,
}

/// What the user asked for in the tab area.
#[derive(Clone, Debug)]
#[must_use]
pub enum TabsAction {
    /// Run the current tab's SQL (Run button or Ctrl+Enter).
    Run(RunScope),
    /// Stop the current tab's query.
    Stop,
    /// A query action of a tab.
    Query(QueryAction),
    /// Something asked of the schema browser.
    Schema(SchemaAction),
    /// Allow writes in a read-only (production) session.
    Unlock(SessionId),
}

/// The tab strip and the editor of the selected tab.
pub struct EditorTabs {
    tabs: Vec<EditorTab>,
    selected: usize,
    next_id: u64,
    sessions: HashMap<SessionId, SessionInfo>,
    edited_at: Option<Instant>,
    /// Schema trees and the browser beside the editor.
    pub schema: SchemaBrowser,
    show_schema: bool,
}

impl Default for EditorTabs {
    fn default() -> Self {
        Self::restore(Vec::new())
    }
}

impl EditorTabs {
    /// Tabs holding the autosaved `buffers` (one empty tab when there are none).
    pub fn restore(buffers: Vec<String>) -> Self {
        let mut tabs = Self {
            tabs: Vec::new(),
            selected: 0,
            next_id: 1,
            sessions: HashMap::new(),
            edited_at: None,
            schema: SchemaBrowser::default(),
            show_schema: true,
        };
        for sql in buffers {
            tabs.open_with(sql, None);
        }
        if tabs.tabs.is_empty() {
            tabs.open();
        }
        tabs.selected = 0;
        // Nothing changed yet: no autosave until an edit.
        tabs.edited_at = None;
        tabs
    }

    /// Opens a new empty tab and selects it.
    pub fn open(&mut self) {
        self.open_with(String::new(), None);
    }

    /// Opens a tab with `sql` in `session` and selects it.
    pub fn open_with(&mut self, sql: String, session: Option<SessionId>) {
        let id = self.next_id;
        self.next_id += 1;
        self.tabs.push(EditorTab {
            id,
            title: format!("Query {id}"),
            session,
            query: QueryTab::with_sql(sql),
        });
        self.selected = self.tabs.len() - 1;
        self.edited_at = Some(Instant::now());
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
        self.edited_at = Some(Instant::now());
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
            .map_or("", |tab| tab.query.sql.as_str())
    }

    /// The selected tab's id and session.
    pub fn selected_target(&self) -> Option<(TabId, Option<SessionId>)> {
        self.tabs
            .get(self.selected)
            .map(|tab| (TabId(tab.id), tab.session))
    }

    /// The SQL `scope` means in the selected tab, without starting anything.
    pub fn sql_for(&self, scope: RunScope) -> Option<String> {
        let tab = self.tabs.get(self.selected)?;
        tab.query.sql_to_run(scope).map(|(sql, _)| sql)
    }

    /// The EXPLAIN of the statement at the cursor in the selected tab, marking the tab started.
    pub fn start_explain(&mut self, analyze: bool) -> Option<String> {
        let tab = self.tabs.get_mut(self.selected)?;
        let (sql, offset) = tab.query.sql_to_run(RunScope::Current)?;
        let explain = crate::query::explain::explain_sql(&sql, analyze);
        tab.query.started(offset);
        // Error positions count from the start of the EXPLAIN text.
        tab.query.explain_prefix = explain.len() - sql.trim().trim_end_matches(';').len();
        Some(explain)
    }

    /// The SQL to run in the selected tab for `scope`, marking the tab as started.
    pub fn start_run(&mut self, scope: RunScope) -> Option<String> {
        let tab = self.tabs.get_mut(self.selected)?;
        let (sql, offset) = tab.query.sql_to_run(scope)?;
        tab.query.started(offset);
        Some(sql)
    }

    /// A session opened: the selected tab takes it when it has none, else a new tab does. For a
    /// session already known, only its info is replaced.
    pub fn session_opened(&mut self, info: SessionInfo) {
        let id = info.id;
        if self.sessions.insert(id, info).is_some() {
            // Known already: new facts about it (unlocked, renamed), same tabs.
            return;
        }
        let takes_it = self
            .tabs
            .get(self.selected)
            .is_some_and(|tab| tab.session.is_none());
        if takes_it {
            self.tabs[self.selected].session = Some(id);
        } else {
            self.open_with(String::new(), Some(id));
        }
    }

    /// A session closed: its tabs keep their SQL and results but have no session.
    pub fn session_closed(&mut self, id: SessionId) {
        self.sessions.remove(&id);
        self.schema.forget(id);
        for tab in &mut self.tabs {
            if tab.session == Some(id) {
                tab.session = None;
                tab.query.running = None;
            }
        }
    }

    fn tab_mut(&mut self, id: TabId) -> Option<&mut QueryTab> {
        self.tabs
            .iter_mut()
            .find(|tab| tab.id == id.0)
            .map(|tab| &mut tab.query)
    }

    /// The backend started a query job for `tab`.
    pub fn query_started(&mut self, tab: TabId, job: JobId) {
        if let Some(query) = self.tab_mut(tab) {
            query.set_job(job);
        }
    }

    /// Rows and statements of a running query; returns the order requests of results that
    /// were sorted or filtered before all their rows had arrived.
    pub fn query_update(&mut self, update: &QueryUpdate) -> Vec<crate::backend::OrderRequest> {
        let Some(query) = self.tab_mut(update.tab) else {
            return Vec::new();
        };
        query
            .apply_update(update)
            .into_iter()
            .filter_map(|index| query.order_request(update.tab, index))
            .collect()
    }

    /// A query could not start or stop.
    pub fn query_refused(&mut self, tab: TabId, text: String) {
        if let Some(query) = self.tab_mut(tab) {
            query.running = None;
            query.status.clear();
            query.error = Some(super::query::RunError { text, offset: None });
        }
    }

    /// A job ended: a tab whose query it was stops waiting for it.
    pub fn job_finished(&mut self, job: JobId) {
        for tab in &mut self.tabs {
            tab.query.job_finished(job);
        }
    }

    /// Sorted/filtered rows arrived; returns a new request when they are already stale.
    pub fn result_ordered(
        &mut self,
        ordered: &OrderedRows,
    ) -> Option<crate::backend::OrderRequest> {
        let query = self.tab_mut(ordered.tab)?;
        if query.apply_ordered(ordered) {
            return query.order_request(ordered.tab, ordered.result);
        }
        None
    }

    /// The buffers to autosave when edits have settled, once.
    pub fn take_autosave(&mut self) -> Option<Vec<String>> {
        let edited_at = self.edited_at?;
        if edited_at.elapsed() < AUTOSAVE_DELAY {
            return None;
        }
        self.edited_at = None;
        Some(self.tabs.iter().map(|tab| tab.query.sql.clone()).collect())
    }

    /// Whether an autosave is pending (the app asks for a repaint to do it).
    pub fn autosave_pending(&self) -> bool {
        self.edited_at.is_some()
    }

    fn tab_title(&self, tab: &EditorTab) -> String {
        match tab.session.and_then(|id| self.sessions.get(&id)) {
            Some(info) => format!("{} · {}", info.title, tab.title),
            None => tab.title.clone(),
        }
    }

    /// Draws the tab strip and the selected editor.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<TabsAction> {
        let mut close = None;
        let mut unlock = None;
        ui.horizontal_wrapped(|ui| {
            for index in 0..self.tabs.len() {
                let tab = &self.tabs[index];
                let title = self.tab_title(tab);
                let info = tab.session.and_then(|id| self.sessions.get(&id));
                if let Some([r, g, b]) = info.and_then(|info| info.color) {
                    let (rect, _) =
                        ui.allocate_exact_size(egui::vec2(4.0, 18.0), egui::Sense::hover());
                    ui.painter()
                        .rect_filled(rect, 1.0, egui::Color32::from_rgb(r, g, b));
                }
                if ui
                    .selectable_label(index == self.selected, &title)
                    .clicked()
                {
                    self.selected = index;
                }
                if info.is_some_and(|info| info.read_only) {
                    ui.label(
                        egui::RichText::new("READ-ONLY")
                            .small()
                            .color(ui.visuals().warn_fg_color),
                    )
                    .on_hover_text("Production: transactions are read-only in this session");
                    if ui
                        .small_button("Unlock")
                        .on_hover_text("Allow writes in this session (until it closes)")
                        .clicked()
                    {
                        unlock = tab.session;
                    }
                }
                let close_button = ui.small_button("x").on_hover_text("Close tab (Ctrl+W)");
                let label = format!("Close {title}");
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
            ui.toggle_value(&mut self.show_schema, "Schema")
                .on_hover_text("Show the schema browser of this tab's connection");
        });
        if let Some(index) = close {
            self.close(index);
        }
        let session = self.tabs.get(self.selected).and_then(|tab| tab.session);
        // The connection's colour across the whole editor: hard to miss which database this is.
        match session
            .and_then(|id| self.sessions.get(&id))
            .and_then(|info| info.color)
        {
            Some([r, g, b]) => {
                let (rect, _) = ui.allocate_exact_size(
                    egui::vec2(ui.available_width(), 4.0),
                    egui::Sense::hover(),
                );
                ui.painter()
                    .rect_filled(rect, 0.0, egui::Color32::from_rgb(r, g, b));
            }
            None => {
                ui.separator();
            }
        }
        if let Some(id) = unlock {
            return Some(TabsAction::Unlock(id));
        }
        let mut schema_action = None;
        if self.show_schema && session.is_some() {
            schema_action = egui::Panel::right("schema_browser")
                .resizable(true)
                .default_size(260.0)
                .show(ui, |ui| self.schema.ui(ui, session))
                .inner;
        }
        let tree = session.and_then(|s| self.schema.tree(s).cloned());
        let names = move |word: &str| {
            tree.as_ref()
                .map_or_else(Vec::new, |t| t.completions(word, 8))
        };
        let tab = self.tabs.get_mut(self.selected)?;
        let before = tab.query.sql.clone();
        let action = query_tab_ui(ui, TabId(tab.id), &mut tab.query, &names);
        if let Some(schema_action) = schema_action {
            return Some(TabsAction::Schema(schema_action));
        }
        if before != tab.query.sql {
            self.edited_at = Some(Instant::now());
        }
        match action {
            Some(QueryAction::Run(scope)) => Some(TabsAction::Run(scope)),
            Some(QueryAction::Stop) => Some(TabsAction::Stop),
            Some(action) => Some(TabsAction::Query(action)),
            None => None,
        }
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

    #[test]
    fn autosaved_buffers_come_back_as_tabs() {
        let mut tabs = EditorTabs::restore(vec!["select 1".into(), "select 2".into()]);
        assert_eq!(tabs.titles(), ["Query 1", "Query 2"]);
        assert_eq!(tabs.selected_sql(), "select 1");
        tabs.edited_at = std::time::Instant::now().checked_sub(super::AUTOSAVE_DELAY);
        assert_eq!(
            tabs.take_autosave(),
            Some(vec!["select 1".to_owned(), "select 2".to_owned()])
        );
        assert_eq!(tabs.take_autosave(), None);
    }

    #[test]
    fn a_new_session_binds_a_tab_and_an_update_only_changes_its_info() {
        let info = |read_only| crate::backend::SessionInfo {
            id: crate::backend::SessionId(3),
            title: "prod".into(),
            color: None,
            read_only,
            production: true,
            database: "app".into(),
            user: "app".into(),
            endpoint: "db:5432".into(),
        };
        let mut tabs = EditorTabs::default();
        tabs.session_opened(info(true));
        assert_eq!(tabs.titles(), ["Query 1"]);
        assert_eq!(
            tabs.selected_target().unwrap().1,
            Some(crate::backend::SessionId(3))
        );
        tabs.session_opened(info(false));
        assert_eq!(tabs.titles(), ["Query 1"], "no new tab");
        assert!(!tabs.sessions[&crate::backend::SessionId(3)].read_only);
    }
}
