"""Known-answer vectors for RDS IAM auth tokens, from boto3's own `generate_db_auth_token`.

Run with the test venv's Python (boto3 1.44.5 comes with moto there):

    "$RDS_SANDBOX_VENV/bin/python" tests/vectors/rds_token_vectors.py

Prints one JSON object `{"boto3": <version>, "botocore": <version>, "vectors": [...]}`. Each
vector has `name`, `host`, `port`, `region`, `user`, `access_key_id`, `secret_access_key`,
`session_token` (or null), `signing_time` (RFC 3339, UTC) and `token` (what boto3 returned with
its clock frozen at `signing_time`). The end-to-end test `token` compares RDS Explorer's signer and
its `token` command with these byte for byte.

The credentials are made up; nothing here talks to the network. botocore reads the clock through
`botocore.auth.get_current_datetime`, which is replaced for each call.
"""

import datetime
import json
import sys

import boto3
import botocore
import botocore.auth

HOST = "prod-instance.us-east-1.rds.amazonaws.com"
KEYS = {"access_key_id": "akid", "secret_access_key": "secret"}
OTHER_KEYS = {
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
# Session tokens are base64: `+`, `/` and `=` must come out as %2B, %2F, %3D.
SESSION = "FQoGZXIvYXdzE+abc/def=="
LONG_SESSION = (
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+ab/cd=="
    "AiB0xYz+Q1/2w3E4r5T6y7U8i9O0p1A2s3D4f5G6h7J8k9L0==" * 3
)
T0 = "2024-08-26T22:00:00Z"
T1 = "2026-03-01T08:09:10Z"
T2 = "2025-12-31T23:59:59Z"

CASES = [
    # name, host, port, region, user, keys, session token, signing time
    ("reference_a", HOST, 3306, "us-east-1", "peccy", KEYS, None, T0),
    ("reference_b_session", HOST, 5432, "us-east-1", "peccy", KEYS, SESSION, T0),
    ("plus", HOST, 5432, "us-east-1", "a+b", KEYS, None, T0),
    ("space", HOST, 5432, "us-east-1", "a b", KEYS, None, T0),
    ("at_sign", HOST, 5432, "us-east-1", "a@b.com", KEYS, None, T0),
    ("ampersand", HOST, 5432, "us-east-1", "a&b", KEYS, None, T0),
    ("hash", HOST, 5432, "us-east-1", "a#b", KEYS, None, T0),
    ("percent", HOST, 5432, "us-east-1", "a%b", KEYS, None, T0),
    ("slash", HOST, 5432, "us-east-1", "a/b", KEYS, None, T0),
    ("equals", HOST, 5432, "us-east-1", "a=b", KEYS, None, T0),
    ("unicode", HOST, 5432, "us-east-1", "Ünïcødé_用户", KEYS, None, T1),
    ("unreserved", HOST, 5432, "us-east-1", "First.Last-x_y~z", KEYS, None, T1),
    ("everything", HOST, 5432, "us-east-1", "a+b &c#d%e/f=g?h:i;j,k'l\"m", KEYS, None, T1),
    ("tunnel_address", "127.0.0.1", 15432, "us-east-1", "peccy", KEYS, None, T0),
    (
        "china",
        "mydb.c1a2b3c4d5e6.cn-north-1.rds.amazonaws.com.cn",
        5432,
        "cn-north-1",
        "app_reader",
        OTHER_KEYS,
        None,
        T1,
    ),
    (
        "govcloud",
        "mydb.c1a2b3c4d5e6.us-gov-west-1.rds.amazonaws.com",
        5432,
        "us-gov-west-1",
        "app_reader",
        OTHER_KEYS,
        SESSION,
        T1,
    ),
    (
        "eu_aurora_reader_odd_port",
        "orders.cluster-ro-c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com",
        6543,
        "eu-west-1",
        "reporting+ro",
        OTHER_KEYS,
        None,
        T2,
    ),
    (
        "eu_proxy_session",
        "sandbox-proxy.proxy-c1a2b3c4d5e6.eu-central-1.rds.amazonaws.com",
        5432,
        "eu-central-1",
        "svc@corp.example",
        OTHER_KEYS,
        LONG_SESSION,
        T2,
    ),
    (
        "ap_mysql",
        "shop.c1a2b3c4d5e6.ap-southeast-2.rds.amazonaws.com",
        3306,
        "ap-southeast-2",
        "first.last@corp",
        OTHER_KEYS,
        None,
        T1,
    ),
    (
        "ap_northeast_session",
        "db1.c1a2b3c4d5e6.ap-northeast-1.rds.amazonaws.com",
        15432,
        "ap-northeast-1",
        "ユーザー",
        KEYS,
        SESSION,
        T2,
    ),
]


def frozen_clock(rfc3339):
    """botocore wants a naive UTC datetime."""
    moment = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")
    return lambda remove_tzinfo=True: moment


def main():
    vectors = []
    for name, host, port, region, user, keys, session_token, signing_time in CASES:
        session = boto3.Session(
            aws_access_key_id=keys["access_key_id"],
            aws_secret_access_key=keys["secret_access_key"],
            aws_session_token=session_token,
            region_name=region,
        )
        client = session.client("rds")
        botocore.auth.get_current_datetime = frozen_clock(signing_time)
        token = client.generate_db_auth_token(host, port, user, Region=region)
        vectors.append(
            {
                "name": name,
                "host": host,
                "port": port,
                "region": region,
                "user": user,
                "access_key_id": keys["access_key_id"],
                "secret_access_key": keys["secret_access_key"],
                "session_token": session_token,
                "signing_time": signing_time,
                "token": token,
            }
        )
    json.dump(
        {"boto3": boto3.__version__, "botocore": botocore.__version__, "vectors": vectors},
        sys.stdout,
        ensure_ascii=False,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
