//! The session handshake (reference §5): the agent's request, our response, its completion, and
//! the decision of how the port session will run.
//!
//! [`answer_handshake`] is pure: it turns a `HandshakeRequest` into the `HandshakeResponse` to send
//! (sequence 0, payload type 6) and into either the [`PortSession`] to set up after
//! `HandshakeComplete` or the reason the session cannot work. Any action answered with a status
//! other than success makes the agent cancel the session, which is how a refusal is delivered.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::payload::{PayloadError, from_json, to_json};
use super::version::{ForwardingMode, MUX_AFTER_AGENT_VERSION, client_forwarding_mode};

/// Action type present in every request: which kind of session this is.
pub const ACTION_SESSION_TYPE: &str = "SessionType";
/// Action type for KMS-encrypted sessions; agents never request it for port sessions.
pub const ACTION_KMS_ENCRYPTION: &str = "KMSEncryption";
/// The session type of both port-forwarding documents.
pub const SESSION_TYPE_PORT: &str = "Port";

/// Agent → client, payload type 5.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeRequest {
    /// The agent's version, e.g. `3.3.1142.0`; decides mux and keep-alive.
    pub agent_version: String,
    /// What the agent asks the client to do.
    #[serde(default)]
    pub requested_client_actions: Vec<RequestedClientAction>,
}

/// One requested action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestedClientAction {
    /// [`ACTION_SESSION_TYPE`], [`ACTION_KMS_ENCRYPTION`] or something newer.
    pub action_type: String,
    /// Action-specific parameters.
    #[serde(default)]
    pub action_parameters: serde_json::Value,
}

/// Parameters of the `SessionType` action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionTypeParameters {
    /// `Port` for port forwarding.
    pub session_type: String,
    /// The document's properties after parameter substitution.
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// Client → agent, payload type 6, always our sequence number 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeResponse {
    /// The version the agent applies its rules to.
    pub client_version: String,
    /// One entry per requested action, in request order.
    pub processed_client_actions: Vec<ProcessedClientAction>,
    /// Error texts, `null` when there are none.
    pub errors: Option<Vec<String>>,
}

/// Our answer to one requested action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessedClientAction {
    /// The requested action's type.
    pub action_type: String,
    /// The outcome.
    pub action_status: ActionStatus,
    /// Always `null` for the actions we handle.
    pub action_result: serde_json::Value,
    /// Why it failed; empty on success.
    pub error: String,
}

/// Outcome of one action, sent as an integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum ActionStatus {
    /// 1.
    Success,
    /// 2: the session is cancelled.
    Failed,
    /// 3: unknown action; the session is cancelled too.
    Unsupported,
}

impl From<ActionStatus> for i64 {
    fn from(status: ActionStatus) -> Self {
        match status {
            ActionStatus::Success => 1,
            ActionStatus::Failed => 2,
            ActionStatus::Unsupported => 3,
        }
    }
}

impl TryFrom<i64> for ActionStatus {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(Self::Success),
            2 => Ok(Self::Failed),
            3 => Ok(Self::Unsupported),
            other => Err(format!("unknown action status {other}")),
        }
    }
}

/// Agent → client, payload type 7: the session is ready.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HandshakeComplete {
    /// How long the handshake took, in nanoseconds.
    pub handshake_time_to_complete: i64,
    /// A message for the user; normally empty for port sessions.
    pub customer_message: String,
}

impl HandshakeRequest {
    /// Parses the JSON payload.
    pub fn from_json(json: &[u8]) -> Result<Self, PayloadError> {
        from_json("handshake request", json)
    }

    /// The JSON payload (used by the fake agent).
    pub fn to_json(&self) -> Result<Bytes, PayloadError> {
        to_json("handshake request", self)
    }
}

impl HandshakeResponse {
    /// Parses the JSON payload (used by the fake agent).
    pub fn from_json(json: &[u8]) -> Result<Self, PayloadError> {
        from_json("handshake response", json)
    }

    /// The JSON payload.
    pub fn to_json(&self) -> Result<Bytes, PayloadError> {
        to_json("handshake response", self)
    }
}

impl HandshakeComplete {
    /// Parses the JSON payload.
    pub fn from_json(json: &[u8]) -> Result<Self, PayloadError> {
        from_json("handshake complete", json)
    }

    /// The JSON payload (used by the fake agent).
    pub fn to_json(&self) -> Result<Bytes, PayloadError> {
        to_json("handshake complete", self)
    }

