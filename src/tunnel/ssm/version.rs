//! The version rules that decide, independently on each end, how a port session runs: smux
//! multiplexing or basic mode, and whether smux keep-alive NOPs are needed (reference §6.1, §7.3).
//!
//! Both comparison algorithms are reproduced exactly because each end applies its own: the
//! plugin's (strictly greater, same component count, all numeric — anything else is "no") for
//! the client's decisions, the agent's (semver or component-wise) to predict the agent's.

use std::cmp::Ordering;

/// The version we report in `OpenDataChannelInput` and the `HandshakeResponse`: the documented minimum
/// supported plugin version. It selects mux mode (≥ 1.1.70) and, on current agents, disables smux
/// keep-alive (> 1.2.331.0). Never report a version newer than a real plugin release.
pub const CLIENT_VERSION: &str = "1.2.764.0";

/// The client uses smux when the agent is strictly newer than this (plugin rule).
pub const MUX_AFTER_AGENT_VERSION: &str = "3.0.196.0";
/// The client skips smux keep-alive when the agent is strictly newer than this (plugin rule).
pub const KEEPALIVE_OFF_AFTER_AGENT_VERSION: &str = "3.1.1511.0";
/// The agent uses smux when the client version is at least this (agent rule).
pub const AGENT_MUX_MIN_CLIENT_VERSION: &str = "1.1.70";
/// The agent skips smux keep-alive when the client is strictly newer than this (agent rule).
pub const AGENT_KEEPALIVE_OFF_AFTER_CLIENT_VERSION: &str = "1.2.331.0";
/// The `type` session property that selects TCP port forwarding.
pub const LOCAL_PORT_FORWARDING: &str = "LocalPortForwarding";

/// How the forwarded bytes are carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardingMode {
    /// One smux v1 session multiplexing every local connection.
    Mux(SmuxKeepAlive),
    /// Raw bytes of one local connection at a time (agents ≤ 3.0.196.0).
    Basic,
    /// Not a port session (`type` is not `LocalPortForwarding`): stdin/stdout forwarding.
    StandardStream,
}

/// Whether this end must send smux NOPs so the other end's keep-alive check stays satisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmuxKeepAlive {
    /// No NOPs (so the Session Manager idle timeout still works).
    Disabled,
    /// A NOP every 10 s whenever nothing else was sent; the agent closes idle sessions after 30 s.
    Required,
}

/// The client's decision, from the handshake's `type` property and agent version, and the version
/// we report. Keep-alive is required unless *both* ends turned it off: the agent only does when
/// our version is > 1.2.331.0, which the plugin's own rule forgets (plugin#93).
pub fn client_forwarding_mode(
    port_type: Option<&str>,
    agent_version: &str,
    client_version: &str,
) -> ForwardingMode {
    if port_type != Some(LOCAL_PORT_FORWARDING) {
        return ForwardingMode::StandardStream;
    }
    if !plugin_version_greater(agent_version, MUX_AFTER_AGENT_VERSION) {
        return ForwardingMode::Basic;
    }
    let agent_keepalive_off =
        plugin_version_greater(agent_version, KEEPALIVE_OFF_AFTER_AGENT_VERSION)
            && agent_version_compare(client_version, AGENT_KEEPALIVE_OFF_AFTER_CLIENT_VERSION)
                == Ordering::Greater;
    if agent_keepalive_off {
        ForwardingMode::Mux(SmuxKeepAlive::Disabled)
    } else {
        ForwardingMode::Mux(SmuxKeepAlive::Required)
    }
}

/// A current agent's decision from the `type` property and the client version it was told
/// (reference §6.1, agent column; agents up to ~3.1.1511.0 keep keep-alive on whatever the client). `SmuxKeepAlive::Required` here means the agent sends NOPs and closes the
/// smux session after 30 s without any frame from the client.
pub fn agent_forwarding_mode(port_type: Option<&str>, client_version: &str) -> ForwardingMode {
    if port_type != Some(LOCAL_PORT_FORWARDING) {
        return ForwardingMode::Basic;
    }
    if agent_version_compare(client_version, AGENT_MUX_MIN_CLIENT_VERSION) == Ordering::Less {
        return ForwardingMode::Basic;
    }
    if agent_version_compare(client_version, AGENT_KEEPALIVE_OFF_AFTER_CLIENT_VERSION)
        == Ordering::Greater
    {
        ForwardingMode::Mux(SmuxKeepAlive::Disabled)
    } else {
        ForwardingMode::Mux(SmuxKeepAlive::Required)
    }
}

