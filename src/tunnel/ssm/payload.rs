//! Bodies carried by data-channel frames, other than the handshake: the acknowledgement JSON, the
//! `channel_closed` JSON, the 4-byte port flags, and the text frame that opens the channel.
//!
//! Field names and shapes follow reference §1.3, §3 and §4.1. Parsing is lenient where the
//! reference is unsure of a field (missing fields default), strict where we depend on a value.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::message::{ClientMessage, MessageType};
use crate::secret::Secret;

/// Why a payload could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The JSON body does not have the expected shape.
    #[error("{what} payload is not valid JSON of the expected shape: {source}")]
    Json {
        /// Which payload ("acknowledge", "handshake request", …).
        what: &'static str,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A flag payload that is not exactly 4 bytes.
    #[error("flag payload is {len} bytes long; expected 4")]
    FlagLength {
        /// Bytes received.
        len: usize,
    },
    /// A flag value not in the reference's list.
    #[error("unknown flag value {value}")]
    UnknownFlag {
        /// The value received.
        value: u32,
    },
}

/// Parses a JSON body, naming the payload in the error.
pub(crate) fn from_json<'a, T: Deserialize<'a>>(
    what: &'static str,
    json: &'a [u8],
) -> Result<T, PayloadError> {
    serde_json::from_slice(json).map_err(|source| PayloadError::Json { what, source })
}

/// Serializes a JSON body, naming the payload in the error.
pub(crate) fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<Bytes, PayloadError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|source| PayloadError::Json { what, source })
}

/// The JSON payload of an `acknowledge` message (reference §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Acknowledge {
    /// Type of the acknowledged message (`output_stream_data` / `input_stream_data`).
    pub acknowledged_message_type: String,
    /// Its message id, lowercase hyphenated.
    pub acknowledged_message_id: String,
    /// Its sequence number: the only field either official end matches on.
    pub acknowledged_message_sequence_number: i64,
    /// Always `true`.
    #[serde(default = "always_true")]
    pub is_sequential_message: bool,
}

fn always_true() -> bool {
    true
}

impl Acknowledge {
    /// The acknowledgement of `message`.
    pub fn of(message: &ClientMessage) -> Self {
        Self {
            acknowledged_message_type: message.message_type.as_str().to_owned(),
            acknowledged_message_id: message.message_id.hyphenated().to_string(),
            acknowledged_message_sequence_number: message.sequence_number,
            is_sequential_message: true,
        }
    }

    /// Parses the JSON payload.
    pub fn from_json(json: &[u8]) -> Result<Self, PayloadError> {
        from_json("acknowledge", json)
    }

    /// The JSON payload.
    pub fn to_json(&self) -> Result<Bytes, PayloadError> {
        to_json("acknowledge", self)
    }

    /// The complete `acknowledge` frame: sequence 0, flags 3, payload type 0.
    pub fn to_message(
        &self,
        created_date_millis: u64,
        message_id: Uuid,
    ) -> Result<ClientMessage, PayloadError> {
        Ok(ClientMessage {
            message_type: MessageType::Acknowledge,
            schema_version: super::message::SCHEMA_VERSION,
            created_date_millis,
            sequence_number: 0,
            flags: ClientMessage::FLAGS_ACKNOWLEDGE,
            message_id,
            payload_type: super::message::PayloadType::Undefined,
            payload: self.to_json()?,
        })
    }
}

/// The JSON payload of `channel_closed` (reference §3.1). Every field defaults when missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChannelClosed {
    /// Id of this message.
    pub message_id: String,
    /// Creation time; its format is not documented, so it is kept as the raw JSON value.
    pub created_date: serde_json::Value,
    /// The client the message is for.
    pub destination_id: String,
    /// The session that ended.
    pub session_id: String,
    /// `channel_closed`.
    pub message_type: String,
    /// Schema version, 1.
    pub schema_version: i64,
    /// Reason shown to the user (e.g. the idle-timeout text); empty on a normal terminate.
    pub output: String,
}

impl ChannelClosed {
    /// Parses the JSON payload.
    pub fn from_json(json: &[u8]) -> Result<Self, PayloadError> {
        from_json("channel_closed", json)
    }

    /// The JSON payload (used by the fake service).
    pub fn to_json(&self) -> Result<Bytes, PayloadError> {
        to_json("channel_closed", self)
    }
}

