//! The real binary, run with an isolated home and AWS files.

use std::process::{Command, Output};

use crate::util::TestHome;

fn rds_explorer(home: &TestHome, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rds-explorer"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("RDS_EXPLORER_HOME", home.path().join("rds-explorer"))
        .env("AWS_CONFIG_FILE", home.path().join(".aws/config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join(".aws/credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn version_prints_name_version_and_git_hash() {
    let home = TestHome::new();
    let output = rds_explorer(&home, &["--version"]);
    assert!(output.status.success());
    let text = stdout(&output);
    let rest = text
        .trim()
        .strip_prefix(&format!("rds-explorer {} (", env!("CARGO_PKG_VERSION")))
        .unwrap_or_else(|| panic!("{text}"));
    let hash = rest.strip_suffix(')').unwrap().trim_end_matches("-dirty");
    assert!(
        hash == "unknown" || (hash.len() == 12 && hash.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn paths_honour_rds_explorer_home() {
    let home = TestHome::new();
    let output = rds_explorer(&home, &["paths", "--format", "json"]);
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let root = home.path().join("rds-explorer");
    assert_eq!(
        json["settings"],
        root.join("config/settings.toml").display().to_string()
    );
    assert_eq!(
        json["database"],
        root.join("data/rds-explorer.sqlite3").display().to_string()
    );
}

#[test]
fn profiles_lists_kinds_and_reports_bad_lines_with_exit_1() {
    let home = TestHome::new();
    home.write(
        ".aws/config",
        "[profile dev]\nregion = us-east-1\nsso_session = corp\noops\n",
    );
    home.write(
        ".aws/credentials",
        "[ci]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t\n",
    );
    let output = rds_explorer(&home, &["profiles", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let text = stdout(&output);
    assert!(!text.contains("s3cr3t"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["profiles"][0]["name"], "ci");
    assert_eq!(json["profiles"][0]["kind"], "static_keys");
    assert_eq!(json["profiles"][1]["kind"], "sso");
    assert_eq!(json["problems"][0]["line"], 4);

    let table = stdout(&rds_explorer(&home, &["profiles"]));
    assert!(
        table.contains("dev") && table.contains("SSO") && table.contains("us-east-1"),
        "{table}"
    );
    assert!(table.contains("config:4:"), "{table}");
}
