//! `rds-explorer tunnel`: an SSM tunnel from 127.0.0.1:<local port> through a target to a host
//! and port, carried by our native client or (`--via plugin`) the installed
//! `session-manager-plugin`. Prints `listening on 127.0.0.1:<port>` once connections are forwarded, runs
//! until SIGINT or SIGTERM, then terminates the session and exits 0. If the session ends by
//! itself (terminated elsewhere, timed out, network gone for too long) it says why and exits 2.

use std::process::ExitCode;

use anyhow::anyhow;

use super::print;
use crate::aws::profiles::{AwsFiles, load_profiles};
use crate::aws::sdk::{home_region, sdk_config};
use crate::tunnel::any::AnyTunnel;
use crate::tunnel::native::{self, Remote, TunnelError, TunnelOptions, TunnelSpec};
use crate::tunnel::plugin::{self, PluginOptions};
use crate::tunnel::supervisor::Via;

/// The command line's tunnel request.
#[derive(Clone, Debug)]
pub struct TunnelArgs {
    /// SSM target id.
    pub target: String,
    /// Remote host (none: a port on the target itself).
    pub host: Option<String>,
    /// Remote port.
    pub port: u16,
    /// Local port (0: any free one).
    pub local_port: u16,
    /// Profile name.
    pub profile: Option<String>,
    /// Region (default: the profile's).
    pub region: Option<String>,
    /// Which client carries the tunnel.
    pub via: Via,
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
        let opened = match args.via {
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
