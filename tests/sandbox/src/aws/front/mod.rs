//! The AWS front: the HTTP/1.1 server on loopback that the sandbox profile's `endpoint_url`
//! points at. It forwards every request unchanged to moto, except what moto lacks or tests need:
//! see `query.rs` (query-protocol services; `proxy_endpoints.rs`, `cluster_endpoints.rs`),
//! `ssm.rs` (JSON protocol), `sso.rs` (Identity Center) and `control.rs` (`/sandbox/…`). Beside it,
//! on its own loopback port, runs the Session Manager data-channel websocket server
//! (`../ssm_fake/`).
//!
//! It runs on a current-thread tokio runtime in its own named thread, so it works the same under
//! a blocking test, an async test or the `rds-sandbox` binary. Stopping it closes the listener and
//! every connection before [`Front::stop`] returns.

pub(crate) mod cluster_endpoints;
mod control;
mod iam_simulation;
pub(crate) mod proxy_endpoints;
mod query;
mod ssm;
mod sso;
pub(crate) mod state;

use std::convert::Infallible;
use std::fs::File;
use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener as StdTcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use state::SharedState;

/// The roles the fake SSO portal offers.
pub(crate) fn sso_roles() -> Vec<String> {
    sso::SSO_ROLES
        .iter()
        .map(|role| (*role).to_owned())
        .collect()
}

/// What handlers answer.
pub(crate) type FrontResponse = Response<Full<Bytes>>;

/// Headers that describe one hop, not the message; never copied between the two connections.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "content-length",
];

/// A request with its whole body read.
pub(crate) struct FrontRequest {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl FrontRequest {
    /// A header's value, if present and text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// The decoded query string parameters.
    pub(crate) fn query_params(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect()
    }

