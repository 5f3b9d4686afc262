//! Failures before any byte of PostgreSQL was exchanged: no answer (a security group or a missing
//! route drops the packets), an active refusal (nothing listens: wrong port, or a tunnel that is
//! not running), or a name that does not resolve (private DNS without VPN).

use std::io::ErrorKind;

/// Why the socket could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkFailure {
    /// No answer before the connect timeout: packets are dropped on the way.
    TimedOut,
    /// The host answered with a reset: nothing listens on that port.
    Refused,
    /// No route to the host or network.
    Unreachable,
    /// The DNS name did not resolve.
    NameNotResolved,
    /// The connection was cut during the startup.
    Reset,
}

impl NetworkFailure {
    /// Names the cause of a socket error; `None` when it is not a network failure.
    pub fn from_io(error: &std::io::Error) -> Option<Self> {
        let kind = match error.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => Self::TimedOut,
            ErrorKind::ConnectionRefused => Self::Refused,
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Self::Unreachable,
            ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof => Self::Reset,
            // getaddrinfo failures have no kind of their own.
            _ if error.to_string().contains("lookup address") => Self::NameNotResolved,
            _ => return None,
        };
        Some(kind)
    }

    /// What failed. `target` is `host:port` (with the tunnel address when there is one).
    pub fn summary(self, target: &str) -> String {
        match self {
            Self::TimedOut => format!("{target} did not answer in time"),
            Self::Refused => format!("{target} refused the connection"),
            Self::Unreachable => format!("there is no route to {target}"),
            Self::NameNotResolved => format!("the name in {target} does not resolve"),
            Self::Reset => format!("{target} closed the connection during the startup"),
        }
    }

    /// What to do next. `security_groups` are the resource's VPC security groups from the
    /// inventory (may be empty); `through_tunnel` says whether the socket goes to a local tunnel.
    pub fn next_step(self, port: u16, security_groups: &[String], through_tunnel: bool) -> String {
        let groups = if security_groups.is_empty() {
            "the database's security groups".to_owned()
        } else {
            format!("the security groups {}", security_groups.join(", "))
        };
        match (self, through_tunnel) {
            (Self::Refused, true) => {
                "The tunnel's local port is not listening: (re)start the tunnel from the Tunnels \
                 view"
                    .to_owned()
            }
            (Self::TimedOut | Self::Unreachable | Self::Reset, true) => format!(
                "The tunnel is up but the database does not answer behind it: check that {groups} \
                 allow inbound TCP {port} from the tunnel's EC2 target, and that the target's \
                 subnet can route to the database"
            ),
            (Self::TimedOut | Self::Unreachable, false) => format!(
                "Check the route: a private endpoint needs an SSM tunnel (or VPN); a public one \
                 needs {groups} to allow inbound TCP {port} from your address"
            ),
            (Self::Refused, false) => format!(
                "Nothing listens on port {port} there: check the port (the endpoint's port, not \
                 a tunnel's local port)"
            ),
            (Self::NameNotResolved, _) => {
                "Check the host name; a private DNS name only resolves inside the VPC: connect \
                 through an SSM tunnel (RDS Explorer keeps the name for TLS and sends the socket \
                 to the tunnel)"
                    .to_owned()
            }
            (Self::Reset, false) => format!(
                "Something between you and port {port} cut the connection (a firewall, a proxy, \
                 or a server that is not PostgreSQL): check the port and {groups}"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Error;

    use super::*;

    #[test]
    fn socket_errors_map_to_causes() {
        let cases = [
            (ErrorKind::TimedOut, Some(NetworkFailure::TimedOut)),
            (ErrorKind::ConnectionRefused, Some(NetworkFailure::Refused)),
            (
                ErrorKind::NetworkUnreachable,
                Some(NetworkFailure::Unreachable),
            ),
            (ErrorKind::ConnectionReset, Some(NetworkFailure::Reset)),
            (ErrorKind::PermissionDenied, None),
        ];
        for (kind, expected) in cases {
            assert_eq!(
                NetworkFailure::from_io(&Error::from(kind)),
                expected,
                "{kind:?}"
            );
        }
        let dns = Error::other("failed to lookup address information: Name or service not known");
        assert_eq!(
            NetworkFailure::from_io(&dns),
            Some(NetworkFailure::NameNotResolved)
        );
    }

    #[test]
    fn hints_name_the_security_groups_and_the_tunnel() {
        let groups = ["sg-0123".to_owned(), "sg-4567".to_owned()];
        let step = NetworkFailure::TimedOut.next_step(5432, &groups, false);
        assert!(step.contains("sg-0123, sg-4567"), "{step}");
        assert!(step.contains("TCP 5432"), "{step}");
        assert!(step.contains("SSM tunnel"), "{step}");
        let step = NetworkFailure::TimedOut.next_step(5432, &groups, true);
        assert!(step.contains("tunnel's EC2 target"), "{step}");
        let step = NetworkFailure::Refused.next_step(5432, &[], true);
        assert!(step.contains("start the tunnel"), "{step}");
        let step = NetworkFailure::Refused.next_step(15432, &[], false);
        assert!(step.contains("port 15432"), "{step}");
        assert!(
            NetworkFailure::TimedOut
                .next_step(5432, &[], false)
                .contains("the database's security groups")
        );
        assert_eq!(
            NetworkFailure::Refused.summary("127.0.0.1:1"),
            "127.0.0.1:1 refused the connection"
        );
    }
}
