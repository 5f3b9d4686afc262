//! Connection commands: test a connection, open a session, save connections, update the CA
//! bundle. Each login is a Job: a tunnelled route first opens (or joins) its SSM tunnel, the
//! password comes from the auth mode (IAM token, Secrets Manager, keyring or typed), TLS is
//! verified against the real endpoint name, and a refused IAM login runs the diagnosis checklist
//! so the dialog can say which item failed.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use aws_config::SdkConfig;

use super::inventory::{config_for, wait_for_profile};
use super::sessions::{Session, SessionError, SessionId, SessionInfo, TabId};
use super::tunnels::lease_for;
use super::{ConnectRequest, Event, Outbox, Shared};
use crate::auth::keyring::Keyring;
use crate::aws::profiles::Profile;
use crate::db::ca_update::{GLOBAL_BUNDLE_URL, update_ca_bundle};
use crate::db::diagnose::Diagnosis;
use crate::db::open::{OpenError, OpenOptions, Prepared, open_session, prepare};
use crate::db::safety;
use crate::db::safety::Safety;
use crate::db::tls::{TrustConfig, client_config};
use crate::jobs::UserError;
use crate::store::{AuthMode, SavedConnection, load_connections, save_connections};
use crate::tunnel::supervisor::TunnelLease;

/// A failed login and, for a refused IAM login, the checklist.
pub type ConnectFailure = (UserError, Option<Diagnosis>);

/// The trust store from the current settings and the downloaded bundle.
pub(super) fn trust(shared: &Shared) -> Result<Arc<rustls::ClientConfig>, UserError> {
    let extra_ca_file = shared
        .settings
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .extra_ca_file
        .clone();
    let trust = TrustConfig {
        extra_ca_file,
        downloaded_bundle: Some(shared.paths.downloaded_ca_bundle()),
        ..TrustConfig::default()
    };
    client_config(&trust).map_err(|error| UserError::new(error.to_string(), error.next_step()))
}

/// The keyring, opened on first use (it may talk to D-Bus).
fn keyring(shared: &Shared) -> &Keyring {
    shared.keyring.get_or_init(Keyring::open)
}

/// The connection's profile (by `name`) and region: the connection's own, else the profile's.
pub(super) async fn profile_and_region(
    shared: &Arc<Shared>,
    connection: &SavedConnection,
    name: &str,
) -> Result<(Profile, String), UserError> {
    let profile = wait_for_profile(shared, name).await.ok_or_else(|| {
        UserError::new(
            format!("the connection's profile \"{name}\" is not in the AWS config"),
            "Choose another profile in the connection, or add it to ~/.aws/config",
        )
    })?;
    let region = connection
        .region
        .clone()
        .or_else(|| profile.region.clone())
        .ok_or_else(|| {
            UserError::new(
                format!("no region is known for {}", connection.host),
                "Set the database's region in the connection",
            )
        })?;
    Ok((profile, region))
}

/// The profile's SDK configuration for the connection's region, when its auth needs AWS.
async fn sdk_for(
    shared: &Arc<Shared>,
    connection: &SavedConnection,
) -> Result<Option<SdkConfig>, UserError> {
    if connection.auth == AuthMode::Password {
        return Ok(None);
    }
    let Some(name) = &connection.profile else {
        return Ok(None);
    };
    let (profile, region) = profile_and_region(shared, connection, name).await?;
    Ok(Some(config_for(shared, &profile, &region).await))
}

/// What a login needs besides the connection.
struct LoginInputs {
    /// The profile's SDK configuration (AWS auth modes).
    sdk: Option<SdkConfig>,
    /// The trust store.
    tls: Arc<rustls::ClientConfig>,
    /// Typed password, production guard, and the tunnel's local address.
    options: OpenOptions,
    /// The connection's hold on its SSM tunnel: keep it as long as the socket.
    tunnel: Option<TunnelLease>,
}

/// Gathers a login's inputs; a tunnelled route opens (or joins) its tunnel first.
async fn login_inputs(
    shared: &Arc<Shared>,
    request: &ConnectRequest,
) -> Result<LoginInputs, ConnectFailure> {
    let connection = &request.connection;
    let sdk = sdk_for(shared, connection).await.map_err(|e| (e, None))?;
    let tls = trust(shared).map_err(|e| (e, None))?;
    let timeout = {
        let settings = shared
            .settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Duration::from_secs(u64::from(settings.production_statement_timeout_secs))
    };
    let tunnel = lease_for(shared, connection).await.map_err(|e| (e, None))?;
    let options = OpenOptions {
        via: tunnel.as_ref().map(TunnelLease::local_addr),
        typed_password: request.typed_password.clone(),
        safety: Safety::for_connection(connection.production, connection.read_only, timeout),
    };
    Ok(LoginInputs {
        sdk,
        tls,
        options,
        tunnel,
    })
}

