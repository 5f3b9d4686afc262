//! Connection failures classified from real errors: the sandbox PostgreSQL without its CA, under a
//! name its certificate does not hold, with TLS switched off, and a port nobody listens on.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use rds_explorer::db::connect::{ConnectError, ConnectParams, Endpoint, connect};
use rds_explorer::db::diagnose::{Failure, FailureContext, NetworkFailure, TlsFailure};
use rds_explorer::db::tls::{TrustConfig, client_config};
use rds_sandbox::{DEFAULT_PG_HOST_NAME, PgCluster, PgClusterOptions};

fn params(cluster: &PgCluster, host: &str, user: &str, password: &str) -> ConnectParams {
    let info = cluster.info();
    ConnectParams {
        endpoint: Endpoint {
            host: host.to_owned(),
            hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: info.port,
        },
        database: info.database.clone(),
        user: user.to_owned(),
        password: password.into(),
        timeout: Duration::from_secs(10),
    }
}

fn app(cluster: &PgCluster, host: &str) -> ConnectParams {
    let info = cluster.info();
    params(cluster, host, &info.app_user, &info.app_password)
}

fn sandbox_trust(cluster: &PgCluster) -> Arc<rustls::ClientConfig> {
    client_config(&TrustConfig {
        extra_ca_file: Some(cluster.info().ca_file.clone()),
        ..TrustConfig::default()
    })
    .unwrap()
}

async fn refused(params: &ConnectParams, tls: Arc<rustls::ClientConfig>) -> ConnectError {
    connect(params, tls).await.unwrap_err()
}

#[tokio::test]
async fn issue_5_tls_failures_name_the_missing_root_the_name_and_a_server_without_tls() {
    let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();

    // The sandbox CA is not an RDS root: for a us-east-1 endpoint the bundle has the region's
    // roots, so the server's certificate is from somewhere else.
    let public_only = client_config(&TrustConfig::default()).unwrap();
    let error = refused(&app(&cluster, DEFAULT_PG_HOST_NAME), public_only).await;
    assert_eq!(error.failure(), Failure::Tls(TlsFailure::UnknownIssuer));
    let shown = error.to_user_error();
    assert!(
        shown.message.contains("signed by a CA that is not trusted"),
        "{shown}"
    );
    assert!(shown.next_step.contains("us-east-1's roots"), "{shown}");
    assert!(shown.next_step.contains("Update CA bundle"), "{shown}");

    // Connected under an alias of our own: the certificate names the endpoint. (The sandbox
    // certificate also holds 127.0.0.1 and localhost, so an alias it is.)
    let alias = "orders-db.corp.example";
    let error = refused(&app(&cluster, alias), sandbox_trust(&cluster)).await;
    let Failure::Tls(TlsFailure::NotValidForName { presented }) = error.failure() else {
        panic!("{:?}", error.failure());
    };
    assert!(
        presented.contains(&DEFAULT_PG_HOST_NAME.to_owned()),
        "{presented:?}"
    );
    let shown = error.to_user_error();
    assert!(shown.message.contains(alias), "{shown}");
    assert!(
        shown.next_step.contains(&format!(
            "use the name it holds, {DEFAULT_PG_HOST_NAME}, as the host"
        )),
        "{shown}"
    );

    // A real server that answers the TLS request with "no".
    let info = cluster.info().clone();
    let admin = connect(
        &params(
            &cluster,
            DEFAULT_PG_HOST_NAME,
            &info.admin_user,
            &info.admin_password,
        ),
        sandbox_trust(&cluster),
    )
    .await
    .unwrap();
    // Two statements: a multi-statement string runs as one transaction, which ALTER SYSTEM
    // refuses.
    admin
        .batch_execute("ALTER SYSTEM SET ssl = off")
        .await
        .unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    let mut failure = None;
    for _ in 0..50 {
        match connect(
            &app(&cluster, DEFAULT_PG_HOST_NAME),
            sandbox_trust(&cluster),
        )
        .await
        {
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let error = failure.expect("the reload turned TLS off within 5 s");
    assert_eq!(error.failure(), Failure::Tls(TlsFailure::ServerWithoutTls));
    let shown = error.to_user_error();
    assert!(shown.message.contains("does not offer TLS"), "{shown}");
    assert!(shown.next_step.contains("tunnel"), "{shown}");
}

#[tokio::test]
async fn issue_5_a_closed_port_is_refused_and_the_hint_names_the_route() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.local_addr().unwrap().port()
    };
    let params = ConnectParams {
        endpoint: Endpoint {
            host: DEFAULT_PG_HOST_NAME.to_owned(),
            hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port,
        },
        database: "app".into(),
        user: "app".into(),
        password: "unused".into(),
        timeout: Duration::from_secs(5),
    };
    let error = refused(&params, client_config(&TrustConfig::default()).unwrap()).await;
    assert_eq!(error.failure(), Failure::Network(NetworkFailure::Refused));
    // Through a tunnel: the tunnel is not running.
    assert!(error.to_user_error().next_step.contains("start the tunnel"));
    // Direct, with the security groups from the inventory.
    let context = FailureContext {
        endpoint: Endpoint {
            hostaddr: None,
            ..params.endpoint.clone()
        },
        security_groups: vec!["sg-0sandbox".into()],
        ..FailureContext::of(&error)
    };
    let shown = Failure::Network(NetworkFailure::TimedOut).explain(&context, "timed out");
    assert!(shown.next_step.contains("sg-0sandbox"), "{shown}");
}
