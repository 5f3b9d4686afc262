//! A throwaway Postgres cluster that accepts TLS connections only, with a server certificate
//! for an RDS-like host name: connect with `hostaddr=127.0.0.1` and `sslmode=verify-full`.
//!
//! Rust port of `shared/scripts/pg-tls-cluster` (without its client-certificate role), with IAM
//! auth the way RDS does it instead of its password stand-in: `rds_iam` members go to PAM, whose
//! verifier checks the token (`iam.rs`); the user `iam_user` is one of them.
//! The whole cluster lives in one temporary directory; [`PgCluster`]'s `Drop` and a guardian
//! process (see `guard.rs`) make sure the server is stopped and the directory deleted.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{Seek as _, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::cluster_dir::ClusterDir;
use crate::iam::{self, IamSetup, PgIamInfo};
use crate::user::ServerUser;
use crate::{DEFAULT_PG_HOST_NAME, certs};

/// Attempts at starting the server, each on a newly picked free port: another process may take
/// the port between our probe and the server's bind.
const START_ATTEMPTS: usize = 5;
/// Lines of `server.log` quoted in a start failure.
const LOG_TAIL_LINES: usize = 20;

/// How to build a [`PgCluster`].
#[derive(Debug, Clone)]
pub struct PgClusterOptions {
    /// DNS name in the server certificate, RDS-like (`<name>.<id>.<region>.rds.amazonaws.com`).
    pub host_name: String,
    /// Directory with `initdb`, `pg_ctl`, `postgres` (and `psql`, else `psql` from `PATH`).
    pub pg_bin: PathBuf,
}

impl Default for PgClusterOptions {
    /// [`DEFAULT_PG_HOST_NAME`]; binaries from `RDS_SANDBOX_PG_BIN`, else Postgres 15's Debian
    /// location.
    fn default() -> Self {
        let pg_bin = std::env::var_os("RDS_SANDBOX_PG_BIN").map_or_else(
            || PathBuf::from("/usr/lib/postgresql/15/bin"),
            PathBuf::from,
        );
        Self {
            host_name: DEFAULT_PG_HOST_NAME.to_owned(),
            pg_bin,
        }
    }
}

/// How to reach a running [`PgCluster`]; printed as JSON by `rds-sandbox up`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PgInfo {
    /// The RDS-like DNS name in the server certificate: the TLS name to verify.
    pub host_name: String,
    /// Where the server really listens (always `127.0.0.1`).
    pub hostaddr: String,
    /// TCP port, also the number in the Unix socket's name.
    pub port: u16,
    /// PEM of the sandbox CA that signed the server certificate.
    pub ca_file: PathBuf,
    /// Superuser with a SCRAM password, TLS only.
    pub admin_user: String,
    /// Password of `admin_user` (a fixed throwaway value).
    pub admin_password: String,
    /// Ordinary user owning `database`, SCRAM password, TLS only.
    pub app_user: String,
    /// Password of `app_user` (a fixed throwaway value).
    pub app_password: String,
    /// Database owned by `app_user`.
    pub database: String,
    /// Unix socket directory, where the local superuser `postgres` connects with trust auth.
    pub socket_dir: PathBuf,
    /// The cluster's data directory (its parent is the cluster directory that gets deleted).
    pub data_dir: PathBuf,
    /// IAM auth (`rds_iam` members through PAM), when it could be set up (needs root).
    pub iam: Option<PgIamInfo>,
}

/// A running TLS-only Postgres server in its own temporary directory.
///
/// Dropping it stops the server and deletes the directory; if this process dies without
/// dropping it, a guardian process does the same.
pub struct PgCluster {
    info: PgInfo,
    dir: ClusterDir,
    /// Dropped after `dir`: the PAM service file goes once the server is stopped.
    iam: Result<IamSetup, String>,
}

