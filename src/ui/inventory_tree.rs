//! The inventory tree of the open profile: region → Instances / Clusters (→ endpoints) /
//! Proxies (→ endpoints, targets) / SSM targets, with a filter box, cache age, per-call errors on
//! their region, and production-tagged resources marked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::aws::error::{AwsCallError, AwsErrorKind};
use crate::aws::identity::Identity;
use crate::aws::inventory::{RegionInventory, Tag};
use crate::store::ProductionRules;

/// What is selected in the tree (shown in the details pane).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// A DB instance: (region, id).
    Instance(String, String),
    /// A DB cluster: (region, id).
    Cluster(String, String),
    /// An RDS Proxy: (region, name).
    Proxy(String, String),
    /// An SSM target: (region, instance id).
    SsmTarget(String, String),
}

/// What the user asked for in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum InventoryAction {
    /// Fetch again: the profile's region, or every enabled region.
    Refresh { all_regions: bool },
    /// Sign in to the profile's SSO session.
    SignIn,
}

struct RegionNode {
    inventory: RegionInventory,
    /// Shown from the cache, not yet refreshed in this run.
    cached: bool,
    refreshing: bool,
}

/// State of the inventory tree.
#[derive(Default)]
pub struct InventoryView {
    profile: Option<String>,
    regions: BTreeMap<String, RegionNode>,
    identity: Option<Result<Identity, AwsCallError>>,
    filter: String,
    selected: Option<Selection>,
    /// Regions fetched (not from the cache) since the profile was opened.
    fetched_regions: usize,
}

/// How far loading has come, for the start-up probe.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadState {
    /// Instances, clusters and proxies in the tree.
    pub resources: usize,
    /// Whether a region is being fetched.
    pub refreshing: bool,
    /// Regions fetched since the profile was opened.
    pub fetched_regions: usize,
}

impl InventoryView {
    /// The profile shown, if any.
    pub fn profile(&self) -> Option<&str> {
        self.profile.as_deref()
    }

    /// Switches to another profile (clears everything shown).
    pub fn open(&mut self, profile: &str) {
        *self = Self {
            profile: Some(profile.to_owned()),
            filter: std::mem::take(&mut self.filter),
            ..Self::default()
        };
    }

    /// Cached regions arrived.
    pub fn set_cached(&mut self, profile: &str, regions: Vec<RegionInventory>) {
        if self.profile.as_deref() != Some(profile) {
            return;
        }
        for inventory in regions {
            self.regions
                .entry(inventory.region.clone())
                .or_insert(RegionNode {
                    inventory,
                    cached: true,
                    refreshing: false,
                });
        }
    }

    /// A refresh of these regions started.
    pub fn set_refreshing(&mut self, profile: &str, regions: &[String]) {
        if self.profile.as_deref() != Some(profile) {
            return;
        }
        for region in regions {
            let node = self
                .regions
                .entry(region.clone())
                .or_insert_with(|| RegionNode {
                    inventory: RegionInventory {
                        profile: profile.to_owned(),
                        region: region.clone(),
                        ..RegionInventory::default()
                    },
                    cached: true,
                    refreshing: false,
                });
            node.refreshing = true;
        }
    }

    /// Fresh data for one region. A refresh that listed nothing and failed keeps the cached data
    /// on screen (still marked as cached) with the new errors, instead of wiping it.
    pub fn set_region(&mut self, profile: &str, inventory: RegionInventory) {
        if self.profile.as_deref() != Some(profile) {
            return;
        }
        let listed_nothing = inventory.instances.is_empty()
            && inventory.clusters.is_empty()
            && inventory.proxies.is_empty()
            && inventory.ssm_targets.is_empty();
        if listed_nothing
            && !inventory.errors.is_empty()
            && let Some(node) = self.regions.get_mut(&inventory.region)
            && node.cached
        {
            node.inventory.errors = inventory.errors;
            node.refreshing = false;
            self.fetched_regions += 1;
            return;
        }
        self.fetched_regions += 1;
        self.regions.insert(
            inventory.region.clone(),
            RegionNode {
                inventory,
                cached: false,
                refreshing: false,
            },
        );
    }

