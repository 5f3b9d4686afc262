//! smux frames (reference §7.2): an 8-byte little-endian header — version, command, data length
//! (u16), stream id (u32) — then the data. Only version 1 is spoken here; the window-update
//! command exists in version 2 only and is a protocol error in version 1.

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};

/// The protocol version both official ends use.
pub const VERSION_1: u8 = 1;
/// Header size.
pub const HEADER_BYTES: usize = 8;
/// Largest data a frame can carry (the length field is a u16).
pub const MAX_DATA_BYTES: usize = u16::MAX as usize;

/// A frame's command byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// 0: open a stream.
    Syn,
    /// 1: the stream is closed (EOF after buffered data).
    Fin,
    /// 2: data for a stream.
    Psh,
    /// 3: keep-alive, stream id 0, no data.
    Nop,
    /// 4: window update, version 2 only.
    Upd,
}

impl Command {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Self::Syn,
            1 => Self::Fin,
            2 => Self::Psh,
            3 => Self::Nop,
            4 => Self::Upd,
            _ => return None,
        })
    }

    fn as_byte(self) -> u8 {
        match self {
            Self::Syn => 0,
            Self::Fin => 1,
            Self::Psh => 2,
            Self::Nop => 3,
            Self::Upd => 4,
        }
    }
}

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The command.
    pub command: Command,
    /// The stream it is about (0 for NOP).
    pub stream_id: u32,
    /// Data (PSH only; empty otherwise).
    pub data: Bytes,
}

/// A protocol violation by the peer; the whole smux session is dead after one, as in Go.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A version other than 1.
    #[error("smux frame has version {found}, expected {VERSION_1}")]
    UnsupportedVersion {
        /// The version byte received.
        found: u8,
    },
    /// A command byte outside 0..=4.
    #[error("smux frame has unknown command {found}")]
    UnknownCommand {
        /// The command byte received.
        found: u8,
    },
    /// A window update in version 1.
    #[error("smux frame is a window update (UPD), which version 1 does not have")]
    UpdateInVersion1,
    /// Data too long for the u16 length field (our bug, not the peer's).
    #[error("smux frame data of {len} bytes exceeds {MAX_DATA_BYTES}")]
    DataTooLong {
        /// The data length.
        len: usize,
    },
}

impl Frame {
    /// SYN for `stream_id`.
    pub fn syn(stream_id: u32) -> Self {
        Self::control(Command::Syn, stream_id)
    }

    /// FIN for `stream_id`.
    pub fn fin(stream_id: u32) -> Self {
        Self::control(Command::Fin, stream_id)
    }

    /// NOP (keep-alive).
    pub fn nop() -> Self {
        Self::control(Command::Nop, 0)
    }

    /// PSH of `data` on `stream_id`.
    pub fn psh(stream_id: u32, data: Bytes) -> Self {
        Self {
            command: Command::Psh,
            stream_id,
            data,
        }
    }

    fn control(command: Command, stream_id: u32) -> Self {
        Self {
            command,
            stream_id,
            data: Bytes::new(),
        }
    }

    /// Appends the version-1 encoding to `out`.
    pub fn encode_into(&self, out: &mut BytesMut) -> Result<(), FrameError> {
        let len = u16::try_from(self.data.len()).map_err(|_| FrameError::DataTooLong {
            len: self.data.len(),
        })?;
        out.reserve(HEADER_BYTES + self.data.len());
        put_header(out, self.command, len, self.stream_id);
        out.put_slice(&self.data);
        Ok(())
    }
}

/// Appends a version-1 header; with `len` 0 it is a whole SYN, FIN or NOP frame.
pub fn put_header(out: &mut BytesMut, command: Command, len: u16, stream_id: u32) {
    out.put_u8(VERSION_1);
    out.put_u8(command.as_byte());
    out.put_u16_le(len);
    out.put_u32_le(stream_id);
}

/// Incremental decoder: frames may be split across, or packed into, data-channel payloads.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: BytesMut,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received transport bytes.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes held that do not yet form a whole frame.
    pub fn buffered_bytes(&self) -> usize {
        self.buffer.len()
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed. Header errors are reported as
    /// soon as the header is complete.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buffer.len() < HEADER_BYTES {
            return Ok(None);
        }
        let header = &self.buffer[..HEADER_BYTES];
        if header[0] != VERSION_1 {
            return Err(FrameError::UnsupportedVersion { found: header[0] });
        }
        let command =
            Command::from_byte(header[1]).ok_or(FrameError::UnknownCommand { found: header[1] })?;
        if command == Command::Upd {
            return Err(FrameError::UpdateInVersion1);
        }
        let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
        let stream_id = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        if self.buffer.len() < HEADER_BYTES + len {
            return Ok(None);
        }
        self.buffer.advance(HEADER_BYTES);
        let data = self.buffer.split_to(len).freeze();
        Ok(Some(Frame {
            command,
            stream_id,
            data,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(frame: &Frame) -> Vec<u8> {
        let mut out = BytesMut::new();
        frame.encode_into(&mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn reference_vectors() {
        assert_eq!(encode(&Frame::syn(3)), [1, 0, 0, 0, 3, 0, 0, 0]);
        assert_eq!(
            encode(&Frame::psh(3, Bytes::from_static(b"hi"))),
            [1, 2, 2, 0, 3, 0, 0, 0, 0x68, 0x69]
        );
        assert_eq!(encode(&Frame::fin(3)), [1, 1, 0, 0, 3, 0, 0, 0]);
        assert_eq!(encode(&Frame::nop()), [1, 3, 0, 0, 0, 0, 0, 0]);
        // Little-endian length and id.
        let frame = Frame::psh(0x0102_0304, Bytes::from(vec![7; 0x0105]));
        assert_eq!(
            &encode(&frame)[..8],
            &[1, 2, 0x05, 0x01, 0x04, 0x03, 0x02, 0x01]
        );
    }

    #[test]
    fn decodes_frames_split_and_packed_arbitrarily() {
        let frames = [
            Frame::syn(3),
            Frame::psh(3, Bytes::from(vec![9; 40_000])),
            Frame::nop(),
            Frame::psh(5, Bytes::from_static(b"x")),
            Frame::fin(3),
        ];
        let wire: Vec<u8> = frames.iter().flat_map(encode).collect();
        for chunk in [1, 7, 8, 9, 1024, wire.len()] {
            let mut decoder = FrameDecoder::new();
            let mut received = Vec::new();
            for part in wire.chunks(chunk) {
                decoder.extend(part);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    received.push(frame);
                }
            }
            assert_eq!(received, frames, "chunk {chunk}");
            assert_eq!(decoder.buffered_bytes(), 0);
        }
    }

    #[test]
    fn rejects_what_go_smux_v1_rejects() {
        let cases: [(&[u8], FrameError); 3] = [
            (
                &[2, 3, 0, 0, 0, 0, 0, 0],
                FrameError::UnsupportedVersion { found: 2 },
            ),
            (
                &[1, 9, 0, 0, 0, 0, 0, 0],
                FrameError::UnknownCommand { found: 9 },
            ),
            (&[1, 4, 8, 0, 3, 0, 0, 0], FrameError::UpdateInVersion1),
        ];
        for (wire, expected) in cases {
            let mut decoder = FrameDecoder::new();
            decoder.extend(wire);
            assert_eq!(decoder.next_frame(), Err(expected));
        }
        let mut out = BytesMut::new();
        let error = Frame::psh(3, Bytes::from(vec![0; 65_536]))
            .encode_into(&mut out)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "smux frame data of 65536 bytes exceeds 65535"
        );
    }
}
