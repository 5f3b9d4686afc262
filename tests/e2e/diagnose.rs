//! "PAM authentication failed" diagnosed against the real sandbox: the TLS PostgreSQL whose PAM
//! verifier refuses bad tokens exactly as RDS does, and the sandbox AWS account (moto + front)
//! that answers STS, `DescribeDBInstances` and `SimulatePrincipalPolicy`. Each refused token must be
//! named by the check that explains it, and only by that one.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use rds_explorer::auth::token::{TokenRequest, sign_token};
use rds_explorer::aws::profiles::{AwsFiles, load_profiles};
use rds_explorer::aws::sdk::sdk_config;
use rds_explorer::db::connect::{ConnectParams, Endpoint, connect};
use rds_explorer::db::diagnose::{
    CheckKind, CheckStatus, CredentialKind, Diagnosis, Failure, IamLoginAttempt, diagnose_iam_login,
};
use rds_explorer::db::tls::{TrustConfig, client_config};
use rds_explorer::secret::Secret;
use rds_sandbox::{DEFAULT_PG_HOST_NAME, Sandbox, dbi_resource_id};

/// The sandbox (PostgreSQL + AWS) and a client's view of it.
pub struct Env {
    pub sandbox: Sandbox,
    pub tls: Arc<rustls::ClientConfig>,
    pub config: SdkConfig,
}

impl Env {
    pub async fn start() -> Self {
        let sandbox = Sandbox::up().unwrap();
        let tls = client_config(&TrustConfig {
            extra_ca_file: Some(sandbox.pg.as_ref().unwrap().info().ca_file.clone()),
            ..TrustConfig::default()
        })
        .unwrap();
        let aws = sandbox.aws.as_ref().unwrap().info();
        let files = AwsFiles {
            config: aws.config_file.clone(),
            credentials: aws.credentials_file.clone(),
        };
        let profile = load_profiles(&files)
            .profiles
            .into_iter()
            .find(|profile| profile.name == aws.profile)
            .unwrap();
        let config = sdk_config(&profile, &files, &aws.region).await;
        Self {
            sandbox,
            tls,
            config,
        }
    }

    pub fn port(&self) -> u16 {
        self.sandbox.pg.as_ref().unwrap().info().port
    }

    pub fn params(&self, user: &str, password: Secret) -> ConnectParams {
        let info = self.sandbox.pg.as_ref().unwrap().info();
        ConnectParams {
            endpoint: Endpoint {
                host: DEFAULT_PG_HOST_NAME.to_owned(),
                hostaddr: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                port: info.port,
            },
            database: info.database.clone(),
            user: user.to_owned(),
            password,
            timeout: Duration::from_secs(10),
        }
    }

    /// A token signed with the sandbox profile's keys `signed_ago`.
    fn sign(&self, request: &TokenRequest, signed_ago: Duration) -> Secret {
        let aws = self.sandbox.aws.as_ref().unwrap().info();
        let credentials = Credentials::new(
            &aws.access_key_id,
            &aws.secret_access_key,
            None,
            None,
            "sandbox",
        );
        sign_token(request, &credentials, SystemTime::now() - signed_ago).unwrap()
    }

    fn request(&self, user: &str) -> TokenRequest {
        TokenRequest::new(DEFAULT_PG_HOST_NAME, self.port(), "us-east-1", user)
    }

    /// Logs in with `token`, expects a refusal, and runs the checklist on it.
    async fn refuse_and_diagnose(&self, user: &str, token: Secret) -> (Failure, Diagnosis) {
        let attempted_at = SystemTime::now();
        let params = self.params(user, token.clone());
        let error = connect(&params, Arc::clone(&self.tls)).await.unwrap_err();
        let failure = error.failure();
        assert!(
            failure.wants_iam_checklist(Some(CredentialKind::IamToken)),
            "{failure:?}"
        );
        let attempt = IamLoginAttempt {
            endpoint: params.endpoint.clone(),
            real_port: self.port(),
            user: user.to_owned(),
            token,
            attempted_at,
            resource: None,
        };
        let diagnosis = diagnose_iam_login(&self.config, &attempt, &failure).await;
        (failure, diagnosis)
    }
}

