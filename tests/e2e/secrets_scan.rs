//! No token, password or secret value reaches the disk: after IAM, Secrets Manager and keyring
//! connection flows run with logging to a [`TestHome`] (the app's config dir, its SQLite file and
//! its log files), every byte of every file there is searched for each secret value. A planted
//! value proves the scan can fail.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rds_explorer::auth::keyring::Keyring;
use rds_explorer::auth::token::sign_token;
use rds_explorer::aws::secrets::fetch_db_credentials;
use rds_explorer::db::connect::connect;
use rds_explorer::db::diagnose::{IamLoginAttempt, diagnose_iam_login};
use rds_explorer::logging::{self, LogBuffer};
use rds_explorer::secret::Secret;
use rds_explorer::store::Database;
use rds_sandbox::DEFAULT_PG_HOST_NAME;

use crate::diagnose::Env;
use crate::util::TestHome;

/// Where a secret value was found.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub path: PathBuf,
    /// Which of the secrets (by position), never the value itself.
    pub secret_index: usize,
}

/// Every file under `roots` that contains any of `secrets` (raw bytes, so SQLite pages and WAL
/// files count too). Empty secrets are ignored.
pub fn scan(roots: &[&Path], secrets: &[&str]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for root in roots {
        for path in files_under(root) {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for (secret_index, secret) in secrets.iter().enumerate() {
                let needle = secret.as_bytes();
                if !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle) {
                    findings.push(Finding {
                        path: path.clone(),
                        secret_index,
                    });
                }
            }
        }
    }
    findings
}

