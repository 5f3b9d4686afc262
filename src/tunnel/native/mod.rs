//! The native tunnel: `StartSession`, the websocket data channel and smux, spoken by us instead of
//! the installed `session-manager-plugin` (reference: `ssm-port-forwarding.md`).
//!
//! [`open`] binds 127.0.0.1:<local port>, starts the session, opens the data channel and returns a
//! [`Tunnel`] once the agent's handshake is complete. Every accepted local connection becomes one
//! smux stream, so many connections share one session. The tunnel survives websocket loss by
//! resuming the session, and ends with `TerminateSession` whichever way it ends. Its
//! [`TunnelStats`] are plain data for a status view. This module knows nothing of the UI or jobs.

pub(crate) mod api;
mod engine;
mod error;
mod local;
mod websocket;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::db::tls::{TrustConfig, client_config};
use crate::tunnel::ssm::channel::{ChannelConfig, DataChannel, Role, unix_millis_now};
use api::{SessionApi, StartRequest};
use engine::{Engine, EngineParts};
pub use error::TunnelError;
use websocket::{Connector, Signer};

/// What the tunnel forwards to, which also picks the SSM document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remote {
    /// A host the target can reach (an RDS or proxy endpoint), resolved by the agent:
    /// `AWS-StartPortForwardingSessionToRemoteHost`.
    Host {
        /// DNS name or IP address.
        host: String,
        /// Its port.
        port: u16,
    },
    /// A port on the target itself: `AWS-StartPortForwardingSession`.
    TargetPort(u16),
}

impl Remote {
    /// The SSM document for this kind of remote.
    pub fn document_name(&self) -> &'static str {
        match self {
            Self::Host { .. } => "AWS-StartPortForwardingSessionToRemoteHost",
            Self::TargetPort(_) => "AWS-StartPortForwardingSession",
        }
    }

    pub(crate) fn parameters(&self, local_port: u16) -> Vec<(&'static str, String)> {
        let mut parameters = Vec::with_capacity(3);
        match self {
            Self::Host { host, port } => {
                parameters.push(("host", host.clone()));
                parameters.push(("portNumber", port.to_string()));
            }
            Self::TargetPort(port) => parameters.push(("portNumber", port.to_string())),
        }
        // The real local port keeps the session history truthful (reference §1.1).
        parameters.push(("localPortNumber", local_port.to_string()));
        parameters
    }
}

/// What to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TunnelSpec {
    /// The SSM target: `i-…`, `mi-…` or `ecs:…`.
    pub target: String,
    /// Where the agent connects.
    pub remote: Remote,
    /// The port on 127.0.0.1; 0 picks a free one.
    pub local_port: u16,
}

/// Tunables; the defaults suit the real service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelOptions {
    /// Largest payload we send per message (both official ends use 1024).
    pub max_payload_bytes: usize,
    /// Websocket ping interval; nothing received for two intervals means the socket is dead.
    pub ping_interval: Duration,
    /// How long the agent may take to complete the handshake.
    pub handshake_timeout: Duration,
    /// How long to keep trying to resume after the websocket is lost.
    pub reconnect_budget: Duration,
    /// How long acks may stop arriving while connected before giving up.
    pub ack_stall_budget: Duration,
    /// How long to wait for the `TerminateSession` flag's ack on close.
    pub terminate_ack_wait: Duration,
}

impl Default for TunnelOptions {
    fn default() -> Self {
        Self {
            max_payload_bytes: 1024,
            ping_interval: Duration::from_secs(20),
            handshake_timeout: Duration::from_secs(30),
            reconnect_budget: Duration::from_mins(5),
            ack_stall_budget: Duration::from_mins(5),
            terminate_ack_wait: Duration::from_secs(2),
        }
    }
}

/// Where a tunnel is in its life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TunnelState {
    /// Session started, handshake not complete.
    #[default]
    Starting,
    /// Forwarding.
    Ready,
    /// The websocket was lost; resuming (local connections stay open).
    Reconnecting,
    /// Closing on request.
    Closing,
    /// Over; see [`TunnelStats::last_error`].
    Closed,
}

/// A tunnel's status, as plain data for a status view.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct TunnelStats {
    /// The state.
    pub state: TunnelState,
    /// The SSM session id.
    pub session_id: String,
    /// Where local clients connect.
    pub local_addr: Option<SocketAddr>,
    /// Bytes from the remote end written to local connections.
    pub bytes_in: u64,
    /// Bytes read from local connections towards the remote end.
    pub bytes_out: u64,
    /// Smoothed round-trip time of the data channel.
    pub round_trip_time: Duration,
    /// Current retransmission timeout.
    pub retransmission_timeout: Duration,
    /// Local connections open now.
    pub open_connections: usize,
    /// Local connections accepted so far.
    pub total_connections: u64,
    /// Websocket losses so far (each followed by a resume attempt).
    pub reconnects: u64,
    /// Data-channel messages sent for the first time.
    pub messages_sent: u64,
    /// Data-channel messages resent.
    pub messages_retransmitted: u64,
    /// Duplicate messages received from the agent.
    pub duplicates_received: u64,
    /// The SSM agent's version, once the handshake arrived.
    pub agent_version: Option<String>,
    /// The last problem: a failed resume attempt, a failed destination dial, or why it closed.
    pub last_error: Option<String>,
}

