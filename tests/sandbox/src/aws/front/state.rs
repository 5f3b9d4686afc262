//! What the AWS front knows besides moto: denied actions, custom proxy and cluster endpoints,
//! instances with an SSM agent, the fake Identity Center and the fake Session Manager. Shared between the front's tasks and the
//! [`crate::AwsSandbox`] methods tests call, behind one mutex never held across an `await`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::aws::identity_center::{DeviceApproval, IdentityCenter};
use crate::aws::ssm_fake::SsmSessions;

/// The state, shared.
pub(crate) type SharedState = Arc<Mutex<FrontState>>;

/// Locks the state; a panic elsewhere while holding it leaves plain data, still usable.
pub(crate) fn lock(state: &SharedState) -> MutexGuard<'_, FrontState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A proxy endpoint other than the default one (moto knows none).
#[derive(Debug, Clone)]
pub(crate) struct CustomProxyEndpoint {
    pub(crate) region: String,
    pub(crate) proxy_name: String,
    pub(crate) name: String,
    /// `READ_WRITE` or `READ_ONLY`.
    pub(crate) target_role: String,
}

/// A custom Aurora cluster endpoint (moto knows none; the writer and reader endpoints come from
/// the cluster).
#[derive(Debug, Clone)]
pub(crate) struct CustomClusterEndpoint {
    pub(crate) region: String,
    pub(crate) cluster_identifier: String,
    /// `DBClusterEndpointIdentifier`.
    pub(crate) identifier: String,
    /// `CustomEndpointType`: `READER` or `ANY`.
    pub(crate) custom_type: String,
    /// `StaticMembers`: DB instance identifiers.
    pub(crate) static_members: Vec<String>,
}

/// An EC2 instance whose SSM agent reports to SSM.
#[derive(Debug, Clone)]
pub(crate) struct SsmManagedInstance {
    pub(crate) region: String,
    pub(crate) instance_id: String,
    pub(crate) ip_address: String,
    pub(crate) computer_name: String,
}

/// Everything the front serves itself.
pub(crate) struct FrontState {
    /// Denied actions: `DescribeDBProxies`, or with the service, `rds:DescribeDBProxies`.
    denied: BTreeSet<String>,
    pub(crate) proxy_endpoints: Vec<CustomProxyEndpoint>,
    pub(crate) cluster_endpoints: Vec<CustomClusterEndpoint>,
    pub(crate) ssm_instances: Vec<SsmManagedInstance>,
    pub(crate) identity_center: IdentityCenter,
    /// The fake Session Manager: sessions, their records and the fault knobs.
    pub(crate) ssm: SsmSessions,
}

impl FrontState {
    /// Nothing denied, no extra endpoints or instances, no SSO clients.
    pub(crate) fn new(approval: DeviceApproval) -> Self {
        Self {
            denied: BTreeSet::new(),
            proxy_endpoints: Vec::new(),
            cluster_endpoints: Vec::new(),
            ssm_instances: Vec::new(),
            identity_center: IdentityCenter::new(approval),
            ssm: SsmSessions::default(),
        }
    }

    /// From now on `action` answers `AccessDenied`.
    pub(crate) fn deny(&mut self, action: &str) {
        self.denied.insert(action.trim().to_owned());
    }

    /// Undoes [`FrontState::deny`].
    pub(crate) fn allow(&mut self, action: &str) {
        self.denied.remove(action.trim());
    }

    /// Whether `service:action` is denied, by its bare name or with the service prefix
    /// (`service` is the `SigV4` signing name, `rds`, `ssm`, …).
    pub(crate) fn is_denied(&self, service: &str, action: &str) -> bool {
        self.denied.contains(action) || self.denied.contains(&format!("{service}:{action}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_matches_bare_and_prefixed_names() {
        let mut state = FrontState::new(DeviceApproval::Manual);
        state.deny("DescribeDBProxies");
        state.deny("ssm:DescribeInstanceInformation");
        assert!(state.is_denied("rds", "DescribeDBProxies"));
        assert!(state.is_denied("ssm", "DescribeInstanceInformation"));
        assert!(!state.is_denied("ec2", "DescribeInstanceInformation"));
        assert!(!state.is_denied("rds", "DescribeDBInstances"));
        state.allow("DescribeDBProxies");
        assert!(!state.is_denied("rds", "DescribeDBProxies"));
    }
}
