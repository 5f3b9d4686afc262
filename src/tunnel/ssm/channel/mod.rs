//! The reliable data channel over one (reconnectable) websocket, sans I/O (reference §4).
//!
//! [`DataChannel`] owns sequence numbers, acknowledgements, retransmission, in-order delivery and
//! publication pauses. The driver feeds it every binary websocket message
//! ([`DataChannel::handle_message`]), writes whatever [`DataChannel::poll_transmit`] returns,
//! wakes it at [`DataChannel::poll_timeout`], queues payloads with [`DataChannel::send`] while
//! [`DataChannel::send_window_free`] allows, and takes in-order payloads from
//! [`DataChannel::poll_delivery`]. State survives reconnects; after one, call
//! [`DataChannel::on_reconnected`]. It plays either end ([`Role`]) so tests and the fake agent
//! can run two of them against each other.

mod inbound;
mod outbound;
pub mod rtt;

#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use uuid::Uuid;

use super::message::{
    ClientMessage, DecodeError, EncodeError, MessageType, PayloadType, SCHEMA_VERSION,
};
use super::payload::{Acknowledge, ChannelClosed, PayloadError};
pub use inbound::{DataDisposition, Delivery};
use outbound::Outbound;
pub use outbound::Transmission;
pub use rtt::RttConfig;

/// Which end of the channel this state machine plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sends `input_stream_data`, receives `output_stream_data`.
    Client,
    /// Sends `output_stream_data` (SYN flag on seq 0), receives `input_stream_data`.
    Agent,
}

impl Role {
    fn outgoing_type(self) -> MessageType {
        match self {
            Self::Client => MessageType::InputStreamData,
            Self::Agent => MessageType::OutputStreamData,
        }
    }

    fn incoming_type(self) -> MessageType {
        match self {
            Self::Client => MessageType::OutputStreamData,
            Self::Agent => MessageType::InputStreamData,
        }
    }
}

/// Tunables. Defaults suit the real service; the fake may raise `max_payload_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Which end this is.
    pub role: Role,
    /// Largest payload per message; both official ends send ≤ 1024 and the service's own limit is
    /// unknown (reference §4.2).
    pub max_payload_bytes: usize,
    /// Unacknowledged messages in flight; a full window refuses [`DataChannel::send`].
    pub send_window_messages: usize,
    /// Messages kept ahead of a gap before new ones are refused (unacked).
    pub reorder_capacity_messages: usize,
    /// Delivered bytes the consumer has not taken before new in-order messages are refused.
    pub delivery_capacity_bytes: usize,
    /// RTO estimation.
    pub rtt: RttConfig,
    /// While paused, resend the oldest unacked message this often in case the resume was lost.
    pub pause_probe_interval: Duration,
}

impl ChannelConfig {
    /// Defaults for `role`.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            max_payload_bytes: 1024,
            send_window_messages: 512,
            reorder_capacity_messages: 4096,
            delivery_capacity_bytes: 4 << 20,
            rtt: RttConfig::default(),
            pause_probe_interval: Duration::from_secs(5),
        }
    }
}

/// What a received message was, for the driver's decisions and the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Stream data from the peer; delivered payloads come out of [`DataChannel::poll_delivery`].
    Data {
        /// Its sequence number.
        sequence_number: i64,
        /// Its payload type.
        payload_type: PayloadType,
        /// What became of it.
        disposition: DataDisposition,
    },
    /// An acknowledgement of one of ours.
    Acknowledged {
        /// The acknowledged sequence number.
        sequence_number: i64,
        /// `false` if nothing was waiting for it (a duplicate ack).
        released: bool,
    },
    /// The session is over; stop everything and show `output` if non-empty.
    ChannelClosed(ChannelClosed),
    /// The peer is away: sending stops until it is back.
    PublicationPaused,
    /// The peer is back.
    PublicationStarted,
    /// A type we do not handle (or our own direction's data); log it.
    Ignored {
        /// Its type.
        message_type: MessageType,
    },
}

