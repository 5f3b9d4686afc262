//! The sending half of the data channel: sequence numbers, the bounded window of unacknowledged
//! messages and their retransmission timers.
//!
//! Unlike the plugin (reference §4.4) it retransmits every message whose timer expired, not just
//! the oldest; backs off per message; samples RTT from first transmissions only (Karn); and never
//! drops a message: a full window refuses new ones instead, which is the caller's backpressure.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use super::rtt::{RttConfig, RttEstimator};

/// One encoded, sequenced message awaiting its ack.
#[derive(Debug)]
struct Pending {
    wire: Bytes,
    first_sent: Option<Instant>,
    deadline: Option<Instant>,
    retransmissions: u32,
}

/// Whether a transmitted message is new or a resend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmission {
    /// First time on the wire.
    First,
    /// A resend after a timeout, a reconnect or a pause probe.
    Retransmission,
}

/// The sending state.
#[derive(Debug)]
pub(super) struct Outbound {
    rtt: RttEstimator,
    window: usize,
    next_sequence_number: i64,
    unacked: BTreeMap<i64, Pending>,
    unsent: VecDeque<i64>,
    /// Retransmission deadlines of sent messages, earliest first.
    timers: BTreeSet<(Instant, i64)>,
    /// When the last ack released a message (or the window last went from empty to non-empty).
    last_progress: Option<Instant>,
}

impl Outbound {
    pub(super) fn new(rtt: RttConfig, window: usize) -> Self {
        Self {
            rtt: RttEstimator::new(rtt),
            window: window.max(1),
            next_sequence_number: 0,
            unacked: BTreeMap::new(),
            unsent: VecDeque::new(),
            timers: BTreeSet::new(),
            last_progress: None,
        }
    }

    pub(super) fn rtt(&self) -> &RttEstimator {
        &self.rtt
    }

    /// The sequence number the next [`Outbound::push`] takes.
    pub(super) fn next_sequence_number(&self) -> i64 {
        self.next_sequence_number
    }

    /// How many more messages fit in the window.
    pub(super) fn free(&self) -> usize {
        self.window.saturating_sub(self.unacked.len())
    }

    pub(super) fn window(&self) -> usize {
        self.window
    }

    pub(super) fn unacked_len(&self) -> usize {
        self.unacked.len()
    }

    /// Queues an encoded message carrying [`Outbound::next_sequence_number`]. The caller checked
    /// [`Outbound::free`].
    pub(super) fn push(&mut self, wire: Bytes, now: Instant) -> i64 {
        let sequence_number = self.next_sequence_number;
        self.next_sequence_number += 1;
        if self.unacked.is_empty() {
            self.last_progress = Some(now);
        }
        self.unacked.insert(
            sequence_number,
            Pending {
                wire,
                first_sent: None,
                deadline: None,
                retransmissions: 0,
            },
        );
        self.unsent.push_back(sequence_number);
        sequence_number
    }

    /// The next message to put on the wire: expired ones first (the peer delivers in order, so
    /// a missing old message blocks everything after it), then new ones.
    pub(super) fn poll_transmit(&mut self, now: Instant) -> Option<(i64, Bytes, Transmission)> {
        if let Some(&(deadline, sequence_number)) = self.timers.first()
            && deadline <= now
        {
            return self.retransmit(sequence_number, now);
        }
        let sequence_number = self.unsent.pop_front()?;
        let pending = self.unacked.get_mut(&sequence_number)?;
        let deadline = now + self.rtt.rto();
        pending.first_sent = Some(now);
        pending.deadline = Some(deadline);
        self.timers.insert((deadline, sequence_number));
        Some((sequence_number, pending.wire.clone(), Transmission::First))
    }

    fn retransmit(
        &mut self,
        sequence_number: i64,
        now: Instant,
    ) -> Option<(i64, Bytes, Transmission)> {
        let pending = self.unacked.get_mut(&sequence_number)?;
        if let Some(deadline) = pending.deadline.take() {
            self.timers.remove(&(deadline, sequence_number));
        }
        pending.retransmissions = pending.retransmissions.saturating_add(1);
        let deadline = now + self.rtt.backed_off(pending.retransmissions);
        pending.deadline = Some(deadline);
        self.timers.insert((deadline, sequence_number));
        Some((
            sequence_number,
            pending.wire.clone(),
            Transmission::Retransmission,
        ))
    }

    /// Resends the oldest sent message now, whatever its timer (pause probe).
    pub(super) fn probe(&mut self, now: Instant) -> Option<(i64, Bytes, Transmission)> {
        let sequence_number = self
            .unacked
            .iter()
            .find(|(_, pending)| pending.first_sent.is_some())
            .map(|(sequence_number, _)| *sequence_number)?;
        self.retransmit(sequence_number, now)
    }

