//! Saved connections: what to connect to and how, as TOML in the config dir (`connections.toml`).
//! Never a secret: passwords live in the OS keyring, IAM tokens are signed per connection and
//! Secrets Manager values are fetched when connecting.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::aside::{StartupProblem, keep_aside};
use super::atomic::write_atomic;

/// How a connection authenticates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum AuthMode {
    /// An IAM auth token signed for the endpoint with the profile's credentials.
    #[default]
    Iam,
    /// A Secrets Manager secret holding `username` / `password` JSON (e.g. the RDS-managed master
    /// user secret).
    Secret {
        /// The secret's ARN or name.
        secret_id: String,
    },
    /// A password kept in the OS keyring, or asked for each time when there is none.
    Password,
}

impl AuthMode {
    /// Short label for lists and the CLI.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Iam => "IAM token",
            Self::Secret { .. } => "Secrets Manager",
            Self::Password => "password",
        }
    }
}

/// How the socket reaches the database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Route {
    /// Straight to the endpoint.
    #[default]
    Direct,
    /// Through an SSM port-forwarding session on an instance in the database's VPC.
    SsmTunnel {
        /// The SSM managed instance (`i-…` or `mi-…`).
        target: String,
        /// The local port the tunnel listens on; 0 = the one the supervisor remembers for the
        /// endpoint (picked once, then stable across runs).
        #[serde(default)]
        local_port: u16,
        /// Which client carries the tunnel; `None` = the one chosen in Settings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<crate::tunnel::supervisor::Via>,
    },
}

impl Route {
    /// Whether the socket goes through an SSM tunnel.
    pub fn is_tunnel(&self) -> bool {
        matches!(self, Self::SsmTunnel { .. })
    }
}

/// One saved connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedConnection {
    /// Unique name, shown in lists and tab titles.
    pub name: String,
    /// AWS profile used for tokens, secrets and tunnels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Region of the resource (signing region for IAM tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The inventory resource this came from (instance, cluster or proxy identifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The real endpoint DNS name (TLS name and IAM token host).
    pub host: String,
    /// The endpoint port.
    pub port: u16,
    /// Where the socket goes instead of resolving `host` (libpq's `hostaddr`): an IP address
    /// reachable by VPN or an SSH forward, while TLS and the token still use `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostaddr: Option<std::net::IpAddr>,
    /// Database name.
    pub database: String,
    /// Database user.
    pub user: String,
    /// How to authenticate.
    #[serde(default)]
    pub auth: AuthMode,
    /// How to reach the endpoint.
    #[serde(default)]
    pub route: Route,
    /// Tab and bar colour, `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Open sessions read-only (production resources start that way regardless).
    #[serde(default)]
    pub read_only: bool,
    /// The resource matched the production tag rules when saved.
    #[serde(default)]
    pub production: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ConnectionsFile {
    #[serde(default, rename = "connection")]
    connections: Vec<SavedConnection>,
}

/// Saved connections could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionsError {
    /// Serialising failed (a bug: every field is plain data).
    #[error("could not encode the saved connections")]
    Encode(#[source] toml::ser::Error),
    /// The file could not be written.
    #[error("could not write {path}")]
    Write {
        /// The connections file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Another connection already has that name.
    #[error("a connection named \"{0}\" exists already; choose another name")]
    DuplicateName(String),
}

/// Reads the saved connections. A missing file is an empty list; a corrupt one is kept aside and
/// reported, and the list starts empty.
pub fn load_connections(path: &Path) -> (Vec<SavedConnection>, Option<StartupProblem>) {
    let reason = match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<ConnectionsFile>(&text) {
            Ok(file) => return (file.connections, None),
            Err(error) => error.to_string().trim().replace('\n', " "),
        },
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), None),
        Err(error) => error.to_string(),
    };
    let kept_at = keep_aside(path)
        .inspect_err(|error| {
            tracing::warn!(path = %path.display(), %error, "could not move the bad connections file aside");
        })
        .ok();
    let problem = StartupProblem {
        what: "Saved connections".into(),
        path: path.to_path_buf(),
        reason,
        kept_at,
        fallback: "RDS Explorer started without saved connections".into(),
    };
    (Vec::new(), Some(problem))
}

/// Writes the list atomically.
pub fn save_connections(
    path: &Path,
    connections: &[SavedConnection],
) -> Result<(), ConnectionsError> {
    let file = ConnectionsFile {
        connections: connections.to_vec(),
    };
    let text = toml::to_string_pretty(&file).map_err(ConnectionsError::Encode)?;
    let text = format!("# RDS Explorer saved connections. No secrets are stored here.\n{text}");
    write_atomic(path, text.as_bytes()).map_err(|source| ConnectionsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Adds `connection`, or replaces the one named `replacing` (an edit that may rename it).
pub fn upsert(
    connections: &mut Vec<SavedConnection>,
    replacing: Option<&str>,
    connection: SavedConnection,
) -> Result<(), ConnectionsError> {
    let clash = connections
        .iter()
        .any(|other| other.name == connection.name && Some(other.name.as_str()) != replacing);
    if clash {
        return Err(ConnectionsError::DuplicateName(connection.name));
    }
    match replacing.and_then(|name| connections.iter().position(|c| c.name == name)) {
        Some(index) => connections[index] = connection,
        None => connections.push(connection),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> SavedConnection {
        SavedConnection {
            name: name.to_owned(),
            profile: Some("sandbox".into()),
            region: Some("us-east-1".into()),
            resource: Some("sandboxdb".into()),
            host: "sandboxdb.aaaaaaaaaa.us-east-1.rds.amazonaws.com".into(),
            port: 5432,
            hostaddr: None,
            database: "postgres".into(),
            user: "iam_user".into(),
            auth: AuthMode::Iam,
            route: Route::Direct,
            color: Some("#cc3333".into()),
            read_only: false,
            production: true,
        }
    }

    #[test]
    fn round_trip_with_every_mode_and_route() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connections.toml");
        let mut secret = sample("secret");
        secret.auth = AuthMode::Secret {
            secret_id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1".into(),
        };
        secret.route = Route::SsmTunnel {
            target: "i-0123456789abcdef0".into(),
            local_port: 15432,
            client: Some(crate::tunnel::supervisor::Via::Plugin),
        };
        let mut password = sample("password");
        password.auth = AuthMode::Password;
        let list = vec![sample("iam"), secret, password];
        save_connections(&path, &list).unwrap();
        assert_eq!(load_connections(&path), (list, None));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[[connection]]"), "{text}");
        assert!(text.contains("mode = \"secret\""), "{text}");
    }

    #[test]
    fn missing_file_is_empty_and_a_corrupt_one_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connections.toml");
        assert_eq!(load_connections(&path), (Vec::new(), None));
        std::fs::write(&path, "[[connection]]\nname = 3\n").unwrap();
        let (list, problem) = load_connections(&path);
        assert!(list.is_empty());
        let problem = problem.unwrap();
        assert!(problem.kept_at.unwrap().exists());
        assert!(!path.exists());
    }

    #[test]
    fn names_are_unique_and_edits_may_rename() {
        let mut list = vec![sample("a"), sample("b")];
        assert!(matches!(
            upsert(&mut list, None, sample("a")),
            Err(ConnectionsError::DuplicateName(_))
        ));
        assert!(upsert(&mut list, Some("a"), sample("b")).is_err());
        upsert(&mut list, Some("a"), sample("c")).unwrap();
        upsert(&mut list, None, sample("d")).unwrap();
        let names: Vec<_> = list.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["c", "b", "d"]);
    }
}
