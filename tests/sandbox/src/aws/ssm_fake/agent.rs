//! The agent side of one session, across websocket reconnects: the handshake (reference §5), the
//! agent's sequencing rules (§4.3: before `HandshakeComplete` non-handshake input is acked and
//! discarded; duplicates are re-acked; output is refused, unacked, while the port plugin cannot
//! take it), retransmission, the `TerminateSession` flag, `channel_closed`, and the fault knobs.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::arq::{Accepted, Arq};
use super::faults::{FaultLink, SsmFaults};
use super::forward::{FlagRequest, Forwarder};
use super::link::{Link, Queued};
use super::wire::{
    ACKNOWLEDGE, AckBody, Frame, HandshakeResponseBody, INPUT_STREAM_DATA, channel_closed, flag,
    payload_type,
};
use super::{SsmSessionRecord, Ws};
use crate::aws::front::state::{SharedState, lock};

/// Messages in flight towards the client before the agent stops reading the port plugin (the
/// agent buffers up to 100000; a smaller window keeps a slow client from being flooded).
const WINDOW_MESSAGES: usize = 1024;
/// Retransmission and delayed-ack timer tick.
const TICK: Duration = Duration::from_millis(5);
/// The agent's sleep after each message towards the client (reference §4.4).
const PACE: Duration = Duration::from_millis(1);
/// How far the pacing schedule may lag before it restarts from now (no bursts after a stall).
const PACE_SLACK: Duration = Duration::from_millis(5);
/// Default `AgentVersion`: a current agent (mux, no smux keep-alive for current clients).
const DEFAULT_AGENT_VERSION: &str = "3.3.1142.0";
/// The agent uses smux for clients at least this new (reference §6.1).
const MUX_MIN_CLIENT_VERSION: &str = "1.1.70";

/// What the agent needs to know about its session.
pub(crate) struct AgentPlan {
    pub(crate) session_id: String,
    pub(crate) state: SharedState,
    pub(crate) faults: SsmFaults,
    pub(crate) properties: serde_json::Map<String, serde_json::Value>,
    pub(crate) destination: Option<SocketAddr>,
    pub(crate) terminate: Arc<Notify>,
}

enum Phase {
    Handshake { started: Instant },
    Ready(Forwarder),
}

/// Whether a message counts towards `drop_every_messages`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Counted {
    /// A first transmission (data or ack).
    Yes,
    /// A retransmission.
    No,
}

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Stop,
}

struct Agent {
    plan: AgentPlan,
    ws: Option<Link>,
    arq: Arq,
    to_client: FaultLink,
    from_client: FaultLink,
    delayed_acks: VecDeque<(Instant, Bytes)>,
    sent_on_socket: u64,
}

/// Runs the session until it ends; `first` is the first authenticated websocket and `attach`
/// brings the later ones.
pub(crate) async fn run(plan: AgentPlan, first: Ws, mut attach: mpsc::Receiver<Ws>) {
    let mut agent = Agent {
        to_client: FaultLink::new(&plan.faults, 1),
        from_client: FaultLink::new(&plan.faults, 2),
        plan,
        ws: Some(Link::new(first)),
        arq: Arq::new(),
        delayed_acks: VecDeque::new(),
        sent_on_socket: 0,
    };
    let request = json!({
        "AgentVersion": agent.plan.faults.agent_version.as_deref().unwrap_or(DEFAULT_AGENT_VERSION),
        "RequestedClientActions": [{
            "ActionType": "SessionType",
            "ActionParameters": { "SessionType": "Port", "Properties": agent.plan.properties },
        }],
    });
    agent.send_sequenced(payload_type::HANDSHAKE_REQUEST, request.to_string().into());
    let mut phase = Phase::Handshake {
        started: Instant::now(),
    };
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let terminate = Arc::clone(&agent.plan.terminate);
    let mut pace_at = tokio::time::Instant::now();
    loop {
        let window_open = agent.ws.is_some() && agent.arq.unacked_len() < WINDOW_MESSAGES;
        let flow = tokio::select! {
            () = terminate.notified() => {
                agent.close("").await;
                Flow::Stop
            }
            Some(ws) = attach.recv() => {
                agent.attach(ws);
                Flow::Continue
            }
            message = next_message(&mut agent.ws) => agent.incoming(message, &mut phase).await,
            event = next_event(&mut phase, window_open) => match event {
                ReadyEvent::Output(output) => {
                    agent.send_sequenced(payload_type::OUTPUT, output);
                    if agent.plan.faults.paced {
                        // 1 ms per message on average: the timer rounds each sleep up to the next
                        // millisecond, so sleep to a schedule rather than for 1 ms each time.
                        let now = tokio::time::Instant::now();
                        pace_at = pace_at.max(now - PACE_SLACK) + PACE;
                        tokio::time::sleep_until(pace_at).await;
                    }
                    Flow::Continue
                }
                ReadyEvent::Flag((value, sequenced)) => {
                    let payload = Bytes::copy_from_slice(&value.to_be_bytes());
                    agent.send_sequenced(payload_type::FLAG, payload);
                    _ = sequenced.send(());
                    Flow::Continue
                }
            },
            _ = tick.tick() => agent.on_tick(&mut phase).await,
        };
        if flow == Flow::Stop {
            agent.update_record(|_| {});
            return;
        }
    }
}

