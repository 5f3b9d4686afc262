//! The sandbox's TLS PostgreSQL, reached the way a tunnel reaches RDS: the socket goes to
//! 127.0.0.1, the certificate is checked against the RDS-like DNS name (verify-full).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use rds_explorer::db::connect::{ConnectParams, Endpoint, connect};
use rds_explorer::db::tls::{TrustConfig, client_config};
use rds_sandbox::{PgCluster, PgClusterOptions};

fn params(cluster: &PgCluster, host: &str) -> ConnectParams {
    let info = cluster.info();
    ConnectParams {
        endpoint: Endpoint {
            host: host.to_owned(),
            hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            port: info.port,
        },
        database: info.database.clone(),
        user: info.app_user.clone(),
        password: info.app_password.as_str().into(),
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn verify_full_to_the_rds_like_name_via_hostaddr_and_wrong_names_or_cas_are_refused() {
    let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
    let info = cluster.info().clone();
    let trust = client_config(&TrustConfig {
        extra_ca_file: Some(info.ca_file.clone()),
        ..TrustConfig::default()
    })
    .unwrap();

    let client = connect(&params(&cluster, &info.host_name), trust.clone())
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT current_user::text, ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "app");
    assert!(row.get::<_, bool>(1), "the session is encrypted");
    assert!(
        row.get::<_, String>(2).starts_with("TLSv1."),
        "{:?}",
        row.get::<_, String>(2)
    );

    // Same socket, same CA, but a name the certificate does not carry: refused.
    let wrong = "otherdb.c0ffee123456.eu-west-1.rds.amazonaws.com";
    let error = connect(&params(&cluster, wrong), trust).await.unwrap_err();
    let user_error = error.to_user_error();
    assert!(user_error.message.contains("certificate"), "{user_error}");
    assert!(user_error.next_step.contains(wrong), "{user_error}");

    // Right name, but without the sandbox CA (public roots only): refused too.
    let public_only = client_config(&TrustConfig::default()).unwrap();
    let error = connect(&params(&cluster, &info.host_name), public_only)
        .await
        .unwrap_err();
    assert!(
        error.to_user_error().message.contains("UnknownIssuer"),
        "{}",
        error.to_user_error()
    );
}
