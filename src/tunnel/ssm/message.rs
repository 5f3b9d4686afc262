//! The binary `ClientMessage` frame: one per websocket binary message, in both directions.
//!
//! Layout (big-endian, reference §2): header length (u32, always 116 = offset of the payload
//! length), message type (32 ASCII bytes, space-padded), schema version (u32), created date (u64
//! Unix milliseconds), sequence number (i64), flags (u64), message id (UUID with its two 8-byte
//! halves swapped), SHA-256 of the payload (32 bytes), payload type (u32), payload length (u32),
//! payload. This module encodes and validates frames; it does not interpret payloads (see
//! [`super::payload`]) nor sequence them (see [`super::channel`]).

use std::fmt;

use bytes::{BufMut as _, Bytes, BytesMut};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// The header length every sender writes: the offset of the payload-length field.
pub const HEADER_LENGTH: u32 = 116;
/// Bytes before the payload: the header plus the 4-byte payload length.
pub const PREFIX_BYTES: usize = HEADER_LENGTH as usize + 4;
/// The only schema version in use.
pub const SCHEMA_VERSION: u32 = 1;
/// Width of the space-padded message-type field.
const MESSAGE_TYPE_BYTES: usize = 32;

/// The message-type string of a frame.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Sequenced stream data from the client to the agent.
    InputStreamData,
    /// Sequenced stream data from the agent to the client.
    OutputStreamData,
    /// Acknowledgement of one stream-data message (JSON payload).
    Acknowledge,
    /// The service ended the session (JSON payload with the reason).
    ChannelClosed,
    /// The peer's data channel is active again.
    StartPublication,
    /// The peer's data channel went away: stop sending until it is back.
    PausePublication,
    /// Any other type (agent-internal or future ones): logged and ignored.
    Other(UnknownMessageType),
}

/// A message type this code does not know, as read from the wire (ASCII, at most 32 bytes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnknownMessageType(String);

impl UnknownMessageType {
    /// The type string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MessageType {
    /// The wire string (without padding).
    pub fn as_str(&self) -> &str {
        match self {
            Self::InputStreamData => "input_stream_data",
            Self::OutputStreamData => "output_stream_data",
            Self::Acknowledge => "acknowledge",
            Self::ChannelClosed => "channel_closed",
            Self::StartPublication => "start_publication",
            Self::PausePublication => "pause_publication",
            Self::Other(other) => other.as_str(),
        }
    }

    /// Parses a wire string that is already trimmed and checked to be ASCII and ≤ 32 bytes.
    fn from_wire(text: &str) -> Self {
        match text {
            "input_stream_data" => Self::InputStreamData,
            "output_stream_data" => Self::OutputStreamData,
            "acknowledge" => Self::Acknowledge,
            "channel_closed" => Self::ChannelClosed,
            "start_publication" => Self::StartPublication,
            "pause_publication" => Self::PausePublication,
            other => Self::Other(UnknownMessageType(other.to_owned())),
        }
    }

