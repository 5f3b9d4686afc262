//! The Log view in the bottom panel: recent tracing events at info and up, filterable by level.

use crate::logging::{LogBuffer, LogLevel, LogLine};

/// State of the Log view.
pub struct LogView {
    buffer: LogBuffer,
    /// Copy of the buffer, refreshed only when new lines arrived.
    lines: Vec<LogLine>,
    seen: Option<u64>,
    min_level: LogLevel,
}

impl LogView {
    /// A view over `buffer`.
    pub fn new(buffer: LogBuffer) -> Self {
        Self {
            buffer,
            lines: Vec::new(),
            seen: None,
            min_level: LogLevel::Info,
        }
    }

    /// Draws the view.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let pushed = self.buffer.pushed();
        if self.seen != Some(pushed) {
            (self.lines, _) = self.buffer.snapshot();
            self.seen = Some(pushed);
        }
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("Show")
                .selected_text(level_name(self.min_level))
                .show_ui(ui, |ui| {
                    for level in [LogLevel::Info, LogLevel::Warn, LogLevel::Error] {
                        ui.selectable_value(&mut self.min_level, level, level_name(level));
                    }
                });
            if ui.button("Copy log").clicked() {
                let text: Vec<String> = self.visible().map(format_line).collect();
                ui.ctx().copy_text(text.join("\n"));
            }
        });
        let visible: Vec<&LogLine> = self.visible().collect();
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .stick_to_bottom(true)
            .show_rows(ui, row_height, visible.len(), |ui, range| {
                for line in &visible[range] {
                    let color = match line.level {
                        LogLevel::Error => ui.visuals().error_fg_color,
                        LogLevel::Warn => ui.visuals().warn_fg_color,
                        LogLevel::Info => ui.visuals().text_color(),
                    };
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(format_line(line))
                                .monospace()
                                .color(color),
                        )
                        .truncate(),
                    );
                }
            });
    }

    fn visible(&self) -> impl Iterator<Item = &LogLine> {
        self.lines
            .iter()
            .filter(|line| line.level <= self.min_level)
    }
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Info => "Info and up",
        LogLevel::Warn => "Warnings and errors",
        LogLevel::Error => "Errors",
    }
}

fn format_line(line: &LogLine) -> String {
    let level = match line.level {
        LogLevel::Error => "ERROR",
        LogLevel::Warn => "WARN ",
        LogLevel::Info => "INFO ",
    };
    format!("{} {level} {}: {}", line.time, line.target, line.text)
}
