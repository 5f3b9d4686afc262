//! One function per command. Each runs as its own task; slow ones start a Job.

use std::sync::{Arc, PoisonError};

use super::{Command, Event, Outbox, Shared};
use crate::aws::profiles::load_profiles;
use crate::db::tls::add_pem_file;
use crate::jobs::{Progress, UserError};
use crate::store::{Settings, save_settings};

/// Handles one command.
pub(super) async fn run(command: Command, shared: Arc<Shared>, outbox: Outbox) {
    match command {
        Command::LoadProfiles => load_profiles_job(&shared, outbox),
        Command::OpenProfile { profile } => {
            remember_profile(&shared, profile.clone()).await;
            super::inventory::open_profile(&shared, &outbox, &profile).await;
        }
        Command::RefreshInventory {
            profile,
            all_regions,
        } => {
            super::inventory::refresh(&shared, &outbox, &profile, all_regions).await;
        }
        Command::SaveSettings(settings) => save(&shared, &outbox, settings).await,
        Command::PickCaFile => pick_ca_file(&outbox).await,
        Command::SignIn { profile } => super::sign_in::sign_in(&shared, &outbox, &profile),
        Command::CancelJob(id) => {
            shared.jobs.cancel(id);
        }
        Command::Shutdown { done } => {
            shared.jobs.cancel_all();
            shared.tunnels.shutdown(super::tunnels::SHUTDOWN_WAIT).await;
            // The window may have stopped waiting.
            _ = done.send(());
        }
        Command::LoadConnections => super::connect::load(&shared, &outbox).await,
        Command::TestConnection(request) => {
            super::connect::test_connection(&shared, &outbox, request);
        }
        Command::Connect(request) => super::connect::connect(&shared, &outbox, request).await,
        Command::UnlockSession(id) => super::connect::unlock(&shared, &outbox, id).await,
        Command::UpdateCaBundle(url) => super::connect::update_bundle(&shared, url),
        command @ (Command::OpenSession { .. }
        | Command::CloseSession(_)
        | Command::RunQuery { .. }
        | Command::CancelQuery { .. }
        | Command::OrderResult(_)
        | Command::SearchHistory { .. }
        | Command::SaveEditorBuffers(_)
        | Command::LoadSchema { .. }
        | Command::ExportQuery { .. }) => {
            super::query_handlers::run(command, &shared, &outbox).await;
        }
    }
}

fn load_profiles_job(shared: &Arc<Shared>, outbox: Outbox) {
    let files = shared.aws_files.clone();
    let shared_job = Arc::clone(shared);
    shared
        .jobs
        .spawn("Read AWS profiles", move |ctx| async move {
            ctx.progress(
                Progress::Indeterminate,
                format!("reading {}", files.config.display()),
            );
            let list = tokio::task::spawn_blocking(move || load_profiles(&files))
                .await
                .map_err(|error| {
                    UserError::from_error(&error, "Try Reload; report it if it repeats")
                })?;
            let mut summary = plural(list.profiles.len(), "profile");
            if !list.problems.is_empty() {
                summary = format!("{summary}, {}", plural(list.problems.len(), "problem line"));
            }
            for problem in &list.problems {
                tracing::warn!(%problem, "AWS profile file problem");
            }
            *shared_job
                .profiles
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(list.clone());
            // The profile files may have changed: configurations built from them are stale.
            shared_job.sdk_configs.lock().await.clear();
            outbox
                .send(Event::ProfilesLoaded {
                    job: ctx.id(),
                    list,
                })
                .await;
            Ok(summary)
        });
}

async fn remember_profile(shared: &Arc<Shared>, name: String) {
    let database = Arc::clone(&shared.database);
    let result = tokio::task::spawn_blocking(move || {
        database
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set_state("last_profile", &name)
    })
    .await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "could not remember the selected profile"),
        Err(error) => tracing::warn!(%error, "could not remember the selected profile"),
    }
}

async fn save(shared: &Arc<Shared>, outbox: &Outbox, settings: Settings) {
    let _in_order = shared.settings_write.lock().await;
    let path = shared.paths.settings_file();
    let target = path.clone();
    let saved = settings.clone();
    let result = tokio::task::spawn_blocking(move || {
        // Refuse a CA file that would make every later connection fail, while the user is here.
        if let Some(ca_file) = &settings.extra_ca_file {
            let mut scratch = rustls::RootCertStore::empty();
            add_pem_file(&mut scratch, ca_file)
                .map_err(|error| UserError::from_error(&error, error.next_step()))?;
        }
        save_settings(&target, &settings).map_err(|error| {
            UserError::from_error(&error, "Check that the config directory is writable")
        })
    })
    .await;
    let event = match result {
        Ok(Ok(())) => {
            tracing::info!(path = %path.display(), "settings saved");
            *shared
                .settings
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = saved;
            Event::SettingsSaved { path }
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "settings not saved");
            Event::SettingsSaveFailed(error)
        }
        Err(error) => Event::SettingsSaveFailed(UserError::from_error(&error, "Try saving again")),
    };
    outbox.send(event).await;
}

async fn pick_ca_file(outbox: &Outbox) {
    let picked = rfd::AsyncFileDialog::new()
        .set_title("Choose a CA certificate file (PEM)")
        .add_filter("PEM certificates", &["pem", "crt", "cer"])
        .add_filter("All files", &["*"])
        .pick_file()
        .await
        .map(|handle| handle.path().to_path_buf());
    outbox.send(Event::CaFilePicked(picked)).await;
}

/// `1 profile`, `2 profiles`.
fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}