impl PgCluster {
    /// Makes certificates, runs `initdb`, starts the server on a free port and creates the
    /// `admin` and `app` roles, the `app` database, and the IAM roles `rds_iam` and `iam_user`
    /// with their PAM service (as root). Takes about 2 s.
    pub fn start(options: &PgClusterOptions) -> anyhow::Result<Self> {
        let user = ServerUser::detect()?;
        let dir = ClusterDir::create(&options.pg_bin, user)?;
        let root = dir.root().to_owned();

        let tls_dir = root.join("tls");
        write_tls_files(&tls_dir, &options.host_name, dir.user())?;
        let socket_dir = root.join("sock");
        std::fs::create_dir(&socket_dir)
            .with_context(|| format!("creating {}", socket_dir.display()))?;
        dir.user().chown(&socket_dir)?;

        let iam = match dir.user() {
            ServerUser::Other { .. } => Ok(IamSetup::prepare(&root, dir.user())
                .context("setting up IAM auth for PostgreSQL")?),
            ServerUser::Current => Err("IAM auth needs root: the sandbox installs a PAM \
                                        service in /etc/pam.d"
                .to_owned()),
        };
        init_data_dir(
            &dir,
            &socket_dir,
            &tls_dir,
            iam.as_ref().ok().map(IamSetup::service_name),
        )?;
        let port = start_server(&dir)?;
        let iam_info = match &iam {
            Ok(setup) => Some(setup.write_config(&options.host_name, port, dir.user())?),
            Err(_) => None,
        };

        let info = PgInfo {
            host_name: options.host_name.clone(),
            hostaddr: Ipv4Addr::LOCALHOST.to_string(),
            port,
            ca_file: tls_dir.join("ca.pem"),
            admin_user: "admin".to_owned(),
            admin_password: "admin".to_owned(),
            app_user: "app".to_owned(),
            app_password: "app-pass".to_owned(),
            database: "app".to_owned(),
            socket_dir,
            data_dir: dir.data_dir().to_owned(),
            iam: iam_info,
        };
        let cluster = Self { info, dir, iam };
        let i = &cluster.info;
        cluster
            .psql(&format!(
                "CREATE ROLE {} LOGIN SUPERUSER PASSWORD '{}';\n\
                 CREATE ROLE {} LOGIN PASSWORD '{}';\n\
                 CREATE DATABASE {} OWNER {};\n{}",
                i.admin_user,
                i.admin_password,
                i.app_user,
                i.app_password,
                i.database,
                i.app_user,
                iam::roles_sql(),
            ))
            .context("creating the sandbox roles and database")?;
        Ok(cluster)
    }

    /// How to reach the server.
    pub fn info(&self) -> &PgInfo {
        &self.info
    }

    /// How to log in with IAM, or why this cluster has no IAM auth (not root).
    pub fn iam(&self) -> anyhow::Result<&PgIamInfo> {
        match (&self.info.iam, &self.iam) {
            (Some(info), _) => Ok(info),
            (None, Err(reason)) => bail!("{reason}"),
            (None, Ok(_)) => bail!("IAM auth was set up but has no connection details"),
        }
    }

    /// Runs SQL as the local superuser `postgres` over the Unix socket with `psql` (`-X -q -A -t
    /// -v ON_ERROR_STOP=1`, SQL on stdin) and returns its stdout: unaligned rows without headers,
    /// fields split by `|`, so `select 1` gives `"1\n"`. The error carries psql's stderr.
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        // A file as stdin cannot deadlock against a full stdout pipe, unlike a pipe we write.
        let mut input = tempfile::tempfile().context("creating a temporary file for psql")?;
        input
            .write_all(sql.as_bytes())
            .and_then(|()| input.rewind())
            .context("writing SQL for psql")?;
        let output = Command::new(self.psql_program())
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-U", "postgres", "-d", "postgres"])
            .arg("-h")
            .arg(&self.info.socket_dir)
            .arg("-p")
            .arg(self.info.port.to_string())
            .stdin(input)
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!(
                "psql failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
        String::from_utf8(output.stdout).context("psql printed invalid UTF-8")
    }

    /// Stops the server (fast shutdown) and deletes the directory. Also done by `Drop`.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.dir.shutdown()
    }

    fn psql_program(&self) -> PathBuf {
        let bundled = self.dir.pg_bin().join("psql");
        if bundled.is_file() {
            bundled
        } else {
            PathBuf::from("psql")
        }
    }
}

fn write_tls_files(tls_dir: &Path, host_name: &str, user: &ServerUser) -> anyhow::Result<()> {
    let pem = certs::generate(host_name)?;
    std::fs::create_dir(tls_dir).with_context(|| format!("creating {}", tls_dir.display()))?;
    user.chown(tls_dir)?;
    for (name, text, mode) in [
        ("ca.pem", &pem.ca_cert, 0o644),
        ("server.pem", &pem.server_cert, 0o644),
        // PostgreSQL refuses a key readable by group or others.
        ("server.key", &pem.server_key, 0o600),
    ] {
        let path = tls_dir.join(name);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .with_context(|| format!("writing {}", path.display()))?;
        user.chown(&path)?;
    }
    Ok(())
}

