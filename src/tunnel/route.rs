//! A saved connection's route in the supervisor's terms: which tunnel ([`TunnelKey`]: profile,
//! region, target, the real endpoint), carried by which client, on which local port. The window
//! and `rds-explorer query` both open tunnelled connections through this, so a connection saved
//! in one works the same in the other.

use futures_util::future::BoxFuture;

use super::supervisor::{SdkConfigs, TunnelKey, Via};
use crate::aws::profiles::{AwsFiles, ProfileList};
use crate::aws::sdk::sdk_config;
use crate::store::{Route, SavedConnection};

/// The tunnel a connection needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTunnel {
    /// Which tunnel: shared with every connection to the same endpoint through the same target.
    pub key: TunnelKey,
    /// The connection's client, else the default from Settings.
    pub via: Via,
    /// The local port the connection asks for (`None`: the remembered one).
    pub port: Option<u16>,
}

impl RouteTunnel {
    /// The tunnel of `connection` when its route is an SSM tunnel; `None` for a direct route.
    /// `profile` and `region` are the resolved ones (the connection's, else the defaults).
    pub fn of(
        connection: &SavedConnection,
        profile: &str,
        region: &str,
        default_via: Via,
    ) -> Option<Self> {
        let Route::SsmTunnel {
            target,
            local_port,
            client,
        } = &connection.route
        else {
            return None;
        };
        Some(Self {
            key: TunnelKey {
                profile: profile.to_owned(),
                region: region.to_owned(),
                target: target.clone(),
                remote_host: Some(connection.host.clone()),
                remote_port: connection.port,
            },
            via: client.unwrap_or(default_via),
            port: (*local_port != 0).then_some(*local_port),
        })
    }
}

/// SDK configurations straight from the AWS files (the CLI's; the window's backend has its own
/// cache of them).
pub struct ProfileConfigs {
    files: AwsFiles,
    profiles: ProfileList,
}

impl ProfileConfigs {
    /// Configurations for the profiles in `profiles`, read from `files`.
    pub fn new(files: AwsFiles, profiles: ProfileList) -> Self {
        Self { files, profiles }
    }
}

impl SdkConfigs for ProfileConfigs {
    fn sdk_config(
        &self,
        profile: &str,
        region: &str,
    ) -> BoxFuture<'_, Result<aws_config::SdkConfig, String>> {
        let found = self
            .profiles
            .profiles
            .iter()
            .find(|candidate| candidate.name == profile)
            .cloned();
        let (profile, region) = (profile.to_owned(), region.to_owned());
        Box::pin(async move {
            let found = found.ok_or_else(|| {
                format!(
                    "the profile \"{profile}\" is not in the AWS config; add it or choose another"
                )
            })?;
            Ok(sdk_config(&found, &self.files, &region).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuthMode;

    fn connection(route: Route) -> SavedConnection {
        SavedConnection {
            name: "orders".into(),
            profile: None,
            region: None,
            resource: None,
            host: "orders.abc.eu-west-1.rds.amazonaws.com".into(),
            port: 5433,
            hostaddr: None,
            database: "app".into(),
            user: "admin".into(),
            auth: AuthMode::Iam,
            route,
            color: None,
            read_only: false,
            production: false,
        }
    }

    #[test]
    fn direct_routes_need_no_tunnel() {
        let direct = connection(Route::Direct);
        assert_eq!(
            RouteTunnel::of(&direct, "dev", "eu-west-1", Via::Native),
            None
        );
    }

    #[test]
    fn a_tunnel_route_keys_the_real_endpoint_and_falls_back_to_the_default_client() {
        let tunnelled = connection(Route::SsmTunnel {
            target: "i-0abc".into(),
            local_port: 0,
            client: None,
        });
        let tunnel = RouteTunnel::of(&tunnelled, "dev", "eu-west-1", Via::Plugin).unwrap();
        assert_eq!(
            tunnel.key,
            TunnelKey {
                profile: "dev".into(),
                region: "eu-west-1".into(),
                target: "i-0abc".into(),
                remote_host: Some("orders.abc.eu-west-1.rds.amazonaws.com".into()),
                remote_port: 5433,
            }
        );
        assert_eq!((tunnel.via, tunnel.port), (Via::Plugin, None));

        let chosen = connection(Route::SsmTunnel {
            target: "i-0abc".into(),
            local_port: 15433,
            client: Some(Via::Native),
        });
        let tunnel = RouteTunnel::of(&chosen, "dev", "eu-west-1", Via::Plugin).unwrap();
        assert_eq!((tunnel.via, tunnel.port), (Via::Native, Some(15433)));
    }
}
