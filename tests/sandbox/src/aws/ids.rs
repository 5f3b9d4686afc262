//! Identifiers the AWS front invents: per-instance `DbiResourceId`s (moto gives every instance
//! the same one), and unguessable tokens, codes and request ids.
//!
//! Deterministic ids hash their input with SHA-256; random ones hash a per-process random seed,
//! a counter and the clock. Nothing here is cryptographically meaningful: it only has to be
//! distinct and look like AWS's.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::BuildHasher as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};

/// RFC 4648 base32 alphabet, the one AWS resource ids use.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Letters of device user codes: no vowels (no words) and nothing that reads as a digit.
const USER_CODE_LETTERS: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// What moto 5.2.5 reports as `DbiResourceId` for every DB instance.
pub(crate) const MOTO_DBI_RESOURCE_ID: &str = "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U";

/// The `DbiResourceId` the sandbox reports for `db_instance_identifier`: `db-` and 26 base32
/// characters of a hash of the identifier, so the same name always gets the same id (in every
/// region and every sandbox), and IAM auth tokens and `rds-db:connect` ARNs can tell instances
/// apart.
pub fn dbi_resource_id(db_instance_identifier: &str) -> String {
    let digest = Sha256::digest(format!("rds-sandbox/dbi/{db_instance_identifier}"));
    format!("db-{}", base32(&digest, 26))
}

/// The `DBClusterEndpointResourceIdentifier` of a cluster endpoint, `key` naming it (cluster
/// ARN, endpoint type and identifier): `cluster-endpoint-` and 20 base32 characters of a hash of
/// `key`, stable for the endpoint's life as on AWS.
pub(crate) fn cluster_endpoint_resource_id(key: &str) -> String {
    let digest = Sha256::digest(format!("rds-sandbox/cluster-endpoint/{key}"));
    format!("cluster-endpoint-{}", base32(&digest, 20))
}

/// `len` base32 characters of `bytes` (which must hold at least `len * 5` bits).
fn base32(bytes: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        if out.len() == len {
            break;
        }
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 && out.len() < len {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
        // At most 4 bits stay, so the next shift by 8 cannot overflow.
        buffer &= (1 << bits) - 1;
    }
    out
}

/// 32 fresh random bytes.
fn random_bytes() -> [u8; 32] {
    static SEED: LazyLock<u64> = LazyLock::new(|| RandomState::new().hash_one("rds-sandbox"));
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let mut hasher = Sha256::new();
    hasher.update(SEED.to_le_bytes());
    hasher.update(count.to_le_bytes());
    hasher.update(nanos.to_le_bytes());
    hasher.finalize().into()
}

/// `len` (at most 51) random base32 characters.
fn random_base32(len: usize) -> String {
    base32(&random_bytes(), len)
}

/// A random opaque token: `prefix` and 48 characters of base32.
pub(crate) fn token(prefix: &str) -> String {
    format!("{prefix}{}", random_base32(48).to_ascii_lowercase())
}

/// A random upper-case alphanumeric string of `len` (at most 51) characters, like an access key
/// id's tail.
pub(crate) fn upper(len: usize) -> String {
    random_base32(len)
}

/// A device flow user code as AWS shows it: `ABCD-EFGH`.
pub(crate) fn user_code() -> String {
    let bytes = random_bytes();
    let mut code = String::with_capacity(9);
    for (index, byte) in bytes.iter().take(8).enumerate() {
        if index == 4 {
            code.push('-');
        }
        code.push(char::from(
            USER_CODE_LETTERS[usize::from(*byte) % USER_CODE_LETTERS.len()],
        ));
    }
    code
}

/// A request id in the format AWS uses for query APIs (a UUID).
pub(crate) fn request_id() -> String {
    let mut id = [0; 16];
    id.copy_from_slice(&random_bytes()[..16]);
    uuid_text(&id)
}

/// Lowercase hyphenated text of a UUID in RFC 4122 byte order.
pub(crate) fn uuid_text(id: &[u8; 16]) -> String {
    let hex = id.iter().fold(String::with_capacity(32), |mut hex, byte| {
        // Writing to a String cannot fail.
        _ = write!(hex, "{byte:02x}");
        hex
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbi_resource_ids_are_stable_distinct_and_shaped_like_moto_s() {
        let one = dbi_resource_id("sandboxdb");
        assert_eq!(one, dbi_resource_id("sandboxdb"));
        assert_ne!(one, dbi_resource_id("legacy-mysql"));
        assert_eq!(one.len(), MOTO_DBI_RESOURCE_ID.len());
        assert!(one.starts_with("db-"));
        assert!(one[3..].bytes().all(|byte| BASE32.contains(&byte)));
    }

    #[test]
    fn cluster_endpoint_resource_ids_are_stable_and_distinct() {
        let writer = cluster_endpoint_resource_id("arn:…:cluster:orders/WRITER/orders");
        assert_eq!(
            writer,
            cluster_endpoint_resource_id("arn:…:cluster:orders/WRITER/orders")
        );
        assert_ne!(
            writer,
            cluster_endpoint_resource_id("arn:…:cluster:orders/READER/orders")
        );
        assert_eq!(writer.len(), "cluster-endpoint-".len() + 20);
    }

    #[test]
    fn base32_matches_rfc_4648() {
        // RFC 4648 test vector: BASE32("foobar") = "MZXW6YTBOI======"; the 10th character
        // needs padding bits, which this encoder (for hashes) never adds.
        assert_eq!(base32(b"foobar", 9), "MZXW6YTBO");
    }

    #[test]
    fn random_values_differ_and_have_their_shape() {
        assert_ne!(token("a"), token("a"));
        let code = user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(code.as_bytes()[4], b'-');
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
        assert_eq!(upper(16).len(), 16);
    }
}
