//! IAM tokens reused for a while: every physical connection needs a token, but signing one means
//! resolving credentials (an SSO or STS round trip when they are stale). A token is valid for
//! 15 minutes; we hand out a cached one for at most [`MAX_AGE`] so that a connection opened with
//! it has a minute to log in. Keyed by everything inside the signature plus the identity that
//! signed, so a changed profile or role never reuses another identity's token.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;

use super::token::{TokenError, TokenRequest, sign_token};
use crate::secret::Secret;

/// The oldest token handed out again.
pub const MAX_AGE: Duration = Duration::from_mins(14);

/// What a cached token is valid for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct TokenKey {
    host: String,
    port: u16,
    region: String,
    user: String,
    /// The access key id that signed: one per identity (and per role session).
    identity: String,
}

/// A token and when it was signed.
#[derive(Clone, Debug)]
pub struct CachedToken {
    /// The token (the password for the login).
    pub token: Secret,
    /// When it was signed: its age goes into the diagnosis of a failed login.
    pub signed_at: SystemTime,
}

/// Tokens by endpoint, port, region, user and identity.
#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<TokenKey, CachedToken>>,
}

impl TokenCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token for `request` signed by `credentials`: the cached one when it is younger than
    /// [`MAX_AGE`] at `now`, else a new one signed at `now` (and cached).
    pub fn get_or_sign(
        &self,
        request: &TokenRequest,
        credentials: &Credentials,
        now: SystemTime,
    ) -> Result<CachedToken, TokenError> {
        let key = TokenKey {
            host: request.host.clone(),
            port: request.port,
            region: request.region.clone(),
            user: request.user.clone(),
            identity: credentials.access_key_id().to_owned(),
        };
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Credentials that expire make their tokens invalid too; a clock that went backwards
        // makes the age unknown. Either way: sign again.
        let fresh = |cached: &CachedToken| {
            now.duration_since(cached.signed_at)
                .is_ok_and(|age| age < MAX_AGE)
                && credentials.expiry().is_none_or(|expiry| expiry > now)
        };
        if let Some(cached) = entries.get(&key).filter(|cached| fresh(cached)) {
            return Ok(cached.clone());
        }
        let token = CachedToken {
            token: sign_token(request, credentials, now)?,
            signed_at: now,
        };
        entries.retain(|_, cached| fresh(cached));
        entries.insert(key, token.clone());
        Ok(token)
    }

    /// Forgets every token (after a sign-in or a failed login with a cached token).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(key: &str) -> Credentials {
        Credentials::new(key, "secret", None, None, "test")
    }

    #[test]
    fn a_token_is_reused_for_14_minutes_then_signed_again() {
        let cache = TokenCache::new();
        let request =
            TokenRequest::new("db.abc.eu-west-1.rds.amazonaws.com", 5432, "eu-west-1", "u");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let first = cache
            .get_or_sign(&request, &credentials("AKIA1"), t0)
            .unwrap();
        let later = t0 + Duration::from_mins(13) + Duration::from_secs(59);
        let again = cache
            .get_or_sign(&request, &credentials("AKIA1"), later)
            .unwrap();
        assert_eq!(first.token, again.token);
        assert_eq!(again.signed_at, t0);
        let stale = t0 + MAX_AGE;
        let renewed = cache
            .get_or_sign(&request, &credentials("AKIA1"), stale)
            .unwrap();
        assert_ne!(renewed.token, first.token);
        assert_eq!(renewed.signed_at, stale);
    }

    #[test]
    fn another_identity_user_port_or_clock_gets_its_own_token() {
        let cache = TokenCache::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let request =
            TokenRequest::new("db.abc.eu-west-1.rds.amazonaws.com", 5432, "eu-west-1", "u");
        let first = cache
            .get_or_sign(&request, &credentials("AKIA1"), t0)
            .unwrap();
        let other_key = cache
            .get_or_sign(&request, &credentials("AKIA2"), t0)
            .unwrap();
        assert_ne!(first.token, other_key.token);
        let mut other_port = request.clone();
        other_port.port = 5433;
        assert_ne!(
            cache
                .get_or_sign(&other_port, &credentials("AKIA1"), t0)
                .unwrap()
                .token,
            first.token
        );
        let mut other_user = request.clone();
        other_user.user = "v".into();
        assert_ne!(
            cache
                .get_or_sign(&other_user, &credentials("AKIA1"), t0)
                .unwrap()
                .token,
            first.token
        );
        // The clock went back: the age is unknown, so sign again.
        let back = t0 - Duration::from_mins(1);
        assert_eq!(
            cache
                .get_or_sign(&request, &credentials("AKIA1"), back)
                .unwrap()
                .signed_at,
            back
        );
    }

    #[test]
    fn expired_credentials_are_not_served_from_the_cache() {
        let cache = TokenCache::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let expiring = Credentials::new(
            "ASIA1",
            "s",
            Some("tok".into()),
            Some(t0 + Duration::from_mins(1)),
            "t",
        );
        let request =
            TokenRequest::new("db.abc.eu-west-1.rds.amazonaws.com", 5432, "eu-west-1", "u");
        cache.get_or_sign(&request, &expiring, t0).unwrap();
        let after = t0 + Duration::from_mins(2);
        assert!(matches!(
            cache.get_or_sign(&request, &expiring, after),
            Err(TokenError::CredentialsExpired)
        ));
    }
}
