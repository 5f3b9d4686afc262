//! The receiving half of the data channel: in-order delivery, a bounded reorder buffer and
//! duplicate detection (reference §4.3, "native client rule").
//!
//! The caller acks every message this accepts (delivered, buffered or duplicate) and none it
//! refuses: a refused message is retransmitted by the peer later, which is the backpressure
//! when the consumer falls behind or the reorder buffer is full.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use crate::tunnel::ssm::message::PayloadType;

/// One in-order stream-data payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its sequence number.
    pub sequence_number: i64,
    /// What the payload is.
    pub payload_type: PayloadType,
    /// The payload.
    pub payload: Bytes,
}

/// What happened to a received stream-data message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataDisposition {
    /// It was the next expected one: queued for delivery (with any buffered successors). Acked.
    Delivered,
    /// Ahead of a gap: kept until the gap fills. Acked.
    Buffered,
    /// Seen before (delivered or buffered). Acked again, since our first ack may be lost.
    Duplicate,
    /// No room (reorder buffer full, or the consumer is behind). Not acked; the peer resends.
    Refused,
}

impl DataDisposition {
    /// Whether the message must be acknowledged.
    pub fn is_acked(self) -> bool {
        self != Self::Refused
    }
}

/// The receiving state.
#[derive(Debug)]
pub(super) struct Inbound {
    expected: i64,
    reorder: BTreeMap<i64, Delivery>,
    reorder_capacity: usize,
    deliveries: VecDeque<Delivery>,
    delivery_bytes: usize,
    delivery_capacity_bytes: usize,
}

impl Inbound {
    pub(super) fn new(reorder_capacity: usize, delivery_capacity_bytes: usize) -> Self {
        Self {
            expected: 0,
            reorder: BTreeMap::new(),
            reorder_capacity,
            deliveries: VecDeque::new(),
            delivery_bytes: 0,
            delivery_capacity_bytes,
        }
    }

    /// The next sequence number to deliver.
    pub(super) fn expected(&self) -> i64 {
        self.expected
    }

    /// Takes one received message.
    pub(super) fn accept(&mut self, delivery: Delivery) -> DataDisposition {
        let sequence_number = delivery.sequence_number;
        if sequence_number < self.expected || self.reorder.contains_key(&sequence_number) {
            return DataDisposition::Duplicate;
        }
        if sequence_number > self.expected {
            if self.reorder.len() >= self.reorder_capacity {
                return DataDisposition::Refused;
            }
            self.reorder.insert(sequence_number, delivery);
            return DataDisposition::Buffered;
        }
        // Always room for one message, so a payload larger than the bound still gets through.
        if !self.deliveries.is_empty() && self.delivery_bytes >= self.delivery_capacity_bytes {
            return DataDisposition::Refused;
        }
        self.push_delivery(delivery);
        // Buffered successors were acked already, so they move regardless of the bound.
        while let Some(next) = self.reorder.remove(&self.expected) {
            self.push_delivery(next);
        }
        DataDisposition::Delivered
    }

    fn push_delivery(&mut self, delivery: Delivery) {
        self.expected += 1;
        self.delivery_bytes += delivery.payload.len();
        self.deliveries.push_back(delivery);
    }

    /// The next in-order payload for the consumer.
    pub(super) fn pop(&mut self) -> Option<Delivery> {
        let delivery = self.deliveries.pop_front()?;
        self.delivery_bytes -= delivery.payload.len();
        Some(delivery)
    }

    /// Bytes delivered but not yet taken by the consumer.
    pub(super) fn pending_bytes(&self) -> usize {
        self.delivery_bytes
    }

    /// Messages held back behind a gap.
    pub(super) fn buffered_len(&self) -> usize {
        self.reorder.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(sequence_number: i64, payload: &'static [u8]) -> Delivery {
        Delivery {
            sequence_number,
            payload_type: PayloadType::Output,
            payload: Bytes::from_static(payload),
        }
    }

    fn drain(inbound: &mut Inbound) -> Vec<i64> {
        std::iter::from_fn(|| inbound.pop())
            .map(|delivery| delivery.sequence_number)
            .collect()
    }

    #[test]
    fn delivers_in_order_across_gaps_and_drops_duplicates() {
        let mut inbound = Inbound::new(8, 1 << 20);
        assert_eq!(inbound.accept(message(2, b"c")), DataDisposition::Buffered);
        assert_eq!(inbound.accept(message(2, b"c")), DataDisposition::Duplicate);
        assert_eq!(inbound.accept(message(1, b"b")), DataDisposition::Buffered);
        assert!(drain(&mut inbound).is_empty());
        assert_eq!(inbound.accept(message(0, b"a")), DataDisposition::Delivered);
        assert_eq!(drain(&mut inbound), [0, 1, 2]);
        assert_eq!(inbound.accept(message(1, b"b")), DataDisposition::Duplicate);
        assert_eq!(inbound.expected(), 3);
        assert_eq!(inbound.buffered_len(), 0);
    }

    #[test]
    fn refuses_beyond_the_reorder_capacity() {
        let mut inbound = Inbound::new(2, 1 << 20);
        assert_eq!(inbound.accept(message(1, b"b")), DataDisposition::Buffered);
        assert_eq!(inbound.accept(message(2, b"c")), DataDisposition::Buffered);
        assert_eq!(inbound.accept(message(3, b"d")), DataDisposition::Refused);
        assert_eq!(inbound.accept(message(0, b"a")), DataDisposition::Delivered);
        assert_eq!(inbound.accept(message(3, b"d")), DataDisposition::Delivered);
        assert_eq!(drain(&mut inbound), [0, 1, 2, 3]);
    }

    #[test]
    fn refuses_while_the_consumer_is_behind() {
        let mut inbound = Inbound::new(8, 4);
        assert_eq!(
            inbound.accept(message(0, b"12345")),
            DataDisposition::Delivered
        );
        assert_eq!(inbound.accept(message(1, b"6")), DataDisposition::Refused);
        assert_eq!(inbound.pending_bytes(), 5);
        assert_eq!(drain(&mut inbound), [0]);
        assert_eq!(inbound.accept(message(1, b"6")), DataDisposition::Delivered);
    }
}
