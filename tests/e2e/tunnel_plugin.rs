//! Plugin mode against the fake Session Manager, with the sandbox's stand-in
//! `session-manager-plugin` (it follows the plugin's command-line contract and speaks the data
//! channel to the fake): found on `PATH`, handed our `StartSession` response, its port read from
//! its output, verify-full Postgres through it, and on close its process group stopped and the
//! session terminated through the API.

use std::path::PathBuf;

use rds_explorer::tunnel::plugin::{PluginOptions, find_plugin_in, open};
use rds_explorer::tunnel::{Remote, TunnelSpec, TunnelState};
use rds_sandbox::DEFAULT_PG_HOST_NAME;

use crate::tunnel::{Env, bounded};

/// The stand-in, built next to `rds-explorer` by `cargo nextest run --workspace`.
fn stub_plugin() -> PathBuf {
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_rds-explorer"))
        .parent()
        .unwrap()
        .to_path_buf();
    let stub = bin_dir.join("session-manager-plugin");
    assert!(
        stub.is_file(),
        "{} is missing: build the workspace (`cargo nextest run --workspace`), which builds the \
         sandbox's stand-in plugin",
        stub.display()
    );
    stub
}

/// A directory holding only a `session-manager-plugin` link to the stand-in, to put on `PATH`.
pub(crate) fn plugin_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(stub_plugin(), dir.path().join("session-manager-plugin")).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_mode_forwards_postgres_and_close_terminates_the_session() {
    let env = Env::start().await;
    let plugins = plugin_dir();
    let found = find_plugin_in(Some(plugins.path().as_os_str().to_owned())).unwrap();
    assert_eq!(found, plugins.path().join("session-manager-plugin"));
    bounded(async {
        let spec = TunnelSpec {
            target: env.target.clone(),
            remote: Remote::Host {
                host: DEFAULT_PG_HOST_NAME.to_owned(),
                port: env.pg_port(),
            },
            local_port: 0,
        };
        let options = PluginOptions {
            plugin_path: Some(found),
            profile: env.sandbox.aws.as_ref().unwrap().info().profile.clone(),
            ..PluginOptions::default()
        };
        let tunnel = open(&env.config, &spec, &options).await.unwrap();
        assert_eq!(tunnel.stats().state, TunnelState::Ready);
        let local_addr = tunnel.local_addr();
        let clients =
            futures_util::future::join_all((0..2).map(|_| env.postgres_at(local_addr.port())))
                .await;
        for client in &clients {
            let row = client
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap();
            assert!(row.get::<_, bool>(0), "TLS inside the plugin's tunnel");
        }
        drop(clients);
        let session = env.sessions()[0].clone();
        assert_eq!(session.session_id, tunnel.session_id());
        assert_eq!(session.connections, 1, "{session:?}");
        assert!(!session.terminated, "{session:?}");

        tunnel.close().await.unwrap();
        let session = env.sessions()[0].clone();
        assert!(session.terminated, "{session:?}");
        assert_eq!(session.terminate_calls, 1, "{session:?}");
        assert!(
            tokio::net::TcpStream::connect(local_addr).await.is_err(),
            "the plugin is gone with its listener"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_cannot_start_leaves_no_session_behind() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("session-manager-plugin");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho\necho 'Cannot perform start session: sandbox says no'\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bounded(async {
        let spec = TunnelSpec {
            target: env.target.clone(),
            remote: Remote::TargetPort(22),
            local_port: 0,
        };
        let options = PluginOptions {
            plugin_path: Some(broken),
            ..PluginOptions::default()
        };
        let error = open(&env.config, &spec, &options).await.unwrap_err();
        assert!(error.to_string().contains("sandbox says no"), "{error}");
        let session = &env.sessions()[0];
        assert!(session.terminated, "{session:?}");
        assert_eq!(session.terminate_calls, 1, "{session:?}");
    })
    .await;
}
