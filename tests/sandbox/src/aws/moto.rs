//! The moto server process and the temporary directory of the AWS side of the sandbox (moto's
//! log, the front's log, the AWS config files).
//!
//! `moto_server` runs in its own process group on a free loopback port. A process-group guardian
//! (see `guard.rs`) kills that group and deletes the directory if we die; in the normal path
//! [`MotoServer::shutdown`] does both itself.

use std::fs::{OpenOptions, Permissions};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};

use crate::guard::Guardian;

/// How long moto gets to answer `GET /moto-api/` (it takes about 1 s warm).
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts, each on a newly picked free port: another process may take the port between our
/// probe and moto's bind.
const START_ATTEMPTS: usize = 5;
/// How long a clean shutdown waits for the guardian to delete the directory.
const GUARDIAN_TIMEOUT: Duration = Duration::from_secs(10);
/// Lines of `moto.log` quoted in a start failure.
const LOG_TAIL_LINES: usize = 15;

/// A running `moto_server` and the directory it logs to.
pub(crate) struct MotoServer {
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    guardian: Option<Guardian>,
}

impl MotoServer {
    /// Creates the directory, then starts `<venv>/bin/moto_server` and waits until it answers.
    pub(crate) fn start(venv: &Path) -> anyhow::Result<Self> {
        let program = venv.join("bin/moto_server");
        if !program.is_file() {
            bail!(
                "no moto at {}; run scripts/install-test-deps, or point RDS_SANDBOX_VENV at a \
                 venv with moto[server] 5.2.5",
                program.display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("rds-sandbox-aws.")
            .permissions(Permissions::from_mode(0o700))
            .tempdir()
            .context("creating a temporary directory for moto")?
            // From here on our Drop (or the guardian) deletes it.
            .keep();
        let mut moto = Self {
            port: 0,
            child: None,
            guardian: None,
            dir,
        };
        moto.guardian = Some(Guardian::for_process_groups(&moto.dir)?);
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            match moto.try_start(&program) {
                Ok(()) => return Ok(moto),
                Err(err) => last_error = Some(err),
            }
        }
        let last_error = last_error.map_or_else(String::new, |err| format!("{err:#}"));
        bail!("moto did not start in {START_ATTEMPTS} attempts; the last one: {last_error}")
    }

    /// The sandbox's AWS directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// moto's port on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// moto's process id, also its process group id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills moto, lets the guardian delete the directory and makes sure it is gone. Runs once.
    pub(crate) fn shutdown(&mut self) -> anyhow::Result<()> {
        let killed = self.kill_child();
        let guardian_done = self
            .guardian
            .take()
            .map_or(Ok(()), |guardian| guardian.finish(GUARDIAN_TIMEOUT));
        let removed = match std::fs::remove_dir_all(&self.dir) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(anyhow!(err).context(format!("deleting {}", self.dir.display())))
            }
            _ => Ok(()),
        };
        killed.and(guardian_done).and(removed)
    }

    fn try_start(&mut self, program: &Path) -> anyhow::Result<()> {
        self.port = free_port()?;
        let log_path = self.dir.join("moto.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let log_start = log.metadata()?.len();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &self.port.to_string()])
            .current_dir(&self.dir)
            // moto uses botocore itself: a profile of the caller's (say, an earlier sandbox's,
            // whose files are gone) makes every request fail with a 500.
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_PROFILE")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            // Its own group: the guardian kills the whole group, and a Ctrl-C in the terminal
            // reaches only us (we then stop moto in order).
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let pid = child.id();
        self.child = Some(child);
        if let Some(guardian) = self.guardian.as_mut() {
            guardian.watch_process_group(pid)?;
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .map(Child::try_wait)
                .transpose()?
                .flatten()
            {
                self.child = None;
                if let Some(guardian) = self.guardian.as_mut() {
                    guardian.forget_process_group(pid)?;
                }
                bail!(
                    "moto exited at once ({status}); it wrote:\n{}",
                    log_tail(&log_path, log_start)
                );
            }
            if moto_api_ok(self.port) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill_child()?;
                bail!(
                    "moto did not answer GET /moto-api/ on port {} within {} s; it wrote:\n{}",
                    self.port,
                    READY_TIMEOUT.as_secs(),
                    log_tail(&log_path, log_start)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL to moto's process group (moto keeps no state worth a graceful stop), then reaps.
    fn kill_child(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let group_killed = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !group_killed {
            // No kill(1), or the group is gone already: at least the server itself.
            _ = child.kill();
        }
        child.wait().context("waiting for moto to exit")?;
        if let Some(guardian) = self.guardian.as_mut() {
            guardian.forget_process_group(child.id())?;
        }
        Ok(())
    }
}

impl Drop for MotoServer {
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
    eprintln!("rds-sandbox: cleaning up moto failed: {err:#}");
}

/// A port nobody listens on right now (moto binds it a moment later, hence the retries).
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Whether `GET /moto-api/` answers 200. Plain HTTP/1.0 on a socket: no runtime needed yet.
fn moto_api_ok(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let timeout = Some(Duration::from_secs(2));
    if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
        return false;
    }
    if stream
        .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}

/// What the current attempt wrote to moto's log (from byte `start`), last lines only.
fn log_tail(path: &Path, start: u64) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let this_run = bytes.get(start as usize..).unwrap_or_default();
            let text = String::from_utf8_lossy(this_run);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(err) => format!("({} could not be read: {err})", path.display()),
    }
}
