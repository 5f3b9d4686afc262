//! The banner under the title bar for start-up problems (a corrupt settings file kept aside, a
//! database from a newer version). Each can be dismissed.

use crate::store::StartupProblem;

/// Draws the banner; returns the index of a dismissed problem.
pub fn banner_ui(ui: &mut egui::Ui, problems: &[StartupProblem]) -> Option<usize> {
    let mut dismissed = None;
    for (index, problem) in problems.iter().enumerate() {
        egui::Frame::new()
            .fill(ui.visuals().warn_fg_color.gamma_multiply(0.15))
            .inner_margin(egui::Margin::symmetric(8, 6))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(format!("Warning: {problem}"))
                            .color(ui.visuals().warn_fg_color),
                    )
                    .wrap(),
                );
                ui.horizontal(|ui| {
                    if ui.button("Dismiss").clicked() {
                        dismissed = Some(index);
                    }
                    if ui.button("Copy details").clicked() {
                        ui.ctx().copy_text(problem.to_string());
                    }
                });
            });
    }
    dismissed
}
