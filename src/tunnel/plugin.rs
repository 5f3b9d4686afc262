//! Plugin mode: the installed `session-manager-plugin` carries the tunnel instead of our native
//! client (reference §9). We call `StartSession` ourselves, hand the response to the plugin per
//! its command-line contract — in the `AWS_SSM_START_SESSION_RESPONSE` environment variable, so
//! the token never shows in `ps` — read the port from its `Port N opened for sessionId …` line,
//! and on close stop its whole process group (SIGINT first, as the plugin expects, then SIGKILL)
//! and call `TerminateSession`, which the plugin itself never does.
//!
//! This module finds the plugin and drives one process; it knows nothing of the UI or jobs.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::native::api::{SessionApi, SessionGrant, StartRequest};
use super::{TunnelError, TunnelSpec, TunnelState, TunnelStats};

/// The plugin's executable name.
#[cfg(windows)]
const PLUGIN_FILE: &str = "session-manager-plugin.exe";
#[cfg(not(windows))]
const PLUGIN_FILE: &str = "session-manager-plugin";

/// Where the installers put the plugin, searched after `PATH`.
const INSTALL_DIRS: &[&str] = &[
    "/usr/local/sessionmanagerplugin/bin",
    "/usr/local/bin",
    "/opt/homebrew/bin",
    r"C:\Program Files\Amazon\SessionManagerPlugin\bin",
];

/// The environment variable carrying the `StartSession` response (plugin ≥ 1.2.536.0).
const RESPONSE_ENV: &str = "AWS_SSM_START_SESSION_RESPONSE";

/// Tunables of plugin mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginOptions {
    /// The plugin to run; `None` searches `PATH` and the install directories.
    pub plugin_path: Option<PathBuf>,
    /// The profile name handed to the plugin (it resumes the session with it); empty = default.
    pub profile: String,
    /// How long the plugin may take to print its `Port … opened` line.
    pub ready_timeout: Duration,
    /// How long the plugin may take to exit after SIGINT before its group is killed.
    pub stop_timeout: Duration,
}

impl Default for PluginOptions {
    fn default() -> Self {
        Self {
            plugin_path: None,
            profile: String::new(),
            ready_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(3),
        }
    }
}

