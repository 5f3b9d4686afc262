//! The fake agent's reliability layer, as the reference describes the agent's (§4): per-direction
//! sequence numbers that survive reconnects, acks for every accepted message, re-acks for
//! duplicates, a reorder buffer, and retransmission with the agent's RTO formula. Unlike the
//! agent it resends every expired message, not only the oldest, so fault tests finish quickly,
//! and backs off per message so a slow client is not flooded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::wire::{Frame, OUTPUT_STREAM_DATA};

/// The agent's bound on buffered incoming messages (reference §4.4 says 100000; smaller here so
/// a stalled target shows as backpressure sooner).
const REORDER_CAPACITY: usize = 20_000;
/// Clock granularity G of the RTO formula.
const CLOCK_GRANULARITY: Duration = Duration::from_millis(10);
/// RTO cap.
const MAX_RTO: Duration = Duration::from_secs(1);
/// Cap of a backed-off timeout.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Outgoing {
    wire: Bytes,
    first_sent: Instant,
    last_sent: Instant,
    retransmitted: bool,
    /// Resends so far; each doubles the timeout.
    retries: u32,
}

/// What became of a received stream message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// Buffered for in-order delivery: ack it.
    New,
    /// Seen before: ack it again.
    Duplicate,
    /// No room: no ack, the client resends.
    Refused,
}

/// Sequencing state of one session, both directions.
#[derive(Debug)]
pub(crate) struct Arq {
    next_out: i64,
    unacked: BTreeMap<i64, Outgoing>,
    expected_in: i64,
    reorder: BTreeMap<i64, Frame>,
    srtt: Duration,
    rttvar: Duration,
    rto: Duration,
    /// Messages sent for the first time / resent.
    pub(crate) sent: u64,
    pub(crate) retransmitted: u64,
}

impl Arq {
    pub(crate) fn new() -> Self {
        Self {
            next_out: 0,
            unacked: BTreeMap::new(),
            expected_in: 0,
            reorder: BTreeMap::new(),
            srtt: Duration::from_millis(100),
            rttvar: Duration::ZERO,
            rto: Duration::from_millis(200),
            sent: 0,
            retransmitted: 0,
        }
    }

    /// Messages sent and not acknowledged.
    pub(crate) fn unacked_len(&self) -> usize {
        self.unacked.len()
    }

    /// Sequences a new `output_stream_data` message; returns its wire bytes to send now.
    pub(crate) fn sequence(&mut self, payload_type: u32, payload: Bytes, now: Instant) -> Bytes {
        let sequence_number = self.next_out;
        self.next_out += 1;
        let flags = u64::from(sequence_number == 0);
        let wire = Frame::new(
            OUTPUT_STREAM_DATA,
            sequence_number,
            flags,
            payload_type,
            payload,
        )
        .encode();
        self.unacked.insert(
            sequence_number,
            Outgoing {
                wire: wire.clone(),
                first_sent: now,
                last_sent: now,
                retransmitted: false,
                retries: 0,
            },
        );
        self.sent += 1;
        wire
    }

    /// An ack for `sequence_number` arrived; the RTT sample updates the RTO (Karn's rule).
    pub(crate) fn acknowledged(&mut self, sequence_number: i64, now: Instant) {
        let Some(outgoing) = self.unacked.remove(&sequence_number) else {
            return;
        };
        if outgoing.retransmitted {
            return;
        }
        let sample = now.saturating_duration_since(outgoing.first_sent);
        let difference = self.srtt.abs_diff(sample);
        self.rttvar = self.rttvar.mul_f64(0.75) + difference.mul_f64(0.25);
        self.srtt = self.srtt.mul_f64(0.875) + sample.mul_f64(0.125);
        self.rto = (self.srtt + CLOCK_GRANULARITY.max(self.rttvar * 4)).min(MAX_RTO);
    }

    /// Every message whose timer expired, marked as resent now.
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Bytes> {
        let rto = self.rto;
        let mut out = Vec::new();
        for outgoing in self.unacked.values_mut() {
            let timeout = (rto * (1 << outgoing.retries.min(6))).min(MAX_BACKOFF);
            if now.saturating_duration_since(outgoing.last_sent) >= timeout {
                outgoing.last_sent = now;
                outgoing.retransmitted = true;
                outgoing.retries += 1;
                out.push(outgoing.wire.clone());
            }
        }
        self.retransmitted += out.len() as u64;
        out
    }

    /// Every unacknowledged message, at once (after a reconnect).
    pub(crate) fn all_unacked(&mut self, now: Instant) -> Vec<Bytes> {
        for outgoing in self.unacked.values_mut() {
            outgoing.last_sent = now;
            outgoing.retransmitted = true;
        }
        self.retransmitted += self.unacked.len() as u64;
        self.unacked
            .values()
            .map(|outgoing| outgoing.wire.clone())
            .collect()
    }

    /// Takes a received `input_stream_data` frame.
    pub(crate) fn accept(&mut self, frame: Frame) -> Accepted {
        let sequence_number = frame.sequence_number;
        if sequence_number < self.expected_in || self.reorder.contains_key(&sequence_number) {
            return Accepted::Duplicate;
        }
        if self.reorder.len() >= REORDER_CAPACITY {
            return Accepted::Refused;
        }
        self.reorder.insert(sequence_number, frame);
        Accepted::New
    }

    /// The next in-order message, if it arrived.
    pub(crate) fn peek_ready(&self) -> Option<&Frame> {
        self.reorder.get(&self.expected_in)
    }

    /// Consumes the message [`Arq::peek_ready`] returned.
    pub(crate) fn pop_ready(&mut self) -> Option<Frame> {
        let frame = self.reorder.remove(&self.expected_in)?;
        self.expected_in += 1;
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::ssm_fake::wire::{INPUT_STREAM_DATA, payload_type};

    fn input(sequence_number: i64) -> Frame {
        Frame::new(
            INPUT_STREAM_DATA,
            sequence_number,
            0,
            payload_type::OUTPUT,
            "x".into(),
        )
    }

    #[test]
    fn delivers_in_order_and_reacks_duplicates() {
        let mut arq = Arq::new();
        assert_eq!(arq.accept(input(1)), Accepted::New);
        assert!(arq.peek_ready().is_none());
        assert_eq!(arq.accept(input(0)), Accepted::New);
        assert_eq!(arq.pop_ready().unwrap().sequence_number, 0);
        assert_eq!(arq.pop_ready().unwrap().sequence_number, 1);
        assert_eq!(arq.accept(input(0)), Accepted::Duplicate);
    }

    #[test]
    fn resends_until_acknowledged() {
        let mut arq = Arq::new();
        let start = Instant::now();
        arq.sequence(payload_type::OUTPUT, "a".into(), start);
        assert!(arq.due(start).is_empty());
        assert_eq!(arq.due(start + Duration::from_millis(250)).len(), 1);
        arq.acknowledged(0, start + Duration::from_millis(260));
        assert_eq!(arq.unacked_len(), 0);
        assert!(arq.due(start + Duration::from_secs(5)).is_empty());
    }
}
