//! The query history in the SQLite file: every run (connection, SQL, start, duration, rows,
//! status), searchable by words of the SQL or the connection name through FTS5. Plain storage:
//! the backend records runs, the History panel lists and searches them.

use rusqlite::params;

use super::database::{Database, DatabaseError};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryStatus {
    /// Every statement ran.
    Succeeded,
    /// A statement failed.
    Failed,
    /// Stopped by the user or a timeout.
    Cancelled,
}

impl HistoryStatus {
    /// The word stored in the database and shown in the panel.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "ok",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "ok" => Self::Succeeded,
            "cancelled" => Self::Cancelled,
            _ => Self::Failed,
        }
    }
}

/// One recorded run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Row id (0 before it is stored).
    pub id: i64,
    /// The connection's name.
    pub connection: String,
    /// The database name.
    pub database: String,
    /// The SQL that ran.
    pub sql: String,
    /// Start, Unix milliseconds.
    pub started_at_millis: i64,
    /// Wall time of the run.
    pub duration_millis: u64,
    /// Rows received (or affected).
    pub rows: u64,
    /// How it ended.
    pub status: HistoryStatus,
}

const COLUMNS: &str = "h.id, h.connection, h.database, h.sql, h.started_at_millis, h.duration_millis, h.rows, h.status";

fn read_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryEntry> {
    let status: String = row.get(7)?;
    Ok(HistoryEntry {
        id: row.get(0)?,
        connection: row.get(1)?,
        database: row.get(2)?,
        sql: row.get(3)?,
        started_at_millis: row.get(4)?,
        duration_millis: u64::try_from(row.get::<_, i64>(5)?).unwrap_or(0),
        rows: u64::try_from(row.get::<_, i64>(6)?).unwrap_or(0),
        status: HistoryStatus::parse(&status),
    })
}

/// An FTS5 query matching every word of `text` as a prefix: `"sel"* AND "orders"*`. Quotes
/// inside words are doubled, so user text never becomes FTS syntax.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    (!words.is_empty()).then(|| words.join(" AND "))
}

impl Database {
    /// Records a run; returns its id.
    pub fn history_add(&self, entry: &HistoryEntry) -> Result<i64, DatabaseError> {
        let connection = self.connection();
        connection
            .execute(
                "INSERT INTO history (connection, database, sql, started_at_millis, duration_millis, rows, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    entry.connection,
                    entry.database,
                    entry.sql,
                    entry.started_at_millis,
                    i64::try_from(entry.duration_millis).unwrap_or(i64::MAX),
                    i64::try_from(entry.rows).unwrap_or(i64::MAX),
                    entry.status.as_str(),
                ],
            )
            .map_err(|source| self.sqlite_error(source))?;
        Ok(connection.last_insert_rowid())
    }

    /// Runs whose SQL or connection name contain every word of `text` (as word prefixes), newest
    /// first; the latest runs when `text` has no words. At most `limit`.
    pub fn history_search(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, DatabaseError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let wrap = |source| self.sqlite_error(source);
        let connection = self.connection();
        let entries = if let Some(query) = fts_query(text) {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM history_fts f JOIN history h ON h.id = f.rowid
                     WHERE history_fts MATCH ?1 ORDER BY h.started_at_millis DESC, h.id DESC LIMIT ?2"
                ))
                .map_err(wrap)?;
            statement
                .query_map(params![query, limit], read_entry)
                .map_err(wrap)?
                .collect::<Result<Vec<_>, _>>()
        } else {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM history h ORDER BY h.started_at_millis DESC, h.id DESC LIMIT ?1"
                ))
                .map_err(wrap)?;
            statement
                .query_map(params![limit], read_entry)
                .map_err(wrap)?
                .collect::<Result<Vec<_>, _>>()
        };
        entries.map_err(wrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(connection: &str, sql: &str, at: i64) -> HistoryEntry {
        HistoryEntry {
            id: 0,
            connection: connection.into(),
            database: "app".into(),
            sql: sql.into(),
            started_at_millis: at,
            duration_millis: 12,
            rows: 3,
            status: HistoryStatus::Succeeded,
        }
    }

    #[test]
    fn search_matches_word_prefixes_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::open(&dir.path().join("db.sqlite3")).unwrap();
        let first = database
            .history_add(&entry("prod-db", "select * from orders", 1))
            .unwrap();
        let second = database
            .history_add(&HistoryEntry {
                status: HistoryStatus::Cancelled,
                ..entry("dev-db", "SELECT count(*) FROM order_items", 2)
            })
            .unwrap();
        database
            .history_add(&entry("dev-db", "vacuum analyze", 3))
            .unwrap();

        let ids = |text: &str| -> Vec<i64> {
            database
                .history_search(text, 10)
                .unwrap()
                .iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(ids("order"), [second, first]);
        assert_eq!(ids("orders"), [first]);
        assert_eq!(ids("dev order"), [second]);
        assert_eq!(ids("  \"; drop"), Vec::<i64>::new());
        assert_eq!(database.history_search("", 2).unwrap().len(), 2);
        let found = database.history_search("count", 10).unwrap();
        assert_eq!(found[0].status, HistoryStatus::Cancelled);
        assert_eq!(found[0].sql, "SELECT count(*) FROM order_items");
    }

    #[test]
    fn user_text_never_becomes_fts_syntax() {
        assert_eq!(
            fts_query("a OR b"),
            Some("\"a\"* AND \"OR\"* AND \"b\"*".into())
        );
        assert_eq!(fts_query("\"*^-:"), None);
    }
}
