//! The command line: no subcommand opens the GUI; subcommands run the same core modules and print
//! plain text or JSON.

mod bench;
mod inventory;
mod query;
mod sso_login;
mod token;
mod tunnel;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::aws::profiles::{AwsFiles, load_profiles};
use crate::store::Paths;

/// Explore Amazon RDS, Aurora and RDS Proxy databases.
#[derive(Debug, Parser)]
#[command(name = "rds-explorer", version = crate::VERSION, about)]
pub struct Cli {
    /// What to do; without one, the window opens.
    #[command(subcommand)]
    pub command: Option<CliCommand>,
    /// Close the window after its first frame and print the time it took (for scripts/bench).
    #[arg(long, hide = true)]
    pub exit_after_first_frame: bool,
    /// Close the window once the selected profile's inventory was painted from the cache and
    /// again after its refresh, printing both times (for scripts/bench).
    #[arg(long, hide = true, conflicts_with = "exit_after_first_frame")]
    pub exit_after_inventory: bool,
}

/// Subcommands.
#[derive(Clone, Debug, Subcommand)]
pub enum CliCommand {
    /// Print where RDS Explorer keeps its settings, database and logs.
    Paths {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// List the RDS instances, Aurora clusters, RDS Proxies and SSM targets of a profile (this
    /// also refreshes the window's cached inventory).
    Inventory {
        /// The profile (default: `AWS_PROFILE`, else `default`).
        #[arg(long)]
        profile: Option<String>,
        /// A region to list (repeatable; default: the profile's region).
        #[arg(long = "region")]
        regions: Vec<String>,
        /// List every region enabled for the account.
        #[arg(long, conflicts_with = "regions")]
        all_regions: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Sign in to an SSO profile (device authorization); the token is cached for the AWS CLI too.
    SsoLogin {
        /// The profile (default: `AWS_PROFILE`, else `default`).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Forward a local port through an SSM session (native client, no plugin needed). Prints
    /// `listening on 127.0.0.1:<port>` once ready; SIGINT/SIGTERM terminate the session.
    Tunnel(tunnel::TunnelArgs),
    /// List the AWS profiles found in the shared config and credentials files.
    Profiles {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print an IAM auth token (the password for an IAM database user) for an endpoint.
    Token {
        /// The real endpoint DNS name (not a tunnel address or alias).
        #[arg(long)]
        host: String,
        /// The endpoint's real port.
        #[arg(long)]
        port: u16,
        /// The database user (exact case).
        #[arg(long)]
        user: String,
        /// The database's region (default: from an RDS host name, else the profile's).
        #[arg(long)]
        region: Option<String>,
        /// The profile that signs (default: `AWS_PROFILE`, else `default`).
        #[arg(long)]
        profile: Option<String>,
        /// Sign at this RFC 3339 time instead of now, to reproduce a token.
        #[arg(long, value_name = "RFC3339")]
        signing_time: Option<String>,
    },
    /// Run SQL and print the rows (`--format text` prints exactly what `psql -At` prints).
    Query(query::QueryArgs),
    /// Measurements for scripts/bench (not for users).
    #[command(hide = true)]
    Bench {
        /// Which.
        #[command(subcommand)]
        what: BenchCommand,
    },
}

/// The benchmarks `bench` runs.
#[derive(Clone, Debug, Subcommand)]
pub enum BenchCommand {
    /// The window's query path without the window: connect, run, follow the events.
    WindowFetch(bench::WindowFetchArgs),
}

/// Which client carries a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TunnelVia {
    /// RDS Explorer's own client.
    Native,
    /// The installed session-manager-plugin.
    Plugin,
}

impl From<TunnelVia> for crate::tunnel::supervisor::Via {
    fn from(via: TunnelVia) -> Self {
        match via {
            TunnelVia::Native => Self::Native,
            TunnelVia::Plugin => Self::Plugin,
        }
    }
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON object.
    Json,
}

/// Runs a subcommand on `runtime`; the exit code follows ripgrep: 0 ok, 1 ran but found
/// problems (a bad profile line, a region that failed), 2 error.
pub fn run(command: CliCommand, runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    match command {
        CliCommand::Paths { format } => paths(format),
        CliCommand::Profiles { format } => profiles(format),
        CliCommand::SsoLogin { profile } => sso_login::run(runtime, profile.as_deref()),
        CliCommand::Inventory {
            profile,
            regions,
            all_regions,
            format,
        } => inventory::run(runtime, profile.as_deref(), &regions, all_regions, format),
        CliCommand::Token {
            host,
            port,
            user,
            region,
            profile,
            signing_time,
        } => token::run(
            runtime,
            &token::TokenArgs {
                host,
                port,
                user,
                region,
                profile,
                signing_time,
            },
        ),
        CliCommand::Query(args) => query::run(runtime, &args),
        CliCommand::Bench {
            what: BenchCommand::WindowFetch(args),
        } => bench::window_fetch(runtime, &args),
        CliCommand::Tunnel(args) => tunnel::run(runtime, &args),
    }
}

fn paths(format: Format) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let rows = [
        ("settings", paths.settings_file()),
        ("database", paths.database_file()),
        ("logs", paths.log_dir()),
    ];
    let text = match format {
        Format::Json => {
            let object: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(key, path)| ((*key).to_owned(), path.display().to_string().into()))
                .collect();
            serde_json::to_string_pretty(&object)?
        }
        Format::Table => rows
            .iter()
            .map(|(key, path)| format!("{key:<9} {}", path.display()))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn profiles(format: Format) -> anyhow::Result<ExitCode> {
    let list = load_profiles(&AwsFiles::from_env());
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&list)?,
        Format::Table => {
            let mut lines = vec![format!(
                "{:<24} {:<18} {:<14} {}",
                "PROFILE", "KIND", "REGION", "ENDPOINT"
            )];
            for profile in &list.profiles {
                lines.push(format!(
                    "{:<24} {:<18} {:<14} {}",
                    profile.name,
                    profile.kind.label(),
                    profile.region.as_deref().unwrap_or("-"),
                    profile.endpoint_url.as_deref().unwrap_or("-"),
                ));
            }
            if list.profiles.is_empty() {
                lines.push(format!(
                    "(no profiles in {} or {})",
                    list.files.config.display(),
                    list.files.credentials.display()
                ));
            }
            lines.extend(
                list.problems
                    .iter()
                    .map(|problem| format!("warning: {problem}")),
            );
            lines.join("\n")
        }
    };
    print(&text)?;
    Ok(if list.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The profile named on the command line, else `AWS_PROFILE`, else `default`.
fn find_profile(
    list: &crate::aws::profiles::ProfileList,
    files: &AwsFiles,
    name: Option<&str>,
) -> anyhow::Result<crate::aws::profiles::Profile> {
    let wanted = name
        .map(str::to_owned)
        .or_else(|| list.env_profile.clone())
        .unwrap_or_else(|| "default".to_owned());
    list.profiles
        .iter()
        .find(|profile| profile.name == wanted)
        .cloned()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no profile named \"{wanted}\" in {}; `rds-explorer profiles` lists them",
                files.config.display()
            )
        })
}

/// The one place the CLI writes to stdout. A closed pipe (`| head`) is not an error.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
