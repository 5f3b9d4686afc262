//! IAM auth tokens compared byte for byte with boto3: `tests/vectors/rds_token_vectors.py` runs
//! live in the test venv (boto3 with a frozen clock), then our signer and the real
//! `rds-explorer token --signing-time` binary must print exactly the same tokens.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_smithy_types::date_time::{DateTime, Format};
use rds_explorer::auth::endpoint::region_from_host;
use rds_explorer::auth::token::{TokenRequest, sign_token};

use crate::util::TestHome;

/// The script's output.
#[derive(Debug, serde::Deserialize)]
struct Vectors {
    boto3: String,
    vectors: Vec<Vector>,
}

/// One `generate_db_auth_token` call and its result (made-up credentials).
#[derive(Debug, serde::Deserialize)]
struct Vector {
    name: String,
    host: String,
    port: u16,
    region: String,
    user: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    signing_time: String,
    token: String,
}

impl Vector {
    fn credentials(&self) -> Credentials {
        let mut builder = Credentials::builder()
            .access_key_id(&self.access_key_id)
            .secret_access_key(&self.secret_access_key)
            .provider_name("boto3-vector");
        builder.set_session_token(self.session_token.clone());
        builder.build()
    }

    fn signing_time(&self) -> SystemTime {
        SystemTime::try_from(DateTime::from_str(&self.signing_time, Format::DateTime).unwrap())
            .unwrap()
    }

    fn profile(&self) -> String {
        format!("vector-{}", self.name)
    }
}

/// The venv the sandbox uses for moto (it has boto3): `RDS_SANDBOX_VENV` or the cache default.
fn venv_python() -> PathBuf {
    rds_sandbox::AwsOptions::default().venv.join("bin/python")
}

/// Runs the vector script with boto3 isolated from any real AWS configuration; at most 60 s.
fn boto3_vectors() -> Vectors {
    let python = venv_python();
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-test-deps (or set RDS_SANDBOX_VENV)",
        python.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/rds_token_vectors.py");
    let home = TestHome::new();
    // A file, not a pipe: the child never blocks on a full pipe while we poll it.
    let stdout_path = home.path().join("vectors.json");
    let stderr_path = home.path().join("vectors.err");
    let mut child = Command::new(&python)
        .arg(&script)
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            _ = child.kill();
            _ = child.wait();
            panic!("{} took over 60 s", script.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "{} failed ({status}): {}",
        script.display(),
        std::fs::read_to_string(&stderr_path).unwrap()
    );
    let vectors: Vectors =
        serde_json::from_str(&std::fs::read_to_string(&stdout_path).unwrap()).unwrap();
    assert!(
        vectors.vectors.len() >= 12,
        "only {} vectors",
        vectors.vectors.len()
    );
    vectors
}

/// Our signer against every boto3 vector; all mismatches are listed before failing.
#[test]
fn token_signer_matches_boto3_byte_for_byte() {
    let vectors = boto3_vectors();
    let mut mismatches = String::new();
    for vector in &vectors.vectors {
        let request = TokenRequest::new(&vector.host, vector.port, &vector.region, &vector.user);
        let ours = sign_token(&request, &vector.credentials(), vector.signing_time()).unwrap();
        if ours.expose() != &vector.token {
            let _ = writeln!(
                mismatches,
                "{}:\n  boto3 {}\n  ours  {}",
                vector.name,
                vector.token,
                ours.expose()
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "tokens differ from boto3 {}:\n{mismatches}",
        vectors.boto3
    );
}

/// Runs the real binary on an isolated home.
fn rds_explorer(home: &TestHome, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rds-explorer"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("RDS_EXPLORER_HOME", home.path().join("rds-explorer"))
        .env("AWS_CONFIG_FILE", home.path().join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join(".aws/credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `rds-explorer token --signing-time` against every vector, credentials from a profile per
/// vector. The profiles' region is a wrong one: the region must come from `--region` or, when
/// the vector's host is an RDS name, from the host.
#[test]
fn token_cli_matches_boto3_byte_for_byte() {
    let vectors = boto3_vectors();
    let home = TestHome::new();
    let (mut config, mut credentials) = (String::new(), String::new());
    for vector in &vectors.vectors {
        let profile = vector.profile();
        let _ = writeln!(config, "[profile {profile}]\nregion = sa-east-1\n");
        let _ = writeln!(
            credentials,
            "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}",
            vector.access_key_id, vector.secret_access_key
        );
        if let Some(session_token) = &vector.session_token {
            let _ = writeln!(credentials, "aws_session_token = {session_token}");
        }
        credentials.push('\n');
    }
    home.write(".aws/config", &config);
    home.write(".aws/credentials", &credentials);

    let mut from_host = 0;
    for vector in &vectors.vectors {
        let port = vector.port.to_string();
        let profile = vector.profile();
        let mut args = vec![
            "token",
            "--host",
            &vector.host,
            "--port",
            &port,
            "--user",
            &vector.user,
            "--profile",
            &profile,
            "--signing-time",
            &vector.signing_time,
        ];
        if region_from_host(&vector.host).as_deref() == Some(vector.region.as_str()) {
            from_host += 1;
        } else {
            args.extend(["--region", &vector.region]);
        }
        let output = rds_explorer(&home, &args);
        assert!(output.status.success(), "{}: {output:?}", vector.name);
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            format!("{}\n", vector.token),
            "{}",
            vector.name
        );
    }
    assert!(
        from_host >= 5,
        "too few vectors exercise the region from the host name"
    );
}

#[test]
fn token_cli_refuses_missing_region_and_bad_input_with_a_next_step() {
    let home = TestHome::new();
    home.write(".aws/config", "[profile noregion]\n");
    home.write(
        ".aws/credentials",
        "[noregion]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s3cr3t\n",
    );
    let stderr = |args: &[&str]| {
        let output = rds_explorer(&home, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{output:?}");
        let text = String::from_utf8(output.stderr).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        text
    };
    let base = ["token", "--port", "5432", "--profile", "noregion"];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();

    let text = stderr(&with(&["--host", "db.internal.example", "--user", "app"]));
    assert!(text.contains("pass --region"), "{text}");
    let text = stderr(&with(&[
        "--host",
        "db.abc.eu-west-1.rds.amazonaws.com",
        "--user",
        "",
    ]));
    assert!(text.contains("user name is empty"), "{text}");
    let text = stderr(&with(&[
        "--host",
        "https://db.abc.eu-west-1.rds.amazonaws.com",
        "--user",
        "app",
    ]));
    assert!(
        text.contains("scheme") && text.contains("bare DNS name"),
        "{text}"
    );
    let text = stderr(&with(&[
        "--host",
        "db.abc.eu-west-1.rds.amazonaws.com",
        "--user",
        "app",
        "--signing-time",
        "yesterday",
    ]));
    assert!(text.contains("RFC 3339"), "{text}");

    // With everything right, the same profile signs.
    let output = rds_explorer(
        &home,
        &with(&[
            "--host",
            "db.abc.eu-west-1.rds.amazonaws.com",
            "--user",
            "app",
        ]),
    );
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).unwrap();
    assert!(
        token.starts_with("db.abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=app&")
            && token.contains("%2Feu-west-1%2Frds-db%2Faws4_request"),
        "{token}"
    );
}
