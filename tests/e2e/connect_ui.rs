//! The connect dialog driven through the window on the whole sandbox (moto inventory, the fake
//! Session Manager, the TLS PostgreSQL with PAM-based IAM auth): selecting `sandboxdb` and
//! pressing Connect… pre-fills the dialog from the inventory, with an SSM tunnel route through
//! the instance in its VPC; Test connection logs in with an IAM token through that tunnel;
//! Connect saves the connection (no secret in the file) and opens its tab with the connection's
//! colour bar; a query's rows come back through the tunnel, which the Tunnels tab lists; closing
//! the window terminates the session; and the CLI connects with the saved connection.

use egui_kittest::kittest::{NodeT as _, Queryable as _};
use rds_explorer::aws::profiles::AwsFiles;
use rds_explorer::store::{AuthMode, Route, load_connections};
use rds_sandbox::{DEFAULT_PG_HOST_NAME, Sandbox};

use egui_kittest::Harness;
use rds_explorer::ui::ExplorerApp;

use crate::util::{TestHome, cli, runtime, settle, start_app_with, step_until};

#[test]
fn connect_dialog_is_prefilled_from_the_inventory_and_opens_a_coloured_tab() {
    let sandbox = Sandbox::up().unwrap();
    let pg = sandbox.pg.as_ref().unwrap().info();
    let iam = sandbox.pg.as_ref().unwrap().iam().unwrap().clone();
    let aws = sandbox.aws.as_ref().unwrap().info();
    let home = TestHome::new();
    let files = AwsFiles {
        config: home.write(
            ".aws/config",
            &std::fs::read_to_string(&aws.config_file).unwrap(),
        ),
        credentials: home.write(
            ".aws/credentials",
            &std::fs::read_to_string(&aws.credentials_file).unwrap(),
        ),
    };
    // The sandbox CA, as a user would add a private CA in Settings.
    home.write(
        "rds-explorer/config/settings.toml",
        &format!("extra_ca_file = {:?}\n", pg.ca_file.display().to_string()),
    );
    let runtime = runtime();
    let mut harness = start_app_with(&home, files.clone(), &runtime);
    step_until(&mut harness, "inventory listed", |h| {
        h.query_by_label("sandboxdb  postgres").is_some()
    });
    // The tree may still grow as the region's other calls land, moving rows under a click:
    // click until the details pane shows sandboxdb.
    step_until(&mut harness, "sandboxdb selected", |h| {
        if h.query_by_label("Instance sandboxdb").is_some() {
            return true;
        }
        h.get_by_label("sandboxdb  postgres").click();
        false
    });
    harness.get_by_label("Connect…").click();
    settle(&mut harness);

    dialog_is_prefilled_from_sandboxdb(&harness, pg.port);

    // The IAM user; the socket goes through the suggested SSM tunnel (no host address).
    let user = harness.get_by_label("User");
    user.focus();
    settle(&mut harness);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label("User").type_text(&iam.user);
    settle(&mut harness);

    harness.get_by_label("Test connection").click();
    step_until(&mut harness, "test connection succeeded", |h| {
        h.query_by_label_contains("Connected: PostgreSQL").is_some()
    });
    crate::query_ui::screenshot(&mut harness, "connect-dialog");

    harness.get_by_label("Colour bar").click();
    settle(&mut harness);
    harness.get_by_label("Connect").click();
    step_until(&mut harness, "the session's tab opened", |h| {
        h.query_all_by_label_contains("sandboxdb · ")
            .next()
            .is_some()
            && h.query_by_label("Test connection").is_none()
    });
    settle(&mut harness);

    // A query through the tunnel, verify-full on the RDS-like name, as the IAM user.
    harness.get_by_label("SQL editor").focus();
    settle(&mut harness);
    harness
        .get_by_label("SQL editor")
        .type_text("SELECT current_user AS who, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    settle(&mut harness);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    step_until(&mut harness, "the row through the tunnel", |h| {
        h.query_by_label_contains("1 row ·").is_some() && h.query_by_label(&iam.user).is_some()
    });
    crate::query_ui::screenshot(&mut harness, "session-tab");

    stop_cancels_through_the_tunnel(&mut harness);
    let online = crate::tunnel::online_target(aws);
    tunnels_tab_lists_the_shared_tunnel(&mut harness, &online, pg.port);
    let sessions = sandbox.aws.as_ref().unwrap().ssm_sessions();
    assert_eq!(
        sessions.len(),
        1,
        "test and session share the tunnel: {sessions:?}"
    );
    assert_eq!(sessions[0].target, online);
    assert!(!sessions[0].terminated);

    let (saved, problem) = load_connections(&home.paths().connections_file());
    assert_eq!(problem, None);
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].user, iam.user);
    assert_eq!(saved[0].auth, AuthMode::Iam);
    assert_eq!(saved[0].color.as_deref(), Some("#3080d0"));
    assert!(
        matches!(&saved[0].route, Route::SsmTunnel { target, .. } if *target == online),
        "{:?}",
        saved[0].route
    );
    // Closing the window (eframe calls `on_exit`) closes the tunnel before it returns: the
    // session is terminated by the time the window is gone.
    eframe::App::on_exit(harness.state_mut(), None);
    let session = &sandbox.aws.as_ref().unwrap().ssm_sessions()[0];
    assert!(session.terminated, "{session:?}");
    assert_eq!(session.terminate_calls, 1, "{session:?}");
    drop(harness);
    the_cli_reuses_the_saved_tunnelled_connection(&sandbox, &home, &files);

    no_secret_on_disk(&home, &aws.secret_access_key);
}

