//! One supervised tunnel's task: open (native or plugin) on the key's stable port, publish the
//! outcome to `ensure` callers, sample status, close after the last lease (and the linger), and
//! reopen with exponential backoff when the tunnel fails. Sessions are recorded on disk while
//! open and forgotten once terminated.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_config::SdkConfig;
use tokio::sync::{Notify, watch};

use super::{
    Entry, Inner, SupervisedState, TunnelKey, TunnelStatus, Via, describe, lock, plugin_options,
};
use crate::tunnel::any::AnyTunnel;
use crate::tunnel::native::api::SessionApi;
use crate::tunnel::{TunnelError, TunnelSpec, TunnelState, native, plugin};

/// The outcome `ensure` waits for: `None` while an attempt is under way.
pub(super) type Outcome = Option<Result<SocketAddr, String>>;

/// `TerminateSession` for a session of an earlier run.
pub(super) async fn terminate_session(
    config: &SdkConfig,
    region: &str,
    session_id: &str,
) -> Result<(), TunnelError> {
    SessionApi::new(aws_sdk_ssm::Client::new(config), region.to_owned())
        .terminate(session_id)
        .await
}

/// Creates the entry for `key` (with one lease) and starts its task. `port`: a local port the
/// user chose (kept even when taken: the error says so), else the remembered one.
pub(super) fn spawn(
    inner: &Arc<Inner>,
    key: TunnelKey,
    via: Via,
    port: Option<u16>,
) -> (Entry, watch::Receiver<Outcome>) {
    let status = Arc::new(Mutex::new(TunnelStatus {
        key: Some(key.clone()),
        via,
        leases: 1,
        ..TunnelStatus::default()
    }));
    let wake = Arc::new(Notify::new());
    let (outcome_tx, outcome) = watch::channel(None);
    let entry = Entry {
        via,
        leases: 1,
        status: Arc::clone(&status),
        wake: Arc::clone(&wake),
        outcome: outcome.clone(),
    };
    let run = Run {
        inner: Arc::clone(inner),
        key,
        via,
        port,
        status,
        wake,
        outcome: outcome_tx,
        bytes_in_before: 0,
        bytes_out_before: 0,
    };
    tokio::spawn(run.run());
    (entry, outcome)
}

/// How a running tunnel stopped.
enum Ended {
    /// No lease left (or shutdown): closed on purpose.
    Released,
    /// It failed by itself: restart.
    Failed,
}

struct Run {
    inner: Arc<Inner>,
    key: TunnelKey,
    via: Via,
    /// The user's chosen local port, if any.
    port: Option<u16>,
    status: Arc<Mutex<TunnelStatus>>,
    wake: Arc<Notify>,
    outcome: watch::Sender<Outcome>,
    /// Bytes moved by earlier incarnations of this tunnel.
    bytes_in_before: u64,
    bytes_out_before: u64,
}

impl Run {
    fn update(&self, change: impl FnOnce(&mut TunnelStatus)) {
        change(&mut lock(&self.status));
    }

    async fn run(mut self) {
        let options = self.inner.options.clone();
        let mut backoff = options.first_backoff;
        let mut local_port = self.port.or_else(|| self.inner.remembered_port(&self.key));
        // A chosen port is not swapped for another when taken: connections expect it there.
        let mut remembered_port_refused = self.port.is_some();
        loop {
            self.update(|status| status.state = SupervisedState::Starting);
            self.outcome.send_replace(None);
            let opened = self.open(local_port.unwrap_or(0)).await;
            match opened {
                Err(TunnelError::Listen { .. })
                    if local_port.is_some() && !remembered_port_refused =>
                {
                    // Something else took the remembered port: pick a new one and remember it.
                    tracing::warn!(
                        "tunnel {}: port {} is taken; choosing another",
                        self.key,
                        local_port.unwrap_or_default()
                    );
                    remembered_port_refused = true;
                    local_port = None;
                    continue;
                }
                Err(error) => {
                    let message = describe(&error);
                    tracing::warn!("tunnel {}: {message}", self.key);
                    self.update(|status| {
                        status.state = SupervisedState::Backoff;
                        status.last_error = Some(message.clone());
                    });
                    self.outcome.send_replace(Some(Err(message)));
                }
                Ok(tunnel) => {
                    let local_addr = tunnel.local_addr();
                    if local_port != Some(local_addr.port()) {
                        local_port = Some(local_addr.port());
                        self.inner.remember_port(&self.key, local_addr.port());
                    }
                    let session_id = tunnel.session_id().to_owned();
                    self.inner.record_session(&self.key, &session_id);
                    self.update(|status| {
                        status.state = SupervisedState::Ready;
                        status.local_addr = Some(local_addr);
                        status.session_id = Some(session_id.clone());
                    });
                    self.outcome.send_replace(Some(Ok(local_addr)));
                    let up_since = Instant::now();
                    let ended = self.supervise(&tunnel).await;
                    // Whoever asks from now on waits for the next attempt, not this address.
                    self.outcome.send_replace(None);
                    let last = tunnel.stats();
                    self.bytes_in_before += last.bytes_in;
                    self.bytes_out_before += last.bytes_out;
                    let closed = tunnel.close().await;
                    self.inner.forget_session(&session_id);
                    match ended {
                        Ended::Released => {
                            self.update(|status| status.state = SupervisedState::Closed);
                            if self.inner.try_retire(&self.key) {
                                return;
                            }
                            // A lease arrived while closing: open again at once.
                            continue;
                        }
                        Ended::Failed => {
                            let message = closed.err().map_or_else(
                                || "the tunnel closed unexpectedly".to_owned(),
                                |error| describe(&error),
                            );
                            tracing::warn!("tunnel {}: {message}; restarting", self.key);
                            self.update(|status| {
                                status.state = SupervisedState::Backoff;
                                status.last_error = Some(message);
                            });
                            if up_since.elapsed() >= options.stable_after {
                                backoff = options.first_backoff;
                            }
                        }
                    }
                }
            }
            if !self.wait_backoff(backoff).await {
                self.update(|status| status.state = SupervisedState::Closed);
                return;
            }
            backoff = (backoff * 2).min(options.max_backoff);
            self.update(|status| status.restarts += 1);
        }
    }

