//! The fake SSM Session Manager: the session API (`StartSession`, `ResumeSession`,
//! `TerminateSession`, in `api.rs`), the service's websocket data channel (`server.rs`) and the
//! agent behind it (`agent.rs`: handshake, acks and retransmission in `arq.rs`, the port plugin
//! with an `async_smux` server in `forward.rs`), with fault injection (`faults.rs`). Everything
//! follows the shared protocol reference; the codec (`wire.rs`) is this module's own.
//!
//! The data channel is plain `ws://` on 127.0.0.1: the client accepts `ws://` for loopback
//! stream URLs only, so no certificate is needed and nothing leaves the machine.

mod agent;
pub(crate) mod api;
mod arq;
mod faults;
mod forward;
mod link;
pub(crate) mod plugin_stub;
pub(crate) mod server;
mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::WebSocketStream;

pub use faults::SsmFaults;

/// A data-channel websocket as the fake holds it.
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// What happened to one session, for tests to assert on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SsmSessionRecord {
    /// `sandbox-…`.
    pub session_id: String,
    /// The `Target` of `StartSession`.
    pub target: String,
    /// The document.
    pub document_name: String,
    /// The parameters as sent (string lists).
    pub parameters: BTreeMap<String, Vec<String>>,
    /// Whether the session is over.
    pub terminated: bool,
    /// How it ended: `api` (`TerminateSession`), `flag` (the client's `TerminateSession` flag).
    pub terminated_by: Vec<String>,
    /// `TerminateSession` calls for it.
    pub terminate_calls: u32,
    /// `ResumeSession` calls for it.
    pub resume_calls: u32,
    /// Websockets accepted with a valid token.
    pub connections: u32,
    /// Websockets refused (bad or old token, other client id, terminated session).
    pub rejected_connections: u32,
    /// Accepted websockets whose upgrade carried a SigV4 `Authorization` for `ssmmessages`.
    pub signed_connections: u32,
    /// `ClientVersion` of the last `OpenDataChannelInput`.
    pub client_version: Option<String>,
    /// `ClientVersion` of the handshake response.
    pub handshake_client_version: Option<String>,
    /// Websocket drops the fault knobs caused.
    pub injected_drops: u32,
    /// Stream messages the agent sent for the first time.
    pub agent_sent: u64,
    /// Stream messages the agent resent.
    pub agent_retransmitted: u64,
}

/// One session's live state.
pub(crate) struct SessionEntry {
    pub(crate) record: SsmSessionRecord,
    /// The token the next websocket must present (replaced by `ResumeSession`).
    pub(crate) token: String,
    /// The first websocket's `ClientId`; reconnects must repeat it.
    pub(crate) client_id: Option<String>,
    /// Hands a new websocket to the running agent.
    pub(crate) attach: Option<mpsc::Sender<Ws>>,
    /// Wakes the agent to send `channel_closed` and stop.
    pub(crate) terminate: Arc<Notify>,
    /// The document's properties, sent in the handshake.
    pub(crate) properties: serde_json::Map<String, serde_json::Value>,
    /// Where streams go.
    pub(crate) destination: Option<SocketAddr>,
}

/// Every session of the fake, with the fault knobs.
#[derive(Default)]
pub(crate) struct SsmSessions {
    pub(crate) sessions: BTreeMap<String, SessionEntry>,
    pub(crate) faults: SsmFaults,
    /// The websocket server's port on 127.0.0.1.
    pub(crate) ws_port: u16,
}

impl SsmSessions {
    /// The records, sorted by session id.
    pub(crate) fn records(&self) -> Vec<SsmSessionRecord> {
        self.sessions
            .values()
            .map(|entry| entry.record.clone())
            .collect()
    }
}
