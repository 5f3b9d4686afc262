//! The SQLite database (one file in the data dir) for history, caches and remembered UI state,
//! with forward-only schema migrations keyed on `PRAGMA user_version`.
//!
//! A file that is not a usable database is kept aside and a fresh one created; a file from a newer
//! RDS Explorer is left alone and the app runs on an in-memory database for that session.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension as _};

use super::aside::{StartupProblem, keep_aside};

/// Schema migrations, applied in order; `user_version` = how many have run. Never edit one that
/// has shipped: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: small remembered state (last profile, window layout choices).
    "CREATE TABLE app_state (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;",
    // 2: cached API results as JSON (inventory per profile and region), shown at start while a
    // refresh runs.
    "CREATE TABLE cache (
        kind TEXT NOT NULL,
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fetched_at_secs INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (kind, scope, key)
    ) STRICT;",
    // 3: query history (src/store/history.rs), searchable through an external-content FTS5
    // index kept in step by triggers.
    "CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        connection TEXT NOT NULL,
        database TEXT NOT NULL,
        sql TEXT NOT NULL,
        started_at_millis INTEGER NOT NULL,
        duration_millis INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        status TEXT NOT NULL
    ) STRICT;
    CREATE INDEX history_started ON history (started_at_millis);
    CREATE VIRTUAL TABLE history_fts USING fts5(
        sql, connection, content='history', content_rowid='id'
    );
    CREATE TRIGGER history_ai AFTER INSERT ON history BEGIN
        INSERT INTO history_fts (rowid, sql, connection) VALUES (new.id, new.sql, new.connection);
    END;
    CREATE TRIGGER history_ad AFTER DELETE ON history BEGIN
        INSERT INTO history_fts (history_fts, rowid, sql, connection)
        VALUES ('delete', old.id, old.sql, old.connection);
    END;",
];

/// One cached entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// The key within its scope (e.g. the region).
    pub key: String,
    /// When the data was fetched, Unix seconds.
    pub fetched_at_secs: i64,
    /// The cached data (JSON).
    pub data: String,
}

/// The database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// SQLite reported an error.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file (`:memory:` for the fallback).
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer RDS Explorer.
    #[error(
        "database {path} has schema version {found}, newer than this RDS Explorer knows ({known})"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The newest version this build knows.
        known: usize,
    },
    /// The data directory could not be created.
    #[error("could not create the data directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// An open, migrated database.
pub struct Database {
    connection: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens (creating and migrating) the database at `path`. On a corrupt file it keeps the file
    /// aside and starts fresh; on anything worse it falls back to memory. Fails only when even an
    /// in-memory database cannot be made.
    pub fn open_or_recover(path: &Path) -> Result<(Self, Option<StartupProblem>), DatabaseError> {
        let error = match Self::open(path) {
            Ok(database) => return Ok((database, None)),
            Err(error) => error,
        };
        let reason = error.to_string();
        let problem = |kept_at, fallback: &str| StartupProblem {
            what: "Database".into(),
            path: path.to_path_buf(),
            reason: reason.clone(),
            kept_at,
            fallback: fallback.into(),
        };
        let recoverable =
            matches!(&error, DatabaseError::Sqlite { source, .. } if is_corrupt(source));
        if recoverable {
            match keep_aside(path) {
                Ok(kept) => {
                    for suffix in ["-wal", "-shm"] {
                        let mut side = path.as_os_str().to_os_string();
                        side.push(suffix);
                        let _ = std::fs::remove_file(PathBuf::from(side));
                    }
                    if let Ok(database) = Self::open(path) {
                        let fallback = "RDS Explorer started with a new, empty database";
                        return Ok((database, Some(problem(Some(kept), fallback))));
                    }
                }
                Err(move_error) => {
                    tracing::warn!(path = %path.display(), %move_error, "could not move the bad database aside");
                }
            }
        }
        let fallback = "history and caches are kept in memory for this session only";
        Ok((Self::in_memory()?, Some(problem(None, fallback))))
    }

