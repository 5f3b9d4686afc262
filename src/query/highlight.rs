//! A small SQL tokenizer for the editor's highlighting and for finding the statement under the
//! cursor: keywords, identifiers, quoted identifiers, strings (standard, `E''`, dollar-quoted),
//! numbers, comments (nested block comments as PostgreSQL allows), operators. Pure text work;
//! colours are the UI's business. Unterminated strings and comments run to the end of the text.

use std::ops::Range;

/// What a piece of SQL text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A reserved or common keyword (`SELECT`, `FROM`…).
    Keyword,
    /// A plain identifier (table, column, function name).
    Identifier,
    /// A `"quoted identifier"`.
    QuotedIdentifier,
    /// A string constant (`'…'`, `E'…'`, `$$…$$`).
    String,
    /// A numeric constant.
    Number,
    /// A `-- line` or `/* block */` comment.
    Comment,
    /// Operators and punctuation.
    Operator,
    /// Blanks.
    Whitespace,
}

/// One token: its byte range in the text and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// Byte range.
    pub range: Range<usize>,
    /// Kind.
    pub kind: TokenKind,
}

/// Keywords highlighted and offered by autocomplete, upper case, sorted.
pub const KEYWORDS: &[&str] = &[
    "ABORT",
    "ALL",
    "ALTER",
    "ANALYZE",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "ATOMIC",
    "BEGIN",
    "BETWEEN",
    "BIGINT",
    "BOOLEAN",
    "BOTH",
    "BY",
    "CASCADE",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COLUMN",
    "COMMIT",
    "CONSTRAINT",
    "COPY",
    "CREATE",
    "CROSS",
    "CURRENT_DATE",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DISTINCT",
    "DO",
    "DROP",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FETCH",
    "FILTER",
    "FIRST",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULL",
    "FUNCTION",
    "GRANT",
    "GROUP",
    "HAVING",
    "IF",
    "ILIKE",
    "IN",
    "INDEX",
    "INNER",
    "INSERT",
    "INTEGER",
    "INTERSECT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "LATERAL",
    "LEADING",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATERIALIZED",
    "NATURAL",
    "NOT",
    "NULL",
    "NULLS",
    "NUMERIC",
    "OFFSET",
    "ON",
    "ONLY",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PARTITION",
    "PRIMARY",
    "PROCEDURE",
    "REFERENCES",
    "REPLACE",
    "RETURNING",
    "RETURNS",
    "REVOKE",
    "RIGHT",
    "ROLLBACK",
    "ROW",
    "ROWS",
    "SCHEMA",
    "SELECT",
    "SET",
    "SHOW",
    "SOME",
    "TABLE",
    "TEMP",
    "TEXT",
    "THEN",
    "TIMESTAMP",
    "TO",
    "TRAILING",
    "TRUE",
    "TRUNCATE",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VACUUM",
    "VALUES",
    "VARCHAR",
    "VIEW",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
];

/// Whether `word` is one of [`KEYWORDS`], ignoring case.
pub fn is_keyword(word: &str) -> bool {
    word.len() <= 17
        && KEYWORDS
            .binary_search_by(|k| cmp_ignore_case(k, word))
            .is_ok()
}

fn cmp_ignore_case(keyword: &str, word: &str) -> std::cmp::Ordering {
    keyword
        .bytes()
        .cmp(word.bytes().map(|b| b.to_ascii_uppercase()))
}

fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_ident_continue(byte: u8) -> bool {
    is_ident_start(byte) || byte.is_ascii_digit() || byte == b'$'
}

/// Splits `sql` into tokens covering it entirely, in order.
pub fn tokenize(sql: &str) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let byte = bytes[pos];
        let next = bytes.get(pos + 1).copied();
        let kind = if byte.is_ascii_whitespace() {
            pos = scan_while(bytes, pos, |b| b.is_ascii_whitespace());
            TokenKind::Whitespace
        } else if byte == b'-' && next == Some(b'-') {
            pos = bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |n| pos + n);
            TokenKind::Comment
        } else if byte == b'/' && next == Some(b'*') {
            pos = block_comment_end(bytes, pos);
            TokenKind::Comment
        } else if byte == b'\'' {
            pos = quoted_end(bytes, pos + 1, b'\'', false);
            TokenKind::String
        } else if (byte == b'e' || byte == b'E') && next == Some(b'\'') {
            pos = quoted_end(bytes, pos + 2, b'\'', true);
            TokenKind::String
        } else if byte == b'"' {
            pos = quoted_end(bytes, pos + 1, b'"', false);
            TokenKind::QuotedIdentifier
        } else if byte == b'$'
            && let Some(end) = dollar_quote_end(bytes, pos)
        {
            pos = end;
            TokenKind::String
        } else if byte.is_ascii_digit()
            || (byte == b'.' && next.is_some_and(|b| b.is_ascii_digit()))
        {
            pos = number_end(bytes, pos);
            TokenKind::Number
        } else if is_ident_start(byte) {
            pos = scan_while(bytes, pos, is_ident_continue);
            if is_keyword(&sql[start..pos]) {
                TokenKind::Keyword
            } else {
                TokenKind::Identifier
            }
        } else {
            // One character (which may be several bytes).
            pos += sql[pos..].chars().next().map_or(1, char::len_utf8);
            TokenKind::Operator
        };
        // Keep ranges on character boundaries whatever the scanners did.
        while !sql.is_char_boundary(pos) {
            pos += 1;
        }
        tokens.push(Token {
            range: start..pos,
            kind,
        });
    }
    tokens
}