/// Saves a typed password in the keyring once it worked, when the user asked to.
fn remember_password(shared: &Shared, request: &ConnectRequest, user: &str) {
    let name = &request.connection.name;
    if let (true, Some(password), false) = (
        request.save_password,
        &request.typed_password,
        name.is_empty(),
    ) && let Err(error) = keyring(shared).set(name, user, password)
    {
        tracing::warn!(%error, "the password could not be saved in the keyring");
    }
}

/// Logs in as `request` says (a client outside the session registry: tests of the login), with
/// the lease on its tunnel, if any. On failure, runs the diagnosis when it applies.
pub(super) async fn login(
    shared: &Arc<Shared>,
    request: &ConnectRequest,
) -> Result<(tokio_postgres::Client, Option<TunnelLease>), ConnectFailure> {
    let inputs = login_inputs(shared, request).await?;
    let (sdk, tunnel) = (inputs.sdk, inputs.tunnel);
    let opened = open_session(
        &request.connection,
        inputs.options,
        sdk.as_ref(),
        inputs.tls,
        &shared.tokens,
        keyring(shared),
    )
    .await;
    match opened {
        Ok((client, login)) => {
            remember_password(shared, request, &login.user);
            Ok((client, tunnel))
        }
        Err(error) => {
            let user_error = error.to_user_error();
            let diagnosis = match (&error, &sdk) {
                (OpenError::Connect(refused), Some(sdk)) => refused.diagnose(sdk).await,
                _ => None,
            };
            Err((user_error, diagnosis))
        }
    }
}

/// "Test connection": log in, read the server version, log out.
pub(super) fn test_connection(shared: &Arc<Shared>, outbox: &Outbox, request: ConnectRequest) {
    let shared_job = Arc::clone(shared);
    let outbox = outbox.clone();
    let title = format!("Test connection to {}", request.connection.name);
    shared.jobs.spawn(title, move |_ctx| async move {
        let result = match login(&shared_job, &request).await {
            // The lease lives until the end of this arm: the query goes through the tunnel.
            Ok((client, _tunnel)) => client
                .query_one("SELECT version()", &[])
                .await
                .and_then(|row| row.try_get::<_, String>(0))
                .map_err(|error| {
                    (
                        UserError::from_error(&error, "The login worked; check the server's log"),
                        None,
                    )
                }),
            Err(failure) => Err(failure),
        };
        let summary = result.clone().map_err(|(error, _)| error);
        outbox.send(Event::ConnectionTested(result)).await;
        summary
    });
}

/// "Connect": save when asked, log in, keep the session and tell the UI to open its tab.
pub(super) async fn connect(shared: &Arc<Shared>, outbox: &Outbox, request: ConnectRequest) {
    if let Err(error) = save_connection(shared, outbox, &request).await {
        outbox.send(Event::ConnectFailed((error, None))).await;
        return;
    }
    let shared_job = Arc::clone(shared);
    let outbox = outbox.clone();
    let title = format!("Connect to {}", request.connection.name);
    shared.jobs.spawn(title, move |_ctx| async move {
        match open_in_registry(&shared_job, &request).await {
            Ok(info) => {
                let summary = format!("{} as {}", info.endpoint, info.user);
                outbox.send(Event::SessionOpened(info)).await;
                Ok(summary)
            }
            Err(failure) => {
                let error = failure.0.clone();
                outbox.send(Event::ConnectFailed(failure)).await;
                Err(error)
            }
        }
    });
}

