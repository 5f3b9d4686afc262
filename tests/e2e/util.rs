//! Helpers shared by the end-to-end tests: an isolated home, the app in a kittest harness, and
//! bounded waits.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use rds_explorer::aws::profiles::AwsFiles;
use rds_explorer::logging::LogBuffer;
use rds_explorer::store::Paths;
use rds_explorer::ui::{AppInit, ExplorerApp};

/// A throwaway directory standing in for the user's home: app files and AWS files inside it.
pub struct TestHome {
    pub dir: tempfile::TempDir,
}

impl TestHome {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn paths(&self) -> Paths {
        Paths::under(&self.dir.path().join("rds-explorer"))
    }

    pub fn aws_files(&self) -> AwsFiles {
        AwsFiles {
            config: self.dir.path().join(".aws/config"),
            credentials: self.dir.path().join(".aws/credentials"),
        }
    }

    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The whole app on a real backend and runtime. The runtime must outlive the harness.
pub fn start_app(
    home: &TestHome,
    runtime: &tokio::runtime::Runtime,
) -> Harness<'static, ExplorerApp> {
    start_app_with(home, home.aws_files(), runtime)
}

/// The app reading AWS profiles from `aws_files` (e.g. the sandbox's).
pub fn start_app_with(
    home: &TestHome,
    aws_files: AwsFiles,
    runtime: &tokio::runtime::Runtime,
) -> Harness<'static, ExplorerApp> {
    let init = AppInit::load(home.paths(), aws_files, LogBuffer::new(100)).unwrap();
    let handle = runtime.handle().clone();
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| ExplorerApp::start(cc, &handle, init))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Steps the harness until `done` holds; panics after 20 s with `what`.
pub fn step_until(
    harness: &mut Harness<'_, ExplorerApp>,
    what: &str,
    mut done: impl FnMut(&Harness<'_, ExplorerApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls `done` until it holds; panics after 20 s with `what`.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs frames until the UI settles, or for a few steps if it keeps animating (a job spinner).
pub fn settle(harness: &mut Harness<'_, ExplorerApp>) {
    let _still_animating = harness.try_run();
}

/// `rds-explorer` as a user runs it from a clean environment: `home` as `HOME` (its
/// `rds-explorer` directory as the app's home) and the given AWS files, nothing else but `PATH`.
pub fn cli(home: &Path, aws: &AwsFiles) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_rds-explorer"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("RDS_EXPLORER_HOME", home.join("rds-explorer"))
        .env("AWS_CONFIG_FILE", &aws.config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &aws.credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null());
    command
}
