//! SSM instance information, and denied actions across RDS, SSM and EC2.

use rds_sandbox::{DeviceApproval, SsmAgent};
use serde_json::json;

use crate::helpers::{boto3, start};

#[test]
fn ssm_lists_only_instances_with_an_agent() {
    let sandbox = start(DeviceApproval::Manual);
    let out = boto3(
        sandbox.info(),
        r#"
ssm = client("ssm")
out["all"] = ssm.describe_instance_information()["InstanceInformationList"]
out["ec2"] = [i for r in client("ec2").describe_instances()["Reservations"] for i in r["Instances"]]
out["bad_page_size"] = error_of(lambda: ssm.describe_instance_information(MaxResults=60))
out["parameter"] = ssm.put_parameter(Name="/sandbox/forwarded", Value="to moto", Type="String")["Version"]
"#,
    );
    let bastion = sandbox
        .info()
        .seeded
        .ec2_instances
        .iter()
        .find(|instance| instance.ssm_agent == SsmAgent::Online)
        .unwrap();
    assert_eq!(bastion.name, "bastion");
    let all = out["all"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["InstanceId"], bastion.instance_id.as_str());
    assert_eq!(all[0]["PingStatus"], "Online");
    assert_eq!(all[0]["PlatformType"], "Linux");
    assert_eq!(all[0]["ResourceType"], "EC2Instance");
    assert_eq!(all[0]["IPAddress"], bastion.private_ip.as_str());
    assert_eq!(all[0]["ComputerName"], bastion.private_dns_name.as_str());
    // Both instances exist in EC2; only the bastion has an agent.
    let mut names: Vec<&str> = out["ec2"]
        .as_array()
        .unwrap()
        .iter()
        .map(|instance| instance["Tags"][0]["Value"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["bastion", "worker"]);
    assert_eq!(out["bad_page_size"][1], "ValidationException");
    // Other SSM actions still reach moto.
    assert_eq!(out["parameter"], 1);
}

#[test]
fn denied_actions_answer_access_denied_until_allowed() {
    let sandbox = start(DeviceApproval::Manual);
    sandbox.deny("DescribeDBProxies");
    sandbox.deny("ssm:DescribeInstanceInformation");
    let script = r#"
rds = client("rds")
ssm = client("ssm")
out["proxies"] = error_of(rds.describe_db_proxies)
out["instances"] = len(rds.describe_db_instances()["DBInstances"])
out["ssm"] = error_of(ssm.describe_instance_information)
out["ec2_via_control"] = control("/sandbox/deny", {"action": "DescribeInstances"})
out["ec2"] = error_of(client("ec2").describe_instances)
out["unknown_control"] = control("/sandbox/nonsense")
"#;
    let out = boto3(sandbox.info(), script);
    assert_eq!(out["proxies"][0], 403);
    assert_eq!(out["proxies"][1], "AccessDenied");
    let message = out["proxies"][2].as_str().unwrap();
    assert!(
        message.starts_with(
            "User: arn:aws:iam::123456789012:user/moto is not authorized to perform: \
             rds:DescribeDBProxies"
        ),
        "{message}"
    );
    assert_eq!(out["instances"], 4, "other actions still work");
    assert_eq!(out["ssm"][0], 400);
    assert_eq!(out["ssm"][1], "AccessDeniedException");
    assert_eq!(out["ec2_via_control"][0], 200);
    assert_eq!(out["ec2"][1], "UnauthorizedOperation");
    assert_eq!(out["unknown_control"][0], 404);

    sandbox.allow("DescribeDBProxies");
    sandbox.allow("ssm:DescribeInstanceInformation");
    let out = boto3(
        sandbox.info(),
        r#"
out["allow"] = control("/sandbox/allow", {"action": "DescribeInstances"})
out["proxies"] = len(client("rds").describe_db_proxies()["DBProxies"])
out["ssm"] = len(client("ssm").describe_instance_information()["InstanceInformationList"])
out["ec2"] = len(client("ec2").describe_instances()["Reservations"])
"#,
    );
    assert_eq!(
        out,
        json!({"allow": [200, {}], "proxies": 1, "ssm": 1, "ec2": 2})
    );
}
