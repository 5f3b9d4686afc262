//! The messages between UI and backend: commands are imperatives, events are facts.

use std::path::PathBuf;

use crate::aws::error::AwsCallError;
use crate::aws::identity::Identity;
use crate::aws::inventory::RegionInventory;
use crate::aws::profiles::ProfileList;
use crate::db::diagnose::Diagnosis;
use crate::jobs::{JobId, JobUpdate, UserError};
use crate::secret::Secret;
use crate::store::{SavedConnection, Settings};

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
}
