//! The fault test at full scale: four concurrent connections through one native tunnel,
//! each echoing 50 MB of seeded pseudo-random bytes off a loopback echo server, while the fake
//! Session Manager loses, duplicates and reorders 5 % of the data-channel messages in each
//! direction and drops the websocket every 2,000 messages it sends. Every byte that comes back is
//! compared with the generator and hashed; none may be missing, extra or changed, and the tunnel
//! must have resumed the session at least 100 times. Loopback only, bounded in time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rds_explorer::tunnel::native::open;
use rds_explorer::tunnel::{Remote, TunnelOptions, TunnelSpec};
use rds_sandbox::SsmFaults;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::tunnel::Env;

/// Concurrent connections.
const STREAMS: u64 = 4;
/// Bytes each connection sends (and gets back).
const STREAM_BYTES: u64 = 50_000_000;
/// Bound of the whole test (the nextest override allows a little more).
const BOUND: Duration = Duration::from_secs(280);

/// xorshift64* as a byte stream: the same seed gives the same bytes on both sides of the
/// comparison, however the reads split them.
struct Generator {
    state: u64,
    word: [u8; 8],
    used: usize,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            state: (seed ^ 0x9E37_79B9_7F4A_7C15) | 1,
            word: [0; 8],
            used: 8,
        }
    }

    fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            if self.used == 8 {
                self.state ^= self.state >> 12;
                self.state ^= self.state << 25;
                self.state ^= self.state >> 27;
                self.word = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
                self.used = 0;
            }
            *byte = self.word[self.used];
            self.used += 1;
        }
    }
}

/// A loopback server that echoes every byte of every connection.
async fn start_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = tcp.into_split();
                _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    address
}

/// Sends `STREAM_BYTES` seeded bytes through `address` while reading the echo; returns the
/// SHA-256 of what was sent and of what came back, after checking each byte in place.
async fn echo_and_check(address: SocketAddr, seed: u64) -> ([u8; 32], [u8; 32]) {
    let tcp = TcpStream::connect(address).await.unwrap();
    let (mut read, mut write) = tcp.into_split();
    let sender = tokio::spawn(async move {
        let mut generator = Generator::new(seed);
        let mut hash = Sha256::new();
        let mut block = vec![0_u8; 64 << 10];
        let mut left = STREAM_BYTES;
        while left > 0 {
            let len = usize::try_from(left.min(block.len() as u64)).unwrap();
            generator.fill(&mut block[..len]);
            hash.update(&block[..len]);
            write.write_all(&block[..len]).await.unwrap();
            left -= len as u64;
        }
        // Keep the write side open: Go's smux has no half-close, so a FIN would end the echo.
        (<[u8; 32]>::from(hash.finalize()), write)
    });
    let mut expected = Generator::new(seed);
    let mut hash = Sha256::new();
    let mut buffer = vec![0_u8; 64 << 10];
    let mut want = vec![0_u8; 64 << 10];
    let mut received = 0_u64;
    while received < STREAM_BYTES {
        let len = read.read(&mut buffer).await.unwrap();
        assert!(len > 0, "stream {seed}: EOF after {received} bytes");
        assert!(
            received + len as u64 <= STREAM_BYTES,
            "stream {seed}: more bytes than were sent"
        );
        expected.fill(&mut want[..len]);
        if buffer[..len] != want[..len] {
            let at = buffer[..len]
                .iter()
                .zip(&want[..len])
                .position(|(got, want)| got != want)
                .unwrap_or_default();
            panic!("stream {seed}: byte {} differs", received + at as u64);
        }
        hash.update(&buffer[..len]);
        received += len as u64;
    }
    let (sent, _write) = sender.await.unwrap();
    (sent, hash.finalize().into())
}

#[expect(
    clippy::print_stdout,
    reason = "the figures are part of this test's output"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_streams_of_50_mb_survive_loss_duplication_reordering_and_100_websocket_drops() {
    let env = Env::start().await;
    let echo = start_echo().await;
    env.faults(SsmFaults {
        loss_percent: 5,
        duplicate_percent: 5,
        reorder_percent: 5,
        drop_every_messages: 2000,
        seed: 6,
        ..SsmFaults::default()
    });
    let started = Instant::now();
    tokio::time::timeout(BOUND, async {
        let spec = TunnelSpec {
            target: env.target.clone(),
            remote: Remote::Host {
                host: "127.0.0.1".to_owned(),
                port: echo.port(),
            },
            local_port: 0,
        };
        let options = TunnelOptions {
            reconnect_budget: Duration::from_secs(30),
            ..TunnelOptions::default()
        };
        let tunnel = open(&env.config, &spec, options).await.unwrap();
        let local = tunnel.local_addr();
        let results =
            futures_util::future::join_all((1..=STREAMS).map(|seed| echo_and_check(local, seed)))
                .await;
        for (seed, (sent, received)) in (1..=STREAMS).zip(results) {
            assert_eq!(sent, received, "stream {seed}: SHA-256 of echo differs");
        }
        let stats = tunnel.stats();
        let session = env.sessions()[0].clone();
        println!(
            "fault test: {} streams x {} MB echoed in {:.1} s; {} websocket drops, {} resumes, \
             {} client retransmissions, {} agent retransmissions, {} duplicates received",
            STREAMS,
            STREAM_BYTES / 1_000_000,
            started.elapsed().as_secs_f64(),
            session.injected_drops,
            session.resume_calls,
            stats.messages_retransmitted,
            session.agent_retransmitted,
            stats.duplicates_received
        );
        assert!(session.injected_drops >= 100, "{session:?}");
        assert!(stats.reconnects >= 100, "{stats:?}");
        assert_eq!(stats.bytes_in, STREAMS * STREAM_BYTES, "{stats:?}");
        assert_eq!(stats.bytes_out, STREAMS * STREAM_BYTES, "{stats:?}");
        assert!(stats.duplicates_received > 0, "{stats:?}");
        tunnel.close().await.unwrap();
        assert!(env.sessions()[0].terminated);
    })
    .await
    .unwrap_or_else(|_| panic!("the fault test ran past {BOUND:?}"));
}
