//! Helpers shared by the sandbox's test binaries: polling with a deadline, port probes, and
//! running `rds-sandbox up` as a child that cannot outlive the test.

use std::io::{self, BufRead as _, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Polls `done` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub fn port_accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// Kills its child on drop, so a failing test leaves no `rds-sandbox up` behind.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        _ = self.0.kill();
        _ = self.0.wait();
    }
}

/// Starts `rds-sandbox up <args>` and returns it with the JSON line it printed (waiting at
/// most `timeout`).
pub fn sandbox_up(args: &[&str], timeout: Duration) -> io::Result<(KillOnDrop, serde_json::Value)> {
    let child = Command::new(env!("CARGO_BIN_EXE_rds-sandbox"))
        .arg("up")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut child = KillOnDrop(child);
    let stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout pipe"))?;
    // Read on a thread so a hung start fails the test instead of hanging it.
    let (line_sender, line_receiver) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("rds-sandbox-stdout".to_owned())
        .spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            _ = line_sender.send(read);
        })?;
    let line = line_receiver
        .recv_timeout(timeout)
        .map_err(|_| io::Error::other(format!("no JSON line within {timeout:?}")))??;
    let info = serde_json::from_str(&line).map_err(io::Error::other)?;
    Ok((child, info))
}
