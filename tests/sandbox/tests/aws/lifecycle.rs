//! Starting and stopping: drop, SIGKILL of `rds-sandbox up`, both services together, errors.

use std::path::Path;
use std::time::{Duration, Instant};

use rds_sandbox::{AwsOptions, AwsSandbox, DeviceApproval, Sandbox};

use crate::common::{port_accepts, sandbox_up, wait_until};
use crate::helpers::{boto3, moto_running, port_of, start};

#[test]
fn drop_stops_moto_and_the_front() {
    let sandbox = start(DeviceApproval::Manual);
    let info = sandbox.info().clone();
    let (front, moto) = (port_of(&info.endpoint_url), port_of(&info.moto_url));
    assert!(port_accepts(front) && port_accepts(moto));
    assert!(moto_running(u64::from(info.moto_pid)));
    assert!(info.config_file.is_file() && info.credentials_file.is_file());

    drop(sandbox);
    assert!(!port_accepts(front), "the front still listens on {front}");
    assert!(!port_accepts(moto), "moto still listens on {moto}");
    assert!(!moto_running(u64::from(info.moto_pid)));
    assert!(!info.dir.exists(), "{} still exists", info.dir.display());
}

#[test]
fn guardian_stops_moto_after_sigkill() {
    let (mut child, info) = sandbox_up(&["--only", "aws"], Duration::from_mins(1)).unwrap();
    assert!(
        info.get("pg").is_none(),
        "--only aws started Postgres too: {info}"
    );
    let aws = &info["aws"];
    let front = port_of(aws["endpoint_url"].as_str().unwrap());
    let moto = port_of(aws["moto_url"].as_str().unwrap());
    let pid = aws["moto_pid"].as_u64().unwrap();
    let dir = Path::new(aws["dir"].as_str().unwrap()).to_owned();
    assert!(port_accepts(front) && port_accepts(moto) && moto_running(pid));

    // SIGKILL: no Drop, no signal handler; the front dies with the process, moto by the guardian.
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    let cleaned = wait_until(Duration::from_secs(15), || {
        !moto_running(pid) && !port_accepts(moto) && !port_accepts(front) && !dir.exists()
    });
    assert!(
        cleaned,
        "after 15 s: moto running: {}, moto port open: {}, front port open: {}, {} exists: {}",
        moto_running(pid),
        port_accepts(moto),
        port_accepts(front),
        dir.display(),
        dir.exists()
    );
}

#[test]
fn sandbox_up_points_sandboxdb_at_the_postgres_cluster() {
    let started = Instant::now();
    let sandbox = Sandbox::up().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let info = sandbox.info();
    let (pg, aws) = (info.pg.unwrap(), info.aws.unwrap());
    let out = boto3(
        &aws,
        r#"out["sandboxdb"] = client("rds").describe_db_instances(DBInstanceIdentifier="sandboxdb")["DBInstances"][0]["Endpoint"]"#,
    );
    assert_eq!(out["sandboxdb"]["Address"], pg.host_name.as_str());
    assert_eq!(out["sandboxdb"]["Port"], pg.port);
    assert!(seconds < 30.0, "Sandbox::up took {seconds:.1} s");
    sandbox.stop().unwrap();
}

#[test]
fn missing_venv_names_the_install_script() {
    let options = AwsOptions {
        venv: "/nonexistent/venv".into(),
        ..AwsOptions::default()
    };
    let Err(err) = AwsSandbox::start(&options) else {
        panic!("started without a venv");
    };
    let message = format!("{err:#}");
    assert!(message.contains("scripts/install-test-deps"), "{message}");
    assert!(message.contains("/nonexistent/venv"), "{message}");
}