    /// The handshake duration the agent measured (0 if it reported a negative value).
    pub fn time_to_complete(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.handshake_time_to_complete).unwrap_or(0))
    }
}

/// The document properties a port session uses. Values are strings on the wire; numbers are
/// accepted and turned into their decimal text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortProperties {
    /// Destination port on the target or the remote host.
    pub port_number: Option<String>,
    /// The local port the caller asked for (`0` or empty: any).
    pub local_port_number: Option<String>,
    /// Remote host (`AWS-StartPortForwardingSessionToRemoteHost` only), resolved by the agent.
    pub host: Option<String>,
    /// `LocalPortForwarding` for port sessions.
    pub port_type: Option<String>,
    /// `unix` to listen on a Unix socket instead of TCP.
    pub local_connection_type: Option<String>,
    /// The Unix socket path for `local_connection_type == "unix"`.
    pub local_unix_socket: Option<String>,
}

impl PortProperties {
    /// Reads the known keys of a `Properties` object; unknown keys are ignored.
    pub fn from_map(properties: &serde_json::Map<String, serde_json::Value>) -> Self {
        let text = |key: &str| match properties.get(key)? {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        };
        Self {
            port_number: text("portNumber"),
            local_port_number: text("localPortNumber"),
            host: text("host"),
            port_type: text("type"),
            local_connection_type: text("localConnectionType"),
            local_unix_socket: text("localUnixSocket"),
        }
    }
}

/// What the driver sets up after `HandshakeComplete`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSession {
    /// The agent's version, for diagnostics.
    pub agent_version: String,
    /// The document properties.
    pub properties: PortProperties,
    /// How bytes are carried; never [`ForwardingMode::StandardStream`].
    pub mode: ForwardingMode,
}

/// Whether basic mode (one connection at a time, agents ≤ 3.0.196.0) is acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BasicMode {
    /// Refuse old agents in the handshake, so the session fails at once with a clear reason.
    Refuse,
    /// Accept them; the driver must then forward one connection at a time.
    Accept,
}

/// Why the handshake cannot lead to a working port session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// No `SessionType` action in the request.
    #[error("the agent's handshake request has no SessionType action")]
    NoSessionType,
    /// `SessionType` parameters missing or malformed.
    #[error("the agent's SessionType parameters are malformed: {reason}")]
    BadSessionTypeParameters {
        /// The parser's complaint.
        reason: String,
    },
    /// Not a port session (e.g. a shell document).
    #[error(
        "the session is of type {session_type:?}, not a port session; use a port-forwarding document"
    )]
    NotAPortSession {
        /// The session type the agent reported.
        session_type: String,
    },
    /// A port session whose `type` property is not `LocalPortForwarding`.
    #[error(
        "the document's type property is {port_type:?}, not \"LocalPortForwarding\"; only TCP port forwarding is supported"
    )]
    NotPortForwarding {
        /// The property, if present.
        port_type: Option<String>,
    },
    /// The agent is too old for smux and basic mode was refused.
    #[error(
        "SSM agent {agent_version} is too old for multiplexed port forwarding (needs a version after {MUX_AFTER_AGENT_VERSION}); update the agent on the target"
    )]
    AgentTooOld {
        /// The agent's version.
        agent_version: String,
    },
    /// An action this client does not know.
    #[error("unsupported handshake action {action_type:?}")]
    UnsupportedAction {
        /// The action's type.
        action_type: String,
    },
    /// The agent asked for KMS encryption, which port sessions never use.
    #[error("the agent requested KMS encryption, which is not supported for port sessions")]
    EncryptionRequested,
}

/// The response to send and what the session will be.
#[derive(Clone, Debug, PartialEq)]
pub struct HandshakeAnswer {
    /// Send this as payload type 6 (it tells the agent to cancel if `outcome` is an error).
    pub response: HandshakeResponse,
    /// The session to set up after `HandshakeComplete`, or why there will be none.
    pub outcome: Result<PortSession, HandshakeError>,
}

