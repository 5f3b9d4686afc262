//! One AWS SDK configuration per profile, built the way a desktop app needs it: a pinned
//! `BehaviorVersion`, the profile's own files, its region (never a silent default), its
//! `endpoint_url`, and no instance-metadata probing (credentials come from the profile chain only,
//! so an unconfigured laptop fails in milliseconds instead of waiting on 169.254.169.254).

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};

use super::profiles::{AwsFiles, Profile};

/// The SDK behaviour we are tested against; bump deliberately, never `latest()`.
pub fn behavior_version() -> BehaviorVersion {
    BehaviorVersion::v2026_01_12()
}

/// A profile has no region and none was asked for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "profile \"{profile}\" has no region; add `region = …` to it in the AWS config or pick regions explicitly"
)]
pub struct NoRegion {
    /// The profile.
    pub profile: String,
}

/// The profile files as the SDK wants them. Only files that exist are named: the SDK treats a
/// named file as required, and many users have a config file but no credentials file.
pub fn profile_files(files: &AwsFiles) -> EnvConfigFiles {
    let mut builder = EnvConfigFiles::builder();
    let mut any = false;
    for (kind, path) in [
        (EnvConfigFileKind::Config, &files.config),
        (EnvConfigFileKind::Credentials, &files.credentials),
    ] {
        if path.exists() {
            builder = builder.with_file(kind, path);
            any = true;
        }
    }
    if !any {
        // The builder refuses an empty set; an empty file means "no profiles".
        builder = builder.with_contents(EnvConfigFileKind::Config, "");
    }
    builder.build()
}

/// The region a profile works in: the explicit one, else the profile's.
pub fn home_region(profile: &Profile, region: Option<&str>) -> Result<String, NoRegion> {
    region
        .map(str::to_owned)
        .or_else(|| profile.region.clone())
        .ok_or_else(|| NoRegion {
            profile: profile.name.clone(),
        })
}

/// Builds the SDK configuration of `profile` in `region`.
pub async fn sdk_config(profile: &Profile, files: &AwsFiles, region: &str) -> SdkConfig {
    let files = profile_files(files);
    let credentials = ProfileFileCredentialsProvider::builder()
        .profile_files(files.clone())
        .profile_name(&profile.name)
        .build();
    let mut loader = aws_config::defaults(behavior_version())
        .profile_files(files)
        .profile_name(&profile.name)
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials);
    if let Some(url) = &profile.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}
