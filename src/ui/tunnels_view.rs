//! The Tunnels tab in the bottom panel: every SSM tunnel the supervisor runs, with its endpoint,
//! target, client, state, local address (copyable: psql and other tools can use it too),
//! connections holding it, bytes and throughput each way, round-trip time, restarts, session and
//! last error. Plain data from `Event::TunnelsChanged`; nothing here talks to AWS.

use crate::backend::format_bytes;
use crate::tunnel::supervisor::{SupervisedState, TunnelStatus, Via};

/// The tunnels as last reported.
#[derive(Default)]
pub struct TunnelsView {
    tunnels: Vec<TunnelStatus>,
}

impl TunnelsView {
    /// Replaces the rows with the supervisor's latest snapshot.
    pub fn set(&mut self, tunnels: Vec<TunnelStatus>) {
        self.tunnels = tunnels;
    }

    /// Tunnels listed now (for the tab's title).
    pub fn len(&self) -> usize {
        self.tunnels.len()
    }

    /// Draws the table.
    pub fn ui(&self, ui: &mut egui::Ui) {
        if self.tunnels.is_empty() {
            ui.weak(
                "No tunnels. A connection whose route is an SSM tunnel opens one when it \
                 connects; connections to the same endpoint share it, and it closes a minute \
                 after the last one.",
            );
            return;
        }
        egui::ScrollArea::both()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("tunnels_grid")
                    .striped(true)
                    .num_columns(10)
                    .spacing([14.0, 4.0])
                    .show(ui, |ui| {
                        for title in [
                            "Endpoint",
                            "Via",
                            "State",
                            "Local address",
                            "Connections",
                            "Received",
                            "Sent",
                            "Round trip",
                            "Restarts",
                            "Session / last error",
                        ] {
                            ui.strong(title);
                        }
                        ui.end_row();
                        for tunnel in &self.tunnels {
                            row_ui(ui, tunnel);
                            ui.end_row();
                        }
                    });
            });
    }
}

fn row_ui(ui: &mut egui::Ui, tunnel: &TunnelStatus) {
    if let Some(key) = &tunnel.key {
        let host = key.remote_host.as_deref().unwrap_or("(the target)");
        ui.label(format!("{host}:{}", key.remote_port))
            .on_hover_text(format!("profile {}, {}", key.profile, key.region));
        let client = match tunnel.via {
            Via::Native => "native",
            Via::Plugin => "session-manager-plugin",
        };
        ui.label(format!("{} ({client})", key.target));
    } else {
        ui.label("—");
        ui.label("—");
    }
    state_ui(ui, tunnel.state);
    match tunnel.local_addr {
        Some(addr) => {
            ui.horizontal(|ui| {
                ui.monospace(addr.to_string());
                if ui
                    .small_button("Copy")
                    .on_hover_text("Copy the address: other tools can connect through it too")
                    .clicked()
                {
                    ui.ctx().copy_text(addr.to_string());
                }
            });
        }
        None => {
            ui.weak("—");
        }
    }
    ui.label(tunnel.leases.to_string());
    ui.label(flow(tunnel.bytes_in, tunnel.bytes_in_per_sec));
    ui.label(flow(tunnel.bytes_out, tunnel.bytes_out_per_sec));
    match tunnel.round_trip_time {
        Some(rtt) => ui.label(format!("{:.1} ms", rtt.as_secs_f64() * 1000.0)),
        None => ui.weak("—"),
    };
    ui.label(tunnel.restarts.to_string());
    match (&tunnel.last_error, &tunnel.session_id) {
        (Some(error), _) if tunnel.state != SupervisedState::Ready => {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        (_, Some(session)) => {
            ui.monospace(session);
        }
        _ => {
            ui.weak("—");
        }
    }
}

fn state_ui(ui: &mut egui::Ui, state: SupervisedState) {
    let (text, color) = match state {
        SupervisedState::Starting => ("starting", ui.visuals().warn_fg_color),
        SupervisedState::Ready => ("ready", egui::Color32::from_rgb(60, 170, 90)),
        SupervisedState::Reconnecting => ("reconnecting", ui.visuals().warn_fg_color),
        SupervisedState::Backoff => ("retrying", ui.visuals().error_fg_color),
        SupervisedState::Closed => ("closed", ui.visuals().weak_text_color()),
    };
    ui.colored_label(color, text);
}

/// Total and current rate, e.g. `12.4 MiB · 1.0 MiB/s`.
fn flow(total: u64, per_sec: u64) -> String {
    if per_sec == 0 {
        format_bytes(total)
    } else {
        format!("{} · {}/s", format_bytes(total), format_bytes(per_sec))
    }
}
