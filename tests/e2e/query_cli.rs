//! `rds-explorer query` end to end against the sandbox TLS PostgreSQL (verify-full on the
//! RDS-like name, socket to 127.0.0.1): `--format text` equals `psql -At` byte for byte over the
//! type-parity table; IAM login through PAM with a profile's credentials; csv/json output;
//! a production-marked saved connection refuses writes; TLS refusals name their cause.

use std::fmt::Write as _;
use std::process::{Command, Output, Stdio};

use rds_sandbox::{PgCluster, PgClusterOptions};

use crate::query_values::{PARITY_QUERY, PARITY_TABLE};
use crate::util::TestHome;

struct Sandbox {
    cluster: PgCluster,
    home: TestHome,
}

impl Sandbox {
    fn start() -> Self {
        let cluster = PgCluster::start(&PgClusterOptions::default()).unwrap();
        let home = TestHome::new();
        let iam = cluster.iam().unwrap();
        home.write(
            ".aws/config",
            &format!("[profile sandbox]\nregion = {}\n", iam.region),
        );
        home.write(
            ".aws/credentials",
            &format!(
                "[sandbox]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                iam.access_key_id, iam.secret_access_key
            ),
        );
        Self { cluster, home }
    }

    /// The flags that reach the cluster as `user`, with its CA.
    fn endpoint_args(&self, user: &str) -> Vec<String> {
        let info = self.cluster.info();
        vec![
            "query".into(),
            "--host".into(),
            info.host_name.clone(),
            "--hostaddr".into(),
            "127.0.0.1".into(),
            "--port".into(),
            info.port.to_string(),
            "--user".into(),
            user.into(),
            "--dbname".into(),
            info.database.clone(),
            "--ca-file".into(),
            info.ca_file.display().to_string(),
        ]
    }

    /// Runs the binary as `app` with its password.
    fn query_as_app(&self, sql: &str, extra: &[&str]) -> Output {
        let mut args = self.endpoint_args(&self.cluster.info().app_user);
        args.extend(["--auth".into(), "password".into(), "-c".into(), sql.into()]);
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        self.run(&args, Some(&self.cluster.info().app_password))
    }

    fn run(&self, args: &[String], password: Option<&str>) -> Output {
        let home = self.home.path();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rds-explorer"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("RDS_EXPLORER_HOME", home.join("rds-explorer"))
            .env("AWS_CONFIG_FILE", home.join(".aws/config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        if let Some(password) = password {
            command.env("PGPASSWORD", password);
        }
        command.output().unwrap()
    }

    fn psql(&self, script: &str) -> String {
        self.cluster
            .psql(&format!("\\c {}\n{script}", self.cluster.info().database))
            .unwrap()
    }
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn text_output_equals_psql_at_for_every_type() {
    let sandbox = Sandbox::start();
    stdout(&sandbox.query_as_app(PARITY_TABLE, &[]));
    let ours = stdout(&sandbox.query_as_app(PARITY_QUERY, &["--format", "text"]));
    let theirs = sandbox.psql(&format!("{PARITY_QUERY};\n"));
    assert!(ours.lines().count() >= 9, "{ours}");
    assert_eq!(ours, theirs);
    // Several statements: each result in turn, as psql 15 prints them.
    let two = stdout(&sandbox.query_as_app("SELECT 1; SELECT 'a', NULL::int", &[]));
    assert_eq!(two, "1\na|\n");
}

#[test]
fn csv_and_json_keep_null_apart_from_empty_and_types_apart_from_text() {
    let sandbox = Sandbox::start();
    let sql = "SELECT 1 AS n, '' AS e, NULL::text AS z, 'a,\"b\"' AS q, true AS b, \
               '{\"k\": [1]}'::jsonb AS j, 'NaN'::float8 AS f";
    let csv = stdout(&sandbox.query_as_app(sql, &["--format", "csv"]));
    assert_eq!(
        csv,
        "n,e,z,q,b,j,f\n1,\"\",,\"a,\"\"b\"\"\",t,\"{\"\"k\"\": [1]}\",NaN\n"
    );
    let json = stdout(&sandbox.query_as_app(sql, &["--format", "json"]));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        value,
        serde_json::json!([{"n": 1, "e": "", "z": null, "q": "a,\"b\"", "b": true, "j": {"k": [1]}, "f": "NaN"}])
    );
    let ndjson = stdout(&sandbox.query_as_app(
        "SELECT g FROM generate_series(1, 3) g",
        &["--format", "ndjson"],
    ));
    assert_eq!(ndjson, "{\"g\":1}\n{\"g\":2}\n{\"g\":3}\n");
}

#[test]
fn a_failed_statement_exits_1_with_the_position() {
    let sandbox = Sandbox::start();
    let output = sandbox.query_as_app("SELECT 1;\nSELECT nosuchcolumn FROM pg_class", &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "1\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nosuchcolumn"), "{stderr}");
    assert!(
        stderr.contains("LINE 2: SELECT nosuchcolumn FROM pg_class\n               ^"),
        "{stderr}"
    );
}

