//! Where RDS Explorer keeps its files: the platform config and data directories.
//!
//! `RDS_EXPLORER_HOME` puts everything under one directory instead (portable installs, tests).

use std::path::{Path, PathBuf};

/// Environment variable that puts all of RDS Explorer's files under one directory.
pub const HOME_ENV: &str = "RDS_EXPLORER_HOME";

/// The directories RDS Explorer writes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    /// Settings and saved connections (TOML).
    pub config_dir: PathBuf,
    /// The SQLite database and the logs.
    pub data_dir: PathBuf,
}

/// No home directory could be found to put files in.
#[derive(Debug, thiserror::Error)]
#[error("no home directory found for settings and data; set {HOME_ENV} to a writable directory")]
pub struct PathsError;

impl Paths {
    /// The platform directories (`~/.config/rds-explorer`, `~/.local/share/rds-explorer` on Linux),
    /// or `$RDS_EXPLORER_HOME/{config,data}` when that is set.
    pub fn from_env() -> Result<Self, PathsError> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|value| !value.is_empty()) {
            return Ok(Self::under(Path::new(&home)));
        }
        let dirs = directories::ProjectDirs::from("", "", "rds-explorer").ok_or(PathsError)?;
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    /// Everything under one root directory.
    pub fn under(root: &Path) -> Self {
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
        }
    }

    /// The settings file.
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }

    /// The saved connections (no secrets).
    pub fn connections_file(&self) -> PathBuf {
        self.config_dir.join("connections.toml")
    }

    /// The RDS CA bundle downloaded by "Update CA bundle".
    pub fn downloaded_ca_bundle(&self) -> PathBuf {
        crate::db::ca_update::downloaded_bundle_path(&self.config_dir)
    }

    /// The SQLite database with history and caches.
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("rds-explorer.sqlite3")
    }

    /// The local port remembered for each tunnel.
    pub fn tunnel_ports_file(&self) -> PathBuf {
        self.config_dir.join("tunnels.toml")
    }

    /// The SSM sessions open right now (terminated on the next start after a crash).
    pub fn tunnel_sessions_file(&self) -> PathBuf {
        self.data_dir.join("tunnel-sessions.toml")
    }

    /// The directory of rotating log files.
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
}
