//! Seeded mutation fuzzing of the two decoders that read bytes from the network: the
//! `ClientMessage` frame decoder and the smux frame decoder (with the smux client on top). Each
//! takes at least a million inputs — valid frames with bits flipped, bytes overwritten, fields
//! replaced by extreme values, truncated, extended, spliced, or plain random bytes — and must
//! neither panic nor hold more memory than its input bounds: a decoded `ClientMessage` payload is
//! a zero-copy slice of its input, and the smux decoder never buffers more than one maximal frame
//! plus the bytes of the last input. A failure prints the seed and iteration to replay it.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use uuid::Uuid;

use super::channel::{ChannelConfig, DataChannel, Role};
use super::message::{ClientMessage, MessageType, PREFIX_BYTES, PayloadType};
use super::payload::Acknowledge;
use super::smux::frame::{Frame, FrameDecoder, HEADER_BYTES, MAX_DATA_BYTES};
use super::smux::{SmuxClient, SmuxConfig};
use super::test_support::XorShift;

/// Inputs per decoder (the issue asks for at least a million).
const INPUTS: u64 = 1_000_000;

fn message(message_type: MessageType, payload_type: PayloadType, payload: Vec<u8>) -> Bytes {
    ClientMessage {
        message_type,
        schema_version: 1,
        created_date_millis: 1_700_000_000_000,
        sequence_number: 7,
        flags: 0,
        message_id: Uuid::from_u128(0x0011_2233_4455_6677_8899_aabb_ccdd_eeff),
        payload_type,
        payload: Bytes::from(payload),
    }
    .encode()
    .unwrap()
}

/// Valid frames of every kind the client meets, as the starting points of mutation.
fn message_corpus(rng: &mut XorShift) -> Vec<Bytes> {
    let ack = br#"{"AcknowledgedMessageType":"input_stream_data","AcknowledgedMessageId":"00112233-4455-6677-8899-aabbccddeeff","AcknowledgedMessageSequenceNumber":3,"IsSequentialMessage":true}"#;
    let closed = br#"{"MessageId":"x","CreatedDate":"","DestinationId":"","SessionId":"s","MessageType":"channel_closed","SchemaVersion":1,"Output":"bye"}"#;
    let mut corpus = vec![
        message(
            MessageType::Acknowledge,
            PayloadType::Undefined,
            ack.to_vec(),
        ),
        message(
            MessageType::ChannelClosed,
            PayloadType::Undefined,
            closed.to_vec(),
        ),
        message(
            MessageType::StartPublication,
            PayloadType::Undefined,
            Vec::new(),
        ),
        message(
            MessageType::PausePublication,
            PayloadType::Undefined,
            Vec::new(),
        ),
        message(
            MessageType::OutputStreamData,
            PayloadType::Flag,
            vec![0, 0, 0, 3],
        ),
        message(
            MessageType::OutputStreamData,
            PayloadType::Output,
            Vec::new(),
        ),
    ];
    for len in [1, 17, 100, 1024, 4096] {
        corpus.push(message(
            MessageType::OutputStreamData,
            PayloadType::Output,
            rng.bytes(len),
        ));
    }
    corpus
}

/// Changes `input` in one of several ways, or replaces it with random bytes.
/// The next 1–1500 bytes of `stream` from `position` (wrapping at the end), mutated one time in
/// five; says whether it was.
fn next_chunk(rng: &mut XorShift, stream: &[u8], position: &mut usize) -> (Vec<u8>, bool) {
    let len = 1 + rng.below(1500) as usize;
    let end = (*position + len).min(stream.len());
    let chunk = &stream[*position..end];
    *position = if end == stream.len() { 0 } else { end };
    let mutated = rng.chance(5);
    let input = if mutated {
        mutate(rng, chunk, &stream[..64])
    } else {
        chunk.to_vec()
    };
    (input, mutated)
}

