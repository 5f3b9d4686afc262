//! The SQL editor of a tab: a code `TextEdit` whose layouter colours tokens from our own lexer
//! (`query::highlight`) and marks the server's error position, and which reports the cursor and
//! selection (byte offsets) so Ctrl+Enter can run the statement under the cursor.

use std::ops::Range;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId, Stroke};

use crate::query::highlight::{TokenKind, tokenize};

/// Colours of the token kinds, picked to read on both themes.
fn token_color(kind: TokenKind, visuals: &egui::Visuals) -> Color32 {
    let dark = visuals.dark_mode;
    match kind {
        TokenKind::Keyword => {
            if dark {
                Color32::from_rgb(0x6c, 0xb6, 0xff)
            } else {
                Color32::from_rgb(0x00, 0x4d, 0xc0)
            }
        }
        TokenKind::String => {
            if dark {
                Color32::from_rgb(0xce, 0x91, 0x78)
            } else {
                Color32::from_rgb(0xa3, 0x15, 0x15)
            }
        }
        TokenKind::Number => {
            if dark {
                Color32::from_rgb(0xb5, 0xce, 0xa8)
            } else {
                Color32::from_rgb(0x09, 0x86, 0x58)
            }
        }
        TokenKind::Comment => visuals.weak_text_color(),
        TokenKind::QuotedIdentifier => {
            if dark {
                Color32::from_rgb(0x9c, 0xdc, 0xfe)
            } else {
                Color32::from_rgb(0x00, 0x10, 0x80)
            }
        }
        TokenKind::Identifier | TokenKind::Operator | TokenKind::Whitespace => visuals.text_color(),
    }
}

/// The highlighted layout of `sql`; the token containing byte `error_at` gets a red underline
/// and background.
pub fn highlight_job(
    sql: &str,
    font: &FontId,
    visuals: &egui::Visuals,
    error_at: Option<usize>,
) -> LayoutJob {
    let mut job = LayoutJob::default();
    let mut error_marked = false;
    for token in tokenize(sql) {
        let mut format = TextFormat::simple(font.clone(), token_color(token.kind, visuals));
        if let Some(at) = error_at
            && !error_marked
            && token.kind != TokenKind::Whitespace
            && (token.range.contains(&at) || token.range.start >= at)
        {
            error_marked = true;
            format.underline = Stroke::new(2.0, visuals.error_fg_color);
            format.background = visuals.error_fg_color.gamma_multiply(0.25);
        }
        job.append(&sql[token.range], 0.0, format);
    }
    job
}

/// What the editor reports after a frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EditorCursor {
    /// The selected bytes (empty when nothing is selected; `start` is the cursor then).
    pub selection: Range<usize>,
}

/// Byte offset of character `index` in `text`.
fn char_to_byte(text: &str, index: usize) -> usize {
    text.char_indices()
        .nth(index)
        .map_or(text.len(), |(b, _)| b)
}

/// Autocomplete candidates offered after the last frame.
#[derive(Clone, Debug, Default)]
pub struct Completion {
    /// Byte range of the word being completed.
    word: Range<usize>,
    /// Candidates, best first.
    candidates: Vec<String>,
}

/// The identifier-ish word ending at byte `cursor`.
fn word_before(sql: &str, cursor: usize) -> Range<usize> {
    let start = sql[..cursor]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(cursor, |(i, _)| i);
    start..cursor
}

/// Keywords and names (from `names`) that complete `word`.
pub fn candidates(word: &str, names: &dyn Fn(&str) -> Vec<String>) -> Vec<String> {
    if word.chars().count() < 2 || word.starts_with(|c: char| c.is_ascii_digit()) {
        return Vec::new();
    }
    let upper = word.to_ascii_uppercase();
    let mut list: Vec<String> = names(word);
    list.extend(
        crate::query::highlight::KEYWORDS
            .iter()
            .filter(|k| k.starts_with(&upper) && k.len() > upper.len())
            .map(|k| (*k).to_owned()),
    );
    list.truncate(8);
    list
}

/// Replaces the completed word with `choice`; returns the new cursor (characters).
fn accept(sql: &mut String, completion: &Completion, choice: &str) -> Option<usize> {
    if completion.word.end > sql.len() || !sql.is_char_boundary(completion.word.start) {
        return None;
    }
    sql.replace_range(completion.word.clone(), choice);
    Some(sql[..completion.word.start + choice.len()].chars().count())
}

