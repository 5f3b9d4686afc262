//! smux v1 client, sans I/O: multiplexes local TCP connections over the byte stream the data
//! channel carries in `Output` payloads (reference §6.2, §7).
//!
//! Hand-written rather than borrowed so it interlocks with the data-channel window and follows Go
//! smux v1.5's rules exactly: client stream ids are odd and start at 3; FIN means "closed" (the
//! agent then closes its destination socket, no half-close); no flow control but a byte budget
//! the caller enforces; NOP keep-alive only when the version rules require it. The caller feeds
//! delivered payload bytes to [`SmuxClient::receive`], takes transport bytes from
//! [`SmuxClient::poll_transmit`] (≤ one data-channel payload at a time), reacts to
//! [`SmuxClient::poll_event`] and wakes it at [`SmuxClient::poll_timeout`].

pub mod frame;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

pub use self::frame::{Command, Frame, FrameDecoder, FrameError};
use super::version::SmuxKeepAlive;

/// A stream id (odd: client-opened).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(u32);

impl StreamId {
    /// The wire value.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "smux stream {}", self.0)
    }
}

/// Tunables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmuxConfig {
    /// Whether to send NOPs (decided by [`super::version::client_forwarding_mode`]).
    pub keepalive: SmuxKeepAlive,
    /// How often, when required (Go default: 10 s; the agent gives up after 30 s of silence).
    pub keepalive_interval: Duration,
    /// Largest PSH data we send (Go's default 32768; the wire allows 65535).
    pub max_frame_bytes: usize,
    /// Encoded bytes waiting for [`SmuxClient::poll_transmit`] before [`SmuxClient::write`]
    /// accepts no more: the backpressure that reaches local sockets.
    pub max_pending_transmit_bytes: usize,
}

impl Default for SmuxConfig {
    fn default() -> Self {
        Self {
            keepalive: SmuxKeepAlive::Disabled,
            keepalive_interval: Duration::from_secs(10),
            max_frame_bytes: 32_768,
            max_pending_transmit_bytes: 256 << 10,
        }
    }
}

/// Something the driver must react to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEvent {
    /// Data arrived for a stream that had none buffered: [`SmuxClient::read`] until `None`.
    Readable(StreamId),
    /// The agent closed the stream (FIN). Read what is buffered, then close the local connection.
    /// `received_data` is `false` for a stream that never got a byte, which is how a failed dial
    /// (`ConnectToPortError`) shows (reference §6.5).
    Finished {
        /// The stream.
        stream_id: StreamId,
        /// Whether any data ever arrived on it.
        received_data: bool,
    },
}

/// Why an smux call failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SmuxError {
    /// The agent sent something invalid; the session (and so the tunnel) must be restarted.
    #[error("smux session is broken: {0}")]
    Broken(#[from] FrameError),
    /// No such open stream.
    #[error("{0} is not open")]
    UnknownStream(StreamId),
    /// Writing after [`SmuxClient::finish`].
    #[error("{0} was already closed by this side")]
    StreamFinished(StreamId),
    /// Stream ids would wrap; a new session is needed.
    #[error("smux stream ids are exhausted; a new session is needed")]
    StreamIdsExhausted,
}

#[derive(Debug, Default)]
struct Stream {
    received: VecDeque<Bytes>,
    received_bytes: usize,
    received_any: bool,
    remote_finished: bool,
    local_finished: bool,
}

/// The client side of one smux v1 session.
#[derive(Debug)]
pub struct SmuxClient {
    config: SmuxConfig,
    decoder: FrameDecoder,
    last_stream_id: u32,
    streams: BTreeMap<u32, Stream>,
    transmit: BytesMut,
    events: VecDeque<StreamEvent>,
    broken: Option<FrameError>,
    received_bytes: usize,
    next_keepalive: Option<Instant>,
    /// Whether a frame other than NOP was queued since the last keep-alive tick.
    active_since_keepalive: bool,
}

