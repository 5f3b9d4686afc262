//! The fake's own codec for the data channel's binary `ClientMessage` frame and its JSON bodies,
//! written from the reference (§2–§5) independently of `src/tunnel/ssm/`, so the client's codec
//! meets a second implementation rather than itself.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{BufMut as _, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Client → agent stream data.
pub(crate) const INPUT_STREAM_DATA: &str = "input_stream_data";
/// Agent → client stream data.
pub(crate) const OUTPUT_STREAM_DATA: &str = "output_stream_data";
/// Acknowledgement of one stream message.
pub(crate) const ACKNOWLEDGE: &str = "acknowledge";
/// The session is over.
pub(crate) const CHANNEL_CLOSED: &str = "channel_closed";

/// Payload types used by port sessions (reference §3.2).
pub(crate) mod payload_type {
    pub(crate) const UNDEFINED: u32 = 0;
    pub(crate) const OUTPUT: u32 = 1;
    pub(crate) const HANDSHAKE_REQUEST: u32 = 5;
    pub(crate) const HANDSHAKE_RESPONSE: u32 = 6;
    pub(crate) const HANDSHAKE_COMPLETE: u32 = 7;
    pub(crate) const FLAG: u32 = 10;
}

/// Flag values (reference §3.2).
pub(crate) mod flag {
    pub(crate) const TERMINATE_SESSION: u32 = 2;
    pub(crate) const CONNECT_TO_PORT_ERROR: u32 = 3;
}

/// One decoded frame.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub(crate) message_type: String,
    pub(crate) sequence_number: i64,
    pub(crate) flags: u64,
    /// RFC 4122 byte order (the wire swaps the halves).
    pub(crate) message_id: [u8; 16],
    pub(crate) payload_type: u32,
    pub(crate) payload: Bytes,
}

fn unix_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
        .max(1)
}

/// A fresh message id: a per-process random half and a counter (unique is all that matters).
pub(crate) fn new_message_id() -> [u8; 16] {
    static PREFIX: LazyLock<[u8; 8]> = LazyLock::new(|| {
        let mut prefix = [0_u8; 8];
        prefix.copy_from_slice(&Sha256::digest(super::super::ids::token("mid"))[..8]);
        prefix
    });
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let mut id = [0_u8; 16];
    id[..8].copy_from_slice(&*PREFIX);
    id[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    // Version 4, variant 1, so it reads as a random UUID.
    id[6] = (id[6] & 0x0f) | 0x40;
    id[8] = (id[8] & 0x3f) | 0x80;
    id
}

pub(crate) use crate::aws::ids::uuid_text;

impl Frame {
    /// A frame created now with a fresh id.
    pub(crate) fn new(
        message_type: &str,
        sequence_number: i64,
        flags: u64,
        payload_type: u32,
        payload: Bytes,
    ) -> Self {
        Self {
            message_type: message_type.to_owned(),
            sequence_number,
            flags,
            message_id: new_message_id(),
            payload_type,
            payload,
        }
    }

    /// Header length 116, space-padded type, big-endian fields, SHA-256 of the payload.
    pub(crate) fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(120 + self.payload.len());
        out.put_u32(116);
        let message_type = self.message_type.as_bytes();
        let type_len = message_type.len().min(32);
        out.put_slice(&message_type[..type_len]);
        out.put_bytes(b' ', 32 - type_len);
        out.put_u32(1);
        out.put_u64(unix_millis());
        out.put_i64(self.sequence_number);
        out.put_u64(self.flags);
        out.put_slice(&self.message_id[8..]);
        out.put_slice(&self.message_id[..8]);
        out.put_slice(&Sha256::digest(&self.payload));
        out.put_u32(self.payload_type);
        out.put_u32(u32::try_from(self.payload.len()).unwrap_or(u32::MAX));
        out.put_slice(&self.payload);
        out.freeze()
    }

    /// Parses and validates like the agent plus the digest check: `None` for anything invalid
    /// (dropped unacked, as both official ends do).
    pub(crate) fn decode(wire: &Bytes) -> Option<Self> {
        let u32_at = |offset: usize| -> Option<u32> {
            Some(u32::from_be_bytes(
                wire.get(offset..offset + 4)?.try_into().ok()?,
            ))
        };
        let u64_at = |offset: usize| -> Option<u64> {
            Some(u64::from_be_bytes(
                wire.get(offset..offset + 8)?.try_into().ok()?,
            ))
        };
        let header_length = usize::try_from(u32_at(0)?).ok()?;
        if header_length != 116 || wire.len() < 120 {
            return None;
        }
        let message_type = String::from_utf8_lossy(wire.get(4..36)?)
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned();
        let created = u64_at(40)?;
        if message_type.is_empty() || created == 0 {
            return None;
        }
        let mut message_id = [0_u8; 16];
        message_id[..8].copy_from_slice(wire.get(72..80)?);
        message_id[8..].copy_from_slice(wire.get(64..72)?);
        let payload = wire.slice(120..);
        let declared = usize::try_from(u32_at(116)?).ok()?;
        if declared != payload.len() {
            return None;
        }
        if !payload.is_empty() && Sha256::digest(&payload)[..] != wire[80..112] {
            return None;
        }
        Some(Self {
            message_type,
            sequence_number: i64::from_be_bytes(wire.get(48..56)?.try_into().ok()?),
            flags: u64_at(56)?,
            message_id,
            payload_type: u32_at(112)?,
            payload,
        })
    }

    /// The acknowledgement of this frame (sequence 0, flags 3).
    pub(crate) fn ack(&self) -> Self {
        let body = AckBody {
            acknowledged_message_type: self.message_type.clone(),
            acknowledged_message_id: uuid_text(&self.message_id),
            acknowledged_message_sequence_number: self.sequence_number,
            is_sequential_message: true,
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        Self::new(ACKNOWLEDGE, 0, 3, payload_type::UNDEFINED, json.into())
    }
}

/// The acknowledge JSON (reference §4.1).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AckBody {
    pub(crate) acknowledged_message_type: String,
    pub(crate) acknowledged_message_id: String,
    pub(crate) acknowledged_message_sequence_number: i64,
    #[serde(default)]
    pub(crate) is_sequential_message: bool,
}

