//! Open database sessions, owned by the backend: each one a `tokio_postgres::Client` whose
//! connection task queues notices, a [`Canceller`] over the same route and TLS, and what the UI
//! shows about it ([`SessionInfo`]: connection name, colour, read-only). Editor tabs refer to a
//! session by [`SessionId`] only; the client never leaves the backend.
//!
//! How a session is made (auth, tunnel, production rules) is the connect command's business: it
//! calls [`Session::open`] and [`Sessions::insert`]. This module only keeps what is open.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::db::connect::{ConnectError, ConnectParams, connect_with_notices};
use crate::jobs::JobId;
use crate::query::{Canceller, NoticeQueue};
use crate::tunnel::supervisor::TunnelLease;

/// Identifies an open session for the lifetime of the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "session {}", self.0)
    }
}

/// What the UI shows about a session. No secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session.
    pub id: SessionId,
    /// The connection's name, shown as the tab title.
    pub title: String,
    /// The connection's colour (a bar on its tabs), if it has one.
    pub color: Option<[u8; 3]>,
    /// Transactions are read-only (`default_transaction_read_only`) until unlocked.
    pub read_only: bool,
    /// The resource is tagged as production.
    pub production: bool,
    /// Database name.
    pub database: String,
    /// Database user.
    pub user: String,
    /// Where it goes, for display (`name.rds.amazonaws.com:5432 (via 127.0.0.1)`).
    pub endpoint: String,
}

/// Which editor tab a query belongs to (the UI's own stable tab id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TabId(pub u64);

/// The query running on a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunningQuery {
    /// The tab that ran it.
    pub tab: TabId,
    /// Its job.
    pub job: JobId,
}

/// One open session.
pub struct Session {
    /// What the UI shows.
    pub info: SessionInfo,
    /// The client; shared with running queries.
    pub client: Arc<tokio_postgres::Client>,
    /// Cancels the statement running on this session.
    pub canceller: Canceller,
    /// Notices the connection task received.
    pub notices: NoticeQueue,
    running: Mutex<Option<RunningQuery>>,
    /// The SSM tunnel the socket goes through: held as long as the session.
    tunnel: Option<TunnelLease>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// A session could not be set up after connecting.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The connection failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Making the session read-only failed.
    #[error("connected, but could not make the session read-only")]
    ReadOnly(#[source] tokio_postgres::Error),
}

impl SessionError {
    /// The error as the user sees it, with what to do next.
    pub fn to_user_error(&self) -> crate::jobs::UserError {
        match self {
            Self::Connect(error) => error.to_user_error(),
            Self::ReadOnly(_) => crate::jobs::UserError::from_error(
                self,
                "Connect again; the session was closed rather than left writable",
            ),
        }
    }
}

impl Session {
    /// Connects (verified TLS, notices queued) and applies `info.read_only`.
    pub async fn open(
        params: &ConnectParams,
        tls: Arc<rustls::ClientConfig>,
        info: SessionInfo,
    ) -> Result<Self, SessionError> {
        let notices = NoticeQueue::new();
        let client = connect_with_notices(params, tls.clone(), notices.clone()).await?;
        if info.read_only {
            client
                .batch_execute("SET default_transaction_read_only = on")
                .await
                .map_err(SessionError::ReadOnly)?;
        }
        let canceller = Canceller::new(&client, tls);
        Ok(Self {
            info,
            client: Arc::new(client),
            canceller,
            notices,
            running: Mutex::new(None),
            tunnel: None,
        })
    }

    /// The session, keeping `tunnel` (its socket's route) open while it lives.
    #[must_use]
    pub fn holding(mut self, tunnel: Option<TunnelLease>) -> Self {
        self.tunnel = tunnel;
        self
    }

    /// The query running now, if any.
    pub fn running(&self) -> Option<RunningQuery> {
        *self.lock_running()
    }

    /// Marks `query` as running; `Err` with the one already running.
    pub fn start_query(&self, query: RunningQuery) -> Result<(), RunningQuery> {
        let mut running = self.lock_running();
        if let Some(other) = *running {
            return Err(other);
        }
        *running = Some(query);
        Ok(())
    }

    /// Clears the running query if it is `job`.
    pub fn finish_query(&self, job: JobId) {
        let mut running = self.lock_running();
        if running.is_some_and(|query| query.job == job) {
            *running = None;
        }
    }

    fn lock_running(&self) -> MutexGuard<'_, Option<RunningQuery>> {
        // Single assignments under the lock: a panic cannot leave it half-updated.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The open sessions.
#[derive(Default)]
pub struct Sessions {
    next_id: AtomicU64,
    open: Mutex<HashMap<SessionId, Arc<Session>>>,
}

impl Sessions {
    /// A fresh id for a session about to be opened.
    pub fn next_id(&self) -> SessionId {
        SessionId(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Keeps an opened session; returns its id.
    pub fn insert(&self, session: Session) -> SessionId {
        let id = session.info.id;
        self.lock().insert(id, Arc::new(session));
        id
    }

    /// The session, if open.
    pub fn get(&self, id: SessionId) -> Option<Arc<Session>> {
        self.lock().get(&id).cloned()
    }

    /// Forgets a session; its connection closes when the last running query lets go of it.
    pub fn remove(&self, id: SessionId) -> Option<Arc<Session>> {
        self.lock().remove(&id)
    }

    /// Infos of all open sessions, sorted by id.
    pub fn infos(&self) -> Vec<SessionInfo> {
        let mut infos: Vec<_> = self.lock().values().map(|s| s.info.clone()).collect();
        infos.sort_by_key(|info| info.id);
        infos
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<Session>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
