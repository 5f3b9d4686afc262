//! Tests of [`SmuxClient`]: stream life cycle, framing, budgets, keep-alive, and end-to-end echo
//! over a lossy data-channel pair to a minimal test-only smux server.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::tunnel::ssm::message::PayloadType;
use crate::tunnel::ssm::test_support::{ChannelPair, Faults, XorShift};

fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut decoder = FrameDecoder::new();
    decoder.extend(bytes);
    std::iter::from_fn(|| decoder.next_frame().unwrap()).collect()
}

fn encode(frames: &[Frame]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for frame in frames {
        frame.encode_into(&mut out).unwrap();
    }
    out.to_vec()
}

fn take_all(client: &mut SmuxClient) -> Vec<u8> {
    std::iter::from_fn(|| client.poll_transmit(1024))
        .flatten()
        .collect()
}

fn client() -> SmuxClient {
    SmuxClient::new(SmuxConfig::default(), Instant::now())
}

fn psh(stream_id: u32, data: &'static [u8]) -> Frame {
    Frame::psh(stream_id, Bytes::from_static(data))
}

#[test]
fn stream_ids_are_odd_from_three_and_open_with_syn() {
    let mut client = client();
    let ids: Vec<u32> = (0..4)
        .map(|_| client.open_stream().unwrap().get())
        .collect();
    assert_eq!(ids, [3, 5, 7, 9]);
    assert_eq!(
        take_all(&mut client),
        encode(&[Frame::syn(3), Frame::syn(5), Frame::syn(7), Frame::syn(9)])
    );
    assert_eq!(client.open_streams(), 4);
}

#[test]
fn writes_are_split_into_frames_and_bounded() {
    let mut client = SmuxClient::new(
        SmuxConfig {
            max_pending_transmit_bytes: 100_000,
            ..SmuxConfig::default()
        },
        Instant::now(),
    );
    let stream = client.open_stream().unwrap();
    let data = XorShift::new(1).bytes(150_000);
    let taken = client.write(stream, &data).unwrap();
    assert_eq!(
        taken,
        100_000 - 8,
        "the SYN already uses 8 bytes of the budget"
    );
    assert_eq!(
        client.write(stream, &data[taken..]).unwrap(),
        0,
        "budget full"
    );
    let wire = take_all(&mut client);
    let sent = frames(&wire);
    let lengths: Vec<usize> = sent.iter().map(|frame| frame.data.len()).collect();
    assert_eq!(lengths, [0, 32_768, 32_768, 32_768, 1_688]);
    let payload: Vec<u8> = sent.iter().flat_map(|frame| frame.data.to_vec()).collect();
    assert!(payload == data[..taken]);
    assert_eq!(
        client.write(stream, &data[taken..]).unwrap(),
        150_000 - taken
    );
}

#[test]
fn transmit_is_cut_into_payload_sized_pieces() {
    let mut client = client();
    let stream = client.open_stream().unwrap();
    client.write(stream, &[7; 3000]).unwrap();
    let pieces: Vec<usize> = std::iter::from_fn(|| client.poll_transmit(1024))
        .map(|piece| piece.len())
        .collect();
    assert_eq!(pieces, [1024, 1024, 968]);
    assert_eq!(client.pending_transmit_bytes(), 0);
    assert!(client.poll_transmit(1024).is_none());
}

#[test]
fn receives_data_and_fin_with_events() {
    let mut client = client();
    let first = client.open_stream().unwrap();
    let second = client.open_stream().unwrap();
    client
        .receive(&encode(&[
            psh(3, b"hel"),
            psh(3, b"lo"),
            Frame::fin(5),
            Frame::fin(3),
        ]))
        .unwrap();
    let events: Vec<StreamEvent> = std::iter::from_fn(|| client.poll_event()).collect();
    assert_eq!(
        events,
        [
            StreamEvent::Readable(first),
            StreamEvent::Finished {
                stream_id: second,
                received_data: false
            },
            StreamEvent::Finished {
                stream_id: first,
                received_data: true
            },
        ]
    );
    assert_eq!(client.received_bytes(), 5);
    assert_eq!(client.read(first, 4).unwrap().as_ref(), b"hel");
    assert_eq!(client.read(first, 1).unwrap().as_ref(), b"l");
    assert_eq!(client.read(first, 100).unwrap().as_ref(), b"o");
    assert!(client.read(first, 100).is_none());
    assert_eq!(client.received_bytes(), 0);
    // Closing our side of a drained, remotely finished stream forgets it.
    client.finish(first).unwrap();
    assert!(!client.is_open(first));
    assert_eq!(frames(&take_all(&mut client)).last(), Some(&Frame::fin(3)));
}

