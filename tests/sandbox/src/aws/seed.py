"""Seeds a fresh moto server for rds-sandbox; embedded in the Rust crate (src/aws/seed.rs).

Usage:  python -I -c SCRIPT seed MOTO_URL              (then SANDBOXDB_PORT on stdin)
        python -I -c SCRIPT instances MOTO_URL REGION PREFIX COUNT

Talks to moto directly, never through the AWS front, and prints one JSON object on stdout.
`seed` does what needs no port first (importing boto3 and moto's first EC2 call, which builds
the default VPCs, take most of the time), then waits for the Postgres port on stdin: the caller
starts it while Postgres is still starting.
Everything is deterministic except what moto itself randomises (EC2 instance ids and IPs,
proxy endpoints, cluster endpoints).
"""

import json
import sys

import boto3
from botocore.config import Config

# moto answers at once or fails for good; a retried 500 would only cost seconds of backoff.
CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})
# Not validated by moto (AMI validation is off by default); shaped like a real one.
IMAGE_ID = "ami-0c02fb55956c7d316"


def client(service, moto_url, region):
    return boto3.client(
        service,
        endpoint_url=moto_url,
        region_name=region,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=CONFIG,
    )


def seed(moto_url):
    region = "us-east-1"
    rds = client("rds", moto_url, region)
    ec2 = client("ec2", moto_url, region)
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    subnets.sort(key=lambda subnet: subnet["AvailabilityZone"])
    vpc_id = subnets[0]["VpcId"]
    subnet_ids = [subnet["SubnetId"] for subnet in subnets]
    ec2_instances = [run_instance(ec2, subnet_ids[0], *spec) for spec in EC2_INSTANCES]
    # Loads moto's RDS backend before the wait, too.
    rds.describe_db_instances()

    line = sys.stdin.readline()
    if not line:
        raise SystemExit("stdin closed before the sandboxdb port came")
    sandboxdb_port = int(line)

    # moto defaults to postgres 9.3.3 / mysql 5.6.21 without EngineVersion: always pass one.
    rds.create_db_instance(
        DBInstanceIdentifier="sandboxdb",
        Engine="postgres",
        EngineVersion="15.4",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        DBName="app",
        MasterUsername="admin",
        MasterUserPassword="sandbox-admin-pass",
        Port=sandboxdb_port,
        EnableIAMDatabaseAuthentication=True,
        Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="legacy-mysql",
        Engine="mysql",
        EngineVersion="8.0.35",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="sandbox-admin-pass",
        EnableIAMDatabaseAuthentication=False,
        Tags=[{"Key": "environment", "Value": "production"}],
    )

    rds.create_db_cluster(
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="admin",
        MasterUserPassword="sandbox-admin-pass",
        EnableIAMDatabaseAuthentication=True,
    )
    for name in ("orders-1", "orders-2"):
        # On Aurora IAM auth is a cluster setting that instances report; moto keeps it per
        # instance, so say it here too.
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier="orders",
            Engine="aurora-postgresql",
            EngineVersion="15.4",
            DBInstanceClass="db.r6g.large",
            EnableIAMDatabaseAuthentication=True,
        )
    cluster = rds.describe_db_clusters(DBClusterIdentifier="orders")["DBClusters"][0]

    # moto checks that the subnets exist and crashes without Auth; it checks no ARN.
    proxy = rds.create_db_proxy(
        DBProxyName="sandbox-proxy",
        EngineFamily="POSTGRESQL",
        Auth=[
            {
                "AuthScheme": "SECRETS",
                "IAMAuth": "REQUIRED",
                "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:sandbox-proxy-admin-AbCdEf",
                "Description": "admin",
            }
        ],
        RoleArn="arn:aws:iam::123456789012:role/sandbox-proxy-secrets",
        VpcSubnetIds=subnet_ids,
        RequireTLS=True,
    )["DBProxy"]
    rds.register_db_proxy_targets(
        DBProxyName="sandbox-proxy",
        TargetGroupName="default",
        DBInstanceIdentifiers=["sandboxdb"],
    )

    return {
        "region": region,
        "vpc_id": vpc_id,
        "subnet_ids": subnet_ids,
        "db_instances": ["sandboxdb", "legacy-mysql", "orders-1", "orders-2"],
        "db_clusters": [
            {
                "identifier": "orders",
                "endpoint": cluster["Endpoint"],
                "reader_endpoint": cluster["ReaderEndpoint"],
            }
        ],
        "db_proxies": [
            {
                "name": proxy["DBProxyName"],
                "arn": proxy["DBProxyArn"],
                "endpoint": proxy["Endpoint"],
                "custom_endpoints": [],
            }
        ],
        "ec2_instances": ec2_instances,
    }


# Name tag, and whether the instance's SSM agent reports to SSM (served by the AWS front).
EC2_INSTANCES = [("bastion", "online"), ("worker", "none")]


def run_instance(ec2, subnet_id, name, ssm_agent):
    instance = ec2.run_instances(
        ImageId=IMAGE_ID,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet_id,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}
        ],
    )["Instances"][0]
    return {
        "name": name,
        "instance_id": instance["InstanceId"],
        "private_ip": instance["PrivateIpAddress"],
        "private_dns_name": instance["PrivateDnsName"],
        "ssm_agent": ssm_agent,
    }


def instances(moto_url, region, prefix, count):
    rds = client("rds", moto_url, region)
    width = len(str(count))
    names = [f"{prefix}-{index:0{width}d}" for index in range(1, count + 1)]
    for name in names:
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            Engine="postgres",
            EngineVersion="15.4",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="sandbox-admin-pass",
        )
    return {"db_instances": names}


def main(argv):
    if argv[1] == "seed":
        result = seed(argv[2])
    elif argv[1] == "instances":
        result = instances(argv[2], argv[3], argv[4], int(argv[5]))
    else:
        raise SystemExit(f"unknown command {argv[1]!r}")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


main(sys.argv)
