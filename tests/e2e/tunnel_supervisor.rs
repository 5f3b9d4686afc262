//! The tunnel supervisor against the fake Session Manager: one tunnel per key shared by every
//! lease, a local port that stays the same across supervisors (runs), closing with
//! `TerminateSession` after the last lease, restarting on the same port after the session is
//! killed elsewhere, status rows with bytes and round-trip time, plugin mode through the
//! stand-in, and terminating the sessions a crashed run left on disk.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use futures_util::future::BoxFuture;
use rds_explorer::store::{Paths, RecordedSession, load_tunnel_sessions, save_tunnel_sessions};
use rds_explorer::tunnel::supervisor::{
    SdkConfigs, SupervisedState, Supervisor, SupervisorOptions, TunnelKey, TunnelStatus, Via,
};
use rds_sandbox::DEFAULT_PG_HOST_NAME;

use crate::tunnel::{Env, bounded, options};

/// Every profile gets the sandbox's configuration.
struct SandboxConfigs(SdkConfig);

impl SdkConfigs for SandboxConfigs {
    fn sdk_config(
        &self,
        _profile: &str,
        _region: &str,
    ) -> BoxFuture<'_, Result<SdkConfig, String>> {
        let config = self.0.clone();
        Box::pin(async move { Ok(config) })
    }
}

fn supervisor(env: &Env, paths: &Paths) -> Supervisor {
    let options = SupervisorOptions {
        tunnel: options(),
        linger: Duration::ZERO,
        first_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        sample_interval: Duration::from_millis(100),
        ..SupervisorOptions::default()
    };
    Supervisor::new(
        paths.clone(),
        Arc::new(SandboxConfigs(env.config.clone())),
        options,
    )
}

fn postgres_key(env: &Env) -> TunnelKey {
    let aws = env.sandbox.aws.as_ref().unwrap().info();
    TunnelKey {
        profile: aws.profile.clone(),
        region: aws.region.clone(),
        target: env.target.clone(),
        remote_host: Some(DEFAULT_PG_HOST_NAME.to_owned()),
        remote_port: env.pg_port(),
    }
}

