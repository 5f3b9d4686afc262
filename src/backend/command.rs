//! The messages between UI and backend: commands are imperatives, events are facts.

use std::path::PathBuf;

use crate::aws::profiles::ProfileList;
use crate::jobs::{JobId, JobUpdate, UserError};
use crate::store::Settings;

/// What the UI asks the backend to do.
#[derive(Debug)]
pub enum Command {
    /// Read the AWS config and credentials files (a Job).
    LoadProfiles,
    /// Remember the selected profile for the next start.
    RememberProfile(String),
    /// Write the settings file.
    SaveSettings(Settings),
    /// Show the native file dialog to choose a CA file.
    PickCaFile,
    /// Cancel a running job.
    CancelJob(JobId),
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
