//! The inventory of a profile: per region, the RDS instances, Aurora clusters (with endpoints),
//! RDS Proxies (with endpoints and targets) and SSM targets. Calls within a region run
//! concurrently; each failure is kept next to what did load.

pub mod cache;
pub mod draft;
pub mod model;
mod rds;
mod ssm;

use aws_config::SdkConfig;

use super::error::AwsCallError;
use super::profiles::{AwsFiles, Profile};
use super::sdk::sdk_config;

pub use model::{
    ClusterEndpoint, ClusterMember, DbCluster, DbInstance, DbProxy, EndpointRole, Inventory,
    ProxyAuth, ProxyEndpoint, ProxyTarget, RegionInventory, SsmTarget, Tag, suggest_targets,
};

/// Fetches everything of one region. Never fails as a whole: failed calls are in `errors`.
/// `config` must be built for `region`.
pub async fn fetch_region(config: &SdkConfig, profile: &str, region: &str) -> RegionInventory {
    let ssm_client = aws_sdk_ssm::Client::new(config);
    let ec2_client = aws_sdk_ec2::Client::new(config);
    let (mut inventory, targets) = tokio::join!(
        fetch_databases(config, region),
        ssm::targets(&ssm_client, &ec2_client, region),
    );
    profile.clone_into(&mut inventory.profile);
    match targets {
        Ok((targets, error)) => {
            inventory.ssm_targets = targets;
            inventory.errors.extend(error);
        }
        Err(error) => inventory.errors.push(error),
    }
    for error in &inventory.errors {
        tracing::warn!(profile, %error, "inventory call failed");
    }
    inventory
}

/// Only the databases of one region (instances, clusters, proxies; no SSM targets), for looking
/// one up by its endpoint. Failed calls are in `errors`, as with [`fetch_region`].
pub async fn fetch_databases(config: &SdkConfig, region: &str) -> RegionInventory {
    let client = aws_sdk_rds::Client::new(config);
    let (instances, clusters, proxies) = tokio::join!(
        rds::instances(&client, region),
        rds::clusters(&client, region),
        rds::proxies(&client, region),
    );
    let mut inventory = RegionInventory {
        region: region.to_owned(),
        fetched_at_secs: time::OffsetDateTime::now_utc().unix_timestamp(),
        ..RegionInventory::default()
    };
    match instances {
        Ok(instances) => inventory.instances = instances,
        Err(error) => inventory.errors.push(error),
    }
    match clusters {
        Ok((clusters, error)) => {
            inventory.clusters = clusters;
            inventory.errors.extend(error);
        }
        Err(error) => inventory.errors.push(error),
    }
    rds::fill_cluster_networks(&mut inventory.clusters, &inventory.instances);
    match proxies {
        Ok((proxies, errors)) => {
            inventory.proxies = proxies;
            inventory.errors.extend(errors);
        }
        Err(error) => inventory.errors.push(error),
    }
    inventory
}

/// The regions enabled for the account (EC2 `DescribeRegions`), sorted.
pub async fn enabled_regions(config: &SdkConfig) -> Result<Vec<String>, AwsCallError> {
    let region = config.region().map(ToString::to_string).unwrap_or_default();
    let output = aws_sdk_ec2::Client::new(config)
        .describe_regions()
        .all_regions(false)
        .send()
        .await
        .map_err(|error| AwsCallError::from_sdk("ec2:DescribeRegions", &region, &error))?;
    let mut regions: Vec<String> = output
        .regions()
        .iter()
        .filter_map(|region| region.region_name().map(str::to_owned))
        .collect();
    regions.sort();
    Ok(regions)
}

/// Fetches several regions of a profile in parallel; results in the order of `regions`.
pub async fn fetch_regions(
    profile: &Profile,
    files: &AwsFiles,
    regions: &[String],
) -> Vec<RegionInventory> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, region) in regions.iter().enumerate() {
        let (profile, files, region) = (profile.clone(), files.clone(), region.clone());
        tasks.spawn(async move {
            let config = sdk_config(&profile, &files, &region).await;
            (index, fetch_region(&config, &profile.name, &region).await)
        });
    }
    let mut results: Vec<Option<RegionInventory>> = vec![None; regions.len()];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, inventory)) => results[index] = Some(inventory),
            Err(error) => tracing::error!(%error, "an inventory task failed"),
        }
    }
    results.into_iter().flatten().collect()
}