#[test]
fn iam_login_with_the_profiles_credentials_through_pam() {
    let sandbox = Sandbox::start();
    let iam = sandbox.cluster.iam().unwrap();
    let mut args = sandbox.endpoint_args(&iam.user);
    args.extend(
        [
            "--auth",
            "iam",
            "--profile",
            "sandbox",
            "--region",
            &iam.region,
            "-c",
            "SELECT current_user",
        ]
        .map(str::to_owned),
    );
    assert_eq!(stdout(&sandbox.run(&args, None)), format!("{}\n", iam.user));
    // The same user with a password instead of a token: PAM refuses it, and the explanation
    // says it was a password sent to an IAM user.
    let mut args = sandbox.endpoint_args(&iam.user);
    args.extend(["--auth", "password", "-c", "SELECT 1"].map(str::to_owned));
    let output = sandbox.run(&args, Some("not-a-token"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("PAM authentication failed"), "{stderr}");
    assert!(
        !stderr.contains("not-a-token"),
        "the password leaked: {stderr}"
    );
}

#[test]
fn tls_refusals_name_the_cause() {
    let sandbox = Sandbox::start();
    let info = sandbox.cluster.info();
    // Without the sandbox CA: the chain is unknown.
    let mut args = sandbox.endpoint_args(&info.app_user);
    let ca = args.iter().position(|arg| arg == "--ca-file").unwrap();
    args.drain(ca..ca + 2);
    args.extend(["--auth", "password", "-c", "SELECT 1"].map(str::to_owned));
    let output = sandbox.run(&args, Some(&info.app_password));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(
        stderr.contains("certificate") && stderr.contains("trusted") || stderr.contains("issuer"),
        "{stderr}"
    );
    // A name the certificate does not hold.
    let mut args = sandbox.endpoint_args(&info.app_user);
    let host = args.iter().position(|arg| arg == "--host").unwrap();
    args[host + 1] = "other.cluster-abc.us-east-1.rds.amazonaws.com".into();
    args.extend(["--auth", "password", "-c", "SELECT 1"].map(str::to_owned));
    let output = sandbox.run(&args, Some(&info.app_password));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("other.cluster-abc.us-east-1.rds.amazonaws.com"),
        "{stderr}"
    );
}

#[test]
fn a_production_connection_refuses_writes() {
    let sandbox = Sandbox::start();
    let info = sandbox.cluster.info();
    let mut toml = String::new();
    let _ = write!(
        toml,
        "[[connection]]\nname = \"prod\"\nhost = \"{}\"\nport = {}\ndatabase = \"{}\"\nuser = \"{}\"\n\
         production = true\n[connection.auth]\nmode = \"password\"\n",
        info.host_name, info.port, info.database, info.app_user
    );
    sandbox
        .home
        .write("rds-explorer/config/connections.toml", &toml);
    let args: Vec<String> = [
        "query",
        "--connection",
        "prod",
        "--hostaddr",
        "127.0.0.1",
        "--ca-file",
        &info.ca_file.display().to_string(),
        "-c",
        "SHOW default_transaction_read_only; SHOW statement_timeout; CREATE TABLE t (x int)",
    ]
    .map(str::to_owned)
    .to_vec();
    let output = sandbox.run(&args, Some(&info.app_password));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&output.stdout), "on\n30s\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("read-only transaction"), "{stderr}");
}