/// Finds `session-manager-plugin` on `path_var` (a `PATH` value), then in the install directories.
pub fn find_plugin_in(path_var: Option<OsString>) -> Result<PathBuf, TunnelError> {
    let mut searched: Vec<PathBuf> = path_var
        .map(|value| std::env::split_paths(&value).collect())
        .unwrap_or_default();
    searched.extend(INSTALL_DIRS.iter().map(PathBuf::from));
    searched
        .iter()
        .map(|dir| dir.join(PLUGIN_FILE))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| TunnelError::PluginNotFound {
            searched: searched
                .iter()
                .map(|dir| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Finds `session-manager-plugin` on `PATH`, then in the install directories.
pub fn find_plugin() -> Result<PathBuf, TunnelError> {
    find_plugin_in(std::env::var_os("PATH"))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path)
            .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// A tunnel carried by the installed plugin.
#[derive(Debug)]
pub struct PluginTunnel {
    local_addr: SocketAddr,
    session_id: String,
    stats: Arc<Mutex<TunnelStats>>,
    state: watch::Receiver<TunnelState>,
    stop: Option<oneshot::Sender<()>>,
    monitor: Option<JoinHandle<Result<(), TunnelError>>>,
}

impl PluginTunnel {
    /// Where local clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The SSM session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// A snapshot of the status; the plugin reports no byte counts or round-trip times.
    pub fn stats(&self) -> TunnelStats {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until the plugin exits by itself.
    pub async fn closed(&self) {
        let mut state = self.state.clone();
        // An error means the monitor is gone, which is closed too.
        _ = state.wait_for(|state| *state == TunnelState::Closed).await;
    }

    /// Stops the plugin's process group and terminates the session. Returns why the tunnel
    /// ended if the plugin had exited by itself.
    pub async fn close(mut self) -> Result<(), TunnelError> {
        if let Some(stop) = self.stop.take() {
            // An error means the monitor already finished; its result tells how.
            _ = stop.send(());
        }
        match self.monitor.take() {
            Some(monitor) => monitor.await.unwrap_or(Err(TunnelError::TaskGone)),
            None => Ok(()),
        }
    }
}

/// Starts a session with `config` and hands it to the plugin. On failure the session is
/// terminated and the plugin stopped.
pub async fn open(
    config: &SdkConfig,
    spec: &TunnelSpec,
    options: &PluginOptions,
) -> Result<PluginTunnel, TunnelError> {
    let plugin = match &options.plugin_path {
        Some(path) => path.clone(),
        None => find_plugin()?,
    };
    let region = config
        .region()
        .map_or_else(String::new, ToString::to_string);
    let api = SessionApi::new(aws_sdk_ssm::Client::new(config), region.clone());
    let request = StartRequest {
        target: spec.target.clone(),
        document_name: spec.remote.document_name(),
        parameters: spec.remote.parameters(spec.local_port),
    };
    let grant = api.start(&request).await?;
    let endpoint = config.endpoint_url().map_or_else(
        || format!("https://ssm.{region}.amazonaws.com"),
        str::to_owned,
    );
    let spawned = spawn(
        &plugin,
        &grant,
        &request,
        &region,
        &options.profile,
        &endpoint,
    );
    let (child, stdout) = match spawned {
        Ok(spawned) => spawned,
        Err(error) => {
            terminate_logged(&api, &grant.session_id).await;
            return Err(error);
        }
    };
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(options.ready_timeout, wait_for_port(&mut lines)).await;
    let port = match ready {
        Ok(Ok(port)) => port,
        Ok(Err(reason)) => return Err(fail(&api, &grant, child, reason, options, &plugin).await),
        Err(_) => {
            let reason = format!(
                "no \"Port … opened\" line within {} s",
                options.ready_timeout.as_secs()
            );
            return Err(fail(&api, &grant, child, reason, options, &plugin).await);
        }
    };
    // The plugin binds what the handshake says, on `localhost`; we connect through 127.0.0.1.
    let local_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    tracing::info!(
        "tunnel: plugin {} carries session {} on {local_addr}",
        plugin.display(),
        grant.session_id
    );
    let stats = Arc::new(Mutex::new(TunnelStats {
        state: TunnelState::Ready,
        session_id: grant.session_id.clone(),
        local_addr: Some(local_addr),
        ..TunnelStats::default()
    }));
    let (state_sender, state_watch) = watch::channel(TunnelState::Ready);
    let (stop, stopped) = oneshot::channel();
    // Keep reading so the plugin never blocks on a full pipe; its lines go to our log.
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if !line.trim().is_empty() {
                tracing::info!("session-manager-plugin: {line}");
            }
        }
    });
    let monitor = tokio::spawn(monitor(Monitor {
        api,
        session_id: grant.session_id.clone(),
        child,
        stopped,
        stop_timeout: options.stop_timeout,
        stats: Arc::clone(&stats),
        state: state_sender,
    }));
    Ok(PluginTunnel {
        local_addr,
        session_id: grant.session_id,
        stats,
        state: state_watch,
        stop: Some(stop),
        monitor: Some(monitor),
    })
}

fn spawn(
    plugin: &Path,
    grant: &SessionGrant,
    request: &StartRequest,
    region: &str,
    profile: &str,
    endpoint: &str,
) -> Result<(Child, ChildStdout), TunnelError> {
    let response = json!({
        "SessionId": grant.session_id,
        "TokenValue": grant.token.expose(),
        "StreamUrl": grant.stream_url,
    });
    let parameters: Map<String, Value> = request
        .parameters
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!([value])))
        .collect();
    let request_json = json!({
        "Target": request.target,
        "DocumentName": request.document_name,
        "Parameters": parameters,
    });
    let mut command = Command::new(plugin);
    command
        .arg(RESPONSE_ENV)
        .arg(region)
        .arg("StartSession")
        .arg(profile)
        .arg(request_json.to_string())
        .arg(endpoint)
        .env(RESPONSE_ENV, response.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    // Its own process group, so stopping it reaches any helper it starts too.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|error| TunnelError::Plugin {
        path: plugin.to_path_buf(),
        reason: format!("cannot start it: {error}"),
    })?;
    let stdout = child.stdout.take().ok_or_else(|| TunnelError::Plugin {
        path: plugin.to_path_buf(),
        reason: "its output could not be read".to_owned(),
    })?;
    Ok((child, stdout))
}

/// Reads the plugin's lines until it says which port it opened.
async fn wait_for_port(
    lines: &mut tokio::io::Lines<BufReader<ChildStdout>>,
) -> Result<u16, String> {
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if let Some(port) = port_opened(&line) {
                    return Ok(port);
                }
                if let Some(reason) = line.trim().strip_prefix("Cannot perform start session:") {
                    return Err(format!("it could not start the session: {}", reason.trim()));
                }
                if !line.trim().is_empty() {
                    tracing::info!("session-manager-plugin: {line}");
                }
            }
            Ok(None) => return Err("it exited before opening a port".to_owned()),
            Err(error) => return Err(format!("its output could not be read: {error}")),
        }
    }
}