    /// `(region, service)` from the `SigV4` credential scope in `Authorization`
    /// (`Credential=AKID/20240101/us-east-1/rds/aws4_request`).
    pub(crate) fn signing_scope(&self) -> Option<(String, String)> {
        let authorization = self.header("authorization")?;
        let credential = authorization
            .split([',', ' '])
            .find_map(|part| part.trim().strip_prefix("Credential="))?;
        let mut scope = credential.split('/').skip(2);
        let region = scope.next()?;
        let service = scope.next()?;
        Some((region.to_owned(), service.to_owned()))
    }
}

/// What every handler can reach.
pub(crate) struct Ctx {
    pub(crate) state: SharedState,
    client: Client<HttpConnector, Full<Bytes>>,
    moto_authority: String,
    /// `http://127.0.0.1:<front port>`.
    pub(crate) front_url: String,
    log: Mutex<File>,
}

/// A response from moto, body read.
pub(crate) struct MotoResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl MotoResponse {
    /// The same response for our client, minus hop-by-hop headers.
    pub(crate) fn into_response(self) -> FrontResponse {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() = self.status;
        copy_end_to_end_headers(&self.headers, response.headers_mut());
        response
    }
}

impl Ctx {
    /// Sends a request to moto and reads the whole answer.
    pub(crate) async fn call_moto(
        &self,
        method: Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> anyhow::Result<MotoResponse> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = format!("http://{}{path_and_query}", self.moto_authority)
            .parse()
            .context("building moto's URL")?;
        copy_end_to_end_headers(headers, request.headers_mut());
        let response = self
            .client
            .request(request)
            .await
            .context("sending the request to moto")?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .context("reading moto's answer")?
            .to_bytes();
        Ok(MotoResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Sends `request` to moto unchanged.
    pub(crate) async fn forward(&self, request: &FrontRequest) -> anyhow::Result<MotoResponse> {
        let path_and_query = request
            .uri
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str());
        self.call_moto(
            request.method.clone(),
            path_and_query,
            &request.headers,
            request.body.clone(),
        )
        .await
    }

    fn log(&self, line: &str) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        // A lost log line must not fail a request.
        _ = writeln!(log, "{line}");
    }
}

/// A response with a body and a content type.
pub(crate) fn response(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> FrontResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
    response
}

/// Adds `name: value` to `response` (silently skipped if not a valid header).
pub(crate) fn with_header(
    mut response: FrontResponse,
    name: &'static str,
    value: &str,
) -> FrontResponse {
    if let Ok(value) = HeaderValue::from_str(value) {
        response
            .headers_mut()
            .append(HeaderName::from_static(name), value);
    }
    response
}

/// A 502 saying what went wrong between us and moto.
pub(crate) fn bad_gateway(err: &anyhow::Error) -> FrontResponse {
    response(
        StatusCode::BAD_GATEWAY,
        "text/plain; charset=utf-8",
        format!("rds-sandbox AWS front: {err:#}\n"),
    )
}

fn copy_end_to_end_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// The running front: its port, and how to stop it.
pub(crate) struct Front {
    port: u16,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Front {
    /// Binds a free loopback port and starts serving; requests it cannot answer itself go to
    /// moto on `moto_port`. One line per request is appended to `log_path`.
    pub(crate) fn start(
        state: SharedState,
        moto_port: u16,
        log_path: &Path,
    ) -> anyhow::Result<Self> {
        let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("binding 127.0.0.1:0 for the AWS front")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let ws_listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("binding 127.0.0.1:0 for the Session Manager data channel")?;
        ws_listener.set_nonblocking(true)?;
        state::lock(&state).ssm.ws_port = ws_listener.local_addr()?.port();
        let ws_state = Arc::clone(&state);
        let log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let ctx = Arc::new(Ctx {
            state,
            client: Client::builder(TokioExecutor::new()).build_http(),
            moto_authority: format!("127.0.0.1:{moto_port}"),
            front_url: format!("http://127.0.0.1:{port}"),
            log: Mutex::new(log),
        });
        let (shutdown, shutdown_receiver) = oneshot::channel();
        let (started, started_receiver) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("rds-sandbox-aws-front".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        _ = started.send(Err(anyhow!(err).context("building the tokio runtime")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match (
                        TcpListener::from_std(listener),
                        TcpListener::from_std(ws_listener),
                    ) {
                        (Ok(listener), Ok(ws_listener)) => {
                            tokio::spawn(crate::aws::ssm_fake::server::serve(
                                ws_listener,
                                ws_state,
                            ));
                            _ = started.send(Ok(()));
                            serve(listener, ctx, shutdown_receiver).await;
                        }
                        (Err(err), _) | (_, Err(err)) => _ = started.send(Err(anyhow!(err))),
                    }
                });
                // Dropping the runtime here drops every connection task.
            })
            .context("starting the AWS front thread")?;
        started_receiver
            .recv()
            .context("the AWS front thread ended while starting")??;
        Ok(Self {
            port,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The port on 127.0.0.1.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Stops accepting, drops every connection and waits for the thread. Runs once.
    pub(crate) fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the server already ended; joining tells how.
            _ = shutdown.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(_)) => Err(anyhow!("the AWS front thread panicked")),
            _ => Ok(()),
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        // The only failure is a panicked thread, which already printed its message.
        _ = self.stop();
    }
}

async fn serve(listener: TcpListener, ctx: Arc<Ctx>, mut shutdown: oneshot::Receiver<()>) {
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors and the like: wait instead of spinning.
                ctx.log(&format!("accept failed: {err}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let ctx = Arc::clone(&ctx);
                async move { Ok::<_, Infallible>(handle(&ctx, request).await) }
            });
            // A client hanging up mid-request is its business.
            _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(ctx: &Ctx, request: Request<Incoming>) -> FrontResponse {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => return bad_gateway(&anyhow!(err).context("reading the request body")),
    };
    let request = FrontRequest {
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        body,
    };
    let (label, response) = route(ctx, &request).await;
    ctx.log(&format!(
        "{} {} {label} -> {} ({} ms)",
        request.method,
        request.uri,
        response.status().as_u16(),
        started.elapsed().as_millis()
    ));
    response
}

/// Picks the handler; returns a label for the log (the action) and the response.
async fn route(ctx: &Ctx, request: &FrontRequest) -> (String, FrontResponse) {
    let path = request.uri.path();
    if let Some(command) = path.strip_prefix("/sandbox/") {
        return (
            format!("sandbox:{command}"),
            control::handle(ctx, request, command),
        );
    }
    if let Some((operation, response)) = sso::handle(ctx, request) {
        return (operation.to_owned(), response);
    }
    if let Some(target) = request.header("x-amz-target") {
        return (target.to_owned(), ssm::handle(ctx, request, target).await);
    }
    if let Some(call) = query::QueryCall::parse(request) {
        let label = format!("{}:{}", call.service, call.action);
        return (label, query::handle(ctx, request, &call).await);
    }
    let response = match ctx.forward(request).await {
        Ok(moto) => moto.into_response(),
        Err(err) => bad_gateway(&err),
    };
    (String::new(), response)
}
