//! End-to-end tests of the sandbox against real PostgreSQL 15 binaries: TLS with the real `psql`,
//! cleanup on drop, cleanup by the guardian after SIGKILL, and clusters side by side.
//!
//! Each test starts its own clusters, so they run in parallel, as threads or as processes.

mod common;

use std::io;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{port_accepts, sandbox_up, wait_until};
use rds_sandbox::{PgCluster, PgClusterOptions, PgInfo};

/// Runs the real `psql` over TCP and TLS with the given host name and `sslmode`.
fn tls_psql(info: &PgInfo, host_name: &str, sslmode: &str, sql: &str) -> io::Result<Output> {
    let conninfo = format!(
        "host={host_name} hostaddr={} port={} sslmode={sslmode} sslrootcert={} user={} dbname={} \
         connect_timeout=10",
        info.hostaddr,
        info.port,
        info.ca_file.display(),
        info.app_user,
        info.database,
    );
    Command::new("psql")
        .args(["-X", "-A", "-t", "-c", sql])
        .arg(conninfo)
        .env("PGPASSWORD", &info.app_password)
        .stdin(Stdio::null())
        .output()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

#[test]
fn psql_over_socket_and_tls_verify_full() {
    let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
    let info = cluster.info();
    assert_eq!(cluster.psql("select 1").unwrap().trim(), "1");
    assert!(
        cluster
            .psql("select no_such_column")
            .is_err_and(|err| { format!("{err:#}").contains("no_such_column") })
    );

    let ok = tls_psql(info, &info.host_name, "verify-full", "select current_user").unwrap();
    assert!(ok.status.success(), "psql failed: {}", text(&ok.stderr));
    assert_eq!(text(&ok.stdout), "app");

    // The wildcard the AWS mock's instance endpoints match.
    let wildcard = tls_psql(
        info,
        "pg-one.aaaaaaaaaa.us-east-1.rds.amazonaws.com",
        "verify-full",
        "select 1",
    )
    .unwrap();
    assert!(wildcard.status.success(), "{}", text(&wildcard.stderr));

    let wrong = tls_psql(info, "wrong.example.com", "verify-full", "select 1").unwrap();
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("does not match host name"),
        "{}",
        text(&wrong.stderr)
    );

    // TLS only: no pg_hba line accepts a plain TCP connection.
    let plain = tls_psql(info, &info.host_name, "disable", "select 1").unwrap();
    assert!(!plain.status.success());
    assert!(
        text(&plain.stderr).contains("no encryption"),
        "{}",
        text(&plain.stderr)
    );
    cluster.stop().unwrap();
}

#[test]
fn drop_stops_the_server_and_deletes_the_directory() {
    let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
    let data_dir = cluster.info().data_dir.clone();
    let cluster_dir = data_dir.parent().unwrap().to_owned();
    let port = cluster.info().port;
    assert!(data_dir.join("postmaster.pid").is_file());
    assert!(port_accepts(port));

    drop(cluster);
    assert!(
        !cluster_dir.exists(),
        "{} still exists",
        cluster_dir.display()
    );
    assert!(!port_accepts(port), "something still listens on {port}");
}

#[test]
fn guardian_cleans_up_after_sigkill() {
    let (mut child, info) = sandbox_up(&["--only", "pg"], Duration::from_mins(2)).unwrap();
    assert!(
        info.get("aws").is_none(),
        "--only pg started AWS too: {info}"
    );
    let data_dir = Path::new(info["pg"]["data_dir"].as_str().unwrap()).to_owned();
    let cluster_dir = data_dir.parent().unwrap().to_owned();
    let port = u16::try_from(info["pg"]["port"].as_u64().unwrap()).unwrap();
    assert!(data_dir.join("postmaster.pid").is_file());
    assert!(port_accepts(port));

    // Child::kill sends SIGKILL: no Drop, no signal handler, only the guardian can clean up.
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    let cleaned = wait_until(Duration::from_secs(15), || {
        !cluster_dir.exists() && !port_accepts(port)
    });
    assert!(
        cleaned,
        "after 15 s: {} exists: {}, port {port} open: {}",
        cluster_dir.display(),
        cluster_dir.exists(),
        port_accepts(port)
    );
}

#[test]
fn two_clusters_at_once_get_different_ports() {
    let options = PgClusterOptions::default();
    let (first, second) = std::thread::scope(|scope| {
        let first = std::thread::Builder::new()
            .name("start-first".to_owned())
            .spawn_scoped(scope, || PgCluster::start(&options))
            .unwrap();
        let second = PgCluster::start(&options);
        (first.join().unwrap().unwrap(), second.unwrap())
    });
    assert_ne!(first.info().port, second.info().port);
    assert_ne!(first.info().data_dir, second.info().data_dir);
    assert_eq!(first.psql("select 1").unwrap().trim(), "1");
    assert_eq!(second.psql("select 2").unwrap().trim(), "2");
    first.stop().unwrap();
    second.stop().unwrap();
}

#[test]
fn panic_while_running_still_cleans_up() {
    let (info_sender, info_receiver) = mpsc::sync_channel(1);
    let panicking = std::thread::Builder::new()
        .name("panics-with-cluster".to_owned())
        .spawn(move || {
            let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
            info_sender.send(cluster.info().clone()).unwrap();
            panic!("deliberate panic with a running cluster");
        })
        .unwrap();
    assert!(panicking.join().is_err());
    let info = info_receiver.recv().unwrap();
    assert!(!info.data_dir.parent().unwrap().exists());
    assert!(!port_accepts(info.port));
}

#[test]
fn start_failure_names_the_tool() {
    let options = PgClusterOptions {
        pg_bin: "/nonexistent/pg/bin".into(),
        ..PgClusterOptions::default()
    };
    let Err(err) = PgCluster::start(&options) else {
        panic!("started without PostgreSQL binaries");
    };
    let message = format!("{err:#}");
    assert!(message.contains("/nonexistent/pg/bin/initdb"), "{message}");
}