impl SmuxClient {
    /// A session with no streams; `now` starts the keep-alive clock.
    pub fn new(config: SmuxConfig, now: Instant) -> Self {
        let next_keepalive = match config.keepalive {
            SmuxKeepAlive::Required => Some(now + config.keepalive_interval),
            SmuxKeepAlive::Disabled => None,
        };
        Self {
            config,
            decoder: FrameDecoder::new(),
            // Go's client adds 2 before use, so the first stream is 3.
            last_stream_id: 1,
            streams: BTreeMap::new(),
            transmit: BytesMut::new(),
            events: VecDeque::new(),
            broken: None,
            received_bytes: 0,
            next_keepalive,
            active_since_keepalive: false,
        }
    }

    fn check_alive(&self) -> Result<(), SmuxError> {
        match &self.broken {
            Some(error) => Err(SmuxError::Broken(error.clone())),
            None => Ok(()),
        }
    }

    /// Queues a frame without data (SYN, FIN, NOP).
    fn queue_control(&mut self, command: Command, stream_id: u32) {
        frame::put_header(&mut self.transmit, command, 0, stream_id);
        if command != Command::Nop {
            self.active_since_keepalive = true;
        }
    }

    /// Opens a stream (queues its SYN).
    pub fn open_stream(&mut self) -> Result<StreamId, SmuxError> {
        self.check_alive()?;
        let id = self
            .last_stream_id
            .checked_add(2)
            .ok_or(SmuxError::StreamIdsExhausted)?;
        self.last_stream_id = id;
        self.queue_control(Command::Syn, id);
        self.streams.insert(id, Stream::default());
        Ok(StreamId(id))
    }

    /// Queues as much of `data` as the transmit budget allows, as PSH frames; returns how many
    /// bytes were taken (0 when full: retry after [`SmuxClient::poll_transmit`] made room).
    pub fn write(&mut self, stream_id: StreamId, data: &[u8]) -> Result<usize, SmuxError> {
        self.check_alive()?;
        let stream = self
            .streams
            .get(&stream_id.0)
            .ok_or(SmuxError::UnknownStream(stream_id))?;
        if stream.local_finished {
            return Err(SmuxError::StreamFinished(stream_id));
        }
        let room = self
            .config
            .max_pending_transmit_bytes
            .saturating_sub(self.transmit.len());
        let taken = data.len().min(room);
        let max_frame = self.config.max_frame_bytes.clamp(1, frame::MAX_DATA_BYTES);
        for part in data[..taken].chunks(max_frame) {
            Frame::psh(stream_id.0, Bytes::copy_from_slice(part))
                .encode_into(&mut self.transmit)?;
        }
        self.active_since_keepalive |= taken > 0;
        Ok(taken)
    }

    /// Closes our side (queues FIN), as the plugin does when the local connection ends. Data the
    /// agent still sends is delivered until its FIN, or until [`SmuxClient::forget`].
    pub fn finish(&mut self, stream_id: StreamId) -> Result<(), SmuxError> {
        self.check_alive()?;
        let stream = self
            .streams
            .get_mut(&stream_id.0)
            .ok_or(SmuxError::UnknownStream(stream_id))?;
        if !stream.local_finished {
            stream.local_finished = true;
            self.queue_control(Command::Fin, stream_id.0);
        }
        self.remove_if_done(stream_id.0);
        Ok(())
    }

    /// Drops a stream at once (FIN first if not sent): later data for it is discarded.
    pub fn forget(&mut self, stream_id: StreamId) {
        let Some(stream) = self.streams.remove(&stream_id.0) else {
            return;
        };
        self.received_bytes -= stream.received_bytes;
        if !stream.local_finished && self.broken.is_none() {
            self.queue_control(Command::Fin, stream_id.0);
        }
    }

    /// Up to `max_bytes` of the stream's received data, in order; `None` when nothing is buffered.
    pub fn read(&mut self, stream_id: StreamId, max_bytes: usize) -> Option<Bytes> {
        if max_bytes == 0 {
            return None;
        }
        let stream = self.streams.get_mut(&stream_id.0)?;
        let front = stream.received.front_mut()?;
        let data = if front.len() > max_bytes {
            front.split_to(max_bytes)
        } else {
            stream.received.pop_front()?
        };
        stream.received_bytes -= data.len();
        self.received_bytes -= data.len();
        self.remove_if_done(stream_id.0);
        Some(data)
    }

