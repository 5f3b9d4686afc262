//! Tests of [`DataChannel`]: a client and an agent channel talking over simulated links with
//! loss, duplication, reordering, outages, pauses and corruption, all on a virtual clock.

use std::time::Duration;

use bytes::Bytes;
use uuid::Uuid;

use super::*;
use crate::tunnel::ssm::test_support::{ChannelPair as Pair, Faults, XorShift};

fn message(message_type: MessageType, payload: &'static [u8]) -> Bytes {
    ClientMessage {
        message_type,
        schema_version: 1,
        created_date_millis: 1_700_000_000_000,
        sequence_number: 0,
        flags: 0,
        message_id: Uuid::new_v4(),
        payload_type: PayloadType::Undefined,
        payload: Bytes::from_static(payload),
    }
    .encode()
    .unwrap()
}

fn decode(wire: &Bytes) -> ClientMessage {
    ClientMessage::decode(wire).unwrap()
}

fn drain(channel: &mut DataChannel, into: &mut Vec<u8>, expected_seq: &mut i64) {
    while let Some(delivery) = channel.poll_delivery() {
        assert_eq!(
            delivery.sequence_number, *expected_seq,
            "delivered out of order"
        );
        *expected_seq += 1;
        into.extend_from_slice(&delivery.payload);
    }
}

/// Sends `client_data` up and `agent_data` down at once; returns what arrived at each end.
fn transfer(pair: &mut Pair, client_data: &[u8], agent_data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let chunk = pair.client.config().max_payload_bytes;
    let (mut up, mut down) = (client_data.chunks(chunk), agent_data.chunks(chunk));
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let (mut seq_up, mut seq_down) = (0, 0);
    let deadline = pair.now + Duration::from_mins(10);
    loop {
        while pair.client.send_window_free() > 0 {
            let Some(part) = up.next() else { break };
            pair.client
                .send(PayloadType::Output, Bytes::copy_from_slice(part), pair.now)
                .unwrap();
        }
        while pair.agent.send_window_free() > 0 {
            let Some(part) = down.next() else { break };
            pair.agent
                .send(PayloadType::Output, Bytes::copy_from_slice(part), pair.now)
                .unwrap();
        }
        pair.pump();
        drain(&mut pair.agent, &mut got_up, &mut seq_up);
        drain(&mut pair.client, &mut got_down, &mut seq_down);
        let done = got_up.len() == client_data.len() && got_down.len() == agent_data.len();
        if done && pair.client.unacked_len() == 0 && pair.agent.unacked_len() == 0 {
            return (got_up, got_down);
        }
        assert!(pair.now < deadline, "transfer stalled");
        assert!(pair.advance(), "nothing left to do but data missing");
    }
}