/// Answers a handshake request as a port-forwarding client reporting `client_version`.
pub fn answer_handshake(
    request: &HandshakeRequest,
    client_version: &str,
    basic_mode: BasicMode,
) -> HandshakeAnswer {
    let mut processed = Vec::with_capacity(request.requested_client_actions.len());
    let mut session = None;
    // Any failed action makes the agent cancel the session, so the first failure is the outcome.
    let mut failure = None;
    for action in &request.requested_client_actions {
        let result = match action.action_type.as_str() {
            ACTION_SESSION_TYPE => port_session(
                request,
                &action.action_parameters,
                client_version,
                basic_mode,
            )
            .map(|port_session| {
                session.get_or_insert(port_session);
            })
            .map_err(|error| (ActionStatus::Failed, error)),
            ACTION_KMS_ENCRYPTION => {
                Err((ActionStatus::Failed, HandshakeError::EncryptionRequested))
            }
            other => Err((
                ActionStatus::Unsupported,
                HandshakeError::UnsupportedAction {
                    action_type: other.to_owned(),
                },
            )),
        };
        let (action_status, error) = match result {
            Ok(()) => (ActionStatus::Success, String::new()),
            Err((status, error)) => {
                let text = error.to_string();
                failure.get_or_insert(error);
                (status, text)
            }
        };
        processed.push(ProcessedClientAction {
            action_type: action.action_type.clone(),
            action_status,
            action_result: serde_json::Value::Null,
            error,
        });
    }
    let errors: Vec<String> = processed
        .iter()
        .filter(|action| !action.error.is_empty())
        .map(|action| action.error.clone())
        .collect();
    let outcome = match (failure, session) {
        (Some(error), _) => Err(error),
        (None, Some(session)) => Ok(session),
        (None, None) => Err(HandshakeError::NoSessionType),
    };
    HandshakeAnswer {
        response: HandshakeResponse {
            client_version: client_version.to_owned(),
            processed_client_actions: processed,
            errors: (!errors.is_empty()).then_some(errors),
        },
        outcome,
    }
}