#[test]
fn after_our_fin_data_still_arrives_until_theirs() {
    let mut client = client();
    let stream = client.open_stream().unwrap();
    client.finish(stream).unwrap();
    client.finish(stream).unwrap();
    assert_eq!(
        frames(&take_all(&mut client)),
        [Frame::syn(3), Frame::fin(3)],
        "one FIN only"
    );
    assert_eq!(
        client.write(stream, b"late"),
        Err(SmuxError::StreamFinished(stream))
    );
    client.receive(&encode(&[psh(3, b"reply")])).unwrap();
    assert_eq!(client.read(stream, 100).unwrap().as_ref(), b"reply");
    client.receive(&encode(&[Frame::fin(3)])).unwrap();
    assert!(!client.is_open(stream));
}

#[test]
fn forget_discards_later_data() {
    let mut client = client();
    let stream = client.open_stream().unwrap();
    client.receive(&encode(&[psh(3, b"abc")])).unwrap();
    client.forget(stream);
    assert_eq!(client.received_bytes(), 0);
    client
        .receive(&encode(&[psh(3, b"more"), Frame::fin(3)]))
        .unwrap();
    assert_eq!(client.poll_event(), Some(StreamEvent::Readable(stream)));
    assert_eq!(client.poll_event(), None, "nothing for a forgotten stream");
    assert_eq!(
        frames(&take_all(&mut client)),
        [Frame::syn(3), Frame::fin(3)]
    );
    assert_eq!(
        client.write(stream, b"x"),
        Err(SmuxError::UnknownStream(stream))
    );
}

#[test]
fn tolerates_what_go_tolerates() {
    let mut client = client();
    let stream = client.open_stream().unwrap();
    client
        .receive(&encode(&[
            Frame::nop(),
            Frame::syn(2),
            psh(99, b"unknown stream"),
            Frame::fin(99),
            psh(3, b""),
        ]))
        .unwrap();
    assert_eq!(client.poll_event(), None);
    assert!(client.is_open(stream));
}

#[test]
fn a_protocol_error_breaks_the_session() {
    let mut client = client();
    let stream = client.open_stream().unwrap();
    let error = client.receive(&[2, 2, 0, 0, 3, 0, 0, 0]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "smux session is broken: smux frame has version 2, expected 1"
    );
    assert!(matches!(
        client.write(stream, b"x"),
        Err(SmuxError::Broken(_))
    ));
    assert!(matches!(client.open_stream(), Err(SmuxError::Broken(_))));
    assert!(client.receive(&encode(&[Frame::nop()])).is_err());
}

#[test]
fn keepalive_sends_nop_only_when_idle_and_required() {
    let start = Instant::now();
    let interval = Duration::from_secs(10);
    let mut client = SmuxClient::new(
        SmuxConfig {
            keepalive: SmuxKeepAlive::Required,
            ..SmuxConfig::default()
        },
        start,
    );
    assert_eq!(client.poll_timeout(), Some(start + interval));
    client.handle_timeout(start + interval.checked_sub(Duration::from_millis(1)).unwrap());
    assert!(client.poll_transmit(1024).is_none(), "not due yet");
    client.handle_timeout(start + interval);
    assert_eq!(frames(&take_all(&mut client)), [Frame::nop()]);
    // Traffic during the next interval makes the NOP unnecessary.
    let stream = client.open_stream().unwrap();
    client.write(stream, b"data").unwrap();
    take_all(&mut client);
    client.handle_timeout(start + interval * 2);
    assert!(client.poll_transmit(1024).is_none());
    client.handle_timeout(start + interval * 3);
    assert_eq!(frames(&take_all(&mut client)), [Frame::nop()]);
    // Idle intervals each get their own NOP.
    client.handle_timeout(start + interval * 4);
    assert_eq!(frames(&take_all(&mut client)), [Frame::nop()]);
    assert_eq!(client.poll_timeout(), Some(start + interval * 5));

    let mut quiet = SmuxClient::new(SmuxConfig::default(), start);
    assert_eq!(quiet.poll_timeout(), None);
    quiet.handle_timeout(start + interval * 10);
    assert!(quiet.poll_transmit(1024).is_none());
}

/// A minimal smux v1 server for the tests: echoes PSH data and answers FIN with FIN.
#[derive(Default)]
struct EchoServer {
    decoder: FrameDecoder,
    out: BytesMut,
    open: BTreeSet<u32>,
}

