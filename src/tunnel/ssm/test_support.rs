//! Test helpers shared by the protocol tests: a seeded xorshift generator and a lossy, duplicating,
//! reordering one-way link driven by explicit `Instant`s, and a client/agent channel pair joined
//! by two such links. Test-only.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::channel::{ChannelConfig, DataChannel, Role};
use super::message::ClientMessage;

/// One-way latency of the simulated links.
pub const LATENCY: Duration = Duration::from_millis(15);

/// xorshift64*: tiny, seeded, good enough to shuffle test traffic.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    /// `true` with the given percentage.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Fault rates of a [`LossyLink`], in percent per message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Dropped.
    pub loss: u64,
    /// Delivered twice.
    pub duplicate: u64,
    /// Held back by up to ten latencies, so later messages overtake it.
    pub reorder: u64,
}

/// A one-way link with latency and faults.
#[derive(Debug)]
pub struct LossyLink {
    rng: XorShift,
    faults: Faults,
    latency: Duration,
    counter: u64,
    in_flight: BinaryHeap<Reverse<(Instant, u64, Bytes)>>,
    /// While `true`, everything pushed is lost (a dead websocket).
    pub down: bool,
}

impl LossyLink {
    /// A link with `faults`, seeded.
    pub fn new(seed: u64, faults: Faults, latency: Duration) -> Self {
        Self {
            rng: XorShift::new(seed),
            faults,
            latency,
            counter: 0,
            in_flight: BinaryHeap::new(),
            down: false,
        }
    }

    /// Sends one message at `now`.
    pub fn push(&mut self, now: Instant, message: &Bytes) {
        if self.down || self.rng.chance(self.faults.loss) {
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut delay = self.latency;
            if self.rng.chance(self.faults.reorder) {
                delay += self.latency * (1 + self.rng.below(10) as u32);
            }
            self.counter += 1;
            self.in_flight
                .push(Reverse((now + delay, self.counter, message.clone())));
        }
    }

    /// The next message that has arrived by `now`.
    pub fn pop_arrived(&mut self, now: Instant) -> Option<Bytes> {
        let Reverse((arrival, _, _)) = self.in_flight.peek()?;
        if *arrival > now {
            return None;
        }
        self.in_flight.pop().map(|Reverse((_, _, message))| message)
    }

    /// When the next message arrives.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.in_flight
            .peek()
            .map(|Reverse((arrival, _, _))| *arrival)
    }
}

/// A client and an agent joined by two links, stepped on a virtual clock.
pub struct ChannelPair {
    pub now: Instant,
    pub client: DataChannel,
    pub agent: DataChannel,
    pub to_agent: LossyLink,
    pub to_client: LossyLink,
    /// Every message put on a link, for transcript assertions: (from client?, decoded).
    pub transcript: Vec<(bool, ClientMessage)>,
    pub record: bool,
}

impl ChannelPair {
    pub fn new(seed: u64, faults: Faults, configure: impl Fn(&mut ChannelConfig)) -> Self {
        let now = Instant::now();
        let mut client_config = ChannelConfig::new(Role::Client);
        let mut agent_config = ChannelConfig::new(Role::Agent);
        configure(&mut client_config);
        configure(&mut agent_config);
        Self {
            now,
            client: DataChannel::new(client_config, now, 1_700_000_000_000),
            agent: DataChannel::new(agent_config, now, 1_700_000_000_000),
            to_agent: LossyLink::new(seed, faults, LATENCY),
            to_client: LossyLink::new(seed.wrapping_add(1), faults, LATENCY),
            transcript: Vec::new(),
            record: false,
        }
    }

    /// Moves every message due at `now` across, until nothing more arrives.
    pub fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(wire) = self.client.poll_transmit(self.now) {
                if self.record {
                    self.transcript
                        .push((true, ClientMessage::decode(&wire).unwrap()));
                }
                self.to_agent.push(self.now, &wire);
            }
            while let Some(wire) = self.agent.poll_transmit(self.now) {
                if self.record {
                    self.transcript
                        .push((false, ClientMessage::decode(&wire).unwrap()));
                }
                self.to_client.push(self.now, &wire);
            }
            while let Some(wire) = self.to_agent.pop_arrived(self.now) {
                self.agent.handle_message(&wire, self.now).unwrap();
                moved = true;
            }
            while let Some(wire) = self.to_client.pop_arrived(self.now) {
                self.client.handle_message(&wire, self.now).unwrap();
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// Advances the clock to the next event; `false` if there is none.
    pub fn advance(&mut self) -> bool {
        let next = [
            self.to_agent.next_arrival(),
            self.to_client.next_arrival(),
            self.client.poll_timeout(),
            self.agent.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(next) => {
                self.now = self.now.max(next);
                true
            }
            None => false,
        }
    }

    /// Runs until both sides are idle or `limit` of virtual time passed.
    pub fn settle(&mut self, limit: Duration) {
        let deadline = self.now + limit;
        self.pump();
        while self.now < deadline && self.advance() {
            self.pump();
        }
    }
}