/// Logs in as `request` says and keeps the session in the registry.
async fn open_in_registry(
    shared: &Arc<Shared>,
    request: &ConnectRequest,
) -> Result<SessionInfo, ConnectFailure> {
    let connection = &request.connection;
    let LoginInputs {
        sdk,
        tls,
        options,
        tunnel,
    } = login_inputs(shared, request).await?;
    let prepared = prepare(
        connection,
        &options,
        sdk.as_ref(),
        &shared.tokens,
        keyring(shared),
    )
    .await
    .map_err(|error| (error.to_user_error(), None))?;
    let info = SessionInfo {
        id: shared.sessions.next_id(),
        title: connection.name.clone(),
        color: connection.color.as_deref().and_then(parse_hex_color),
        read_only: options.safety.read_only,
        production: connection.production,
        database: connection.database.clone(),
        user: prepared.login.user.clone(),
        endpoint: endpoint_label(&prepared, tunnel.as_ref()),
    };
    let session = match Session::open(&prepared.params, tls, info.clone()).await {
        Ok(session) => session.holding(tunnel),
        Err(SessionError::Connect(error)) => {
            let refused = prepared.refused(error, &shared.tokens);
            let user_error = refused.to_user_error();
            let diagnosis = match &sdk {
                Some(sdk) => refused.diagnose(sdk).await,
                None => None,
            };
            return Err((user_error, diagnosis));
        }
        Err(error) => return Err((error.to_user_error(), None)),
    };
    safety::apply(&session.client, &options.safety)
        .await
        .map_err(|error| (OpenError::Safety(error).to_user_error(), None))?;
    remember_password(shared, request, &prepared.login.user);
    shared.sessions.insert(session);
    Ok(info)
}

/// Where the session goes, for the tab and the jobs list: the real endpoint, and the tunnel or
/// host address the socket takes instead.
fn endpoint_label(prepared: &Prepared, tunnel: Option<&TunnelLease>) -> String {
    let endpoint = &prepared.params.endpoint;
    let real = format!("{}:{}", endpoint.host, prepared.real_port);
    match (tunnel, endpoint.hostaddr) {
        (Some(tunnel), _) => format!(
            "{real} through the SSM tunnel via {} ({})",
            tunnel.key().target,
            tunnel.local_addr()
        ),
        (None, Some(addr)) => format!("{real} via {addr}:{}", endpoint.port),
        (None, None) => real,
    }
}

/// `#rrggbb` → RGB.
fn parse_hex_color(hex: &str) -> Option<[u8; 3]> {
    let digits = hex.strip_prefix('#')?;
    if digits.len() != 6 {
        return None;
    }
    let byte = |at: usize| u8::from_str_radix(digits.get(at..at + 2)?, 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// "Unlock": writes allowed again on a production session.
pub(super) async fn unlock(shared: &Arc<Shared>, outbox: &Outbox, id: SessionId) {
    let Some(session) = shared.sessions.get(id) else {
        return;
    };
    match safety::unlock(&session.client).await {
        Ok(()) => {
            let info = SessionInfo {
                read_only: false,
                ..session.info.clone()
            };
            outbox.send(Event::SessionOpened(info)).await;
        }
        Err(error) => {
            outbox
                .send(Event::QueryRefused {
                    tab: TabId(0),
                    error: UserError::from_error(&error, "Reconnect and unlock again"),
                })
                .await;
        }
    }
}

/// Saves `request`'s connection when asked (before connecting: a failed login keeps the edits).
pub(super) async fn save_connection(
    shared: &Shared,
    outbox: &Outbox,
    request: &ConnectRequest,
) -> Result<(), UserError> {
    if !request.save || request.connection.name.trim().is_empty() {
        return Ok(());
    }
    let _guard = shared.settings_write.lock().await;
    let path = shared.paths.connections_file();
    let (mut connections, _) = load_connections(&path);
    crate::store::upsert_connection(
        &mut connections,
        request.replacing.as_deref(),
        request.connection.clone(),
    )
    .and_then(|()| save_connections(&path, &connections))
    .map_err(|error| {
        UserError::from_error(&error, "Choose another name, or check the config directory")
    })?;
    outbox.send(Event::ConnectionsLoaded(connections)).await;
    Ok(())
}

/// Reads the saved connections for the UI.
pub(super) async fn load(shared: &Shared, outbox: &Outbox) {
    let (connections, problem) = load_connections(&shared.paths.connections_file());
    if let Some(problem) = problem {
        tracing::warn!(%problem, "saved connections");
    }
    outbox.send(Event::ConnectionsLoaded(connections)).await;
}

/// "Update CA bundle": downloads AWS's current global bundle into the config dir.
pub(super) fn update_bundle(shared: &Arc<Shared>, url: Option<String>) {
    let dest = shared.paths.downloaded_ca_bundle();
    shared
        .jobs
        .spawn("Update RDS CA bundle", move |_ctx| async move {
            let url = url.unwrap_or_else(|| GLOBAL_BUNDLE_URL.to_owned());
            let tls = client_config(&TrustConfig::default())
                .map_err(|error| UserError::new(error.to_string(), error.next_step()))?;
            let update = update_ca_bundle(&url, &dest, tls)
                .await
                .map_err(|error| error.to_user_error())?;
            Ok(format!(
                "{} certificates saved to {}; new connections trust them",
                update.certificates,
                update.path.display()
            ))
        });
}
