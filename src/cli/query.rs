//! `rds-explorer query`: runs SQL on a saved connection or on an endpoint given by flags, and
//! streams the rows to stdout as text (exactly `psql -At`), TSV, CSV, JSON or NDJSON — row by
//! row, so memory stays bounded whatever the result size. Server notices go to stderr, as psql
//! sends them. Exit codes: 0 ok, 1 a statement failed, 2 no session (bad flags, login refused).

use std::io::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;

use crate::auth::endpoint::region_from_host;
use crate::auth::keyring::Keyring;
use crate::auth::token_cache::TokenCache;
use crate::aws::profiles::{AwsFiles, Profile, ProfileList, load_profiles};
use crate::aws::sdk::sdk_config;
use crate::db::open::{OpenError, OpenOptions, open_session};
use crate::db::safety::Safety;
use crate::db::tls::{TrustConfig, client_config};
use crate::query::output::{OutputFormat, OutputSink};
use crate::query::{Canceller, QueryError, RunOptions, fetch_to_sink};
use crate::secret::Secret;
use crate::store::{AuthMode, Paths, Route, SavedConnection, load_connections, load_settings};
use crate::tunnel::route::{ProfileConfigs, RouteTunnel};
use crate::tunnel::supervisor::{Supervisor, SupervisorOptions, TunnelLease, Via};

/// Output formats of `query`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// Exactly `psql -At`: `|` between values, NULL as nothing, no header.
    #[default]
    Text,
    /// Header, then tab-separated values (COPY text escapes, NULL as \N).
    Tsv,
    /// RFC 4180 CSV with a header.
    Csv,
    /// One JSON array of objects per result set.
    Json,
    /// One JSON object per row.
    Ndjson,
}

/// Auth modes on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuthFlag {
    /// An IAM auth token signed with the profile's credentials.
    Iam,
    /// A Secrets Manager secret (`--secret`).
    Secret,
    /// A password from `PGPASSWORD` or the keyring.
    Password,
}

/// What `rds-explorer query` was asked for.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct QueryArgs {
    /// A saved connection (the flags below override its fields).
    #[arg(long, required_unless_present = "host")]
    pub connection: Option<String>,
    /// The real endpoint DNS name (TLS name and IAM token host).
    #[arg(long)]
    pub host: Option<String>,
    /// Connect the socket to this address instead (a tunnel's 127.0.0.1), like libpq.
    #[arg(long)]
    pub hostaddr: Option<IpAddr>,
    /// The socket's port (with --hostaddr: the tunnel's local port).
    #[arg(long)]
    pub port: Option<u16>,
    /// The endpoint's real port when --port is a tunnel's (the token is signed for it).
    #[arg(long)]
    pub real_port: Option<u16>,
    /// Database user.
    #[arg(long)]
    pub user: Option<String>,
    /// Database name.
    #[arg(long)]
    pub dbname: Option<String>,
    /// How to log in (default: the saved connection's mode, else iam).
    #[arg(long, value_enum)]
    pub auth: Option<AuthFlag>,
    /// Secrets Manager secret ARN or name (with --auth secret).
    #[arg(long)]
    pub secret: Option<String>,
    /// The AWS profile (default: the connection's, else `AWS_PROFILE`, else `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// The database's region (default: from an RDS host name, else the profile's).
    #[arg(long)]
    pub region: Option<String>,
    /// A PEM file of extra CA certificates to trust.
    #[arg(long)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The SQL to run (several statements: each result in turn).
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub sql: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = QueryFormat::Text)]
    pub format: QueryFormat,
    /// Reach the endpoint through an SSM tunnel via this target (`i-…`), as the window's
    /// "SSM tunnel" route does; the session is terminated when the query ends.
    #[arg(long, value_name = "TARGET", conflicts_with = "hostaddr")]
    pub ssm_target: Option<String>,
    /// The tunnel's port on 127.0.0.1 (default: the one remembered for the endpoint).
    #[arg(long)]
    pub local_port: Option<u16>,
    /// Which client carries the tunnel (default: the one chosen in Settings).
    #[arg(long, value_enum)]
    pub tunnel_via: Option<super::TunnelVia>,
}

