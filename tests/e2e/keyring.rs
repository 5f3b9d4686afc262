//! The keyring password mode in a child process of this test binary (the D-Bus session is chosen
//! by environment variables, which a multi-threaded test may not change in-process):
//! - without a session bus, every lookup says "ask each time" and nothing is written anywhere;
//! - under `dbus-run-session` with a headless, unlocked `gnome-keyring-daemon`, passwords round
//!   trip through the real Secret Service.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rds_explorer::auth::keyring::{Keyring, PasswordLookup};
use rds_explorer::secret::Secret;

use crate::secrets_scan::assert_no_secrets;

/// Tells [`keyring_child`] which case it runs in.
const MODE_ENV: &str = "RDSX_KEYRING_CHILD";
const PASSWORD: &str = "kr-planted-Password-7d1f";

/// The child half: run by the tests below through `--ignored --exact`; does nothing otherwise.
#[test]
#[ignore = "run as a child process by the keyring tests"]
#[expect(
    clippy::print_stdout,
    reason = "the child reports to its parent on stdout"
)]
fn keyring_child() {
    let Ok(mode) = std::env::var(MODE_ENV) else {
        return;
    };
    let keyring = Keyring::open();
    match mode.as_str() {
        "absent" => {
            let reason = keyring.unavailable_reason().map(str::to_owned);
            assert!(reason.is_some(), "{keyring:?}");
            assert!(matches!(
                keyring.lookup("sandbox", "app"),
                PasswordLookup::AskEachTime { .. }
            ));
            let error = keyring
                .set("sandbox", "app", &Secret::from(PASSWORD))
                .unwrap_err();
            assert!(
                error
                    .to_user_error()
                    .next_step
                    .contains("asked for each time")
            );
            println!("CHILD-OK absent: {}", reason.unwrap_or_default());
        }
        "present" => {
            assert_eq!(keyring.unavailable_reason(), None, "{keyring:?}");
            assert_eq!(keyring.lookup("sandbox", "app"), PasswordLookup::NotSaved);
            keyring
                .set("sandbox", "app", &Secret::from(PASSWORD))
                .unwrap();
            keyring.set("other", "app", &Secret::from("x")).unwrap();
            assert_eq!(
                Keyring::open().lookup("sandbox", "app"),
                PasswordLookup::Saved(Secret::from(PASSWORD)),
                "a second connection to the Secret Service sees it"
            );
            assert!(keyring.delete("sandbox", "app").unwrap());
            assert_eq!(keyring.lookup("sandbox", "app"), PasswordLookup::NotSaved);
            assert_eq!(
                keyring.get("other", "app").unwrap(),
                Some(Secret::from("x"))
            );
            println!("CHILD-OK present");
        }
        other => panic!("unknown {MODE_ENV}={other}"),
    }
}

/// Runs [`keyring_child`] as `program args… <this binary> keyring::keyring_child …` with `home` as
/// `HOME` and `XDG_RUNTIME_DIR`, no inherited session bus; returns its stdout. Killed after 60 s.
fn run_child(wrapper: &[&str], mode: &str, home: &Path) -> String {
    let exe = std::env::current_exe().unwrap();
    let runtime_dir = home.join("run");
    std::fs::create_dir_all(&runtime_dir).unwrap();
    std::fs::set_permissions(
        &runtime_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let mut command = match wrapper.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(&exe);
            command
        }
        None => Command::new(&exe),
    };
    command
        .args([
            "keyring::keyring_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", &runtime_dir)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env(MODE_ENV, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the keyring child hung:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && stdout.contains("CHILD-OK"),
        "child failed ({}):\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn issue_5_without_a_keyring_the_password_is_asked_each_time_and_never_written() {
    let home = tempfile::tempdir().unwrap();
    let stdout = run_child(&[], "absent", home.path());
    assert!(stdout.contains("no D-Bus session bus"), "{stdout}");
    // No fallback of any kind: not a single file appeared in the child's home.
    assert_eq!(files_under(home.path()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn issue_5_passwords_round_trip_through_a_real_secret_service() {
    for tool in ["dbus-run-session", "gnome-keyring-daemon"] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .unwrap()
                .success(),
            "{tool} is missing: run scripts/install-test-deps"
        );
    }
    let home = tempfile::tempdir().unwrap();
    // A fresh session bus; the daemon creates and unlocks a login keyring with a throwaway
    // password read from stdin, then the child runs inside the same session.
    let script = "printf 'sandbox-keyring' | gnome-keyring-daemon --unlock --components=secrets \
                  >/dev/null && exec \"$@\"";
    run_child(
        &["dbus-run-session", "--", "sh", "-c", script, "sh"],
        "present",
        home.path(),
    );
    // The keyring file is encrypted: the password is not in it as plain text.
    assert_no_secrets(&[home.path()], &[PASSWORD]);
}
