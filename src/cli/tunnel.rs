//! `rds-explorer tunnel`: an SSM tunnel from 127.0.0.1:<local port> through a target to a host
//! and port, carried by our native client or (`--via plugin`) the installed
//! `session-manager-plugin`. Prints `listening on 127.0.0.1:<port>` once connections are forwarded, runs
//! until SIGINT or SIGTERM, then terminates the session and exits 0. If the session ends by
//! itself (terminated elsewhere, timed out, network gone for too long) it says why and exits 2.

use std::process::ExitCode;

use anyhow::anyhow;

use super::{TunnelVia, print};
use crate::aws::profiles::{AwsFiles, load_profiles};
use crate::aws::sdk::{home_region, sdk_config};
use crate::tunnel::any::AnyTunnel;
use crate::tunnel::native::{self, Remote, TunnelError, TunnelOptions, TunnelSpec};
use crate::tunnel::plugin::{self, PluginOptions};
use crate::tunnel::supervisor::Via;

/// The command line's tunnel request.
#[derive(Clone, Debug, clap::Args)]
pub struct TunnelArgs {
    /// The SSM target (an EC2 instance id such as i-0abc…).
    #[arg(long)]
    pub target: String,
    /// The remote host the target connects to (e.g. the RDS endpoint); without it, a port on
    /// the target itself.
    #[arg(long)]
    pub host: Option<String>,
    /// The remote port.
    #[arg(long)]
    pub port: u16,
    /// The local port on 127.0.0.1 (default: any free one).
    #[arg(long, default_value_t = 0)]
    pub local_port: u16,
    /// The profile (default: `AWS_PROFILE`, else `default`).
    #[arg(long)]
    pub profile: Option<String>,
    /// The region (default: the profile's).
    #[arg(long)]
    pub region: Option<String>,
    /// Which client carries the tunnel: our native one, or the installed
    /// session-manager-plugin (found on PATH or in its install directory).
    #[arg(long, value_enum, default_value_t = TunnelVia::Native)]
    pub via: TunnelVia,
}

fn user_facing(error: &TunnelError) -> anyhow::Error {
    anyhow!("{error}; {}", error.next_step())
}

/// Runs the tunnel until a signal arrives or the session ends.
pub fn run(runtime: &tokio::runtime::Runtime, args: &TunnelArgs) -> anyhow::Result<ExitCode> {
    let files = AwsFiles::from_env();
    let list = load_profiles(&files);
    let profile = super::find_profile(&list, &files, args.profile.as_deref())?;
    let remote = match &args.host {
        Some(host) => Remote::Host {
            host: host.clone(),
            port: args.port,
        },
        None => Remote::TargetPort(args.port),
    };
    let spec = TunnelSpec {
        target: args.target.clone(),
        remote,
        local_port: args.local_port,
    };
    runtime.block_on(async {
        let region = home_region(&profile, args.region.as_deref())?;
        let config = sdk_config(&profile, &files, &region).await;
        let opened = match Via::from(args.via) {
            Via::Native => native::open(&config, &spec, TunnelOptions::default())
                .await
                .map(AnyTunnel::Native),
            Via::Plugin => {
                let options = PluginOptions {
                    profile: profile.name.clone(),
                    ..PluginOptions::default()
                };
                plugin::open(&config, &spec, &options)
                    .await
                    .map(AnyTunnel::Plugin)
            }
        };
        let tunnel = opened.map_err(|error| user_facing(&error))?;
        print(&format!("listening on {}", tunnel.local_addr()))?;
        let signalled = tokio::select! {
            signal = shutdown_signal() => {
                signal?;
                true
            }
            () = tunnel.closed() => false,
        };
        let closed = tunnel.close().await;
        match (signalled, closed) {
            (true, Ok(())) => Ok(ExitCode::SUCCESS),
            (_, Err(error)) => Err(user_facing(&error)),
            (false, Ok(())) => Err(anyhow!("the tunnel ended unexpectedly")),
        }
    })
}

/// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere).
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}