/// Polls `supervisor`'s snapshot until `done` holds (the test bound catches a hang).
async fn wait_for(
    supervisor: &Supervisor,
    done: impl Fn(&[TunnelStatus]) -> bool,
) -> Vec<TunnelStatus> {
    loop {
        let snapshot = supervisor.snapshot();
        if done(&snapshot) {
            return snapshot;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn select_one(env: &Env, port: u16) {
    let client = env.postgres_at(port).await;
    let row = client.query_one("SELECT 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_share_one_tunnel_whose_port_survives_runs_and_which_closes_after_the_last() {
    let env = Env::start().await;
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::under(home.path());
    bounded(async {
        let first = supervisor(&env, &paths);
        let key = postgres_key(&env);
        let (one, two) = tokio::join!(
            first.ensure(key.clone(), Via::Native),
            first.ensure(key.clone(), Via::Native)
        );
        let (one, two) = (one.unwrap(), two.unwrap());
        assert_eq!(one.local_addr(), two.local_addr());
        assert!(one.local_addr().ip().is_loopback());
        let port = one.local_addr().port();
        assert_eq!(env.sessions().len(), 1, "one session for both leases");
        select_one(&env, port).await;
        select_one(&env, port).await;

        let snapshot = wait_for(&first, |rows| {
            rows.first().is_some_and(|row| row.bytes_in > 0)
        })
        .await;
        let row = &snapshot[0];
        assert_eq!(row.key.as_ref(), Some(&key));
        assert_eq!(
            (row.state, row.via, row.leases),
            (SupervisedState::Ready, Via::Native, 2)
        );
        assert_eq!(
            row.session_id.as_deref(),
            Some(env.sessions()[0].session_id.as_str())
        );
        assert!(
            row.bytes_out > 0 && row.round_trip_time.is_some(),
            "{row:?}"
        );
        let recorded = load_tunnel_sessions(&paths.tunnel_sessions_file());
        assert_eq!(recorded.len(), 1, "the open session is on disk");

        drop(one);
        assert_eq!(
            wait_for(&first, |rows| rows[0].leases == 1).await[0].state,
            SupervisedState::Ready
        );
        drop(two);
        wait_for(&first, <[TunnelStatus]>::is_empty).await;
        let session = &env.sessions()[0];
        assert!(session.terminated, "{session:?}");
        assert_eq!(session.terminate_calls, 1, "{session:?}");
        assert!(load_tunnel_sessions(&paths.tunnel_sessions_file()).is_empty());

        // A later run (a new supervisor on the same files) gets the same port.
        let second = supervisor(&env, &paths);
        let again = second.ensure(key, Via::Native).await.unwrap();
        assert_eq!(again.local_addr().port(), port);
        select_one(&env, port).await;
        drop(again);
        wait_for(&second, <[TunnelStatus]>::is_empty).await;
        assert!(env.sessions().iter().all(|session| session.terminated));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_killed_elsewhere_is_restarted_on_the_same_port() {
    let env = Env::start().await;
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::under(home.path());
    bounded(async {
        let supervisor = supervisor(&env, &paths);
        let lease = supervisor
            .ensure(postgres_key(&env), Via::Native)
            .await
            .unwrap();
        let port = lease.local_addr().port();
        let first_session = env.sessions()[0].session_id.clone();
        aws_sdk_ssm::Client::new(&env.config)
            .terminate_session()
            .session_id(&first_session)
            .send()
            .await
            .unwrap();
        let rows = wait_for(&supervisor, |rows| {
            rows[0].restarts >= 1 && rows[0].state == SupervisedState::Ready
        })
        .await;
        let row = &rows[0];
        assert_ne!(row.session_id.as_deref(), Some(first_session.as_str()));
        assert_eq!(row.local_addr.map(|addr| addr.port()), Some(port));
        assert!(
            row.last_error
                .as_deref()
                .unwrap_or_default()
                .contains("ended"),
            "{row:?}"
        );
        select_one(&env, port).await;
        assert_eq!(env.sessions().len(), 2);
        drop(lease);
        wait_for(&supervisor, <[TunnelStatus]>::is_empty).await;
        assert!(env.sessions().iter().all(|session| session.terminated));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_mode_through_the_supervisor_terminates_on_release() {
    let env = Env::start().await;
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::under(home.path());
    let plugins = crate::tunnel_plugin::plugin_dir();
    bounded(async {
        let supervisor = Supervisor::new(
            paths.clone(),
            Arc::new(SandboxConfigs(env.config.clone())),
            SupervisorOptions {
                linger: Duration::ZERO,
                plugin_path: Some(plugins.path().join("session-manager-plugin")),
                ..SupervisorOptions::default()
            },
        );
        let lease = supervisor
            .ensure(postgres_key(&env), Via::Plugin)
            .await
            .unwrap();
        select_one(&env, lease.local_addr().port()).await;
        assert_eq!(supervisor.snapshot()[0].via, Via::Plugin);
        drop(lease);
        wait_for(&supervisor, <[TunnelStatus]>::is_empty).await;
        let session = &env.sessions()[0];
        assert!(session.terminated, "{session:?}");
        assert_eq!(session.terminate_calls, 1, "{session:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_left_by_a_crashed_run_are_terminated_on_the_next_start() {
    let env = Env::start().await;
    let home = tempfile::tempdir().unwrap();
    let paths = Paths::under(home.path());
    bounded(async {
        let start = || async {
            aws_sdk_ssm::Client::new(&env.config)
                .start_session()
                .target(&env.target)
                .document_name("AWS-StartPortForwardingSession")
                .parameters("portNumber", vec!["22".to_owned()])
                .send()
                .await
                .unwrap()
                .session_id()
                .unwrap()
                .to_owned()
        };
        // A run that started a session and died before closing it, and another process (the CLI
        // or a second window) still running with its own session.
        let crashed = start().await;
        let live = start().await;
        let mut dead_process = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead_process.id();
        dead_process.wait().unwrap();
        let mut live_process = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let aws = env.sandbox.aws.as_ref().unwrap().info();
        let now_secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let record = |session_id: &str, pid: u32| RecordedSession {
            session_id: session_id.to_owned(),
            profile: aws.profile.clone(),
            region: aws.region.clone(),
            started_unix_secs: now_secs,
            pid: Some(pid),
        };
        let live_record = record(&live, live_process.id());
        save_tunnel_sessions(
            &paths.tunnel_sessions_file(),
            &[record(&crashed, dead_pid), live_record.clone()],
        )
        .unwrap();

        let supervisor = supervisor(&env, &paths);
        assert_eq!(
            supervisor.recover_crashed_sessions().await,
            std::slice::from_ref(&crashed)
        );
        let sessions = env.sessions();
        let find = |id: &str| sessions.iter().find(|s| s.session_id == id).unwrap();
        assert!(find(&crashed).terminated, "{sessions:?}");
        assert_eq!(find(&crashed).terminated_by, ["api"]);
        assert!(
            !find(&live).terminated,
            "another live process's session: {sessions:?}"
        );
        assert_eq!(
            load_tunnel_sessions(&paths.tunnel_sessions_file()),
            [live_record]
        );
        live_process.kill().unwrap();
        live_process.wait().unwrap();
    })
    .await;
}
