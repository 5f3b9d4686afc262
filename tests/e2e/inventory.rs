//! The inventory against the sandbox AWS account (moto behind the sandbox front): every resource
//! kind with its fields, pagination, a denied API, malformed profile lines, the CLI, the window's
//! tree, filter and details, and the cache.

use std::process::Command;

use egui_kittest::kittest::Queryable as _;
use rds_explorer::aws::error::AwsErrorKind;
use rds_explorer::aws::inventory::{EndpointRole, RegionInventory, fetch_region};
use rds_explorer::aws::profiles::{AwsFiles, Profile, load_profiles};
use rds_explorer::aws::sdk::sdk_config;
use rds_explorer::store::Database;
use rds_sandbox::{AwsOptions, AwsSandbox, dbi_resource_id};

use crate::util::{TestHome, runtime, settle, start_app_with, step_until};

fn sandbox() -> AwsSandbox {
    AwsSandbox::start(&AwsOptions::default()).unwrap()
}

fn files(aws: &AwsSandbox) -> AwsFiles {
    AwsFiles {
        config: aws.info().config_file.clone(),
        credentials: aws.info().credentials_file.clone(),
    }
}

fn profile(files: &AwsFiles, name: &str) -> Profile {
    load_profiles(files)
        .profiles
        .into_iter()
        .find(|profile| profile.name == name)
        .unwrap()
}

fn fetch(aws: &AwsSandbox, region: &str) -> RegionInventory {
    let files = files(aws);
    let profile = profile(&files, "sandbox");
    runtime().block_on(async {
        let config = sdk_config(&profile, &files, region).await;
        fetch_region(&config, "sandbox", region).await
    })
}

#[test]
fn every_resource_kind_is_listed_with_its_fields() {
    let aws = sandbox();
    let inventory = fetch(&aws, "us-east-1");
    assert_eq!(inventory.errors, [], "no call should fail");

    let ids: Vec<&str> = inventory
        .instances
        .iter()
        .map(|db| db.id.as_str())
        .collect();
    assert_eq!(ids, ["legacy-mysql", "orders-1", "orders-2", "sandboxdb"]);
    let db = &inventory.instances[3];
    assert_eq!(
        (db.engine.as_str(), db.engine_version.as_str()),
        ("postgres", "15.4")
    );
    assert!(db.iam_auth_enabled);
    assert_eq!(
        db.endpoint.as_deref(),
        Some(rds_sandbox::DEFAULT_PG_HOST_NAME)
    );
    assert_eq!(db.port, Some(5432));
    assert_eq!(db.dbi_resource_id, dbi_resource_id("sandboxdb"));
    assert_eq!(
        db.vpc_id.as_deref(),
        Some(aws.info().seeded.vpc_id.as_str())
    );
    assert!(
        !db.subnets.is_empty() && !db.security_groups.is_empty(),
        "{db:?}"
    );
    assert_eq!(db.master_username.as_deref(), Some("admin"));
    assert!(
        db.tags
            .iter()
            .any(|tag| tag.key == "env" && tag.value == "dev"),
        "{:?}",
        db.tags
    );
    let mysql = &inventory.instances[0];
    assert!(!mysql.iam_auth_enabled);
    assert_ne!(mysql.dbi_resource_id, db.dbi_resource_id);
    assert_eq!(inventory.instances[1].cluster_id.as_deref(), Some("orders"));

    assert_cluster_and_proxy(&inventory, db.vpc_id.as_deref());

    let targets: Vec<(&str, Option<&str>)> = inventory
        .ssm_targets
        .iter()
        .map(|t| (t.name.as_deref().unwrap_or_default(), t.vpc_id.as_deref()))
        .collect();
    assert_eq!(
        targets,
        [("bastion", db.vpc_id.as_deref())],
        "only the instance with an SSM agent"
    );
}

