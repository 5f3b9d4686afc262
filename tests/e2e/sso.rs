//! SSO sign-in against the sandbox's Identity Center fake, through the real binary with an
//! isolated HOME (the token cache lives in `$HOME/.aws/sso/cache`, shared with the AWS CLI).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rds_sandbox::{AwsOptions, AwsSandbox};

use crate::util::TestHome;

fn command(home: &TestHome, aws: &AwsSandbox, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rds-explorer"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", &aws.info().config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", &aws.info().credentials_file)
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

fn inventory(home: &TestHome, aws: &AwsSandbox) -> (Output, serde_json::Value) {
    let output = command(
        home,
        aws,
        &["inventory", "--profile", "sandbox-sso", "--format", "json"],
    )
    .output()
    .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_default();
    (output, json)
}

/// Kills the child if the test fails before it exits.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn expired_sso_session_signs_in_with_the_device_flow_and_the_inventory_loads() {
    let aws = AwsSandbox::start(&AwsOptions::default()).unwrap();
    let home = TestHome::new();

    let (output, json) = inventory(&home, &aws);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let kinds: Vec<&str> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|kind| *kind == "sso_sign_in_needed"),
        "{json}"
    );
    assert_eq!(json["instances"], serde_json::json!([]));

    let mut login = Reap(
        command(&home, &aws, &["sso-login", "--profile", "sandbox-sso"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(login.0.stdout.take().unwrap()).lines();
    let intro = lines.next().unwrap().unwrap();
    assert!(intro.contains("open http://127.0.0.1:"), "{intro}");
    let code_line = lines.next().unwrap().unwrap();
    let user_code = code_line.rsplit(' ').next().unwrap().to_owned();
    aws.approve(&user_code).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = login.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "sso-login did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    let done = lines.next().unwrap().unwrap();
    assert!(done.starts_with("Signed in. Token cached in"), "{done}");
    let cache = std::fs::read_dir(home.path().join(".aws/sso/cache"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let token: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert_eq!(token["startUrl"], aws.info().sso_start_url.as_str());
    assert!(token["accessToken"].as_str().is_some_and(|t| !t.is_empty()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let (output, json) = inventory(&home, &aws);
    assert!(output.status.success(), "{output:?} {json}");
    assert_eq!(json["instances"].as_array().unwrap().len(), 4);

    // The session ends on the service side: the app is told to sign in again.
    aws.expire_tokens();
    let (output, json) = inventory(&home, &aws);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["kind"] == "sso_sign_in_needed" || e["kind"] == "access_denied"),
        "{json}"
    );
}

#[test]
fn the_window_offers_sign_in_for_an_expired_session_and_shows_the_code() {
    use egui_kittest::kittest::Queryable as _;

    use crate::util::{runtime, settle, start_app_with, step_until};

    let aws = AwsSandbox::start(&AwsOptions::default()).unwrap();
    let home = TestHome::new();
    let files = rds_explorer::aws::profiles::AwsFiles {
        config: aws.info().config_file.clone(),
        credentials: aws.info().credentials_file.clone(),
    };
    rds_explorer::store::Database::open(&home.paths().database_file())
        .unwrap()
        .set_state("last_profile", "sandbox-sso")
        .unwrap();
    let runtime = runtime();
    let mut harness = start_app_with(&home, files, &runtime);
    step_until(&mut harness, "sign-in offered", |h| {
        h.query_by_label("Sign in").is_some()
    });
    harness.get_by_label("SSO session expired");
    harness.get_by_label("Sign in").click();
    step_until(&mut harness, "code shown", |h| {
        h.query_by_label_contains("Confirm this code").is_some()
    });
    // The window's title and the job's row.
    assert_eq!(
        harness.query_all_by_label("Sign in to sandbox-sso").count(),
        2
    );
    harness.get_by_label("Copy code");
    // The job polls until approved; cancelling it closes the window and ends the job.
    harness.get_by_label("Cancel sign-in").click();
    settle(&mut harness);
    assert!(
        harness
            .query_by_label_contains("Confirm this code")
            .is_none()
    );
    step_until(&mut harness, "job cancelled", |h| {
        h.query_by_label("cancelled").is_some()
    });
}
