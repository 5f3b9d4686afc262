//! Fault injection between the fake agent's logic and its websocket, seeded so a failing run can
//! be replayed: loss, duplication and reordering of data-channel messages in each direction.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// What the fake SSM service and agent do to the data channel. Defaults: no faults, the agent's
/// 1 KiB messages, no pacing. Changing them affects sessions started afterwards.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SsmFaults {
    /// Percent of data-channel messages dropped, in each direction.
    pub loss_percent: u32,
    /// Percent of messages delivered twice, in each direction.
    pub duplicate_percent: u32,
    /// Percent of messages held back behind 1–4 later ones, in each direction.
    pub reorder_percent: u32,
    /// The agent sends its acknowledgements this much later.
    pub ack_delay_millis: u64,
    /// Close the websocket (TCP close, no close frame) after this many first transmissions (not
    /// resends) were sent to the client on it; 0 = never. The client must resume the session.
    pub drop_every_messages: u64,
    /// The real agent's pace: sleep 1 ms after each `Output` message towards the client, which
    /// caps that direction near 1 MB/s.
    pub paced: bool,
    /// Largest `Output` payload towards the client; 0 = 1024 (the agent's `StreamDataPayloadSize`).
    pub chunk_bytes: usize,
    /// Seed of the fault generator.
    pub seed: u64,
    /// `AgentVersion` in the handshake; `None` = `3.3.1142.0`.
    pub agent_version: Option<String>,
}

impl SsmFaults {
    /// The payload size towards the client.
    pub(crate) fn chunk(&self) -> usize {
        if self.chunk_bytes == 0 {
            1024
        } else {
            self.chunk_bytes.min(1 << 20)
        }
    }
}

/// xorshift64*: small and seeded.
#[derive(Debug, Clone)]
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        Self((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `true` with `percent` percent probability.
    pub(crate) fn chance(&mut self, percent: u32) -> bool {
        percent > 0 && self.next_u64() % 100 < u64::from(percent)
    }

    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }
}

/// One direction of faults: what goes in comes out dropped, doubled or late.
#[derive(Debug)]
pub(crate) struct FaultLink {
    rng: XorShift,
    loss_percent: u32,
    duplicate_percent: u32,
    reorder_percent: u32,
    /// Messages held back, each with how many later messages must pass first.
    held: VecDeque<(u64, Bytes)>,
}

impl FaultLink {
    pub(crate) fn new(faults: &SsmFaults, stream: u64) -> Self {
        Self {
            rng: XorShift::new(faults.seed.wrapping_mul(31).wrapping_add(stream)),
            loss_percent: faults.loss_percent,
            duplicate_percent: faults.duplicate_percent,
            reorder_percent: faults.reorder_percent,
            held: VecDeque::new(),
        }
    }

    /// What reaches the other side, in order, when `message` is sent now.
    pub(crate) fn pass(&mut self, message: Bytes) -> Vec<Bytes> {
        let mut out = Vec::with_capacity(2);
        if self.rng.chance(self.loss_percent) {
            // Lost.
        } else if self.held.is_empty() && self.rng.chance(self.reorder_percent) {
            let behind = self.rng.between(1, 4);
            self.held.push_back((behind, message));
        } else {
            if self.rng.chance(self.duplicate_percent) {
                out.push(message.clone());
            }
            out.push(message);
        }
        for (behind, _) in &mut self.held {
            *behind = behind.saturating_sub(1);
        }
        while self.held.front().is_some_and(|(behind, _)| *behind == 0) {
            if let Some((_, late)) = self.held.pop_front() {
                out.push(late);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_drop_double_and_reorder_but_keep_the_rest() {
        let faults = SsmFaults {
            loss_percent: 10,
            duplicate_percent: 10,
            reorder_percent: 10,
            seed: 7,
            ..SsmFaults::default()
        };
        let mut link = FaultLink::new(&faults, 0);
        let mut seen = Vec::new();
        for n in 0_u32..1000 {
            seen.extend(link.pass(Bytes::copy_from_slice(&n.to_be_bytes())));
        }
        let numbers: Vec<u32> = seen
            .iter()
            .map(|bytes| u32::from_be_bytes(bytes[..].try_into().unwrap()))
            .collect();
        let unique: std::collections::BTreeSet<u32> = numbers.iter().copied().collect();
        assert!((800..980).contains(&unique.len()), "{}", unique.len());
        assert!(numbers.len() > unique.len(), "some duplicates");
        assert!(
            numbers.windows(2).any(|pair| pair[0] > pair[1]),
            "some reordering"
        );
        let mut clean = FaultLink::new(&SsmFaults::default(), 0);
        assert_eq!(clean.pass(Bytes::from_static(b"x")).len(), 1);
    }
}
