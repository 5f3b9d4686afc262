//! The messages between UI and backend: commands are imperatives, events are facts.

use std::path::PathBuf;

use crate::aws::error::AwsCallError;
use crate::aws::identity::Identity;
use crate::aws::inventory::RegionInventory;
use crate::aws::profiles::ProfileList;
use crate::db::diagnose::Diagnosis;
use crate::jobs::{JobId, JobUpdate, UserError};
use crate::secret::Secret;

use crate::store::{HistoryEntry, SavedConnection, Settings};

use super::query::QueryUpdate;
use super::results::OrderRequest;
use super::sessions::{SessionId, SessionInfo, TabId};

/// A login the connect dialog asks for.
#[derive(Clone, Debug)]
pub struct ConnectRequest {
    /// What to connect to and how.
    pub connection: SavedConnection,
    /// The saved connection this edits (it may be renamed).
    pub replacing: Option<String>,
    /// Save the connection (no secrets) before connecting.
    pub save: bool,
    /// A password typed in the dialog (password mode).
    pub typed_password: Option<Secret>,
    /// Save the typed password in the OS keyring once the login worked.
    pub save_password: bool,
}

/// What the UI asks the backend to do.
#[derive(Debug)]
pub enum Command {
    /// Read the AWS config and credentials files (a Job).
    LoadProfiles,
    /// Open a profile: remember it, show its cached inventory, check its identity and refresh.
    OpenProfile {
        /// The profile.
        profile: String,
    },
    /// Fetch the inventory again, one job per region.
    RefreshInventory {
        /// The profile.
        profile: String,
        /// Every enabled region instead of the profile's own.
        all_regions: bool,
    },
    /// Write the settings file.
    SaveSettings(Settings),
    /// Show the native file dialog to choose a CA file.
    PickCaFile,
    /// Cancel a running job.
    CancelJob(JobId),
    /// Sign in to an SSO profile (device authorization, a Job), then refresh it.
    SignIn {
        /// The profile.
        profile: String,
    },
    /// Read the saved connections.
    LoadConnections,
    /// Log in once and report the server version (a Job).
    TestConnection(ConnectRequest),
    /// Save the connection if asked, log in and open a session (a Job).
    Connect(ConnectRequest),
    /// Download AWS's current RDS CA bundle (a Job); `None` = the global bundle URL.
    UpdateCaBundle(Option<String>),
    /// Allow writes in a read-only (production) session.
    UnlockSession(SessionId),
    /// Open a session with resolved parameters (a Job) and keep it; answers
    /// [`Event::SessionOpened`]. `info.id` is ignored: the backend assigns the id. The real
    /// Connect command resolves auth and routing first, then does the same.
    OpenSession {
        /// Where and as whom (password or token already resolved).
        params: crate::db::connect::ConnectParams,
        /// The trust to verify the server with.
        tls: std::sync::Arc<rustls::ClientConfig>,
        /// What the UI shows about it.
        info: SessionInfo,
    },
    /// Close a session (its running query is cancelled first).
    CloseSession(SessionId),
    /// Run SQL (one or more statements) in a session for an editor tab, as a Job.
    RunQuery {
        /// Where.
        session: SessionId,
        /// For which tab (tags the events).
        tab: TabId,
        /// The SQL; error offsets in events are relative to it.
        sql: String,
        /// Memory cap and spill directory of the result stores.
        store: crate::query::StoreOptions,
    },
    /// Stop the query running in a session; rows received so far are kept.
    CancelQuery {
        /// Where.
        session: SessionId,
    },
    /// Sort and/or filter a result snapshot off the UI thread (a Job).
    OrderResult(OrderRequest),
    /// Search the query history (FTS5); answers [`Event::HistoryFound`].
    SearchHistory {
        /// Words to find; empty lists the latest runs.
        text: String,
    },
    /// Remember the editor buffers (autosave); restored at the next start.
    SaveEditorBuffers(Vec<String>),
    /// Export a query's result straight to a file (a Job): CSV, JSON or NDJSON; asks where with
    /// the save dialog when `path` is `None`. Answers [`Event::ExportFinished`].
    ExportQuery {
        /// Where to run it.
        session: SessionId,
        /// The tab asking (for its messages).
        tab: TabId,
        /// The SQL.
        sql: String,
        /// The file format.
        format: crate::query::export::ExportFormat,
        /// The file; `None` shows the save dialog.
        path: Option<PathBuf>,
    },
    /// The window is closing: stop the jobs and close the tunnels (terminating their SSM
    /// sessions), then answer on `done`.
    Shutdown {
        /// Told when everything is closed.
        done: std::sync::mpsc::Sender<()>,
    },
    /// Load a session's schema tree: the cached one at once (unless `refresh`), then fresh
    /// from the catalogs (a Job); answers [`Event::SchemaLoaded`].
    LoadSchema {
        /// Which session.
        session: SessionId,
        /// Skip the cache.
        refresh: bool,
    },
}

