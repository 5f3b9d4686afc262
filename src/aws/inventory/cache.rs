//! The inventory cache in the app's SQLite file: one entry per profile and region, written after
//! every fetch (GUI refresh or `rds-explorer inventory`) and read at start so the tree shows at once.

use super::RegionInventory;
use crate::store::{CacheEntry, Database, DatabaseError};

/// Cache kind for inventory entries (scope = profile, key = region).
const CACHE_KIND: &str = "inventory";

/// The inventory could not be cached.
#[derive(Debug, thiserror::Error)]
pub enum InventoryCacheError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DatabaseError),
    /// The inventory could not be encoded.
    #[error("could not encode the inventory for the cache: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The cached regions of `profile`, sorted by region. Entries this version cannot read (written
/// by another version) are skipped: the next refresh replaces them.
pub fn load(database: &Database, profile: &str) -> Result<Vec<RegionInventory>, DatabaseError> {
    let entries = database.cache_get(CACHE_KIND, profile)?;
    Ok(entries
        .into_iter()
        .filter_map(|entry| match serde_json::from_str::<RegionInventory>(&entry.data) {
            Ok(inventory) => Some(inventory),
            Err(error) => {
                tracing::info!(region = %entry.key, %error, "ignoring an unreadable cache entry");
                None
            }
        })
        .collect())
}

/// Replaces the cached entry for the inventory's profile and region.
pub fn store(database: &Database, inventory: &RegionInventory) -> Result<(), InventoryCacheError> {
    let entry = CacheEntry {
        key: inventory.region.clone(),
        fetched_at_secs: inventory.fetched_at_secs,
        data: serde_json::to_string(inventory)?,
    };
    database.cache_put(CACHE_KIND, &inventory.profile, &entry)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::inventory::DbInstance;

    fn region(profile: &str, region: &str, ids: &[&str]) -> RegionInventory {
        RegionInventory {
            profile: profile.to_owned(),
            region: region.to_owned(),
            fetched_at_secs: 1_700_000_000,
            instances: ids
                .iter()
                .map(|id| DbInstance {
                    id: (*id).to_owned(),
                    region: region.to_owned(),
                    ..DbInstance::default()
                })
                .collect(),
            ..RegionInventory::default()
        }
    }

    #[test]
    fn stored_regions_read_back_per_profile_and_replace_older_entries() {
        let database = Database::in_memory().unwrap();
        store(&database, &region("a", "us-west-2", &["old"])).unwrap();
        store(&database, &region("a", "us-west-2", &["new-1", "new-2"])).unwrap();
        store(&database, &region("a", "eu-west-1", &["eu"])).unwrap();
        store(&database, &region("b", "us-west-2", &["other-profile"])).unwrap();

        let cached = load(&database, "a").unwrap();
        let regions: Vec<_> = cached.iter().map(|r| r.region.as_str()).collect();
        assert_eq!(regions, ["eu-west-1", "us-west-2"]);
        let ids: Vec<_> = cached[1]
            .instances
            .iter()
            .map(|db| db.id.as_str())
            .collect();
        assert_eq!(ids, ["new-1", "new-2"]);
        assert!(load(&database, "nobody").unwrap().is_empty());
    }

    #[test]
    fn an_entry_this_version_cannot_read_is_skipped() {
        let database = Database::in_memory().unwrap();
        store(&database, &region("a", "us-east-1", &["kept"])).unwrap();
        let unreadable = CacheEntry {
            key: "eu-north-1".to_owned(),
            fetched_at_secs: 1,
            data: r#"{"from":"the future"}"#.to_owned(),
        };
        database.cache_put(CACHE_KIND, "a", &unreadable).unwrap();
        let cached = load(&database, "a").unwrap();
        assert_eq!(cached.len(), 1);
        assert_eq!(cached[0].instances[0].id, "kept");
    }
}
