//! [`AnyTunnel`]: a tunnel carried by either client — the native one or the installed plugin —
//! behind one set of methods, for the supervisor and the CLI.

use std::net::SocketAddr;

use super::plugin::PluginTunnel;
use super::{Tunnel, TunnelError, TunnelStats};

/// An open tunnel of either kind.
#[derive(Debug)]
pub enum AnyTunnel {
    /// Our own data-channel client.
    Native(Tunnel),
    /// The installed `session-manager-plugin`.
    Plugin(PluginTunnel),
}

impl AnyTunnel {
    /// Where local clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        match self {
            Self::Native(tunnel) => tunnel.local_addr(),
            Self::Plugin(tunnel) => tunnel.local_addr(),
        }
    }

    /// The SSM session id.
    pub fn session_id(&self) -> &str {
        match self {
            Self::Native(tunnel) => tunnel.session_id(),
            Self::Plugin(tunnel) => tunnel.session_id(),
        }
    }

    /// A snapshot of the status (the plugin reports no byte counts or round-trip times).
    pub fn stats(&self) -> TunnelStats {
        match self {
            Self::Native(tunnel) => tunnel.stats(),
            Self::Plugin(tunnel) => tunnel.stats(),
        }
    }

    /// Waits until the tunnel ends by itself.
    pub async fn closed(&self) {
        match self {
            Self::Native(tunnel) => tunnel.closed().await,
            Self::Plugin(tunnel) => tunnel.closed().await,
        }
    }

    /// Closes the tunnel and terminates its session.
    pub async fn close(self) -> Result<(), TunnelError> {
        match self {
            Self::Native(tunnel) => tunnel.close().await,
            Self::Plugin(tunnel) => tunnel.close().await,
        }
    }
}
