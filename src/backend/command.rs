//! The messages between UI and backend: commands are imperatives, events are facts.

use std::path::PathBuf;

use crate::aws::error::AwsCallError;
use crate::aws::identity::Identity;
use crate::aws::inventory::RegionInventory;
use crate::aws::profiles::ProfileList;
use crate::jobs::{JobId, JobUpdate, UserError};
use crate::store::Settings;

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
}