/// Runs the query and streams the result to stdout.
pub fn run(runtime: &tokio::runtime::Runtime, args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let (settings, _) = load_settings(&paths.settings_file());
    let connection = connection_from_args(&paths, args)?;
    let via = match args.hostaddr {
        Some(addr) => Some(std::net::SocketAddr::new(
            addr,
            args.port.unwrap_or(connection.port),
        )),
        None => None,
    };
    let trust = TrustConfig {
        extra_ca_file: args.ca_file.clone().or(settings.extra_ca_file.clone()),
        downloaded_bundle: Some(paths.downloaded_ca_bundle()),
        ..TrustConfig::default()
    };
    let tls = client_config(&trust)
        .map_err(|error| anyhow::anyhow!("{error:#}; {}", error.next_step()))?;
    let timeout = Duration::from_secs(u64::from(settings.production_statement_timeout_secs));
    let options = OpenOptions {
        via,
        typed_password: std::env::var("PGPASSWORD").ok().map(Secret::new),
        safety: Safety::for_connection(connection.production, connection.read_only, timeout),
    };
    let format = match args.format {
        QueryFormat::Text => OutputFormat::Text,
        QueryFormat::Tsv => OutputFormat::Tsv,
        QueryFormat::Csv => OutputFormat::Csv,
        QueryFormat::Json => OutputFormat::Json,
        QueryFormat::Ndjson => OutputFormat::Ndjson,
    };
    runtime.block_on(async {
        let tunnel = match open_tunnel(&paths, &connection, settings.tunnel_client).await {
            Ok(tunnel) => tunnel,
            Err(error) => {
                _ = writeln!(std::io::stderr(), "rds-explorer: {error:#}");
                return Ok(ExitCode::from(2));
            }
        };
        let mut options = options;
        if let Some((_, lease)) = &tunnel {
            options.via = Some(lease.local_addr());
        }
        let exit = query(&connection, options, tls, &args.sql, format).await;
        if let Some((supervisor, lease)) = tunnel {
            drop(lease);
            supervisor.shutdown(TUNNEL_CLOSE_WAIT).await;
        }
        exit
    })
}

/// How long the end of a tunnelled query waits for `TerminateSession`.
const TUNNEL_CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Opens `connection`'s SSM tunnel when its route has one. The supervisor is this run's own, so
/// the session is terminated when the query ends (and terminated by the next start of the
/// window if this process is killed first).
async fn open_tunnel(
    paths: &Paths,
    connection: &SavedConnection,
    default_via: Via,
) -> anyhow::Result<Option<(Supervisor, TunnelLease)>> {
    if !connection.route.is_tunnel() {
        return Ok(None);
    }
    let aws = ConnectionAws::resolve(connection)?;
    let Some(tunnel) = RouteTunnel::of(connection, &aws.profile.name, &aws.region, default_via)
    else {
        return Ok(None);
    };
    let supervisor = Supervisor::new(
        paths.clone(),
        Arc::new(ProfileConfigs::new(aws.files, aws.list)),
        SupervisorOptions {
            linger: Duration::ZERO,
            ..SupervisorOptions::default()
        },
    );
    let lease = supervisor
        .ensure_on(tunnel.key, tunnel.via, tunnel.port)
        .await?;
    Ok(Some((supervisor, lease)))
}