fn scan_while(bytes: &[u8], mut pos: usize, keep: impl Fn(u8) -> bool) -> usize {
    while pos < bytes.len() && keep(bytes[pos]) {
        pos += 1;
    }
    pos
}

fn block_comment_end(bytes: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while pos < bytes.len() {
        if bytes[pos..].starts_with(b"/*") {
            depth += 1;
            pos += 2;
        } else if bytes[pos..].starts_with(b"*/") {
            depth -= 1;
            pos += 2;
            if depth == 0 {
                return pos;
            }
        } else {
            pos += 1;
        }
    }
    bytes.len()
}

/// The end of a quoted token whose body starts at `pos`: a doubled quote stays inside; with
/// `escapes`, so does a backslash-escaped character.
fn quoted_end(bytes: &[u8], mut pos: usize, quote: u8, escapes: bool) -> usize {
    while pos < bytes.len() {
        let byte = bytes[pos];
        if escapes && byte == b'\\' {
            pos += 2;
        } else if byte == quote {
            if bytes.get(pos + 1) == Some(&quote) {
                pos += 2;
            } else {
                return pos + 1;
            }
        } else {
            pos += 1;
        }
    }
    bytes.len()
}

/// For `$tag$…$tag$` starting at `pos`, its end; `None` when `$` does not open a quote (`$1`).
fn dollar_quote_end(bytes: &[u8], pos: usize) -> Option<usize> {
    let tag_end = scan_while(bytes, pos + 1, |b| is_ident_continue(b) && b != b'$');
    if bytes.get(tag_end) != Some(&b'$') || bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let tag = &bytes[pos..=tag_end];
    let body = tag_end + 1;
    Some(
        bytes[body..]
            .windows(tag.len())
            .position(|window| window == tag)
            .map_or(bytes.len(), |n| body + n + tag.len()),
    )
}

fn number_end(bytes: &[u8], pos: usize) -> usize {
    let mut end = scan_while(bytes, pos, |b| {
        b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
    });
    // An exponent sign: 1e-5.
    if matches!(bytes.get(end), Some(b'-' | b'+'))
        && matches!(bytes.get(end - 1), Some(b'e' | b'E'))
    {
        end = scan_while(bytes, end + 1, |b| b.is_ascii_digit());
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(&str, TokenKind)> {
        tokenize(sql)
            .into_iter()
            .filter(|t| t.kind != TokenKind::Whitespace)
            .map(|t| (&sql[t.range], t.kind))
            .collect()
    }

    #[test]
    fn keywords_are_sorted_for_binary_search() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_keyword("select") && is_keyword("SeLeCt") && !is_keyword("orders"));
    }

    #[test]
    fn tokens_cover_the_text_and_know_strings_comments_and_quotes() {
        use TokenKind::*;
        let sql = "SELECT e'it\\'s', 'a''b', \"My Col\", $f$ x; $f$, $1, 1.5e-3 -- end\n/* a /* b */ c */x";
        assert_eq!(
            kinds(sql),
            [
                ("SELECT", Keyword),
                ("e'it\\'s'", String),
                (",", Operator),
                ("'a''b'", String),
                (",", Operator),
                ("\"My Col\"", QuotedIdentifier),
                (",", Operator),
                ("$f$ x; $f$", String),
                (",", Operator),
                ("$", Operator),
                ("1", Number),
                (",", Operator),
                ("1.5e-3", Number),
                ("-- end", Comment),
                ("/* a /* b */ c */", Comment),
                ("x", Identifier),
            ]
        );
        let tokens = tokenize(sql);
        assert_eq!(tokens.first().unwrap().range.start, 0);
        assert_eq!(tokens.last().unwrap().range.end, sql.len());
        assert!(
            tokens
                .windows(2)
                .all(|w| w[0].range.end == w[1].range.start)
        );
    }

    #[test]
    fn unterminated_and_multibyte_text_is_safe() {
        for sql in [
            "'open",
            "/* open",
            "\"open",
            "$a$ open",
            "é€ select",
            "e'\\",
        ] {
            let tokens = tokenize(sql);
            assert_eq!(tokens.last().unwrap().range.end, sql.len(), "{sql}");
        }
    }
}
