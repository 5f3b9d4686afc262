//! The schema browser beside the editor: the selected tab's session's schemas → tables / views /
//! materialized views / functions → columns (type, nullability, default), indexes and
//! constraints. "Select first 100 rows" opens and runs a query; "Copy name" copies the quoted,
//! qualified name. Trees come from the backend (cached per connection, refreshable) and also
//! feed the editor's autocomplete.

use std::collections::HashMap;
use std::sync::Arc;

use egui::RichText;

use crate::backend::SessionId;
use crate::db::schema::{RelationInfo, SchemaTree};
use crate::query::copy::quote_ident;

/// What the user asked for in the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum SchemaAction {
    /// Load (from cache, then fresh) or refresh a session's tree.
    Load {
        /// Which session.
        session: SessionId,
        /// Skip the cache.
        refresh: bool,
    },
    /// Open a tab running this query in the session.
    Run(String),
}

/// Trees per session and the browser's state.
#[derive(Default)]
pub struct SchemaBrowser {
    trees: HashMap<SessionId, Arc<SchemaTree>>,
    requested: std::collections::HashSet<SessionId>,
    filter: String,
}

/// `"schema"."name"`, quoting only where needed.
pub fn qualified_name(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

impl SchemaBrowser {
    /// A tree arrived.
    pub fn set_tree(&mut self, session: SessionId, tree: Arc<SchemaTree>) {
        self.trees.insert(session, tree);
    }

    /// A session closed.
    pub fn forget(&mut self, session: SessionId) {
        self.trees.remove(&session);
        self.requested.remove(&session);
    }

    /// The tree of a session, if loaded.
    pub fn tree(&self, session: SessionId) -> Option<&Arc<SchemaTree>> {
        self.trees.get(&session)
    }

    /// Draws the browser for `session`.
    pub fn ui(&mut self, ui: &mut egui::Ui, session: Option<SessionId>) -> Option<SchemaAction> {
        let Some(session) = session else {
            ui.weak("Connect this tab to browse its database");
            return None;
        };
        let mut action = None;
        if self.requested.insert(session) {
            action = Some(SchemaAction::Load {
                session,
                refresh: false,
            });
        }
        ui.horizontal(|ui| {
            ui.strong("Schema");
            if ui.small_button("Refresh").clicked() {
                action = Some(SchemaAction::Load {
                    session,
                    refresh: true,
                });
            }
        });
        let label = ui.label("Find table");
        ui.add(
            egui::TextEdit::singleline(&mut self.filter)
                .id_salt("schema_filter")
                .hint_text("name contains…"),
        )
        .labelled_by(label.id);
        let Some(tree) = self.trees.get(&session).cloned() else {
            ui.spinner();
            return action;
        };
        let filter = self.filter.to_lowercase();
        egui::ScrollArea::vertical()
            .id_salt("schema_tree")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for schema in &tree.schemas {
                    egui::CollapsingHeader::new(&schema.name)
                        .id_salt(("schema", &schema.name))
                        .default_open(schema.name == "public" || !filter.is_empty())
                        .show(ui, |ui| {
                            for group in ["Tables", "Views", "Materialized views"] {
                                let relations: Vec<&RelationInfo> = schema
                                    .relations
                                    .iter()
                                    .filter(|r| r.kind.group_name() == group)
                                    .filter(|r| r.name.to_lowercase().contains(&filter))
                                    .collect();
                                if relations.is_empty() {
                                    continue;
                                }
                                egui::CollapsingHeader::new(format!(
                                    "{group} ({})",
                                    relations.len()
                                ))
                                .id_salt(("group", &schema.name, group))
                                .default_open(true)
                                .show(ui, |ui| {
                                    for relation in relations {
                                        if let Some(a) = relation_ui(ui, &schema.name, relation) {
                                            action = Some(a);
                                        }
                                    }
                                });
                            }
                            if !schema.functions.is_empty() && filter.is_empty() {
                                egui::CollapsingHeader::new(format!(
                                    "Functions ({})",
                                    schema.functions.len()
                                ))
                                .id_salt(("functions", &schema.name))
                                .show(ui, |ui| {
                                    for function in &schema.functions {
                                        ui.label(
                                            RichText::new(format!(
                                                "{}({}) -> {}",
                                                function.name, function.arguments, function.result
                                            ))
                                            .monospace(),
                                        );
                                    }
                                });
                            }
                        });
                }
            });
        action
    }
}

fn relation_ui(ui: &mut egui::Ui, schema: &str, relation: &RelationInfo) -> Option<SchemaAction> {
    let mut action = None;
    let name = qualified_name(schema, &relation.name);
    let header = egui::CollapsingHeader::new(&relation.name)
        .id_salt(("relation", schema, &relation.name))
        .show(ui, |ui| {
            for column in &relation.columns {
                let mut text = format!("{}  {}", column.name, column.type_name);
                if column.not_null {
                    text.push_str("  not null");
                }
                if let Some(default) = &column.default {
                    text.push_str("  default ");
                    text.push_str(default);
                }
                ui.label(RichText::new(text).monospace());
            }
            for (title, list) in [
                ("Indexes", &relation.indexes),
                ("Constraints", &relation.constraints),
            ] {
                if list.is_empty() {
                    continue;
                }
                ui.weak(title);
                for definition in list {
                    ui.label(RichText::new(&definition.name).monospace())
                        .on_hover_text(&definition.definition);
                }
            }
        });
    header.header_response.context_menu(|ui| {
        if ui.button("Select first 100 rows").clicked() {
            action = Some(SchemaAction::Run(format!(
                "SELECT * FROM {name} LIMIT 100;"
            )));
            ui.close();
        }
        if ui.button("Copy name").clicked() {
            ui.ctx().copy_text(name.clone());
            ui.close();
        }
    });
    action
}
