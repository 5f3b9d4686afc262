//! Throughput of the native tunnel through the fake Session Manager, towards the client (the
//! direction query results take): unpaced with the agent's 1 KiB messages and with 16 KiB ones,
//! and paced like the real agent (1 ms after each 1 KiB, so ~1 MB/s at best), next to a direct
//! loopback connection. Figures are printed, never asserted (see `scripts/bench`); the byte
//! count is.

use std::net::SocketAddr;
use std::time::Instant;

use rds_explorer::tunnel::native::open;
use rds_explorer::tunnel::{Remote, TunnelSpec};
use rds_sandbox::SsmFaults;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::tunnel::{Env, bounded, options};

/// A loopback server that answers an 8-byte big-endian count with that many bytes, then closes.
async fn start_source() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut count = [0_u8; 8];
                if tcp.read_exact(&mut count).await.is_err() {
                    return;
                }
                let mut left = u64::from_be_bytes(count);
                let block: Vec<u8> = (0..=255_u8).cycle().take(64 << 10).collect();
                while left > 0 {
                    let len = usize::try_from(left.min(block.len() as u64)).unwrap();
                    if tcp.write_all(&block[..len]).await.is_err() {
                        return;
                    }
                    left -= len as u64;
                }
                _ = tcp.shutdown().await;
            });
        }
    });
    address
}

/// Asks `address` for `bytes` bytes and returns MB/s (10^6 bytes per second) until EOF.
async fn pull(address: SocketAddr, bytes: u64) -> f64 {
    let mut tcp = TcpStream::connect(address).await.unwrap();
    let started = Instant::now();
    tcp.write_all(&bytes.to_be_bytes()).await.unwrap();
    let mut buffer = vec![0_u8; 256 << 10];
    let mut received = 0_u64;
    loop {
        let len = tcp.read(&mut buffer).await.unwrap();
        if len == 0 {
            break;
        }
        received += len as u64;
    }
    assert_eq!(received, bytes, "every byte arrives");
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

/// MB/s through a fresh native tunnel to a byte source, with the fake's `faults`.
pub(crate) async fn tunnel_throughput(env: &Env, faults: SsmFaults, bytes: u64) -> f64 {
    let source = start_source().await;
    env.faults(faults);
    let spec = TunnelSpec {
        target: env.target.clone(),
        remote: Remote::Host {
            host: "127.0.0.1".to_owned(),
            port: source.port(),
        },
        local_port: 0,
    };
    let tunnel = open(&env.config, &spec, options()).await.unwrap();
    let rate = pull(tunnel.local_addr(), bytes).await;
    tunnel.close().await.unwrap();
    rate
}

#[expect(clippy::print_stdout, reason = "the figures are this test's output")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_through_the_fake_unpaced_and_paced() {
    let env = Env::start().await;
    bounded(async {
        let direct = pull(start_source().await, 64 << 20).await;
        println!("direct loopback: {direct:.1} MB/s");
        let small_messages = tunnel_throughput(&env, SsmFaults::default(), 8 << 20).await;
        println!("unpaced, 1 KiB messages: {small_messages:.1} MB/s");
        let large_messages = tunnel_throughput(
            &env,
            SsmFaults {
                chunk_bytes: 16 << 10,
                ..SsmFaults::default()
            },
            16 << 20,
        )
        .await;
        let paced = tunnel_throughput(
            &env,
            SsmFaults {
                paced: true,
                ..SsmFaults::default()
            },
            1 << 20,
        )
        .await;
        let build = if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        };
        println!(
            "tunnel throughput ({build} build, towards the client): direct {direct:.1} MB/s; \
             native tunnel unpaced {small_messages:.1} MB/s (1 KiB messages), {large_messages:.1} MB/s \
             (16 KiB messages); paced like the agent {paced:.2} MB/s (limit ~1 MB/s)"
        );
        assert_eq!(env.sessions().len(), 3);
    })
    .await;
}
