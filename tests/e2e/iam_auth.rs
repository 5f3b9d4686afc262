//! IAM database authentication end to end, the way RDS does it: our signer's token goes through
//! `crate::db::connect` (verify-full TLS, socket to 127.0.0.1) to the sandbox PostgreSQL, whose
//! `pg_hba.conf` sends `rds_iam` members to PAM, where an independent verifier checks the SigV4
//! signature, endpoint, region, user and expiry.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use rds_explorer::auth::token::{TokenRequest, sign_token};
use rds_explorer::db::connect::{ConnectError, ConnectParams, Endpoint, connect};
use rds_explorer::db::tls::{TrustConfig, client_config};
use rds_explorer::secret::Secret;
use rds_sandbox::{DEFAULT_PG_HOST_NAME, PgCluster, PgClusterOptions, PgIamInfo};

struct Iam {
    cluster: PgCluster,
    tls: Arc<rustls::ClientConfig>,
}

impl Iam {
    fn start() -> Self {
        let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
        let tls = client_config(&TrustConfig {
            extra_ca_file: Some(cluster.info().ca_file.clone()),
            ..TrustConfig::default()
        })
        .unwrap();
        Self { cluster, tls }
    }

    fn iam(&self) -> &PgIamInfo {
        self.cluster.iam().unwrap()
    }

    /// The sandbox credentials the verifier trusts, optionally as a session.
    fn credentials(&self, session_token: Option<&str>) -> Credentials {
        let mut builder = Credentials::builder()
            .access_key_id(&self.iam().access_key_id)
            .secret_access_key(&self.iam().secret_access_key)
            .provider_name("sandbox");
        builder.set_session_token(session_token.map(str::to_owned));
        builder.build()
    }

    /// The request a client of this cluster should sign: its RDS name and real port.
    fn request(&self) -> TokenRequest {
        TokenRequest::new(
            DEFAULT_PG_HOST_NAME,
            self.cluster.info().port,
            &self.iam().region,
            &self.iam().user,
        )
    }

    fn sign(&self, request: &TokenRequest, signed_ago: Duration) -> Secret {
        sign_token(
            request,
            &self.credentials(None),
            SystemTime::now() - signed_ago,
        )
        .unwrap()
    }

    async fn connect(
        &self,
        user: &str,
        password: Secret,
    ) -> Result<tokio_postgres::Client, ConnectError> {
        let params = ConnectParams {
            endpoint: Endpoint {
                host: DEFAULT_PG_HOST_NAME.to_owned(),
                hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: self.cluster.info().port,
            },
            database: self.cluster.info().database.clone(),
            user: user.to_owned(),
            password,
            timeout: Duration::from_secs(10),
        };
        connect(&params, Arc::clone(&self.tls)).await
    }

    /// Connects as `user` and expects the server's own refusal: `(severity, message)`.
    async fn refused(&self, user: &str, password: Secret) -> (String, String) {
        let error = self.connect(user, password).await.unwrap_err();
        let db_error = error
            .source
            .as_db_error()
            .unwrap_or_else(|| panic!("not a server error: {error:?}"));
        (
            db_error.severity().to_owned(),
            db_error.message().to_owned(),
        )
    }
}