fn mutate(rng: &mut XorShift, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut input = seed.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = input.len().max(1) as u64;
        match rng.below(9) {
            0 => {
                if let Some(byte) = input.get_mut(rng.below(len) as usize) {
                    *byte ^= 1 << rng.below(8);
                }
            }
            1 => {
                if let Some(byte) = input.get_mut(rng.below(len) as usize) {
                    *byte = rng.next_u64() as u8;
                }
            }
            2 => input.truncate(rng.below(len + 1) as usize),
            3 => {
                let extra = rng.below(64) as usize;
                input.extend(rng.bytes(extra));
            }
            4 => {
                // A 4-byte field (lengths, types) set to an extreme value.
                let at = rng.below(len) as usize;
                let value: u32 = match rng.below(4) {
                    0 => 0,
                    1 => u32::MAX,
                    2 => 116,
                    _ => rng.next_u64() as u32,
                };
                for (offset, byte) in value.to_be_bytes().into_iter().enumerate() {
                    if let Some(slot) = input.get_mut(at + offset) {
                        *slot = byte;
                    }
                }
            }
            5 => {
                // Splice: the head of this input, the tail of another.
                let cut = rng.below(len + 1) as usize;
                let from = rng.below(other.len() as u64 + 1) as usize;
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            6 => {
                // The header-length or payload-length field, exactly.
                let at = if rng.chance(50) { 0 } else { 116 };
                let value = rng.next_u64() as u32 % 8192;
                if input.len() >= at + 4 {
                    input[at..at + 4].copy_from_slice(&value.to_be_bytes());
                }
            }
            7 => {
                let len = rng.below(300) as usize;
                input = rng.bytes(len);
            }
            _ => {
                // A run of NULs or spaces (the message-type padding characters).
                let at = rng.below(len) as usize;
                let run = rng.below(40) as usize;
                let fill = if rng.chance(50) { 0 } else { b' ' };
                for slot in input.iter_mut().skip(at).take(run) {
                    *slot = fill;
                }
            }
        }
    }
    input
}

#[test]
fn client_message_decoder_survives_a_million_mutated_inputs_without_copying() {
    let seed = 0x5EED_0001;
    let mut rng = XorShift::new(seed);
    let corpus = message_corpus(&mut rng);
    let mut decoded = 0_u64;
    for iteration in 0..INPUTS {
        let base = &corpus[rng.below(corpus.len() as u64) as usize];
        let other = &corpus[rng.below(corpus.len() as u64) as usize];
        let wire = Bytes::from(mutate(&mut rng, base, other));
        let Ok(message) = ClientMessage::decode(&wire) else {
            continue;
        };
        decoded += 1;
        // Zero-copy: the payload lies inside the input, after the fixed prefix.
        let start = message.payload.as_ptr() as usize;
        let wire_start = wire.as_ptr() as usize;
        assert!(
            message.payload.is_empty()
                || (start >= wire_start + PREFIX_BYTES
                    && start + message.payload.len() <= wire_start + wire.len()),
            "seed {seed:#x} iteration {iteration}: the payload was copied or points outside"
        );
        if message.message_type == MessageType::Acknowledge {
            // The JSON layer on top must not panic either.
            _ = Acknowledge::from_json(&message.payload);
        }
    }
    // The mutations keep a fair share valid, so the accepting paths are exercised too.
    assert!(decoded > INPUTS / 50, "only {decoded} inputs decoded");
}

#[test]
fn data_channel_takes_a_million_mutated_messages_without_panicking() {
    let seed = 0x5EED_0002;
    let mut rng = XorShift::new(seed);
    let corpus = message_corpus(&mut rng);
    let now = Instant::now();
    let mut channel = DataChannel::new(ChannelConfig::new(Role::Client), now, 1_700_000_000_000);
    for _ in 0..INPUTS {
        let base = &corpus[rng.below(corpus.len() as u64) as usize];
        let other = &corpus[rng.below(corpus.len() as u64) as usize];
        let wire = Bytes::from(mutate(&mut rng, base, other));
        _ = channel.handle_message(&wire, now);
        while channel.poll_delivery().is_some() {}
        while channel.poll_transmit(now).is_some() {}
    }
}

