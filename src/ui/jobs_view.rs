//! The Jobs list in the bottom panel: every running and recently finished job with its progress,
//! a Cancel button, and the error with its next step.

use std::collections::BTreeMap;

use crate::jobs::{JobId, JobOutcome, JobUpdate, Progress};

/// How many finished jobs stay listed.
const KEEP_FINISHED: usize = 50;

struct JobRow {
    title: String,
    progress: Progress,
    status: String,
    outcome: Option<JobOutcome>,
}

/// What the user asked for in the jobs list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum JobsAction {
    /// Cancel this job.
    Cancel(JobId),
}

/// State of the jobs list.
#[derive(Default)]
pub struct JobsView {
    rows: BTreeMap<JobId, JobRow>,
}

impl JobsView {
    /// Applies a job update.
    pub fn apply(&mut self, update: JobUpdate) {
        match update {
            JobUpdate::Started { id, title } => {
                self.rows.insert(
                    id,
                    JobRow {
                        title,
                        progress: Progress::Indeterminate,
                        status: String::new(),
                        outcome: None,
                    },
                );
            }
            JobUpdate::Progress {
                id,
                progress,
                status,
            } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.progress = progress;
                    row.status = status;
                }
            }
            JobUpdate::Finished { id, outcome } => {
                if let Some(row) = self.rows.get_mut(&id) {
                    row.outcome = Some(outcome);
                }
                self.trim_finished();
            }
        }
    }

    /// How many jobs are running.
    pub fn running(&self) -> usize {
        self.rows
            .values()
            .filter(|row| row.outcome.is_none())
            .count()
    }

    fn trim_finished(&mut self) {
        let finished: Vec<JobId> = self
            .rows
            .iter()
            .filter(|(_, row)| row.outcome.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in finished
            .iter()
            .take(finished.len().saturating_sub(KEEP_FINISHED))
        {
            self.rows.remove(id);
        }
    }

    /// Draws the list, newest first.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<JobsAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.label(format!("{} running", self.running()));
            if ui.button("Clear finished").clicked() {
                self.rows.retain(|_, row| row.outcome.is_none());
            }
        });
        if self.rows.is_empty() {
            ui.weak("No jobs yet. Slow work (reading profiles, listing databases, queries) shows up here.");
            return None;
        }
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (id, row) in self.rows.iter().rev() {
                    ui.horizontal(|ui| {
                        ui.label(&row.title);
                        match &row.outcome {
                            None => {
                                let mut bar =
                                    egui::ProgressBar::new(row.progress.fraction().unwrap_or(0.0))
                                        .desired_width(160.0);
                                bar = match row.progress.fraction() {
                                    Some(_) => bar.show_percentage(),
                                    None => bar.animate(true),
                                };
                                ui.add(bar);
                                ui.label(&row.status);
                                let button = ui.button("Cancel");
                                let label = format!("Cancel {}", row.title);
                                button.widget_info(|| {
                                    egui::WidgetInfo::labeled(egui::Role::Button, true, &label)
                                });
                                if button.clicked() {
                                    action = Some(JobsAction::Cancel(*id));
                                }
                            }
                            Some(JobOutcome::Succeeded { summary }) => {
                                ui.label(format!("done: {summary}"));
                            }
                            Some(JobOutcome::Cancelled) => {
                                ui.weak("cancelled");
                            }
                            Some(JobOutcome::Failed(error)) => {
                                ui.colored_label(
                                    ui.visuals().error_fg_color,
                                    format!("failed: {}", error.message),
                                )
                                .on_hover_text(error.to_string());
                                ui.label(format!("Next: {}", error.next_step));
                                if ui.small_button("Copy details").clicked() {
                                    ui.ctx().copy_text(format!("{}: {error}", row.title));
                                }
                            }
                        }
                    });
                }
            });
        action
    }
}
