//! The cleanup guardian: a small shell process that stops the server and deletes the cluster
//! directory once the process that made them is gone, however it went (panic=abort, SIGKILL,
//! a test harness timing out).
//!
//! It blocks reading a pipe whose only write end we hold (std opens pipes close-on-exec, so no
//! other child inherits it). The kernel closes that end when we exit for any reason, `cat` sees
//! end of file, and the script cleans up. In the normal path we stop the server ourselves first
//! and then close the pipe, so the guardian only deletes the directory.

use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use std::os::unix::process::CommandExt as _;

use crate::user::ServerUser;

/// Positional arguments: `$1` cluster directory, `$2` data directory, `$3` Postgres bin
/// directory, `$4`/`$5` uid/gid to run `pg_ctl` as (empty: as ourselves). Paths are never
/// interpolated into the script text.
///
/// Terminal signals are ignored (and stay ignored in `cat` and `pg_ctl`): a Ctrl-C aimed at the
/// owner must not kill the one process meant to clean up after it.
const SCRIPT: &str = r#"
trap '' INT TERM HUP
cat >/dev/null
if [ -f "$2/postmaster.pid" ]; then
  if [ -n "$4" ]; then
    setpriv --reuid="$4" --regid="$5" --clear-groups "$3/pg_ctl" -D "$2" -m immediate -w -t 10 stop
  else
    "$3/pg_ctl" -D "$2" -m immediate -w -t 10 stop
  fi
fi >/dev/null 2>&1
rm -rf -- "$1"
"#;

/// A running guardian; dropping it without [`Guardian::finish`] also triggers its cleanup.
pub(crate) struct Guardian {
    child: Child,
    /// Write end of the guardian's stdin; closing it is the "clean up now" signal.
    pipe: Option<ChildStdin>,
}

impl Guardian {
    /// Starts a guardian for the cluster in `dir` whose data directory is `data_dir`.
    pub(crate) fn spawn(
        dir: &Path,
        data_dir: &Path,
        pg_bin: &Path,
        user: &ServerUser,
    ) -> anyhow::Result<Self> {
        let (uid, gid) = user
            .ids()
            .map(|(uid, gid)| (uid.to_string(), gid.to_string()))
            .unwrap_or_default();
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("rds-sandbox-guardian")
            .arg(dir)
            .arg(data_dir)
            .arg(pg_bin)
            .arg(uid)
            .arg(gid)
            .current_dir("/")
            // Its own process group keeps it out of the terminal's foreground group.
            .process_group(0)
            .stdin(Stdio::piped())
            // Never hold our stdout: `rds-sandbox up`'s reader would wait for it to close.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the cleanup guardian (/bin/sh)")?;
        let pipe = child.stdin.take();
        Ok(Self { child, pipe })
    }

    /// Closes the pipe (the guardian then deletes the directory) and waits up to `timeout` for
    /// it to exit.
    pub(crate) fn finish(mut self, timeout: Duration) -> anyhow::Result<()> {
        drop(self.pipe.take());
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for the guardian")? {
                if status.success() {
                    return Ok(());
                }
                bail!("the cleanup guardian failed: {status}");
            }
            if Instant::now() >= deadline {
                // Not killed: it may still be deleting, and finishes on its own.
                bail!(
                    "the cleanup guardian did not exit within {} s",
                    timeout.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
