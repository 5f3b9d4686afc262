//! Jobs: every slow operation (AWS call, connect, tunnel, query, export, analysis) runs as a Job
//! with an id, a title, progress, a cancel token and an outcome whose error says what to do next.
//!
//! This module knows nothing of the UI or of `backend::Event`: it reports [`JobUpdate`]s on a
//! channel the backend forwards. Start and finish updates are always delivered (awaited); progress
//! updates are best-effort and dropped when the channel is full, since a newer one follows.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Identifies one job for the lifetime of the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(u64);

impl JobId {
    /// A made-up id, for tests of code that only compares ids.
    #[cfg(test)]
    pub(crate) fn for_tests(id: u64) -> Self {
        Self(id)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How far a job has come.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Running, with no measure of how much is left.
    Indeterminate,
    /// A fraction in `0.0..=1.0`.
    Fraction(f32),
    /// Items done, out of a total when known (rows fetched, regions listed).
    Count { done: u64, total: Option<u64> },
}

impl Progress {
    /// The fraction done, when it can be known.
    pub fn fraction(&self) -> Option<f32> {
        match self {
            Self::Indeterminate | Self::Count { total: None, .. } => None,
            Self::Fraction(fraction) => Some(fraction.clamp(0.0, 1.0)),
            Self::Count { total: Some(0), .. } => Some(1.0),
            Self::Count {
                done,
                total: Some(total),
            } => Some((*done as f32 / *total as f32).min(1.0)),
        }
    }
}

/// An error as the user sees it: what failed and why, and what to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserError {
    /// What failed and why, e.g. `SSO session for profile "dev" expired`.
    pub message: String,
    /// What the user can do about it, e.g. `Sign in again`.
    pub next_step: String,
}

impl UserError {
    /// An error with its next step.
    pub fn new(message: impl Into<String>, next_step: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            next_step: next_step.into(),
        }
    }

    /// Turns any error into a user error: the whole source chain, then the next step.
    pub fn from_error(
        error: &(dyn std::error::Error + 'static),
        next_step: impl Into<String>,
    ) -> Self {
        Self {
            message: error_chain(error),
            next_step: next_step.into(),
        }
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} — {}", self.message, self.next_step)
    }
}

impl std::error::Error for UserError {}

/// An error and its sources joined with `: `, skipping a source whose text its parent already shows.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

/// How a job ended.
#[derive(Clone, Debug, PartialEq)]
pub enum JobOutcome {
    /// Done; the summary is shown in the jobs list (`"3 profiles"`).
    Succeeded { summary: String },
    /// Failed with a user-facing error.
    Failed(UserError),
    /// Stopped because the user (or shutdown) cancelled it.
    Cancelled,
}

/// A change in a job's life, reported to whoever shows jobs.
#[derive(Clone, Debug, PartialEq)]
pub enum JobUpdate {
    /// A job was started.
    Started { id: JobId, title: String },
    /// A running job made progress; `status` is a short line such as `"us-east-1: 40 instances"`.
    Progress {
        id: JobId,
        progress: Progress,
        status: String,
    },
    /// A job ended.
    Finished { id: JobId, outcome: JobOutcome },
}

/// What a running job holds: its id, its cancel token and a way to report progress.
#[derive(Clone)]
pub struct JobContext {
    id: JobId,
    cancel: CancellationToken,
    updates: mpsc::Sender<JobUpdate>,
}

impl JobContext {
    /// This job's id, to tag the events it sends.
    pub fn id(&self) -> JobId {
        self.id
    }

    /// Reports progress. Never blocks; a full channel drops this update, a later one replaces it.
    pub fn progress(&self, progress: Progress, status: impl Into<String>) {
        let update = JobUpdate::Progress {
            id: self.id,
            progress,
            status: status.into(),
        };
        // Dropping a progress update is fine: the next one carries the newer state.
        let _ = self.updates.try_send(update);
    }

    /// The job's cancel token, for work that must stop cleanly (send a query cancel, close a session).
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }
}

/// Starts jobs on the runtime and keeps the cancel tokens of those still running.
pub struct JobRunner {
    runtime: Handle,
    updates: mpsc::Sender<JobUpdate>,
    next_id: AtomicU64,
    running: Mutex<HashMap<JobId, CancellationToken>>,
}

impl JobRunner {
    /// A runner that spawns on `runtime` and reports on `updates`.
    pub fn new(runtime: Handle, updates: mpsc::Sender<JobUpdate>) -> Arc<Self> {
        Arc::new(Self {
            runtime,
            updates,
            next_id: AtomicU64::new(1),
            running: Mutex::new(HashMap::new()),
        })
    }