/// Status shared between the engine and the handle.
#[derive(Debug)]
struct Shared {
    stats: Mutex<TunnelStats>,
    state: watch::Sender<TunnelState>,
}

impl Shared {
    fn update(&self, change: impl FnOnce(&mut TunnelStats)) {
        change(&mut self.stats.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn set_state(&self, state: TunnelState) {
        self.update(|stats| stats.state = state);
        self.state.send_replace(state);
    }
}

/// An open tunnel. Dropping it closes it in the background (flag, then `TerminateSession`);
/// [`Tunnel::close`] does the same and waits.
#[derive(Debug)]
pub struct Tunnel {
    local_addr: SocketAddr,
    session_id: String,
    shared: Arc<Shared>,
    state: watch::Receiver<TunnelState>,
    close: mpsc::Sender<()>,
    task: JoinHandle<Result<(), TunnelError>>,
}

impl Tunnel {
    /// Where local clients connect (always on 127.0.0.1).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The SSM session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The current state.
    pub fn state(&self) -> TunnelState {
        *self.state.borrow()
    }

    /// A snapshot of the status.
    pub fn stats(&self) -> TunnelStats {
        self.shared
            .stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until the tunnel ends by itself (the session was terminated or could not go on).
    pub async fn closed(&self) {
        let mut state = self.state.clone();
        // An error means the engine is gone, which is closed too.
        _ = state.wait_for(|state| *state == TunnelState::Closed).await;
    }

    /// Closes the tunnel: `TerminateSession` flag, then the `TerminateSession` API; the listener
    /// and local connections close. Returns why the tunnel ended if it had failed before.
    pub async fn close(self) -> Result<(), TunnelError> {
        // An error means the engine already ended; its result tells how.
        _ = self.close.send(()).await;
        self.task.await.unwrap_or(Err(TunnelError::TaskGone))
    }
}

/// Opens a tunnel with the SSM client configuration `config` (profile, region, endpoint).
/// Returns once local connections are forwarded; on failure the session is terminated.
pub async fn open(
    config: &SdkConfig,
    spec: &TunnelSpec,
    options: TunnelOptions,
) -> Result<Tunnel, TunnelError> {
    let region = config
        .region()
        .map_or_else(String::new, ToString::to_string);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, spec.local_port))
        .await
        .map_err(|source| TunnelError::Listen {
            port: spec.local_port,
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| TunnelError::Listen {
            port: spec.local_port,
            source,
        })?;
    let tls = client_config(&TrustConfig::default())?;
    let api = SessionApi::new(aws_sdk_ssm::Client::new(config), region.clone());
    let grant = api
        .start(&StartRequest {
            target: spec.target.clone(),
            document_name: spec.remote.document_name(),
            parameters: spec.remote.parameters(local_addr.port()),
        })
        .await?;
    tracing::info!(
        "tunnel: session {} to {:?} via {} on {local_addr}",
        grant.session_id,
        spec.remote,
        spec.target
    );
    let connector = Connector {
        client_id: Uuid::new_v4(),
        signer: Signer {
            region,
            credentials: config.credentials_provider(),
        },
        tls,
    };
    let ws = match connector.connect(&grant.stream_url, &grant.token).await {
        Ok(ws) => ws,
        Err(error) => {
            // Never leave a session behind (the plugin does, reference §6.4).
            if let Err(terminate_error) = api.terminate(&grant.session_id).await {
                tracing::warn!("{terminate_error}");
            }
            return Err(error);
        }
    };
    let channel_config = ChannelConfig {
        max_payload_bytes: options.max_payload_bytes,
        ..ChannelConfig::new(Role::Client)
    };
    let channel = DataChannel::new(channel_config, Instant::now(), unix_millis_now());
    let (state_tx, state) = watch::channel(TunnelState::Starting);
    let shared = Arc::new(Shared {
        stats: Mutex::new(TunnelStats {
            session_id: grant.session_id.clone(),
            local_addr: Some(local_addr),
            ..TunnelStats::default()
        }),
        state: state_tx,
    });
    let (events_tx, events) = mpsc::channel(64);
    let listener = tokio::spawn(local::accept_loop(listener, events_tx.clone()));
    let (ready_tx, ready) = oneshot::channel();
    let (close, commands) = mpsc::channel(1);
    let engine = Engine::new(EngineParts {
        api,
        session_id: grant.session_id.clone(),
        stream_url: grant.stream_url,
        connector,
        options,
        ws,
        channel,
        shared: Arc::clone(&shared),
        events,
        events_tx,
        listener,
        ready: ready_tx,
    });
    let task = tokio::spawn(engine.run(commands));
    match ready.await {
        Ok(Ok(())) => Ok(Tunnel {
            local_addr,
            session_id: grant.session_id,
            shared,
            state,
            close,
            task,
        }),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(task.await.map_or(Err(TunnelError::TaskGone), |result| {
            result.and(Err(TunnelError::TaskGone))
        })?),
    }
}