    fn remove_if_done(&mut self, id: u32) {
        if self.streams.get(&id).is_some_and(|stream| {
            stream.local_finished && stream.remote_finished && stream.received.is_empty()
        }) {
            self.streams.remove(&id);
        }
    }

    /// Whether the stream is open (not finished on both sides and drained, nor forgotten).
    pub fn is_open(&self, stream_id: StreamId) -> bool {
        self.streams.contains_key(&stream_id.0)
    }

    /// Streams currently open.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Received bytes not yet read, all streams together. Stop feeding [`SmuxClient::receive`]
    /// above a budget (the data channel then stops acking, which slows the agent).
    pub fn received_bytes(&self) -> usize {
        self.received_bytes
    }

    /// Feeds transport bytes (delivered `Output` payloads, in order).
    pub fn receive(&mut self, bytes: &[u8]) -> Result<(), SmuxError> {
        self.check_alive()?;
        self.decoder.extend(bytes);
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => self.handle_frame(frame),
                Ok(None) => return Ok(()),
                Err(error) => {
                    self.broken = Some(error.clone());
                    return Err(SmuxError::Broken(error));
                }
            }
        }
    }

    fn handle_frame(&mut self, frame: Frame) {
        let id = frame.stream_id;
        match frame.command {
            Command::Psh => {
                // Go discards data for unknown streams; so do we, and after the agent's FIN.
                let Some(stream) = self
                    .streams
                    .get_mut(&id)
                    .filter(|stream| !stream.remote_finished)
                else {
                    tracing::debug!(
                        "smux: discarding {} bytes for closed stream {id}",
                        frame.data.len()
                    );
                    return;
                };
                if frame.data.is_empty() {
                    return;
                }
                if stream.received.is_empty() {
                    self.events.push_back(StreamEvent::Readable(StreamId(id)));
                }
                stream.received_any = true;
                stream.received_bytes += frame.data.len();
                self.received_bytes += frame.data.len();
                stream.received.push_back(frame.data);
            }
            Command::Fin => {
                if let Some(stream) = self.streams.get_mut(&id)
                    && !stream.remote_finished
                {
                    stream.remote_finished = true;
                    self.events.push_back(StreamEvent::Finished {
                        stream_id: StreamId(id),
                        received_data: stream.received_any,
                    });
                    self.remove_if_done(id);
                }
            }
            // The agent never opens streams; a server-opened stream has nobody to serve it.
            Command::Syn => tracing::debug!("smux: ignoring SYN for stream {id} from the agent"),
            // Any frame counts as activity for a keep-alive check; we run none (reference §7.3).
            Command::Nop | Command::Upd => {}
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }

    /// Up to `max_bytes` of encoded frames to send as one `Output` payload.
    pub fn poll_transmit(&mut self, max_bytes: usize) -> Option<Bytes> {
        if self.transmit.is_empty() || max_bytes == 0 {
            return None;
        }
        let len = self.transmit.len().min(max_bytes);
        Some(self.transmit.split_to(len).freeze())
    }

    /// Encoded bytes waiting for [`SmuxClient::poll_transmit`].
    pub fn pending_transmit_bytes(&self) -> usize {
        self.transmit.len()
    }

    /// When [`SmuxClient::handle_timeout`] must run next (keep-alive only).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_keepalive
    }

    /// Runs the keep-alive tick: a NOP if no other frame was queued during the last interval.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(due) = self.next_keepalive else {
            return;
        };
        if now < due {
            return;
        }
        // NOPs themselves do not count as activity: an idle session gets one every interval.
        if !self.active_since_keepalive && self.broken.is_none() {
            self.queue_control(Command::Nop, 0);
        }
        self.active_since_keepalive = false;
        self.next_keepalive = Some(now + self.config.keepalive_interval);
    }
}