fn status(diagnosis: &Diagnosis, kind: CheckKind) -> (CheckStatus, String) {
    let check = diagnosis
        .check(kind)
        .unwrap_or_else(|| panic!("no {kind:?} check in {diagnosis:#?}"));
    (check.status, check.detail.clone())
}

/// Every check passes but those in `failing`.
fn assert_only_failing(diagnosis: &Diagnosis, failing: &[CheckKind]) {
    for check in &diagnosis.checks {
        let expected = if failing.contains(&check.kind) {
            CheckStatus::Fail
        } else {
            CheckStatus::Pass
        };
        assert_eq!(check.status, expected, "{check:#?}\nin {diagnosis:#?}");
    }
}

#[tokio::test]
async fn issue_5_a_token_signed_20_minutes_ago_is_named_as_expired() {
    let env = Env::start().await;
    let token = env.sign(&env.request("iam_user"), Duration::from_mins(20));
    let (failure, diagnosis) = env.refuse_and_diagnose("iam_user", token).await;
    assert_eq!(failure, Failure::IamTokenRefused);

    assert_only_failing(&diagnosis, &[CheckKind::TokenAge]);
    let (_, age) = status(&diagnosis, CheckKind::TokenAge);
    assert!(age.contains("expired"), "{age}");
    assert!(age.contains("20 min"), "{age}");
    assert!(
        diagnosis.summary().starts_with("Token age: "),
        "{diagnosis:#?}"
    );

    // The rest was really checked against the sandbox account, not skipped.
    let (_, identity) = status(&diagnosis, CheckKind::CallerIdentity);
    assert!(
        identity.contains("arn:aws:iam::123456789012:user/moto"),
        "{identity}"
    );
    let (_, enabled) = status(&diagnosis, CheckKind::IamAuthEnabled);
    assert!(enabled.contains("DB instance sandboxdb"), "{enabled}");
    let (_, policy) = status(&diagnosis, CheckKind::IamPolicy);
    assert!(
        policy.contains(&format!(
            "dbuser:{}/iam_user (by sandboxdb-iam-user)",
            dbi_resource_id("sandboxdb")
        )),
        "{policy}"
    );
    let membership = diagnosis.check(CheckKind::RdsIamMembership).unwrap();
    assert!(membership.sql.as_deref().unwrap().contains("'iam_user'"));
    let printed = format!("{diagnosis:?}");
    assert!(!printed.contains("X-Amz-Signature"), "{printed}");
}

#[tokio::test]
async fn issue_5_tokens_for_another_region_host_or_port_are_named() {
    let env = Env::start().await;
    let port = env.port();
    let signed_for = |change: &dyn Fn(&mut TokenRequest)| {
        let mut request = env.request("iam_user");
        change(&mut request);
        env.sign(&request, Duration::ZERO)
    };

    let token = signed_for(&|r| r.region = "eu-west-1".into());
    let (_, diagnosis) = env.refuse_and_diagnose("iam_user", token).await;
    assert_only_failing(&diagnosis, &[CheckKind::TokenRegion]);
    let (_, region) = status(&diagnosis, CheckKind::TokenRegion);
    assert!(
        region.contains("signed for eu-west-1 but the database is in us-east-1"),
        "{region}"
    );

    // Signed for the socket address, the way a tunnel user gets it wrong.
    let token = signed_for(&|r| r.host = "127.0.0.1".into());
    let (_, diagnosis) = env.refuse_and_diagnose("iam_user", token).await;
    assert_only_failing(&diagnosis, &[CheckKind::TokenEndpoint]);
    let (_, endpoint) = status(&diagnosis, CheckKind::TokenEndpoint);
    assert!(
        endpoint.contains(&format!("signed for 127.0.0.1:{port}, a socket address")),
        "{endpoint}"
    );

    let token = signed_for(&|r| r.host = "otherdb.aaaaaaaaaa.us-east-1.rds.amazonaws.com".into());
    let (_, diagnosis) = env.refuse_and_diagnose("iam_user", token).await;
    assert_only_failing(&diagnosis, &[CheckKind::TokenEndpoint]);
    assert!(
        status(&diagnosis, CheckKind::TokenEndpoint)
            .1
            .contains("otherdb.")
    );

    let token = signed_for(&|r| r.port = port + 1);
    let (_, diagnosis) = env.refuse_and_diagnose("iam_user", token).await;
    assert_only_failing(&diagnosis, &[CheckKind::TokenEndpoint]);
    let (_, endpoint) = status(&diagnosis, CheckKind::TokenEndpoint);
    assert!(
        endpoint.contains(&format!("port {}", port + 1)),
        "{endpoint}"
    );
}