/// A port-session flag, sent as a `Flag` payload: one big-endian u32 (reference §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortFlag {
    /// Client → agent, basic mode only: the local connection ended.
    DisconnectToPort,
    /// Client → agent: end the session.
    TerminateSession,
    /// Agent → client, mux mode: dialling the destination for a new stream failed. Carries no
    /// stream id; the failed stream's FIN follows it.
    ConnectToPortError,
}

impl PortFlag {
    /// The wire value.
    pub fn as_u32(self) -> u32 {
        match self {
            Self::DisconnectToPort => 1,
            Self::TerminateSession => 2,
            Self::ConnectToPortError => 3,
        }
    }

    /// The 4-byte payload.
    pub fn to_payload(self) -> Bytes {
        Bytes::copy_from_slice(&self.as_u32().to_be_bytes())
    }

    /// Parses a 4-byte payload.
    pub fn from_payload(payload: &[u8]) -> Result<Self, PayloadError> {
        let bytes: [u8; 4] = payload
            .try_into()
            .map_err(|_| PayloadError::FlagLength { len: payload.len() })?;
        match u32::from_be_bytes(bytes) {
            1 => Ok(Self::DisconnectToPort),
            2 => Ok(Self::TerminateSession),
            3 => Ok(Self::ConnectToPortError),
            value => Err(PayloadError::UnknownFlag { value }),
        }
    }
}

/// The first websocket frame (text) after the upgrade: authenticates with the session token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenDataChannelInput {
    /// Fresh for every open.
    pub request_id: Uuid,
    /// From `StartSession`, or from `ResumeSession` after a reconnect. Redacted in `Debug`.
    pub token_value: Secret,
    /// Generated once per session; the same on every reconnect.
    pub client_id: Uuid,
    /// The client version string reported to the service (see [`super::version::CLIENT_VERSION`]).
    pub client_version: String,
}

/// The wire shape of [`OpenDataChannelInput`]; kept private so the token only leaves through
/// [`OpenDataChannelInput::to_json`].
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct OpenDataChannelWire {
    message_schema_version: String,
    request_id: String,
    token_value: String,
    client_id: String,
    #[serde(default)]
    client_version: String,
}

impl OpenDataChannelInput {
    /// The JSON text of the frame (contains the token: never log it).
    pub fn to_json(&self) -> Result<String, PayloadError> {
        let wire = OpenDataChannelWire {
            message_schema_version: "1.0".to_owned(),
            request_id: self.request_id.hyphenated().to_string(),
            token_value: self.token_value.expose().clone(),
            client_id: self.client_id.hyphenated().to_string(),
            client_version: self.client_version.clone(),
        };
        serde_json::to_string(&wire).map_err(|source| PayloadError::Json {
            what: "open data channel",
            source,
        })
    }

