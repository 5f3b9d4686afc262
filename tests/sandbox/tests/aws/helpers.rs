//! Running boto3 scripts against a sandbox, and process probes.

use std::path::Path;
use std::process::{Command, Stdio};

use rds_sandbox::{AwsInfo, AwsOptions, AwsSandbox, DeviceApproval};
use serde_json::Value;

/// Put before every script: a boto3 session on the sandbox profile (no retries: a failure shows
/// at once), `control()` for `/sandbox/…`, `error_of()` to catch a `ClientError`, and `out`,
/// printed as JSON at the end.
pub const PRELUDE: &str = r#"
import json, os, urllib.error, urllib.request
import boto3, botocore
from botocore.config import Config
session = boto3.Session(profile_name="sandbox")
def client(name, **kwargs):
    return session.client(name, config=Config(retries={"max_attempts": 1, "mode": "standard"}), **kwargs)
def control(path, body=None):
    request = urllib.request.Request(os.environ["SANDBOX_ENDPOINT"] + path, data=json.dumps(body or {}).encode(), method="POST")
    try:
        with urllib.request.urlopen(request) as answer:
            return [answer.status, json.load(answer)]
    except urllib.error.HTTPError as error:
        return [error.code, json.load(error)]
def error_of(call):
    try:
        call()
    except botocore.exceptions.ClientError as error:
        return [error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"], error.response["Error"].get("Message", "")]
    return None
out = {}
"#;

/// Runs `script` (after [`PRELUDE`]) with the venv's Python and only the sandbox's AWS files,
/// and returns its `out`.
pub fn boto3(aws: &AwsInfo, script: &str) -> Value {
    let venv = AwsOptions::default().venv;
    let output = Command::new(venv.join("bin/python"))
        .arg("-I")
        .arg("-c")
        .arg(format!(
            "{PRELUDE}{script}\nprint(json.dumps(out, default=str))\n"
        ))
        .env_clear()
        .env("HOME", &aws.dir)
        .env("AWS_CONFIG_FILE", &aws.config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", &aws.credentials_file)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("SANDBOX_ENDPOINT", &aws.endpoint_url)
        .env(
            "SUBNET",
            aws.seeded.subnet_ids.first().map_or("", String::as_str),
        )
        .env("SECURITY_GROUP", &aws.seeded.security_group_id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "boto3 script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

pub fn start(device_approval: DeviceApproval) -> AwsSandbox {
    AwsSandbox::start(&AwsOptions {
        device_approval,
        sandboxdb_port: 15432,
        ..AwsOptions::default()
    })
    .unwrap()
}

/// Whether process `pid` is still a running `moto_server` (not gone, reused or a zombie).
pub fn moto_running(pid: u64) -> bool {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
    let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
    let state = stat
        .rsplit(") ")
        .next()
        .and_then(|rest| rest.chars().next());
    String::from_utf8_lossy(&cmdline).contains("moto_server") && state.is_some_and(|s| s != 'Z')
}

pub fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}
