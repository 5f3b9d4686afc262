//! The session engine: one task per tunnel that owns the websocket, the data channel, the smux
//! client and the local connections, and moves bytes between them (reference §4–§7). It answers
//! the handshake, reconnects with `ResumeSession` when the websocket dies (sequence state and smux
//! streams survive, so open connections lose no bytes), pings the service, and on close sends the
//! `TerminateSession` flag and then calls the `TerminateSession` API.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::api::SessionApi;
use super::local::{Connection, LocalEvent};
use super::websocket::{Connector, Ws};
use super::{Shared, TunnelError, TunnelOptions, TunnelState};
use crate::tunnel::ssm::channel::{DataChannel, Received};
use crate::tunnel::ssm::handshake::{
    BasicMode, HandshakeComplete, HandshakeError, HandshakeRequest, PortSession, answer_handshake,
};
use crate::tunnel::ssm::message::PayloadType;
use crate::tunnel::ssm::payload::PortFlag;
use crate::tunnel::ssm::smux::{SmuxClient, SmuxConfig, StreamId};
use crate::tunnel::ssm::version::{CLIENT_VERSION, ForwardingMode, SmuxKeepAlive};

mod lifecycle;
mod streams;

/// Received smux bytes not yet written to local sockets before the engine stops taking data
/// from the channel (which then stops acking, so the agent slows down).
const SMUX_RECEIVE_BUDGET: usize = 4 << 20;
/// Most websocket messages handled before the engine pumps (and so acks) again.
const BATCH_MESSAGES: usize = 128;
/// Delivered bytes waiting for smux that end a batch early (the channel refuses past 4 MiB).
const BATCH_DELIVERY_BYTES: usize = 1 << 20;
/// Largest chunk handed to a local writer.
const LOCAL_CHUNK: usize = 64 << 10;
/// First reconnect delay; doubled per failure up to [`MAX_RECONNECT_DELAY`].
const FIRST_RECONNECT_DELAY: Duration = Duration::from_millis(100);
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);
/// How long the `TerminateSession` API call may take on close.
const TERMINATE_TIMEOUT: Duration = Duration::from_secs(10);

enum Phase {
    AwaitRequest,
    AwaitComplete(PortSession),
    Ready,
}

/// Why the engine stopped driving the session.
enum Exit {
    /// `Tunnel::close`, or the handle was dropped.
    CloseRequested,
    /// The session cannot go on.
    Failed(TunnelError),
}

/// What [`Engine::new`] needs.
pub(super) struct EngineParts {
    pub(super) api: SessionApi,
    pub(super) session_id: String,
    pub(super) stream_url: String,
    pub(super) connector: Connector,
    pub(super) options: TunnelOptions,
    pub(super) ws: Ws,
    pub(super) channel: DataChannel,
    pub(super) shared: Arc<Shared>,
    pub(super) events: mpsc::Receiver<LocalEvent>,
    pub(super) events_tx: mpsc::Sender<LocalEvent>,
    pub(super) listener: JoinHandle<()>,
    pub(super) ready: oneshot::Sender<Result<(), TunnelError>>,
}

/// The session's state; see the module docs.
pub(super) struct Engine {
    api: SessionApi,
    session_id: String,
    stream_url: String,
    connector: Connector,
    options: TunnelOptions,
    ws: Option<Ws>,
    channel: DataChannel,
    shared: Arc<Shared>,
    events: mpsc::Receiver<LocalEvent>,
    events_tx: mpsc::Sender<LocalEvent>,
    listener: JoinHandle<()>,
    ready: Option<oneshot::Sender<Result<(), TunnelError>>>,
    phase: Phase,
    smux: Option<SmuxClient>,
    connections: BTreeMap<StreamId, Connection>,
    /// Local bytes smux had no room for yet; no more local input is read until they fit.
    stalled: Option<(StreamId, Bytes)>,
    written: Arc<Notify>,
    connect_errors_pending: u32,
    started: Instant,
    last_received: Instant,
    last_ping: Instant,
    bytes_in: u64,
    bytes_out: u64,
    total_connections: u64,
    reconnects: u64,
    agent_version: Option<String>,
    last_error: Option<String>,
}

async fn next_message(ws: &mut Option<Ws>) -> Option<Result<Message, WsError>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

