//! The local side of the engine: each accepted TCP connection is one smux stream. Bytes from
//! the agent go to the connection's writer while it has room (the rest waits in smux, which is
//! the back-pressure); bytes from the connection go into its stream; either end finishing is
//! passed on (reference §5).

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc::error::TrySendError;

use super::{Engine, Exit, LOCAL_CHUNK};
use crate::tunnel::TunnelError;
use crate::tunnel::native::local::{Connection, LocalEvent};
use crate::tunnel::ssm::smux::{SmuxClient, SmuxError, StreamEvent, StreamId};

impl Engine {
    pub(super) fn drain_smux_events(&mut self) {
        while let Some(event) = self.smux.as_mut().and_then(SmuxClient::poll_event) {
            match event {
                StreamEvent::Readable(stream_id) => self.flush_stream(stream_id),
                StreamEvent::Finished {
                    stream_id,
                    received_data,
                } => {
                    if !received_data && self.connect_errors_pending > 0 {
                        self.connect_errors_pending -= 1;
                        let message = format!(
                            "the SSM agent could not connect to the destination for {stream_id}; check the remote host and port, and that the target may reach them"
                        );
                        tracing::warn!("tunnel: {message}");
                        self.last_error = Some(message);
                    }
                    if let Some(connection) = self.connections.get_mut(&stream_id) {
                        connection.remote_finished = true;
                    }
                    self.flush_stream(stream_id);
                }
            }
        }
    }

    /// Hands a stream's received bytes to its local writer while it has room; closes the writer
    /// once the agent finished the stream and everything was handed over.
    pub(super) fn flush_stream(&mut self, stream_id: StreamId) {
        let Some(smux) = self.smux.as_mut() else {
            return;
        };
        let Some(connection) = self.connections.get_mut(&stream_id) else {
            smux.forget(stream_id);
            return;
        };
        connection.blocked = false;
        let mut writer_gone = false;
        while let Some(writer) = &connection.writer {
            let permit = match writer.try_reserve() {
                Ok(permit) => permit,
                Err(TrySendError::Full(())) => {
                    connection.blocked = true;
                    return;
                }
                Err(TrySendError::Closed(())) => {
                    writer_gone = true;
                    break;
                }
            };
            let Some(data) = smux.read(stream_id, LOCAL_CHUNK) else {
                break;
            };
            self.bytes_in += data.len() as u64;
            permit.send(data);
        }
        if writer_gone {
            // The local client went away: later data for the stream is discarded.
            connection.writer = None;
            smux.forget(stream_id);
            return;
        }
        if connection.remote_finished {
            // The writer shuts the socket down after the queued chunks.
            connection.writer = None;
        }
    }

    pub(super) fn write_stream(
        &mut self,
        stream_id: StreamId,
        data: &Bytes,
    ) -> Result<(), TunnelError> {
        let Some(smux) = self.smux.as_mut() else {
            return Ok(());
        };
        match smux.write(stream_id, data) {
            Ok(taken) if taken < data.len() => {
                self.stalled = Some((stream_id, data.slice(taken..)));
                Ok(())
            }
            Ok(_) | Err(SmuxError::UnknownStream(_) | SmuxError::StreamFinished(_)) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    pub(super) fn on_local(&mut self, event: LocalEvent) -> Result<(), Exit> {
        let Some(smux) = self.smux.as_mut() else {
            return Ok(());
        };
        match event {
            LocalEvent::Accepted(tcp) => {
                let stream_id = smux
                    .open_stream()
                    .map_err(|error| Exit::Failed(error.into()))?;
                let connection = Connection::start(
                    tcp,
                    stream_id,
                    self.events_tx.clone(),
                    Arc::clone(&self.written),
                );
                self.connections.insert(stream_id, connection);
                self.total_connections += 1;
            }
            LocalEvent::Data(stream_id, data) => {
                self.bytes_out += data.len() as u64;
                self.write_stream(stream_id, &data).map_err(Exit::Failed)?;
            }
            LocalEvent::Eof(stream_id) => {
                if smux.is_open(stream_id) {
                    // Only fails for streams already gone, which is fine.
                    _ = smux.finish(stream_id);
                }
            }
            LocalEvent::WriterDone(stream_id) => {
                self.connections.remove(&stream_id);
                smux.forget(stream_id);
            }
        }
        Ok(())
    }
}
