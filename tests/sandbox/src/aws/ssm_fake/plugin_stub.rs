//! A stand-in for the installed `session-manager-plugin` (reference §9), for plugin-mode tests:
//! it follows the plugin's command-line contract (the `StartSession` response as JSON or in an
//! `AWS_SSM_START_SESSION_RESPONSE…` environment variable, region, `StartSession`, profile, the
//! request JSON, the endpoint URL), opens the data channel at the response's `StreamUrl` with its
//! token, answers the handshake, listens on 127.0.0.1 at the handshake's `localPortNumber`, prints
//! the plugin's `Port N opened for sessionId …` lines, and forwards each local connection as an
//! smux stream (an `async_smux` client). SIGINT sends the `TerminateSession` flag and exits 0, as
//! the plugin does.
//!
//! Simplifications (it only ever talks to the fake on loopback, without faults): it acks and
//! reorders what it receives but never retransmits what it sends, and speaks `ws://` only.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use async_smux::MuxBuilder;
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::Message;

use super::wire::{
    CHANNEL_CLOSED, Frame, INPUT_STREAM_DATA, OUTPUT_STREAM_DATA, flag, payload_type, uuid_text,
};

/// The version this stand-in claims (mux mode, no smux keep-alive with current agents).
const VERSION: &str = "1.2.764.0";
/// Prefix of the environment variables that may carry the response (plugin ≥ 1.2.536.0).
const RESPONSE_ENV_PREFIX: &str = "AWS_SSM_START_SESSION_RESPONSE";
/// Largest payload per message, as the plugin sends.
const CHUNK: usize = 1024;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartResponse {
    session_id: String,
    token_value: String,
    stream_url: String,
}

#[expect(clippy::print_stdout, reason = "stdout is the plugin's interface")]
fn say(text: &str) {
    print!("{text}");
    _ = std::io::stdout().flush();
}

/// Runs the stand-in with the process's arguments; the exit code follows the plugin's (0 almost
/// always, 1 for a bad operation).
pub fn plugin_stub_main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {
            say("\nThe Session Manager plugin was installed successfully (sandbox stand-in).\n");
            return ExitCode::SUCCESS;
        }
        Some("--version") => {
            say(&format!("{VERSION}\n"));
            return ExitCode::SUCCESS;
        }
        Some(_) => {}
    }
    if args.len() != 6 || args[2] != "StartSession" {
        say("Invalid Operation\n");
        return ExitCode::from(1);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            say(&format!("Cannot perform start session: {error}\n"));
            return ExitCode::SUCCESS;
        }
    };
    if let Err(error) = runtime.block_on(session(&args)) {
        say(&format!("Cannot perform start session: {error:#}\n"));
    }
    ExitCode::SUCCESS
}

fn start_response(argument: &str) -> anyhow::Result<StartResponse> {
    let json = if argument.starts_with(RESPONSE_ENV_PREFIX) {
        // The plugin unsets it after reading; `remove_var` is unsafe in Rust 2024 and this
        // process ends with the session anyway, so the stand-in leaves it.
        std::env::var(argument).with_context(|| format!("{argument} is not set"))?
    } else {
        argument.to_owned()
    };
    serde_json::from_str(&json).context("the StartSession response is not valid JSON")
}

