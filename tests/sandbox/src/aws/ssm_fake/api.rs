//! The session API of the fake (reference §10.1): `StartSession` checks the target and document
//! and issues a session id, a token and a `ws://127.0.0.1` stream URL; `ResumeSession` replaces
//! the token (null once the session is over); `TerminateSession` ends the session, tells a
//! connected client with `channel_closed`, and is recorded for tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::forward::destination;
use super::{SessionEntry, SsmSessionRecord};
use crate::aws::front::state::FrontState;
use crate::aws::ids;

/// The two port-forwarding documents.
const REMOTE_HOST_DOCUMENT: &str = "AWS-StartPortForwardingSessionToRemoteHost";
const PORT_DOCUMENT: &str = "AWS-StartPortForwardingSession";

/// An API error: `__type` and message, always HTTP 400.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

fn error(error_type: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        error_type,
        message: message.into(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartSessionRequest {
    target: String,
    #[serde(default)]
    document_name: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SessionIdRequest {
    session_id: String,
}

/// Answers `action` if it is one of the session calls; `None` for anything else.
pub(crate) fn handle(
    state: &mut FrontState,
    action: &str,
    region: &str,
    body: &[u8],
) -> Option<Result<Value, ApiError>> {
    let parse_error = |err: serde_json::Error| error("SerializationException", err.to_string());
    Some(match action {
        "StartSession" => serde_json::from_slice(body)
            .map_err(parse_error)
            .and_then(|request| start_session(state, region, request)),
        "ResumeSession" => serde_json::from_slice(body)
            .map_err(parse_error)
            .and_then(|request: SessionIdRequest| resume_session(state, &request.session_id)),
        "TerminateSession" => serde_json::from_slice(body)
            .map_err(parse_error)
            .map(|request: SessionIdRequest| terminate_session(state, &request.session_id)),
        _ => return None,
    })
}

fn stream_url(ws_port: u16, session_id: &str) -> String {
    format!("ws://127.0.0.1:{ws_port}/v1/data-channel/{session_id}?role=publish_subscribe")
}

fn start_session(
    state: &mut FrontState,
    region: &str,
    request: StartSessionRequest,
) -> Result<Value, ApiError> {
    let connected = state
        .ssm_instances
        .iter()
        .any(|instance| instance.instance_id == request.target && instance.region == region);
    if !connected {
        return Err(error(
            "TargetNotConnected",
            format!("{} is not connected.", request.target),
        ));
    }
    let document_name = request
        .document_name
        .unwrap_or_else(|| "SSM-SessionManagerRunShell".to_owned());
    if document_name != REMOTE_HOST_DOCUMENT && document_name != PORT_DOCUMENT {
        return Err(error(
            "InvalidDocument",
            format!("Document {document_name} is not a port-forwarding document of the sandbox."),
        ));
    }
    let parameter = |name: &str| {
        request
            .parameters
            .get(name)
            .and_then(|values| values.first())
            .cloned()
    };
    let port: u16 = parameter("portNumber")
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| error("ValidationException", "portNumber must be a port number"))?;
    let host = parameter("host");
    if document_name == REMOTE_HOST_DOCUMENT && host.is_none() {
        return Err(error(
            "ValidationException",
            "host is required by AWS-StartPortForwardingSessionToRemoteHost",
        ));
    }
    let mut properties = serde_json::Map::new();
    properties.insert("portNumber".to_owned(), json!(port.to_string()));
    properties.insert(
        "localPortNumber".to_owned(),
        json!(parameter("localPortNumber").unwrap_or_default()),
    );
    properties.insert("type".to_owned(), json!("LocalPortForwarding"));
    if document_name == REMOTE_HOST_DOCUMENT {
        properties.insert("host".to_owned(), json!(host.clone().unwrap_or_default()));
    }
    let session_id = format!("sandbox-{}", &ids::token("")[..17]);
    let token = ids::token("ssm-token-");
    state.ssm.sessions.insert(
        session_id.clone(),
        SessionEntry {
            record: SsmSessionRecord {
                session_id: session_id.clone(),
                target: request.target,
                document_name,
                parameters: request.parameters,
                ..SsmSessionRecord::default()
            },
            token: token.clone(),
            client_id: None,
            attach: None,
            terminate: Arc::new(Notify::new()),
            properties,
            destination: destination(host.as_deref(), port),
        },
    );
    Ok(json!({
        "SessionId": session_id,
        "TokenValue": token,
        "StreamUrl": stream_url(state.ssm.ws_port, &session_id),
    }))
}

fn resume_session(state: &mut FrontState, session_id: &str) -> Result<Value, ApiError> {
    let ws_port = state.ssm.ws_port;
    let entry = state.ssm.sessions.get_mut(session_id).ok_or_else(|| {
        error(
            "DoesNotExistException",
            format!("Session {session_id} does not exist."),
        )
    })?;
    entry.record.resume_calls += 1;
    if entry.record.terminated {
        return Ok(json!({ "SessionId": session_id, "TokenValue": null, "StreamUrl": null }));
    }
    entry.token = ids::token("ssm-token-");
    Ok(json!({
        "SessionId": session_id,
        "TokenValue": entry.token,
        "StreamUrl": stream_url(ws_port, session_id),
    }))
}

fn terminate_session(state: &mut FrontState, session_id: &str) -> Value {
    if let Some(entry) = state.ssm.sessions.get_mut(session_id) {
        entry.record.terminate_calls += 1;
        if !entry.record.terminated {
            entry.record.terminated = true;
            entry.record.terminated_by.push("api".to_owned());
        }
        entry.token.clear();
        entry.terminate.notify_one();
    }
    json!({ "SessionId": session_id })
}