impl EchoServer {
    fn receive(&mut self, bytes: &[u8]) {
        self.decoder.extend(bytes);
        while let Some(frame) = self.decoder.next_frame().unwrap() {
            match frame.command {
                Command::Syn => assert!(self.open.insert(frame.stream_id), "SYN twice"),
                Command::Psh if self.open.contains(&frame.stream_id) => {
                    frame.encode_into(&mut self.out).unwrap();
                }
                Command::Fin if self.open.remove(&frame.stream_id) => {
                    frame.encode_into(&mut self.out).unwrap();
                }
                command => panic!("unexpected {command:?} for stream {}", frame.stream_id),
            }
        }
    }
}

/// Echoes several streams through smux → lossy data channel → echo server and back.
fn echo_through_lossy_channel(seed: u64, faults: Faults, streams: usize) {
    let mut rng = XorShift::new(seed);
    let mut pair = ChannelPair::new(seed, faults, |config| config.send_window_messages = 64);
    let mut client = SmuxClient::new(SmuxConfig::default(), pair.now);
    let mut server = EchoServer::default();
    let mut outgoing: BTreeMap<StreamId, (Vec<u8>, usize)> = BTreeMap::new();
    let mut echoed: BTreeMap<StreamId, Vec<u8>> = BTreeMap::new();
    let mut finished = BTreeSet::new();
    for _ in 0..streams {
        let stream = client.open_stream().unwrap();
        let len = 1 + rng.below(40_000) as usize;
        let data = rng.bytes(len);
        outgoing.insert(stream, (data, 0));
        echoed.insert(stream, Vec::new());
    }
    let chunk = pair.client.config().max_payload_bytes;
    let deadline = pair.now + Duration::from_mins(15);
    while finished.len() < streams {
        assert!(pair.now < deadline, "seed {seed}: echo stalled");
        // Local connections write random-sized pieces, then close.
        for (stream, (data, written)) in &mut outgoing {
            if *written < data.len() {
                let piece = (1 + rng.below(5000) as usize).min(data.len() - *written);
                *written += client
                    .write(*stream, &data[*written..*written + piece])
                    .unwrap();
                if *written == data.len() {
                    client.finish(*stream).unwrap();
                }
            }
        }
        while pair.client.send_window_free() > 0 {
            let Some(piece) = client.poll_transmit(chunk) else {
                break;
            };
            pair.client
                .send(PayloadType::Output, piece, pair.now)
                .unwrap();
        }
        while pair.agent.send_window_free() > 0 && !server.out.is_empty() {
            let piece = server.out.split_to(server.out.len().min(chunk)).freeze();
            pair.agent
                .send(PayloadType::Output, piece, pair.now)
                .unwrap();
        }
        pair.pump();
        while let Some(delivery) = pair.agent.poll_delivery() {
            server.receive(&delivery.payload);
        }
        while let Some(delivery) = pair.client.poll_delivery() {
            client.receive(&delivery.payload).unwrap();
        }
        while let Some(event) = client.poll_event() {
            match event {
                StreamEvent::Readable(stream) => {
                    while let Some(data) = client.read(stream, 4096) {
                        echoed.get_mut(&stream).unwrap().extend_from_slice(&data);
                    }
                }
                StreamEvent::Finished { stream_id, .. } => {
                    assert!(finished.insert(stream_id));
                }
            }
        }
        let writes_left = outgoing
            .values()
            .any(|(data, written)| *written < data.len());
        let busy = writes_left || client.pending_transmit_bytes() > 0 || !server.out.is_empty();
        if !busy {
            assert!(
                pair.advance() || finished.len() == streams,
                "seed {seed}: idle but unfinished"
            );
        } else if pair.client.send_window_free() == 0 || pair.agent.send_window_free() == 0 {
            pair.advance();
        }
    }
    for (stream, (data, _)) in &outgoing {
        assert!(
            echoed[stream] == *data,
            "seed {seed}: {stream} echo differs"
        );
    }
    assert_eq!(
        client.open_streams(),
        0,
        "every stream closed on both sides"
    );
}

#[test]
fn echo_over_a_clean_channel() {
    echo_through_lossy_channel(11, Faults::default(), 8);
}

#[test]
fn echo_over_a_lossy_duplicating_reordering_channel() {
    let faults = Faults {
        loss: 8,
        duplicate: 8,
        reorder: 8,
    };
    for seed in 20..32 {
        echo_through_lossy_channel(seed, faults, 5);
    }
}
