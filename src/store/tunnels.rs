//! The tunnel supervisor's two small files: the local port remembered for each tunnel key
//! (`tunnels.toml` in the config dir, so a saved connection keeps its port across runs) and the
//! SSM sessions open right now (`tunnel-sessions.toml` in the data dir, so the sessions of a
//! crashed run can be terminated on the next start). Both are TOML written atomically; an
//! unreadable file is kept aside and treated as empty, never an obstacle to opening a tunnel.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::aside::keep_aside;
use super::atomic::write_atomic;

/// One remembered local port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelPortEntry {
    /// AWS profile.
    pub profile: String,
    /// Region of the target.
    pub region: String,
    /// SSM target id.
    pub target: String,
    /// Remote host; empty for a port on the target itself.
    pub remote_host: String,
    /// Remote port.
    pub remote_port: u16,
    /// The port on 127.0.0.1.
    pub local_port: u16,
}

/// An SSM session a tunnel holds open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedSession {
    /// The session id.
    pub session_id: String,
    /// The profile it was started with.
    pub profile: String,
    /// Its region.
    pub region: String,
    /// When it was recorded (Unix seconds).
    pub started_unix_secs: u64,
    /// The process that holds it (the window and the CLI share the file: a session of another
    /// live process is not left behind by a crash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

#[derive(Default, Serialize, Deserialize)]
struct PortsFile {
    #[serde(default)]
    ports: Vec<TunnelPortEntry>,
}

#[derive(Default, Serialize, Deserialize)]
struct SessionsFile {
    #[serde(default)]
    sessions: Vec<RecordedSession>,
}

/// Why a tunnel file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {source}; check that the directory is writable", path = .path.display())]
pub struct TunnelFileError {
    /// The file.
    pub path: std::path::PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

fn load<T: Default + for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return T::default(),
        Err(error) => {
            tracing::warn!("cannot read {}: {error}", path.display());
            return T::default();
        }
    };
    match toml::from_str(&text) {
        Ok(value) => value,
        Err(error) => {
            match keep_aside(path) {
                Ok(kept) => tracing::warn!(
                    "{} could not be used ({error}); kept as {} and started empty",
                    path.display(),
                    kept.display()
                ),
                Err(aside_error) => tracing::warn!(
                    "{} could not be used ({error}) nor moved aside ({aside_error}); started empty",
                    path.display()
                ),
            }
            T::default()
        }
    }
}

fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), TunnelFileError> {
    let text = toml::to_string(value).map_err(|error| TunnelFileError {
        path: path.to_path_buf(),
        source: std::io::Error::other(error),
    })?;
    write_atomic(path, text.as_bytes()).map_err(|source| TunnelFileError {
        path: path.to_path_buf(),
        source,
    })
}

/// The remembered ports in `path` (empty if missing or unreadable).
pub fn load_tunnel_ports(path: &Path) -> Vec<TunnelPortEntry> {
    load::<PortsFile>(path).ports
}

/// Replaces the remembered ports in `path`.
pub fn save_tunnel_ports(path: &Path, ports: &[TunnelPortEntry]) -> Result<(), TunnelFileError> {
    save(
        path,
        &PortsFile {
            ports: ports.to_vec(),
        },
    )
}

/// The recorded sessions in `path` (empty if missing or unreadable).
pub fn load_tunnel_sessions(path: &Path) -> Vec<RecordedSession> {
    load::<SessionsFile>(path).sessions
}

/// Replaces the recorded sessions in `path`.
pub fn save_tunnel_sessions(
    path: &Path,
    sessions: &[RecordedSession],
) -> Result<(), TunnelFileError> {
    save(
        path,
        &SessionsFile {
            sessions: sessions.to_vec(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_sessions_round_trip_and_a_broken_file_reads_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        let ports_path = dir.path().join("config/tunnels.toml");
        assert!(load_tunnel_ports(&ports_path).is_empty());
        let entry = TunnelPortEntry {
            profile: "dev".into(),
            region: "us-east-1".into(),
            target: "i-0abc".into(),
            remote_host: "db.example".into(),
            remote_port: 5432,
            local_port: 15432,
        };
        save_tunnel_ports(&ports_path, std::slice::from_ref(&entry)).unwrap();
        assert_eq!(load_tunnel_ports(&ports_path), [entry]);

        let sessions_path = dir.path().join("data/tunnel-sessions.toml");
        let session = RecordedSession {
            session_id: "s-1".into(),
            profile: "dev".into(),
            region: "us-east-1".into(),
            started_unix_secs: 1_700_000_000,
            pid: Some(4242),
        };
        save_tunnel_sessions(&sessions_path, std::slice::from_ref(&session)).unwrap();
        assert_eq!(load_tunnel_sessions(&sessions_path), [session]);

        std::fs::write(&sessions_path, "sessions = 7").unwrap();
        assert!(load_tunnel_sessions(&sessions_path).is_empty());
    }
}
