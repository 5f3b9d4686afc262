//! The window's SSM tunnels: the supervisor gets SDK configurations from the backend's
//! per-profile cache, sessions left by a crashed run are terminated at start, the Tunnels panel
//! gets a status snapshot whenever one changes, and a connection whose route is an SSM tunnel
//! gets a lease on its tunnel before it logs in.

use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::runtime::Handle;

use super::connect::profile_and_region;
use super::inventory::{config_for, wait_for_profile};
use super::{Event, Outbox, Shared};
use crate::jobs::UserError;
use crate::store::SavedConnection;
use crate::tunnel::route::RouteTunnel;
use crate::tunnel::supervisor::{SdkConfigs, TunnelLease};

/// How long closing the window waits for tunnels to terminate their sessions (a session left
/// open is terminated at the next start).
pub(super) const SHUTDOWN_WAIT: Duration = Duration::from_millis(1500);

/// How often the Tunnels panel's figures are refreshed.
const STATUS_INTERVAL: Duration = Duration::from_millis(500);

/// SDK configurations from the backend's cache, so tunnels refresh credentials like the rest.
pub(super) struct BackendConfigs(pub(super) Weak<Shared>);

impl SdkConfigs for BackendConfigs {
    fn sdk_config(
        &self,
        profile: &str,
        region: &str,
    ) -> BoxFuture<'_, Result<aws_config::SdkConfig, String>> {
        let (profile, region) = (profile.to_owned(), region.to_owned());
        Box::pin(async move {
            let shared = self
                .0
                .upgrade()
                .ok_or_else(|| "the app is closing".to_owned())?;
            let found = wait_for_profile(&shared, &profile).await.ok_or_else(|| {
                format!(
                    "the profile \"{profile}\" is not in the AWS config; add it or choose another"
                )
            })?;
            Ok(config_for(&shared, &found, &region).await)
        })
    }
}

/// Terminates what a crashed run left open, then publishes tunnel status while the UI listens.
pub(super) fn start(runtime: &Handle, shared: &Arc<Shared>, outbox: &Outbox) {
    let supervisor = shared.tunnels.clone();
    runtime.spawn(async move {
        let terminated = supervisor.recover_crashed_sessions().await;
        if !terminated.is_empty() {
            tracing::info!(
                "terminated {} SSM session(s) an earlier run left open",
                terminated.len()
            );
        }
    });
    let (supervisor, outbox) = (shared.tunnels.clone(), outbox.clone());
    runtime.spawn(async move {
        let mut last = Vec::new();
        loop {
            tokio::time::sleep(STATUS_INTERVAL).await;
            let now = supervisor.snapshot();
            if now != last {
                last.clone_from(&now);
                if !outbox.send(Event::TunnelsChanged(now)).await {
                    break;
                }
            }
        }
    });
}

/// The lease on `connection`'s tunnel when its route is an SSM tunnel (opened or joined; waits
/// until it forwards), `None` for a direct route.
pub(super) async fn lease_for(
    shared: &Arc<Shared>,
    connection: &SavedConnection,
) -> Result<Option<TunnelLease>, UserError> {
    if !connection.route.is_tunnel() {
        return Ok(None);
    }
    let Some(profile_name) = &connection.profile else {
        return Err(UserError::new(
            "an SSM tunnel needs an AWS profile to start the session",
            "Choose the profile in the connection",
        ));
    };
    let (_, region) = profile_and_region(shared, connection, profile_name).await?;
    let default_via = shared
        .settings
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .tunnel_client;
    let Some(tunnel) = RouteTunnel::of(connection, profile_name, &region, default_via) else {
        return Ok(None);
    };
    shared
        .tunnels
        .ensure_on(tunnel.key, tunnel.via, tunnel.port)
        .await
        .map(Some)
        // The supervisor's message already ends with the tunnel error's own next step.
        .map_err(|error| {
            UserError::new(
                error.to_string(),
                "The Tunnels tab shows the tunnel's state and retries",
            )
        })
}
