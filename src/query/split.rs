//! Splitting a SQL text into statements the way psql does: a `;` ends a statement unless it is
//! inside a string, a quoted identifier, a dollar-quoted body, a comment, parentheses, or the
//! `BEGIN … END` body of a `CREATE FUNCTION/PROCEDURE … BEGIN ATOMIC`. Pure text work: no
//! database, no I/O. Byte ranges are kept so server error positions map back to the editor.

use std::ops::Range;

/// One statement of a SQL text: its byte range in the text, without the ending `;` and without
/// leading whitespace or comments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementSpan {
    /// Byte range in the whole text.
    pub range: Range<usize>,
}

impl StatementSpan {
    /// The statement's text inside `sql` (the text it was split from).
    pub fn text<'a>(&self, sql: &'a str) -> &'a str {
        sql.get(self.range.clone()).unwrap_or_default()
    }
}

/// Splits `sql` into statements. Statements holding only whitespace and comments are skipped, as
/// psql does; an unterminated string or comment runs to the end of the text (the server reports
/// the error).
pub fn split_statements(sql: &str) -> Vec<StatementSpan> {
    let mut splitter = Splitter::new(sql.as_bytes());
    let mut statements = Vec::new();
    while let Some(range) = splitter.next_statement() {
        statements.push(StatementSpan { range });
    }
    statements
}

/// The lexer state for one statement at a time.
struct Splitter<'a> {
    bytes: &'a [u8],
    pos: usize,
}

/// What psql tracks to keep `;` inside bodies: paren depth, BEGIN depth, leading keywords.
#[derive(Default)]
struct StatementState {
    start: Option<usize>,
    paren_depth: usize,
    begin_depth: usize,
    /// First letters of the leading `CREATE [OR REPLACE] FUNCTION|PROCEDURE` words (psql's trick).
    leading: [u8; 4],
    identifier_count: usize,
}

impl StatementState {
    fn in_routine_definition(&self) -> bool {
        let l = self.leading;
        l[0] == b'c'
            && (l[1] == b'f'
                || l[1] == b'p'
                || (l[1] == b'o' && l[2] == b'r' && (l[3] == b'f' || l[3] == b'p')))
    }

    fn identifier(&mut self, word: &[u8]) {
        const LEADING_WORDS: [&[u8]; 5] = [b"create", b"function", b"procedure", b"or", b"replace"];
        if LEADING_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w))
            && let Some(slot) = self.leading.get_mut(self.identifier_count)
        {
            *slot = word[0].to_ascii_lowercase();
        }
        self.identifier_count += 1;
        if self.in_routine_definition() && self.paren_depth == 0 {
            if word.eq_ignore_ascii_case(b"begin") {
                self.begin_depth += 1;
            } else if word.eq_ignore_ascii_case(b"case") {
                // CASE also ends with END; only tracked inside a BEGIN.
                if self.begin_depth >= 1 {
                    self.begin_depth += 1;
                }
            } else if word.eq_ignore_ascii_case(b"end") {
                self.begin_depth = self.begin_depth.saturating_sub(1);
            }
        }
    }
}

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_ident_continue(byte: u8) -> bool {
    is_ident_start(byte) || byte.is_ascii_digit() || byte == b'$'
}

impl<'a> Splitter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    /// The next non-empty statement, or `None` at the end.
    fn next_statement(&mut self) -> Option<Range<usize>> {
        loop {
            if self.pos >= self.bytes.len() {
                return None;
            }
            let mut state = StatementState::default();
            let mut end = None;
            while let Some(byte) = self.peek(0) {
                let token_start = self.pos;
                match byte {
                    b';' if state.paren_depth == 0 && state.begin_depth == 0 => {
                        end = Some(self.pos);
                        self.pos += 1;
                        break;
                    }
                    b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => {
                        self.pos += 1;
                        continue;
                    }
                    b'-' if self.peek(1) == Some(b'-') => {
                        self.skip_line_comment();
                        continue;
                    }
                    b'/' if self.peek(1) == Some(b'*') => {
                        self.skip_block_comment();
                        continue;
                    }
                    b'(' => {
                        state.paren_depth += 1;
                        self.pos += 1;
                    }
                    b')' => {
                        state.paren_depth = state.paren_depth.saturating_sub(1);
                        self.pos += 1;
                    }
                    b'\'' => self.skip_quoted(b'\'', false),
                    b'"' => self.skip_quoted(b'"', false),
                    b'e' | b'E' if self.peek(1) == Some(b'\'') => {
                        self.pos += 1;
                        self.skip_quoted(b'\'', true);
                    }
                    b'$' => self.skip_dollar(),
                    b if is_ident_start(b) => {
                        let word_end = self.ident_end(self.pos);
                        state.identifier(&self.bytes[self.pos..word_end]);
                        self.pos = word_end;
                    }
                    _ => self.pos += 1,
                }
                state.start.get_or_insert(token_start);
            }
            let end = end.unwrap_or(self.bytes.len());
            if let Some(start) = state.start {
                let trimmed_end = start + trim_end_len(&self.bytes[start..end]);
                return Some(start..trimmed_end);
            }
        }
    }

    fn ident_end(&self, from: usize) -> usize {
        let mut end = from;
        while self.bytes.get(end).is_some_and(|&b| is_ident_continue(b)) {
            end += 1;
        }
        end
    }

    fn skip_line_comment(&mut self) {
        while let Some(byte) = self.peek(0) {
            self.pos += 1;
            if byte == b'\n' {
                break;
            }
        }
    }

    /// Block comments nest in PostgreSQL.
    fn skip_block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(byte) = self.peek(0) {
            if byte == b'/' && self.peek(1) == Some(b'*') {
                depth += 1;
                self.pos += 2;
            } else if byte == b'*' && self.peek(1) == Some(b'/') {
                depth -= 1;
                self.pos += 2;
                if depth == 0 {
                    return;
                }
            } else {
                self.pos += 1;
            }
        }
    }

    /// A `'…'` string or `"…"` identifier; doubled quotes escape, and in `E'…'` so does `\`.
    fn skip_quoted(&mut self, quote: u8, backslash_escapes: bool) {
        self.pos += 1;
        while let Some(byte) = self.peek(0) {
            self.pos += 1;
            if backslash_escapes && byte == b'\\' {
                self.pos += 1;
            } else if byte == quote {
                if self.peek(0) == Some(quote) {
                    self.pos += 1;
                } else {
                    return;
                }
            }
        }
        self.pos = self.pos.min(self.bytes.len());
    }

    /// `$tag$ … $tag$` (tag may be empty); `$1` is a parameter, not a quote.
    fn skip_dollar(&mut self) {
        let tag_start = self.pos + 1;
        let tag_end = if self
            .bytes
            .get(tag_start)
            .is_some_and(|&b| is_ident_start(b))
        {
            let mut end = tag_start;
            while self
                .bytes
                .get(end)
                .is_some_and(|&b| is_ident_start(b) || b.is_ascii_digit())
            {
                end += 1;
            }
            end
        } else {
            tag_start
        };
        if self.bytes.get(tag_end) != Some(&b'$') {
            self.pos += 1;
            return;
        }
        let delimiter = &self.bytes[self.pos..=tag_end];
        let body_start = tag_end + 1;
        self.pos = self.bytes[body_start..]
            .windows(delimiter.len())
            .position(|window| window == delimiter)
            .map_or(self.bytes.len(), |at| body_start + at + delimiter.len());
    }
}

