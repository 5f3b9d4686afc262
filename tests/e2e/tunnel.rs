//! The native SSM tunnel against the sandbox's fake Session Manager (its own codec, acks and an
//! `async_smux` server) forwarding to the sandbox's TLS PostgreSQL: verify-full on the RDS-like
//! name through 127.0.0.1:<tunnel port>, several connections on one session, loss, duplication,
//! reordering, delayed acks, websocket drops, the CLI and SIGTERM, and throughput figures.
//! Everything is on loopback and every test is bounded.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use aws_config::SdkConfig;
use rds_explorer::aws::profiles::{AwsFiles, load_profiles};
use rds_explorer::aws::sdk::sdk_config;
use rds_explorer::db::connect::{ConnectParams, Endpoint, connect};
use rds_explorer::db::tls::{TrustConfig, client_config};
use rds_explorer::tunnel::native::open;
use rds_explorer::tunnel::{Remote, Tunnel, TunnelError, TunnelOptions, TunnelSpec, TunnelState};
use rds_sandbox::{
    DEFAULT_PG_HOST_NAME, Sandbox, SandboxOptions, SsmAgent, SsmFaults, SsmSessionRecord,
};

/// Bound of every test body.
const TEST_BOUND: Duration = Duration::from_secs(90);

/// The sandbox (TLS Postgres + AWS with the fake Session Manager) and an SDK config for it.
pub(crate) struct Env {
    pub(crate) sandbox: Sandbox,
    pub(crate) config: SdkConfig,
    /// An instance whose (fake) SSM agent is online.
    pub(crate) target: String,
}

impl Env {
    pub(crate) async fn start() -> Self {
        let sandbox = tokio::task::spawn_blocking(|| Sandbox::start(&SandboxOptions::default()))
            .await
            .unwrap()
            .unwrap();
        let aws = sandbox.aws.as_ref().unwrap();
        let files = AwsFiles {
            config: aws.info().config_file.clone(),
            credentials: aws.info().credentials_file.clone(),
        };
        let profile = load_profiles(&files)
            .profiles
            .into_iter()
            .find(|profile| profile.name == aws.info().profile)
            .unwrap();
        let config = sdk_config(&profile, &files, &aws.info().region).await;
        let target = online_target(aws.info());
        Self {
            sandbox,
            config,
            target,
        }
    }

    pub(crate) fn pg_port(&self) -> u16 {
        self.sandbox.pg.as_ref().unwrap().info().port
    }

    pub(crate) fn faults(&self, faults: SsmFaults) {
        self.sandbox.aws.as_ref().unwrap().set_ssm_faults(faults);
    }

    pub(crate) fn sessions(&self) -> Vec<SsmSessionRecord> {
        self.sandbox.aws.as_ref().unwrap().ssm_sessions()
    }

    /// A tunnel to the TLS Postgres through the RDS-like name, as a user would open it.
    async fn open_to_postgres(&self) -> Tunnel {
        let spec = TunnelSpec {
            target: self.target.clone(),
            remote: Remote::Host {
                host: DEFAULT_PG_HOST_NAME.to_owned(),
                port: self.pg_port(),
            },
            local_port: 0,
        };
        open(&self.config, &spec, options()).await.unwrap()
    }

    /// A Postgres session through `tunnel`, verify-full against the RDS-like name.
    async fn postgres(&self, tunnel: &Tunnel) -> tokio_postgres::Client {
        self.postgres_at(tunnel.local_addr().port()).await
    }

    /// A Postgres session through 127.0.0.1:`port`, verify-full against the RDS-like name.
    pub(crate) async fn postgres_at(&self, port: u16) -> tokio_postgres::Client {
        let info = self.sandbox.pg.as_ref().unwrap().info();
        let trust = client_config(&TrustConfig {
            extra_ca_file: Some(info.ca_file.clone()),
            ..TrustConfig::default()
        })
        .unwrap();
        let params = ConnectParams {
            endpoint: Endpoint {
                host: DEFAULT_PG_HOST_NAME.to_owned(),
                hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port,
            },
            database: info.database.clone(),
            user: info.app_user.clone(),
            password: info.app_password.as_str().into(),
            timeout: Duration::from_secs(20),
        };
        connect(&params, trust).await.unwrap()
    }
}

