//! The schema of a PostgreSQL database as the schema browser and autocomplete see it: schemas →
//! tables, views, materialized views, foreign and partitioned tables (columns with type,
//! nullability and default; indexes; constraints) and functions. Read from the catalogs in four
//! queries; serializable so the backend can cache it per connection in the SQLite file.
//! System schemas (`pg_catalog`, `information_schema`, `pg_toast*`, `pg_temp*`) are left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What kind of relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelationKind {
    /// `r`.
    Table,
    /// `p`.
    PartitionedTable,
    /// `v`.
    View,
    /// `m`.
    MaterializedView,
    /// `f`.
    ForeignTable,
}

impl RelationKind {
    fn from_relkind(relkind: &str) -> Option<Self> {
        Some(match relkind {
            "r" => Self::Table,
            "p" => Self::PartitionedTable,
            "v" => Self::View,
            "m" => Self::MaterializedView,
            "f" => Self::ForeignTable,
            _ => return None,
        })
    }

    /// The group it is listed under.
    pub fn group_name(self) -> &'static str {
        match self {
            Self::Table | Self::PartitionedTable | Self::ForeignTable => "Tables",
            Self::View => "Views",
            Self::MaterializedView => "Materialized views",
        }
    }
}

/// One column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Name.
    pub name: String,
    /// Type as `format_type` prints it (`character varying(20)`).
    pub type_name: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default expression.
    pub default: Option<String>,
}

/// A named definition (index or constraint).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Definition {
    /// Name.
    pub name: String,
    /// `CREATE INDEX …` or `PRIMARY KEY (id)`.
    pub definition: String,
}

/// A table-like relation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationInfo {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: RelationKind,
    /// Columns in order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes, by name.
    pub indexes: Vec<Definition>,
    /// Constraints, by name.
    pub constraints: Vec<Definition>,
}

/// A function or procedure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionInfo {
    /// Name.
    pub name: String,
    /// Identity arguments (`a integer, b text`).
    pub arguments: String,
    /// Result type (empty for procedures).
    pub result: String,
}

/// One schema.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaInfo {
    /// Name.
    pub name: String,
    /// Relations, by name.
    pub relations: Vec<RelationInfo>,
    /// Functions, by name then arguments.
    pub functions: Vec<FunctionInfo>,
}

/// A database's schemas, sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaTree {
    /// The schemas.
    pub schemas: Vec<SchemaInfo>,
}

/// Reading the catalogs failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the database's schema from the catalogs")]
pub struct SchemaError(#[source] pub tokio_postgres::Error);

const USER_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// Reads the schema tree through `client`.
pub async fn load_schema(client: &tokio_postgres::Client) -> Result<SchemaTree, SchemaError> {
    let schemas_sql =
        format!("SELECT n.nspname::text FROM pg_namespace n WHERE {USER_SCHEMAS} ORDER BY 1");
    let columns_sql = format!(
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, a.attname::text, \
         format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_SCHEMAS} \
         ORDER BY 1, 2, a.attnum"
    );
    let indexes_sql = format!(
        "SELECT n.nspname::text, t.relname::text, i.relname::text, pg_get_indexdef(i.oid) \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE {USER_SCHEMAS} ORDER BY 1, 2, 3"
    );
    let constraints_sql = format!(
        "SELECT n.nspname::text, t.relname::text, co.conname::text, pg_get_constraintdef(co.oid) \
         FROM pg_constraint co JOIN pg_class t ON t.oid = co.conrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE {USER_SCHEMAS} ORDER BY 1, 2, 3"
    );
    let functions_sql = format!(
        "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), \
         coalesce(pg_get_function_result(p.oid), '') \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE {USER_SCHEMAS} ORDER BY 1, 2, 3"
    );
    // All five go out at once (pipelined on the session).
    let (schemas, columns, indexes, constraints, functions) = tokio::try_join!(
        client.query(&schemas_sql, &[]),
        client.query(&columns_sql, &[]),
        client.query(&indexes_sql, &[]),
        client.query(&constraints_sql, &[]),
        client.query(&functions_sql, &[]),
    )
    .map_err(SchemaError)?;
    Ok(assemble(
        &schemas,
        &columns,
        &indexes,
        &constraints,
        &functions,
    ))
}