    /// Opens and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, DatabaseError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| DatabaseError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let wrap = |source| DatabaseError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let connection = Connection::open(path).map_err(wrap)?;
        let mut database = Self {
            connection,
            path: path.to_path_buf(),
        };
        database.configure().map_err(wrap)?;
        database.migrate()?;
        Ok(database)
    }

    /// A migrated database that lives in memory only.
    pub fn in_memory() -> Result<Self, DatabaseError> {
        let path = PathBuf::from(":memory:");
        let connection = Connection::open_in_memory().map_err(|source| DatabaseError::Sqlite {
            path: path.clone(),
            source,
        })?;
        let mut database = Self { connection, path };
        database.migrate()?;
        Ok(database)
    }

    /// The SQLite connection, for the other tables' modules (history).
    pub(super) fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Wraps a SQLite error with this database's path.
    pub(super) fn sqlite_error(&self, source: rusqlite::Error) -> DatabaseError {
        self.error(source)
    }

    /// The file this database lives in (`:memory:` for the fallback).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A remembered value (e.g. `last_profile`).
    pub fn state(&self, key: &str) -> Result<Option<String>, DatabaseError> {
        self.connection
            .query_row("SELECT value FROM app_state WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|source| self.error(source))
    }

    /// Remembers a value.
    pub fn set_state(&self, key: &str, value: &str) -> Result<(), DatabaseError> {
        self.connection
            .execute(
                "INSERT INTO app_state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(drop)
            .map_err(|source| self.error(source))
    }

    /// Stores (replacing) a cache entry: `kind` says what it is (`inventory`), `scope` whose
    /// (the profile), `key` which part (the region).
    pub fn cache_put(
        &self,
        kind: &str,
        scope: &str,
        entry: &CacheEntry,
    ) -> Result<(), DatabaseError> {
        self.connection
            .execute(
                "INSERT INTO cache (kind, scope, key, fetched_at_secs, data) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(kind, scope, key) DO UPDATE SET fetched_at_secs = excluded.fetched_at_secs, data = excluded.data",
                rusqlite::params![kind, scope, entry.key, entry.fetched_at_secs, entry.data],
            )
            .map(drop)
            .map_err(|source| self.error(source))
    }

    /// All cache entries of a kind and scope, sorted by key.
    pub fn cache_get(&self, kind: &str, scope: &str) -> Result<Vec<CacheEntry>, DatabaseError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT key, fetched_at_secs, data FROM cache WHERE kind = ?1 AND scope = ?2 ORDER BY key")
            .map_err(|source| self.error(source))?;
        let rows = statement
            .query_map([kind, scope], |row| {
                Ok(CacheEntry {
                    key: row.get(0)?,
                    fetched_at_secs: row.get(1)?,
                    data: row.get(2)?,
                })
            })
            .map_err(|source| self.error(source))?;
        rows.collect::<Result<_, _>>()
            .map_err(|source| self.error(source))
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, DatabaseError> {
        self.connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|source| self.error(source))
    }

    fn configure(&self) -> rusqlite::Result<()> {
        // Reading the schema first makes a file that is not a database fail here, not later.
        self.connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| {
                row.get::<_, i64>(0)
            })?;
        self.connection.pragma_update(None, "journal_mode", "WAL")?;
        self.connection
            .pragma_update(None, "synchronous", "NORMAL")?;
        self.connection.pragma_update(None, "foreign_keys", "ON")?;
        self.connection
            .busy_timeout(std::time::Duration::from_secs(5))
    }

    fn migrate(&mut self) -> Result<(), DatabaseError> {
        let found = self.schema_version()?;
        let known = MIGRATIONS.len();
        let applied = usize::try_from(found).unwrap_or(usize::MAX);
        if applied > known {
            return Err(DatabaseError::TooNew {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
            let path = self.path.clone();
            let wrap = |source| DatabaseError::Sqlite {
                path: path.clone(),
                source,
            };
            let transaction = self.connection.transaction().map_err(wrap)?;
            transaction.execute_batch(sql).map_err(wrap)?;
            transaction
                .pragma_update(
                    None,
                    "user_version",
                    i64::try_from(index + 1).unwrap_or(i64::MAX),
                )
                .map_err(wrap)?;
            transaction.commit().map_err(wrap)?;
            tracing::info!(path = %self.path.display(), version = index + 1, "database migrated");
        }
        Ok(())
    }

    fn error(&self, source: rusqlite::Error) -> DatabaseError {
        DatabaseError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

fn is_corrupt(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_remembers_state_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/db.sqlite3");
        {
            let database = Database::open(&path).unwrap();
            assert_eq!(
                database.schema_version().unwrap(),
                i64::try_from(MIGRATIONS.len()).unwrap()
            );
            database.set_state("last_profile", "dev").unwrap();
            database.set_state("last_profile", "prod").unwrap();
        }
        let database = Database::open(&path).unwrap();
        assert_eq!(
            database.state("last_profile").unwrap().as_deref(),
            Some("prod")
        );
        assert_eq!(database.state("missing").unwrap(), None);
    }

    #[test]
    fn cache_entries_replace_and_list_by_scope() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::open(&dir.path().join("db.sqlite3")).unwrap();
        let entry = |key: &str, at, data: &str| CacheEntry {
            key: key.into(),
            fetched_at_secs: at,
            data: data.into(),
        };
        database
            .cache_put("inventory", "dev", &entry("us-east-1", 1, "old"))
            .unwrap();
        database
            .cache_put("inventory", "dev", &entry("us-east-1", 2, "new"))
            .unwrap();
        database
            .cache_put("inventory", "dev", &entry("eu-west-1", 3, "eu"))
            .unwrap();
        database
            .cache_put("inventory", "prod", &entry("us-east-1", 4, "other"))
            .unwrap();
        assert_eq!(
            database.cache_get("inventory", "dev").unwrap(),
            [entry("eu-west-1", 3, "eu"), entry("us-east-1", 2, "new")]
        );
        assert!(database.cache_get("inventory", "none").unwrap().is_empty());
    }

    #[test]
    fn corrupt_file_is_kept_aside_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        std::fs::write(&path, vec![b'x'; 8192]).unwrap();
        let (database, problem) = Database::open_or_recover(&path).unwrap();
        let problem = problem.unwrap();
        let kept = problem.kept_at.clone().unwrap();
        assert_eq!(std::fs::read(kept).unwrap(), vec![b'x'; 8192]);
        assert_eq!(database.path(), path);
        database.set_state("k", "v").unwrap();
    }

    #[test]
    fn newer_schema_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 999)
            .unwrap();
        let (database, problem) = Database::open_or_recover(&path).unwrap();
        let problem = problem.unwrap();
        assert_eq!(problem.kept_at, None);
        assert!(problem.reason.contains("newer"), "{problem}");
        assert_eq!(database.path(), Path::new(":memory:"));
        assert!(path.exists());
        database.set_state("k", "v").unwrap();
    }
}
