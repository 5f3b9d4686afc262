//! SSM tunnels: local ports forwarded through AWS Systems Manager Session Manager to a database.
//!
//! This module owns the tunnel machinery only; it knows nothing of the UI, jobs or the backend.
//! [`ssm`] is the pure (no I/O, no AWS calls) protocol core of the native data channel;
//! [`native`] drives it: the SSM session API, the websocket, the local listener. [`plugin`] is
//! the installed-plugin fallback, [`supervisor`] keeps tunnels of either kind running, and
//! [`route`] maps a saved connection's route onto them. Protocol facts:
//! `reference/ssm-port-forwarding.md` in the shared docs.

pub mod any;
pub mod native;
pub mod plugin;
pub mod route;
pub mod ssm;
pub mod supervisor;

pub use native::{
    Remote, Tunnel, TunnelError, TunnelOptions, TunnelSpec, TunnelState, TunnelStats,
};