#[tokio::test]
async fn issue_5_a_token_taken_as_a_password_points_at_rds_iam_and_the_policy() {
    let env = Env::start().await;
    let token = env.sign(&env.request("app"), Duration::ZERO);
    let (failure, diagnosis) = env.refuse_and_diagnose("app", token).await;
    assert_eq!(failure, Failure::PasswordRefused);
    assert_only_failing(
        &diagnosis,
        &[CheckKind::IamPolicy, CheckKind::RdsIamMembership],
    );
    let membership = diagnosis.check(CheckKind::RdsIamMembership).unwrap();
    assert!(
        membership
            .next_step
            .as_deref()
            .unwrap()
            .contains("GRANT rds_iam TO \"app\";")
    );
    let (_, policy) = status(&diagnosis, CheckKind::IamPolicy);
    assert!(
        policy.contains("no policy of arn:aws:iam::123456789012:user/moto"),
        "{policy}"
    );

    // The SQL the check hands an admin works on a real server, for an ordinary login.
    let info = env.sandbox.pg.as_ref().unwrap().info().clone();
    let client = connect(
        &env.params(&info.app_user, info.app_password.as_str().into()),
        Arc::clone(&env.tls),
    )
    .await
    .unwrap();
    let rows = client
        .query(membership.sql.as_deref().unwrap(), &[])
        .await
        .unwrap();
    assert!(rows.is_empty(), "app is not an IAM user");
    let iam_sql = rds_explorer::db::diagnose::rds_iam_membership_sql("iam_user");
    let rows = client.query(iam_sql.as_str(), &[]).await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|row| row.get::<_, String>(0))
            .collect::<Vec<_>>(),
        ["iam_user -> rds_iam"]
    );
}

#[tokio::test]
async fn issue_5_the_policy_check_reports_denies_and_a_refused_simulation() {
    let env = Env::start().await;
    // `admin` is explicitly denied by the sandbox user's policy.
    let token = env.sign(&env.request("admin"), Duration::ZERO);
    let (_, diagnosis) = env.refuse_and_diagnose("admin", token).await;
    let (policy_status, policy) = status(&diagnosis, CheckKind::IamPolicy);
    assert_eq!(policy_status, CheckStatus::Fail, "{policy}");
    assert!(policy.contains("explicitly denied"), "{policy}");
    assert!(policy.contains("no-admin-by-iam"), "{policy}");

    // Without iam:SimulatePrincipalPolicy the check is skipped and says what to ask for.
    env.sandbox
        .aws
        .as_ref()
        .unwrap()
        .deny("SimulatePrincipalPolicy");
    let token = env.sign(&env.request("iam_user"), Duration::from_mins(20));
    let (_, diagnosis) = env.refuse_and_diagnose("iam_user", token).await;
    let check = diagnosis.check(CheckKind::IamPolicy).unwrap();
    assert_eq!(check.status, CheckStatus::Skipped, "{check:#?}");
    assert!(
        check
            .detail
            .contains("may not call iam:SimulatePrincipalPolicy")
    );
    assert!(
        check
            .next_step
            .as_deref()
            .unwrap()
            .contains(&dbi_resource_id("sandboxdb"))
    );
    assert_eq!(
        status(&diagnosis, CheckKind::TokenAge).0,
        CheckStatus::Fail,
        "the rest still runs"
    );
}