/// The port of a `Port <N> opened for sessionId <id>.` line.
fn port_opened(line: &str) -> Option<u16> {
    let rest = line.trim().strip_prefix("Port ")?;
    let (port, rest) = rest.split_once(' ')?;
    rest.starts_with("opened for sessionId")
        .then(|| port.parse().ok())?
}

async fn terminate_logged(api: &SessionApi, session_id: &str) {
    if let Err(error) = api.terminate(session_id).await {
        tracing::warn!("{error}");
    }
}

/// Cleans up a plugin that did not get ready and says why.
async fn fail(
    api: &SessionApi,
    grant: &SessionGrant,
    mut child: Child,
    reason: String,
    options: &PluginOptions,
    plugin: &Path,
) -> TunnelError {
    stop_group(&mut child, options.stop_timeout).await;
    terminate_logged(api, &grant.session_id).await;
    TunnelError::Plugin {
        path: plugin.to_path_buf(),
        reason,
    }
}

struct Monitor {
    api: SessionApi,
    session_id: String,
    child: Child,
    stopped: oneshot::Receiver<()>,
    stop_timeout: Duration,
    stats: Arc<Mutex<TunnelStats>>,
    state: watch::Sender<TunnelState>,
}

/// Waits for a stop request (or the handle's drop) or the plugin's exit; either way the process
/// group ends and the session is terminated.
async fn monitor(mut monitor: Monitor) -> Result<(), TunnelError> {
    let exited = tokio::select! {
        // A dropped handle closes the tunnel too.
        _ = &mut monitor.stopped => None,
        status = monitor.child.wait() => Some(status),
    };
    let result = match exited {
        None => {
            set_state(&monitor, TunnelState::Closing, None);
            stop_group(&mut monitor.child, monitor.stop_timeout).await;
            Ok(())
        }
        Some(status) => {
            let status = status.map_or_else(|error| error.to_string(), |status| status.to_string());
            Err(TunnelError::SessionEnded {
                session_id: monitor.session_id.clone(),
                reason: format!("session-manager-plugin exited ({status})"),
            })
        }
    };
    let terminated = monitor.api.terminate(&monitor.session_id).await;
    let last_error = result.as_ref().err().map(ToString::to_string);
    set_state(&monitor, TunnelState::Closed, last_error);
    result.and(terminated)
}

fn set_state(monitor: &Monitor, state: TunnelState, last_error: Option<String>) {
    let mut status = monitor.stats.lock().unwrap_or_else(PoisonError::into_inner);
    status.state = state;
    if last_error.is_some() {
        status.last_error = last_error;
    }
    drop(status);
    monitor.state.send_replace(state);
}

/// SIGINT to the plugin's process group (its own clean exit), then SIGKILL to the group if it
/// is still there after `timeout`. Elsewhere: kill the process.
async fn stop_group(child: &mut Child, timeout: Duration) {
    #[cfg(unix)]
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let group = Pid::from_raw(pid);
        // Errors mean the group is gone already.
        _ = killpg(group, Signal::SIGINT);
        if tokio::time::timeout(timeout, child.wait()).await.is_err() {
            tracing::warn!("session-manager-plugin ignored SIGINT; killing its process group");
        }
        // Helpers the plugin started may outlive it; the group id stays theirs.
        _ = killpg(group, Signal::SIGKILL);
        _ = child.wait().await;
        return;
    }
    _ = child.kill().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_line_the_plugin_prints() {
        assert_eq!(
            port_opened("Port 15432 opened for sessionId sandbox-abc."),
            Some(15432)
        );
        assert_eq!(port_opened("Waiting for connections..."), None);
        assert_eq!(port_opened("Port x opened for sessionId s."), None);
        assert_eq!(port_opened("Port 1 closed"), None);
    }

    #[cfg(unix)]
    #[test]
    fn finds_the_plugin_on_path_before_install_dirs_and_names_what_it_searched() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let empty = tempfile::tempdir().unwrap();
        let plugin = dir.path().join(PLUGIN_FILE);
        std::fs::write(&plugin, "#!/bin/sh\n").unwrap();
        // Not executable: not a candidate.
        let path_var = std::env::join_paths([empty.path(), dir.path()]).unwrap();
        if let Ok(found) = find_plugin_in(Some(path_var.clone())) {
            assert_ne!(found, plugin);
        }
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_plugin_in(Some(path_var)).unwrap(), plugin);
        let none = find_plugin_in(Some(empty.path().as_os_str().to_owned()));
        if let Err(error) = none {
            let text = error.to_string();
            assert!(text.contains(&empty.path().display().to_string()), "{text}");
            assert!(
                text.contains("/usr/local/sessionmanagerplugin/bin"),
                "{text}"
            );
        }
    }
}
