//! Aurora cluster endpoints, served by the front (moto 5.2.5 answers HTTP 500).

use rds_sandbox::{DeviceApproval, SeededCluster};
use serde_json::{Value, json};

use crate::helpers::{boto3, start};

#[test]
fn cluster_endpoints_through_the_front() {
    let sandbox = start(DeviceApproval::Manual);
    let out = boto3(
        sandbox.info(),
        r#"
rds = client("rds")
def ids(endpoints):
    return [(e["DBClusterEndpointIdentifier"], e["EndpointType"]) for e in endpoints]
describe = lambda **kwargs: rds.describe_db_cluster_endpoints(**kwargs)["DBClusterEndpoints"]
out["all"] = describe()
out["orders"] = ids(describe(DBClusterIdentifier="orders"))
out["by_id"] = ids(describe(DBClusterEndpointIdentifier="orders-analytics"))
out["unknown_id"] = describe(DBClusterEndpointIdentifier="nope")
out["readers"] = ids(describe(Filters=[{"Name": "db-cluster-endpoint-type", "Values": ["reader", "custom"]}]))
out["bad_filter"] = error_of(lambda: describe(Filters=[{"Name": "nope", "Values": ["x"]}]))
out["no_cluster"] = error_of(lambda: describe(DBClusterIdentifier="nope"))
out["too_few"] = error_of(lambda: describe(MaxRecords=5))
out["west"] = client("rds", region_name="us-west-2").describe_db_cluster_endpoints()["DBClusterEndpoints"]
# Clusters made after the seed show up too: 10 more make 23 endpoints, two pages of 20.
for n in range(10):
    rds.create_db_cluster(DBClusterIdentifier=f"extra-{n}", Engine="aurora-postgresql", EngineVersion="15.4",
        MasterUsername="admin", MasterUserPassword="sandbox-admin-pass")
first = rds.describe_db_cluster_endpoints(MaxRecords=20)
second = rds.describe_db_cluster_endpoints(MaxRecords=20, Marker=first["Marker"])
out["pages"] = [ids(page["DBClusterEndpoints"]) for page in (first, second)]
out["last_marker"] = second.get("Marker")
pages = rds.get_paginator("describe_db_cluster_endpoints").paginate(PaginationConfig={"PageSize": 20})
out["paginated"] = [len(page["DBClusterEndpoints"]) for page in pages]
"#,
    );

    assert_seeded_endpoints(&sandbox.info().seeded.db_clusters[0], &out["all"]);
    let orders = json!([
        ["orders", "WRITER"],
        ["orders", "READER"],
        ["orders-analytics", "CUSTOM"]
    ]);
    assert_eq!(out["orders"], orders);
    assert_eq!(out["by_id"], json!([["orders-analytics", "CUSTOM"]]));
    assert_eq!(out["unknown_id"], json!([]), "RDS answers no fault here");
    assert_eq!(
        out["readers"],
        json!([["orders", "READER"], ["orders-analytics", "CUSTOM"]])
    );
    assert_eq!(out["bad_filter"][1], "InvalidParameterValue");
    assert_eq!(out["no_cluster"][0], 404);
    assert_eq!(out["no_cluster"][1], "DBClusterNotFoundFault");
    assert_eq!(out["too_few"][0], 400);
    assert_eq!(out["too_few"][1], "InvalidParameterValue");
    assert_eq!(out["west"], json!([]), "other regions have no clusters");

    let pages = out["pages"].as_array().unwrap();
    let first = pages[0].as_array().unwrap();
    assert_eq!(first.len(), 20);
    assert_eq!(first[..3], orders.as_array().unwrap()[..]);
    assert_eq!(pages[0][3], json!(["extra-0", "WRITER"]));
    assert_eq!(
        pages[1],
        json!([
            ["extra-8", "READER"],
            ["extra-9", "WRITER"],
            ["extra-9", "READER"]
        ])
    );
    assert_eq!(out["last_marker"], Value::Null);
    assert_eq!(out["paginated"], json!([20, 3]));
}