async fn next_message(
    ws: &mut Option<Link>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

enum ReadyEvent {
    Output(Bytes),
    Flag(FlagRequest),
}

/// Output of the port plugin (only while the window is open) or a flag it wants sent.
async fn next_event(phase: &mut Phase, window_open: bool) -> ReadyEvent {
    match phase {
        Phase::Ready(forwarder) => tokio::select! {
            Some(output) = forwarder.from_smux.recv(), if window_open => ReadyEvent::Output(output),
            Some(request) = forwarder.flags.recv() => ReadyEvent::Flag(request),
            else => std::future::pending().await,
        },
        Phase::Handshake { .. } => std::future::pending().await,
    }
}

/// The agent's version comparison, component-wise and numeric (enough for `x.y.z[.w]`).
fn version_at_least(version: &str, minimum: &str) -> bool {
    let parse = |text: &str| -> Vec<u64> {
        text.split('.')
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    };
    parse(version) >= parse(minimum)
}

impl Agent {
    fn update_record(&self, change: impl FnOnce(&mut SsmSessionRecord)) {
        let mut state = lock(&self.plan.state);
        if let Some(entry) = state.ssm.sessions.get_mut(&self.plan.session_id) {
            change(&mut entry.record);
            entry.record.agent_sent = self.arq.sent;
            entry.record.agent_retransmitted = self.arq.retransmitted;
        }
    }

    /// A reconnect: every unacknowledged message goes out again at once, as the agent does.
    fn attach(&mut self, ws: Ws) {
        self.ws = Some(Link::new(ws));
        self.sent_on_socket = 0;
        for wire in self.arq.all_unacked(Instant::now()) {
            self.send_raw(wire, Counted::No);
        }
    }

    /// Sends one message through the fault link; drops the socket when the knob says so, counting
    /// first transmissions only: with resends counted, a reconnect that resends a full window
    /// of at least `drop_every_messages` would be dropped again before any ack is read, forever.
    fn send_raw(&mut self, wire: Bytes, counted: Counted) {
        let Some(ws) = self.ws.as_ref() else {
            return;
        };
        for message in self.to_client.pass(wire) {
            if let Queued::Closed = ws.send(Message::Binary(message)) {
                self.ws = None;
                return;
            }
        }
        if counted == Counted::No {
            return;
        }
        self.sent_on_socket += 1;
        let every = self.plan.faults.drop_every_messages;
        if every > 0 && self.sent_on_socket >= every {
            // Dropping the stream closes the TCP connection without a close frame.
            self.ws = None;
            self.update_record(|record| record.injected_drops += 1);
        }
    }

    fn send_sequenced(&mut self, payload_type: u32, payload: Bytes) {
        let wire = self.arq.sequence(payload_type, payload, Instant::now());
        self.send_raw(wire, Counted::Yes);
    }

    fn send_ack(&mut self, ack: Bytes) {
        let delay = Duration::from_millis(self.plan.faults.ack_delay_millis);
        if delay.is_zero() {
            self.send_raw(ack, Counted::Yes);
        } else {
            self.delayed_acks.push_back((Instant::now() + delay, ack));
        }
    }

    /// `channel_closed` (not subject to faults), a close frame, and no more socket.
    async fn close(&mut self, output: &str) {
        if let Some(ws) = self.ws.take() {
            let closed = channel_closed(&self.plan.session_id, output).encode();
            ws.send(Message::Binary(closed));
            ws.send(Message::Close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "session closed".into(),
            })));
            ws.close().await;
        }
    }

    async fn incoming(
        &mut self,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        phase: &mut Phase,
    ) -> Flow {
        match message {
            Some(Ok(Message::Binary(bytes))) => {
                for wire in self.from_client.pass(bytes) {
                    if self.handle_frame(&wire, phase).await == Flow::Stop {
                        return Flow::Stop;
                    }
                }
                Flow::Continue
            }
            Some(Ok(Message::Ping(data))) => {
                if let Some(ws) = self.ws.as_ref() {
                    ws.send(Message::Pong(data));
                }
                Flow::Continue
            }
            Some(Ok(Message::Text(_) | Message::Pong(_) | Message::Frame(_))) => Flow::Continue,
            Some(Ok(Message::Close(_)) | Err(_)) | None => {
                // The client went away; it may come back with ResumeSession.
                self.ws = None;
                Flow::Continue
            }
        }
    }

    async fn handle_frame(&mut self, wire: &Bytes, phase: &mut Phase) -> Flow {
        let Some(frame) = Frame::decode(wire) else {
            return Flow::Continue;
        };
        match frame.message_type.as_str() {
            ACKNOWLEDGE => {
                if let Ok(ack) = serde_json::from_slice::<AckBody>(&frame.payload) {
                    self.arq
                        .acknowledged(ack.acknowledged_message_sequence_number, Instant::now());
                }
                Flow::Continue
            }
            INPUT_STREAM_DATA => {
                let ack = frame.ack().encode();
                if self.arq.accept(frame) != Accepted::Refused {
                    self.send_ack(ack);
                }
                self.deliver(phase).await
            }
            _ => Flow::Continue,
        }
    }

    /// Hands in-order input to the handshake or the port plugin, as far as it takes it.
    async fn deliver(&mut self, phase: &mut Phase) -> Flow {
        while let Some(frame) = self.arq.peek_ready() {
            let payload_type = frame.payload_type;
            let payload = frame.payload.clone();
            match phase {
                Phase::Handshake { started } => {
                    let started = *started;
                    self.arq.pop_ready();
                    if payload_type != payload_type::HANDSHAKE_RESPONSE {
                        continue;
                    }
                    match self.complete_handshake(&payload, started).await {
                        Some(forwarder) => *phase = Phase::Ready(forwarder),
                        None => return Flow::Stop,
                    }
                }
                Phase::Ready(forwarder) => match payload_type {
                    payload_type::OUTPUT => match forwarder.to_smux.try_send(payload) {
                        Ok(()) | Err(TrySendError::Closed(_)) => {
                            self.arq.pop_ready();
                        }
                        // Not acked again, not consumed: retried on the next tick.
                        Err(TrySendError::Full(_)) => return Flow::Continue,
                    },
                    payload_type::FLAG => {
                        self.arq.pop_ready();
                        if payload[..] == flag::TERMINATE_SESSION.to_be_bytes() {
                            self.update_record(|record| {
                                record.terminated = true;
                                record.terminated_by.push("flag".to_owned());
                            });
                            self.terminate_in_state();
                            self.close("").await;
                            return Flow::Stop;
                        }
                    }
                    _ => {
                        self.arq.pop_ready();
                    }
                },
            }
        }
        Flow::Continue
    }

    fn terminate_in_state(&self) {
        let mut state = lock(&self.plan.state);
        if let Some(entry) = state.ssm.sessions.get_mut(&self.plan.session_id) {
            entry.attach = None;
        }
    }

    /// Checks the response, sends `HandshakeComplete` and starts the port plugin; `None` ends
    /// the session (with `channel_closed` naming the reason).
    async fn complete_handshake(&mut self, payload: &[u8], started: Instant) -> Option<Forwarder> {
        let response = serde_json::from_slice::<HandshakeResponseBody>(payload).ok();
        let client_version = response
            .as_ref()
            .map(|response| response.client_version.clone())
            .unwrap_or_default();
        self.update_record(|record| record.handshake_client_version = Some(client_version.clone()));
        let failure = match &response {
            None => Some("malformed handshake response".to_owned()),
            Some(response) => response
                .processed_client_actions
                .iter()
                .find(|action| action.action_status != 1)
                .map(|action| {
                    format!(
                        "client failed action {}: {}",
                        action.action_type, action.error
                    )
                }),
        };
        let failure = failure.or_else(|| {
            (!version_at_least(&client_version, MUX_MIN_CLIENT_VERSION)).then(|| {
                "the sandbox agent supports multiplexed (smux) port sessions only".to_owned()
            })
        });
        if let Some(reason) = failure {
            self.update_record(|record| {
                record.terminated = true;
                record.terminated_by.push("handshake".to_owned());
            });
            self.close(&reason).await;
            return None;
        }
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let complete = json!({ "HandshakeTimeToComplete": nanos, "CustomerMessage": "" });
        self.send_sequenced(
            payload_type::HANDSHAKE_COMPLETE,
            complete.to_string().into(),
        );
        Some(Forwarder::start(
            self.plan.destination,
            self.plan.faults.chunk(),
        ))
    }

    async fn on_tick(&mut self, phase: &mut Phase) -> Flow {
        let now = Instant::now();
        for wire in self.arq.due(now) {
            self.send_raw(wire, Counted::No);
        }
        while self
            .delayed_acks
            .front()
            .is_some_and(|(due, _)| *due <= now)
        {
            if let Some((_, ack)) = self.delayed_acks.pop_front() {
                self.send_raw(ack, Counted::Yes);
            }
        }
        self.update_record(|_| {});
        self.deliver(phase).await
    }
}

#[cfg(test)]
mod tests {
    use super::version_at_least;

    #[test]
    fn versions_compare_component_wise() {
        assert!(version_at_least("1.2.764.0", "1.1.70"));
        assert!(version_at_least("1.1.70", "1.1.70"));
        assert!(!version_at_least("1.1.69.9", "1.1.70"));
        assert!(!version_at_least("", "1.1.70"));
    }
}