/// Builds the tree from the rows of the five catalog queries.
fn assemble(
    schemas: &[tokio_postgres::Row],
    columns: &[tokio_postgres::Row],
    indexes: &[tokio_postgres::Row],
    constraints: &[tokio_postgres::Row],
    functions: &[tokio_postgres::Row],
) -> SchemaTree {
    let mut tree: BTreeMap<String, SchemaInfo> = schemas
        .iter()
        .map(|row| {
            let name: String = row.get(0);
            (
                name.clone(),
                SchemaInfo {
                    name,
                    ..SchemaInfo::default()
                },
            )
        })
        .collect();
    let mut relations: BTreeMap<(String, String), RelationInfo> = BTreeMap::new();
    for row in columns {
        let (schema, name, relkind): (String, String, String) =
            (row.get(0), row.get(1), row.get(2));
        let Some(kind) = RelationKind::from_relkind(&relkind) else {
            continue;
        };
        let relation = relations
            .entry((schema, name.clone()))
            .or_insert_with(|| RelationInfo {
                name,
                kind,
                columns: Vec::new(),
                indexes: Vec::new(),
                constraints: Vec::new(),
            });
        if let Some(column) = row.get::<_, Option<String>>(3) {
            relation.columns.push(ColumnInfo {
                name: column,
                type_name: row.get::<_, Option<String>>(4).unwrap_or_default(),
                not_null: row.get::<_, Option<bool>>(5).unwrap_or(false),
                default: row.get(6),
            });
        }
    }
    for (rows, is_index) in [(indexes, true), (constraints, false)] {
        for row in rows {
            let key = (row.get::<_, String>(0), row.get::<_, String>(1));
            if let Some(relation) = relations.get_mut(&key) {
                let definition = Definition {
                    name: row.get(2),
                    definition: row.get::<_, Option<String>>(3).unwrap_or_default(),
                };
                if is_index {
                    relation.indexes.push(definition);
                } else {
                    relation.constraints.push(definition);
                }
            }
        }
    }
    for ((schema, _), relation) in relations {
        tree.entry(schema.clone())
            .or_insert_with(|| SchemaInfo {
                name: schema,
                ..SchemaInfo::default()
            })
            .relations
            .push(relation);
    }
    for row in functions {
        let schema: String = row.get(0);
        if let Some(info) = tree.get_mut(&schema) {
            info.functions.push(FunctionInfo {
                name: row.get(1),
                arguments: row.get::<_, Option<String>>(2).unwrap_or_default(),
                result: row.get(3),
            });
        }
    }
    SchemaTree {
        schemas: tree.into_values().collect(),
    }
}

impl SchemaTree {
    /// Names for autocomplete starting with `prefix` (any case): schemas, relations and columns,
    /// deduplicated and sorted, at most `limit`.
    pub fn completions(&self, prefix: &str, limit: usize) -> Vec<String> {
        let prefix = prefix.to_lowercase();
        let mut names = std::collections::BTreeSet::new();
        let mut offer = |name: &str| {
            if name.to_lowercase().starts_with(&prefix) && name.len() > prefix.len() {
                names.insert(name.to_owned());
            }
        };
        for schema in &self.schemas {
            offer(&schema.name);
            for relation in &schema.relations {
                offer(&relation.name);
                for column in &relation.columns {
                    offer(&column.name);
                }
            }
            for function in &schema.functions {
                offer(&function.name);
            }
        }
        names.into_iter().take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_come_from_every_level_once() {
        let tree = SchemaTree {
            schemas: vec![SchemaInfo {
                name: "public".into(),
                relations: vec![RelationInfo {
                    name: "orders".into(),
                    kind: RelationKind::Table,
                    columns: vec![ColumnInfo {
                        name: "order_id".into(),
                        type_name: "integer".into(),
                        not_null: true,
                        default: None,
                    }],
                    indexes: Vec::new(),
                    constraints: Vec::new(),
                }],
                functions: vec![FunctionInfo {
                    name: "order_total".into(),
                    arguments: "integer".into(),
                    result: "numeric".into(),
                }],
            }],
        };
        assert_eq!(
            tree.completions("ORD", 10),
            ["order_id", "order_total", "orders"]
        );
        assert_eq!(tree.completions("pub", 10), ["public"]);
        assert!(tree.completions("orders", 10).is_empty(), "nothing to add");
    }
}