/// The seeded Aurora cluster and RDS Proxy, field by field.
fn assert_cluster_and_proxy(inventory: &RegionInventory, vpc_id: Option<&str>) {
    let cluster = &inventory.clusters[0];
    assert_eq!(
        (cluster.id.as_str(), cluster.engine.as_str()),
        ("orders", "aurora-postgresql")
    );
    assert!(cluster.iam_auth_enabled);
    assert!(
        cluster.cluster_resource_id.starts_with("cluster-"),
        "{cluster:?}"
    );
    let roles: Vec<EndpointRole> = cluster
        .endpoints
        .iter()
        .map(|endpoint| endpoint.role)
        .collect();
    assert_eq!(
        roles,
        [
            EndpointRole::Writer,
            EndpointRole::Reader,
            EndpointRole::Custom
        ]
    );
    assert_eq!(
        cluster.endpoints[2].name.as_deref(),
        Some("orders-analytics")
    );
    assert_eq!(
        cluster.endpoints[2].port, cluster.port,
        "custom endpoints share the cluster port"
    );
    assert_eq!(cluster.members.len(), 2);
    assert_eq!(
        cluster.vpc_id.as_deref(),
        vpc_id,
        "cluster VPC comes from its members"
    );

    let proxy = &inventory.proxies[0];
    assert_eq!(
        (proxy.name.as_str(), proxy.engine_family.as_str()),
        ("sandbox-proxy", "POSTGRESQL")
    );
    assert!(proxy.require_tls);
    assert!(proxy.proxy_id().starts_with("prx-"), "{}", proxy.arn);
    assert_eq!(proxy.auth[0].iam_auth.as_deref(), Some("REQUIRED"));
    assert!(proxy.auth[0].secret_arn.is_some() && proxy.role_arn.is_some());
    let endpoints: Vec<(&str, bool)> = proxy
        .endpoints
        .iter()
        .map(|e| (e.name.as_str(), e.is_default))
        .collect();
    assert!(
        endpoints.contains(&("sandbox-proxy", true))
            && endpoints.contains(&("sandbox-proxy-ro", false)),
        "{endpoints:?}"
    );
    assert_eq!(
        proxy.targets[0].rds_resource_id.as_deref(),
        Some("sandboxdb")
    );
}

#[test]
fn pagination_lists_all_of_130_instances() {
    let aws = sandbox();
    let created = aws.seed_instances("us-west-2", "bulk", 130).unwrap();
    let inventory = fetch(&aws, "us-west-2");
    let mut ids: Vec<String> = inventory.instances.iter().map(|db| db.id.clone()).collect();
    ids.sort();
    let mut expected = created;
    expected.sort();
    assert_eq!(ids.len(), 130);
    assert_eq!(ids, expected);
}

#[test]
fn a_denied_api_leaves_the_rest_listed_with_its_error_on_the_region() {
    let aws = sandbox();
    aws.deny("DescribeDBProxies");
    let inventory = fetch(&aws, "us-east-1");
    assert!(inventory.proxies.is_empty());
    assert_eq!(inventory.instances.len(), 4);
    assert_eq!(inventory.clusters.len(), 1);
    assert_eq!(inventory.ssm_targets.len(), 1);
    assert_eq!(inventory.errors.len(), 1, "{:?}", inventory.errors);
    let error = &inventory.errors[0];
    assert_eq!(
        (error.api.as_str(), error.kind),
        ("rds:DescribeDBProxies", AwsErrorKind::AccessDenied)
    );
    assert!(error.next_step().contains("rds:DescribeDBProxies"));
}

#[test]
fn a_malformed_profile_line_names_file_and_line_and_the_other_profiles_load() {
    let aws = sandbox();
    let home = TestHome::new();
    let text = std::fs::read_to_string(&aws.info().config_file).unwrap();
    let config = home.write(".aws/config", &format!("{text}\nthis is not a property\n"));
    let broken_line = text.lines().count() + 2;
    let list = load_profiles(&AwsFiles {
        config: config.clone(),
        credentials: aws.info().credentials_file.clone(),
    });
    assert_eq!(list.problems.len(), 1);
    assert!(
        list.problems[0]
            .to_string()
            .starts_with(&format!("{}:{broken_line}:", config.display())),
        "{:?}",
        list.problems
    );
    assert!(
        list.profiles
            .iter()
            .any(|profile| profile.name == "sandbox")
    );
    assert!(
        list.profiles
            .iter()
            .any(|profile| profile.name == "sandbox-sso")
    );
}

