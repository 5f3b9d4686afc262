//! The query editor's part of [`ExplorerApp`]: session, query, schema and history events, and
//! turning the editor tabs' actions into backend commands. Kept apart from `app.rs` so the
//! window's other work and the editor's evolve without stepping on each other.

use super::ExplorerApp;
use crate::backend::{Command, Event};
use crate::ui::editor_tabs::TabsAction;
use crate::ui::query::history_panel::HistoryAction;
use crate::ui::query::schema_browser::SchemaAction;
use crate::ui::query::{QueryAction, RunScope};

impl ExplorerApp {
    /// Events of sessions, queries and history.
    pub(super) fn apply_query_event(&mut self, event: Event) {
        match event {
            Event::SessionOpened(info) => {
                self.set_status(format!("Connected to {}", info.title), false);
                self.connections.connected();
                self.tabs.session_opened(info);
            }
            Event::SessionFailed { title, error } => {
                self.set_status(format!("{title}: {error}"), true);
            }
            Event::SessionClosed { id, reason } => {
                self.set_status(format!("Session closed: {reason}"), false);
                self.tabs.session_closed(id);
            }
            Event::QueryStarted { tab, job, .. } => self.tabs.query_started(tab, job),
            Event::QueryUpdate(update) => {
                for request in self.tabs.query_update(&update) {
                    self.send(Command::OrderResult(request));
                }
            }
            Event::QueryRefused { tab, error } => self.tabs.query_refused(tab, error.to_string()),
            Event::ResultOrdered(ordered) => {
                if let Some(request) = self.tabs.result_ordered(&ordered) {
                    self.send(Command::OrderResult(request));
                }
            }
            Event::HistoryRecorded(entry) => self.history.recorded(entry),
            Event::ExportFinished { result, .. } => match result {
                Ok((path, rows)) => {
                    self.set_status(format!("Exported {rows} rows to {}", path.display()), false);
                }
                Err(error) => self.set_status(format!("Export failed: {error}"), true),
            },
            Event::SchemaLoaded { session, tree, .. } => self.tabs.schema.set_tree(session, tree),
            Event::HistoryFound { text, entries } => self.history.set_found(&text, entries),
            _ => {}
        }
    }

    /// Opens a database session with resolved parameters; the selected tab (or a new one) uses
    /// it. For tests and development until the connect dialog sends its own command.
    pub fn open_session(
        &mut self,
        params: crate::db::connect::ConnectParams,
        tls: std::sync::Arc<rustls::ClientConfig>,
        info: crate::backend::SessionInfo,
    ) {
        self.send(Command::OpenSession { params, tls, info });
    }

    pub(super) fn run_selected_tab(&mut self, scope: RunScope) {
        if self.tabs.selected_sql().trim().is_empty() {
            self.set_status("Nothing to run: the editor is empty", false);
            return;
        }
        let Some((tab, Some(session))) = self.tabs.selected_target() else {
            self.set_status(
                "No connection in this tab: pick a database in the inventory and connect first",
                true,
            );
            return;
        };
        let Some(sql) = self.tabs.start_run(scope) else {
            self.set_status(
                "Nothing to run at the cursor: only blanks or comments",
                false,
            );
            return;
        };
        let store = crate::query::StoreOptions {
            memory_cap_bytes: (self.settings.result_memory_cap_mib as usize) << 20,
            spill_dir: None,
        };
        self.send(Command::RunQuery {
            session,
            tab,
            sql,
            store,
        });
    }

    pub(super) fn on_tabs(&mut self, action: TabsAction) {
        match action {
            TabsAction::Run(scope) => self.run_selected_tab(scope),
            TabsAction::Stop => {
                if let Some((_, Some(session))) = self.tabs.selected_target() {
                    self.send(Command::CancelQuery { session });
                }
            }
            TabsAction::Query(QueryAction::Order(request)) => {
                self.send(Command::OrderResult(request));
            }
            TabsAction::Query(QueryAction::Export(format)) => {
                let target = self.tabs.selected_target();
                let sql = self.tabs.sql_for(RunScope::Current);
                match (target, sql) {
                    (Some((tab, Some(session))), Some(sql)) => self.send(Command::ExportQuery {
                        session,
                        tab,
                        sql,
                        format,
                        path: None,
                    }),
                    (Some((_, None)), _) => self.set_status(
                        "No connection in this tab: pick a database in the inventory and connect first",
                        true,
                    ),
                    _ => self.set_status("Nothing to export at the cursor", false),
                }
            }
            TabsAction::Query(QueryAction::Explain { analyze }) => {
                self.run_explain(analyze);
            }
            TabsAction::Query(_) => {}
            TabsAction::Unlock(session) => self.send(Command::UnlockSession(session)),
            TabsAction::Schema(SchemaAction::Load { session, refresh }) => {
                self.send(Command::LoadSchema { session, refresh });
            }
            TabsAction::Schema(SchemaAction::Run(sql)) => {
                let session = self.tabs.selected_target().and_then(|(_, s)| s);
                self.tabs.open_with(sql, session);
                self.run_selected_tab(RunScope::All);
            }
        }
    }

    fn run_explain(&mut self, analyze: bool) {
        let Some((tab, Some(session))) = self.tabs.selected_target() else {
            self.set_status(
                "No connection in this tab: pick a database in the inventory and connect first",
                true,
            );
            return;
        };
        let Some(sql) = self.tabs.start_explain(analyze) else {
            self.set_status("Nothing to explain at the cursor", false);
            return;
        };
        let store = crate::query::StoreOptions::default();
        self.send(Command::RunQuery {
            session,
            tab,
            sql,
            store,
        });
    }

    pub(super) fn on_history(&mut self, action: HistoryAction) {
        match action {
            HistoryAction::Search(text) => self.send(Command::SearchHistory { text }),
            HistoryAction::Open(sql) => {
                let session = self.tabs.selected_target().and_then(|(_, s)| s);
                self.tabs.open_with(sql, session);
            }
        }
    }
}