/// Draws the editor filling the available space; returns the cursor when the editor has one.
/// `names` gives schema names for autocomplete; `completion` keeps the offer between frames.
pub fn editor_ui(
    ui: &mut egui::Ui,
    id: u64,
    sql: &mut String,
    error_at: Option<usize>,
    names: &dyn Fn(&str) -> Vec<String>,
    completion: &mut Completion,
) -> (egui::Response, Option<EditorCursor>) {
    // Tab takes the first candidate; it must be consumed before the editor inserts a tab.
    let tab_pressed = !completion.candidates.is_empty()
        && ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Tab));
    let mut accepted = None;
    if tab_pressed && let Some(first) = completion.candidates.first().cloned() {
        accepted = accept(sql, completion, &first);
    }
    let label = ui.label("SQL editor");
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let visuals = ui.visuals().clone();
    let mut layouter = move |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
        let mut job = highlight_job(text.as_str(), &font, &visuals, error_at);
        job.wrap.max_width = wrap_width;
        ui.fonts_mut(|fonts| fonts.layout_job(job))
    };
    let completion_height = if completion.candidates.is_empty() {
        0.0
    } else {
        24.0
    };
    let (output, edit_id) = egui::ScrollArea::vertical()
        .id_salt(("editor", id))
        .auto_shrink([false, false])
        .max_height(ui.available_height() - completion_height)
        .show(ui, |ui| {
            let edit_id = ui.make_persistent_id(("sql", id));
            if let Some(cursor) = accepted
                && let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), edit_id)
            {
                let at = egui::text::CCursor::new(cursor);
                state
                    .cursor
                    .set_char_range(Some(egui::text::CCursorRange::one(at)));
                state.store(ui.ctx(), edit_id);
            }
            let output = egui::TextEdit::multiline(sql)
                .id(edit_id)
                .code_editor()
                .desired_width(f32::INFINITY)
                .desired_rows(8)
                .hint_text(
                    "-- Write SQL here; Ctrl+Enter runs the statement at the cursor (or the selection), Ctrl+Shift+Enter all",
                )
                .layouter(&mut layouter)
                .show(ui);
            (output, edit_id)
        })
        .inner;
    let response = output.response.response.labelled_by(label.id);
    let cursor = output.cursor_range.map(|range| {
        let a = char_to_byte(sql, range.primary.index.0);
        let b = char_to_byte(sql, range.secondary.index.0);
        EditorCursor {
            selection: a.min(b)..a.max(b),
        }
    });
    let focused = response.has_focus();
    completion.candidates.clear();
    if focused
        && let Some(cursor) = &cursor
        && cursor.selection.is_empty()
    {
        completion.word = word_before(sql, cursor.selection.start);
        completion.candidates = candidates(&sql[completion.word.clone()], names);
    }
    if !completion.candidates.is_empty() {
        let mut clicked = None;
        ui.horizontal(|ui| {
            ui.weak("Tab completes:");
            for candidate in &completion.candidates {
                if ui.small_button(candidate).clicked() {
                    clicked = Some(candidate.clone());
                }
            }
        });
        if let Some(choice) = clicked
            && let Some(at) = accept(sql, completion, &choice)
        {
            if let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), edit_id) {
                let at = egui::text::CCursor::new(at);
                state
                    .cursor
                    .set_char_range(Some(egui::text::CCursorRange::one(at)));
                state.store(ui.ctx(), edit_id);
            }
            ui.memory_mut(|m| m.request_focus(edit_id));
        }
    }
    (response, cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_strings_and_the_error_token_are_styled() {
        let visuals = egui::Visuals::light();
        let font = FontId::monospace(12.0);
        let sql = "select 'x' frm t";
        let job = highlight_job(sql, &font, &visuals, Some(11));
        let styled: Vec<(&str, Color32, bool)> = job
            .sections
            .iter()
            .map(|s| {
                (
                    &job.text[s.byte_range.start.0..s.byte_range.end.0],
                    s.format.color,
                    s.format.underline.width > 0.0,
                )
            })
            .collect();
        assert_eq!(
            styled[0],
            ("select", token_color(TokenKind::Keyword, &visuals), false)
        );
        assert_eq!(
            styled[2],
            ("'x'", token_color(TokenKind::String, &visuals), false)
        );
        assert_eq!(styled[4].0, "frm");
        assert!(styled[4].2, "the error token is underlined");
        assert!(styled.iter().filter(|s| s.2).count() == 1);
        assert_eq!(job.text, sql);
    }

    #[test]
    fn completion_replaces_the_word_before_the_cursor() {
        let names = |word: &str| {
            ["orders", "order_id"]
                .iter()
                .filter(|n| n.starts_with(word))
                .map(|n| (*n).to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(candidates("ord", &names), ["orders", "order_id", "ORDER"]);
        assert!(candidates("o", &names).is_empty());
        let mut sql = "select * from ord".to_owned();
        let completion = Completion {
            word: word_before(&sql, sql.len()),
            candidates: candidates("ord", &names),
        };
        assert_eq!(accept(&mut sql, &completion, "orders"), Some(20));
        assert_eq!(sql, "select * from orders");
    }

    #[test]
    fn char_offsets_become_byte_offsets() {
        assert_eq!(char_to_byte("é-x", 1), 2);
        assert_eq!(char_to_byte("ab", 5), 2);
    }
}