/// Logs in and streams `sql`'s results to stdout.
async fn query(
    connection: &SavedConnection,
    options: OpenOptions,
    tls: Arc<rustls::ClientConfig>,
    sql: &str,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let sdk = sdk_for(connection).await?;
    let mut connection = connection.clone();
    if connection.region.is_none() {
        connection.region = sdk
            .as_ref()
            .and_then(|sdk| sdk.region().map(ToString::to_string));
    }
    let tokens = TokenCache::new();
    let keyring = Keyring::open();
    let opened = open_session(
        &connection,
        options,
        sdk.as_ref(),
        tls.clone(),
        &tokens,
        &keyring,
    )
    .await;
    let client = match opened {
        Ok((client, _login)) => client,
        Err(error) => {
            report_open_error(&error, sdk.as_ref()).await;
            return Ok(ExitCode::from(2));
        }
    };
    let stdout = std::io::stdout().lock();
    let mut sink = OutputSink::new(std::io::BufWriter::with_capacity(64 << 10, stdout), format);
    let run = RunOptions {
        notices: None,
        canceller: Some(Canceller::new(&client, tls)),
    };
    let result = fetch_to_sink(&client, sql, &mut sink, &run).await;
    let flushed = sink.finish();
    match result {
        Ok(_) => {
            if let Err(error) = flushed
                && error.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(error.into());
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            report_query_error(sql, &error);
            Ok(ExitCode::from(1))
        }
    }
}

/// Why no session opened, with the IAM checklist when a token was refused.
async fn report_open_error(error: &OpenError, sdk: Option<&aws_config::SdkConfig>) {
    let user_error = error.to_user_error();
    let mut lines = vec![
        format!("rds-explorer: {}", user_error.message),
        format!("next: {}", user_error.next_step),
    ];
    if let (OpenError::Connect(refused), Some(sdk)) = (error, sdk)
        && let Some(diagnosis) = refused.diagnose(sdk).await
    {
        for check in &diagnosis.checks {
            lines.push(format!(
                "  [{:?}] {}: {}",
                check.status, check.name, check.detail
            ));
            if let Some(next) = &check.next_step {
                lines.push(format!("      next: {next}"));
            }
        }
    }
    let mut err = std::io::stderr().lock();
    for line in lines {
        _ = writeln!(err, "{line}");
    }
}

/// The profile's SDK configuration for `connection`'s region (IAM and Secrets Manager modes).
async fn sdk_for(connection: &SavedConnection) -> anyhow::Result<Option<aws_config::SdkConfig>> {
    if matches!(connection.auth, AuthMode::Password) {
        return Ok(None);
    }
    let aws = ConnectionAws::resolve(connection)?;
    Ok(Some(
        sdk_config(&aws.profile, &aws.files, &aws.region).await,
    ))
}

/// The AWS side of a connection: the files, the profile (the connection's, else `AWS_PROFILE`,
/// else `default`) and the region (the connection's, else the profile's).
struct ConnectionAws {
    files: AwsFiles,
    list: ProfileList,
    profile: Profile,
    region: String,
}

impl ConnectionAws {
    fn resolve(connection: &SavedConnection) -> anyhow::Result<Self> {
        let files = AwsFiles::from_env();
        let list = load_profiles(&files);
        let profile = super::find_profile(&list, &files, connection.profile.as_deref())?;
        let region = connection
            .region
            .clone()
            .or_else(|| profile.region.clone())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no region for \"{}\"; pass --region with the database's region",
                    connection.host
                )
            })?;
        Ok(Self {
            files,
            list,
            profile,
            region,
        })
    }
}

/// psql-style: `ERROR:  message`, then the line of the script with a caret under the position.
fn report_query_error(sql: &str, error: &QueryError) {
    let mut err = std::io::stderr().lock();
    _ = writeln!(err, "rds-explorer: {error}");
    if let Some(offset) = error.error_offset() {
        let line_start = sql[..offset.min(sql.len())]
            .rfind('\n')
            .map_or(0, |at| at + 1);
        let line_end = sql[line_start..]
            .find('\n')
            .map_or(sql.len(), |at| line_start + at);
        let line_number = sql[..line_start].matches('\n').count() + 1;
        let prefix = format!("LINE {line_number}: ");
        _ = writeln!(err, "{prefix}{}", &sql[line_start..line_end]);
        let column = sql[line_start..offset.min(sql.len())].chars().count();
        _ = writeln!(err, "{}^", " ".repeat(prefix.len() + column));
    }
    _ = writeln!(err, "next: {}", error.next_step());
}

