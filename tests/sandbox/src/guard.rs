//! Cleanup guardians: small shell processes that stop what we started and delete its directory
//! once the process that made them is gone, however it went (panic=abort, SIGKILL, a test
//! harness timing out). Two kinds: one for a Postgres cluster (stops it with `pg_ctl`), one for
//! process groups (moto; killed with SIGTERM, then SIGKILL).
//!
//! A guardian blocks reading a pipe whose only write end we hold (std opens pipes close-on-exec,
//! so no other child inherits it). The kernel closes that end when we exit for any reason, the
//! script sees end of file and cleans up. In the normal path we stop everything ourselves first,
//! say `done` and close the pipe, so the guardian only deletes the directory.

use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::user::ServerUser;

/// The Postgres guardian. Positional arguments: `$1` cluster directory, `$2` data directory,
/// `$3` Postgres bin directory, `$4`/`$5` uid/gid to run `pg_ctl` as (empty: as ourselves).
/// Paths are never interpolated into the script text.
///
/// Terminal signals are ignored (and stay ignored in `cat` and `pg_ctl`): a Ctrl-C aimed at the
/// owner must not kill the one process meant to clean up after it.
const PG_SCRIPT: &str = r#"
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

/// The process-group guardian. `$1` is the directory to delete. Reads lines: `group <pgid>` adds
/// a process group to kill, `forget <pgid>` removes one, `done` forgets them all (we stopped
/// them, and their ids may be reused by now). At end of file: SIGTERM to each group, up to 5 s
/// for them to go, SIGKILL to what is left. Signals ignored for the reason given on
/// [`PG_SCRIPT`]; dash's `kill` takes a negative pid as a group but not `--`.
const GROUP_SCRIPT: &str = r#"
trap '' INT TERM HUP
groups=
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    "group "*) groups="$groups ${line#group }" ;;
    "forget "*)
      gone=${line#forget }
      groups=$(for g in $groups; do [ "$g" = "$gone" ] || printf ' %s' "$g"; done)
      ;;
    done) groups= ;;
  esac
done
for g in $groups; do kill -TERM -"$g"; done 2>/dev/null
i=0
while [ -n "$groups" ] && [ $i -lt 50 ]; do
  alive=
  for g in $groups; do kill -0 -"$g" 2>/dev/null && alive=1; done
  [ -z "$alive" ] && break
  sleep 0.1
  i=$((i + 1))
done
for g in $groups; do kill -KILL -"$g"; done 2>/dev/null
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
    pub(crate) fn for_pg_cluster(
        dir: &Path,
        data_dir: &Path,
        pg_bin: &Path,
        user: &ServerUser,
    ) -> anyhow::Result<Self> {
        let (uid, gid) = user
            .ids()
            .map(|(uid, gid)| (uid.to_string(), gid.to_string()))
            .unwrap_or_default();
        Self::spawn(
            PG_SCRIPT,
            &[
                dir.as_os_str(),
                data_dir.as_os_str(),
                pg_bin.as_os_str(),
                OsStr::new(&uid),
                OsStr::new(&gid),
            ],
        )
    }

    /// Starts a guardian that deletes `dir` and kills the process groups later named with
    /// [`Guardian::watch_process_group`].
    pub(crate) fn for_process_groups(dir: &Path) -> anyhow::Result<Self> {
        Self::spawn(GROUP_SCRIPT, &[dir.as_os_str()])
    }

    /// Has the guardian kill process group `pgid` if we die before [`Guardian::finish`].
    pub(crate) fn watch_process_group(&mut self, pgid: u32) -> anyhow::Result<()> {
        self.send_line(&format!("group {pgid}"))
    }

    /// Takes back [`Guardian::watch_process_group`]: the group is gone (reaped by us).
    pub(crate) fn forget_process_group(&mut self, pgid: u32) -> anyhow::Result<()> {
        self.send_line(&format!("forget {pgid}"))
    }

    fn send_line(&mut self, line: &str) -> anyhow::Result<()> {
        let pipe = self
            .pipe
            .as_mut()
            .context("the guardian's pipe is already closed")?;
        writeln!(pipe, "{line}")
            .and_then(|()| pipe.flush())
            .context("talking to the cleanup guardian")
    }

    fn spawn(script: &str, args: &[&OsStr]) -> anyhow::Result<Self> {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .arg("rds-sandbox-guardian")
            .args(args)
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

    /// Says `done` (everything is stopped), closes the pipe (the guardian then deletes the
    /// directory) and waits up to `timeout` for it to exit.
    pub(crate) fn finish(mut self, timeout: Duration) -> anyhow::Result<()> {
        if let Some(mut pipe) = self.pipe.take() {
            // A guardian that already died cannot read it; its exit status tells below.
            _ = pipe.write_all(b"done\n");
        }
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
