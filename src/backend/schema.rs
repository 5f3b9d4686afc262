//! Loading a session's schema tree for the browser and autocomplete: the cached tree (per
//! endpoint, database and user, in the SQLite cache table) is sent at once, then a Job reads
//! the catalogs and sends and caches the fresh one.

use std::sync::{Arc, PoisonError};
use std::time::SystemTime;

use super::sessions::SessionId;
use super::{Event, Outbox, Shared};
use crate::db::schema::{SchemaTree, load_schema};
use crate::jobs::{Progress, UserError};
use crate::store::CacheEntry;

const CACHE_KIND: &str = "schema";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Sends the cached tree (unless `refresh`) and starts the job reading the fresh one.
pub(super) async fn load(shared: &Arc<Shared>, outbox: &Outbox, id: SessionId, refresh: bool) {
    let Some(session) = shared.sessions.get(id) else {
        return;
    };
    let scope = format!(
        "{}|{}|{}",
        session.info.endpoint, session.info.database, session.info.user
    );
    if !refresh {
        let database = Arc::clone(&shared.database);
        let cache_scope = scope.clone();
        let cached = tokio::task::spawn_blocking(move || {
            database
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .cache_get(CACHE_KIND, &cache_scope)
        })
        .await;
        if let Ok(Ok(entries)) = cached
            && let Some(entry) = entries.into_iter().next()
            && let Ok(tree) = serde_json::from_str::<SchemaTree>(&entry.data)
        {
            outbox
                .send(Event::SchemaLoaded {
                    session: id,
                    tree: Arc::new(tree),
                    fetched_at_secs: entry.fetched_at_secs,
                })
                .await;
        }
    }
    let outbox = outbox.clone();
    let database = Arc::clone(&shared.database);
    let title = format!("Read schema of {}", session.info.title);
    shared.jobs.spawn(title, move |ctx| async move {
        ctx.progress(Progress::Indeterminate, "reading the catalogs");
        let tree = load_schema(&session.client).await.map_err(|error| {
            UserError::from_error(&error, "Check the session (run a query), then Refresh")
        })?;
        let relations: usize = tree.schemas.iter().map(|s| s.relations.len()).sum();
        let fetched_at_secs = now_secs();
        let entry = CacheEntry {
            key: String::new(),
            fetched_at_secs,
            data: serde_json::to_string(&tree)
                .map_err(|error| UserError::from_error(&error, "report this bug"))?,
        };
        let stored = tokio::task::spawn_blocking(move || {
            database
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .cache_put(CACHE_KIND, &scope, &entry)
        })
        .await;
        if let Ok(Err(error)) = stored {
            tracing::warn!(%error, "schema not cached");
        }
        outbox
            .send(Event::SchemaLoaded {
                session: id,
                tree: Arc::new(tree),
                fetched_at_secs,
            })
            .await;
        Ok(format!("{relations} tables and views"))
    });
}
