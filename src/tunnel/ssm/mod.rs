//! The Session Manager data-channel protocol, sans I/O.
//!
//! Layers, bottom up, each usable and tested on its own:
//! - [`message`]: the binary `ClientMessage` frame every websocket binary message carries.
//! - [`payload`] and [`handshake`]: the JSON and flag bodies carried in those frames, the text
//!   frame that opens the channel, and the handshake answer.
//! - [`version`]: the version rules both ends apply to choose mux vs basic mode and smux
//!   keep-alive.
//! - [`channel`]: sequence numbers, acknowledgements, retransmission and in-order delivery.
//! - [`smux`]: the smux v1 client multiplexing local TCP connections over the delivered bytes.
//!
//! Nothing here opens a socket or sleeps, and the state machines never read a clock: callers pass
//! `Instant`s in and take bytes out, so every loss, duplication and reordering case is tested
//! deterministically. The driver that owns the websocket and the local listener lives next to
//! this module.

pub mod channel;
pub mod handshake;
pub mod message;
pub mod payload;
pub mod smux;
pub mod version;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod test_support;