    /// Publication messages are exempt from validation, as in the plugin (reference §2).
    fn skips_validation(&self) -> bool {
        matches!(self, Self::StartPublication | Self::PausePublication)
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a payload contains (reference §3.2). `Undefined` (0) is used by acks and control messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayloadType {
    /// 0: acknowledgements, `channel_closed`, publication messages.
    Undefined,
    /// 1: forwarded bytes (the smux stream in mux mode).
    Output,
    /// 2: shell sessions only.
    Error,
    /// 3: terminal size, shell sessions only.
    Size,
    /// 4: shell sessions only.
    Parameter,
    /// 5: agent → client handshake request (JSON).
    HandshakeRequest,
    /// 6: client → agent handshake response (JSON).
    HandshakeResponse,
    /// 7: agent → client handshake completion (JSON).
    HandshakeComplete,
    /// 8: KMS sessions only.
    EncChallengeRequest,
    /// 9: KMS sessions only.
    EncChallengeResponse,
    /// 10: a 4-byte big-endian flag, see [`super::payload::PortFlag`].
    Flag,
    /// 11: shell sessions only.
    StdErr,
    /// 12: shell sessions only.
    ExitCode,
    /// Anything else, kept so it can be logged.
    Other(u32),
}

impl PayloadType {
    /// The wire value.
    pub fn as_u32(self) -> u32 {
        match self {
            Self::Undefined => 0,
            Self::Output => 1,
            Self::Error => 2,
            Self::Size => 3,
            Self::Parameter => 4,
            Self::HandshakeRequest => 5,
            Self::HandshakeResponse => 6,
            Self::HandshakeComplete => 7,
            Self::EncChallengeRequest => 8,
            Self::EncChallengeResponse => 9,
            Self::Flag => 10,
            Self::StdErr => 11,
            Self::ExitCode => 12,
            Self::Other(value) => value,
        }
    }
}

impl From<u32> for PayloadType {
    fn from(value: u32) -> Self {
        match value {
            0 => Self::Undefined,
            1 => Self::Output,
            2 => Self::Error,
            3 => Self::Size,
            4 => Self::Parameter,
            5 => Self::HandshakeRequest,
            6 => Self::HandshakeResponse,
            7 => Self::HandshakeComplete,
            8 => Self::EncChallengeRequest,
            9 => Self::EncChallengeResponse,
            10 => Self::Flag,
            11 => Self::StdErr,
            12 => Self::ExitCode,
            other => Self::Other(other),
        }
    }
}

/// One decoded (or to-be-encoded) frame. The digest and lengths are computed, not stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientMessage {
    /// The message type.
    pub message_type: MessageType,
    /// Always [`SCHEMA_VERSION`] when we send; not checked on receipt.
    pub schema_version: u32,
    /// Unix epoch milliseconds; must not be 0.
    pub created_date_millis: u64,
    /// Per-direction counter for stream data; 0 for acks and control messages.
    pub sequence_number: i64,
    /// [`ClientMessage::FLAG_SYN`] / [`ClientMessage::FLAG_FIN`] bits; informational only.
    pub flags: u64,
    /// The message id, in RFC 4122 order (the wire swaps its halves).
    pub message_id: Uuid,
    /// What the payload contains.
    pub payload_type: PayloadType,
    /// The payload bytes.
    pub payload: Bytes,
}

/// Why a frame could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The type does not fit the 32-byte field.
    #[error("message type {message_type:?} is {len} bytes long; the field holds at most 32")]
    MessageTypeTooLong {
        /// The offending type.
        message_type: String,
        /// Its length.
        len: usize,
    },
    /// The payload length does not fit in a u32.
    #[error("payload of {len} bytes does not fit the 32-bit payload length field")]
    PayloadTooLarge {
        /// The payload length.
        len: usize,
    },
}

/// Why received bytes are not a valid frame. Invalid frames are dropped without an ack.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the fixed prefix.
    #[error("message of {len} bytes is shorter than the {PREFIX_BYTES}-byte header")]
    TooShort {
        /// Bytes received.
        len: usize,
    },
    /// The header length field is not 116 or points past the end.
    #[error(
        "header length field is {header_length}, expected {HEADER_LENGTH} (message of {len} bytes)"
    )]
    BadHeaderLength {
        /// The field's value.
        header_length: u32,
        /// Bytes received.
        len: usize,
    },
    /// The message type is empty after trimming padding.
    #[error("message type field is empty")]
    EmptyMessageType,
    /// The message type holds non-ASCII bytes.
    #[error("message type field is not ASCII: {bytes:02x?}")]
    MessageTypeNotAscii {
        /// The raw field.
        bytes: Vec<u8>,
    },
    /// Created date 0, which both official ends reject.
    #[error("{message_type} message has created date 0")]
    ZeroCreatedDate {
        /// The frame's type.
        message_type: MessageType,
    },
    /// The payload-length field disagrees with the bytes actually present.
    #[error("{message_type} message declares a {declared}-byte payload but carries {actual} bytes")]
    PayloadLengthMismatch {
        /// The frame's type.
        message_type: MessageType,
        /// The payload-length field.
        declared: u32,
        /// Bytes after the header.
        actual: usize,
    },
    /// The payload does not hash to the digest field (corrupted or truncated).
    #[error(
        "{message_type} message seq {sequence_number}: payload SHA-256 does not match the digest field"
    )]
    DigestMismatch {
        /// The frame's type.
        message_type: MessageType,
        /// Its sequence number.
        sequence_number: i64,
    },
}

