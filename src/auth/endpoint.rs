//! What an RDS endpoint name says about itself: its region. Tokens must be signed for the
//! database's region, which is often not the profile's, so a region read from the endpoint beats
//! the profile's default — and an unknown one is asked for, never guessed.

/// The region in an RDS endpoint name: `<name>.<id>.<region>.rds.amazonaws.com` (also `.com.cn`
/// in China and the `proxy-…` names of RDS Proxy). `None` for other names (IP addresses,
/// aliases): the caller must then be told to give the region.
pub fn region_from_host(host: &str) -> Option<String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let rest = host
        .strip_suffix(".rds.amazonaws.com")
        .or_else(|| host.strip_suffix(".rds.amazonaws.com.cn"))?;
    let (_name, region) = rest.rsplit_once('.')?;
    looks_like_region(region).then(|| region.to_owned())
}

/// `xx-name-9`, `us-gov-west-1`, `cn-north-1`: letters, dash-separated words, a number last.
fn looks_like_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    words.len() >= 2
        && words
            .iter()
            .all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()))
        && !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_comes_from_rds_host_names_only() {
        let cases = [
            (
                "mydb.abc123xyz.eu-west-1.rds.amazonaws.com",
                Some("eu-west-1"),
            ),
            (
                "MyDB.abc.AP-SOUTHEAST-2.rds.amazonaws.com.",
                Some("ap-southeast-2"),
            ),
            (
                "orders.cluster-ro-abc.us-gov-west-1.rds.amazonaws.com",
                Some("us-gov-west-1"),
            ),
            (
                "px.proxy-abc.eu-central-1.rds.amazonaws.com",
                Some("eu-central-1"),
            ),
            (
                "mydb.abc.cn-north-1.rds.amazonaws.com.cn",
                Some("cn-north-1"),
            ),
            ("rds.amazonaws.com", None),
            ("db.internal.example.com", None),
            ("127.0.0.1", None),
            ("mydb.abc.notaregion.rds.amazonaws.com", None),
        ];
        for (host, region) in cases {
            assert_eq!(region_from_host(host).as_deref(), region, "{host}");
        }
    }
}
