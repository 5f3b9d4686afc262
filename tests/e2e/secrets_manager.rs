//! Secrets Manager auth against the sandbox: the `app` login from an RDS-format secret and the
//! `admin` login from sandboxdb's RDS-managed master user secret (found through the inventory)
//! both open real sessions on the TLS PostgreSQL; a denied `GetSecretValue` says what to grant.

use std::sync::Arc;

use rds_explorer::aws::inventory::fetch_databases;
use rds_explorer::aws::secrets::{SecretError, fetch_db_credentials};
use rds_explorer::db::connect::connect;

use crate::diagnose::Env;

#[tokio::test]
async fn issue_5_secrets_manager_credentials_open_a_session() {
    let env = Env::start().await;
    let seeded = env.sandbox.aws.as_ref().unwrap().info().seeded.clone();

    let app = fetch_db_credentials(&env.config, &seeded.app_secret_arn)
        .await
        .unwrap();
    assert_eq!(app.user, "app");
    assert_eq!(app.port, Some(env.port()));
    assert_eq!(app.host.as_deref(), Some(rds_sandbox::DEFAULT_PG_HOST_NAME));
    assert!(!format!("{app:?}").contains("app-pass"));
    let client = connect(&env.params(&app.user, app.password), Arc::clone(&env.tls))
        .await
        .unwrap();
    let row = client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "app");

    // The master user secret, as the connect dialog finds it: from the inventory record.
    let inventory = fetch_databases(&env.config, "us-east-1").await;
    let sandboxdb = inventory
        .instances
        .iter()
        .find(|instance| instance.id == "sandboxdb")
        .unwrap();
    let arn = sandboxdb.master_user_secret_arn.clone().unwrap();
    assert_eq!(arn, seeded.sandboxdb_master_secret_arn);
    let admin = fetch_db_credentials(&env.config, &arn).await.unwrap();
    assert_eq!(admin.user, "admin");
    let client = connect(
        &env.params(&admin.user, admin.password),
        Arc::clone(&env.tls),
    )
    .await
    .unwrap();
    let row = client
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));

    env.sandbox.aws.as_ref().unwrap().deny("GetSecretValue");
    let error = fetch_db_credentials(&env.config, &seeded.app_secret_arn)
        .await
        .unwrap_err();
    assert!(matches!(error, SecretError::Fetch { .. }), "{error:?}");
    let shown = error.to_user_error();
    assert!(
        shown.next_step.contains("secretsmanager:GetSecretValue"),
        "{shown}"
    );
    assert!(shown.next_step.contains(&seeded.app_secret_arn), "{shown}");
}
