//! Everything that touches the disk: settings (TOML, written atomically), the SQLite database
//! (history and caches, with migrations), and the platform paths they live in.
//!
//! A corrupt or unreadable file never stops the app: it starts with defaults, keeps the bad file
//! aside as `*.broken-<timestamp>` and reports a [`StartupProblem`] for the log and a banner.

mod aside;
mod atomic;
mod connections;
mod database;
mod history;
mod paths;
mod settings;
mod tunnels;

pub use aside::StartupProblem;
pub use atomic::write_atomic;
pub use connections::{
    AuthMode, ConnectionsError, Route, SavedConnection, load_connections, save_connections,
    upsert as upsert_connection,
};
pub use database::{CacheEntry, Database, DatabaseError};
pub use history::{HistoryEntry, HistoryStatus};
pub use paths::{Paths, PathsError};
pub use settings::{
    ProductionRules, Settings, SettingsError, ThemeChoice, load_settings, save_settings,
};
pub use tunnels::{
    RecordedSession, TunnelFileError, TunnelPortEntry, load_tunnel_ports, load_tunnel_sessions,
    save_tunnel_ports, save_tunnel_sessions,
};