async fn session(args: &[String]) -> anyhow::Result<()> {
    let response = start_response(&args[0])?;
    let request: Value =
        serde_json::from_str(&args[4]).context("the StartSession request is not JSON")?;
    if !request.get("Target").is_some_and(Value::is_string) {
        bail!("the StartSession request has no Target");
    }
    say(&format!(
        "\nStarting session with SessionId: {}\n",
        response.session_id
    ));
    let mut ws = connect(&response.stream_url).await?;
    let open = json!({
        "MessageSchemaVersion": "1.0",
        "RequestId": uuid_text(&super::wire::new_message_id()),
        "TokenValue": response.token_value,
        "ClientId": uuid_text(&super::wire::new_message_id()),
        "ClientVersion": VERSION,
    });
    ws.send(Message::Text(open.to_string().into())).await?;
    let interrupted = Arc::new(Notify::new());
    let notify = Arc::clone(&interrupted);
    ctrlc::set_handler(move || notify.notify_one()).context("cannot handle SIGINT")?;
    let mut plugin = Plugin {
        session_id: response.session_id,
        next_out: 0,
        expected_in: 0,
        buffered: BTreeMap::new(),
        pending_port: None,
        to_smux: None,
    };
    let (from_smux_tx, mut from_smux) = mpsc::channel::<Bytes>(64);
    let mut from_smux_tx = Some(from_smux_tx);
    loop {
        let outgoing = tokio::select! {
            () = interrupted.notified() => {
                say("Terminate signal received, exiting.\n");
                let wire = plugin.sequenced(payload_type::FLAG, Bytes::copy_from_slice(&flag::TERMINATE_SESSION.to_be_bytes()));
                _ = ws.send(Message::Binary(wire)).await;
                _ = ws.close(None).await;
                say(&format!("\n\nExiting session with sessionId: {}.\n\n", plugin.session_id));
                return Ok(());
            }
            Some(bytes) = from_smux.recv() => vec![plugin.sequenced(payload_type::OUTPUT, bytes)],
            message = ws.next() => match message {
                Some(Ok(Message::Binary(wire))) => {
                    match plugin.on_frame(&wire, &mut from_smux_tx).await? {
                        Step::Send(outgoing) => outgoing,
                        Step::Exit => return Ok(()),
                    }
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(_)) | None => {
                    say(&format!("\n\nExiting session with sessionId: {}.\n\n", plugin.session_id));
                    return Ok(());
                }
            },
        };
        for wire in outgoing {
            ws.send(Message::Binary(wire)).await?;
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn connect(stream_url: &str) -> anyhow::Result<Ws> {
    let rest = stream_url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("the stand-in speaks ws:// only, not {stream_url}"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let tcp = TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    let (ws, _) = tokio_tungstenite::client_async(stream_url, tcp)
        .await
        .context("websocket upgrade failed")?;
    Ok(ws)
}

enum Step {
    Send(Vec<Bytes>),
    Exit,
}

struct Plugin {
    session_id: String,
    next_out: i64,
    expected_in: i64,
    buffered: BTreeMap<i64, Frame>,
    /// The handshake's `localPortNumber`, used once `HandshakeComplete` arrives.
    pending_port: Option<u16>,
    to_smux: Option<tokio::io::WriteHalf<DuplexStream>>,
}

impl Plugin {
    fn sequenced(&mut self, payload_type: u32, payload: Bytes) -> Bytes {
        let frame = Frame::new(INPUT_STREAM_DATA, self.next_out, 0, payload_type, payload);
        self.next_out += 1;
        frame.encode()
    }

    async fn on_frame(
        &mut self,
        wire: &Bytes,
        from_smux: &mut Option<mpsc::Sender<Bytes>>,
    ) -> anyhow::Result<Step> {
        let Some(frame) = Frame::decode(wire) else {
            return Ok(Step::Send(Vec::new()));
        };
        let mut outgoing = Vec::new();
        match frame.message_type.as_str() {
            OUTPUT_STREAM_DATA => {
                // Duplicates are acked again so the agent stops resending them.
                outgoing.push(frame.ack().encode());
                if frame.sequence_number >= self.expected_in {
                    self.buffered.insert(frame.sequence_number, frame);
                }
                while let Some(next) = self.buffered.remove(&self.expected_in) {
                    self.expected_in += 1;
                    self.deliver(next, from_smux, &mut outgoing).await?;
                }
            }
            CHANNEL_CLOSED => {
                let output = serde_json::from_slice::<Value>(&frame.payload)
                    .ok()
                    .and_then(|body| body.get("Output")?.as_str().map(str::to_owned))
                    .unwrap_or_default();
                if output.is_empty() {
                    say(&format!(
                        "\n\nExiting session with sessionId: {}.\n\n",
                        self.session_id
                    ));
                } else {
                    say(&format!(
                        "\n\nSessionId: {} : {output}\n\n",
                        self.session_id
                    ));
                }
                return Ok(Step::Exit);
            }
            // Acknowledgements need no action: the stand-in never retransmits.
            _ => {}
        }
        Ok(Step::Send(outgoing))
    }

    async fn deliver(
        &mut self,
        frame: Frame,
        from_smux: &mut Option<mpsc::Sender<Bytes>>,
        outgoing: &mut Vec<Bytes>,
    ) -> anyhow::Result<()> {
        match frame.payload_type {
            payload_type::HANDSHAKE_REQUEST => {
                let response = json!({
                    "ClientVersion": VERSION,
                    "ProcessedClientActions": [{
                        "ActionType": "SessionType", "ActionStatus": 1,
                        "ActionResult": null, "Error": "",
                    }],
                    "Errors": null,
                });
                let local_port = serde_json::from_slice::<Value>(&frame.payload)
                    .ok()
                    .and_then(|request| {
                        request
                            .pointer("/RequestedClientActions/0/ActionParameters/Properties/localPortNumber")?
                            .as_str()?
                            .parse::<u16>()
                            .ok()
                    })
                    .unwrap_or(0);
                self.pending_port = Some(local_port);
                outgoing.push(self.sequenced(
                    payload_type::HANDSHAKE_RESPONSE,
                    response.to_string().into(),
                ));
            }
            payload_type::HANDSHAKE_COMPLETE => {
                let port = self.pending_port.take().unwrap_or(0);
                let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                    .await
                    .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
                let port = listener.local_addr()?.port();
                let Some(from_smux) = from_smux.take() else {
                    return Ok(());
                };
                self.to_smux = Some(start_smux(listener, from_smux, self.session_id.clone()));
                say(&format!(
                    "Port {port} opened for sessionId {}.\nWaiting for connections...\n",
                    self.session_id
                ));
            }
            payload_type::OUTPUT => {
                if let Some(to_smux) = self.to_smux.as_mut() {
                    to_smux.write_all(&frame.payload).await?;
                }
            }
            payload_type::FLAG
                if frame.payload[..] == flag::CONNECT_TO_PORT_ERROR.to_be_bytes() =>
            {
                say("\nConnection to destination port failed, check SSM Agent logs.\n");
            }
            _ => {}
        }
        Ok(())
    }
}

/// Starts the smux client on an in-memory pipe and the accept loop; returns where received
/// `Output` bytes go. Bytes smux writes come back, ≤ 1 KiB at a time, on `from_smux`.
fn start_smux(
    listener: TcpListener,
    from_smux: mpsc::Sender<Bytes>,
    session_id: String,
) -> tokio::io::WriteHalf<DuplexStream> {
    let (plugin_end, smux_end) = tokio::io::duplex(1 << 20);
    let (mut plugin_read, plugin_write) = tokio::io::split(plugin_end);
    tokio::spawn(async move {
        let mut buffer = vec![0_u8; CHUNK];
        loop {
            match plugin_read.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(len) => {
                    if from_smux
                        .send(Bytes::copy_from_slice(&buffer[..len]))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    let (connector, _acceptor, worker) = MuxBuilder::client().with_connection(smux_end).build();
    tokio::spawn(async move {
        _ = worker.await;
    });
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((tcp, _)) = listener.accept().await {
            if first {
                say(&format!(
                    "\nConnection accepted for session [{session_id}]\n"
                ));
                first = false;
            }
            let Ok(stream) = connector.connect() else {
                return;
            };
            tokio::spawn(async move {
                let (mut smux_read, mut smux_write) = tokio::io::split(stream);
                let (mut tcp_read, mut tcp_write) = tcp.into_split();
                tokio::select! {
                    _ = tokio::io::copy(&mut smux_read, &mut tcp_write) => {}
                    _ = tokio::io::copy(&mut tcp_read, &mut smux_write) => {}
                }
            });
        }
    });
    plugin_write
}
