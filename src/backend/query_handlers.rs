//! The query editor's commands: open and close sessions, run and stop queries, order results,
//! search the history, autosave the editor buffers. `handlers::run` routes them here in one
//! call, so the editor's work stays out of the shared handler file.

use std::sync::{Arc, PoisonError};

use super::sessions::{Session, SessionInfo};
use super::{Command, Event, Outbox, Shared};
use crate::db::connect::ConnectParams;
use crate::jobs::{Progress, UserError};

/// The `app_state` key of the autosaved editor buffers (a JSON array of strings).
pub const EDITOR_BUFFERS_KEY: &str = "editor_buffers";

/// History search answers at most this many runs.
const HISTORY_LIMIT: usize = 200;

/// Handles one of the editor's commands (others are ignored).
pub(super) async fn run(command: Command, shared: &Arc<Shared>, outbox: &Outbox) {
    match command {
        Command::OpenSession { params, tls, info } => {
            open_session(shared, outbox, params, tls, info);
        }
        Command::CloseSession(id) => {
            if let Some(session) = shared.sessions.remove(id) {
                if session.running().is_some() {
                    let _ = session.canceller.cancel().await;
                }
                outbox
                    .send(Event::SessionClosed {
                        id,
                        reason: "closed by the user".into(),
                    })
                    .await;
            }
        }
        Command::RunQuery {
            session,
            tab,
            sql,
            store,
        } => super::query::run_query(shared, outbox, session, tab, sql, store).await,
        Command::CancelQuery { session } => {
            super::query::cancel_query(shared, outbox, session).await;
        }
        Command::OrderResult(request) => super::results::order(shared, outbox, request),
        Command::SearchHistory { text } => search_history(shared, outbox, text).await,
        Command::SaveEditorBuffers(buffers) => save_buffers(shared, buffers).await,
        Command::ExportQuery {
            session,
            tab,
            sql,
            format,
            path,
        } => super::export::export(shared, outbox, session, tab, sql, format, path).await,
        Command::LoadSchema { session, refresh } => {
            super::schema::load(shared, outbox, session, refresh).await;
        }
        _ => {}
    }
}

fn open_session(
    shared: &Arc<Shared>,
    outbox: &Outbox,
    params: ConnectParams,
    tls: Arc<rustls::ClientConfig>,
    info: SessionInfo,
) {
    let outbox = outbox.clone();
    let job_shared = Arc::clone(shared);
    let title = format!("Connect to {}", info.title);
    shared.jobs.spawn(title, move |ctx| async move {
        ctx.progress(Progress::Indeterminate, params.endpoint.to_string());
        let info = SessionInfo {
            id: job_shared.sessions.next_id(),
            ..info
        };
        match Session::open(&params, tls, info.clone()).await {
            Ok(session) => {
                job_shared.sessions.insert(session);
                outbox.send(Event::SessionOpened(info.clone())).await;
                Ok(format!("connected as {}", info.user))
            }
            Err(error) => {
                let user_error = error.to_user_error();
                outbox
                    .send(Event::SessionFailed {
                        title: info.title.clone(),
                        error: user_error.clone(),
                    })
                    .await;
                Err(user_error)
            }
        }
    });
}

async fn search_history(shared: &Arc<Shared>, outbox: &Outbox, text: String) {
    let database = Arc::clone(&shared.database);
    let query = text.clone();
    let found = tokio::task::spawn_blocking(move || {
        database
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .history_search(&query, HISTORY_LIMIT)
    })
    .await;
    match found {
        Ok(Ok(entries)) => {
            outbox.send(Event::HistoryFound { text, entries }).await;
        }
        Ok(Err(error)) => tracing::warn!(%error, "history search failed"),
        Err(error) => tracing::warn!(%error, "history search failed"),
    }
}

async fn save_buffers(shared: &Arc<Shared>, buffers: Vec<String>) {
    let database = Arc::clone(&shared.database);
    let saved = tokio::task::spawn_blocking(move || {
        let json = serde_json::to_string(&buffers)
            .map_err(|error| UserError::from_error(&error, "report this bug"))?;
        database
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_state(EDITOR_BUFFERS_KEY, &json)
            .map_err(|error| UserError::from_error(&error, "check the data directory"))
    })
    .await;
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "editor buffers not saved"),
        Err(error) => tracing::warn!(%error, "editor buffers not saved"),
    }
}

/// The autosaved editor buffers, oldest tab first; empty when there are none or they are
/// unreadable (logged).
pub fn load_editor_buffers(database: &crate::store::Database) -> Vec<String> {
    match database.state(EDITOR_BUFFERS_KEY) {
        Ok(Some(json)) => serde_json::from_str(&json).unwrap_or_else(|error| {
            tracing::warn!(%error, "autosaved editor buffers unreadable; starting empty");
            Vec::new()
        }),
        Ok(None) => Vec::new(),
        Err(error) => {
            tracing::warn!(%error, "could not read the autosaved editor buffers");
            Vec::new()
        }
    }
}