/// Length of `bytes` without trailing whitespace (comments stay: they may carry hints).
fn trim_end_len(bytes: &[u8]) -> usize {
    bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count()
}

/// The statement to run for a cursor at byte `cursor` (psql-like "run current statement"): the
/// one containing it, else the last one ending before it on the text's statements (a cursor
/// right after `;` or on the blank lines after a statement means that statement), else the
/// first one after it.
pub fn statement_at(sql: &str, cursor: usize) -> Option<StatementSpan> {
    let statements = split_statements(sql);
    statements
        .iter()
        .find(|s| s.range.start <= cursor && cursor <= s.range.end)
        .or_else(|| statements.iter().rev().find(|s| s.range.end <= cursor))
        .or_else(|| statements.first())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split_statements(sql).iter().map(|s| s.text(sql)).collect()
    }

    #[test]
    fn splits_on_semicolons_and_skips_empty_statements() {
        assert_eq!(
            texts("select 1;  select 2 ;;\n-- only a comment\n;"),
            ["select 1", "select 2"]
        );
        assert_eq!(texts("select 1"), ["select 1"]);
        assert_eq!(texts("  \n "), Vec::<&str>::new());
        let sql = "  select 1;\n  select 2";
        assert_eq!(split_statements(sql)[1].range, 14..22);
    }

    #[test]
    fn semicolons_inside_quotes_comments_and_bodies_do_not_split() {
        assert_eq!(
            texts("select ';', \"a;b\", E'\\';' ; select 2"),
            ["select ';', \"a;b\", E'\\';'", "select 2"]
        );
        assert_eq!(
            texts("select 'it''s; fine'; select /* a; /* nested; */ b; */ 3"),
            ["select 'it''s; fine'", "select /* a; /* nested; */ b; */ 3"]
        );
        assert_eq!(
            texts(
                "create function f() returns int as $body$ select 1; $body$ language sql; select $1, a$b from t"
            ),
            [
                "create function f() returns int as $body$ select 1; $body$ language sql",
                "select $1, a$b from t"
            ]
        );
        assert_eq!(
            texts("select (1;2); select 3"),
            ["select (1;2)", "select 3"]
        );
        assert_eq!(
            texts("-- c; \nselect 1 -- tail;\n; select 2"),
            ["select 1 -- tail;", "select 2"]
        );
    }

    #[test]
    fn begin_atomic_bodies_are_kept_whole() {
        let sql = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC \
                   SELECT CASE WHEN true THEN 1 END; SELECT 2; END; select 3";
        assert_eq!(texts(sql).len(), 2);
        assert_eq!(
            texts("begin; select 1; commit"),
            ["begin", "select 1", "commit"]
        );
    }

    #[test]
    fn unterminated_quotes_run_to_the_end() {
        assert_eq!(texts("select 'abc; select 2"), ["select 'abc; select 2"]);
        assert_eq!(texts("select $$abc; select 2"), ["select $$abc; select 2"]);
    }

    #[test]
    fn statement_at_the_cursor() {
        let sql = "select 1;\n\nselect 2 ;  -- two\nselect 3";
        let at = |cursor| statement_at(sql, cursor).map(|s| s.text(sql).to_owned());
        assert_eq!(at(0).as_deref(), Some("select 1"));
        assert_eq!(at(9).as_deref(), Some("select 1"));
        assert_eq!(at(11).as_deref(), Some("select 2"));
        assert_eq!(at(sql.len()).as_deref(), Some("select 3"));
        assert_eq!(statement_at("  -- nothing", 3), None);
    }
}