/// A stream of valid smux frames for streams 3, 5 and 7, as the agent would send them, and the
/// offsets where its frames start.
fn smux_stream(rng: &mut XorShift) -> (Vec<u8>, Vec<usize>) {
    let mut out = BytesMut::new();
    let mut starts = Vec::new();
    for _ in 0..200 {
        starts.push(out.len());
        let stream_id = [3, 5, 7][rng.below(3) as usize];
        let frame = match rng.below(10) {
            0 => Frame::fin(stream_id),
            1 => Frame::nop(),
            2 => Frame::syn(stream_id),
            _ => {
                let len = if rng.chance(5) {
                    MAX_DATA_BYTES
                } else {
                    rng.below(2048) as usize
                };
                Frame::psh(stream_id, Bytes::from(rng.bytes(len)))
            }
        };
        frame.encode_into(&mut out).unwrap();
    }
    (out.to_vec(), starts)
}

#[test]
fn smux_decoder_survives_a_million_mutated_chunks_with_bounded_buffering() {
    let seed = 0x5EED_0003;
    let mut rng = XorShift::new(seed);
    let (stream, starts) = smux_stream(&mut rng);
    let mut decoder = FrameDecoder::new();
    let mut frames = 0_u64;
    let mut position = 0;
    for iteration in 0..INPUTS {
        // The next slice of the valid stream (as the data channel splits it), often mutated.
        let (input, mutated) = next_chunk(&mut rng, &stream, &mut position);
        decoder.extend(&input);
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    frames += 1;
                    assert!(frame.data.len() <= MAX_DATA_BYTES);
                }
                Ok(None) => break,
                Err(_) => {
                    // The session is dead after a protocol error; a new one starts empty.
                    decoder = FrameDecoder::new();
                    break;
                }
            }
        }
        // Whatever is left cannot be a whole frame: at most one maximal frame minus a byte.
        assert!(
            decoder.buffered_bytes() < HEADER_BYTES + MAX_DATA_BYTES,
            "seed {seed:#x} iteration {iteration}: {} bytes buffered",
            decoder.buffered_bytes()
        );
        if mutated {
            // A damaged stream never resynchronizes (smux has no frame markers): start again at
            // a frame boundary, so most inputs meet a decoder in a valid state.
            decoder = FrameDecoder::new();
            position = starts[rng.below(starts.len() as u64) as usize];
        }
    }
    assert!(frames > INPUTS / 10, "only {frames} frames decoded");
}

#[test]
fn smux_client_takes_a_million_mutated_chunks_without_panicking() {
    let seed = 0x5EED_0004;
    let mut rng = XorShift::new(seed);
    let (stream, starts) = smux_stream(&mut rng);
    let now = Instant::now();
    let new_client = || {
        let mut client = SmuxClient::new(SmuxConfig::default(), now);
        let streams: Vec<_> = (0..3).map(|_| client.open_stream().unwrap()).collect();
        (client, streams)
    };
    let (mut client, mut streams) = new_client();
    let mut position = 0;
    for iteration in 0..INPUTS {
        if iteration % 5000 == 0 {
            // Fresh streams now and then: FINs in the input close them for good.
            (client, streams) = new_client();
        }
        let (input, mutated) = next_chunk(&mut rng, &stream, &mut position);
        if client.receive(&input).is_err() {
            (client, streams) = new_client();
            position = starts[rng.below(starts.len() as u64) as usize];
            continue;
        }
        while client.poll_event().is_some() {}
        for stream_id in &streams {
            while client.read(*stream_id, 64 << 10).is_some() {}
        }
        while client.poll_transmit(1024).is_some() {}
        // Read out as it arrives, so nothing may stay held.
        assert_eq!(client.received_bytes(), 0);
        if mutated {
            (client, streams) = new_client();
            position = starts[rng.below(starts.len() as u64) as usize];
        }
    }
}
