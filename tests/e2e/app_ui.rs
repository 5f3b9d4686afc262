//! The window driven through `egui_kittest` by accessible labels, on a real backend.

use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable as _;
use rds_explorer::store::{Settings, ThemeChoice, load_settings};

use crate::util::{TestHome, runtime, settle, start_app, step_until, wait_until};

#[test]
fn without_aws_config_the_empty_state_explains_how_to_add_a_profile() {
    let home = TestHome::new();
    let runtime = runtime();
    let mut harness = start_app(&home, &runtime);
    step_until(&mut harness, "empty state", |h| {
        h.query_by_label("No AWS profiles found").is_some()
    });
    harness.get_by_label("aws configure sso");
    harness.get_by_label(&home.aws_files().config.display().to_string());
    harness.get_by_label("Settings");
    step_until(&mut harness, "profile job listed as done", |h| {
        h.query_by_label("done: 0 profiles").is_some()
    });
}

#[test]
fn theme_chosen_in_settings_is_saved_to_the_settings_file() {
    let home = TestHome::new();
    let runtime = runtime();
    let mut harness = start_app(&home, &runtime);
    settle(&mut harness);
    harness.get_by_label("Settings").click();
    settle(&mut harness);
    harness.get_by_label("Dark").click();
    settle(&mut harness);
    harness.get_by_label("Save").click();
    let settings_file = home.paths().settings_file();
    step_until(&mut harness, "status says saved", |h| {
        h.query_by_label_contains("Settings saved to").is_some()
    });
    let (saved, problem) = load_settings(&settings_file);
    assert_eq!(problem, None);
    assert_eq!(
        saved,
        Settings {
            theme: ThemeChoice::Dark,
            ..Settings::default()
        }
    );
    assert_eq!(harness.ctx.theme(), egui::Theme::Dark);
    assert!(
        harness.query_by_label("Save").is_none(),
        "the window closed on save"
    );
}

#[test]
fn a_bad_ca_file_is_refused_with_a_next_step_and_nothing_is_saved() {
    let home = TestHome::new();
    let bad = home.write("not-a-ca.pem", "hello\n");
    let runtime = runtime();
    let mut harness = start_app(&home, &runtime);
    settle(&mut harness);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Comma);
    settle(&mut harness);
    let field = harness.get_by_label("Extra CA file");
    field.focus();
    settle(&mut harness);
    harness
        .get_by_label("Extra CA file")
        .type_text(&bad.display().to_string());
    settle(&mut harness);
    harness.get_by_label("Save").click();
    // Shown twice: in the status bar and in the window, which stays open.
    step_until(&mut harness, "error shown", |h| {
        h.query_all_by_label_contains("holds no PEM certificate")
            .count()
            == 2
    });
    assert!(
        harness.query_by_label("Save").is_some(),
        "the window stays open"
    );
    assert!(!home.paths().settings_file().exists());
}

#[test]
fn corrupt_settings_file_is_kept_aside_and_a_banner_says_so() {
    let home = TestHome::new();
    let settings_file = home.paths().settings_file();
    std::fs::create_dir_all(settings_file.parent().unwrap()).unwrap();
    std::fs::write(
        &settings_file,
        "theme = \"dark\"\nresult_memory_cap_mib = [[[\n",
    )
    .unwrap();
    let runtime = runtime();
    let mut harness = start_app(&home, &runtime);
    settle(&mut harness);
    harness.get_by_label_contains("could not be used");
    harness.get_by_label_contains("RDS Explorer started with default settings");
    harness.get_by_label_contains("The bad file was kept as");
    assert_eq!(harness.state().settings(), &Settings::default());
    assert!(!settings_file.exists());
    let kept: Vec<_> = std::fs::read_dir(settings_file.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("settings.toml.broken-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    harness.get_by_label("Dismiss").click();
    settle(&mut harness);
    assert!(
        harness
            .query_by_label_contains("could not be used")
            .is_none()
    );
}

#[test]
fn profiles_from_the_aws_config_are_listed_and_the_choice_is_remembered() {
    let home = TestHome::new();
    home.write(".aws/config", "[profile dev]\nregion = eu-central-1\nsso_session = corp\n[profile ops]\nregion = us-west-2\n");
    let runtime = runtime();
    {
        let mut harness = start_app(&home, &runtime);
        step_until(&mut harness, "profile details", |h| {
            h.query_by_label("eu-central-1").is_some()
        });
        harness.get_by_label("SSO");
        harness.get_by_label("Profile").click();
        settle(&mut harness);
        harness.get_by_label("ops").click();
        settle(&mut harness);
        step_until(&mut harness, "ops selected", |h| {
            h.query_by_label("us-west-2").is_some()
        });
    }
    let database = home.paths().database_file();
    wait_until("the choice is stored", || {
        rds_explorer::store::Database::open(&database)
            .unwrap()
            .state("last_profile")
            .unwrap()
            .as_deref()
            == Some("ops")
    });
    let mut harness = start_app(&home, &runtime);
    step_until(&mut harness, "remembered profile selected", |h| {
        h.query_by_label("us-west-2").is_some()
    });
}

#[test]
fn keyboard_shortcuts_open_and_close_tabs_and_ctrl_enter_is_reserved_for_run() {
    let home = TestHome::new();
    let runtime = runtime();
    let mut harness = start_app(&home, &runtime);
    settle(&mut harness);
    harness.get_by_label("Query 1");
    harness.key_press_modifiers(Modifiers::COMMAND, Key::T);
    settle(&mut harness);
    harness.get_by_label("Query 2");
    harness.get_by_label("SQL editor").focus();
    settle(&mut harness);
    harness.get_by_label("SQL editor").type_text("select 1");
    settle(&mut harness);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Enter);
    settle(&mut harness);
    assert!(
        harness
            .query_by_label_contains("No connection in this tab")
            .is_some()
    );
    harness.key_press_modifiers(Modifiers::COMMAND, Key::W);
    settle(&mut harness);
    assert!(harness.query_by_label("Query 2").is_none());
    harness.get_by_label("Close Query 1").click();
    settle(&mut harness);
    assert!(harness.query_by_label("Query 1").is_none());
    harness.get_by_label("Query 3");
}

#[test]
fn every_interactive_widget_has_an_accessible_name() {
    let home = TestHome::new();
    home.write(
        ".aws/config",
        "[profile dev]\nregion = eu-central-1\nbroken line\n",
    );
    let runtime = runtime();
    let mut harness = start_app(&home, &runtime);
    step_until(&mut harness, "profiles read", |h| {
        h.query_by_label("done: 1 profile, 1 problem line")
            .is_some()
    });
    // The profile's identity and inventory jobs fail fast (it has no credentials); wait for them.
    step_until(&mut harness, "identity and inventory jobs failed", |h| {
        h.query_all_by_label_contains("No credentials for this profile")
            .count()
            >= 1
            && h.query_by_label("0 running").is_some()
    });
    // `run` panics unless the UI settles, and once settled it fails on any unnamed widget.
    harness.run();
    harness.get_by_label("Settings").click();
    harness.run();
    harness.get_by_label("Log").click();
    harness.run();
    harness.get_by_label("Profile").click();
    harness.run();
}
