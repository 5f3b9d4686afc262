//! Which OS user the Postgres server runs as, and how to run a command as that user.
//!
//! `initdb` and `postgres` refuse to run as root, so when we are root the server and its tools
//! run as the `postgres` system user (looked up in `/etc/passwd`) and the cluster directory is
//! handed to it with `chown`; otherwise everything runs as the current user.

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

use anyhow::Context as _;

/// The system user the server runs as when we are root.
const SYSTEM_SERVER_USER: &str = "postgres";

/// The OS user that owns the cluster directory and runs `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone)]
pub(crate) enum ServerUser {
    /// We are not root: run everything as ourselves.
    Current,
    /// We are root: switch to this user for every server command.
    Other { name: String, uid: u32, gid: u32 },
}

impl ServerUser {
    /// `Other` (the `postgres` user) when the effective uid is 0, else `Current`.
    pub(crate) fn detect() -> anyhow::Result<Self> {
        // /proc/self is owned by the process's effective uid; this avoids libc (unsafe) calls.
        let euid = std::fs::metadata("/proc/self")
            .context("reading /proc/self to find our uid")?
            .uid();
        if euid != 0 {
            return Ok(Self::Current);
        }
        let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
        let (uid, gid) = passwd_ids(&passwd, SYSTEM_SERVER_USER).with_context(|| {
            format!(
                "running as root but /etc/passwd has no {SYSTEM_SERVER_USER:?} user; \
                 initdb refuses to run as root, so create that user or run as another user"
            )
        })?;
        Ok(Self::Other {
            name: SYSTEM_SERVER_USER.to_owned(),
            uid,
            gid,
        })
    }

    /// A command for `program` that runs as this user, with `cwd` as working directory (the
    /// server user may not be able to enter ours).
    pub(crate) fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(cwd);
        if let Self::Other { uid, gid, .. } = self {
            // std drops the supplementary groups too when switching uid as root.
            command.uid(*uid).gid(*gid);
        }
        command
    }

    /// Gives `path` to this user (a no-op for `Current`).
    pub(crate) fn chown(&self, path: &Path) -> anyhow::Result<()> {
        if let Self::Other { name, uid, gid } = self {
            std::os::unix::fs::chown(path, Some(*uid), Some(*gid))
                .with_context(|| format!("giving {} to user {name}", path.display()))?;
        }
        Ok(())
    }

    /// `(uid, gid)` to switch to, or `None` for `Current`.
    pub(crate) fn ids(&self) -> Option<(u32, u32)> {
        match self {
            Self::Current => None,
            Self::Other { uid, gid, .. } => Some((*uid, *gid)),
        }
    }
}

/// Finds `name`'s uid and gid in the text of `/etc/passwd`.
fn passwd_ids(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgresx:x:7:7::/:/bin/sh\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        assert_eq!(passwd_ids(passwd, "postgres"), Some((101, 104)));
        assert_eq!(passwd_ids(passwd, "root"), Some((0, 0)));
        assert_eq!(passwd_ids(passwd, "nobody"), None);
        assert_eq!(passwd_ids("broken:x:notanumber:1", "broken"), None);
    }
}
