//! The Plan view: an `EXPLAIN (FORMAT JSON)` result as an indented tree — node, what it works
//! on, estimated cost and rows, and with ANALYZE the actual rows, loops, total and own time,
//! the own time shaded by its share of the execution.

use std::fmt::Write as _;

use egui::RichText;

use crate::query::explain::{Plan, PlanNode};

/// Draws `plan`.
pub fn plan_ui(ui: &mut egui::Ui, plan: &Plan) {
    ui.horizontal(|ui| {
        if let Some(planning) = plan.planning_millis {
            ui.label(format!("Planning {planning:.3} ms"));
        }
        if let Some(execution) = plan.execution_millis {
            ui.label(format!("Execution {execution:.3} ms"));
        }
    });
    let total = plan.execution_millis.or(plan.root.inclusive_millis());
    egui::ScrollArea::both()
        .id_salt("plan")
        .auto_shrink([false, false])
        .show(ui, |ui| node_ui(ui, &plan.root, 0, total));
}

fn node_ui(ui: &mut egui::Ui, node: &PlanNode, depth: usize, total: Option<f64>) {
    ui.horizontal(|ui| {
        ui.add_space(depth as f32 * 18.0);
        if depth > 0 {
            ui.weak("->");
        }
        if let (Some(own), Some(total)) = (node.exclusive_millis(), total) {
            let share = if total > 0.0 {
                (own / total) as f32
            } else {
                0.0
            };
            let color = ui
                .visuals()
                .error_fg_color
                .gamma_multiply(share.clamp(0.05, 1.0));
            ui.label(
                RichText::new(format!("{own:.3} ms"))
                    .monospace()
                    .background_color(color),
            )
            .on_hover_text(format!("Own time, {:.0}% of the execution", share * 100.0));
        }
        ui.strong(&node.node_type);
        if !node.detail.is_empty() {
            ui.label(&node.detail);
        }
        let mut figures = format!("cost {:.2} · est. {} rows", node.total_cost, node.plan_rows);
        if let Some(actual) = node.actual {
            let _ = write!(
                figures,
                " · actual {} rows x {} loops · {:.3} ms",
                actual.rows, actual.loops, actual.total_millis
            );
        }
        ui.weak(figures);
    });
    for child in &node.children {
        node_ui(ui, child, depth + 1, total);
    }
}