#[tokio::test]
async fn iam_login_with_a_fresh_token_succeeds() {
    let sandbox = Iam::start();
    let token = sandbox.sign(&sandbox.request(), Duration::ZERO);
    let client = sandbox.connect("iam_user", token).await.unwrap();
    let row = client
        .query_one(
            "SELECT current_user::text, pg_has_role('rds_iam', 'MEMBER'), ssl \
             FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "iam_user");
    assert!(row.get::<_, bool>(1), "iam_user is an rds_iam member");
    assert!(row.get::<_, bool>(2), "over TLS");

    // Session credentials (SSO, assume-role): the session token is signed and sent along.
    let session = sign_token(
        &sandbox.request(),
        &sandbox.credentials(Some("FQoGZXIvYXdzE+abc/def==")),
        SystemTime::now(),
    )
    .unwrap();
    assert!(session.expose().contains("X-Amz-Security-Token="));
    sandbox.connect("iam_user", session).await.unwrap();

    // Signed a little before its 15 minutes are up: still good.
    let old = sandbox.sign(&sandbox.request(), Duration::from_mins(14));
    sandbox.connect("iam_user", old).await.unwrap();

    // The password user is untouched.
    let info = sandbox.cluster.info();
    sandbox
        .connect(&info.app_user, info.app_password.as_str().into())
        .await
        .unwrap();
}

#[tokio::test]
async fn iam_refuses_stale_or_misdirected_tokens_as_rds_does() {
    let sandbox = Iam::start();
    let iam = sandbox.iam().clone();
    let pam_failed = (
        "FATAL".to_owned(),
        format!("PAM authentication failed for user \"{}\"", iam.user),
    );
    let good = sandbox.request();
    let port = good.port;
    let with = |change: &dyn Fn(&mut TokenRequest)| {
        let mut request = good.clone();
        change(&mut request);
        request
    };
    let cases: Vec<(&str, Secret)> = vec![
        (
            "signed 20 minutes ago",
            sandbox.sign(&good, Duration::from_mins(20)),
        ),
        (
            "for another user",
            sandbox.sign(&with(&|r| r.user = "app".into()), Duration::ZERO),
        ),
        (
            "for another host",
            sandbox.sign(
                &with(&|r| r.host = "otherdb.aaaaaaaaaa.us-east-1.rds.amazonaws.com".into()),
                Duration::ZERO,
            ),
        ),
        (
            "for another port",
            sandbox.sign(&with(&|r| r.port = port + 1), Duration::ZERO),
        ),
        (
            "for the tunnel address",
            sandbox.sign(&with(&|r| r.host = "127.0.0.1".into()), Duration::ZERO),
        ),
        (
            "for another region",
            sandbox.sign(&with(&|r| r.region = "eu-west-1".into()), Duration::ZERO),
        ),
        (
            "with another secret",
            sign_token(
                &good,
                &Credentials::builder()
                    .access_key_id(&iam.access_key_id)
                    .secret_access_key("not-the-sandbox-secret")
                    .provider_name("wrong")
                    .build(),
                SystemTime::now(),
            )
            .unwrap(),
        ),
        ("that is a password", Secret::from("app-pass")),
    ];
    for (what, token) in cases {
        let error = sandbox.connect(&iam.user, token.clone()).await.unwrap_err();
        let db_error = error
            .source
            .as_db_error()
            .unwrap_or_else(|| panic!("{what}: {error:?}"));
        assert_eq!(
            (
                db_error.severity().to_owned(),
                db_error.message().to_owned()
            ),
            pam_failed,
            "a token {what}"
        );
        let shown = error.to_user_error();
        assert!(
            shown.message.contains("PAM authentication failed"),
            "{shown}"
        );
        assert!(shown.next_step.contains("IAM"), "{shown}");
        assert!(!shown.to_string().contains("X-Amz-Signature"), "{shown}");
    }

    // A user outside rds_iam never reaches PAM: a token is just a wrong password for it.
    let app = sandbox.cluster.info().app_user.clone();
    let app_token = sandbox.sign(&with(&|r| r.user.clone_from(&app)), Duration::ZERO);
    assert_eq!(
        sandbox.refused(&app, app_token).await,
        (
            "FATAL".to_owned(),
            format!("password authentication failed for user \"{app}\"")
        )
    );

    // The verifier said why each time, and never wrote a token down.
    let log = std::fs::read_to_string(&iam.verifier_log).unwrap();
    for reason in [
        "expired",
        "signed for user 'app'",
        "signed for otherdb.",
        &format!(":{}, but this server", port + 1),
        "signed for 127.0.0.1",
        "region 'eu-west-1'",
        "signature does not match",
    ] {
        assert!(log.contains(reason), "{reason:?} not in:\n{log}");
    }
    assert!(!log.contains("X-Amz-Signature="), "{log}");
}
