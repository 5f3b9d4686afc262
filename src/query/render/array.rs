//! Arrays in binary form printed as `array_out` does: `{…}` nested per dimension, `[lb:ub]=`
//! when a lower bound is not 1, `NULL` for null elements, and elements quoted (with `"` and `\`
//! escaped) when empty, spelled `NULL`, or holding braces, commas, quotes, backslashes or
//! white space.

use std::fmt::Write as _;

use super::{RenderError, ScalarKind};

/// Reads the array header and elements from the wire bytes.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn i32(&mut self) -> Result<i32, RenderError> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<4>()
            .ok_or_else(|| RenderError::new("array", self.bytes.len()))?;
        self.bytes = rest;
        Ok(i32::from_be_bytes(*head))
    }

    /// The next element: `None` for NULL.
    fn element(&mut self) -> Result<Option<&'a [u8]>, RenderError> {
        let Ok(len) = usize::try_from(self.i32()?) else {
            return Ok(None);
        };
        if len > self.bytes.len() {
            return Err(RenderError::new("array", self.bytes.len()));
        }
        let (value, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(Some(value))
    }
}

/// Appends the text of a binary array whose elements render as `element`.
pub(super) fn push_array(
    bytes: &[u8],
    element: ScalarKind,
    zone: &jiff::tz::TimeZone,
    out: &mut String,
) -> Result<(), RenderError> {
    let mut reader = Reader { bytes };
    let ndim = reader.i32()?;
    let _has_nulls = reader.i32()?;
    let _element_oid = reader.i32()?;
    let mut dims = Vec::new();
    for _ in 0..ndim {
        let size = usize::try_from(reader.i32()?).map_err(|_| RenderError::new("array", 0))?;
        let lower_bound = i64::from(reader.i32()?);
        dims.push((size, lower_bound));
    }
    if dims.is_empty() {
        out.push_str("{}");
        return Ok(());
    }
    if dims.iter().any(|&(_, lower_bound)| lower_bound != 1) {
        for &(size, lower_bound) in &dims {
            let upper = lower_bound + i64::try_from(size).unwrap_or(i64::MAX) - 1;
            let _ = write!(out, "[{lower_bound}:{upper}]");
        }
        out.push('=');
    }
    let mut scratch = String::new();
    let mut context = Context {
        reader,
        element,
        zone,
        scratch: &mut scratch,
    };
    context.push_level(&dims, out)
}

struct Context<'a, 'b> {
    reader: Reader<'a>,
    element: ScalarKind,
    zone: &'b jiff::tz::TimeZone,
    scratch: &'b mut String,
}

impl Context<'_, '_> {
    fn push_level(&mut self, dims: &[(usize, i64)], out: &mut String) -> Result<(), RenderError> {
        let Some((&(size, _), inner)) = dims.split_first() else {
            return Ok(());
        };
        out.push('{');
        for i in 0..size {
            if i > 0 {
                out.push(',');
            }
            if inner.is_empty() {
                self.push_element(out)?;
            } else {
                self.push_level(inner, out)?;
            }
        }
        out.push('}');
        Ok(())
    }

    fn push_element(&mut self, out: &mut String) -> Result<(), RenderError> {
        let Some(value) = self.reader.element()? else {
            out.push_str("NULL");
            return Ok(());
        };
        self.scratch.clear();
        self.element.render(value, self.zone, self.scratch)?;
        push_quoted_if_needed(self.scratch, out);
        Ok(())
    }
}

/// An element as `array_out` writes it.
fn push_quoted_if_needed(text: &str, out: &mut String) {
    let needs_quotes = text.is_empty()
        || text.eq_ignore_ascii_case("NULL")
        || text.bytes().any(|b| {
            matches!(
                b,
                b'"' | b'\\'
                    | b'{'
                    | b'}'
                    | b','
                    | b' '
                    | b'\t'
                    | b'\n'
                    | b'\r'
                    | b'\x0b'
                    | b'\x0c'
            )
        });
    if !needs_quotes {
        out.push_str(text);
        return;
    }
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary array of int4 or text elements (`None` = NULL).
    fn array(dims: &[(i32, i32)], elements: &[Option<&[u8]>]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend(i32::try_from(dims.len()).unwrap().to_be_bytes());
        bytes.extend(1i32.to_be_bytes());
        bytes.extend(25u32.to_be_bytes());
        for (size, lb) in dims {
            bytes.extend(size.to_be_bytes());
            bytes.extend(lb.to_be_bytes());
        }
        for element in elements {
            match element {
                Some(value) => {
                    bytes.extend(i32::try_from(value.len()).unwrap().to_be_bytes());
                    bytes.extend(*value);
                }
                None => bytes.extend((-1i32).to_be_bytes()),
            }
        }
        bytes
    }

    fn text(bytes: &[u8], kind: ScalarKind) -> String {
        let mut out = String::new();
        push_array(bytes, kind, &jiff::tz::TimeZone::UTC, &mut out).unwrap();
        out
    }

    #[test]
    fn quotes_and_nulls_like_array_out() {
        let elements: [Option<&[u8]>; 7] = [
            Some(b"plain"),
            Some(b""),
            None,
            Some(b"null"),
            Some(b"a \"q\" \\ b"),
            Some(b"x,y"),
            Some(b"{}"),
        ];
        assert_eq!(
            text(&array(&[(7, 1)], &elements), ScalarKind::Text),
            r#"{plain,"",NULL,"null","a \"q\" \\ b","x,y","{}"}"#
        );
    }

    #[test]
    fn dimensions_and_bounds() {
        let one = 1i32.to_be_bytes();
        let two = 2i32.to_be_bytes();
        let grid = array(
            &[(2, 1), (2, 1)],
            &[Some(&one), Some(&two), None, Some(&one)],
        );
        assert_eq!(text(&grid, ScalarKind::Int4), "{{1,2},{NULL,1}}");
        let shifted = array(&[(2, 0)], &[Some(&one), Some(&two)]);
        assert_eq!(text(&shifted, ScalarKind::Int4), "[0:1]={1,2}");
        assert_eq!(text(&array(&[], &[]), ScalarKind::Int4), "{}");
        let truncated = &grid[..grid.len() - 2];
        let mut out = String::new();
        let utc = jiff::tz::TimeZone::UTC;
        assert!(push_array(truncated, ScalarKind::Int4, &utc, &mut out).is_err());
    }
}
