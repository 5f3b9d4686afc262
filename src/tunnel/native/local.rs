//! The local side of a tunnel: the listener on 127.0.0.1 and one reader and one writer task per
//! accepted connection, talking to the session engine through bounded channels so a slow local
//! client or a full send window pushes back instead of buffering without limit.

use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::task::AbortHandle;

use crate::tunnel::ssm::smux::StreamId;

/// Largest read from a local socket.
const READ_BYTES: usize = 32 << 10;
/// Chunks queued towards one local socket before the engine stops reading its smux stream.
const WRITER_QUEUE: usize = 16;

/// What the local tasks tell the engine.
#[derive(Debug)]
pub(super) enum LocalEvent {
    /// A new local connection.
    Accepted(TcpStream),
    /// Bytes the local client sent.
    Data(StreamId, Bytes),
    /// The local client closed its side (or its socket failed).
    Eof(StreamId),
    /// Everything for the local client was written and its socket shut down (or it failed).
    WriterDone(StreamId),
}

/// One local connection, as the engine tracks it.
#[derive(Debug)]
pub(super) struct Connection {
    /// Chunks to write to the local socket; dropped to close it.
    pub(super) writer: Option<mpsc::Sender<Bytes>>,
    reader: AbortHandle,
    /// The agent sent FIN.
    pub(super) remote_finished: bool,
    /// The writer queue was full at the last attempt: retry when a writer signals progress.
    pub(super) blocked: bool,
}

impl Connection {
    /// Starts the reader and writer tasks of `tcp`, carried by smux stream `stream_id`.
    pub(super) fn start(
        tcp: TcpStream,
        stream_id: StreamId,
        events: mpsc::Sender<LocalEvent>,
        written: Arc<Notify>,
    ) -> Self {
        _ = tcp.set_nodelay(true);
        let (read, write) = tcp.into_split();
        let (writer, queue) = mpsc::channel(WRITER_QUEUE);
        tokio::spawn(write_loop(write, queue, stream_id, events.clone(), written));
        let reader = tokio::spawn(read_loop(read, stream_id, events)).abort_handle();
        Self {
            writer: Some(writer),
            reader,
            remote_finished: false,
            blocked: false,
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Together with the writer ending, this closes the socket.
        self.reader.abort();
    }
}

async fn read_loop(mut read: OwnedReadHalf, stream_id: StreamId, events: mpsc::Sender<LocalEvent>) {
    let mut buffer = vec![0_u8; READ_BYTES];
    loop {
        match read.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                _ = events.send(LocalEvent::Eof(stream_id)).await;
                return;
            }
            Ok(len) => {
                let data = Bytes::copy_from_slice(&buffer[..len]);
                if events
                    .send(LocalEvent::Data(stream_id, data))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

async fn write_loop(
    mut write: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Bytes>,
    stream_id: StreamId,
    events: mpsc::Sender<LocalEvent>,
    written: Arc<Notify>,
) {
    while let Some(data) = queue.recv().await {
        if write.write_all(&data).await.is_err() {
            break;
        }
        written.notify_one();
    }
    _ = write.shutdown().await;
    _ = events.send(LocalEvent::WriterDone(stream_id)).await;
}

/// Accepts local connections until the engine stops listening (its receiver is gone).
pub(super) async fn accept_loop(listener: TcpListener, events: mpsc::Sender<LocalEvent>) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                tracing::debug!("tunnel: accepted a local connection from {peer}");
                if events.send(LocalEvent::Accepted(tcp)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("tunnel: accepting a local connection failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