/// Why a received message was dropped (never acked).
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// Not a valid frame.
    #[error("dropped an invalid data-channel message: {0}")]
    Decode(#[from] DecodeError),
    /// A valid frame whose body could not be read or written.
    #[error("dropped a data-channel message: {0}")]
    Payload(#[from] PayloadError),
    /// Our own acknowledgement could not be encoded (a bug).
    #[error("could not encode an acknowledgement: {0}")]
    Encode(#[from] EncodeError),
}

/// Why [`DataChannel::send`] refused a payload.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Empty payloads are never sent (the agent drops them).
    #[error("refusing to send an empty payload")]
    EmptyPayload,
    /// Split it first.
    #[error("payload of {len} bytes exceeds the {max}-byte message limit")]
    PayloadTooLarge {
        /// Its length.
        len: usize,
        /// The configured limit.
        max: usize,
    },
    /// Wait for acks ([`DataChannel::send_window_free`]).
    #[error("send window of {window} messages is full; waiting for acknowledgements")]
    WindowFull {
        /// The window size.
        window: usize,
    },
    /// The frame could not be encoded.
    #[error("could not encode the message: {0}")]
    Encode(#[from] EncodeError),
}

/// Counters for tests, transcripts and the status view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Stream messages sent for the first time.
    pub sent: u64,
    /// Stream messages resent.
    pub retransmitted: u64,
    /// Acknowledgements sent.
    pub acks_sent: u64,
    /// Duplicate stream messages received (and re-acked).
    pub duplicates_received: u64,
    /// Stream messages refused for lack of room (not acked).
    pub refused: u64,
}

/// Unix milliseconds for [`ClientMessage::created_date_millis`], derived from the `Instant`s the
/// caller passes so the state machine never reads a clock itself.
#[derive(Clone, Copy, Debug)]
struct WallClock {
    origin: Instant,
    origin_unix_millis: u64,
}

impl WallClock {
    fn unix_millis(self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin).as_millis();
        // Created date 0 is invalid on the wire.
        (u128::from(self.origin_unix_millis) + elapsed).clamp(1, u128::from(u64::MAX)) as u64
    }
}

/// The current Unix time in milliseconds, for [`DataChannel::new`].
pub fn unix_millis_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(1, |elapsed| elapsed.as_millis() as u64)
}

/// The sans-I/O data channel. See the module docs for the driving loop.
#[derive(Debug)]
pub struct DataChannel {
    config: ChannelConfig,
    clock: WallClock,
    outbound: Outbound,
    inbound: inbound::Inbound,
    acks: VecDeque<Bytes>,
    /// `Some(next probe time)` while the peer is paused.
    paused_probe_at: Option<Instant>,
    stats: ChannelStats,
}

