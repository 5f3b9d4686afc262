//! RDS through the front: the seed (instances in a VPC), distinct `DbiResourceId`s, proxy
//! endpoints, pagination.

use std::time::Instant;

use rds_sandbox::{DEFAULT_PG_HOST_NAME, DeviceApproval, SeedInfo, dbi_resource_id};
use serde_json::{Value, json};

use crate::helpers::{boto3, start};

#[test]
fn rds_through_the_front() {
    let sandbox = start(DeviceApproval::Manual);
    let out = boto3(
        sandbox.info(),
        r#"
rds = client("rds")
out["instances"] = rds.describe_db_instances()["DBInstances"]
out["cluster"] = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]
out["security_group"] = client("ec2").describe_security_groups(GroupIds=[os.environ["SECURITY_GROUP"]])["SecurityGroups"][0]
out["endpoints"] = rds.describe_db_proxy_endpoints()["DBProxyEndpoints"]
# Proxies made after the seed show up too: 21 more default endpoints make two pages of 20.
for n in range(21):
    rds.create_db_proxy(DBProxyName=f"extra-{n:02}", EngineFamily="POSTGRESQL", RoleArn="arn:aws:iam::123456789012:role/x",
        Auth=[{"SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}], VpcSubnetIds=[os.environ["SUBNET"]])
first = rds.describe_db_proxy_endpoints(MaxRecords=20)
second = rds.describe_db_proxy_endpoints(MaxRecords=20, Marker=first["Marker"])
out["pages"] = [[e["DBProxyEndpointName"] for e in page["DBProxyEndpoints"]] for page in (first, second)]
out["last_marker"] = second.get("Marker")
out["one_proxy"] = [e["DBProxyEndpointName"] for e in rds.describe_db_proxy_endpoints(DBProxyName="sandbox-proxy")["DBProxyEndpoints"]]
out["by_name"] = rds.describe_db_proxy_endpoints(DBProxyEndpointName="sandbox-proxy-ro")["DBProxyEndpoints"]
out["no_proxy"] = error_of(lambda: rds.describe_db_proxy_endpoints(DBProxyName="nope"))
out["no_endpoint"] = error_of(lambda: rds.describe_db_proxy_endpoints(DBProxyEndpointName="nope"))
out["targets"] = rds.describe_db_proxy_targets(DBProxyName="sandbox-proxy")["Targets"]
"#,
    );

    let instances = out["instances"].as_array().unwrap();
    let names: Vec<&str> = instances
        .iter()
        .map(|db| db["DBInstanceIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sandboxdb", "legacy-mysql", "orders-1", "orders-2"]);
    for db in instances {
        let name = db["DBInstanceIdentifier"].as_str().unwrap();
        assert_eq!(db["DbiResourceId"], dbi_resource_id(name), "{name}");
    }
    assert_in_the_seeded_vpc(&sandbox.info().seeded, instances, &out);
    let sandboxdb = &instances[0];
    assert_eq!(sandboxdb["Endpoint"]["Address"], DEFAULT_PG_HOST_NAME);
    assert_eq!(sandboxdb["Endpoint"]["Port"], 15432);
    assert_eq!(sandboxdb["EngineVersion"], "15.4");
    assert_eq!(sandboxdb["IAMDatabaseAuthenticationEnabled"], true);
    assert_eq!(sandboxdb["MasterUsername"], "admin");
    assert_eq!(
        sandboxdb["TagList"],
        json!([{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}])
    );
    let mysql = &instances[1];
    assert_eq!(
        (&mysql["Engine"], &mysql["EngineVersion"]),
        (&json!("mysql"), &json!("8.0.35"))
    );
    assert_eq!(mysql["IAMDatabaseAuthenticationEnabled"], false);
    assert_eq!(instances[2]["DBInstanceClass"], "db.r6g.large");
    assert_eq!(out["cluster"]["Engine"], "aurora-postgresql");
    assert_eq!(
        out["cluster"]["DBClusterMembers"].as_array().unwrap().len(),
        2
    );

    let endpoints = out["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2, "{endpoints:#?}");
    let (default, custom) = (&endpoints[0], &endpoints[1]);
    let proxy = &sandbox.info().seeded.db_proxies[0];
    assert_eq!(default["DBProxyEndpointName"], "sandbox-proxy");
    assert_eq!(default["IsDefault"], true);
    assert_eq!(default["TargetRole"], "READ_WRITE");
    assert_eq!(default["Endpoint"], proxy.endpoint.as_str());
    assert_eq!(default["VpcId"], sandbox.info().seeded.vpc_id.as_str());
    assert_eq!(default["Status"], "available");
    assert_eq!(custom["DBProxyEndpointName"], "sandbox-proxy-ro");
    assert_eq!(custom["IsDefault"], false);
    assert_eq!(custom["TargetRole"], "READ_ONLY");
    assert_eq!(
        custom["Endpoint"],
        proxy.custom_endpoints[0].endpoint.as_str()
    );
    assert!(
        custom["Endpoint"]
            .as_str()
            .unwrap()
            .starts_with("sandbox-proxy-ro.endpoint.proxy-")
    );
    let pages = out["pages"].as_array().unwrap();
    assert_eq!(pages[0].as_array().unwrap().len(), 20);
    assert_eq!(pages[0][0], "sandbox-proxy");
    assert_eq!(pages[0][1], "sandbox-proxy-ro");
    assert_eq!(pages[1].as_array().unwrap().len(), 3);
    assert_eq!(pages[1][2], "extra-20");
    assert_eq!(out["last_marker"], Value::Null);
    assert_eq!(
        out["one_proxy"],
        json!(["sandbox-proxy", "sandbox-proxy-ro"])
    );
    assert_eq!(out["by_name"][0]["DBProxyEndpointName"], "sandbox-proxy-ro");
    assert_eq!(out["no_proxy"][0], 404);
    assert_eq!(out["no_proxy"][1], "DBProxyNotFoundFault");
    assert_eq!(out["no_endpoint"][1], "DBProxyEndpointNotFoundFault");
    assert_eq!(out["targets"][0]["RdsResourceId"], "sandboxdb");
    sandbox.stop().unwrap();
}

/// Every seeded instance, and the cluster, are in the default VPC's subnet group and security
/// group, as RDS resources always are in a VPC.
fn assert_in_the_seeded_vpc(seeded: &SeedInfo, instances: &[Value], out: &Value) {
    let mut subnets = seeded.subnet_ids.clone();
    subnets.sort();
    let security_groups =
        json!([{"VpcSecurityGroupId": seeded.security_group_id, "Status": "active"}]);
    for db in instances {
        let name = db["DBInstanceIdentifier"].as_str().unwrap();
        let group = &db["DBSubnetGroup"];
        assert_eq!(group["DBSubnetGroupName"], "sandbox-subnets", "{name}");
        assert_eq!(group["VpcId"], seeded.vpc_id.as_str(), "{name}");
        let mut ids: Vec<&str> = group["Subnets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|subnet| subnet["SubnetIdentifier"].as_str().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, subnets, "{name}");
        assert_eq!(db["VpcSecurityGroups"], security_groups, "{name}");
    }
    assert_eq!(seeded.db_subnet_group, "sandbox-subnets");
    assert_eq!(out["cluster"]["DBSubnetGroup"], "sandbox-subnets");
    assert_eq!(out["cluster"]["VpcSecurityGroups"], security_groups);
    assert_eq!(out["security_group"]["GroupName"], "sandbox-db");
    assert_eq!(out["security_group"]["VpcId"], seeded.vpc_id.as_str());
}

#[test]
fn seeded_instances_page_through_the_front() {
    let sandbox = start(DeviceApproval::Manual);
    let started = Instant::now();
    let created = sandbox.seed_instances("us-west-2", "bulk", 130).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(created.len(), 130);
    assert_eq!(created[0], "bulk-001");
    let out = boto3(
        sandbox.info(),
        r#"
rds = client("rds", region_name="us-west-2")
pages = list(rds.get_paginator("describe_db_instances").paginate(PaginationConfig={"PageSize": 50}))
out["page_sizes"] = [len(page["DBInstances"]) for page in pages]
out["names"] = [db["DBInstanceIdentifier"] for page in pages for db in page["DBInstances"]]
out["ids"] = len({db["DbiResourceId"] for page in pages for db in page["DBInstances"]})
out["east"] = len(client("rds").describe_db_instances()["DBInstances"])
out["groups"] = sorted({db["DBSubnetGroup"]["VpcId"] for page in pages for db in page["DBInstances"]})
out["west_vpc"] = client("ec2", region_name="us-west-2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
"#,
    );
    assert_eq!(
        out["groups"],
        json!([out["west_vpc"]]),
        "in the region's default VPC"
    );
    assert_eq!(out["page_sizes"], json!([50, 50, 30]));
    assert_eq!(out["names"], json!(created));
    assert_eq!(out["ids"], 130, "every DbiResourceId distinct");
    assert_eq!(out["east"], 4, "the seed's region is untouched");
    assert!(seconds < 60.0, "seeding 130 instances took {seconds:.1} s");
    // The region's subnet group and security group are reused.
    assert_eq!(
        sandbox.seed_instances("us-west-2", "more", 1).unwrap(),
        ["more-1"]
    );
}
