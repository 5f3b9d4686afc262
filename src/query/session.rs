//! What a query needs from its session besides the `Client`: the server's notices (which
//! tokio-postgres hands only to whoever drives the `Connection`) and cancelling a running
//! statement over the same route and TLS as the session itself.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio_postgres::error::DbError;
use tokio_postgres::{AsyncMessage, CancelToken, Client, Connection};

/// A notice, warning or info message the server sent (`RAISE NOTICE`, "table does not exist,
/// skipping", …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// `NOTICE`, `WARNING`, `INFO`, `DEBUG`, `LOG`.
    pub severity: String,
    /// SQLSTATE, e.g. `00000`.
    pub code: String,
    /// The primary message.
    pub message: String,
    /// The optional detail line.
    pub detail: Option<String>,
    /// The optional hint line.
    pub hint: Option<String>,
}

impl Notice {
    /// The notice fields of a server message.
    pub fn from_db_error(notice: &DbError) -> Self {
        Self {
            severity: notice.severity().to_owned(),
            code: notice.code().code().to_owned(),
            message: notice.message().to_owned(),
            detail: notice.detail().map(str::to_owned),
            hint: notice.hint().map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:  {}", self.severity, self.message)
    }
}

/// Notices kept for the running query; the oldest are dropped past this many.
const NOTICE_CAPACITY: usize = 1000;

/// Notices received by [`drive_connection`] and not yet taken by a query. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct NoticeQueue {
    inner: Arc<Mutex<NoticeState>>,
}

#[derive(Debug, Default)]
struct NoticeState {
    queue: VecDeque<Notice>,
    dropped: u64,
}

impl NoticeQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a notice, dropping the oldest past the capacity.
    pub fn push(&self, notice: Notice) {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if state.queue.len() == NOTICE_CAPACITY {
            state.queue.pop_front();
            state.dropped += 1;
        }
        state.queue.push_back(notice);
    }

    /// Takes every queued notice, oldest first.
    pub fn take(&self) -> Vec<Notice> {
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        state.queue.drain(..).collect()
    }

    /// Notices dropped because nobody took them in time.
    pub fn dropped(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dropped
    }
}

/// Drives a connection until it closes (spawn it as tokio-postgres asks), queueing its notices
/// instead of only logging them. Use this where `connection.await` would otherwise be spawned.
///
/// The connection task queues a statement's notices before it hands over the statement's end,
/// so a query that drains the queue after each statement sees exactly that statement's notices.
pub async fn drive_connection<S, T>(
    mut connection: Connection<S, T>,
    notices: NoticeQueue,
) -> Result<(), tokio_postgres::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notice(notice))) => notices.push(Notice::from_db_error(&notice)),
            Some(Ok(_notification)) => {}
            Some(Err(error)) => return Err(error),
            None => return Ok(()),
        }
    }
}

/// Cancels the statement running on a session: a cancel request on a new connection to the
/// same server (same `hostaddr`, port and TLS server name as the session), as psql's Ctrl+C.
#[derive(Clone)]
pub struct Canceller {
    token: CancelToken,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for Canceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token holds the backend's secret key: never printed.
        f.debug_struct("Canceller").finish_non_exhaustive()
    }
}

/// A cancel request could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("cannot send the cancel request to the server")]
pub struct CancelError(#[source] pub tokio_postgres::Error);

impl Canceller {
    /// For the session of `client`, connecting with `tls` (the trust the session used).
    pub fn new(client: &Client, tls: Arc<rustls::ClientConfig>) -> Self {
        Self {
            token: client.cancel_token(),
            tls,
        }
    }

    /// Asks the server to cancel whatever the session runs now. The running statement then
    /// fails with SQLSTATE 57014 (`QueryError::Cancelled`); the session stays usable.
    pub async fn cancel(&self) -> Result<(), CancelError> {
        let make_tls = tokio_postgres_rustls::MakeRustlsConnect::new((*self.tls).clone());
        self.token.cancel_query(make_tls).await.map_err(CancelError)
    }
}
