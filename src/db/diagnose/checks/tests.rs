use std::time::{Duration, SystemTime};

use super::*;
use crate::aws::error::AwsErrorKind;
use crate::aws::inventory::{DbInstance, DbProxy};

const HOST: &str = "sandboxdb.abc.us-east-1.rds.amazonaws.com";

fn signed_at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_hours(479_086)
}

fn facts() -> TokenFacts {
    TokenFacts {
        host: HOST.into(),
        port: 5432,
        user: "iam_user".into(),
        region: "us-east-1".into(),
        service: "rds-db".into(),
        signed_at: signed_at(),
        expires_in: Duration::from_mins(15),
        access_key_tail: "E01".into(),
        has_session_token: false,
    }
}

fn instance() -> DbResource {
    DbResource::Instance(DbInstance {
        id: "sandboxdb".into(),
        region: "us-east-1".into(),
        endpoint: Some(HOST.into()),
        port: Some(5432),
        iam_auth_enabled: true,
        dbi_resource_id: "db-ABC".into(),
        ..DbInstance::default()
    })
}

#[test]
fn token_age_names_an_expired_token_and_uses_aws_s_clock() {
    let after = |mins| signed_at() + Duration::from_mins(mins);
    let expired = token_age(&facts(), after(20), Some(0));
    assert_eq!(expired.status, CheckStatus::Fail);
    assert!(expired.detail.contains("expired"), "{}", expired.detail);
    assert!(expired.detail.contains("20 min"), "{}", expired.detail);
    assert!(expired.next_step.unwrap().contains("fresh token"));

    let fresh = token_age(&facts(), after(14), None);
    assert_eq!(fresh.status, CheckStatus::Pass);
    assert!(fresh.detail.contains("this computer's clock"));

    // 14 minutes by the local clock, but the local clock is 10 minutes behind AWS.
    let behind = token_age(&facts(), after(14), Some(-600));
    assert_eq!(behind.status, CheckStatus::Fail, "{}", behind.detail);
    assert!(behind.detail.contains("24 min"), "{}", behind.detail);

    // Dated in the future: this computer's clock is ahead of AWS.
    let future = token_age(&facts(), signed_at() - Duration::from_mins(10), Some(0));
    assert_eq!(future.status, CheckStatus::Fail);
    assert!(future.detail.contains("in the future"), "{}", future.detail);
    let slightly = token_age(&facts(), signed_at() - Duration::from_secs(30), Some(0));
    assert_eq!(slightly.status, CheckStatus::Pass);
}

#[test]
fn endpoint_mismatches_name_what_was_signed() {
    let pass = token_endpoint(&facts(), HOST, 5432, 15432, Some(&instance()));
    assert_eq!(pass.status, CheckStatus::Pass, "{}", pass.detail);

    let mut tunnel = facts();
    tunnel.host = "127.0.0.1".into();
    tunnel.port = 15432;
    let check = token_endpoint(&tunnel, HOST, 5432, 15432, None);
    assert_eq!(check.status, CheckStatus::Fail);
    assert!(check.detail.contains("127.0.0.1:15432"), "{}", check.detail);
    assert!(check.next_step.unwrap().contains(&format!("{HOST}:5432")));

    let mut other_host = facts();
    other_host.host = "otherdb.abc.us-east-1.rds.amazonaws.com".into();
    let check = token_endpoint(&other_host, HOST, 5432, 5432, None);
    assert_eq!(check.status, CheckStatus::Fail);
    assert!(check.detail.contains("otherdb."), "{}", check.detail);

    let mut local_port = facts();
    local_port.port = 15432;
    let check = token_endpoint(&local_port, HOST, 5432, 15432, None);
    assert!(
        check.detail.contains("tunnel's local port"),
        "{}",
        check.detail
    );
    let check = token_endpoint(&local_port, HOST, 5432, 5432, None);
    assert!(check.detail.contains("listens on 5432"), "{}", check.detail);

    // Signed and connected consistently, but not an endpoint of the selected instance.
    let mut alias = facts();
    alias.host = "db.corp.example".into();
    let check = token_endpoint(&alias, "db.corp.example", 5432, 5432, Some(&instance()));
    assert_eq!(check.status, CheckStatus::Warn);
    assert!(check.next_step.unwrap().contains(HOST));
}

#[test]
fn region_and_user_mismatches_are_failures() {
    assert_eq!(token_region(&facts(), HOST, None).status, CheckStatus::Pass);
    let mut eu = facts();
    eu.region = "eu-west-1".into();
    let check = token_region(&eu, HOST, Some(&instance()));
    assert_eq!(check.status, CheckStatus::Fail);
    assert!(
        check
            .detail
            .contains("signed for eu-west-1 but the database is in us-east-1"),
        "{}",
        check.detail
    );
    let east = token_region(&facts(), "db.abc.eu-central-1.rds.amazonaws.com", None);
    assert!(
        east.detail.contains("falls back to us-east-1"),
        "{}",
        east.detail
    );
    assert_eq!(
        token_region(&facts(), "10.0.0.5", None).status,
        CheckStatus::Warn
    );
    let mut s3 = facts();
    s3.service = "s3".into();
    assert_eq!(token_region(&s3, HOST, None).status, CheckStatus::Fail);

    assert_eq!(token_user(&facts(), "iam_user").status, CheckStatus::Pass);
    let case = token_user(&facts(), "IAM_user");
    assert_eq!(case.status, CheckStatus::Fail);
    assert!(case.detail.contains("case-sensitive"));
    assert!(!token_user(&facts(), "app").detail.contains("case"));
}

#[test]
fn identity_clock_and_resource_checks() {
    let identity = Identity {
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/moto".into(),
        user_id: "x".into(),
        clock_skew_secs: Some(-3),
    };
    assert_eq!(clock_skew(Ok(&identity)).status, CheckStatus::Pass);
    let skewed = Identity {
        clock_skew_secs: Some(600),
        ..identity.clone()
    };
    let check = clock_skew(Ok(&skewed));
    assert_eq!(check.status, CheckStatus::Fail);
    assert!(check.detail.contains("600 s ahead of AWS"));
    assert!(caller_identity(Ok(&identity)).detail.contains("user/moto"));

    let expired = AwsCallError {
        api: "sts:GetCallerIdentity".into(),
        region: "us-east-1".into(),
        kind: AwsErrorKind::SsoSignInNeeded,
        message: "expired".into(),
    };
    let check = caller_identity(Err(&expired));
    assert_eq!(check.status, CheckStatus::Fail);
    assert!(check.next_step.unwrap().contains("Sign in"));
    assert_eq!(clock_skew(Err(&expired)).status, CheckStatus::Skipped);

    assert_eq!(iam_auth_enabled(Ok(&instance())).status, CheckStatus::Pass);
    let DbResource::Instance(mut off) = instance() else {
        unreachable!()
    };
    off.iam_auth_enabled = false;
    let check = iam_auth_enabled(Ok(&DbResource::Instance(off)));
    assert_eq!(check.status, CheckStatus::Fail);
    assert!(check.detail.contains("off on DB instance sandboxdb"));
    let proxy = DbResource::Proxy(DbProxy {
        name: "px".into(),
        ..DbProxy::default()
    });
    assert_eq!(iam_auth_enabled(Ok(&proxy)).status, CheckStatus::Fail);
    assert_eq!(
        iam_auth_enabled(Err("not checked: denied")).status,
        CheckStatus::Skipped
    );
}