/// Panics, naming the files (not the values), if any secret is under `roots`.
pub fn assert_no_secrets(roots: &[&Path], secrets: &[&str]) {
    let findings = scan(roots, secrets);
    assert!(
        findings.is_empty(),
        "secret values found on disk: {findings:?}"
    );
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The values to look for in a token: all of it, and its signature alone.
fn token_values(token: &Secret) -> Vec<String> {
    let text = token.expose().clone();
    let signature = text
        .split("X-Amz-Signature=")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    vec![text, signature]
}

#[test]
fn the_scan_finds_a_planted_value_in_a_log_and_in_the_sqlite_file() {
    let home = TestHome::new();
    let paths = home.paths();
    let planted = "planted-Secret-Value-0042";
    std::fs::create_dir_all(paths.log_dir()).unwrap();
    std::fs::write(paths.log_dir().join("rds-explorer.log"), "ok\n").unwrap();
    std::fs::create_dir_all(&paths.data_dir).unwrap();
    let database = Database::open(&paths.database_file()).unwrap();
    database.set_state("harmless", "value").unwrap();
    drop(database);
    assert_no_secrets(&[home.path()], &[planted]);

    std::fs::write(
        paths.log_dir().join("rds-explorer.log"),
        format!("connected with {planted}\n"),
    )
    .unwrap();
    let database = Database::open(&paths.database_file()).unwrap();
    database.set_state("oops", planted).unwrap();
    drop(database);
    let findings = scan(&[home.path()], &["absent", planted]);
    let files: Vec<&PathBuf> = findings.iter().map(|finding| &finding.path).collect();
    assert!(
        files.contains(&&paths.log_dir().join("rds-explorer.log")),
        "{findings:?}"
    );
    assert!(
        files
            .iter()
            .any(|path| path.starts_with(&paths.data_dir)
                && path.to_string_lossy().contains("sqlite3")),
        "{findings:?}"
    );
    assert!(findings.iter().all(|finding| finding.secret_index == 1));
    let failed = std::panic::catch_unwind(|| assert_no_secrets(&[home.path()], &[planted]));
    let message = *failed.unwrap_err().downcast::<String>().unwrap();
    assert!(
        !message.contains(planted),
        "the report names files, not values"
    );
}

#[tokio::test]
async fn issue_5_no_token_password_or_secret_reaches_the_config_sqlite_or_logs() {
    let home = TestHome::new();
    let paths = home.paths();
    let (log_guard, problem) = logging::init(Some(&paths.log_dir()), LogBuffer::new(1000));
    assert_eq!(problem, None);
    let env = Env::start().await;
    let aws = env.sandbox.aws.as_ref().unwrap().info().clone();
    let pg = env.sandbox.pg.as_ref().unwrap().info().clone();
    let mut secrets: Vec<String> = vec![pg.app_password.clone(), aws.secret_access_key.clone()];

    // What the app writes itself: settings (config dir) and the inventory cache (SQLite).
    rds_explorer::store::save_settings(
        &paths.settings_file(),
        &rds_explorer::store::Settings::default(),
    )
    .unwrap();
    std::fs::create_dir_all(&paths.data_dir).unwrap();
    let database = Database::open(&paths.database_file()).unwrap();
    let inventory = rds_explorer::aws::inventory::fetch_databases(&env.config, "us-east-1").await;
    database
        .cache_put(
            "inventory",
            "sandbox",
            &rds_explorer::store::CacheEntry {
                key: "us-east-1".into(),
                fetched_at_secs: inventory.fetched_at_secs,
                data: serde_json::to_string(&inventory).unwrap(),
            },
        )
        .unwrap();
    drop(database);

    // IAM: a good login, then a refused one and its diagnosis, as the backend logs them.
    let credentials = aws_credential_types::Credentials::new(
        &aws.access_key_id,
        &aws.secret_access_key,
        None,
        None,
        "sandbox",
    );
    let request = rds_explorer::auth::token::TokenRequest::new(
        DEFAULT_PG_HOST_NAME,
        env.port(),
        "us-east-1",
        "iam_user",
    );
    let good = sign_token(&request, &credentials, std::time::SystemTime::now()).unwrap();
    secrets.extend(token_values(&good));
    let params = env.params("iam_user", good);
    connect(&params, Arc::clone(&env.tls)).await.unwrap();
    tracing::info!(endpoint = %params.endpoint, ?params, "connected");

    let stale_at = std::time::SystemTime::now() - Duration::from_mins(20);
    let stale = sign_token(&request, &credentials, stale_at).unwrap();
    secrets.extend(token_values(&stale));
    let params = env.params("iam_user", stale.clone());
    let error = connect(&params, Arc::clone(&env.tls)).await.unwrap_err();
    tracing::warn!(error = %error.to_user_error(), ?error, "connect failed");
    let attempt = IamLoginAttempt {
        endpoint: params.endpoint.clone(),
        real_port: env.port(),
        user: "iam_user".into(),
        token: stale,
        attempted_at: std::time::SystemTime::now(),
        resource: None,
    };
    let diagnosis = diagnose_iam_login(&env.config, &attempt, &error.failure()).await;
    tracing::warn!(
        ?attempt,
        ?diagnosis,
        summary = diagnosis.summary(),
        "diagnosis"
    );

    // Secrets Manager: fetch, connect, log what the backend would.
    let app = fetch_db_credentials(&env.config, &aws.seeded.app_secret_arn)
        .await
        .unwrap();
    secrets.push(app.password.expose().clone());
    tracing::info!(?app, "credentials from Secrets Manager");
    connect(
        &env.params(&app.user, app.password.clone()),
        Arc::clone(&env.tls),
    )
    .await
    .unwrap();

    // Keyring: whatever this machine has, the lookup is logged and nothing else is written.
    let keyring = Keyring::open();
    tracing::info!(?keyring, lookup = ?keyring.lookup("sandbox", "app"), "keyring");

    drop(log_guard);
    let log_files: Vec<PathBuf> = files_under(&paths.log_dir());
    assert!(
        !log_files.is_empty(),
        "the flows above were logged to a file"
    );
    let logged: String = log_files
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
    assert!(logged.contains("PAM authentication failed"), "{logged}");
    assert!(paths.database_file().exists());

    let values: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secrets(&[&paths.config_dir, &paths.data_dir, home.path()], &values);
}