/// The window's Unlock: a guarded session refuses `CREATE TABLE` until `safety::unlock`, then
/// takes it; the statement timeout stays.
#[tokio::test]
async fn a_guarded_session_accepts_writes_only_after_unlock() {
    use rds_explorer::db::connect::{ConnectParams, Endpoint, connect};
    use rds_explorer::db::safety::{self, Safety};
    use rds_explorer::db::tls::{TrustConfig, client_config};

    let sandbox = Sandbox::start();
    let info = sandbox.cluster.info();
    let tls = client_config(&TrustConfig {
        extra_ca_file: Some(info.ca_file.clone()),
        ..TrustConfig::default()
    })
    .unwrap();
    let params = ConnectParams {
        endpoint: Endpoint {
            host: info.host_name.clone(),
            hostaddr: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            port: info.port,
        },
        database: info.database.clone(),
        user: info.app_user.clone(),
        password: info.app_password.as_str().into(),
        timeout: std::time::Duration::from_secs(10),
    };
    let client = connect(&params, tls).await.unwrap();
    let guard = Safety::for_connection(true, false, std::time::Duration::from_secs(30));
    safety::apply(&client, &guard).await.unwrap();
    let refused = client
        .batch_execute("CREATE TABLE guarded (x int)")
        .await
        .unwrap_err();
    assert!(
        refused
            .as_db_error()
            .is_some_and(|error| error.message().contains("read-only transaction")),
        "{refused}"
    );
    safety::unlock(&client).await.unwrap();
    client
        .batch_execute("CREATE TABLE guarded (x int)")
        .await
        .unwrap();
    let timeout: String = client
        .query_one("SHOW statement_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(timeout, "30s");
}

/// Peak resident memory of a running process so far (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Bytes, lines and a hash of a stream, read in chunks (concatenation-invariant).
fn digest(mut reader: impl std::io::Read) -> (u64, u64, u64) {
    use std::hash::Hasher as _;
    let mut hasher = std::hash::DefaultHasher::new();
    let (mut bytes, mut lines) = (0_u64, 0_u64);
    let mut buffer = vec![0; 1 << 16];
    loop {
        let read = reader.read(&mut buffer).unwrap();
        if read == 0 {
            return (bytes, lines, hasher.finish());
        }
        let chunk = &buffer[..read];
        hasher.write(chunk);
        bytes += read as u64;
        lines += chunk.split(|&byte| byte == b'\n').count() as u64 - 1;
    }
}

/// The CLI path of the 1M-row acceptance test: `rds-explorer query` over TLS streams the
/// 9-column million rows row by row. Its output equals `psql -At`'s byte for byte (hashed), and
/// its peak memory stays a small fraction of the output's size: nothing holds the result.
#[test]
#[expect(
    clippy::print_stdout,
    reason = "the figures are the point; nextest shows them with --no-capture"
)]
fn a_million_rows_stream_through_the_cli_with_bounded_memory() {
    let sandbox = Sandbox::start();
    let mut args = sandbox.endpoint_args(&sandbox.cluster.info().app_user);
    args.extend(
        [
            "--auth",
            "password",
            "-c",
            crate::query_backend::MILLION_ROWS,
        ]
        .map(str::to_owned),
    );
    let home = sandbox.home.path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rds-explorer"))
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("RDS_EXPLORER_HOME", home.join("rds-explorer"))
        .env("PGPASSWORD", &sandbox.cluster.info().app_password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::Builder::new()
        .name("cli-stdout".into())
        .spawn(move || digest(stdout))
        .unwrap();
    let mut peak = 0;
    while !reader.is_finished() {
        peak = peak.max(peak_rss(pid).unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (bytes, lines, hash) = reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(lines, 1_000_000);

    let expected = sandbox.psql(crate::query_backend::MILLION_ROWS);
    let (psql_bytes, psql_lines, psql_hash) = digest(expected.as_bytes());
    assert_eq!((bytes, lines), (psql_bytes, psql_lines));
    assert_eq!(hash, psql_hash, "the output differs from psql -At");

    // The whole output is ~140 MB; the process must not come near holding it.
    println!(
        "1M rows: {} MB of text, peak RSS {} MB",
        bytes >> 20,
        peak >> 20
    );
    assert!(peak > 0, "the process was never sampled");
    assert!(
        peak < 64 << 20,
        "peak RSS {} MiB for {} MiB of output",
        peak >> 20,
        bytes >> 20
    );
}

/// `scripts/bench`'s window-path figures come from `rds-explorer bench window-fetch`: it must
/// connect through the real backend, run the query as a tab does and report every figure.
#[test]
fn the_window_fetch_bench_reports_rows_timings_memory_and_frames() {
    let sandbox = Sandbox::start();
    let mut args = sandbox.endpoint_args(&sandbox.cluster.info().app_user);
    args[0] = "window-fetch".into();
    args.insert(0, "bench".into());
    args.extend(
        [
            "--auth",
            "password",
            "--grid-frames",
            "5",
            "-c",
            "SELECT g, 'row-' || g FROM generate_series(1, 20000) g",
        ]
        .map(str::to_owned),
    );
    let output = sandbox.run(&args, Some(&sandbox.cluster.info().app_password));
    let text = stdout(&output);
    let figure = |name: &str| -> String {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_owned()
    };
    assert_eq!(figure("rows"), "20000");
    let first: f64 = figure("first_rows_ms").parse().unwrap();
    let total: f64 = figure("total_ms").parse().unwrap();
    assert!(first > 0.0 && first <= total, "{text}");
    assert!(figure("peak_rss_growth_bytes").parse::<u64>().is_ok());
    assert_eq!(figure("grid_frame_ms").split(' ').count(), 3, "{text}");
}
