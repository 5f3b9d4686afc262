//! The fake IAM Identity Center behind the front's SSO OIDC and SSO portal endpoints: registered
//! clients, device authorizations (approved by a test, a person on the device page, or at once),
//! and the access and refresh tokens issued for them.
//!
//! Pure state with the clock passed in (epoch seconds); the HTTP shapes are in `front/sso.rs`.

use std::collections::HashMap;

use serde::Serialize;

use crate::aws::ids;

/// How long a client registration is valid (AWS: 90 days).
pub(crate) const CLIENT_LIFETIME_SECS: u64 = 90 * 24 * 3600;
/// How long a device code may be redeemed (AWS: 10 minutes).
pub(crate) const DEVICE_CODE_LIFETIME_SECS: u64 = 600;
/// How long an access token is valid (AWS: 8 hours).
pub(crate) const ACCESS_TOKEN_LIFETIME_SECS: u64 = 8 * 3600;

/// Whether device authorizations need an approval, as a person gives it in the browser.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceApproval {
    /// Pending until approved (`AwsSandbox::approve`, `POST /sandbox/approve`, or the device
    /// page at `verificationUriComplete`).
    #[default]
    Manual,
    /// Approved the moment they start: `CreateToken` succeeds on the first poll.
    Automatic,
}

/// Why `CreateToken` (or another OIDC call) failed; each is one OIDC exception.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OidcError {
    /// Unknown client id, wrong secret, or an expired registration.
    InvalidClient,
    /// Unknown or already redeemed device code, or an unknown refresh token.
    InvalidGrant,
    /// Nobody approved the user code yet.
    AuthorizationPending,
    /// The device code's 10 minutes are over.
    ExpiredToken,
    /// A grant type other than device code or refresh token.
    UnsupportedGrantType,
}

/// A `CreateToken` request, as far as the fake looks at it.
pub(crate) struct TokenRequest<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) client_secret: &'a str,
    pub(crate) grant_type: &'a str,
    pub(crate) device_code: Option<&'a str>,
    pub(crate) refresh_token: Option<&'a str>,
}

/// A new access token with its refresh token.
pub(crate) struct IssuedToken {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) expires_in_secs: u64,
}

struct Client {
    secret: String,
    expires_at: u64,
}

struct DeviceAuthorization {
    client_id: String,
    user_code: String,
    expires_at: u64,
    approved: bool,
}

/// Clients, device authorizations and tokens.
#[derive(Default)]
pub(crate) struct IdentityCenter {
    approval: DeviceApproval,
    clients: HashMap<String, Client>,
    /// By device code.
    devices: HashMap<String, DeviceAuthorization>,
    /// Access token → expiry.
    access_tokens: HashMap<String, u64>,
    /// Refresh token → client id.
    refresh_tokens: HashMap<String, String>,
}

impl IdentityCenter {
    /// An empty identity center approving device authorizations as `approval` says.
    pub(crate) fn new(approval: DeviceApproval) -> Self {
        Self {
            approval,
            ..Self::default()
        }
    }

    /// `RegisterClient`: a new client id and secret, valid 90 days from `now`.
    pub(crate) fn register_client(&mut self, now: u64) -> (String, String, u64) {
        let id = ids::token("client-");
        let secret = ids::token("secret-");
        let expires_at = now + CLIENT_LIFETIME_SECS;
        self.clients.insert(
            id.clone(),
            Client {
                secret: secret.clone(),
                expires_at,
            },
        );
        (id, secret, expires_at)
    }

    /// `StartDeviceAuthorization`: a device code and the user code a person would type.
    pub(crate) fn start_device_authorization(
        &mut self,
        client_id: &str,
        client_secret: &str,
        now: u64,
    ) -> Result<(String, String), OidcError> {
        self.check_client(client_id, client_secret, now)?;
        let device_code = ids::token("device-");
        let user_code = ids::user_code();
        self.devices.insert(
            device_code.clone(),
            DeviceAuthorization {
                client_id: client_id.to_owned(),
                user_code: user_code.clone(),
                expires_at: now + DEVICE_CODE_LIFETIME_SECS,
                approved: self.approval == DeviceApproval::Automatic,
            },
        );
        Ok((device_code, user_code))
    }

    /// `CreateToken` for the device code and refresh token grants.
    pub(crate) fn create_token(
        &mut self,
        request: &TokenRequest<'_>,
        now: u64,
    ) -> Result<IssuedToken, OidcError> {
        self.check_client(request.client_id, request.client_secret, now)?;
        match request.grant_type {
            "urn:ietf:params:oauth:grant-type:device_code" => {
                let code = request.device_code.ok_or(OidcError::InvalidGrant)?;
                let device = self.devices.get(code).ok_or(OidcError::InvalidGrant)?;
                if device.client_id != request.client_id {
                    return Err(OidcError::InvalidGrant);
                }
                if now >= device.expires_at {
                    return Err(OidcError::ExpiredToken);
                }
                if !device.approved {
                    return Err(OidcError::AuthorizationPending);
                }
                // A device code is redeemed once.
                self.devices.remove(code);
            }
            "refresh_token" => {
                let refresh = request.refresh_token.ok_or(OidcError::InvalidGrant)?;
                if self.refresh_tokens.get(refresh).map(String::as_str) != Some(request.client_id) {
                    return Err(OidcError::InvalidGrant);
                }
                // Rotated, as AWS does.
                self.refresh_tokens.remove(refresh);
            }
            _ => return Err(OidcError::UnsupportedGrantType),
        }
        Ok(self.issue(request.client_id, now))
    }