impl ClientMessage {
    /// Flags bit 0: first message of a stream (the agent sets it on its seq 0).
    pub const FLAG_SYN: u64 = 1;
    /// Flags bit 1: last message of a stream.
    pub const FLAG_FIN: u64 = 2;
    /// Flags value acknowledgements carry (SYN | FIN, as both official ends send).
    pub const FLAGS_ACKNOWLEDGE: u64 = Self::FLAG_SYN | Self::FLAG_FIN;

    /// Serializes the frame: header length 116, space-padded type, SHA-256 of the payload.
    pub fn encode(&self) -> Result<Bytes, EncodeError> {
        let message_type = self.message_type.as_str();
        if message_type.len() > MESSAGE_TYPE_BYTES {
            return Err(EncodeError::MessageTypeTooLong {
                message_type: message_type.to_owned(),
                len: message_type.len(),
            });
        }
        let payload_len =
            u32::try_from(self.payload.len()).map_err(|_| EncodeError::PayloadTooLarge {
                len: self.payload.len(),
            })?;
        let mut out = BytesMut::with_capacity(PREFIX_BYTES + self.payload.len());
        out.put_u32(HEADER_LENGTH);
        out.put_slice(message_type.as_bytes());
        out.put_bytes(b' ', MESSAGE_TYPE_BYTES - message_type.len());
        out.put_u32(self.schema_version);
        out.put_u64(self.created_date_millis);
        out.put_i64(self.sequence_number);
        out.put_u64(self.flags);
        let id = self.message_id.as_bytes();
        out.put_slice(&id[8..]);
        out.put_slice(&id[..8]);
        out.put_slice(&sha256(&self.payload));
        out.put_u32(self.payload_type.as_u32());
        out.put_u32(payload_len);
        out.put_slice(&self.payload);
        Ok(out.freeze())
    }

    /// Parses and validates a frame. The payload is a zero-copy slice of `wire`.
    ///
    /// Checks, like the plugin plus the length check it skips: the header length is 116 (larger
    /// values are tolerated if they fit, as the plugin slices the payload at `header_length + 4`),
    /// the type is non-empty ASCII, and, except for publication messages, the created date is set,
    /// the payload length matches and the digest matches a non-empty payload.
    pub fn decode(wire: &Bytes) -> Result<Self, DecodeError> {
        let len = wire.len();
        if len < PREFIX_BYTES {
            return Err(DecodeError::TooShort { len });
        }
        let header_length = read_u32(wire, 0);
        let payload_start = header_length as usize + 4;
        if header_length < HEADER_LENGTH || payload_start > len {
            return Err(DecodeError::BadHeaderLength { header_length, len });
        }
        let message_type = parse_message_type(&wire[4..4 + MESSAGE_TYPE_BYTES])?;
        let mut id = [0_u8; 16];
        id[..8].copy_from_slice(&wire[72..80]);
        id[8..].copy_from_slice(&wire[64..72]);
        let message = Self {
            schema_version: read_u32(wire, 36),
            created_date_millis: read_u64(wire, 40),
            sequence_number: i64::from_be_bytes(read_array(wire, 48)),
            flags: read_u64(wire, 56),
            message_id: Uuid::from_bytes(id),
            payload_type: PayloadType::from(read_u32(wire, 112)),
            payload: wire.slice(payload_start..),
            message_type,
        };
        if message.message_type.skips_validation() {
            return Ok(message);
        }
        if message.created_date_millis == 0 {
            return Err(DecodeError::ZeroCreatedDate {
                message_type: message.message_type,
            });
        }
        let declared = read_u32(wire, 116);
        if declared as usize != message.payload.len() {
            return Err(DecodeError::PayloadLengthMismatch {
                message_type: message.message_type,
                declared,
                actual: message.payload.len(),
            });
        }
        let digest: [u8; 32] = read_array(wire, 80);
        if !message.payload.is_empty() && sha256(&message.payload) != digest {
            return Err(DecodeError::DigestMismatch {
                message_type: message.message_type,
                sequence_number: message.sequence_number,
            });
        }
        Ok(message)
    }
}

