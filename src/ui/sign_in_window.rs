//! The sign-in window: while an SSO device authorization waits for the user, shows the code to
//! confirm and the page (opened in the browser at once), with Copy and Cancel.

use crate::jobs::JobId;

/// A sign-in waiting for the user.
pub struct SignInPrompt {
    /// The profile signing in.
    pub profile: String,
    /// The job polling for approval.
    pub job: JobId,
    /// The code to confirm.
    pub user_code: String,
    /// The page to open.
    pub url: String,
}

/// What the user asked for in the sign-in window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum SignInAction {
    /// Give up: cancel the polling job.
    Cancel(JobId),
}

/// Draws the window; returns the user's action.
pub fn sign_in_window(ctx: &egui::Context, prompt: &SignInPrompt) -> Option<SignInAction> {
    let mut action = None;
    egui::Window::new(format!("Sign in to {}", prompt.profile))
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_TOP, [0.0, 120.0])
        .show(ctx, |ui| {
            ui.label("Confirm this code on the IAM Identity Center page in your browser:");
            ui.label(
                egui::RichText::new(&prompt.user_code)
                    .monospace()
                    .size(24.0)
                    .strong(),
            );
            ui.add(egui::Label::new(egui::RichText::new(&prompt.url).small().weak()).wrap());
            ui.horizontal(|ui| {
                if ui.button("Open browser").clicked() {
                    ui.ctx().open_url(egui::OpenUrl::new_tab(&prompt.url));
                }
                if ui.button("Copy code").clicked() {
                    ui.ctx().copy_text(prompt.user_code.clone());
                }
                if ui.button("Cancel sign-in").clicked() {
                    action = Some(SignInAction::Cancel(prompt.job));
                }
                ui.spinner();
            });
        });
    action
}