    /// How far loading has come.
    pub fn load_state(&self) -> LoadState {
        LoadState {
            resources: self
                .regions
                .values()
                .map(|node| {
                    let inventory = &node.inventory;
                    inventory.instances.len() + inventory.clusters.len() + inventory.proxies.len()
                })
                .sum(),
            refreshing: self.regions.values().any(|node| node.refreshing),
            fetched_regions: self.fetched_regions,
        }
    }

    /// The identity preflight finished.
    pub fn set_identity(&mut self, profile: &str, result: Result<Identity, AwsCallError>) {
        if self.profile.as_deref() == Some(profile) {
            self.identity = Some(result);
        }
    }

    /// Whether a call failed because the SSO session expired.
    pub fn needs_sign_in(&self) -> bool {
        let expired = |error: &AwsCallError| error.kind == AwsErrorKind::SsoSignInNeeded;
        matches!(&self.identity, Some(Err(error)) if expired(error))
            || self
                .regions
                .values()
                .any(|node| node.inventory.errors.iter().any(expired))
    }

    /// The selected resource.
    pub fn selected(&self) -> Option<&Selection> {
        self.selected.as_ref()
    }

    /// The inventory of a region.
    pub fn region(&self, region: &str) -> Option<&RegionInventory> {
        self.regions.get(region).map(|node| &node.inventory)
    }

    /// Draws the tree.
    pub fn ui(&mut self, ui: &mut egui::Ui, rules: &ProductionRules) -> Option<InventoryAction> {
        let profile = self.profile.clone()?;
        let mut action = None;
        identity_ui(ui, self.identity.as_ref());
        if self.needs_sign_in() {
            ui.colored_label(ui.visuals().warn_fg_color, "SSO session expired");
            if ui
                .button("Sign in")
                .on_hover_text("Sign in with IAM Identity Center in your browser")
                .clicked()
            {
                action = Some(InventoryAction::SignIn);
            }
        }
        ui.horizontal(|ui| {
            let refreshing = self.regions.values().any(|node| node.refreshing);
            if ui
                .add_enabled(!refreshing, egui::Button::new("Refresh"))
                .on_hover_text("Fetch this profile's region again")
                .clicked()
            {
                action = Some(InventoryAction::Refresh { all_regions: false });
            }
            if ui
                .add_enabled(!refreshing, egui::Button::new("All regions"))
                .on_hover_text("List every region enabled for the account")
                .clicked()
            {
                action = Some(InventoryAction::Refresh { all_regions: true });
            }
            if refreshing {
                ui.spinner();
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    // A fixed id: the lines above it come and go (identity, sign-in), and an
                    // automatic id would change with them and drop the keyboard focus.
                    .id_salt("inventory_filter")
                    .hint_text("name, engine, endpoint, tag")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
        });
        if self.regions.is_empty() {
            ui.weak(format!("Nothing listed for \"{profile}\" yet."));
        }
        let filter = self.filter.trim().to_lowercase();
        let now_secs = time::OffsetDateTime::now_utc().unix_timestamp();
        for (region, node) in &self.regions {
            let inventory = &node.inventory;
            let count =
                inventory.instances.len() + inventory.clusters.len() + inventory.proxies.len();
            let mut title = format!("{region} ({count})");
            if node.refreshing {
                title.push_str(" - refreshing");
            } else if node.cached {
                let _ = write!(
                    title,
                    " - cached {}",
                    age(now_secs - inventory.fetched_at_secs)
                );
            }
            egui::CollapsingHeader::new(title)
                .id_salt(("region", region))
                .default_open(true)
                .show(ui, |ui| {
                    for error in &inventory.errors {
                        ui.colored_label(ui.visuals().error_fg_color, error.to_string())
                            .on_hover_text(error.next_step());
                        ui.weak(error.next_step());
                    }
                    region_ui(ui, region, inventory, &filter, rules, &mut self.selected);
                });
        }
        action
    }
}

fn identity_ui(ui: &mut egui::Ui, identity: Option<&Result<Identity, AwsCallError>>) {
    match identity {
        None => {
            ui.weak("Checking identity…");
        }
        Some(Ok(identity)) => {
            ui.label(format!("Account {}", identity.account))
                .on_hover_text(&identity.arn);
            ui.add(egui::Label::new(egui::RichText::new(&identity.arn).small().weak()).truncate());
            if let Some(warning) = identity.clock_warning() {
                ui.colored_label(ui.visuals().warn_fg_color, warning);
            }
        }
        Some(Err(error)) => {
            ui.colored_label(ui.visuals().error_fg_color, error.to_string());
            ui.label(error.next_step());
        }
    }
}

/// Draws one region's sections; holds what every row needs.
struct RegionTree<'a> {
    region: &'a str,
    filter: &'a str,
    rules: &'a ProductionRules,
    selected: &'a mut Option<Selection>,
}

