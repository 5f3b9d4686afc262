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

import base64
import hashlib
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
    vpc_id, subnet_ids, security_group_id = network(ec2, rds)
    # Real RDS instances and clusters are always in a DB subnet group, so in a VPC.
    in_vpc = {"DBSubnetGroupName": SUBNET_GROUP, "VpcSecurityGroupIds": [security_group_id]}
    ec2_instances = [run_instance(ec2, subnet_ids[0], *spec) for spec in EC2_INSTANCES]

    line = sys.stdin.readline()
    if not line:
        raise SystemExit("stdin closed before the sandboxdb port came")
    sandboxdb_port = int(line)

    # moto defaults to postgres 9.3.3 / mysql 5.6.21 without EngineVersion: always pass one.
    sandboxdb = rds.create_db_instance(
        DBInstanceIdentifier="sandboxdb",
        Engine="postgres",
        EngineVersion="15.4",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        DBName="app",
        MasterUsername="admin",
        # RDS keeps the master password in a managed secret (MasterUserSecret in the answer).
        ManageMasterUserPassword=True,
        Port=sandboxdb_port,
        EnableIAMDatabaseAuthentication=True,
        Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}],
        **in_vpc,
    )["DBInstance"]
    secrets = secrets_for_sandboxdb(moto_url, region, sandboxdb, sandboxdb_port)
    iam_policies(moto_url, region)
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
        **in_vpc,
    )

    rds.create_db_cluster(
        DBClusterIdentifier="orders",
        Engine="aurora-postgresql",
        EngineVersion="15.4",
        MasterUsername="admin",
        MasterUserPassword="sandbox-admin-pass",
        EnableIAMDatabaseAuthentication=True,
        **in_vpc,
    )
    for name in ("orders-1", "orders-2"):
        # On Aurora IAM auth and the subnet group are cluster settings that instances report;
        # moto keeps them per instance, so say them here too. The security groups it takes from
        # the cluster (and RDS refuses them on a cluster member).
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier="orders",
            DBSubnetGroupName=SUBNET_GROUP,
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
        VpcSecurityGroupIds=[security_group_id],
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
        "db_subnet_group": SUBNET_GROUP,
        "security_group_id": security_group_id,
        "db_instances": ["sandboxdb", "legacy-mysql", "orders-1", "orders-2"],
        "db_clusters": [
            {
                "identifier": "orders",
                "endpoint": cluster["Endpoint"],
                "reader_endpoint": cluster["ReaderEndpoint"],
                # Served by the AWS front, which also fills in each one's host name.
                "custom_endpoints": [
                    {
                        "identifier": "orders-analytics",
                        "custom_endpoint_type": "READER",
                        "static_members": ["orders-2"],
                    }
                ],
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
        **secrets,
    }


# The sandbox PostgreSQL's fixed throwaway logins (rds_sandbox's pg.rs); an end-to-end test
# connects with what the secrets say, so a mismatch fails there.
PG_ADMIN = ("admin", "admin")
PG_APP = ("app", "app-pass")
APP_SECRET_NAME = "sandbox/sandboxdb/app"


def secrets_for_sandboxdb(moto_url, region, sandboxdb, port):
    """Makes the RDS-managed master user secret hold the sandbox PostgreSQL's admin login (moto
    fills it with a password of its own; on AWS it is RDS's), and creates an RDS-format secret
    for the password user `app`."""
    secretsmanager = client("secretsmanager", moto_url, region)
    master_arn = sandboxdb["MasterUserSecret"]["SecretArn"]
    user, password = PG_ADMIN
    secretsmanager.put_secret_value(
        SecretId=master_arn,
        SecretString=json.dumps({"username": user, "password": password}),
    )
    user, password = PG_APP
    app = secretsmanager.create_secret(
        Name=APP_SECRET_NAME,
        Description="RDS Explorer sandbox: the password user of sandboxdb",
        SecretString=json.dumps(
            {
                "engine": "postgres",
                "host": sandboxdb["Endpoint"]["Address"],
                "port": port,
                "username": user,
                "password": password,
                "dbname": "app",
                "dbInstanceIdentifier": "sandboxdb",
            }
        ),
    )
    return {"sandboxdb_master_secret_arn": master_arn, "app_secret_arn": app["ARN"]}


def dbi_resource_id(db_instance_identifier):
    """The DbiResourceId the AWS front reports (ids.rs: `db-` and 26 base32 characters of a
    SHA-256)."""
    digest = hashlib.sha256(f"rds-sandbox/dbi/{db_instance_identifier}".encode()).digest()
    return "db-" + base64.b32encode(digest).decode()[:26]


# The identity every sandbox access key has (moto answers GetCallerIdentity with user/moto).
CALLER_USER = "moto"


def iam_policies(moto_url, region):
    """Gives the caller's IAM user `rds-db:connect` as `iam_user` on sandboxdb (its exact dbuser
    ARN, as an admin would write it) and an explicit deny as `admin` anywhere, for the AWS
    front's SimulatePrincipalPolicy."""
    iam = client("iam", moto_url, region)
    iam.create_user(UserName=CALLER_USER)
    dbuser = f"arn:aws:rds-db:{region}:123456789012:dbuser"
    policies = {
        "sandboxdb-iam-user": {
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": f"{dbuser}:{dbi_resource_id('sandboxdb')}/iam_user",
        },
        "no-admin-by-iam": {
            "Effect": "Deny",
            "Action": "rds-db:*",
            "Resource": f"{dbuser}:*/admin",
        },
    }
    for name, statement in policies.items():
        iam.put_user_policy(
            UserName=CALLER_USER,
            PolicyName=name,
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )


SUBNET_GROUP = "sandbox-subnets"
SECURITY_GROUP = "sandbox-db"


def network(ec2, rds):
    """The default VPC, its default subnets (one per zone, sorted by zone) and the security
    group `sandbox-db` in it; makes sure the DB subnet group `sandbox-subnets` over those subnets
    exists. Reuses what an earlier call made in the region. Also loads moto's RDS backend."""
    subnets = ec2.describe_subnets(
        Filters=[{"Name": "default-for-az", "Values": ["true"]}]
    )["Subnets"]
    subnets.sort(key=lambda subnet: subnet["AvailabilityZone"])
    vpc_id = subnets[0]["VpcId"]
    subnet_ids = [subnet["SubnetId"] for subnet in subnets]
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": [SECURITY_GROUP]},
        ]
    )["SecurityGroups"]
    if groups:
        security_group_id = groups[0]["GroupId"]
    else:
        security_group_id = ec2.create_security_group(
            GroupName=SECURITY_GROUP,
            Description="RDS Explorer sandbox databases",
            VpcId=vpc_id,
        )["GroupId"]
    groups = rds.describe_db_subnet_groups()["DBSubnetGroups"]
    if SUBNET_GROUP not in [group["DBSubnetGroupName"] for group in groups]:
        rds.create_db_subnet_group(
            DBSubnetGroupName=SUBNET_GROUP,
            DBSubnetGroupDescription="RDS Explorer sandbox: the default VPC's default subnets",
            SubnetIds=subnet_ids,
        )
    return vpc_id, subnet_ids, security_group_id


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
    _, _, security_group_id = network(client("ec2", moto_url, region), rds)
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
            DBSubnetGroupName=SUBNET_GROUP,
            VpcSecurityGroupIds=[security_group_id],
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