impl DataChannel {
    /// A fresh channel; `unix_millis` is the wall-clock time at `now` (see [`unix_millis_now`]).
    pub fn new(config: ChannelConfig, now: Instant, unix_millis: u64) -> Self {
        Self {
            outbound: Outbound::new(config.rtt, config.send_window_messages),
            inbound: inbound::Inbound::new(
                config.reorder_capacity_messages,
                config.delivery_capacity_bytes,
            ),
            config,
            clock: WallClock {
                origin: now,
                origin_unix_millis: unix_millis,
            },
            acks: VecDeque::new(),
            paused_probe_at: None,
            stats: ChannelStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ChannelConfig {
        &self.config
    }

    /// Queues one sequenced payload; returns its sequence number.
    pub fn send(
        &mut self,
        payload_type: PayloadType,
        payload: Bytes,
        now: Instant,
    ) -> Result<i64, SendError> {
        if payload.is_empty() {
            return Err(SendError::EmptyPayload);
        }
        if payload.len() > self.config.max_payload_bytes {
            return Err(SendError::PayloadTooLarge {
                len: payload.len(),
                max: self.config.max_payload_bytes,
            });
        }
        if self.outbound.free() == 0 {
            return Err(SendError::WindowFull {
                window: self.outbound.window(),
            });
        }
        let sequence_number = self.outbound.next_sequence_number();
        let flags = match self.config.role {
            Role::Agent if sequence_number == 0 => ClientMessage::FLAG_SYN,
            _ => 0,
        };
        let wire = ClientMessage {
            message_type: self.config.role.outgoing_type(),
            schema_version: SCHEMA_VERSION,
            created_date_millis: self.clock.unix_millis(now),
            sequence_number,
            flags,
            message_id: Uuid::new_v4(),
            payload_type,
            payload,
        }
        .encode()?;
        Ok(self.outbound.push(wire, now))
    }

    /// How many more payloads [`DataChannel::send`] accepts now.
    pub fn send_window_free(&self) -> usize {
        self.outbound.free()
    }

    /// Sent or queued payloads not yet acknowledged.
    pub fn unacked_len(&self) -> usize {
        self.outbound.unacked_len()
    }

    /// Since when we wait for acks without progress (`None`: everything acked). The driver gives
    /// up on its own wall-clock budget, e.g. minutes while connected.
    pub fn waiting_for_ack_since(&self) -> Option<Instant> {
        self.outbound.waiting_since()
    }

    /// Whether the peer is paused (`pause_publication` seen, no resume yet).
    pub fn is_paused(&self) -> bool {
        self.paused_probe_at.is_some()
    }

    /// The smoothed round-trip time (the initial estimate until the first ack).
    pub fn srtt(&self) -> Duration {
        self.outbound.rtt().srtt()
    }

    /// The current retransmission timeout.
    pub fn rto(&self) -> Duration {
        self.outbound.rtt().rto()
    }

    /// Counters.
    pub fn stats(&self) -> ChannelStats {
        self.stats
    }

    /// The next sequence number expected from the peer (= how many were delivered).
    pub fn expected_sequence_number(&self) -> i64 {
        self.inbound.expected()
    }

    /// Messages held ahead of a gap.
    pub fn reorder_buffered_len(&self) -> usize {
        self.inbound.buffered_len()
    }

    /// Delivered bytes waiting in [`DataChannel::poll_delivery`].
    pub fn pending_delivery_bytes(&self) -> usize {
        self.inbound.pending_bytes()
    }

    /// Processes one binary websocket message. Errors mean the message was dropped unacked; log
    /// them and carry on (the peer resends a good copy).
    pub fn handle_message(&mut self, wire: &Bytes, now: Instant) -> Result<Received, ChannelError> {
        let message = ClientMessage::decode(wire)?;
        let received = match &message.message_type {
            message_type if *message_type == self.config.role.incoming_type() => {
                self.resume();
                let disposition = self.inbound.accept(Delivery {
                    sequence_number: message.sequence_number,
                    payload_type: message.payload_type,
                    payload: message.payload.clone(),
                });
                match disposition {
                    DataDisposition::Duplicate => self.stats.duplicates_received += 1,
                    DataDisposition::Refused => self.stats.refused += 1,
                    DataDisposition::Delivered | DataDisposition::Buffered => {}
                }
                if disposition.is_acked() {
                    let ack = Acknowledge::of(&message)
                        .to_message(self.clock.unix_millis(now), Uuid::new_v4())?;
                    self.acks.push_back(ack.encode()?);
                }
                Received::Data {
                    sequence_number: message.sequence_number,
                    payload_type: message.payload_type,
                    disposition,
                }
            }
            MessageType::Acknowledge => {
                let ack = Acknowledge::from_json(&message.payload)?;
                self.resume();
                let sequence_number = ack.acknowledged_message_sequence_number;
                Received::Acknowledged {
                    sequence_number,
                    released: self.outbound.acknowledge(sequence_number, now),
                }
            }
            MessageType::ChannelClosed => {
                // Closed is closed even if the reason cannot be read.
                let closed = ChannelClosed::from_json(&message.payload).unwrap_or_else(|error| {
                    tracing::warn!("unreadable channel_closed payload: {error}");
                    ChannelClosed::default()
                });
                Received::ChannelClosed(closed)
            }
            MessageType::PausePublication => {
                self.paused_probe_at = Some(now + self.config.pause_probe_interval);
                Received::PublicationPaused
            }
            MessageType::StartPublication => {
                self.resume();
                Received::PublicationStarted
            }
            other => Received::Ignored {
                message_type: other.clone(),
            },
        };
        Ok(received)
    }

    fn resume(&mut self) {
        self.paused_probe_at = None;
    }

    /// The next binary websocket message to send, if any is due at `now`: acknowledgements first,
    /// then expired and new stream messages (none while paused, except a periodic probe).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        if let Some(ack) = self.acks.pop_front() {
            self.stats.acks_sent += 1;
            return Some(ack);
        }
        let transmitted = match self.paused_probe_at {
            Some(probe_at) if now >= probe_at => {
                self.paused_probe_at = Some(now + self.config.pause_probe_interval);
                self.outbound.probe(now)
            }
            Some(_) => None,
            None => self.outbound.poll_transmit(now),
        };
        let (_, wire, transmission) = transmitted?;
        match transmission {
            Transmission::First => self.stats.sent += 1,
            Transmission::Retransmission => self.stats.retransmitted += 1,
        }
        Some(wire)
    }

    /// When to call [`DataChannel::poll_transmit`] next if no message arrives, assuming it was
    /// drained (called until `None`) since the last change: the earliest retransmission timer, or
    /// the pause probe. `None` when only new input or a new send can create work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.paused_probe_at {
            Some(probe_at) => (self.outbound.sent_unacked_len() > 0).then_some(probe_at),
            None => self.outbound.next_deadline(),
        }
    }

    /// The next in-order payload received from the peer.
    pub fn poll_delivery(&mut self) -> Option<Delivery> {
        self.inbound.pop()
    }

    /// Call after a new websocket is open (and `OpenDataChannelInput` sent): every unacked message
    /// is resent at once and a pause is forgotten, as the agent does after its own reconnect.
    pub fn on_reconnected(&mut self, now: Instant) {
        self.resume();
        self.outbound.expire_all(now);
    }
}