fn region_ui(
    ui: &mut egui::Ui,
    region: &str,
    inventory: &RegionInventory,
    filter: &str,
    rules: &ProductionRules,
    selected: &mut Option<Selection>,
) {
    let mut tree = RegionTree {
        region,
        filter,
        rules,
        selected,
    };
    tree.instances_ui(ui, inventory);
    tree.clusters_ui(ui, inventory);
    tree.proxies_ui(ui, inventory);
    tree.targets_ui(ui, inventory);
}

impl RegionTree<'_> {
    /// One selectable row; production-tagged resources are marked and coloured.
    fn item(&mut self, ui: &mut egui::Ui, selection: Selection, text: String, tags: &[Tag]) {
        let production = self.rules.matches(
            tags.iter()
                .map(|tag| (tag.key.as_str(), tag.value.as_str())),
        );
        let mut rich = egui::RichText::new(if production {
            format!("{text}  [prod]")
        } else {
            text
        });
        if production {
            rich = rich.color(ui.visuals().warn_fg_color);
        }
        if ui
            .selectable_label(self.selected.as_ref() == Some(&selection), rich)
            .clicked()
        {
            *self.selected = Some(selection);
        }
    }

    fn instances_ui(&mut self, ui: &mut egui::Ui, inventory: &RegionInventory) {
        let instances: Vec<_> = inventory
            .instances
            .iter()
            .filter(|db| {
                matches(
                    self.filter,
                    &[
                        &db.id,
                        &db.engine,
                        db.endpoint.as_deref().unwrap_or_default(),
                    ],
                    &db.tags,
                )
            })
            .collect();
        section(ui, self.region, "Instances", instances.len(), |ui| {
            for db in instances {
                let selection = Selection::Instance(self.region.to_owned(), db.id.clone());
                self.item(ui, selection, format!("{}  {}", db.id, db.engine), &db.tags);
            }
        });
    }

    fn clusters_ui(&mut self, ui: &mut egui::Ui, inventory: &RegionInventory) {
        let clusters: Vec<_> = inventory
            .clusters
            .iter()
            .filter(|cluster| {
                let mut fields = vec![cluster.id.as_str(), cluster.engine.as_str()];
                fields.extend(cluster.endpoints.iter().map(|e| e.address.as_str()));
                matches(self.filter, &fields, &cluster.tags)
            })
            .collect();
        section(ui, self.region, "Clusters", clusters.len(), |ui| {
            for cluster in clusters {
                let selection = Selection::Cluster(self.region.to_owned(), cluster.id.clone());
                self.item(
                    ui,
                    selection,
                    format!("{}  {}", cluster.id, cluster.engine),
                    &cluster.tags,
                );
                ui.indent(("cluster", &cluster.id), |ui| {
                    for endpoint in &cluster.endpoints {
                        let role = format!("{:?}", endpoint.role).to_lowercase();
                        ui.weak(format!(
                            "{role}: {}",
                            endpoint.name.as_deref().unwrap_or(&endpoint.address)
                        ))
                        .on_hover_text(&endpoint.address);
                    }
                });
            }
        });
    }

    fn proxies_ui(&mut self, ui: &mut egui::Ui, inventory: &RegionInventory) {
        let proxies: Vec<_> = inventory
            .proxies
            .iter()
            .filter(|proxy| {
                matches(
                    self.filter,
                    &[
                        &proxy.name,
                        &proxy.engine_family,
                        proxy.endpoint.as_deref().unwrap_or_default(),
                    ],
                    &[],
                )
            })
            .collect();
        section(ui, self.region, "Proxies", proxies.len(), |ui| {
            for proxy in proxies {
                let selection = Selection::Proxy(self.region.to_owned(), proxy.name.clone());
                self.item(
                    ui,
                    selection,
                    format!("{}  {}", proxy.name, proxy.engine_family),
                    &[],
                );
                ui.indent(("proxy", &proxy.name), |ui| {
                    for endpoint in &proxy.endpoints {
                        let role = endpoint
                            .target_role
                            .as_deref()
                            .unwrap_or("endpoint")
                            .to_lowercase();
                        ui.weak(format!("{role}: {}", endpoint.name));
                    }
                    for target in &proxy.targets {
                        ui.weak(format!(
                            "target: {}",
                            target.rds_resource_id.as_deref().unwrap_or("?")
                        ));
                    }
                });
            }
        });
    }

    fn targets_ui(&mut self, ui: &mut egui::Ui, inventory: &RegionInventory) {
        let targets: Vec<_> = inventory
            .ssm_targets
            .iter()
            .filter(|target| {
                matches(
                    self.filter,
                    &[
                        &target.instance_id,
                        target.name.as_deref().unwrap_or_default(),
                    ],
                    &[],
                )
            })
            .collect();
        section(ui, self.region, "SSM targets", targets.len(), |ui| {
            for target in targets {
                let text = format!(
                    "{}  {}",
                    target.name.as_deref().unwrap_or("-"),
                    target.instance_id
                );
                self.item(
                    ui,
                    Selection::SsmTarget(self.region.to_owned(), target.instance_id.clone()),
                    text,
                    &[],
                );
            }
        });
    }
}

