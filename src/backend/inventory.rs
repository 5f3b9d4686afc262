//! Inventory commands: open a profile (cached inventory at once, then identity and a refresh),
//! refresh one job per region in parallel, and write each fresh region through to the cache.

use std::fmt::Write as _;
use std::sync::{Arc, PoisonError};

use aws_config::SdkConfig;

use super::{Event, Outbox, Shared};
use crate::aws::error::AwsErrorKind;
use crate::aws::identity::caller_identity;
use crate::aws::inventory::{RegionInventory, cache, enabled_regions, fetch_region};
use crate::aws::profiles::{Profile, load_profiles};
use crate::aws::sdk::{home_region, sdk_config};
use crate::jobs::{Progress, UserError};

/// Shows the cached inventory, then checks identity and refreshes the profile's regions.
pub(super) async fn open_profile(shared: &Arc<Shared>, outbox: &Outbox, profile: &str) {
    let cached = load_cached(shared, profile).await;
    let cached_regions: Vec<String> = cached.iter().map(|region| region.region.clone()).collect();
    outbox
        .send(Event::InventoryCached {
            profile: profile.to_owned(),
            regions: cached,
        })
        .await;
    check_and_refresh(shared, outbox, profile, cached_regions).await;
}

/// Checks identity again and refreshes every region shown for the profile (after a sign-in).
pub(super) async fn refresh_all_known(shared: &Arc<Shared>, outbox: &Outbox, profile: &str) {
    let cached_regions = load_cached(shared, profile)
        .await
        .into_iter()
        .map(|region| region.region)
        .collect();
    check_and_refresh(shared, outbox, profile, cached_regions).await;
}

/// Identity check plus a refresh of `regions` — the regions seen before (the user may have listed
/// more than the home region) — or of the home region when there are none.
async fn check_and_refresh(
    shared: &Arc<Shared>,
    outbox: &Outbox,
    profile: &str,
    mut regions: Vec<String>,
) {
    let Some(profile) = wait_for_profile(shared, profile).await else {
        return;
    };
    identity_job(shared, outbox, &profile);
    if regions.is_empty() {
        regions.extend(home_region(&profile, None).ok());
    }
    refresh_regions(shared, outbox, &profile, regions).await;
}

/// Refreshes the profile's home region, or every enabled region.
pub(super) async fn refresh(
    shared: &Arc<Shared>,
    outbox: &Outbox,
    profile: &str,
    all_regions: bool,
) {
    let Some(profile) = find_profile(shared, profile) else {
        return;
    };
    let home = match home_region(&profile, None) {
        Ok(home) => home,
        Err(error) => {
            let message = error.to_string();
            shared.jobs.spawn(
                format!("Inventory of {}", profile.name),
                move |_ctx| async move {
                    Err(UserError::new(
                        message,
                        "Add a region to the profile in the AWS config",
                    ))
                },
            );
            return;
        }
    };
    if !all_regions {
        refresh_regions(shared, outbox, &profile, vec![home]).await;
        return;
    }
    let config = config_for(shared, &profile, &home).await;
    match enabled_regions(&config).await {
        Ok(regions) => refresh_regions(shared, outbox, &profile, regions).await,
        Err(error) => {
            let user_error = error.to_user_error();
            shared.jobs.spawn(
                format!("List regions of {}", profile.name),
                move |_ctx| async move { Err(user_error) },
            );
        }
    }
}

/// The profile named `name`, reading the AWS files first when the profile list has not been
/// loaded yet (a profile opened at start, before `LoadProfiles` finished).
pub(super) async fn wait_for_profile(shared: &Arc<Shared>, name: &str) -> Option<Profile> {
    let loaded = shared
        .profiles
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_some();
    if !loaded {
        let files = shared.aws_files.clone();
        let list = tokio::task::spawn_blocking(move || load_profiles(&files))
            .await
            .ok()?;
        shared
            .profiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(list);
    }
    find_profile(shared, name)
}

pub(super) fn find_profile(shared: &Shared, name: &str) -> Option<Profile> {
    let profiles = shared
        .profiles
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    profiles
        .as_ref()?
        .profiles
        .iter()
        .find(|profile| profile.name == name)
        .cloned()
}

pub(super) async fn config_for(shared: &Shared, profile: &Profile, region: &str) -> SdkConfig {
    let key = (profile.name.clone(), region.to_owned());
    let mut configs = shared.sdk_configs.lock().await;
    if let Some(config) = configs.get(&key) {
        return config.clone();
    }
    let config = sdk_config(profile, &shared.aws_files, region).await;
    configs.insert(key, config.clone());
    config
}

