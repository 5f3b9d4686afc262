//! The tunnel supervisor: one tunnel per endpoint, shared by every connection that needs it.
//!
//! Tunnels are keyed by (profile, region, target, remote host, remote port). Each key keeps one
//! local port on 127.0.0.1, remembered across runs (`store::load_tunnel_ports`), so a saved
//! connection always finds its tunnel at the same address. [`Supervisor::ensure`] opens the
//! tunnel or joins the running one and returns a [`TunnelLease`]; the tunnel stays up while any
//! lease is alive (plus [`SupervisorOptions::linger`]) and is restarted with exponential backoff
//! when it fails. [`Supervisor::snapshot`] gives plain [`TunnelStatus`] rows for a Tunnels panel.
//! Every open SSM session is recorded on disk until it is terminated, and
//! [`Supervisor::recover_crashed_sessions`] terminates what a crashed run left behind.
//!
//! Core code: no egui, no jobs, no backend types. The region is part of the key because the SSM
//! endpoint that owns a session is regional.

mod task;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, watch};

use super::plugin::PluginOptions;
use super::{Remote, TunnelError, TunnelOptions};
use crate::store::{
    Paths, RecordedSession, TunnelPortEntry, load_tunnel_ports, load_tunnel_sessions,
    save_tunnel_ports, save_tunnel_sessions,
};

/// Which client carries a tunnel.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Our own data-channel client (multiplexed, reconnects): the default.
    #[default]
    Native,
    /// The installed `session-manager-plugin`.
    Plugin,
}

/// What identifies a tunnel: every connection with the same key shares it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct TunnelKey {
    /// AWS profile whose credentials start the session.
    pub profile: String,
    /// Region of the target (the SSM endpoint is regional).
    pub region: String,
    /// SSM target id (`i-…`).
    pub target: String,
    /// Remote host the target connects to; `None` for a port on the target itself.
    pub remote_host: Option<String>,
    /// Remote port.
    pub remote_port: u16,
}

impl TunnelKey {
    /// The remote end, which also picks the SSM document.
    pub fn remote(&self) -> Remote {
        match &self.remote_host {
            Some(host) => Remote::Host {
                host: host.clone(),
                port: self.remote_port,
            },
            None => Remote::TargetPort(self.remote_port),
        }
    }

    fn port_entry(&self, local_port: u16) -> TunnelPortEntry {
        TunnelPortEntry {
            profile: self.profile.clone(),
            region: self.region.clone(),
            target: self.target.clone(),
            remote_host: self.remote_host.clone().unwrap_or_default(),
            remote_port: self.remote_port,
            local_port,
        }
    }

    fn matches(&self, entry: &TunnelPortEntry) -> bool {
        entry.profile == self.profile
            && entry.region == self.region
            && entry.target == self.target
            && entry.remote_host == self.remote_host.clone().unwrap_or_default()
            && entry.remote_port == self.remote_port
    }
}

impl std::fmt::Display for TunnelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.remote_host.as_deref().unwrap_or("(target)");
        write!(
            f,
            "{}:{} via {} ({}, {})",
            host, self.remote_port, self.target, self.profile, self.region
        )
    }
}

/// Builds SDK configurations; the backend implements it with its per-profile cache, so
/// credentials are refreshed the same way everywhere.
pub trait SdkConfigs: Send + Sync + 'static {
    /// The configuration for `profile` in `region`, or a message saying what to do.
    fn sdk_config(&self, profile: &str, region: &str) -> BoxFuture<'_, Result<SdkConfig, String>>;
}

/// Tunables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorOptions {
    /// Native tunnels' options.
    pub tunnel: TunnelOptions,
    /// The plugin to use in plugin mode (`None`: search `PATH` and the install directories).
    pub plugin_path: Option<PathBuf>,
    /// How long a tunnel stays up after its last lease is dropped (the next query often comes).
    pub linger: Duration,
    /// First restart delay after a failure; doubled per failure up to `max_backoff`.
    pub first_backoff: Duration,
    /// Longest restart delay.
    pub max_backoff: Duration,
    /// A tunnel up this long resets the backoff.
    pub stable_after: Duration,
    /// How often status (bytes, throughput, round-trip time) is sampled.
    pub sample_interval: Duration,
}