/// `all`, every endpoint right after the seed: those of `orders` (writer, reader, custom).
fn assert_seeded_endpoints(cluster: &SeededCluster, all: &Value) {
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3, "{all:#?}");
    let (writer, reader, custom) = (&all[0], &all[1], &all[2]);
    assert_eq!(
        (
            &writer["DBClusterEndpointIdentifier"],
            &writer["EndpointType"]
        ),
        (&json!("orders"), &json!("WRITER"))
    );
    assert_eq!(writer["Endpoint"], cluster.endpoint.as_str());
    assert_eq!(
        (
            &reader["DBClusterEndpointIdentifier"],
            &reader["EndpointType"]
        ),
        (&json!("orders"), &json!("READER"))
    );
    assert_eq!(reader["Endpoint"], cluster.reader_endpoint.as_str());
    let seeded_custom = &cluster.custom_endpoints[0];
    assert_eq!(seeded_custom.identifier, "orders-analytics");
    assert_eq!(custom["DBClusterEndpointIdentifier"], "orders-analytics");
    assert_eq!(custom["EndpointType"], "CUSTOM");
    assert_eq!(custom["CustomEndpointType"], "READER");
    assert_eq!(custom["StaticMembers"], json!(["orders-2"]));
    assert_eq!(custom["ExcludedMembers"], json!([]));
    assert_eq!(
        custom["DBClusterEndpointArn"],
        "arn:aws:rds:us-east-1:123456789012:cluster-endpoint:orders-analytics"
    );
    assert_eq!(custom["Endpoint"], seeded_custom.endpoint.as_str());
    // Same 12-character id as the writer: orders.cluster-<id>.us-east-1.rds.amazonaws.com.
    let id = cluster
        .endpoint
        .strip_prefix("orders.cluster-")
        .unwrap()
        .split('.')
        .next()
        .unwrap();
    assert_eq!(id.len(), 12);
    assert_eq!(
        seeded_custom.endpoint,
        format!("orders-analytics.cluster-custom-{id}.us-east-1.rds.amazonaws.com")
    );
    let mut resource_ids = Vec::new();
    for endpoint in all {
        assert_eq!(endpoint["DBClusterIdentifier"], "orders");
        assert_eq!(endpoint["Status"], "available");
        let resource_id = endpoint["DBClusterEndpointResourceIdentifier"]
            .as_str()
            .unwrap();
        assert!(
            resource_id.starts_with("cluster-endpoint-"),
            "{resource_id}"
        );
        resource_ids.push(resource_id);
    }
    resource_ids.sort_unstable();
    resource_ids.dedup();
    assert_eq!(resource_ids.len(), 3, "resource ids are distinct");
}

#[test]
fn denied_cluster_endpoints_answer_access_denied_until_allowed() {
    let sandbox = start(DeviceApproval::Manual);
    sandbox.deny("rds:DescribeDBClusterEndpoints");
    let script = r#"
rds = client("rds")
out["endpoints"] = error_of(rds.describe_db_cluster_endpoints)
out["clusters"] = len(rds.describe_db_clusters()["DBClusters"])
"#;
    let out = boto3(sandbox.info(), script);
    assert_eq!(out["endpoints"][0], 403);
    assert_eq!(out["endpoints"][1], "AccessDenied");
    let message = out["endpoints"][2].as_str().unwrap();
    assert!(
        message.contains("rds:DescribeDBClusterEndpoints"),
        "{message}"
    );
    assert_eq!(out["clusters"], 1, "other actions still work");

    sandbox.allow("rds:DescribeDBClusterEndpoints");
    let out = boto3(
        sandbox.info(),
        r#"out["endpoints"] = len(client("rds").describe_db_cluster_endpoints()["DBClusterEndpoints"])"#,
    );
    assert_eq!(out["endpoints"], 3);
}
