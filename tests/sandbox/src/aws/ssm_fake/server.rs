//! The service side of the data channel: a websocket server on 127.0.0.1 (the `StreamUrl`s point
//! here) that checks the path, the `OpenDataChannelInput` text frame and its token, records
//! signed upgrades, and hands each authenticated websocket to its session's agent, starting the
//! agent on the first one.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::agent::{self, AgentPlan};
use super::wire::OpenDataChannel;
use super::{SessionEntry, SsmFaults, Ws};
use crate::aws::front::state::{SharedState, lock};

/// How long the client has to send its token after the upgrade.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts websockets until the runtime ends.
pub(crate) async fn serve(listener: TcpListener, state: SharedState) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            _ = tcp.set_nodelay(true);
            accept(tcp, state).await;
        });
    }
}

async fn reject(mut ws: Ws, reason: &str) {
    _ = ws
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Policy,
            reason: reason.to_owned().into(),
        })))
        .await;
}

async fn accept(tcp: TcpStream, state: SharedState) {
    let mut path = String::new();
    let mut signed = false;
    #[expect(
        clippy::result_large_err,
        reason = "the Result type is tungstenite's callback contract"
    )]
    let callback = |request: &Request, response: Response| {
        request.uri().path().clone_into(&mut path);
        signed = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value.starts_with("AWS4-HMAC-SHA256 ")
                    && value.contains("/ssmmessages/aws4_request")
            });
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
        return;
    };
    let Some(session_id) = path.strip_prefix("/v1/data-channel/").map(str::to_owned) else {
        reject(ws, "unknown path").await;
        return;
    };
    let open = match tokio::time::timeout(OPEN_TIMEOUT, ws.next()).await {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<OpenDataChannel>(&text).ok(),
        _ => None,
    };
    let admitted = {
        let mut guard = lock(&state);
        let faults = guard.ssm.faults.clone();
        match guard.ssm.sessions.get_mut(&session_id) {
            None => Err("no such session"),
            Some(entry) => admit(entry, open, signed, &session_id, faults, &state),
        }
    };
    match admitted {
        Err(reason) => reject(ws, reason).await,
        Ok(Attach::Existing(attach)) => {
            if let Err(returned) = attach.send(ws).await {
                reject(returned.0, "session is over").await;
            }
        }
        Ok(Attach::New(plan, attached)) => agent::run(plan, ws, attached).await,
    }
}

/// Records the connection and decides where the websocket goes.
fn admit(
    entry: &mut SessionEntry,
    open: Option<OpenDataChannel>,
    signed: bool,
    session_id: &str,
    faults: SsmFaults,
    state: &SharedState,
) -> Result<Attach, &'static str> {
    if let Err(reason) = check(entry, open.as_ref()) {
        entry.record.rejected_connections += 1;
        return Err(reason);
    }
    entry.record.connections += 1;
    entry.record.signed_connections += u32::from(signed);
    entry.record.client_version = open.map(|open| open.client_version);
    if let Some(attach) = &entry.attach {
        return Ok(Attach::Existing(attach.clone()));
    }
    let (attach, attached) = mpsc::channel(4);
    entry.attach = Some(attach);
    let plan = AgentPlan {
        session_id: session_id.to_owned(),
        state: Arc::clone(state),
        faults,
        properties: entry.properties.clone(),
        destination: entry.destination,
        terminate: Arc::clone(&entry.terminate),
    };
    Ok(Attach::New(plan, attached))
}

enum Attach {
    Existing(mpsc::Sender<Ws>),
    New(AgentPlan, mpsc::Receiver<Ws>),
}

/// Whether the first frame admits this websocket to the session (reference §10.2 step 2).
fn check(entry: &mut SessionEntry, open: Option<&OpenDataChannel>) -> Result<(), &'static str> {
    let open = open.ok_or("the first message must be an OpenDataChannelInput text frame")?;
    if entry.record.terminated {
        return Err("the session is terminated");
    }
    if open.message_schema_version != "1.0" {
        return Err("MessageSchemaVersion must be 1.0");
    }
    if open.request_id.len() != 36 {
        return Err("RequestId must be a UUID");
    }
    if open.token_value != entry.token {
        return Err("invalid or expired token");
    }
    match &entry.client_id {
        Some(client_id) if *client_id != open.client_id => {
            Err("ClientId differs from the session's first connection")
        }
        Some(_) => Ok(()),
        None => {
            entry.client_id = Some(open.client_id.clone());
            Ok(())
        }
    }
}