/// What happened in the backend.
#[derive(Debug)]
pub enum Event {
    /// A job started, progressed or finished.
    Job(JobUpdate),
    /// The AWS profiles were read.
    ProfilesLoaded {
        /// The job that read them.
        job: JobId,
        /// What was found.
        list: ProfileList,
    },
    /// The cached inventory of a profile (possibly empty), shown until fresh data arrives.
    InventoryCached {
        /// The profile.
        profile: String,
        /// Cached regions.
        regions: Vec<RegionInventory>,
    },
    /// Fresh inventory of one region.
    InventoryRegion {
        /// The profile.
        profile: String,
        /// What was found (with per-call errors).
        inventory: RegionInventory,
    },
    /// A refresh is about to fetch these regions.
    InventoryRefreshing {
        /// The profile.
        profile: String,
        /// The regions being fetched.
        regions: Vec<String>,
    },
    /// The identity preflight finished.
    IdentityChecked {
        /// The profile.
        profile: String,
        /// Who it is, or why that could not be found out.
        result: Result<Identity, AwsCallError>,
    },
    /// A sign-in waits for the user: show the code and open the page.
    SignInCode {
        /// The profile.
        profile: String,
        /// The job polling for the approval (cancel it to give up).
        job: JobId,
        /// The code to confirm.
        user_code: String,
        /// The page to open.
        url: String,
    },
    /// A sign-in ended (successfully or not; the job's outcome says which).
    SignInFinished {
        /// The profile.
        profile: String,
        /// Whether a token was cached.
        signed_in: bool,
    },
    /// The settings file was written.
    SettingsSaved {
        /// Where.
        path: PathBuf,
    },
    /// The settings file could not be written.
    SettingsSaveFailed(UserError),
    /// The CA file dialog closed; `None` when it was cancelled or could not open.
    CaFilePicked(Option<PathBuf>),
    /// The saved connections, after loading or a save.
    ConnectionsLoaded(Vec<SavedConnection>),
    /// A connection test ended: the server version, or why not (with the IAM checklist).
    ConnectionTested(Result<String, (UserError, Option<Diagnosis>)>),
    /// A connect failed (the dialog stays open with the reason).
    ConnectFailed((UserError, Option<Diagnosis>)),
    /// A session was opened and kept.
    SessionOpened(SessionInfo),
    /// A session could not be opened.
    SessionFailed {
        /// The connection's name.
        title: String,
        /// Why, and what to do.
        error: UserError,
    },
    /// A session was closed.
    SessionClosed {
        /// Which.
        id: SessionId,
        /// Why (`closed by the user`, or the error that broke it).
        reason: String,
    },
    /// The SSM tunnels changed (state, leases, figures): every tunnel's status, sorted by key.
    TunnelsChanged(Vec<crate::tunnel::supervisor::TunnelStatus>),
    /// A query job started for a tab.
    QueryStarted {
        /// The tab.
        tab: TabId,
        /// Its job (cancel it or match its updates).
        job: JobId,
        /// Where it runs.
        session: SessionId,
    },
    /// Rows, statements and notices of a running query so far (the last one has `end`).
    QueryUpdate(Box<QueryUpdate>),
    /// A query could not start or be stopped.
    QueryRefused {
        /// The tab.
        tab: TabId,
        /// Why, and what to do.
        error: UserError,
    },
    /// A sort/filter finished: the rows to show, in order.
    ResultOrdered(super::results::OrderedRows),
    /// A run was recorded in the history.
    HistoryRecorded(HistoryEntry),
    /// An export ended (written, failed, or cancelled: then no file is left).
    ExportFinished {
        /// The tab that asked.
        tab: TabId,
        /// The file and rows written, or why not.
        result: Result<(PathBuf, u64), UserError>,
    },
    /// A session's schema tree (cached or fresh).
    SchemaLoaded {
        /// Which session.
        session: SessionId,
        /// The tree.
        tree: std::sync::Arc<crate::db::schema::SchemaTree>,
        /// When it was read, Unix seconds.
        fetched_at_secs: i64,
    },
    /// History search results, newest first.
    HistoryFound {
        /// The search text.
        text: String,
        /// What matched.
        entries: Vec<HistoryEntry>,
    },
}
