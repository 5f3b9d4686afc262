//! The agent's port plugin in mux mode (reference §6.2), on an in-memory pipe instead of a Unix
//! socket pair: an smux v1 **server** from the `async_smux` crate (a different implementation from
//! the client's), one destination TCP connection per stream, Go's close semantics (either side's
//! EOF closes both), and `ConnectToPortError` ahead of the FIN of a stream whose dial failed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use async_smux::MuxBuilder;
use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

/// Capacity of the in-memory pipe between the data channel and the smux server, each way.
const PIPE_BYTES: usize = 1 << 20;
/// How long a destination dial may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// A flag the port plugin asks the agent to send, and a signal once it is sequenced.
pub(crate) type FlagRequest = (u32, oneshot::Sender<()>);

/// The running port plugin; dropping it ends every task and destination connection.
pub(crate) struct Forwarder {
    /// In-order `Output` payloads from the client.
    pub(crate) to_smux: mpsc::Sender<Bytes>,
    /// Bytes the smux server wrote, at most `chunk` at a time: `Output` payloads for the client.
    pub(crate) from_smux: mpsc::Receiver<Bytes>,
    /// Flags to send to the client.
    pub(crate) flags: mpsc::Receiver<FlagRequest>,
    tasks: JoinSet<()>,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// Where the agent dials: the sandbox is loopback only, so every host name resolves to
/// 127.0.0.1; an IP literal is used as given if it is a loopback address and refused otherwise.
pub(crate) fn destination(host: Option<&str>, port: u16) -> Option<SocketAddr> {
    let ip = match host.map(str::parse::<IpAddr>) {
        Some(Ok(ip)) if ip.is_loopback() => ip,
        Some(Ok(_)) => return None,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Some(SocketAddr::new(ip, port))
}

impl Forwarder {
    /// Starts the smux server forwarding every stream to `destination` (`None`: every dial fails).
    pub(crate) fn start(destination: Option<SocketAddr>, chunk: usize) -> Self {
        let (agent_end, smux_end) = tokio::io::duplex(PIPE_BYTES);
        let (mut agent_read, mut agent_write) = tokio::io::split(agent_end);
        let (to_smux, mut to_smux_rx) = mpsc::channel::<Bytes>(256);
        let (from_smux_tx, from_smux) = mpsc::channel::<Bytes>(64);
        let (flags_tx, flags) = mpsc::channel::<FlagRequest>(16);
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            while let Some(bytes) = to_smux_rx.recv().await {
                if agent_write.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        });
        tasks.spawn(async move {
            let mut buffer = vec![0_u8; chunk.max(1)];
            loop {
                match agent_read.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(len) => {
                        let bytes = Bytes::copy_from_slice(&buffer[..len]);
                        if from_smux_tx.send(bytes).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        tasks.spawn(serve_smux(smux_end, destination, flags_tx));
        Self {
            to_smux,
            from_smux,
            flags,
            tasks,
        }
    }
}

async fn serve_smux(
    connection: DuplexStream,
    destination: Option<SocketAddr>,
    flags: mpsc::Sender<FlagRequest>,
) {
    let (_connector, mut acceptor, worker) =
        MuxBuilder::server().with_connection(connection).build();
    let mut streams = JoinSet::new();
    streams.spawn(async move {
        // The worker ends when the pipe closes; its error is the session's end, nothing to report.
        _ = worker.await;
    });
    while let Some(stream) = acceptor.accept().await {
        let flags = flags.clone();
        streams.spawn(async move {
            let dialed = match destination {
                Some(address) => tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(address))
                    .await
                    .ok()
                    .and_then(Result::ok),
                None => None,
            };
            let Some(tcp) = dialed else {
                // The flag goes out before the stream's FIN, as the agent sends it.
                let (sequenced, wait) = oneshot::channel();
                if flags
                    .send((super::wire::flag::CONNECT_TO_PORT_ERROR, sequenced))
                    .await
                    .is_ok()
                {
                    _ = wait.await;
                }
                drop(stream);
                return;
            };
            _ = tcp.set_nodelay(true);
            let (mut smux_read, mut smux_write) = tokio::io::split(stream);
            let (mut tcp_read, mut tcp_write) = tcp.into_split();
            tokio::select! {
                _ = tokio::io::copy(&mut smux_read, &mut tcp_write) => {}
                () = async {
                    _ = tokio::io::copy(&mut tcp_read, &mut smux_write).await;
                    _ = smux_write.shutdown().await;
                } => {}
            }
        });
    }
    // The acceptor ends with the session; give the streams' FINs no further thought.
    streams.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_loopback_and_other_addresses_are_refused() {
        assert_eq!(
            destination(Some("db.example.rds.amazonaws.com"), 5432),
            Some(SocketAddr::from(([127, 0, 0, 1], 5432)))
        );
        assert_eq!(
            destination(Some("127.0.0.2"), 1),
            Some(SocketAddr::from(([127, 0, 0, 2], 1)))
        );
        assert_eq!(destination(Some("10.0.0.1"), 1), None);
        assert_eq!(
            destination(None, 22),
            Some(SocketAddr::from(([127, 0, 0, 1], 22)))
        );
    }
}
