//! `rds-explorer tunnel` as a user runs it: the real binary on the sandbox profile prints
//! `listening on 127.0.0.1:<port>`, carries a verify-full Postgres session, and on SIGTERM
//! terminates the session and exits 0 — natively, and through the installed plugin (the
//! sandbox's stand-in `session-manager-plugin`, found on `PATH`). And `rds-explorer query
//! --ssm-target` through a native tunnel with IAM auth, as the tunnel issue's acceptance asks.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use rds_sandbox::DEFAULT_PG_HOST_NAME;
use tokio::io::{AsyncBufReadExt as _, BufReader};

use rds_explorer::aws::profiles::AwsFiles;

use crate::tunnel::{Env, bounded};
use crate::tunnel_plugin::plugin_dir;
use crate::util::cli;

/// Runs `rds-explorer tunnel … <extra>` with `path` as `PATH`, queries through it, sends SIGTERM
/// and checks the exit status, stdout and that the session was terminated through the API.
async fn tunnel_query_and_sigterm(env: &Env, extra: &[&str], path: OsString) {
    let home = tempfile::tempdir().unwrap();
    let aws = env.sandbox.aws.as_ref().unwrap().info().clone();
    let pg_port = env.pg_port().to_string();
    let files = AwsFiles {
        config: aws.config_file.clone(),
        credentials: aws.credentials_file.clone(),
    };
    let mut child = tokio::process::Command::from(cli(home.path(), &files))
        .args([
            "tunnel",
            "--target",
            &env.target,
            "--host",
            DEFAULT_PG_HOST_NAME,
            "--port",
            &pg_port,
            "--profile",
            &aws.profile,
            "--region",
            &aws.region,
        ])
        .args(extra)
        .env("PATH", path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    bounded(async {
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let Some(line) = lines.next_line().await.unwrap() else {
            let mut stderr = String::new();
            let mut pipe = child.stderr.take().unwrap();
            tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut stderr)
                .await
                .unwrap();
            panic!("the CLI ended without a listening line: {stderr}");
        };
        let port: u16 = line
            .strip_prefix("listening on 127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        let client = env.postgres_at(port).await;
        let row = client
            .query_one("SELECT 'through the CLI'", &[])
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "through the CLI");
        drop(client);

        let pid = child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap()
            .unwrap();
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut stderr)
                .await
                .unwrap();
        }
        assert!(status.success(), "{status:?}: {stderr}");
        assert_eq!(
            lines.next_line().await.unwrap(),
            None,
            "nothing else on stdout"
        );
        let sessions = env.sessions();
        assert_eq!(sessions.len(), 1, "{sessions:?}");
        assert!(sessions[0].terminated, "{sessions:?}");
        assert_eq!(sessions[0].terminate_calls, 1, "{sessions:?}");
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err(),
            "nothing listens on the port any more"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prints_listening_and_exits_0_on_sigterm_after_terminating_the_session() {
    let env = Env::start().await;
    let path = std::env::var_os("PATH").unwrap_or_default();
    tunnel_query_and_sigterm(&env, &[], path).await;
    assert_eq!(env.sessions()[0].terminated_by, ["flag"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_via_plugin_finds_it_on_path_and_terminates_the_session_on_sigterm() {
    let env = Env::start().await;
    let plugins = plugin_dir();
    let mut dirs = vec![plugins.path().to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(dirs).unwrap();
    tunnel_query_and_sigterm(&env, &["--via", "plugin"], path).await;
    let session = &env.sessions()[0];
    // The stand-in sends the flag on SIGINT as the plugin does; the API call is ours.
    assert_eq!(session.terminated_by.len(), 1, "{session:?}");
    assert_eq!(session.connections, 1, "the plugin opened the data channel");
    assert_eq!(session.client_version.as_deref(), Some("1.2.764.0"));
}

/// The acceptance path: `rds-explorer query --ssm-target …` opens a native tunnel through the
/// fake Session Manager, logs in with an IAM token (checked by PAM) over verify-full TLS on the
/// RDS-like name, prints the rows, and terminates the session before it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_through_a_native_tunnel_with_iam_auth_and_verify_full() {
    let env = Env::start().await;
    let home = tempfile::tempdir().unwrap();
    let aws = env.sandbox.aws.as_ref().unwrap().info().clone();
    let pg = env.sandbox.pg.as_ref().unwrap();
    let iam = pg.iam().unwrap().clone();
    let info = pg.info().clone();
    let files = AwsFiles {
        config: aws.config_file.clone(),
        credentials: aws.credentials_file.clone(),
    };
    let output = bounded(
        tokio::process::Command::from(cli(home.path(), &files))
            .args([
                "query",
                "--ssm-target",
                &env.target,
                "--host",
                DEFAULT_PG_HOST_NAME,
                "--port",
                &info.port.to_string(),
                "--user",
                &iam.user,
                "--dbname",
                &info.database,
                "--auth",
                "iam",
                "--profile",
                &aws.profile,
                "--region",
                &aws.region,
                "--ca-file",
                &info.ca_file.display().to_string(),
                "-c",
                "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid(); \
                 SELECT count(*) FROM generate_series(1, 100000)",
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{}|t\n100000\n", iam.user),
        "{stderr}"
    );
    let sessions = env.sessions();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session = &sessions[0];
    assert_eq!(session.target, env.target);
    assert_eq!(
        session.document_name,
        "AWS-StartPortForwardingSessionToRemoteHost"
    );
    assert_eq!(session.parameters["host"], [DEFAULT_PG_HOST_NAME]);
    assert!(session.terminated, "{session:?}");
    assert_eq!(session.terminate_calls, 1, "{session:?}");
    // Nothing is left for a later start to clean up.
    let paths = rds_explorer::store::Paths::under(&home.path().join("rds-explorer"));
    assert!(rds_explorer::store::load_tunnel_sessions(&paths.tunnel_sessions_file()).is_empty());
}