    /// Approves the device authorization showing `user_code`; false if there is none pending.
    pub(crate) fn approve(&mut self, user_code: &str) -> bool {
        let pending = self
            .devices
            .values_mut()
            .find(|device| device.user_code == user_code && !device.approved);
        pending.is_some_and(|device| {
            device.approved = true;
            true
        })
    }

    /// Approves every pending device authorization; returns how many.
    pub(crate) fn approve_all_pending(&mut self) -> usize {
        let mut approved = 0;
        for device in self.devices.values_mut().filter(|device| !device.approved) {
            device.approved = true;
            approved += 1;
        }
        approved
    }

    /// Ends every session: all access and refresh tokens stop working (a new device flow is
    /// needed, as when an Identity Center session expires).
    pub(crate) fn expire_tokens(&mut self) {
        self.access_tokens.clear();
        self.refresh_tokens.clear();
    }

    /// Whether `access_token` was issued here and is still valid at `now`.
    pub(crate) fn access_token_valid(&self, access_token: &str, now: u64) -> bool {
        self.access_tokens
            .get(access_token)
            .is_some_and(|expires_at| now < *expires_at)
    }

    /// Forgets `access_token` (`Logout`).
    pub(crate) fn revoke(&mut self, access_token: &str) {
        self.access_tokens.remove(access_token);
    }

    fn check_client(
        &self,
        client_id: &str,
        client_secret: &str,
        now: u64,
    ) -> Result<(), OidcError> {
        match self.clients.get(client_id) {
            Some(client) if client.secret == client_secret && now < client.expires_at => Ok(()),
            _ => Err(OidcError::InvalidClient),
        }
    }

    fn issue(&mut self, client_id: &str, now: u64) -> IssuedToken {
        let access_token = ids::token("aoa");
        let refresh_token = ids::token("aor");
        self.access_tokens
            .insert(access_token.clone(), now + ACCESS_TOKEN_LIFETIME_SECS);
        self.refresh_tokens
            .insert(refresh_token.clone(), client_id.to_owned());
        IssuedToken {
            access_token,
            refresh_token,
            expires_in_secs: ACCESS_TOKEN_LIFETIME_SECS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

    fn device_request<'a>(client: &'a (String, String, u64), code: &'a str) -> TokenRequest<'a> {
        TokenRequest {
            client_id: &client.0,
            client_secret: &client.1,
            grant_type: DEVICE_GRANT,
            device_code: Some(code),
            refresh_token: None,
        }
    }

    #[test]
    fn device_flow_waits_for_approval_then_issues_once() {
        let mut center = IdentityCenter::new(DeviceApproval::Manual);
        let client = center.register_client(1000);
        let (code, user_code) = center
            .start_device_authorization(&client.0, &client.1, 1000)
            .unwrap();
        let request = device_request(&client, &code);
        assert_eq!(
            center.create_token(&request, 1001).err(),
            Some(OidcError::AuthorizationPending)
        );
        assert!(!center.approve("WRONG-CODE"));
        assert!(center.approve(&user_code));
        let token = center.create_token(&request, 1002).unwrap();
        assert!(center.access_token_valid(&token.access_token, 1003));
        assert!(!center.access_token_valid(&token.access_token, 1002 + ACCESS_TOKEN_LIFETIME_SECS));
        assert_eq!(
            center.create_token(&request, 1003).err(),
            Some(OidcError::InvalidGrant)
        );

        let refresh = TokenRequest {
            grant_type: "refresh_token",
            device_code: None,
            refresh_token: Some(&token.refresh_token),
            ..request
        };
        let refreshed = center.create_token(&refresh, 1004).unwrap();
        assert_ne!(refreshed.access_token, token.access_token);
        assert_eq!(
            center.create_token(&refresh, 1005).err(),
            Some(OidcError::InvalidGrant),
            "refresh tokens rotate"
        );

        center.expire_tokens();
        assert!(!center.access_token_valid(&refreshed.access_token, 1006));
    }

    #[test]
    fn automatic_approval_expiry_and_bad_clients() {
        let mut center = IdentityCenter::new(DeviceApproval::Automatic);
        let client = center.register_client(0);
        assert_eq!(
            center
                .start_device_authorization(&client.0, "wrong", 0)
                .err(),
            Some(OidcError::InvalidClient)
        );
        let (code, _) = center
            .start_device_authorization(&client.0, &client.1, 0)
            .unwrap();
        assert_eq!(
            center
                .create_token(&device_request(&client, &code), DEVICE_CODE_LIFETIME_SECS)
                .err(),
            Some(OidcError::ExpiredToken)
        );
        assert!(
            center
                .create_token(&device_request(&client, &code), 1)
                .is_ok()
        );
        let other = TokenRequest {
            grant_type: "authorization_code",
            ..device_request(&client, &code)
        };
        assert_eq!(
            center.create_token(&other, 2).err(),
            Some(OidcError::UnsupportedGrantType)
        );
        assert_eq!(center.approve_all_pending(), 0);
    }
}
