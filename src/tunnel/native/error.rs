//! What can go wrong with a native tunnel, each with the next step for the user. Tokens never
//! appear here: stream URLs carry the session id only.

use std::time::Duration;

use crate::aws::error::AwsCallError;
use crate::db::tls::TlsError;
use crate::jobs::UserError;
use crate::tunnel::ssm::handshake::HandshakeError;
use crate::tunnel::ssm::smux::SmuxError;

/// Why a tunnel could not open or stopped.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// The local port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen {
        /// The port asked for (0: any).
        port: u16,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An SSM API call failed.
    #[error(transparent)]
    Aws(#[from] AwsCallError),
    /// `StartSession` or `ResumeSession` answered without a usable stream URL or token.
    #[error("SSM answered {api} without {what}")]
    IncompleteAnswer {
        /// `ssm:StartSession` or `ssm:ResumeSession`.
        api: &'static str,
        /// The missing field.
        what: &'static str,
    },
    /// The stream URL cannot be used.
    #[error("cannot use the data-channel URL {url}: {reason}")]
    BadStreamUrl {
        /// The URL (it holds the session id, never the token).
        url: String,
        /// Why.
        reason: String,
    },
    /// The websocket could not be opened.
    #[error("cannot open the data channel to {host}: {reason}")]
    Websocket {
        /// The service host.
        host: String,
        /// Why.
        reason: String,
    },
    /// The TLS trust store could not be built.
    #[error("TLS for the data channel: {0}")]
    Tls(#[from] TlsError),
    /// The agent's handshake cannot lead to a port session.
    #[error("the SSM agent's session cannot be used: {0}")]
    Handshake(#[from] HandshakeError),
    /// No `HandshakeComplete` in time.
    #[error("the SSM agent did not complete the handshake within {} s", .timeout.as_secs())]
    HandshakeTimeout {
        /// The limit.
        timeout: Duration,
    },
    /// The service ended the session (`channel_closed`, or `ResumeSession` gave no token).
    #[error("session {session_id} ended: {reason}")]
    SessionEnded {
        /// The session.
        session_id: String,
        /// The service's reason, or a description.
        reason: String,
    },
    /// The websocket was lost and resuming kept failing.
    #[error("lost the data channel of session {session_id} and could not resume it within {} s: {last_error}", .budget.as_secs())]
    ReconnectFailed {
        /// The session.
        session_id: String,
        /// The retry budget.
        budget: Duration,
        /// The last attempt's error.
        last_error: String,
    },
    /// Acks stopped arriving while connected.
    #[error("no acknowledgement from the SSM agent for {} s", .budget.as_secs())]
    Stalled {
        /// How long we waited.
        budget: Duration,
    },
    /// The agent broke the smux protocol.
    #[error(transparent)]
    Smux(#[from] SmuxError),
    /// The tunnel's task ended without saying why (a bug).
    #[error("the tunnel task stopped unexpectedly")]
    TaskGone,
    /// Plugin mode: no `session-manager-plugin` was found.
    #[error("session-manager-plugin was not found (searched {searched})")]
    PluginNotFound {
        /// The directories searched, in order.
        searched: String,
    },
    /// Plugin mode: the plugin could not start or carry the session.
    #[error("session-manager-plugin {path}: {reason}", path = .path.display())]
    Plugin {
        /// The plugin.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No SDK configuration for the tunnel's profile.
    #[error("no AWS configuration for the tunnel: {message}")]
    Config {
        /// Why, with what to do.
        message: String,
    },
}

impl TunnelError {
    /// What the user can do about it.
    pub fn next_step(&self) -> String {
        match self {
            Self::Listen { .. } => {
                "Pick another local port (or 0 for any free one), or stop what uses it".to_owned()
            }
            Self::Aws(error) if error.message.contains("TargetNotConnected") => {
                "The SSM agent on the target is not connected: check that the instance runs, its agent is online and it can reach SSM".to_owned()
            }
            Self::Aws(error) if error.message.contains("InvalidDocument") => {
                "The port-forwarding document is not available in this account or region".to_owned()
            }
            Self::Aws(error) => error.next_step(),
            Self::IncompleteAnswer { .. } | Self::BadStreamUrl { .. } => {
                "Check the profile's endpoint_url; the SSM endpoint answered something unexpected".to_owned()
            }
            Self::Websocket { .. } => {
                "Check the network and proxy settings; the SSM messages endpoint must be reachable on port 443".to_owned()
            }
            Self::Tls(error) => error.next_step().to_owned(),
            Self::Handshake(_) => {
                "Update the SSM agent on the target, or use a port-forwarding document".to_owned()
            }
            Self::HandshakeTimeout { .. } => {
                "The agent did not answer; check the target's SSM agent logs and retry".to_owned()
            }
            Self::SessionEnded { .. } => "Open the tunnel again".to_owned(),
            Self::ReconnectFailed { .. } | Self::Stalled { .. } => {
                "Check the network and open the tunnel again".to_owned()
            }
            Self::PluginNotFound { .. } => {
                "Install the Session Manager plugin (AWS docs: \"Install the Session Manager plugin for the AWS CLI\"), or use the native tunnel".to_owned()
            }
            Self::Plugin { .. } => {
                "Check that the plugin runs (`session-manager-plugin --version`) and is up to date, or use the native tunnel".to_owned()
            }
            Self::Config { .. } => "Check the profile in the AWS config files".to_owned(),
            Self::Smux(_) | Self::TaskGone => {
                "Open the tunnel again; if it recurs, report it with the log".to_owned()
            }
        }
    }

    /// As a user error for a job result.
    pub fn to_user_error(&self) -> UserError {
        UserError::from_error(self, self.next_step())
    }
}