impl Engine {
    pub(super) fn new(parts: EngineParts) -> Self {
        let now = Instant::now();
        Self {
            api: parts.api,
            session_id: parts.session_id,
            stream_url: parts.stream_url,
            connector: parts.connector,
            options: parts.options,
            ws: Some(parts.ws),
            channel: parts.channel,
            shared: parts.shared,
            events: parts.events,
            events_tx: parts.events_tx,
            listener: parts.listener,
            ready: Some(parts.ready),
            phase: Phase::AwaitRequest,
            smux: None,
            connections: BTreeMap::new(),
            stalled: None,
            written: Arc::new(Notify::new()),
            connect_errors_pending: 0,
            started: now,
            last_received: now,
            last_ping: now,
            bytes_in: 0,
            bytes_out: 0,
            total_connections: 0,
            reconnects: 0,
            agent_version: None,
            last_error: None,
        }
    }

    /// Runs the session until it is closed or fails; the session is terminated either way.
    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<()>) -> Result<(), TunnelError> {
        let exit = self.drive(&mut commands).await;
        let result = match exit {
            Exit::CloseRequested => {
                self.say_goodbye().await;
                self.terminate().await
            }
            Exit::Failed(error) => {
                tracing::warn!("tunnel {}: {error}", self.session_id);
                // Best effort: the session may be gone already; the error that matters is `error`.
                if let Err(terminate_error) = self.terminate().await {
                    tracing::warn!("{terminate_error}");
                }
                self.last_error = Some(error.to_string());
                Err(error)
            }
        };
        if let Some(ws) = self.ws.as_mut() {
            _ = ws.close(None).await;
        }
        self.ws = None;
        // Closed means closed: wait until the accept task (and its socket) is gone.
        self.listener.abort();
        _ = (&mut self.listener).await;
        self.connections.clear();
        self.publish();
        self.shared.set_state(TunnelState::Closed);
        match (self.ready.take(), result) {
            // Failed before the tunnel was handed out: `open` reports the error.
            (Some(ready), Err(error)) => {
                _ = ready.send(Err(error));
                Ok(())
            }
            (_, result) => result,
        }
    }

    async fn drive(&mut self, commands: &mut mpsc::Receiver<()>) -> Exit {
        loop {
            if let Err(error) = self.pump().await {
                return Exit::Failed(error);
            }
            if self.ws.is_none()
                && let Err(exit) = self.reconnect(commands).await
            {
                return exit;
            }
            self.publish();
            let deadline = self.next_deadline();
            let take_local = matches!(self.phase, Phase::Ready) && self.stalled.is_none();
            let blocked = self
                .connections
                .values()
                .any(|connection| connection.blocked);
            let step = tokio::select! {
                _ = commands.recv() => Err(Exit::CloseRequested),
                message = next_message(&mut self.ws) => self.on_messages(message).await,
                Some(event) = self.events.recv(), if take_local => self.on_local(event),
                () = self.written.notified(), if blocked => Ok(()),
                () = tokio::time::sleep_until(deadline.into()) => self.on_timeout().await,
            };
            if let Err(exit) = step {
                return exit;
            }
        }
    }

    /// Moves everything that can move: deliveries to the handshake or smux, smux data to local
    /// writers, local data into smux, smux frames into the channel, the channel to the socket.
    async fn pump(&mut self) -> Result<(), TunnelError> {
        let now = Instant::now();
        let blocked: Vec<StreamId> = self
            .connections
            .iter()
            .filter(|(_, connection)| connection.blocked)
            .map(|(id, _)| *id)
            .collect();
        for stream_id in blocked {
            self.flush_stream(stream_id);
        }
        self.deliver(now).await?;
        self.drain_smux_events();
        self.feed_channel(now);
        if let Some((stream_id, data)) = self.stalled.take() {
            self.write_stream(stream_id, &data)?;
            self.feed_channel(now);
        }
        self.transmit(now).await;
        Ok(())
    }

    async fn deliver(&mut self, now: Instant) -> Result<(), TunnelError> {
        loop {
            if self
                .smux
                .as_ref()
                .is_some_and(|smux| smux.received_bytes() >= SMUX_RECEIVE_BUDGET)
            {
                return Ok(());
            }
            let Some(delivery) = self.channel.poll_delivery() else {
                return Ok(());
            };
            match (delivery.payload_type, &self.phase) {
                (PayloadType::HandshakeRequest, Phase::AwaitRequest) => {
                    self.answer(&delivery.payload, now).await?;
                }
                (PayloadType::HandshakeComplete, Phase::AwaitComplete(session)) => {
                    let complete =
                        HandshakeComplete::from_json(&delivery.payload).unwrap_or_default();
                    if !complete.customer_message.is_empty() {
                        tracing::info!("SSM agent: {}", complete.customer_message);
                    }
                    let keepalive = match session.mode {
                        ForwardingMode::Mux(keepalive) => keepalive,
                        ForwardingMode::Basic | ForwardingMode::StandardStream => {
                            SmuxKeepAlive::Required
                        }
                    };
                    let config = SmuxConfig {
                        keepalive,
                        ..SmuxConfig::default()
                    };
                    self.smux = Some(SmuxClient::new(config, now));
                    self.phase = Phase::Ready;
                    self.shared.set_state(TunnelState::Ready);
                    if let Some(ready) = self.ready.take() {
                        _ = ready.send(Ok(()));
                    }
                }
                (PayloadType::Output, Phase::Ready) => {
                    if let Some(smux) = self.smux.as_mut() {
                        smux.receive(&delivery.payload)?;
                    }
                }
                (PayloadType::Flag, _) => match PortFlag::from_payload(&delivery.payload) {
                    Ok(PortFlag::ConnectToPortError) => self.connect_errors_pending += 1,
                    other => tracing::debug!("tunnel: ignoring flag {other:?}"),
                },
                (payload_type, _) => {
                    tracing::debug!("tunnel: ignoring a {payload_type:?} payload");
                }
            }
        }
    }

    /// Answers the handshake request; a refusal is sent to the agent before failing.
    async fn answer(&mut self, payload: &[u8], now: Instant) -> Result<(), TunnelError> {
        let request = HandshakeRequest::from_json(payload).map_err(|error| {
            HandshakeError::BadSessionTypeParameters {
                reason: error.to_string(),
            }
        })?;
        self.agent_version = Some(request.agent_version.clone());
        let answer = answer_handshake(&request, CLIENT_VERSION, BasicMode::Refuse);
        let json = answer.response.to_json().map_err(|error| {
            HandshakeError::BadSessionTypeParameters {
                reason: error.to_string(),
            }
        })?;
        if let Err(error) = self.channel.send(PayloadType::HandshakeResponse, json, now) {
            tracing::warn!("tunnel: cannot send the handshake response: {error}");
        }
        match answer.outcome {
            Ok(session) => {
                self.phase = Phase::AwaitComplete(session);
                Ok(())
            }
            Err(error) => {
                self.transmit(now).await;
                Err(error.into())
            }
        }
    }

    fn feed_channel(&mut self, now: Instant) {
        let Some(smux) = self.smux.as_mut() else {
            return;
        };
        let max_payload = self.channel.config().max_payload_bytes;
        while self.channel.send_window_free() > 0 {
            let Some(bytes) = smux.poll_transmit(max_payload) else {
                return;
            };
            if let Err(error) = self.channel.send(PayloadType::Output, bytes, now) {
                // Cannot happen: the window has room and the chunk fits.
                tracing::error!("tunnel: lost smux bytes: {error}");
                return;
            }
        }
    }

    /// Writes every due message to the websocket; a failure means the socket is gone.
    async fn transmit(&mut self, now: Instant) {
        let Some(ws) = self.ws.as_mut() else {
            return;
        };
        let mut fed = false;
        while let Some(wire) = self.channel.poll_transmit(now) {
            if let Err(error) = ws.feed(Message::Binary(wire)).await {
                self.lose_ws(&format!("sending failed: {error}"));
                return;
            }
            fed = true;
        }
        if fed && let Err(error) = ws.flush().await {
            self.lose_ws(&format!("sending failed: {error}"));
        }
    }

    fn lose_ws(&mut self, reason: &str) {
        if self.ws.take().is_some() {
            tracing::info!("tunnel {}: data channel lost: {reason}", self.session_id);
        }
    }

    /// Handles `first` and whatever else already arrived (up to a batch), so acks and deliveries
    /// go out together instead of one pump and one socket flush per message.
    async fn on_messages(&mut self, first: Option<Result<Message, WsError>>) -> Result<(), Exit> {
        self.on_message(first).await?;
        for _ in 1..BATCH_MESSAGES {
            if self.channel.pending_delivery_bytes() >= BATCH_DELIVERY_BYTES {
                break;
            }
            let Some(ws) = self.ws.as_mut() else {
                break;
            };
            let Some(message) = ws.next().now_or_never() else {
                break;
            };
            self.on_message(message).await?;
        }
        Ok(())
    }

    async fn on_message(&mut self, message: Option<Result<Message, WsError>>) -> Result<(), Exit> {
        let now = Instant::now();
        match message {
            Some(Ok(Message::Binary(wire))) => {
                self.last_received = now;
                match self.channel.handle_message(&wire, now) {
                    Ok(Received::ChannelClosed(closed)) => {
                        let reason = if closed.output.is_empty() {
                            "the session was terminated".to_owned()
                        } else {
                            closed.output
                        };
                        return Err(Exit::Failed(TunnelError::SessionEnded {
                            session_id: self.session_id.clone(),
                            reason,
                        }));
                    }
                    Ok(Received::Ignored { message_type }) => {
                        tracing::debug!("tunnel: ignoring a {message_type} message");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::debug!("tunnel: {error}"),
                }
            }
            Some(Ok(Message::Ping(_))) => {
                self.last_received = now;
                // tungstenite queued the pong; flushing sends it.
                if let Some(ws) = self.ws.as_mut()
                    && let Err(error) = ws.flush().await
                {
                    self.lose_ws(&error.to_string());
                }
            }
            Some(Ok(Message::Pong(_) | Message::Frame(_))) => self.last_received = now,
            Some(Ok(Message::Text(text))) => {
                tracing::warn!("tunnel: unexpected text message ({} bytes)", text.len());
            }
            Some(Ok(Message::Close(frame))) => {
                let reason = frame.map_or_else(String::new, |frame| frame.to_string());
                self.lose_ws(&format!("closed by the service {reason}"));
            }
            Some(Err(error)) => self.lose_ws(&error.to_string()),
            None => self.lose_ws("connection closed"),
        }
        Ok(())
    }

    fn next_deadline(&self) -> Instant {
        let now = Instant::now();
        let ping = self.options.ping_interval;
        let mut deadline = now + Duration::from_secs(1);
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                deadline = deadline.min(at);
            }
        };
        consider(self.channel.poll_timeout());
        consider(self.smux.as_ref().and_then(SmuxClient::poll_timeout));
        if self.ws.is_some() {
            consider(Some(self.last_ping + ping));
            consider(Some(self.last_received + ping * 2));
        }
        if !matches!(self.phase, Phase::Ready) {
            consider(Some(self.started + self.options.handshake_timeout));
        }
        deadline.max(now)
    }

    async fn on_timeout(&mut self) -> Result<(), Exit> {
        let now = Instant::now();
        if let Some(smux) = self.smux.as_mut() {
            smux.handle_timeout(now);
        }
        if !matches!(self.phase, Phase::Ready)
            && now >= self.started + self.options.handshake_timeout
        {
            return Err(Exit::Failed(TunnelError::HandshakeTimeout {
                timeout: self.options.handshake_timeout,
            }));
        }
        let ping = self.options.ping_interval;
        if now >= self.last_received + ping * 2 {
            self.lose_ws(&format!("nothing received for {} s", (ping * 2).as_secs()));
        } else if now >= self.last_ping + ping
            && let Some(ws) = self.ws.as_mut()
        {
            self.last_ping = now;
            if let Err(error) = ws
                .send(Message::Ping(Bytes::from_static(b"keepalive")))
                .await
            {
                self.lose_ws(&error.to_string());
            }
        }
        if let Some(since) = self.channel.waiting_for_ack_since()
            && self.ws.is_some()
            && now.saturating_duration_since(since) >= self.options.ack_stall_budget
        {
            return Err(Exit::Failed(TunnelError::Stalled {
                budget: self.options.ack_stall_budget,
            }));
        }
        Ok(())
    }

    fn publish(&self) {
        let smux_open = self.smux.as_ref().map_or(0, SmuxClient::open_streams);
        let channel = self.channel.stats();
        self.shared.update(|stats| {
            stats.bytes_in = self.bytes_in;
            stats.bytes_out = self.bytes_out;
            stats.round_trip_time = self.channel.srtt();
            stats.retransmission_timeout = self.channel.rto();
            stats.open_connections = self.connections.len().max(smux_open);
            stats.total_connections = self.total_connections;
            stats.reconnects = self.reconnects;
            stats.messages_sent = channel.sent;
            stats.messages_retransmitted = channel.retransmitted;
            stats.duplicates_received = channel.duplicates_received;
            stats.agent_version.clone_from(&self.agent_version);
            stats.last_error.clone_from(&self.last_error);
        });
    }
}