/// Stop sends the cancel request over the session's route: through the tunnel, with TLS. Without
/// it the sleep would outlast `step_until`'s 20 s.
fn stop_cancels_through_the_tunnel(harness: &mut Harness<'_, ExplorerApp>) {
    harness.get_by_label("SQL editor").focus();
    settle(harness);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("SQL editor")
        .type_text("SELECT pg_sleep(60)");
    settle(harness);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    step_until(harness, "the sleep is running", |h| {
        h.query_by_label("Stop")
            .is_some_and(|stop| !stop.accesskit_node().is_disabled())
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    harness.get_by_label("Stop").click();
    step_until(harness, "the sleep was cancelled on the server", |h| {
        h.query_by_label_contains("Stopped: canceling statement due to user request")
            .is_some()
    });
}

/// The Tunnels tab lists the one tunnel the test connection and the session shared, ready, with
/// its bytes counted both ways.
fn tunnels_tab_lists_the_shared_tunnel(
    harness: &mut Harness<'_, ExplorerApp>,
    online: &str,
    pg_port: u16,
) {
    harness.get_by_label("Tunnels (1)").click();
    step_until(harness, "the tunnel is listed as ready", |h| {
        h.query_by_label("ready").is_some()
            && h.query_by_label(&format!("{online} (native)")).is_some()
            && h.query_by_label(&format!("{DEFAULT_PG_HOST_NAME}:{pg_port}"))
                .is_some()
    });
    // The figures are sampled each second: after a few, the bytes of the logins and the query
    // are counted both ways.
    let sampled = std::time::Instant::now() + std::time::Duration::from_millis(2500);
    step_until(harness, "a few status samples", |_| {
        std::time::Instant::now() > sampled
    });
    // Received and Sent: TLS handshakes and the rows are kilobytes each way.
    let kilobytes = harness
        .query_all_by_label_contains("KiB")
        .filter(|node| node.value().is_some_and(|value| value.ends_with(" KiB")))
        .count();
    assert_eq!(kilobytes, 2, "the Received and Sent figures");
    crate::query_ui::screenshot(harness, "tunnels-panel");
}

/// The CLI uses the connection the window saved, tunnel and all.
fn the_cli_reuses_the_saved_tunnelled_connection(
    sandbox: &Sandbox,
    home: &TestHome,
    files: &AwsFiles,
) {
    let output = cli(home.path(), files)
        .args(["query", "--connection", "sandboxdb", "-c", "SELECT 6 * 7"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout), "42\n");
    assert_eq!(sandbox.aws.as_ref().unwrap().ssm_sessions().len(), 2);
}

/// The dialog holds sandboxdb's endpoint, `DBName`, master user and region.
fn dialog_is_prefilled_from_sandboxdb(harness: &Harness<'_, ExplorerApp>, port_number: u16) {
    harness.get_by_label("Test connection");
    // The dialog's text fields (labels such as "Region" also appear in the details pane).
    let field = |h: &egui_kittest::Harness<'_, _>, label: &str| -> String {
        h.query_all_by_role_and_label(egui::accesskit::Role::TextInput, label)
            .find_map(|node| node.value())
            .unwrap_or_else(|| panic!("no field {label}"))
    };
    assert_eq!(field(harness, "Host"), DEFAULT_PG_HOST_NAME);
    assert_eq!(field(harness, "Database"), "app");
    assert_eq!(field(harness, "User"), "admin");
    assert_eq!(field(harness, "Region"), "us-east-1");
    let port = harness.query_all_by_label("Port").find_map(|node| {
        node.value()
            .filter(|value| value.chars().all(|c| c.is_ascii_digit()))
    });
    assert_eq!(port, Some(port_number.to_string()));
}

/// No token (its signature parameter) or secret key anywhere in the test home (config dir,
/// SQLite file, logs) but the AWS credentials file the test wrote itself.
fn no_secret_on_disk(home: &TestHome, secret_access_key: &str) {
    let findings =
        crate::secrets_scan::scan(&[home.path()], &["X-Amz-Signature", secret_access_key]);
    let credentials_file = home.path().join(".aws/credentials");
    let findings: Vec<_> = findings
        .into_iter()
        .filter(|finding| finding.path != credentials_file)
        .collect();
    assert!(findings.is_empty(), "secrets on disk: {findings:?}");
}
