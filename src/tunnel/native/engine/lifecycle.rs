//! The session's life beyond moving bytes: resuming after the websocket is lost (reference
//! §4.6: `ResumeSession`, a new token on a new socket, the same `ClientId`, every unacked
//! message resent), and the orderly end (§6.4: the `TerminateSession` flag, a short wait for its
//! ack, then the authoritative `TerminateSession` API call).

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{Engine, Exit, FIRST_RECONNECT_DELAY, MAX_RECONNECT_DELAY, Phase, TERMINATE_TIMEOUT};
use crate::tunnel::native::websocket::Ws;
use crate::tunnel::native::{TunnelError, TunnelState};
use crate::tunnel::ssm::channel::Received;
use crate::tunnel::ssm::message::PayloadType;
use crate::tunnel::ssm::payload::PortFlag;

/// A small random delay so many tunnels do not retry in lockstep.
fn jitter() -> Duration {
    let random = uuid::Uuid::new_v4().as_u128();
    Duration::from_millis((random % 100) as u64)
}

impl Engine {
    /// Resumes the session on a new websocket, retrying with backoff within the reconnect budget.
    pub(super) async fn reconnect(
        &mut self,
        commands: &mut mpsc::Receiver<()>,
    ) -> Result<(), Exit> {
        self.shared.set_state(TunnelState::Reconnecting);
        self.reconnects += 1;
        self.publish();
        let started = Instant::now();
        let mut delay = FIRST_RECONNECT_DELAY;
        loop {
            let result = tokio::select! {
                _ = commands.recv() => return Err(Exit::CloseRequested),
                result = self.resume_and_connect() => result,
            };
            match result {
                Ok(Some((ws, url))) => {
                    let now = Instant::now();
                    self.ws = Some(ws);
                    self.stream_url = url;
                    self.last_received = now;
                    self.last_ping = now;
                    self.channel.on_reconnected(now);
                    let state = if matches!(self.phase, Phase::Ready) {
                        TunnelState::Ready
                    } else {
                        TunnelState::Starting
                    };
                    self.shared.set_state(state);
                    tracing::info!("tunnel {}: data channel resumed", self.session_id);
                    return Ok(());
                }
                Ok(None) => {
                    return Err(Exit::Failed(TunnelError::SessionEnded {
                        session_id: self.session_id.clone(),
                        reason:
                            "ResumeSession gave no token: the session timed out or was terminated"
                                .to_owned(),
                    }));
                }
                Err(error) => {
                    tracing::warn!("tunnel {}: resuming failed: {error}", self.session_id);
                    self.last_error = Some(error.to_string());
                    self.publish();
                    if started.elapsed() + delay >= self.options.reconnect_budget {
                        return Err(Exit::Failed(TunnelError::ReconnectFailed {
                            session_id: self.session_id.clone(),
                            budget: self.options.reconnect_budget,
                            last_error: error.to_string(),
                        }));
                    }
                }
            }
            tokio::select! {
                _ = commands.recv() => return Err(Exit::CloseRequested),
                () = tokio::time::sleep(delay + jitter()) => {}
            }
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        }
    }

    async fn resume_and_connect(&self) -> Result<Option<(Ws, String)>, TunnelError> {
        let Some(resumed) = self.api.resume(&self.session_id).await? else {
            return Ok(None);
        };
        let url = resumed
            .stream_url
            .unwrap_or_else(|| self.stream_url.clone());
        let ws = self.connector.connect(&url, &resumed.token).await?;
        Ok(Some((ws, url)))
    }

    /// Sends the `TerminateSession` flag and waits briefly for its ack (or `channel_closed`).
    pub(super) async fn say_goodbye(&mut self) {
        self.shared.set_state(TunnelState::Closing);
        if !matches!(self.phase, Phase::Ready) || self.ws.is_none() {
            return;
        }
        let now = Instant::now();
        let Ok(flag_sequence) = self.channel.send(
            PayloadType::Flag,
            PortFlag::TerminateSession.to_payload(),
            now,
        ) else {
            return;
        };
        self.transmit(now).await;
        let deadline = tokio::time::Instant::now() + self.options.terminate_ack_wait;
        while let Some(ws) = self.ws.as_mut() {
            let message = tokio::select! {
                message = ws.next() => message,
                () = tokio::time::sleep_until(deadline) => return,
            };
            let Some(Ok(Message::Binary(wire))) = message else {
                if matches!(message, None | Some(Err(_) | Ok(Message::Close(_)))) {
                    return;
                }
                continue;
            };
            let now = Instant::now();
            match self.channel.handle_message(&wire, now) {
                Ok(Received::Acknowledged {
                    sequence_number, ..
                }) if sequence_number == flag_sequence => return,
                Ok(Received::ChannelClosed(_)) => return,
                _ => self.transmit(now).await,
            }
        }
    }

    /// Calls the `TerminateSession` API (idempotent; the service's word is final).
    pub(super) async fn terminate(&self) -> Result<(), TunnelError> {
        match tokio::time::timeout(TERMINATE_TIMEOUT, self.api.terminate(&self.session_id)).await {
            Ok(result) => result,
            Err(_) => Err(TunnelError::SessionEnded {
                session_id: self.session_id.clone(),
                reason: format!(
                    "TerminateSession did not answer within {} s; the session ends at its idle timeout",
                    TERMINATE_TIMEOUT.as_secs()
                ),
            }),
        }
    }
}