    /// Starts `work` as a job and returns its id at once.
    ///
    /// The work future is dropped when the job is cancelled; a panic in it becomes a failed job.
    pub fn spawn<F, Fut>(self: &Arc<Self>, title: impl Into<String>, work: F) -> JobId
    where
        F: FnOnce(JobContext) -> Fut,
        Fut: Future<Output = Result<String, UserError>> + Send + 'static,
    {
        let id = JobId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let title = title.into();
        let cancel = CancellationToken::new();
        self.lock_running().insert(id, cancel.clone());
        let context = JobContext {
            id,
            cancel: cancel.clone(),
            updates: self.updates.clone(),
        };
        let work = work(context);
        let runner = Arc::clone(self);
        self.runtime.spawn(async move {
            // Started goes out before the work runs, so it always precedes the work's own events.
            let _ = runner.updates.send(JobUpdate::Started { id, title: title.clone() }).await;
            let token = cancel.clone();
            let task = tokio::spawn(async move {
                tokio::select! {
                    biased;
                    () = token.cancelled() => None,
                    result = work => Some(result),
                }
            });
            let outcome = match task.await {
                Ok(Some(Ok(summary))) => JobOutcome::Succeeded { summary },
                Ok(Some(Err(error))) => JobOutcome::Failed(error),
                Err(join_error) if join_error.is_panic() => {
                    let reason = panic_text(join_error.into_panic().as_ref());
                    tracing::error!(job = %id, %title, %reason, "job panicked");
                    JobOutcome::Failed(UserError::new(
                        format!("{title} stopped on an internal error: {reason}"),
                        "This is a bug in RDS Explorer; try again, and report it with the log if it repeats",
                    ))
                }
                // Cancelled through the token, or the runtime is shutting down.
                Ok(None) | Err(_) => JobOutcome::Cancelled,
            };
            runner.lock_running().remove(&id);
            let _ = runner.updates.send(JobUpdate::Finished { id, outcome }).await;
        });
        id
    }

    /// Cancels a running job. Returns false when it is not running (any more).
    pub fn cancel(&self, id: JobId) -> bool {
        match self.lock_running().get(&id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every running job (on shutdown).
    pub fn cancel_all(&self) {
        for token in self.lock_running().values() {
            token.cancel();
        }
    }

    /// How many jobs are running now.
    pub fn running_count(&self) -> usize {
        self.lock_running().len()
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, CancellationToken>> {
        // A panic while holding this lock cannot leave the map inconsistent (single inserts/removes).
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn runner() -> (
        tokio::runtime::Runtime,
        Arc<JobRunner>,
        mpsc::Receiver<JobUpdate>,
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel(64);
        let runner = JobRunner::new(runtime.handle().clone(), tx);
        (runtime, runner, rx)
    }

    fn next(runtime: &tokio::runtime::Runtime, rx: &mut mpsc::Receiver<JobUpdate>) -> JobUpdate {
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap()
        })
    }

    #[test]
    fn job_reports_start_progress_and_success() {
        let (runtime, runner, mut rx) = runner();
        let id = runner.spawn("Count", |ctx| async move {
            ctx.progress(
                Progress::Count {
                    done: 1,
                    total: Some(2),
                },
                "half",
            );
            Ok("2 things".to_owned())
        });
        assert_eq!(
            next(&runtime, &mut rx),
            JobUpdate::Started {
                id,
                title: "Count".into()
            }
        );
        assert_eq!(
            next(&runtime, &mut rx),
            JobUpdate::Progress {
                id,
                progress: Progress::Count {
                    done: 1,
                    total: Some(2)
                },
                status: "half".into()
            }
        );
        assert_eq!(
            next(&runtime, &mut rx),
            JobUpdate::Finished {
                id,
                outcome: JobOutcome::Succeeded {
                    summary: "2 things".into()
                }
            }
        );
        assert_eq!(runner.running_count(), 0);
    }

    #[test]
    fn cancel_stops_a_job_that_would_run_forever() {
        let (runtime, runner, mut rx) = runner();
        let id = runner.spawn("Forever", |_ctx| async move {
            std::future::pending::<()>().await;
            Ok(String::new())
        });
        assert!(matches!(next(&runtime, &mut rx), JobUpdate::Started { .. }));
        assert!(runner.cancel(id));
        assert_eq!(
            next(&runtime, &mut rx),
            JobUpdate::Finished {
                id,
                outcome: JobOutcome::Cancelled
            }
        );
        assert!(!runner.cancel(id), "a finished job is no longer running");
    }

    #[test]
    fn failure_keeps_the_next_step_and_a_panic_becomes_a_failure() {
        let (runtime, runner, mut rx) = runner();
        let failing = runner.spawn("Fail", |_ctx| async move {
            Err(UserError::new("no route", "open a tunnel"))
        });
        let panicking = runner.spawn("Panic", |_ctx| async move {
            panic!("boom");
        });
        let mut outcomes = HashMap::new();
        while outcomes.len() < 2 {
            if let JobUpdate::Finished { id, outcome } = next(&runtime, &mut rx) {
                outcomes.insert(id, outcome);
            }
        }
        assert_eq!(
            outcomes[&failing],
            JobOutcome::Failed(UserError::new("no route", "open a tunnel"))
        );
        let JobOutcome::Failed(error) = &outcomes[&panicking] else {
            panic!("{outcomes:?}")
        };
        assert!(error.message.contains("boom"), "{error}");
        assert!(error.next_step.contains("report"), "{error}");
    }

    #[test]
    fn progress_fraction() {
        assert_eq!(Progress::Indeterminate.fraction(), None);
        assert_eq!(
            Progress::Count {
                done: 3,
                total: None
            }
            .fraction(),
            None
        );
        assert_eq!(
            Progress::Count {
                done: 1,
                total: Some(4)
            }
            .fraction(),
            Some(0.25)
        );
        assert_eq!(
            Progress::Count {
                done: 0,
                total: Some(0)
            }
            .fraction(),
            Some(1.0)
        );
        assert_eq!(Progress::Fraction(1.5).fraction(), Some(1.0));
    }

    #[test]
    fn error_chain_joins_sources_without_repeats() {
        let io = std::io::Error::other("disk full");
        let error = UserError::from_error(&io, "free some space");
        assert_eq!(error.to_string(), "disk full — free some space");
    }
}