impl Default for SupervisorOptions {
    fn default() -> Self {
        Self {
            tunnel: TunnelOptions::default(),
            plugin_path: None,
            linger: Duration::from_mins(1),
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_mins(1),
            stable_after: Duration::from_secs(30),
            sample_interval: Duration::from_secs(1),
        }
    }
}

/// Where a supervised tunnel is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisedState {
    /// Opening (session, data channel, handshake).
    #[default]
    Starting,
    /// Forwarding.
    Ready,
    /// The data channel was lost; the native client is resuming the session.
    Reconnecting,
    /// The last attempt failed; the next one starts after the backoff.
    Backoff,
    /// No lease left; closed and its session terminated.
    Closed,
}

/// A tunnel's status for a Tunnels panel: plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TunnelStatus {
    /// The key.
    pub key: Option<TunnelKey>,
    /// Native or plugin.
    pub via: Via,
    /// The state.
    pub state: SupervisedState,
    /// Where connections go: 127.0.0.1 and the stable port.
    pub local_addr: Option<SocketAddr>,
    /// Leases held now.
    pub leases: usize,
    /// The current SSM session.
    pub session_id: Option<String>,
    /// Bytes received from the remote end, over every restart.
    pub bytes_in: u64,
    /// Bytes sent to the remote end, over every restart.
    pub bytes_out: u64,
    /// Received bytes per second over the last sample interval.
    pub bytes_in_per_sec: u64,
    /// Sent bytes per second over the last sample interval.
    pub bytes_out_per_sec: u64,
    /// Smoothed round-trip time of the data channel (native mode only).
    pub round_trip_time: Option<Duration>,
    /// Times the tunnel was opened again after a failure.
    pub restarts: u64,
    /// The last problem, with what to do next.
    pub last_error: Option<String>,
}

/// Why `ensure` gave no tunnel.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The tunnel could not be opened.
    #[error("tunnel to {key}: {message}")]
    Open {
        /// Which tunnel.
        key: TunnelKey,
        /// The error and what to do next.
        message: String,
    },
    /// The supervisor is shutting down.
    #[error("tunnels are shutting down; open the connection again after the restart")]
    ShuttingDown,
}

/// A connection's hold on a tunnel; the tunnel may close once every lease is dropped.
#[derive(Debug)]
pub struct TunnelLease {
    local_addr: SocketAddr,
    key: TunnelKey,
    inner: Arc<Inner>,
}

impl TunnelLease {
    /// Where to connect: 127.0.0.1 and the tunnel's stable port. TLS and IAM tokens still use
    /// the real host name.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The tunnel's key.
    pub fn key(&self) -> &TunnelKey {
        &self.key
    }
}

impl Drop for TunnelLease {
    fn drop(&mut self) {
        self.inner.release(&self.key);
    }
}

/// One supervised tunnel's shared state.
struct Entry {
    via: Via,
    leases: usize,
    status: Arc<Mutex<TunnelStatus>>,
    /// Wakes the tunnel's task when its leases change.
    wake: Arc<Notify>,
    /// The outcome of the latest attempt: `None` while starting.
    outcome: watch::Receiver<Option<Result<SocketAddr, String>>>,
}

struct Inner {
    paths: Paths,
    configs: Arc<dyn SdkConfigs>,
    options: SupervisorOptions,
    tunnels: Mutex<BTreeMap<TunnelKey, Entry>>,
    /// Serializes read-modify-write of the two files.
    files: Mutex<()>,
    shutting_down: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unix_secs_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Recorded sessions older than this are dropped unterminated: the service ended them long ago
/// (the longest session Session Manager allows is a day).
const FORGET_SESSIONS_AFTER_SECS: u64 = 24 * 60 * 60;

impl Inner {
    fn release(&self, key: &TunnelKey) {
        let mut tunnels = lock(&self.tunnels);
        if let Some(entry) = tunnels.get_mut(key) {
            entry.leases = entry.leases.saturating_sub(1);
            lock(&entry.status).leases = entry.leases;
            entry.wake.notify_one();
        }
    }