    /// When the earliest retransmission timer fires.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.timers.first().map(|(deadline, _)| *deadline)
    }

    /// Messages sent at least once and not yet acknowledged.
    pub(super) fn sent_unacked_len(&self) -> usize {
        self.unacked.len() - self.unsent.len()
    }

    /// Releases the message acknowledged by `sequence_number`; `false` if it was not waiting
    /// (already acked, or never sent).
    pub(super) fn acknowledge(&mut self, sequence_number: i64, now: Instant) -> bool {
        let Some(pending) = self.unacked.remove(&sequence_number) else {
            return false;
        };
        if let Some(deadline) = pending.deadline {
            self.timers.remove(&(deadline, sequence_number));
        }
        match pending.first_sent {
            // Karn's rule: a resent message's ack may answer any copy, so it is no sample.
            Some(first_sent) if pending.retransmissions == 0 => {
                self.rtt.observe(now.saturating_duration_since(first_sent));
            }
            Some(_) => {}
            // Acked before we sent it: only possible if the peer guessed; forget it.
            None => self.unsent.retain(|queued| *queued != sequence_number),
        }
        self.last_progress = Some(now);
        true
    }

    /// After a reconnect: every sent, unacked message is due now, oldest first.
    pub(super) fn expire_all(&mut self, now: Instant) {
        self.timers.clear();
        for (sequence_number, pending) in &mut self.unacked {
            if pending.first_sent.is_some() {
                pending.deadline = Some(now);
                self.timers.insert((now, *sequence_number));
            }
        }
    }

    /// Since when messages wait for an ack without any ack progress; `None` when all are acked.
    pub(super) fn waiting_since(&self) -> Option<Instant> {
        if self.unacked.is_empty() {
            None
        } else {
            self.last_progress
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn sends_in_order_then_retransmits_with_backoff() {
        let start = Instant::now();
        let mut outbound = Outbound::new(RttConfig::default(), 4);
        assert_eq!(outbound.push(Bytes::from_static(b"a"), start), 0);
        assert_eq!(outbound.push(Bytes::from_static(b"b"), start), 1);
        assert_eq!(outbound.free(), 2);
        assert_eq!(outbound.poll_transmit(start).unwrap().0, 0);
        assert_eq!(outbound.poll_transmit(start).unwrap().0, 1);
        assert!(outbound.poll_transmit(start).is_none());
        assert_eq!(outbound.next_deadline(), Some(start + millis(200)));

        assert!(outbound.poll_transmit(start + millis(199)).is_none());
        let (sequence_number, wire, kind) = outbound.poll_transmit(start + millis(200)).unwrap();
        assert_eq!(
            (sequence_number, wire.as_ref(), kind),
            (0, &b"a"[..], Transmission::Retransmission)
        );
        assert_eq!(outbound.poll_transmit(start + millis(200)).unwrap().0, 1);
        // Backed off: the next resend of 0 is 400 ms later.
        assert_eq!(outbound.next_deadline(), Some(start + millis(600)));
    }

    #[test]
    fn acks_release_and_sample_only_first_transmissions() {
        let start = Instant::now();
        let mut outbound = Outbound::new(RttConfig::default(), 4);
        outbound.push(Bytes::from_static(b"a"), start);
        outbound.push(Bytes::from_static(b"b"), start);
        outbound.poll_transmit(start);
        outbound.poll_transmit(start);
        outbound.poll_transmit(start + millis(200)); // resend of 0
        assert!(outbound.acknowledge(0, start + millis(900)));
        assert_eq!(
            outbound.rtt().srtt(),
            millis(100),
            "no sample from a resent message"
        );
        assert!(outbound.acknowledge(1, start + millis(180)));
        assert_eq!(outbound.rtt().srtt(), millis(110));
        assert!(
            !outbound.acknowledge(1, start + millis(181)),
            "duplicate ack"
        );
        assert_eq!(outbound.unacked_len(), 0);
        assert_eq!(outbound.next_deadline(), None);
        assert_eq!(outbound.waiting_since(), None);
    }

    #[test]
    fn reconnect_makes_every_sent_message_due() {
        let start = Instant::now();
        let mut outbound = Outbound::new(RttConfig::default(), 8);
        for payload in [b"a", b"b", b"c"] {
            outbound.push(Bytes::from_static(payload), start);
        }
        outbound.poll_transmit(start);
        outbound.poll_transmit(start);
        let later = start + millis(10);
        outbound.expire_all(later);
        let resent: Vec<(i64, Transmission)> = std::iter::from_fn(|| outbound.poll_transmit(later))
            .map(|(sequence_number, _, kind)| (sequence_number, kind))
            .collect();
        assert_eq!(
            resent,
            [
                (0, Transmission::Retransmission),
                (1, Transmission::Retransmission),
                (2, Transmission::First)
            ]
        );
    }

    #[test]
    fn probe_resends_the_oldest_sent_message() {
        let start = Instant::now();
        let mut outbound = Outbound::new(RttConfig::default(), 8);
        assert!(outbound.probe(start).is_none());
        outbound.push(Bytes::from_static(b"a"), start);
        outbound.push(Bytes::from_static(b"b"), start);
        outbound.poll_transmit(start);
        outbound.acknowledge(0, start);
        outbound.poll_transmit(start);
        assert_eq!(outbound.probe(start).unwrap().0, 1);
        assert_eq!(outbound.waiting_since(), Some(start));
    }
}