    async fn open(&self, local_port: u16) -> Result<AnyTunnel, TunnelError> {
        let config = self
            .inner
            .configs
            .sdk_config(&self.key.profile, &self.key.region)
            .await
            .map_err(|message| TunnelError::Config { message })?;
        let spec = TunnelSpec {
            target: self.key.target.clone(),
            remote: self.key.remote(),
            local_port,
        };
        match self.via {
            Via::Native => native::open(&config, &spec, self.inner.options.tunnel)
                .await
                .map(AnyTunnel::Native),
            Via::Plugin => {
                let options = plugin_options(&self.inner.options, &self.key.profile);
                plugin::open(&config, &spec, &options)
                    .await
                    .map(AnyTunnel::Plugin)
            }
        }
    }

    /// Waits `delay` before the next attempt; `false` if meanwhile every lease went away (the
    /// entry is then retired).
    async fn wait_backoff(&self, delay: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + delay;
        loop {
            if (self.inner.leases(&self.key) == 0 || self.inner.shutting_down())
                && self.inner.try_retire(&self.key)
            {
                return false;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return true,
                () = self.wake.notified() => {}
            }
        }
    }

    /// Runs until the tunnel fails or is released; samples status meanwhile.
    async fn supervise(&self, tunnel: &AnyTunnel) -> Ended {
        let options = &self.inner.options;
        let mut ticker = tokio::time::interval(options.sample_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sample = (Instant::now(), 0_u64, 0_u64);
        let mut linger_until: Option<tokio::time::Instant> = None;
        loop {
            if self.inner.shutting_down() {
                return Ended::Released;
            }
            let leases = self.inner.leases(&self.key);
            if leases > 0 {
                linger_until = None;
            } else if linger_until.is_none() {
                linger_until = Some(tokio::time::Instant::now() + options.linger);
            }
            let linger = async {
                match linger_until {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = tunnel.closed() => {
                    self.sample(tunnel, &mut last_sample);
                    return Ended::Failed;
                }
                () = linger => {
                    if self.inner.leases(&self.key) == 0 {
                        self.sample(tunnel, &mut last_sample);
                        return Ended::Released;
                    }
                }
                () = self.wake.notified() => {}
                _ = ticker.tick() => self.sample(tunnel, &mut last_sample),
            }
        }
    }

    fn sample(&self, tunnel: &AnyTunnel, last: &mut (Instant, u64, u64)) {
        let stats = tunnel.stats();
        let now = Instant::now();
        let bytes_in = self.bytes_in_before + stats.bytes_in;
        let bytes_out = self.bytes_out_before + stats.bytes_out;
        let elapsed = now.duration_since(last.0).as_secs_f64();
        let in_rate = per_sec(bytes_in.saturating_sub(last.1), elapsed);
        let out_rate = per_sec(bytes_out.saturating_sub(last.2), elapsed);
        *last = (now, bytes_in, bytes_out);
        let native = matches!(tunnel, AnyTunnel::Native(_));
        self.update(|status| {
            status.bytes_in = bytes_in;
            status.bytes_out = bytes_out;
            status.bytes_in_per_sec = in_rate;
            status.bytes_out_per_sec = out_rate;
            status.round_trip_time = native.then_some(stats.round_trip_time);
            status.state = match stats.state {
                TunnelState::Reconnecting => SupervisedState::Reconnecting,
                _ => SupervisedState::Ready,
            };
            if stats.last_error.is_some() {
                status.last_error.clone_from(&stats.last_error);
            }
        });
    }
}

/// `bytes` over `secs` seconds as bytes per second (0 for no time).
#[expect(clippy::cast_sign_loss, reason = "both operands are non-negative")]
fn per_sec(bytes: u64, secs: f64) -> u64 {
    if secs > 0.0 {
        (bytes as f64 / secs) as u64
    } else {
        0
    }
}