    fn shutting_down(&self) -> bool {
        self.shutting_down.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Removes `key`'s entry if nobody holds it (or everything is shutting down); `false` means
    /// a lease arrived meanwhile and the tunnel must go on.
    fn try_retire(&self, key: &TunnelKey) -> bool {
        let mut tunnels = lock(&self.tunnels);
        let idle = tunnels
            .get(key)
            .is_none_or(|entry| entry.leases == 0 || self.shutting_down());
        if idle {
            tunnels.remove(key);
        }
        idle
    }

    fn leases(&self, key: &TunnelKey) -> usize {
        lock(&self.tunnels).get(key).map_or(0, |entry| entry.leases)
    }

    /// The remembered port of `key`, if any.
    fn remembered_port(&self, key: &TunnelKey) -> Option<u16> {
        let _files = lock(&self.files);
        load_tunnel_ports(&self.paths.tunnel_ports_file())
            .iter()
            .find(|entry| key.matches(entry))
            .map(|entry| entry.local_port)
    }

    fn remember_port(&self, key: &TunnelKey, local_port: u16) {
        let _files = lock(&self.files);
        let path = self.paths.tunnel_ports_file();
        let mut ports = load_tunnel_ports(&path);
        ports.retain(|entry| !key.matches(entry));
        ports.push(key.port_entry(local_port));
        if let Err(error) = save_tunnel_ports(&path, &ports) {
            tracing::warn!("tunnel {key}: the port will not be remembered: {error}");
        }
    }

    fn record_session(&self, key: &TunnelKey, session_id: &str) {
        let _files = lock(&self.files);
        let path = self.paths.tunnel_sessions_file();
        let mut sessions = load_tunnel_sessions(&path);
        sessions.push(RecordedSession {
            session_id: session_id.to_owned(),
            profile: key.profile.clone(),
            region: key.region.clone(),
            started_unix_secs: unix_secs_now(),
            pid: Some(std::process::id()),
        });
        if let Err(error) = save_tunnel_sessions(&path, &sessions) {
            tracing::warn!("tunnel {key}: a crash would leave session {session_id} open: {error}");
        }
    }

    fn forget_session(&self, session_id: &str) {
        let _files = lock(&self.files);
        let path = self.paths.tunnel_sessions_file();
        let mut sessions = load_tunnel_sessions(&path);
        let before = sessions.len();
        sessions.retain(|session| session.session_id != session_id);
        if sessions.len() != before
            && let Err(error) = save_tunnel_sessions(&path, &sessions)
        {
            tracing::warn!("session {session_id} stays recorded: {error}");
        }
    }
}

/// Supervises every tunnel of the app. Cheap to clone; clones share the tunnels.
#[derive(Clone, Debug)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl Supervisor {
    /// A supervisor keeping its files under `paths`, getting SDK configurations from `configs`.
    pub fn new(paths: Paths, configs: Arc<dyn SdkConfigs>, options: SupervisorOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                paths,
                configs,
                options,
                tunnels: Mutex::new(BTreeMap::new()),
                files: Mutex::new(()),
                shutting_down: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// Terminates the sessions a previous run recorded and never closed (it crashed or was
    /// killed). Sessions that cannot be terminated now stay recorded for the next start, unless
    /// they are too old to matter. Returns the terminated session ids, sorted.
    pub async fn recover_crashed_sessions(&self) -> Vec<String> {
        let recorded = {
            let _files = lock(&self.inner.files);
            load_tunnel_sessions(&self.inner.paths.tunnel_sessions_file())
        };
        let mut terminated = Vec::new();
        for session in recorded {
            if session.pid.is_some_and(held_by_another_live_process) {
                continue;
            }
            let too_old = unix_secs_now().saturating_sub(session.started_unix_secs)
                > FORGET_SESSIONS_AFTER_SECS;
            let result = match self
                .inner
                .configs
                .sdk_config(&session.profile, &session.region)
                .await
            {
                Ok(config) => {
                    task::terminate_session(&config, &session.region, &session.session_id)
                        .await
                        .map_err(|error| format!("{error}; {}", error.next_step()))
                }
                Err(message) => Err(message),
            };
            match result {
                Ok(()) => {
                    tracing::info!(
                        "terminated session {} left by an earlier run",
                        session.session_id
                    );
                    terminated.push(session.session_id.clone());
                    self.inner.forget_session(&session.session_id);
                }
                Err(message) if too_old => {
                    tracing::info!("forgetting old session {}: {message}", session.session_id);
                    self.inner.forget_session(&session.session_id);
                }
                Err(message) => {
                    tracing::warn!(
                        "session {} left by an earlier run is still open: {message}",
                        session.session_id
                    );
                }
            }
        }
        terminated.sort();
        terminated
    }

    /// The tunnel for `key`, opened with `via` if it is not running (a running tunnel keeps the
    /// way it was opened). Waits until it forwards, or fails with the attempt's error.
    pub async fn ensure(&self, key: TunnelKey, via: Via) -> Result<TunnelLease, SupervisorError> {
        self.ensure_on(key, via, None).await
    }

    /// [`Self::ensure`], listening on `port` when the tunnel is opened here (a port the user
    /// chose for the connection; `None`: the one remembered for the key, else any free one).
    pub async fn ensure_on(
        &self,
        key: TunnelKey,
        via: Via,
        port: Option<u16>,
    ) -> Result<TunnelLease, SupervisorError> {
        if self.inner.shutting_down() {
            return Err(SupervisorError::ShuttingDown);
        }
        let mut outcome = {
            let mut tunnels = lock(&self.inner.tunnels);
            if let Some(entry) = tunnels.get_mut(&key) {
                entry.leases += 1;
                lock(&entry.status).leases = entry.leases;
                entry.wake.notify_one();
                entry.outcome.clone()
            } else {
                let (entry, outcome) = task::spawn(&self.inner, key.clone(), via, port);
                tunnels.insert(key.clone(), entry);
                outcome
            }
        };
        // The lease exists from here on: dropping it on any path below releases the tunnel.
        let mut lease = TunnelLease {
            local_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            key: key.clone(),
            inner: Arc::clone(&self.inner),
        };
        let result = outcome
            .wait_for(Option::is_some)
            .await
            .map(|outcome| outcome.clone())
            .ok()
            .flatten();
        match result {
            Some(Ok(local_addr)) => {
                lease.local_addr = local_addr;
                Ok(lease)
            }
            Some(Err(message)) => Err(SupervisorError::Open { key, message }),
            None => Err(SupervisorError::ShuttingDown),
        }
    }

    /// Every tunnel's status, sorted by key.
    pub fn snapshot(&self) -> Vec<TunnelStatus> {
        lock(&self.inner.tunnels)
            .values()
            .map(|entry| {
                let mut status = lock(&entry.status).clone();
                status.via = entry.via;
                status
            })
            .collect()
    }

    /// Closes every tunnel now (leases or not) and terminates their sessions; for app exit.
    /// Waits at most `timeout`.
    pub async fn shutdown(&self, timeout: Duration) {
        self.inner
            .shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let wakes: Vec<Arc<Notify>> = lock(&self.inner.tunnels)
            .values()
            .map(|entry| Arc::clone(&entry.wake))
            .collect();
        for wake in &wakes {
            wake.notify_one();
        }
        let deadline = tokio::time::Instant::now() + timeout;
        while !lock(&self.inner.tunnels).is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The `--via`/settings value of a plugin path for [`PluginOptions`].
fn plugin_options(options: &SupervisorOptions, profile: &str) -> PluginOptions {
    PluginOptions {
        plugin_path: options.plugin_path.clone(),
        profile: profile.to_owned(),
        ..PluginOptions::default()
    }
}

/// Whether `pid` is another process that is still running (its sessions are its own business).
fn held_by_another_live_process(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    #[cfg(unix)]
    {
        i32::try_from(pid)
            .is_ok_and(|pid| nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok())
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Maps an open failure to the message users see.
fn describe(error: &TunnelError) -> String {
    format!("{error}; {}", error.next_step())
}
