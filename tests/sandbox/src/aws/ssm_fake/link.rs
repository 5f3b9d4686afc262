//! One websocket as the fake agent uses it: reading in the agent's loop, writing in a task of its
//! own behind a bounded queue, so the agent never blocks on a write while the client, blocked on
//! its own writes, waits for the agent to read (both sides writing bursts after a reconnect would
//! otherwise deadlock). A full queue drops the message, which the ARQ treats as loss.

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::Ws;

/// Messages queued towards the client before new ones are dropped.
const OUTBOX_MESSAGES: usize = 4096;
/// How long a graceful close may take to flush.
const CLOSE_FLUSH: std::time::Duration = std::time::Duration::from_secs(2);

/// A websocket split into a reader (polled by the agent) and a writer task.
pub(crate) struct Link {
    outbox: Option<mpsc::Sender<Message>>,
    inbox: SplitStream<Ws>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for Link {
    fn drop(&mut self) {
        // With the reader dropped too, this closes the TCP connection, without a close frame.
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
    }
}

/// Whether a queued message will be written.
pub(crate) enum Queued {
    Yes,
    /// The queue is full: treated as loss.
    Dropped,
    /// The socket is gone.
    Closed,
}

async fn write_loop(mut sink: SplitSink<Ws, Message>, mut outbox: mpsc::Receiver<Message>) {
    while let Some(message) = outbox.recv().await {
        if sink.feed(message).await.is_err() {
            return;
        }
        while let Ok(message) = outbox.try_recv() {
            if sink.feed(message).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    _ = sink.close().await;
}

impl Link {
    pub(crate) fn new(ws: Ws) -> Self {
        let (sink, inbox) = ws.split();
        let (outbox, queue) = mpsc::channel(OUTBOX_MESSAGES);
        Self {
            outbox: Some(outbox),
            inbox,
            writer: Some(tokio::spawn(write_loop(sink, queue))),
        }
    }

    /// Queues `message` without waiting.
    pub(crate) fn send(&self, message: Message) -> Queued {
        let Some(outbox) = &self.outbox else {
            return Queued::Closed;
        };
        match outbox.try_send(message) {
            Ok(()) => Queued::Yes,
            Err(TrySendError::Full(_)) => Queued::Dropped,
            Err(TrySendError::Closed(_)) => Queued::Closed,
        }
    }

    /// The next message from the client.
    pub(crate) async fn next(&mut self) -> Option<Result<Message, WsError>> {
        self.inbox.next().await
    }

    /// Writes what is queued (then a close frame, if queued) and closes, within a bound.
    pub(crate) async fn close(mut self) {
        self.outbox = None;
        if let Some(mut writer) = self.writer.take()
            && tokio::time::timeout(CLOSE_FLUSH, &mut writer)
                .await
                .is_err()
        {
            // A writer that does not finish in time ends with the socket.
            writer.abort();
        }
    }
}