#[test]
fn cli_inventory_json_lists_the_seeded_resources() {
    let aws = sandbox();
    let home = TestHome::new();
    let output = Command::new(env!("CARGO_BIN_EXE_rds-explorer"))
        .args(["inventory", "--profile", "sandbox", "--format", "json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", &aws.info().config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", &aws.info().credentials_file)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names = |key: &str, field: &str| -> Vec<String> {
        json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item[field].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names("instances", "id"),
        ["legacy-mysql", "orders-1", "orders-2", "sandboxdb"]
    );
    assert_eq!(names("clusters", "id"), ["orders"]);
    assert_eq!(names("proxies", "name"), ["sandbox-proxy"]);
    assert_eq!(names("ssm_targets", "instance_id").len(), 1);
    assert_eq!(json["errors"], serde_json::json!([]));
    assert_eq!(
        json["instances"][3]["dbi_resource_id"],
        dbi_resource_id("sandboxdb")
    );
    assert_eq!(json["instances"][3]["iam_auth_enabled"], true);
}

#[test]
fn the_tree_lists_filters_and_shows_details_and_the_cache_survives_an_outage() {
    let aws = sandbox();
    let home = TestHome::new();
    // A copy of the sandbox's AWS files: stopping the sandbox deletes its own.
    let files = AwsFiles {
        config: home.write(
            ".aws/config",
            &std::fs::read_to_string(&aws.info().config_file).unwrap(),
        ),
        credentials: home.write(
            ".aws/credentials",
            &std::fs::read_to_string(&aws.info().credentials_file).unwrap(),
        ),
    };
    let runtime = runtime();
    {
        let mut harness = start_app_with(&home, files.clone(), &runtime);
        step_until(&mut harness, "inventory listed", |h| {
            h.query_by_label("sandboxdb  postgres").is_some()
        });
        harness.get_by_label("legacy-mysql  mysql  [prod]");
        harness.get_by_label("orders  aurora-postgresql");
        harness.get_by_label("sandbox-proxy  POSTGRESQL");
        harness.get_by_label_contains("bastion");

        harness.get_by_label("Filter").focus();
        settle(&mut harness);
        harness.get_by_label("Filter").type_text("mysql");
        settle(&mut harness);
        step_until(&mut harness, "the filter hides non-matching rows", |h| {
            h.query_by_label("sandboxdb  postgres").is_none()
        });
        harness.get_by_label("legacy-mysql  mysql  [prod]");
        harness.get_by_label("Filter").focus();
        settle(&mut harness);
        harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        harness.key_press(egui::Key::Backspace);
        settle(&mut harness);

        harness.get_by_label("sandboxdb  postgres").click();
        settle(&mut harness);
        harness.get_by_label("Instance sandboxdb");
        harness.get_by_label(&dbi_resource_id("sandboxdb"));
        harness.get_by_label("Copy DbiResourceId");
        assert!(
            harness.query_all_by_label_contains("bastion").count() >= 2,
            "tree row and suggested tunnel target"
        );
    }
    let cached = Database::open(&home.paths().database_file())
        .unwrap()
        .cache_get("inventory", "sandbox")
        .unwrap();
    assert_eq!(
        cached
            .iter()
            .map(|entry| entry.key.as_str())
            .collect::<Vec<_>>(),
        ["us-east-1"]
    );

    // AWS gone: the cached tree still shows, marked as cached, with the refresh's error on it.
    aws.stop().unwrap();
    let mut harness = start_app_with(&home, files, &runtime);
    step_until(&mut harness, "refresh failed", |h| {
        // On the region node and in the failed job's row.
        h.query_all_by_label_contains("rds:DescribeDBInstances in us-east-1 failed")
            .count()
            >= 1
    });
    harness.get_by_label("sandboxdb  postgres");
    harness.get_by_label_contains("us-east-1 (6) - cached");
}
