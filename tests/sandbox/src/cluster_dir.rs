//! The temporary directory a [`crate::PgCluster`] lives in, and its cleanup.
//!
//! Owns the directory from the moment it exists: dropping a `ClusterDir` (also halfway through
//! a failed start) stops a running server and deletes the directory, and its guardian does the
//! same if this process dies first. It knows nothing about what the cluster contains besides
//! `data/postmaster.pid`.

use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, anyhow};

use crate::guard::Guardian;
use crate::pg::run_logged;
use crate::user::ServerUser;

/// How long a clean shutdown waits for the guardian to delete the directory.
const GUARDIAN_TIMEOUT: Duration = Duration::from_secs(10);

/// A cluster's temporary directory: `data/` (initdb's), `tls/`, `sock/` and logs.
pub(crate) struct ClusterDir {
    root: PathBuf,
    data_dir: PathBuf,
    pg_bin: PathBuf,
    user: ServerUser,
    guardian: Option<Guardian>,
    shut_down: bool,
}

impl ClusterDir {
    /// Creates an empty directory under the system temp dir, owned by `user`, and starts its
    /// guardian.
    pub(crate) fn create(pg_bin: &Path, user: ServerUser) -> anyhow::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("rds-sandbox-pg.")
            .permissions(Permissions::from_mode(0o700))
            .tempdir()
            .context("creating a temporary directory for PostgreSQL")?
            // From here on our Drop deletes it (TempDir's would not stop a server first).
            .keep();
        let mut dir = Self {
            data_dir: root.join("data"),
            root,
            pg_bin: pg_bin.to_owned(),
            user,
            guardian: None,
            shut_down: false,
        };
        dir.user.chown(&dir.root)?;
        dir.guardian = Some(Guardian::for_pg_cluster(
            &dir.root,
            &dir.data_dir,
            &dir.pg_bin,
            &dir.user,
        )?);
        Ok(dir)
    }

    /// The directory itself.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// `<root>/data`, the Postgres data directory.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where `initdb`, `pg_ctl` and maybe `psql` are.
    pub(crate) fn pg_bin(&self) -> &Path {
        &self.pg_bin
    }

    /// The user that owns the directory and runs the server.
    pub(crate) fn user(&self) -> &ServerUser {
        &self.user
    }

    /// A command for the server tool `name` (from `pg_bin`), run as the server user.
    pub(crate) fn server_command(&self, name: &str) -> Command {
        self.user.command(&self.pg_bin.join(name), &self.root)
    }

    /// Stops the server if it runs: fast shutdown, else immediate.
    pub(crate) fn stop_server_if_running(&self) -> anyhow::Result<()> {
        if !self.data_dir.join("postmaster.pid").exists() {
            return Ok(());
        }
        let log = self.root.join("pg_ctl.log");
        let fast = run_logged(&mut self.pg_ctl_stop("fast", "30"), &log);
        let Err(fast_error) = fast else {
            return Ok(());
        };
        run_logged(&mut self.pg_ctl_stop("immediate", "10"), &log).map_err(|immediate_error| {
            anyhow!(
                "could not stop PostgreSQL in {}: fast shutdown: {fast_error:#}; \
                 immediate shutdown: {immediate_error:#}",
                self.data_dir.display()
            )
        })
    }

    /// Stops the server, lets the guardian delete the directory and makes sure it is gone.
    /// Runs once; later calls do nothing.
    pub(crate) fn shutdown(&mut self) -> anyhow::Result<()> {
        if self.shut_down {
            return Ok(());
        }
        self.shut_down = true;
        let stopped = self.stop_server_if_running();
        let guardian_done = self
            .guardian
            .take()
            .map_or(Ok(()), |guardian| guardian.finish(GUARDIAN_TIMEOUT));
        let removed = match std::fs::remove_dir_all(&self.root) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(anyhow!(err).context(format!("deleting {}", self.root.display())))
            }
            _ => Ok(()),
        };
        stopped.and(guardian_done).and(removed)
    }

    fn pg_ctl_stop(&self, mode: &str, timeout_secs: &str) -> Command {
        let mut command = self.server_command("pg_ctl");
        command
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", mode, "-w", "-t", timeout_secs, "stop"]);
        command
    }
}

impl Drop for ClusterDir {
    fn drop(&mut self) {
        if let Err(err) = self.shutdown() {
            report_cleanup_error(&err);
        }
    }
}

/// `Drop` cannot return an error, and a leaked server or directory must not go unnoticed.
#[expect(
    clippy::print_stderr,
    reason = "Drop has no caller to hand the error to"
)]
fn report_cleanup_error(err: &anyhow::Error) {
    eprintln!("rds-sandbox: cleaning up PostgreSQL failed: {err:#}");
}