/// Runs `initdb` and writes the TLS-only configuration; with a PAM service, `rds_iam` members
/// authenticate through it.
fn init_data_dir(
    dir: &ClusterDir,
    socket_dir: &Path,
    tls_dir: &Path,
    pam_service: Option<&str>,
) -> anyhow::Result<()> {
    let data_dir = dir.data_dir();
    let mut initdb = dir.server_command("initdb");
    initdb.arg("-D").arg(data_dir).args([
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ]);
    let initdb_log = dir.root().join("initdb.log");
    run_logged(&mut initdb, &initdb_log).context("initdb failed")?;

    let mut conf = String::from("\n# rds-sandbox\nlisten_addresses = '127.0.0.1'\n");
    let settings = [
        ("unix_socket_directories", socket_dir.to_owned()),
        ("ssl_cert_file", tls_dir.join("server.pem")),
        ("ssl_key_file", tls_dir.join("server.key")),
        ("ssl_ca_file", tls_dir.join("ca.pem")),
    ];
    for (key, path) in settings {
        let quoted = path.display().to_string().replace('\'', "''");
        writeln!(conf, "{key} = '{quoted}'")?;
    }
    conf.push_str(
        "ssl = on\n\
         password_encryption = 'scram-sha-256'\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n",
    );
    let conf_path = data_dir.join("postgresql.conf");
    OpenOptions::new()
        .append(true)
        .open(&conf_path)
        .and_then(|mut file| file.write_all(conf.as_bytes()))
        .with_context(|| format!("appending to {}", conf_path.display()))?;

    // No plain `host` line: TCP clients must use TLS, as on RDS with rds.force_ssl. The first
    // matching line wins, so the IAM lines come before the password line.
    let mut hba = String::from("local   all  all                 trust\n");
    if let Some(service) = pam_service {
        hba.push_str(&iam::hba_lines(service));
    }
    hba.push_str("hostssl all  all  127.0.0.1/32   scram-sha-256\n");
    let hba_path = data_dir.join("pg_hba.conf");
    std::fs::write(&hba_path, hba).with_context(|| format!("writing {}", hba_path.display()))
}

/// Starts the server on a free port, retrying on a new port when the start fails.
fn start_server(dir: &ClusterDir) -> anyhow::Result<u16> {
    let server_log = dir.root().join("server.log");
    let mut last_error = None;
    for _ in 0..START_ATTEMPTS {
        let port = free_port()?;
        let mut pg_ctl = dir.server_command("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(dir.data_dir())
            .arg("-l")
            .arg(&server_log)
            .args(["-o", &format!("-p {port}"), "-w", "-t", "30", "start"]);
        match run_logged(&mut pg_ctl, &dir.root().join("pg_ctl.log")) {
            Ok(()) => return Ok(port),
            Err(err) => {
                last_error = Some(err);
                // A server that was merely slow may still come up; make sure it is gone before
                // the next attempt reuses the data directory.
                dir.stop_server_if_running()?;
            }
        }
    }
    let last_error = last_error.map_or_else(String::new, |err| format!("{err:#}"));
    bail!(
        "PostgreSQL did not start in {START_ATTEMPTS} attempts; the last one: {last_error}\n\
         last lines of {}:\n{}",
        server_log.display(),
        log_tail(&server_log, LOG_TAIL_LINES)
    )
}

/// A port nobody listens on right now (the server binds it a moment later, hence the retries).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Runs `command` with stdout and stderr appended to `log`; on failure the error quotes what
/// this run wrote there.
///
/// A file rather than a pipe: a daemon started by the command (the postmaster) could inherit a
/// pipe and keep us waiting for its end forever.
pub(crate) fn run_logged(command: &mut Command, log: &Path) -> anyhow::Result<()> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let run_start = file.metadata()?.len();
    let status = command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .with_context(|| format!("running {}", command.get_program().display()))?;
    if status.success() {
        return Ok(());
    }
    let output = std::fs::read(log).map_or_else(
        |err| format!("({} could not be read: {err})", log.display()),
        |bytes| {
            let this_run = bytes.get(run_start as usize..).unwrap_or_default();
            tail(&String::from_utf8_lossy(this_run), LOG_TAIL_LINES)
        },
    );
    bail!(
        "{} failed ({status}): {}",
        command.get_program().display(),
        output.trim_end()
    )
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The last `lines` lines of a log file, or why it could not be read.
fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => tail(&text, lines),
        Err(err) => format!("({} could not be read: {err})", path.display()),
    }
}
