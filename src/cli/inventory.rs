//! `rds-explorer inventory`: the databases of a profile, as a table or one JSON object
//! `{ "instances", "clusters", "proxies", "ssm_targets", "errors" }`. The fetched regions also
//! refresh the app's inventory cache.

use std::fmt::Write as _;
use std::process::ExitCode;

use super::{Format, print};
use crate::aws::inventory::{Inventory, RegionInventory, cache, enabled_regions, fetch_regions};
use crate::aws::profiles::{AwsFiles, load_profiles};
use crate::aws::sdk::{home_region, sdk_config};
use crate::store::{Database, Paths};

/// Lists the inventory; exit code 1 when some call failed (the rest is still printed).
pub fn run(
    runtime: &tokio::runtime::Runtime,
    profile: Option<&str>,
    regions: &[String],
    all_regions: bool,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let files = AwsFiles::from_env();
    let list = load_profiles(&files);
    let profile = &super::find_profile(&list, &files, profile)?;
    let fetched = runtime.block_on(async {
        let home = home_region(profile, regions.first().map(String::as_str))?;
        let regions = if all_regions {
            enabled_regions(&sdk_config(profile, &files, &home).await)
                .await
                .map_err(|error| anyhow::anyhow!("{error}; {}", error.next_step()))?
        } else if regions.is_empty() {
            vec![home]
        } else {
            regions.to_vec()
        };
        anyhow::Ok(fetch_regions(profile, &files, &regions).await)
    })?;
    write_through(&fetched);
    let inventory = Inventory::merge(fetched);
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&inventory)?,
        Format::Table => table(&inventory),
    };
    print(&text)?;
    Ok(if inventory.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Stores the fresh regions in the app's cache so the window shows them at its next start. A
/// failure only costs that, so it is logged, not reported.
fn write_through(regions: &[RegionInventory]) {
    let database = Paths::from_env()
        .map_err(anyhow::Error::from)
        .and_then(|paths| Ok(Database::open(&paths.database_file())?));
    let result = database.and_then(|database| {
        regions
            .iter()
            .try_for_each(|region| cache::store(&database, region))
            .map_err(anyhow::Error::from)
    });
    if let Err(error) = result {
        tracing::warn!(%error, "could not update the inventory cache");
    }
}

fn table(inventory: &Inventory) -> String {
    let mut out = String::new();
    let yes_no = |value: bool| if value { "yes" } else { "no" };
    let endpoint = |host: Option<&str>, port: Option<u16>| match (host, port) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => "-".to_owned(),
    };
    let _ = writeln!(out, "INSTANCES");
    for db in &inventory.instances {
        let _ = writeln!(
            out,
            "  {:<28} {:<12} {:<18} {:<10} iam={:<3} {}",
            db.id,
            db.region,
            format!("{} {}", db.engine, db.engine_version),
            db.status,
            yes_no(db.iam_auth_enabled),
            endpoint(db.endpoint.as_deref(), db.port)
        );
    }
    let _ = writeln!(out, "CLUSTERS");
    for cluster in &inventory.clusters {
        let _ = writeln!(
            out,
            "  {:<28} {:<12} {:<18} {:<10} iam={:<3} members={}",
            cluster.id,
            cluster.region,
            format!("{} {}", cluster.engine, cluster.engine_version),
            cluster.status,
            yes_no(cluster.iam_auth_enabled),
            cluster.members.len()
        );
        for e in &cluster.endpoints {
            let _ = writeln!(
                out,
                "    {:<8} {}",
                format!("{:?}", e.role).to_lowercase(),
                endpoint(Some(&e.address), e.port)
            );
        }
    }
    let _ = writeln!(out, "PROXIES");
    for proxy in &inventory.proxies {
        let _ = writeln!(
            out,
            "  {:<28} {:<12} {:<18} {:<10} tls={:<3} {}",
            proxy.name,
            proxy.region,
            proxy.engine_family,
            proxy.status,
            yes_no(proxy.require_tls),
            proxy.endpoint.as_deref().unwrap_or("-")
        );
    }
    let _ = writeln!(out, "SSM TARGETS");
    for target in &inventory.ssm_targets {
        let _ = writeln!(
            out,
            "  {:<28} {:<12} {:<20} {}",
            target.instance_id,
            target.region,
            target.name.as_deref().unwrap_or("-"),
            target.vpc_id.as_deref().unwrap_or("-")
        );
    }
    if !inventory.errors.is_empty() {
        let _ = writeln!(out, "ERRORS");
        for error in &inventory.errors {
            let _ = writeln!(out, "  {error} — {}", error.next_step());
        }
    }
    out.trim_end().to_owned()
}