    /// Parses the JSON text (used by the fake service). Ids that are not UUIDs are rejected.
    pub fn from_json(json: &str) -> Result<Self, PayloadError> {
        let wire: OpenDataChannelWire = from_json("open data channel", json.as_bytes())?;
        let parse_uuid = |text: &str| {
            Uuid::parse_str(text).map_err(|error| PayloadError::Json {
                what: "open data channel",
                source: serde::de::Error::custom(format!("{text:?} is not a UUID: {error}")),
            })
        };
        Ok(Self {
            request_id: parse_uuid(&wire.request_id)?,
            token_value: Secret::new(wire.token_value),
            client_id: parse_uuid(&wire.client_id)?,
            client_version: wire.client_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tunnel::ssm::message::PayloadType;

    fn uuid(text: &str) -> Uuid {
        Uuid::parse_str(text).unwrap()
    }

    #[test]
    fn acknowledge_json_matches_the_reference_example() {
        let ack = Acknowledge {
            acknowledged_message_type: "output_stream_data".into(),
            acknowledged_message_id: "00112233-4455-6677-8899-aabbccddeeff".into(),
            acknowledged_message_sequence_number: 7,
            is_sequential_message: true,
        };
        let json = ack.to_json().unwrap();
        assert_eq!(
            std::str::from_utf8(&json).unwrap(),
            r#"{"AcknowledgedMessageType":"output_stream_data","AcknowledgedMessageId":"00112233-4455-6677-8899-aabbccddeeff","AcknowledgedMessageSequenceNumber":7,"IsSequentialMessage":true}"#
        );
        assert_eq!(Acknowledge::from_json(&json).unwrap(), ack);
    }

    #[test]
    fn acknowledge_of_a_message_is_a_control_frame() {
        let data = ClientMessage {
            message_type: MessageType::OutputStreamData,
            schema_version: 1,
            created_date_millis: 5,
            sequence_number: 42,
            flags: 0,
            message_id: uuid("00112233-4455-6677-8899-aabbccddeeff"),
            payload_type: PayloadType::Output,
            payload: Bytes::from_static(b"x"),
        };
        let ack = Acknowledge::of(&data);
        assert_eq!(ack.acknowledged_message_sequence_number, 42);
        assert_eq!(
            ack.acknowledged_message_id,
            "00112233-4455-6677-8899-aabbccddeeff"
        );
        let message = ack.to_message(9, Uuid::new_v4()).unwrap();
        assert_eq!(message.message_type, MessageType::Acknowledge);
        assert_eq!((message.sequence_number, message.flags), (0, 3));
        assert_eq!(message.payload_type, PayloadType::Undefined);
        let wire = message.encode().unwrap();
        let decoded = ClientMessage::decode(&wire).unwrap();
        assert_eq!(Acknowledge::from_json(&decoded.payload).unwrap(), ack);
    }

    #[test]
    fn acknowledge_rejects_missing_sequence_number() {
        let error = Acknowledge::from_json(br#"{"AcknowledgedMessageType":"x"}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("acknowledge payload is not valid JSON")
        );
    }

    #[test]
    fn channel_closed_parses_partial_and_full_bodies() {
        let closed = ChannelClosed::from_json(
            br#"{"MessageId":"m","CreatedDate":"2024-01-01T00:00:00Z","DestinationId":"d",
                "SessionId":"s-1","MessageType":"channel_closed","SchemaVersion":1,
                "Output":"Your session timed out due to inactivity and has been terminated."}"#,
        )
        .unwrap();
        assert_eq!(closed.session_id, "s-1");
        assert!(closed.output.starts_with("Your session timed out"));
        let minimal = ChannelClosed::from_json(br#"{"SessionId":"s-2"}"#).unwrap();
        assert_eq!(minimal.output, "");
        let again = ChannelClosed::from_json(&closed.to_json().unwrap()).unwrap();
        assert_eq!(again, closed);
    }

    #[test]
    fn flags_are_four_big_endian_bytes() {
        assert_eq!(
            PortFlag::TerminateSession.to_payload().as_ref(),
            &[0, 0, 0, 2]
        );
        for flag in [
            PortFlag::DisconnectToPort,
            PortFlag::TerminateSession,
            PortFlag::ConnectToPortError,
        ] {
            assert_eq!(PortFlag::from_payload(&flag.to_payload()).unwrap(), flag);
        }
        let error = PortFlag::from_payload(&[0, 0, 3]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "flag payload is 3 bytes long; expected 4"
        );
        let error = PortFlag::from_payload(&[0, 0, 0, 9]).unwrap_err();
        assert_eq!(error.to_string(), "unknown flag value 9");
    }

    #[test]
    fn open_data_channel_json_has_the_reference_fields_and_hides_the_token() {
        let open = OpenDataChannelInput {
            request_id: uuid("5b6c0000-0000-4000-8000-000000000001"),
            token_value: Secret::from("AAEAA-token"),
            client_id: uuid("0f3e0000-0000-4000-8000-000000000002"),
            client_version: "1.2.764.0".into(),
        };
        assert_eq!(
            open.to_json().unwrap(),
            r#"{"MessageSchemaVersion":"1.0","RequestId":"5b6c0000-0000-4000-8000-000000000001","TokenValue":"AAEAA-token","ClientId":"0f3e0000-0000-4000-8000-000000000002","ClientVersion":"1.2.764.0"}"#
        );
        assert!(!format!("{open:?}").contains("AAEAA"));
        let parsed = OpenDataChannelInput::from_json(&open.to_json().unwrap()).unwrap();
        assert_eq!(parsed, open);
        let error = OpenDataChannelInput::from_json(
            r#"{"MessageSchemaVersion":"1.0","RequestId":"nope","TokenValue":"t","ClientId":"x"}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("\"nope\" is not a UUID"),
            "{error}"
        );
    }
}