/// The seeded instance whose (fake) SSM agent is online.
pub(crate) fn online_target(aws: &rds_sandbox::AwsInfo) -> String {
    aws.seeded
        .ec2_instances
        .iter()
        .find(|instance| instance.ssm_agent == SsmAgent::Online)
        .unwrap()
        .instance_id
        .clone()
}

/// Shorter budgets than a desktop needs, so a broken test fails well inside its bound.
pub(crate) fn options() -> TunnelOptions {
    TunnelOptions {
        reconnect_budget: Duration::from_secs(30),
        handshake_timeout: Duration::from_secs(15),
        ..TunnelOptions::default()
    }
}

pub(crate) async fn bounded<F: Future>(body: F) -> F::Output {
    tokio::time::timeout(TEST_BOUND, body)
        .await
        .unwrap_or_else(|_| panic!("the test ran past its {TEST_BOUND:?} bound"))
}

/// Fetches `rows` rows of 1,000+ bytes each (several MB) and checks every byte.
async fn fetch_and_check(client: &tokio_postgres::Client, rows: i32) {
    let fetched = client
        .query(
            "SELECT i, md5(i::text) || repeat(chr(65 + i % 26), 1000) \
             FROM generate_series(1, $1) AS i ORDER BY i",
            &[&rows],
        )
        .await
        .unwrap();
    assert_eq!(fetched.len(), usize::try_from(rows).unwrap());
    for (index, row) in fetched.iter().enumerate() {
        let i: i32 = row.get(0);
        assert_eq!(i, i32::try_from(index).unwrap() + 1);
        let text: String = row.get(1);
        let letter = char::from(b'A' + u8::try_from(i % 26).unwrap());
        assert_eq!(text.len(), 32 + 1000, "row {i}");
        assert!(text[32..].chars().all(|c| c == letter), "row {i} corrupted");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_postgres_through_the_tunnel_and_connections_share_one_session() {
    let env = Env::start().await;
    bounded(async {
        let tunnel = env.open_to_postgres().await;
        assert_eq!(tunnel.state(), TunnelState::Ready);
        assert_eq!(tunnel.local_addr().ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));

        let clients = futures_util::future::join_all((0..3).map(|_| env.postgres(&tunnel))).await;
        for client in &clients {
            let row = client
                .query_one(
                    "SELECT current_user::text, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap();
            assert_eq!(row.get::<_, String>(0), "app");
            assert!(row.get::<_, bool>(1), "TLS inside the tunnel");
        }
        let rows = clients[0]
            .query("SELECT generate_series(1, 10)", &[])
            .await
            .unwrap();
        assert_eq!(rows.len(), 10);

        let stats = tunnel.stats();
        assert_eq!(stats.total_connections, 3, "{stats:?}");
        assert!(stats.bytes_in > 0 && stats.bytes_out > 0, "{stats:?}");
        assert_eq!(stats.agent_version.as_deref(), Some("3.3.1142.0"));
        let sessions = env.sessions();
        assert_eq!(
            sessions.len(),
            1,
            "one session for every connection: {sessions:?}"
        );
        let session = &sessions[0];
        assert_eq!(
            session.document_name,
            "AWS-StartPortForwardingSessionToRemoteHost"
        );
        assert_eq!(session.parameters["host"], [DEFAULT_PG_HOST_NAME]);
        assert_eq!(
            session.parameters["localPortNumber"],
            [tunnel.local_addr().port().to_string()]
        );
        assert_eq!(session.client_version.as_deref(), Some("1.2.764.0"));
        assert_eq!(session.signed_connections, 1, "SigV4-signed upgrade");

        drop(clients);
        let local_addr = tunnel.local_addr();
        tunnel.close().await.unwrap();
        let session = &env.sessions()[0];
        assert!(session.terminated, "{session:?}");
        assert_eq!(session.terminated_by, ["flag"], "the flag arrives first");
        assert_eq!(session.terminate_calls, 1, "then the API, once");
        assert!(
            tokio::net::TcpStream::connect(local_addr).await.is_err(),
            "the listener is closed"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_duplication_reordering_and_late_acks_keep_megabytes_intact() {
    let env = Env::start().await;
    env.faults(SsmFaults {
        loss_percent: 5,
        duplicate_percent: 5,
        reorder_percent: 5,
        ack_delay_millis: 20,
        seed: 42,
        ..SsmFaults::default()
    });
    bounded(async {
        let tunnel = env.open_to_postgres().await;
        let client = env.postgres(&tunnel).await;
        fetch_and_check(&client, 5000).await;
        // Upstream too: ~300 client messages, so some are lost and must be resent (a query alone
        // is a dozen messages, which a 5 % loss often spares).
        let upload = "x".repeat(300_000);
        let row = client
            .query_one("SELECT length($1::text), md5($1::text)", &[&upload])
            .await
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), 300_000);
        assert_eq!(
            row.get::<_, String>(1),
            "d408ed46ebcc326f9e7c6bb9c77af1cd".to_owned()
        );
        let stats = tunnel.stats();
        assert!(stats.duplicates_received > 0, "{stats:?}");
        assert!(stats.messages_retransmitted > 0, "{stats:?}");
        let session = &env.sessions()[0];
        assert!(session.agent_retransmitted > 0, "{session:?}");
        drop(client);
        tunnel.close().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_drops_mid_transfer_are_survived_by_resuming_the_session() {
    let env = Env::start().await;
    env.faults(SsmFaults {
        drop_every_messages: 1000,
        ..SsmFaults::default()
    });
    bounded(async {
        let tunnel = env.open_to_postgres().await;
        let client = env.postgres(&tunnel).await;
        fetch_and_check(&client, 5000).await;
        let stats = tunnel.stats();
        let session = env.sessions()[0].clone();
        assert!(session.injected_drops >= 3, "{session:?}");
        assert!(session.resume_calls >= 3, "{session:?}");
        assert!(session.connections > session.injected_drops, "{session:?}");
        assert_eq!(session.rejected_connections, 0, "{session:?}");
        assert!(stats.reconnects >= 3, "{stats:?}");
        // The same connection still works after the drops.
        let row = client.query_one("SELECT 41 + 1", &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 42);
        drop(client);
        tunnel.close().await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_target_fails_with_a_next_step_and_leaves_no_session() {
    let env = Env::start().await;
    bounded(async {
        let spec = TunnelSpec {
            target: "i-0000000000000dead".to_owned(),
            remote: Remote::TargetPort(22),
            local_port: 0,
        };
        let error = open(&env.config, &spec, options()).await.unwrap_err();
        assert!(matches!(error, TunnelError::Aws(_)), "{error:?}");
        assert!(error.to_string().contains("TargetNotConnected"), "{error}");
        assert!(error.next_step().contains("SSM agent"), "{error}");
        assert!(env.sessions().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_the_session_elsewhere_ends_the_tunnel_with_the_reason() {
    let env = Env::start().await;
    bounded(async {
        let tunnel = env.open_to_postgres().await;
        let ssm = aws_sdk_ssm::Client::new(&env.config);
        ssm.terminate_session()
            .session_id(tunnel.session_id())
            .send()
            .await
            .unwrap();
        tunnel.closed().await;
        let stats = tunnel.stats();
        assert_eq!(stats.state, TunnelState::Closed);
        assert!(
            stats
                .last_error
                .as_deref()
                .unwrap_or_default()
                .contains("ended"),
            "{stats:?}"
        );
        let error = tunnel.close().await.unwrap_err();
        assert!(
            matches!(error, TunnelError::SessionEnded { .. }),
            "{error:?}"
        );
    })
    .await;
}