fn parse_message_type(field: &[u8]) -> Result<MessageType, DecodeError> {
    // Trim NUL and whitespace padding on both sides, as the plugin's parser does.
    let is_padding = |byte: &u8| *byte == 0 || byte.is_ascii_whitespace();
    let Some(first) = field.iter().position(|byte| !is_padding(byte)) else {
        return Err(DecodeError::EmptyMessageType);
    };
    let last = field
        .iter()
        .rposition(|byte| !is_padding(byte))
        .unwrap_or(first);
    let text = &field[first..=last];
    if !text.is_ascii() {
        return Err(DecodeError::MessageTypeNotAscii {
            bytes: text.to_vec(),
        });
    }
    Ok(MessageType::from_wire(&String::from_utf8_lossy(text)))
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn read_array<const N: usize>(wire: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0_u8; N];
    out.copy_from_slice(&wire[offset..offset + N]);
    out
}

fn read_u32(wire: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(read_array(wire, offset))
}

fn read_u64(wire: &[u8], offset: usize) -> u64 {
    u64::from_be_bytes(read_array(wire, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's test vector (§2), byte for byte.
    const GOLDEN_HEX: &str = "
        00 00 00 74 69 6e 70 75 74 5f 73 74 72 65 61 6d
        5f 64 61 74 61 20 20 20 20 20 20 20 20 20 20 20
        20 20 20 20 00 00 00 01 00 00 01 8b cf e5 68 00
        00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        88 99 aa bb cc dd ee ff 00 11 22 33 44 55 66 77
        2c f2 4d ba 5f b0 a3 0e 26 e8 3b 2a c5 b9 e2 9e
        1b 16 1e 5c 1f a7 42 5e 73 04 33 62 93 8b 98 24
        00 00 00 01 00 00 00 05 68 65 6c 6c 6f";

    fn golden_bytes() -> Vec<u8> {
        GOLDEN_HEX
            .split_ascii_whitespace()
            .map(|byte| u8::from_str_radix(byte, 16).unwrap())
            .collect()
    }

    fn golden_message() -> ClientMessage {
        ClientMessage {
            message_type: MessageType::InputStreamData,
            schema_version: 1,
            created_date_millis: 1_700_000_000_000,
            sequence_number: 0,
            flags: 0,
            message_id: Uuid::parse_str("00112233-4455-6677-8899-aabbccddeeff").unwrap(),
            payload_type: PayloadType::Output,
            payload: Bytes::from_static(b"hello"),
        }
    }

    #[test]
    fn golden_vector_encodes_byte_for_byte() {
        let golden = golden_bytes();
        assert_eq!(golden.len(), 125);
        assert_eq!(
            golden_message().encode().unwrap().as_ref(),
            golden.as_slice()
        );
    }

    #[test]
    fn golden_vector_decodes() {
        let decoded = ClientMessage::decode(&Bytes::from(golden_bytes())).unwrap();
        assert_eq!(decoded, golden_message());
    }

    #[test]
    fn message_id_halves_are_swapped_on_the_wire() {
        let wire = golden_message().encode().unwrap();
        assert_eq!(
            &wire[64..72],
            &[0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]
        );
        assert_eq!(
            &wire[72..80],
            &[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]
        );
    }

    #[test]
    fn every_type_round_trips() {
        let types = [
            MessageType::InputStreamData,
            MessageType::OutputStreamData,
            MessageType::Acknowledge,
            MessageType::ChannelClosed,
            MessageType::StartPublication,
            MessageType::PausePublication,
            MessageType::from_wire("agent_session_state"),
        ];
        for (index, message_type) in (0_u32..).zip(types) {
            for payload in [&b""[..], b"x", &[0xAB; 3000]] {
                let message = ClientMessage {
                    message_type: message_type.clone(),
                    sequence_number: i64::from(index) * 1_000_000_007,
                    flags: ClientMessage::FLAGS_ACKNOWLEDGE,
                    payload_type: PayloadType::from(index + 5),
                    payload: Bytes::copy_from_slice(payload),
                    message_id: Uuid::new_v4(),
                    ..golden_message()
                };
                let wire = message.encode().unwrap();
                assert_eq!(wire.len(), PREFIX_BYTES + payload.len());
                assert_eq!(ClientMessage::decode(&wire).unwrap(), message);
            }
        }
    }

    #[test]
    fn payload_types_round_trip_through_u32() {
        for value in 0..20 {
            assert_eq!(PayloadType::from(value).as_u32(), value);
        }
        assert_eq!(PayloadType::from(10), PayloadType::Flag);
        assert_eq!(PayloadType::from(99), PayloadType::Other(99));
    }

    #[test]
    fn empty_payload_carries_the_digest_of_nothing() {
        let message = ClientMessage {
            payload: Bytes::new(),
            ..golden_message()
        };
        let wire = message.encode().unwrap();
        // SHA-256("") starts e3b0c442.
        assert_eq!(&wire[80..84], &[0xe3, 0xb0, 0xc4, 0x42]);
        assert_eq!(&wire[116..120], &[0, 0, 0, 0]);
    }

    #[test]
    fn message_type_is_space_padded_and_nul_padding_is_accepted() {
        let wire = golden_message().encode().unwrap();
        assert!(wire[4 + 17..36].iter().all(|byte| *byte == b' '));
        let mut nul_padded = wire.to_vec();
        nul_padded[4 + 17..36].fill(0);
        let decoded = ClientMessage::decode(&Bytes::from(nul_padded)).unwrap();
        assert_eq!(decoded.message_type, MessageType::InputStreamData);
    }

    #[test]
    fn rejects_short_messages() {
        let wire = golden_message().encode().unwrap();
        let error = ClientMessage::decode(&wire.slice(..119)).unwrap_err();
        assert_eq!(error, DecodeError::TooShort { len: 119 });
        assert!(
            error
                .to_string()
                .contains("shorter than the 120-byte header")
        );
    }

    #[test]
    fn rejects_bad_header_length() {
        for header_length in [0_u32, 115, 200] {
            let mut wire = golden_message().encode().unwrap().to_vec();
            wire[..4].copy_from_slice(&header_length.to_be_bytes());
            let error = ClientMessage::decode(&Bytes::from(wire)).unwrap_err();
            assert_eq!(
                error,
                DecodeError::BadHeaderLength {
                    header_length,
                    len: 125
                }
            );
        }
    }

    #[test]
    fn rejects_digest_mismatch() {
        let mut wire = golden_message().encode().unwrap().to_vec();
        *wire.last_mut().unwrap() ^= 1;
        let error = ClientMessage::decode(&Bytes::from(wire)).unwrap_err();
        assert!(
            matches!(error, DecodeError::DigestMismatch { .. }),
            "{error}"
        );
        assert_eq!(
            error.to_string(),
            "input_stream_data message seq 0: payload SHA-256 does not match the digest field"
        );
    }

    #[test]
    fn rejects_payload_length_mismatch() {
        let mut wire = golden_message().encode().unwrap().to_vec();
        wire.extend_from_slice(b"!");
        let error = ClientMessage::decode(&Bytes::from(wire)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "input_stream_data message declares a 5-byte payload but carries 6 bytes"
        );
    }

    #[test]
    fn rejects_zero_created_date_and_bad_types() {
        let zero_date = ClientMessage {
            created_date_millis: 0,
            ..golden_message()
        };
        let error = ClientMessage::decode(&zero_date.encode().unwrap()).unwrap_err();
        assert!(matches!(error, DecodeError::ZeroCreatedDate { .. }));

        let mut wire = golden_message().encode().unwrap().to_vec();
        wire[4..36].fill(b' ');
        let error = ClientMessage::decode(&Bytes::from(wire.clone())).unwrap_err();
        assert_eq!(error, DecodeError::EmptyMessageType);

        wire[4] = 0xC3;
        wire[5] = 0xA9;
        let error = ClientMessage::decode(&Bytes::from(wire)).unwrap_err();
        assert!(matches!(error, DecodeError::MessageTypeNotAscii { .. }));
    }

    #[test]
    fn publication_messages_skip_validation() {
        let message = ClientMessage {
            message_type: MessageType::PausePublication,
            created_date_millis: 0,
            payload_type: PayloadType::Undefined,
            payload: Bytes::from_static(b"{}"),
            ..golden_message()
        };
        let mut wire = message.encode().unwrap().to_vec();
        wire[80] ^= 0xFF;
        let decoded = ClientMessage::decode(&Bytes::from(wire)).unwrap();
        assert_eq!(decoded.message_type, MessageType::PausePublication);
    }

    #[test]
    fn rejects_unencodable_types() {
        let message = ClientMessage {
            message_type: MessageType::Other(UnknownMessageType("x".repeat(33))),
            ..golden_message()
        };
        let error = message.encode().unwrap_err();
        assert!(error.to_string().contains("33 bytes long"), "{error}");
    }
}