/// The plugin's test "`version` is strictly greater than `than`": both split on `.`, same number
/// of components, compared as integers left to right; an empty version, differing component counts
/// or a non-integer component reached before the first difference all mean `false`.
pub fn plugin_version_greater(version: &str, than: &str) -> bool {
    if version.is_empty() || than.is_empty() {
        return false;
    }
    let left: Vec<&str> = version.split('.').collect();
    let right: Vec<&str> = than.split('.').collect();
    if left.len() != right.len() {
        return false;
    }
    for (left, right) in left.iter().zip(&right) {
        let (Ok(left), Ok(right)) = (left.parse::<i64>(), right.parse::<i64>()) else {
            return false;
        };
        match left.cmp(&right) {
            Ordering::Equal => {}
            ordering => return ordering == Ordering::Greater,
        }
    }
    false
}

/// The agent's strict comparison: semver ordering if both are `MAJOR.MINOR.PATCH[-pre][+build]`,
/// else component-wise (numeric where both components are integers, else byte-wise text), and
/// with all shared components equal the version with more components is greater.
pub fn agent_version_compare(version: &str, other: &str) -> Ordering {
    if let (Some(left), Some(right)) = (SemVer::parse(version), SemVer::parse(other)) {
        return left.cmp_precedence(&right);
    }
    let left: Vec<&str> = version.split('.').collect();
    let right: Vec<&str> = other.split('.').collect();
    for (left, right) in left.iter().zip(&right) {
        let ordering = match (left.parse::<i64>(), right.parse::<i64>()) {
            (Ok(left), Ok(right)) => left.cmp(&right),
            _ => left.cmp(right),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    left.len().cmp(&right.len())
}

/// The parts of a semantic version that matter for ordering.
struct SemVer<'a> {
    core: [u64; 3],
    pre_release: Option<&'a str>,
}

impl<'a> SemVer<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let without_build = text.split_once('+').map_or(text, |(version, _)| version);
        let (core, pre_release) = match without_build.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (without_build, None),
        };
        let mut parts = core.split('.');
        let mut numbers = [0_u64; 3];
        for number in &mut numbers {
            let part = parts.next()?;
            if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            *number = part.parse().ok()?;
        }
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            core: numbers,
            pre_release,
        })
    }

    fn cmp_precedence(&self, other: &Self) -> Ordering {
        self.core
            .cmp(&other.core)
            .then_with(|| match (self.pre_release, other.pre_release) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(left), Some(right)) => compare_pre_release(left, right),
            })
    }
}