fn section(
    ui: &mut egui::Ui,
    region: &str,
    name: &str,
    count: usize,
    body: impl FnOnce(&mut egui::Ui),
) {
    egui::CollapsingHeader::new(format!("{name} ({count})"))
        .id_salt((region, name))
        .default_open(true)
        .show(ui, body);
}

/// Whether any field or tag value contains the (lower-case) filter.
fn matches(filter: &str, fields: &[&str], tags: &[Tag]) -> bool {
    filter.is_empty()
        || fields
            .iter()
            .any(|field| field.to_lowercase().contains(filter))
        || tags.iter().any(|tag| {
            tag.value.to_lowercase().contains(filter) || tag.key.to_lowercase().contains(filter)
        })
}

/// `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`.
fn age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_looks_at_fields_and_tags() {
        let tags = [Tag {
            key: "team".into(),
            value: "Payments".into(),
        }];
        assert!(matches("", &["x"], &[]));
        assert!(matches("pay", &["orders-db"], &tags));
        assert!(matches("orders", &["orders-db"], &[]));
        assert!(!matches("mysql", &["orders-db", "postgres"], &tags));
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age(5), "5 s ago");
        assert_eq!(age(300), "5 min ago");
        assert_eq!(age(7200), "2 h ago");
        assert_eq!(age(-3), "0 s ago");
    }
}