/// The saved connection named by `--connection`, with flags overriding its fields, or one made
/// of the flags alone.
pub(super) fn connection_from_args(
    paths: &Paths,
    args: &QueryArgs,
) -> anyhow::Result<SavedConnection> {
    let mut connection = if let Some(name) = &args.connection {
        let file = paths.connections_file();
        let (saved, problem) = load_connections(&file);
        if let Some(problem) = problem {
            _ = writeln!(std::io::stderr(), "warning: {problem}");
        }
        saved
            .into_iter()
            .find(|connection| &connection.name == name)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no saved connection named \"{name}\" in {}; save it in the window or \
                         pass --host, --port, --user and --dbname",
                    file.display()
                )
            })?
    } else {
        let missing = |flag: &str| anyhow::anyhow!("{flag} is required without --connection");
        let host = args.host.clone().ok_or_else(|| missing("--host"))?;
        SavedConnection {
            name: String::new(),
            profile: None,
            region: None,
            resource: None,
            port: args.real_port.or(args.port).unwrap_or(5432),
            hostaddr: None,
            database: args.dbname.clone().ok_or_else(|| missing("--dbname"))?,
            user: args.user.clone().ok_or_else(|| missing("--user"))?,
            auth: AuthMode::Iam,
            route: Route::Direct,
            color: None,
            read_only: false,
            production: false,
            host,
        }
    };
    if args.connection.is_some() {
        if let Some(host) = &args.host {
            connection.host.clone_from(host);
        }
        if let Some(port) = args.real_port.or(if args.hostaddr.is_none() {
            args.port
        } else {
            None
        }) {
            connection.port = port;
        }
        if let Some(user) = &args.user {
            connection.user.clone_from(user);
        }
        if let Some(database) = &args.dbname {
            connection.database.clone_from(database);
        }
    }
    apply_route_flags(&mut connection, args);
    if let Some(profile) = &args.profile {
        connection.profile = Some(profile.clone());
    }
    if let Some(region) = &args.region {
        connection.region = Some(region.clone());
    }
    if connection.region.is_none() {
        connection.region = region_from_host(&connection.host);
    }
    match args.auth {
        Some(AuthFlag::Iam) => connection.auth = AuthMode::Iam,
        Some(AuthFlag::Password) => connection.auth = AuthMode::Password,
        Some(AuthFlag::Secret) => {
            let secret_id = args.secret.clone().ok_or_else(|| {
                anyhow::anyhow!("--auth secret needs --secret with the secret's ARN or name")
            })?;
            connection.auth = AuthMode::Secret { secret_id };
        }
        None => {
            if let Some(secret_id) = &args.secret {
                connection.auth = AuthMode::Secret {
                    secret_id: secret_id.clone(),
                };
            }
        }
    }
    Ok(connection)
}

/// `--ssm-target` makes the route a tunnel; `--local-port` and `--tunnel-via` adjust a tunnel
/// route (given or saved); `--hostaddr` makes it direct.
fn apply_route_flags(connection: &mut SavedConnection, args: &QueryArgs) {
    if args.hostaddr.is_some() {
        connection.route = Route::Direct;
        return;
    }
    if let Some(target) = &args.ssm_target {
        connection.route = Route::SsmTunnel {
            target: target.clone(),
            local_port: 0,
            client: None,
        };
    }
    if let Route::SsmTunnel {
        local_port, client, ..
    } = &mut connection.route
    {
        if let Some(port) = args.local_port {
            *local_port = port;
        }
        if let Some(via) = args.tunnel_via {
            *client = Some(via.into());
        }
    }
}
