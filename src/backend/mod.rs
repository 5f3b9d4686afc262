//! The backend: owns the work done off the UI thread. The UI sends [`Command`]s on a bounded
//! channel and never waits; the backend runs each as a task (slow ones as Jobs) on the tokio
//! runtime made in `main`, sends [`Event`]s back and wakes the UI with the closure it was given.
//! No egui types here: the wake closure is a plain `Fn()`.

mod command;
mod connect;
mod export;
mod handlers;
mod inventory;
mod query;
mod query_handlers;
mod results;
mod schema;
mod sessions;
mod sign_in;
mod tunnels;

use std::sync::{Arc, Mutex};

use tokio::runtime::Handle;
use tokio::sync::mpsc;

pub use command::{Command, ConnectRequest, Event};
pub use query::{PUBLISH_INTERVAL, QueryEnd, QueryUpdate, StatementView, count_rows, format_bytes};
pub use query_handlers::load_editor_buffers;
pub use results::{OrderRequest, OrderedRows};
pub use sessions::{RunningQuery, Session, SessionError, SessionId, SessionInfo, Sessions, TabId};

use crate::auth::keyring::Keyring;
use crate::auth::token_cache::TokenCache;
use crate::aws::profiles::{AwsFiles, ProfileList};
use crate::jobs::{JobRunner, JobUpdate};
use crate::store::{Database, Paths, Settings};
use crate::tunnel::supervisor::{Supervisor, SupervisorOptions};

/// What the backend works with: where files live and the open database.
pub struct BackendContext {
    /// Where settings, database and logs live.
    pub paths: Paths,
    /// The open database (history, caches, remembered state).
    pub database: Database,
    /// Where AWS profiles are read from.
    pub aws_files: AwsFiles,
    /// The settings at start (later ones arrive with `SaveSettings`).
    pub settings: Settings,
}

/// The UI's end of the backend: send commands, drain events.
pub struct BackendHandle {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
}

/// The backend's command queue is full (it is far behind) or it has stopped.
#[derive(Debug, thiserror::Error)]
#[error("the background worker is busy; try again in a moment")]
pub struct BackendBusy;

impl BackendHandle {
    /// Queues a command without waiting.
    pub fn send(&self, command: Command) -> Result<(), BackendBusy> {
        self.commands.try_send(command).map_err(|_| BackendBusy)
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// For the window's exit: stops the jobs and closes the SSM tunnels (their sessions are
    /// terminated), blocking the calling thread until that is done or `timeout` passed. Whatever
    /// is left open is terminated at the next start. Returns whether it finished in time.
    pub fn shut_down(&self, timeout: std::time::Duration) -> bool {
        let (done, finished) = std::sync::mpsc::channel();
        self.commands.try_send(Command::Shutdown { done }).is_ok()
            && finished.recv_timeout(timeout).is_ok()
    }
}

type Wake = Arc<dyn Fn() + Send + Sync>;

/// Sends events to the UI and wakes it.
#[derive(Clone)]
pub(crate) struct Outbox {
    events: mpsc::Sender<Event>,
    wake: Wake,
}

impl Outbox {
    /// Sends an event; false when the UI is gone (the caller should stop).
    pub(crate) async fn send(&self, event: Event) -> bool {
        if self.events.send(event).await.is_ok() {
            (self.wake)();
            true
        } else {
            false
        }
    }
}

/// State shared by all command handlers.
pub(crate) struct Shared {
    pub(crate) paths: Paths,
    pub(crate) aws_files: AwsFiles,
    pub(crate) database: Arc<Mutex<Database>>,
    pub(crate) jobs: Arc<JobRunner>,
    /// Serialises settings writes so they land in the order they were asked for.
    pub(crate) settings_write: tokio::sync::Mutex<()>,
    /// The profiles last read, to resolve names in commands.
    pub(crate) profiles: Mutex<Option<ProfileList>>,
    /// SDK configurations per (profile, region), built once: building one reads the profile files
    /// and sets up credential providers (and their caches).
    pub(crate) sdk_configs:
        tokio::sync::Mutex<std::collections::HashMap<(String, String), aws_config::SdkConfig>>,
    /// The settings in force (trust store, production timeout).
    pub(crate) settings: Mutex<Settings>,
    /// IAM tokens, reused for up to 14 minutes.
    pub(crate) tokens: TokenCache,
    /// The OS keyring, opened on first use.
    pub(crate) keyring: std::sync::OnceLock<Keyring>,
    /// Open database sessions.
    pub(crate) sessions: Sessions,
    /// SSM tunnels, shared by every connection to the same endpoint.
    pub(crate) tunnels: Supervisor,
}

/// Starts the backend on `runtime`. `wake` is called after each event (the UI passes
/// `request_repaint`). The backend stops when the handle is dropped.
pub fn start(
    runtime: &Handle,
    context: BackendContext,
    wake: impl Fn() + Send + Sync + 'static,
) -> BackendHandle {
    let (command_tx, mut command_rx) = mpsc::channel::<Command>(64);
    let (event_tx, event_rx) = mpsc::channel::<Event>(1024);
    let (job_tx, mut job_rx) = mpsc::channel::<JobUpdate>(256);
    let outbox = Outbox {
        events: event_tx,
        wake: Arc::new(wake),
    };
    let shared = Arc::new_cyclic(|weak: &std::sync::Weak<Shared>| Shared {
        tunnels: Supervisor::new(
            context.paths.clone(),
            Arc::new(tunnels::BackendConfigs(weak.clone())),
            SupervisorOptions::default(),
        ),
        paths: context.paths,
        aws_files: context.aws_files,
        database: Arc::new(Mutex::new(context.database)),
        jobs: JobRunner::new(runtime.clone(), job_tx),
        settings_write: tokio::sync::Mutex::new(()),
        profiles: Mutex::new(None),
        sdk_configs: tokio::sync::Mutex::new(std::collections::HashMap::new()),
        settings: Mutex::new(context.settings),
        tokens: TokenCache::new(),
        keyring: std::sync::OnceLock::new(),
        sessions: Sessions::default(),
    });

    let job_outbox = outbox.clone();
    runtime.spawn(async move {
        while let Some(update) = job_rx.recv().await {
            if !job_outbox.send(Event::Job(update)).await {
                break;
            }
        }
    });

    tunnels::start(runtime, &shared, &outbox);
    runtime.spawn(async move {
        while let Some(command) = command_rx.recv().await {
            tokio::spawn(handlers::run(command, Arc::clone(&shared), outbox.clone()));
        }
        // The UI dropped its handle: stop whatever is still running, close the tunnels.
        shared.jobs.cancel_all();
        shared.tunnels.shutdown(tunnels::SHUTDOWN_WAIT).await;
    });

    BackendHandle {
        commands: command_tx,
        events: event_rx,
    }
}
