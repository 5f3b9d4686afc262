//! SSM tunnels: local ports forwarded through AWS Systems Manager Session Manager to a database.
//!
//! This module owns the tunnel machinery only; it knows nothing of the UI, jobs or the backend.
//! Today it holds [`ssm`], the pure (no I/O, no AWS calls) protocol core of the native data
//! channel. The driver (websocket + TCP listener), the supervisor and the installed-plugin
//! fallback build on it. Protocol facts: `reference/ssm-port-forwarding.md` in the shared docs.

pub mod ssm;
