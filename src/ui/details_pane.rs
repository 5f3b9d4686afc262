//! The details pane: every field of the selected resource, each with a copy button, and for
//! databases the SSM targets suggested for a tunnel (same VPC first).

use crate::aws::inventory::{RegionInventory, Tag, suggest_targets};

use super::inventory_tree::Selection;

/// (field, value) rows of one resource.
type Rows = Vec<(&'static str, String)>;

fn opt(value: Option<&str>) -> String {
    value.unwrap_or("-").to_owned()
}

fn list(values: &[String]) -> String {
    if values.is_empty() {
        "-".to_owned()
    } else {
        values.join(", ")
    }
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

fn tags(tags: &[Tag]) -> String {
    if tags.is_empty() {
        return "-".to_owned();
    }
    tags.iter()
        .map(|tag| format!("{}={}", tag.key, tag.value))
        .collect::<Vec<_>>()
        .join(", ")
}

fn port(port: Option<u16>) -> String {
    port.map_or_else(|| "-".to_owned(), |port| port.to_string())
}

/// The title, rows and VPC of the selected resource, if it still exists.
fn rows(
    selection: &Selection,
    inventory: &RegionInventory,
) -> Option<(String, Rows, Option<String>)> {
    match selection {
        Selection::Instance(_, id) => instance_rows(inventory, id),
        Selection::Cluster(_, id) => cluster_rows(inventory, id),
        Selection::Proxy(_, name) => proxy_rows(inventory, name),
        Selection::SsmTarget(_, id) => target_rows(inventory, id),
    }
}

fn instance_rows(inventory: &RegionInventory, id: &str) -> Option<(String, Rows, Option<String>)> {
    let db = inventory.instances.iter().find(|db| db.id == id)?;
    let rows = vec![
        ("Identifier", db.id.clone()),
        ("Region", db.region.clone()),
        ("Engine", format!("{} {}", db.engine, db.engine_version)),
        ("Status", db.status.clone()),
        ("Class", db.instance_class.clone()),
        ("Endpoint", opt(db.endpoint.as_deref())),
        ("Port", port(db.port)),
        ("IAM auth", yes_no(db.iam_auth_enabled)),
        ("DbiResourceId", db.dbi_resource_id.clone()),
        ("Cluster", opt(db.cluster_id.as_deref())),
        ("VPC", opt(db.vpc_id.as_deref())),
        ("Subnets", list(&db.subnets)),
        ("Security groups", list(&db.security_groups)),
        ("Publicly accessible", yes_no(db.publicly_accessible)),
        ("Master user", opt(db.master_username.as_deref())),
        (
            "Master user secret",
            opt(db.master_user_secret_arn.as_deref()),
        ),
        ("Tags", tags(&db.tags)),
    ];
    Some((format!("Instance {}", db.id), rows, db.vpc_id.clone()))
}

fn cluster_rows(inventory: &RegionInventory, id: &str) -> Option<(String, Rows, Option<String>)> {
    let cluster = inventory.clusters.iter().find(|cluster| cluster.id == id)?;
    let mut rows = vec![
        ("Identifier", cluster.id.clone()),
        ("Region", cluster.region.clone()),
        (
            "Engine",
            format!("{} {}", cluster.engine, cluster.engine_version),
        ),
        ("Status", cluster.status.clone()),
        ("Port", port(cluster.port)),
        ("IAM auth", yes_no(cluster.iam_auth_enabled)),
        ("Cluster resource id", cluster.cluster_resource_id.clone()),
    ];
    for endpoint in &cluster.endpoints {
        let field = match endpoint.role {
            crate::aws::inventory::EndpointRole::Writer => "Writer endpoint",
            crate::aws::inventory::EndpointRole::Reader => "Reader endpoint",
            crate::aws::inventory::EndpointRole::Custom => "Custom endpoint",
        };
        rows.push((field, endpoint.address.clone()));
    }
    let members: Vec<String> = cluster
        .members
        .iter()
        .map(|m| {
            if m.is_writer {
                format!("{} (writer)", m.instance_id)
            } else {
                m.instance_id.clone()
            }
        })
        .collect();
    rows.extend([
        ("Members", list(&members)),
        ("VPC", opt(cluster.vpc_id.as_deref())),
        ("Subnets", list(&cluster.subnets)),
        ("Security groups", list(&cluster.security_groups)),
        ("Publicly accessible", yes_no(cluster.publicly_accessible)),
        ("Master user", opt(cluster.master_username.as_deref())),
        (
            "Master user secret",
            opt(cluster.master_user_secret_arn.as_deref()),
        ),
        ("Tags", tags(&cluster.tags)),
    ]);
    Some((
        format!("Cluster {}", cluster.id),
        rows,
        cluster.vpc_id.clone(),
    ))
}

fn proxy_rows(inventory: &RegionInventory, name: &str) -> Option<(String, Rows, Option<String>)> {
    let proxy = inventory.proxies.iter().find(|proxy| proxy.name == name)?;
    let mut rows = vec![
        ("Name", proxy.name.clone()),
        ("Region", proxy.region.clone()),
        ("Proxy id", proxy.proxy_id().to_owned()),
        ("ARN", proxy.arn.clone()),
        ("Engine family", proxy.engine_family.clone()),
        ("Status", proxy.status.clone()),
        ("Endpoint", opt(proxy.endpoint.as_deref())),
        ("Require TLS", yes_no(proxy.require_tls)),
        (
            "Default auth scheme",
            opt(proxy.default_auth_scheme.as_deref()),
        ),
        ("Role", opt(proxy.role_arn.as_deref())),
        ("VPC", opt(proxy.vpc_id.as_deref())),
        ("Subnets", list(&proxy.subnets)),
        ("Security groups", list(&proxy.security_groups)),
    ];
    for auth in &proxy.auth {
        rows.push(("Auth IAM", opt(auth.iam_auth.as_deref())));
        rows.push(("Auth secret", opt(auth.secret_arn.as_deref())));
    }
    for endpoint in &proxy.endpoints {
        let role = endpoint.target_role.as_deref().unwrap_or("-");
        rows.push((
            "Proxy endpoint",
            format!(
                "{} ({role}) {}",
                endpoint.name,
                opt(endpoint.endpoint.as_deref())
            ),
        ));
    }
    for target in &proxy.targets {
        let health = target.health.as_deref().unwrap_or("-");
        rows.push((
            "Target",
            format!(
                "{} {} {health}",
                opt(target.rds_resource_id.as_deref()),
                opt(target.target_type.as_deref())
            ),
        ));
    }
    Some((format!("Proxy {}", proxy.name), rows, proxy.vpc_id.clone()))
}

fn target_rows(inventory: &RegionInventory, id: &str) -> Option<(String, Rows, Option<String>)> {
    let target = inventory
        .ssm_targets
        .iter()
        .find(|target| target.instance_id == id)?;
    let rows = vec![
        ("Instance", target.instance_id.clone()),
        ("Name", opt(target.name.as_deref())),
        ("Region", target.region.clone()),
        ("VPC", opt(target.vpc_id.as_deref())),
        ("Subnet", opt(target.subnet_id.as_deref())),
        ("Private IP", opt(target.private_ip.as_deref())),
        ("Agent", opt(target.ping_status.as_deref())),
        ("Platform", opt(target.platform.as_deref())),
        ("Agent version", opt(target.agent_version.as_deref())),
    ];
    Some((format!("SSM target {}", target.instance_id), rows, None))
}

/// Draws the details of `selection` from `inventory`; `true` when Connect… was pressed.
pub fn details_ui(ui: &mut egui::Ui, selection: &Selection, inventory: &RegionInventory) -> bool {
    let Some((title, rows, vpc)) = rows(selection, inventory) else {
        ui.weak("The selected resource is no longer listed.");
        return false;
    };
    ui.heading(title);
    let mut connect = false;
    if !matches!(selection, Selection::SsmTarget(..)) {
        connect = ui
            .button("Connect…")
            .on_hover_text("Open the connect dialog, filled in from this resource")
            .clicked();
    }
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| {
        // Field names and Copy buttons are short; values take the rest of the pane's width and
        // wrap there (rows laid out one by one, so a tall value never overlaps the next row).
        let label_width = 110.0;
        let value_width = (ui.available_width() - label_width - 70.0).max(120.0);
        let top_left = egui::Layout::top_down(egui::Align::Min);
        for (field, value) in &rows {
            ui.horizontal_top(|ui| {
                ui.allocate_ui_with_layout(egui::vec2(label_width, 0.0), top_left, |ui| {
                    ui.set_width(label_width);
                    ui.weak(*field);
                });
                ui.allocate_ui_with_layout(egui::vec2(value_width, 0.0), top_left, |ui| {
                    ui.set_width(value_width);
                    ui.add(egui::Label::new(value.as_str()).wrap());
                });
                let copy = ui.small_button("Copy");
                let label = format!("Copy {field}");
                copy.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
                if copy.on_hover_text(&label).clicked() {
                    ui.ctx().copy_text(value.clone());
                }
            });
            ui.add_space(2.0);
        }
        if !matches!(selection, Selection::SsmTarget(..)) {
            ui.add_space(8.0);
            ui.strong("Tunnel targets (SSM)");
            let suggested =
                suggest_targets(&inventory.ssm_targets, &inventory.region, vpc.as_deref());
            if suggested.is_empty() {
                ui.weak("No EC2 instance with an online SSM agent in this region.");
            }
            for target in suggested {
                let same_vpc = vpc.is_some() && target.vpc_id == vpc;
                let note = if same_vpc { "same VPC" } else { "other VPC" };
                ui.label(format!(
                    "{} {} ({note})",
                    target.instance_id,
                    target.name.as_deref().unwrap_or("")
                ));
            }
        }
    });
    connect
}