fn identity_job(shared: &Arc<Shared>, outbox: &Outbox, profile: &Profile) {
    let Ok(region) = home_region(profile, None) else {
        return;
    };
    let (shared_job, outbox, profile) = (Arc::clone(shared), outbox.clone(), profile.clone());
    shared.jobs.spawn(
        format!("Check identity of {}", profile.name),
        move |_ctx| async move {
            let config = config_for(&shared_job, &profile, &region).await;
            let result = caller_identity(&config).await;
            let outcome = match &result {
                Ok(identity) => Ok(identity
                    .clock_warning()
                    .unwrap_or_else(|| identity.arn.clone())),
                Err(error) => Err(error.to_user_error()),
            };
            if let Ok(identity) = &result
                && let Some(warning) = identity.clock_warning()
            {
                tracing::warn!(profile = %profile.name, %warning, "clock skew");
            }
            outbox
                .send(Event::IdentityChecked {
                    profile: profile.name.clone(),
                    result,
                })
                .await;
            outcome
        },
    );
}

async fn refresh_regions(
    shared: &Arc<Shared>,
    outbox: &Outbox,
    profile: &Profile,
    regions: Vec<String>,
) {
    outbox
        .send(Event::InventoryRefreshing {
            profile: profile.name.clone(),
            regions: regions.clone(),
        })
        .await;
    for region in regions {
        let (shared_job, outbox, profile) = (Arc::clone(shared), outbox.clone(), profile.clone());
        let title = format!("Inventory {} / {region}", profile.name);
        shared.jobs.spawn(title, move |ctx| async move {
            ctx.progress(
                Progress::Indeterminate,
                "listing instances, clusters, proxies and SSM targets",
            );
            let config = config_for(&shared_job, &profile, &region).await;
            let inventory = fetch_region(&config, &profile.name, &region).await;
            let outcome = summary(&inventory);
            store_cached(&shared_job, &inventory).await;
            outbox
                .send(Event::InventoryRegion {
                    profile: profile.name.clone(),
                    inventory,
                })
                .await;
            outcome
        });
    }
}

/// The job outcome: a count of what was found, or a failure when nothing could be listed for a
/// reason that concerns the whole profile (expired SSO, no credentials, no network).
fn summary(inventory: &RegionInventory) -> Result<String, UserError> {
    let found = inventory.instances.len() + inventory.clusters.len() + inventory.proxies.len();
    let whole_profile = |kind| {
        matches!(
            kind,
            AwsErrorKind::SsoSignInNeeded
                | AwsErrorKind::NoCredentials
                | AwsErrorKind::CredentialsExpired
                | AwsErrorKind::Network
        )
    };
    if found == 0
        && let Some(error) = inventory
            .errors
            .iter()
            .find(|error| whole_profile(error.kind))
    {
        return Err(error.to_user_error());
    }
    let mut text = format!(
        "{} instances, {} clusters, {} proxies, {} SSM targets",
        inventory.instances.len(),
        inventory.clusters.len(),
        inventory.proxies.len(),
        inventory.ssm_targets.len()
    );
    if !inventory.errors.is_empty() {
        let _ = write!(text, " ({} calls failed)", inventory.errors.len());
    }
    Ok(text)
}

async fn load_cached(shared: &Shared, profile: &str) -> Vec<RegionInventory> {
    let database = Arc::clone(&shared.database);
    let profile = profile.to_owned();
    let loaded = tokio::task::spawn_blocking(move || {
        cache::load(
            &database.lock().unwrap_or_else(PoisonError::into_inner),
            &profile,
        )
    })
    .await
    .map_err(|error| error.to_string())
    .and_then(|result| result.map_err(|error| error.to_string()));
    loaded.unwrap_or_else(|error| {
        tracing::warn!(%error, "could not read the inventory cache");
        Vec::new()
    })
}

async fn store_cached(shared: &Shared, inventory: &RegionInventory) {
    let (database, inventory) = (Arc::clone(&shared.database), inventory.clone());
    let stored = tokio::task::spawn_blocking(move || {
        cache::store(
            &database.lock().unwrap_or_else(PoisonError::into_inner),
            &inventory,
        )
    })
    .await
    .map_err(|error| error.to_string())
    .and_then(|result| result.map_err(|error| error.to_string()));
    if let Err(error) = stored {
        tracing::warn!(%error, "could not write the inventory cache");
    }
}