/// The first (text) frame of every websocket (reference §1.3).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OpenDataChannel {
    pub(crate) message_schema_version: String,
    pub(crate) request_id: String,
    pub(crate) token_value: String,
    pub(crate) client_id: String,
    #[serde(default)]
    pub(crate) client_version: String,
}

/// The client's handshake response (reference §5.2).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct HandshakeResponseBody {
    pub(crate) client_version: String,
    #[serde(default)]
    pub(crate) processed_client_actions: Vec<ProcessedAction>,
}

/// One answered action.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ProcessedAction {
    pub(crate) action_type: String,
    pub(crate) action_status: i64,
    #[serde(default)]
    pub(crate) error: String,
}

/// The `channel_closed` frame for `session_id` with the reason `output`.
pub(crate) fn channel_closed(session_id: &str, output: &str) -> Frame {
    let id = new_message_id();
    let body = serde_json::json!({
        "MessageId": uuid_text(&id),
        "CreatedDate": unix_millis().to_string(),
        "DestinationId": "",
        "SessionId": session_id,
        "MessageType": CHANNEL_CLOSED,
        "SchemaVersion": 1,
        "Output": output,
    });
    let mut frame = Frame::new(
        CHANNEL_CLOSED,
        0,
        0,
        payload_type::UNDEFINED,
        body.to_string().into_bytes().into(),
    );
    frame.message_id = id;
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_a_bad_digest() {
        let frame = Frame::new(
            INPUT_STREAM_DATA,
            7,
            0,
            payload_type::OUTPUT,
            "hello".into(),
        );
        let wire = frame.encode();
        assert_eq!(wire.len(), 125);
        let back = Frame::decode(&wire).unwrap();
        assert_eq!(back.message_type, INPUT_STREAM_DATA);
        assert_eq!(back.sequence_number, 7);
        assert_eq!(back.message_id, frame.message_id);
        assert_eq!(&back.payload[..], b"hello");
        let mut bad = wire.to_vec();
        bad[124] ^= 1;
        assert!(Frame::decode(&Bytes::from(bad)).is_none());
        let ack = back.ack();
        let body: AckBody = serde_json::from_slice(&ack.payload).unwrap();
        assert_eq!(body.acknowledged_message_sequence_number, 7);
        assert_eq!(body.acknowledged_message_id, uuid_text(&frame.message_id));
    }
}