fn compare_pre_release(left: &str, right: &str) -> Ordering {
    let left: Vec<&str> = left.split('.').collect();
    let right: Vec<&str> = right.split('.').collect();
    for (left, right) in left.iter().zip(&right) {
        let ordering = match (left.parse::<u64>(), right.parse::<u64>()) {
            (Ok(left), Ok(right)) => left.cmp(&right),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => left.cmp(right),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    left.len().cmp(&right.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_comparison_is_strict_and_refuses_odd_versions() {
        assert!(plugin_version_greater("3.0.197.0", "3.0.196.0"));
        assert!(plugin_version_greater("3.3.1142.0", "3.1.1511.0"));
        assert!(plugin_version_greater("10.0.0.0", "9.9.9.9"));
        assert!(!plugin_version_greater("3.0.196.0", "3.0.196.0"));
        assert!(!plugin_version_greater("3.0.195.9", "3.0.196.0"));
        assert!(
            !plugin_version_greater("4.0.0", "3.0.196.0"),
            "component counts differ"
        );
        assert!(
            !plugin_version_greater("3.0.x.0", "3.0.196.0"),
            "non-numeric"
        );
        // Like Go, the first differing component decides before a later bad one is parsed.
        assert!(plugin_version_greater("4.0.x.0", "3.0.196.0"));
        assert!(!plugin_version_greater("", "3.0.196.0"));
    }

    #[test]
    fn agent_comparison_matches_the_reference_examples() {
        assert_eq!(
            agent_version_compare("1.2.0.0", "1.1.70"),
            Ordering::Greater
        );
        assert_eq!(agent_version_compare("", "1.1.70"), Ordering::Less);
        assert_eq!(
            agent_version_compare("1.2.764.0", "1.2.331.0"),
            Ordering::Greater
        );
        assert_eq!(
            agent_version_compare("1.2.331.0", "1.2.331.0"),
            Ordering::Equal
        );
        assert_eq!(
            agent_version_compare("1.2.331.0.1", "1.2.331.0"),
            Ordering::Greater
        );
        assert_eq!(agent_version_compare("1.1.70", "1.1.70"), Ordering::Equal);
        assert_eq!(agent_version_compare("1.1.9", "1.1.70"), Ordering::Less);
        // Semver: a pre-release sorts before its release.
        assert_eq!(
            agent_version_compare("1.1.70-beta", "1.1.70"),
            Ordering::Less
        );
        assert_eq!(
            agent_version_compare("1.1.70-2", "1.1.70-10"),
            Ordering::Less
        );
        assert_eq!(
            agent_version_compare("1.1.70-a", "1.1.70-1"),
            Ordering::Greater
        );
        // Component-wise text comparison when a part is not numeric.
        assert_eq!(
            agent_version_compare("1.x.0.0", "1.1.70"),
            Ordering::Greater
        );
    }

    #[test]
    fn client_mode_follows_the_agent_version() {
        let port = Some(LOCAL_PORT_FORWARDING);
        assert_eq!(
            client_forwarding_mode(port, "3.3.1142.0", CLIENT_VERSION),
            ForwardingMode::Mux(SmuxKeepAlive::Disabled)
        );
        assert_eq!(
            client_forwarding_mode(port, "3.1.1511.0", CLIENT_VERSION),
            ForwardingMode::Mux(SmuxKeepAlive::Required)
        );
        assert_eq!(
            client_forwarding_mode(port, "3.0.196.0", CLIENT_VERSION),
            ForwardingMode::Basic
        );
        assert_eq!(
            client_forwarding_mode(None, "3.3.1142.0", CLIENT_VERSION),
            ForwardingMode::StandardStream
        );
        // plugin#93: an old client version keeps the agent's keep-alive on, so we must send NOPs.
        assert_eq!(
            client_forwarding_mode(port, "3.3.1142.0", "1.2.0.0"),
            ForwardingMode::Mux(SmuxKeepAlive::Required)
        );
    }

    #[test]
    fn both_ends_agree_for_our_client_version() {
        let port = Some(LOCAL_PORT_FORWARDING);
        for (agent_version, client_version) in [
            ("3.3.1142.0", CLIENT_VERSION),
            ("3.1.1511.0", CLIENT_VERSION),
            ("3.3.1142.0", "1.2.331.0"),
            ("3.1.1511.0", "1.2.331.0"),
        ] {
            let client = client_forwarding_mode(port, agent_version, client_version);
            let agent = agent_forwarding_mode(port, client_version);
            let ForwardingMode::Mux(client_keepalive) = client else {
                panic!("{agent_version}: expected mux, got {client:?}");
            };
            // Keep-alive is safe when the client sends NOPs whenever the agent expects them.
            if agent == ForwardingMode::Mux(SmuxKeepAlive::Required) {
                assert_eq!(client_keepalive, SmuxKeepAlive::Required, "{agent_version}");
            }
        }
        assert_eq!(agent_forwarding_mode(port, "1.1.69"), ForwardingMode::Basic);
        assert_eq!(
            agent_forwarding_mode(None, CLIENT_VERSION),
            ForwardingMode::Basic
        );
    }
}