#[test]
fn handshake_transcript_is_exact() {
    let mut pair = Pair::new(1, Faults::default(), |_| {});
    pair.record = true;
    pair.agent
        .send(
            PayloadType::HandshakeRequest,
            Bytes::from_static(b"{req}"),
            pair.now,
        )
        .unwrap();
    pair.settle(Duration::from_secs(1));
    let request = pair.client.poll_delivery().unwrap();
    assert_eq!(
        (request.sequence_number, request.payload_type),
        (0, PayloadType::HandshakeRequest)
    );
    pair.client
        .send(
            PayloadType::HandshakeResponse,
            Bytes::from_static(b"{resp}"),
            pair.now,
        )
        .unwrap();
    pair.settle(Duration::from_secs(1));
    pair.agent
        .send(
            PayloadType::HandshakeComplete,
            Bytes::from_static(b"{done}"),
            pair.now,
        )
        .unwrap();
    pair.settle(Duration::from_secs(1));

    let summary: Vec<(bool, &str, i64, u64, u32)> = pair
        .transcript
        .iter()
        .map(|(from_client, message)| {
            (
                *from_client,
                message.message_type.as_str(),
                message.sequence_number,
                message.flags,
                message.payload_type.as_u32(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (false, "output_stream_data", 0, 1, 5),
            (true, "acknowledge", 0, 3, 0),
            (true, "input_stream_data", 0, 0, 6),
            (false, "acknowledge", 0, 3, 0),
            (false, "output_stream_data", 1, 0, 7),
            (true, "acknowledge", 0, 3, 0),
        ]
    );
    let ack = Acknowledge::from_json(&pair.transcript[5].1.payload).unwrap();
    assert_eq!(ack.acknowledged_message_sequence_number, 1);
    assert_eq!(ack.acknowledged_message_type, "output_stream_data");
    assert_eq!(
        ack.acknowledged_message_id,
        pair.transcript[4].1.message_id.hyphenated().to_string()
    );
    assert_eq!(
        pair.client.stats().retransmitted + pair.agent.stats().retransmitted,
        0
    );
}

#[test]
fn clean_link_transfers_without_retransmissions() {
    let mut rng = XorShift::new(7);
    let (up, down) = (rng.bytes(300_000), rng.bytes(500_000));
    let mut pair = Pair::new(7, Faults::default(), |_| {});
    let (got_up, got_down) = transfer(&mut pair, &up, &down);
    assert!(got_up == up && got_down == down);
    assert_eq!(pair.client.stats().retransmitted, 0);
    assert_eq!(pair.agent.stats().retransmitted, 0);
    // The RTT estimate converged on the link's round trip (2 × 15 ms).
    assert!(
        pair.client.rto() < Duration::from_millis(100),
        "{:?}",
        pair.client.rto()
    );
}

#[test]
fn loss_duplication_and_reordering_deliver_intact_streams() {
    let faults = Faults {
        loss: 10,
        duplicate: 10,
        reorder: 10,
    };
    let mut duplicates = 0;
    for seed in 0..24 {
        let mut rng = XorShift::new(seed);
        let (up_len, down_len) = (rng.below(60_000) as usize, rng.below(60_000) as usize);
        let up = rng.bytes(20_000 + up_len);
        let down = rng.bytes(20_000 + down_len);
        let mut pair = Pair::new(seed, faults, |config| config.send_window_messages = 64);
        let (got_up, got_down) = transfer(&mut pair, &up, &down);
        assert!(got_up == up, "seed {seed}: upstream corrupted");
        assert!(got_down == down, "seed {seed}: downstream corrupted");
        duplicates +=
            pair.client.stats().duplicates_received + pair.agent.stats().duplicates_received;
    }
    assert!(duplicates > 0, "the faults never produced a duplicate");
}

#[test]
fn heavy_loss_with_a_small_reorder_buffer_still_completes() {
    let faults = Faults {
        loss: 30,
        duplicate: 5,
        reorder: 30,
    };
    for seed in 100..106 {
        let data = XorShift::new(seed).bytes(40_000);
        let mut pair = Pair::new(seed, faults, |config| {
            config.send_window_messages = 32;
            config.reorder_capacity_messages = 4;
        });
        let (got_up, got_down) = transfer(&mut pair, &data, &data);
        assert!(got_up == data && got_down == data, "seed {seed}");
        assert!(
            pair.agent.stats().refused + pair.client.stats().refused > 0,
            "seed {seed}"
        );
    }
}

#[test]
fn reconnect_resends_the_whole_window_at_once() {
    let mut pair = Pair::new(3, Faults::default(), |_| {});
    for index in 0..20_u8 {
        pair.client
            .send(PayloadType::Output, Bytes::from(vec![index; 10]), pair.now)
            .unwrap();
    }
    // The websocket dies with everything in flight.
    pair.to_agent.down = true;
    pair.pump();
    pair.to_agent.down = false;
    assert_eq!(pair.client.unacked_len(), 20);
    pair.now += Duration::from_millis(50);
    pair.client.on_reconnected(pair.now);
    let resent: Vec<Bytes> = std::iter::from_fn(|| pair.client.poll_transmit(pair.now)).collect();
    let sequence_numbers: Vec<i64> = resent
        .iter()
        .map(|wire| decode(wire).sequence_number)
        .collect();
    assert_eq!(sequence_numbers, (0..20).collect::<Vec<i64>>());
    for wire in resent {
        pair.to_agent.push(pair.now, &wire);
    }
    let reconnected_at = pair.now;
    pair.settle(Duration::from_secs(1));
    let mut got = Vec::new();
    drain(&mut pair.agent, &mut got, &mut 0);
    assert_eq!(got.len(), 200);
    assert_eq!(pair.client.unacked_len(), 0);
    assert_eq!(pair.client.stats().retransmitted, 20);
    assert!(
        pair.now - reconnected_at < Duration::from_millis(100),
        "recovered within a round trip"
    );
}

#[test]
fn pause_stops_sending_until_start_or_probe() {
    let mut pair = Pair::new(4, Faults::default(), |_| {});
    let paused = pair
        .client
        .handle_message(&message(MessageType::PausePublication, b""), pair.now)
        .unwrap();
    assert_eq!(paused, Received::PublicationPaused);
    pair.client
        .send(PayloadType::Output, Bytes::from_static(b"x"), pair.now)
        .unwrap();
    assert!(
        pair.client.poll_transmit(pair.now).is_none(),
        "paused: nothing new goes out"
    );
    assert_eq!(
        pair.client.poll_timeout(),
        None,
        "nothing sent yet, so nothing to probe"
    );

    let started = pair
        .client
        .handle_message(&message(MessageType::StartPublication, b""), pair.now)
        .unwrap();
    assert_eq!(started, Received::PublicationStarted);
    assert!(pair.client.poll_transmit(pair.now).is_some());

    pair.client
        .handle_message(&message(MessageType::PausePublication, b""), pair.now)
        .unwrap();
    assert!(pair.client.is_paused());
    let probe_at = pair.client.poll_timeout().unwrap();
    assert_eq!(probe_at, pair.now + Duration::from_secs(5));
    assert!(
        pair.client
            .poll_transmit(probe_at.checked_sub(Duration::from_millis(1)).unwrap())
            .is_none()
    );
    let probe = pair.client.poll_transmit(probe_at).unwrap();
    assert_eq!(decode(&probe).payload.as_ref(), b"x");
    assert!(pair.client.is_paused(), "a probe does not resume");
}

#[test]
fn corrupted_messages_are_dropped_unacked_and_recovered() {
    let mut pair = Pair::new(5, Faults::default(), |_| {});
    pair.agent
        .send(
            PayloadType::Output,
            Bytes::from_static(b"payload"),
            pair.now,
        )
        .unwrap();
    let mut wire = pair.agent.poll_transmit(pair.now).unwrap().to_vec();
    *wire.last_mut().unwrap() ^= 0x20;
    let error = pair
        .client
        .handle_message(&Bytes::from(wire), pair.now)
        .unwrap_err();
    assert!(
        error.to_string().contains("does not match the digest"),
        "{error}"
    );
    assert!(
        pair.client.poll_transmit(pair.now).is_none(),
        "no ack for a corrupted message"
    );
    // The agent's timer brings a good copy.
    pair.settle(Duration::from_secs(2));
    assert_eq!(
        pair.client.poll_delivery().unwrap().payload.as_ref(),
        b"payload"
    );
    assert_eq!(pair.agent.stats().retransmitted, 1);
}

#[test]
fn a_slow_consumer_is_backpressure_not_loss() {
    let mut pair = Pair::new(6, Faults::default(), |config| {
        config.delivery_capacity_bytes = 2048;
    });
    for index in 0..8_u8 {
        pair.agent
            .send(
                PayloadType::Output,
                Bytes::from(vec![index; 1024]),
                pair.now,
            )
            .unwrap();
    }
    pair.settle(Duration::from_millis(100));
    assert_eq!(pair.client.pending_delivery_bytes(), 2048);
    assert!(pair.client.stats().refused > 0);
    let mut got = Vec::new();
    let mut expected = 0;
    for _ in 0..100 {
        drain(&mut pair.client, &mut got, &mut expected);
        pair.settle(Duration::from_millis(500));
    }
    assert_eq!(got.len(), 8 * 1024);
    assert_eq!(pair.agent.unacked_len(), 0);
}

#[test]
fn window_limits_and_send_errors() {
    let mut pair = Pair::new(8, Faults::default(), |config| {
        config.send_window_messages = 2;
    });
    let now = pair.now;
    assert_eq!(
        pair.client.send(PayloadType::Output, Bytes::new(), now),
        Err(SendError::EmptyPayload)
    );
    let big = Bytes::from(vec![0; 1025]);
    assert_eq!(
        pair.client.send(PayloadType::Output, big, now),
        Err(SendError::PayloadTooLarge {
            len: 1025,
            max: 1024
        })
    );
    pair.client
        .send(PayloadType::Output, Bytes::from_static(b"a"), now)
        .unwrap();
    pair.client
        .send(PayloadType::Flag, Bytes::from_static(&[0, 0, 0, 2]), now)
        .unwrap();
    let error = pair
        .client
        .send(PayloadType::Output, Bytes::from_static(b"c"), now)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "send window of 2 messages is full; waiting for acknowledgements"
    );
    assert_eq!(pair.client.waiting_for_ack_since(), Some(now));
    pair.settle(Duration::from_secs(1));
    assert_eq!(pair.client.send_window_free(), 2);
    assert_eq!(pair.client.waiting_for_ack_since(), None);
}

#[test]
fn control_messages_and_stray_types() {
    let mut pair = Pair::new(9, Faults::default(), |_| {});
    let now = pair.now;
    let closed = message(
        MessageType::ChannelClosed,
        br#"{"SessionId":"s-1","Output":"Your session timed out due to inactivity and has been terminated."}"#,
    );
    let Received::ChannelClosed(closed) = pair.client.handle_message(&closed, now).unwrap() else {
        panic!("not closed");
    };
    assert_eq!(closed.session_id, "s-1");
    let garbled = message(MessageType::ChannelClosed, b"not json");
    assert!(matches!(
        pair.client.handle_message(&garbled, now).unwrap(),
        Received::ChannelClosed(_)
    ));
    // Our own direction's data and unknown types are ignored, never acked.
    let mut unknown = message(MessageType::InputStreamData, b"{}").to_vec();
    unknown[4..36].copy_from_slice(format!("{:<32}", "agent_session_state").as_bytes());
    for wire in [
        message(MessageType::InputStreamData, b"x"),
        Bytes::from(unknown),
    ] {
        let received = pair.client.handle_message(&wire, now).unwrap();
        assert!(matches!(received, Received::Ignored { .. }), "{received:?}");
    }
    assert!(pair.client.poll_transmit(now).is_none());
    let bad_ack = message(MessageType::Acknowledge, b"{}");
    assert!(pair.client.handle_message(&bad_ack, now).is_err());
}
