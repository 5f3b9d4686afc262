//! Database connections: TLS trust (always verified), connecting with the real server name even
//! when the socket goes to a tunnel's `127.0.0.1` port, and (from later issues) streaming queries,
//! schema and grants. No UI types here.

pub mod ca_update;
pub mod connect;
pub mod diagnose;
pub mod open;
pub mod safety;
pub mod schema;
pub mod tls;