fn port_session(
    request: &HandshakeRequest,
    parameters: &serde_json::Value,
    client_version: &str,
    basic_mode: BasicMode,
) -> Result<PortSession, HandshakeError> {
    let parameters = SessionTypeParameters::deserialize(parameters).map_err(|error| {
        HandshakeError::BadSessionTypeParameters {
            reason: error.to_string(),
        }
    })?;
    if parameters.session_type != SESSION_TYPE_PORT {
        return Err(HandshakeError::NotAPortSession {
            session_type: parameters.session_type,
        });
    }
    let properties = PortProperties::from_map(&parameters.properties);
    let mode = client_forwarding_mode(
        properties.port_type.as_deref(),
        &request.agent_version,
        client_version,
    );
    match (mode, basic_mode) {
        (ForwardingMode::StandardStream, _) => Err(HandshakeError::NotPortForwarding {
            port_type: properties.port_type,
        }),
        (ForwardingMode::Basic, BasicMode::Refuse) => Err(HandshakeError::AgentTooOld {
            agent_version: request.agent_version.clone(),
        }),
        _ => Ok(PortSession {
            agent_version: request.agent_version.clone(),
            properties,
            mode,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tunnel::ssm::version::{CLIENT_VERSION, SmuxKeepAlive};

    /// The reference's example request (§5.1).
    const REQUEST: &str = r#"{"AgentVersion":"3.3.1142.0","RequestedClientActions":[{"ActionType":"SessionType",
        "ActionParameters":{"SessionType":"Port","Properties":{"host":"mydb.xyz.rds.amazonaws.com",
        "localPortNumber":"0","portNumber":"5432","type":"LocalPortForwarding"}}}]}"#;

    fn request_with(agent_version: &str, actions: &serde_json::Value) -> HandshakeRequest {
        serde_json::from_value(serde_json::json!({
            "AgentVersion": agent_version,
            "RequestedClientActions": actions,
        }))
        .unwrap()
    }

    fn port_action(port_type: &str) -> serde_json::Value {
        serde_json::json!({"ActionType": "SessionType", "ActionParameters": {
            "SessionType": "Port", "Properties": {"portNumber": 5432, "type": port_type}}})
    }

    #[test]
    fn answers_the_reference_request_exactly_like_the_plugin() {
        let request = HandshakeRequest::from_json(REQUEST.as_bytes()).unwrap();
        let answer = answer_handshake(&request, CLIENT_VERSION, BasicMode::Refuse);
        assert_eq!(
            std::str::from_utf8(&answer.response.to_json().unwrap()).unwrap(),
            r#"{"ClientVersion":"1.2.764.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}"#
        );
        let session = answer.outcome.unwrap();
        assert_eq!(session.mode, ForwardingMode::Mux(SmuxKeepAlive::Disabled));
        assert_eq!(
            session.properties.host.as_deref(),
            Some("mydb.xyz.rds.amazonaws.com")
        );
        assert_eq!(session.properties.port_number.as_deref(), Some("5432"));
        assert_eq!(session.properties.local_port_number.as_deref(), Some("0"));
    }

    #[test]
    fn numeric_properties_and_unknown_keys_are_tolerated() {
        let mut action = port_action("LocalPortForwarding");
        action["ActionParameters"]["Properties"]["futureKey"] = serde_json::json!([1, 2]);
        let request = request_with("3.1.1511.0", &serde_json::json!([action]));
        let session = answer_handshake(&request, CLIENT_VERSION, BasicMode::Refuse)
            .outcome
            .unwrap();
        assert_eq!(session.properties.port_number.as_deref(), Some("5432"));
        assert_eq!(session.mode, ForwardingMode::Mux(SmuxKeepAlive::Required));
    }

    #[test]
    fn kms_and_unknown_actions_fail_the_session() {
        let request = request_with(
            "3.3.1142.0",
            &serde_json::json!([
                port_action("LocalPortForwarding"),
                {"ActionType": "KMSEncryption", "ActionParameters": {"KMSKeyId": "k", "Challenge": "c"}},
                {"ActionType": "Teleport"},
            ]),
        );
        let answer = answer_handshake(&request, CLIENT_VERSION, BasicMode::Refuse);
        let statuses: Vec<ActionStatus> = answer
            .response
            .processed_client_actions
            .iter()
            .map(|action| action.action_status)
            .collect();
        assert_eq!(
            statuses,
            [
                ActionStatus::Success,
                ActionStatus::Failed,
                ActionStatus::Unsupported
            ]
        );
        assert_eq!(answer.outcome, Err(HandshakeError::EncryptionRequested));
        assert_eq!(answer.response.errors.as_ref().map(Vec::len), Some(2));
        let json = answer.response.to_json().unwrap();
        let parsed = HandshakeResponse::from_json(&json).unwrap();
        assert_eq!(parsed, answer.response);
        assert!(
            std::str::from_utf8(&json)
                .unwrap()
                .contains(r#""ActionStatus":3"#)
        );
    }

    #[test]
    fn refuses_what_it_cannot_forward() {
        let cases = [
            (
                request_with("3.3.1142.0", &serde_json::json!([])),
                "no SessionType",
            ),
            (
                request_with(
                    "3.3.1142.0",
                    &serde_json::json!([{"ActionType": "SessionType",
                    "ActionParameters": {"SessionType": "Standard_Stream", "Properties": {}}}]),
                ),
                "not a port session",
            ),
            (
                request_with("3.3.1142.0", &serde_json::json!([port_action("")])),
                "only TCP port forwarding",
            ),
            (
                request_with(
                    "3.0.196.0",
                    &serde_json::json!([port_action("LocalPortForwarding")]),
                ),
                "too old for multiplexed port forwarding",
            ),
            (
                request_with(
                    "3.3.1142.0",
                    &serde_json::json!([{"ActionType": "SessionType",
                    "ActionParameters": "Port"}]),
                ),
                "malformed",
            ),
        ];
        for (request, expected) in cases {
            let answer = answer_handshake(&request, CLIENT_VERSION, BasicMode::Refuse);
            let error = answer.outcome.unwrap_err().to_string();
            assert!(error.contains(expected), "{error:?} lacks {expected:?}");
            assert!(
                answer
                    .response
                    .processed_client_actions
                    .iter()
                    .all(|action| action.action_status != ActionStatus::Success)
            );
        }
    }

    #[test]
    fn basic_mode_can_be_accepted() {
        let request = request_with(
            "3.0.196.0",
            &serde_json::json!([port_action("LocalPortForwarding")]),
        );
        let session = answer_handshake(&request, CLIENT_VERSION, BasicMode::Accept)
            .outcome
            .unwrap();
        assert_eq!(session.mode, ForwardingMode::Basic);
    }

    #[test]
    fn handshake_complete_round_trips() {
        let complete = HandshakeComplete::from_json(
            br#"{"HandshakeTimeToComplete":1500000000,"CustomerMessage":""}"#,
        )
        .unwrap();
        assert_eq!(complete.time_to_complete(), Duration::from_millis(1500));
        assert_eq!(
            HandshakeComplete::from_json(&complete.to_json().unwrap()).unwrap(),
            complete
        );
        assert!(
            HandshakeRequest::from_json(b"{}").is_err(),
            "AgentVersion is required"
        );
    }
}
