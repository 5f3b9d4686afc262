//! PostgreSQL `numeric` in binary form (base-10000 digits, weight, sign, display scale): its text
//! exactly as `numeric_out` prints it (NaN, ±Infinity, `dscale` digits after the point, never an
//! exponent), and the order `numeric_cmp` gives, for sorting results without rounding to f64.

use std::cmp::Ordering;
use std::fmt::Write as _;

use super::RenderError;

const SIGN_NEGATIVE: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_PLUS_INFINITY: u16 = 0xD000;
const SIGN_MINUS_INFINITY: u16 = 0xF000;

/// A decoded numeric value; digits stay in the wire buffer.
struct Numeric<'a> {
    weight: i16,
    sign: u16,
    dscale: u16,
    /// Base-10000 digits, big-endian pairs.
    digits: &'a [u8],
}

impl<'a> Numeric<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, RenderError> {
        let error = || RenderError::new("numeric", bytes.len());
        let [n0, n1, w0, w1, s0, s1, d0, d1, digits @ ..] = bytes else {
            return Err(error());
        };
        let ndigits = usize::from(u16::from_be_bytes([*n0, *n1]));
        if digits.len() != ndigits * 2 {
            return Err(error());
        }
        Ok(Self {
            weight: i16::from_be_bytes([*w0, *w1]),
            sign: u16::from_be_bytes([*s0, *s1]),
            dscale: u16::from_be_bytes([*d0, *d1]),
            digits,
        })
    }

    fn ndigits(&self) -> usize {
        self.digits.len() / 2
    }

    /// Digit `index` counted from the first one; 0 outside the stored range (also negative).
    fn digit(&self, index: isize) -> u16 {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.digits.get(i * 2..i * 2 + 2))
            .map_or(0, |pair| u16::from_be_bytes([pair[0], pair[1]]))
    }

    /// Ranks NaN above +Infinity above every finite value above -Infinity (as `numeric_cmp`).
    fn class(&self) -> i8 {
        match self.sign {
            SIGN_NAN => 3,
            SIGN_PLUS_INFINITY => 2,
            SIGN_MINUS_INFINITY => -2,
            _ if self.is_zero() => 0,
            SIGN_NEGATIVE => -1,
            _ => 1,
        }
    }

    fn is_zero(&self) -> bool {
        self.digits.iter().all(|&b| b == 0)
    }
}

/// Appends the text of a binary numeric.
pub(super) fn push_numeric(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    let value = Numeric::parse(bytes)?;
    match value.sign {
        SIGN_NAN => out.push_str("NaN"),
        SIGN_PLUS_INFINITY => out.push_str("Infinity"),
        SIGN_MINUS_INFINITY => out.push_str("-Infinity"),
        sign => {
            if sign == SIGN_NEGATIVE {
                out.push('-');
            }
            let weight = isize::from(value.weight);
            let mut index: isize = 0;
            if weight < 0 {
                index = weight + 1;
                out.push('0');
            } else {
                while index <= weight {
                    let digit = value.digit(index);
                    if index == 0 {
                        let _ = write!(out, "{digit}");
                    } else {
                        let _ = write!(out, "{digit:04}");
                    }
                    index += 1;
                }
            }
            let dscale = usize::from(value.dscale);
            if dscale > 0 {
                out.push('.');
                let end = out.len() + dscale;
                while out.len() < end {
                    let _ = write!(out, "{:04}", value.digit(index));
                    index += 1;
                }
                out.truncate(end);
            }
        }
    }
    Ok(())
}

/// Orders two binary numerics as PostgreSQL does (NaN greatest); malformed values sort first.
pub fn compare_numeric(a: &[u8], b: &[u8]) -> Ordering {
    let (a, b) = match (Numeric::parse(a), Numeric::parse(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => return a.is_ok().cmp(&b.is_ok()),
    };
    let class = a.class().cmp(&b.class());
    if class != Ordering::Equal || a.class().abs() != 1 {
        return class;
    }
    let magnitude = compare_magnitude(&a, &b);
    if a.class() < 0 {
        magnitude.reverse()
    } else {
        magnitude
    }
}

/// Compares absolute values of two non-zero finite numerics.
fn compare_magnitude(a: &Numeric<'_>, b: &Numeric<'_>) -> Ordering {
    // Leading zero digits are not stored normally; skip any so weights compare.
    let first_nonzero = |n: &Numeric<'_>| {
        (0..n.ndigits())
            .find(|&i| n.digit(i.cast_signed()) != 0)
            .unwrap_or(0)
    };
    let (a_skip, b_skip) = (first_nonzero(a), first_nonzero(b));
    let a_weight = isize::from(a.weight) - a_skip.cast_signed();
    let b_weight = isize::from(b.weight) - b_skip.cast_signed();
    a_weight.cmp(&b_weight).then_with(|| {
        let len = (a.ndigits() - a_skip).max(b.ndigits() - b_skip);
        (0..len)
            .map(|i| {
                let a_digit = a.digit((a_skip + i).cast_signed());
                let b_digit = b.digit((b_skip + i).cast_signed());
                a_digit.cmp(&b_digit)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Binary numeric from its parts (what `numeric_send` produces).
    pub(crate) fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend((digits.len() as u16).to_be_bytes());
        bytes.extend(weight.to_be_bytes());
        bytes.extend(sign.to_be_bytes());
        bytes.extend(dscale.to_be_bytes());
        for digit in digits {
            bytes.extend(digit.to_be_bytes());
        }
        bytes
    }

    fn text(bytes: &[u8]) -> String {
        let mut out = String::new();
        push_numeric(bytes, &mut out).unwrap();
        out
    }

    #[test]
    fn prints_like_numeric_out() {
        assert_eq!(text(&numeric(0, 0, 2, &[123, 4500])), "123.45");
        assert_eq!(text(&numeric(1, SIGN_NEGATIVE, 0, &[12, 3456])), "-123456");
        assert_eq!(text(&numeric(-1, 0, 5, &[12])), "0.00120");
        assert_eq!(text(&numeric(-2, 0, 8, &[5])), "0.00000005");
        assert_eq!(text(&numeric(2, 0, 0, &[1])), "100000000");
        assert_eq!(text(&numeric(0, 0, 3, &[])), "0.000");
        assert_eq!(text(&numeric(0, 0, 0, &[])), "0");
        assert_eq!(text(&numeric(0, SIGN_NAN, 0, &[])), "NaN");
        assert_eq!(text(&numeric(0, SIGN_PLUS_INFINITY, 0, &[])), "Infinity");
        assert_eq!(text(&numeric(0, SIGN_MINUS_INFINITY, 0, &[])), "-Infinity");
        assert!(push_numeric(&[0, 1], &mut String::new()).is_err());
    }

    #[test]
    fn orders_like_numeric_cmp() {
        let sorted = [
            numeric(0, SIGN_MINUS_INFINITY, 0, &[]),
            numeric(1, SIGN_NEGATIVE, 0, &[1]),
            numeric(0, SIGN_NEGATIVE, 1, &[1, 5000]),
            numeric(0, 0, 0, &[]),
            numeric(-1, 0, 4, &[1]),
            numeric(0, 0, 1, &[1, 5000]),
            numeric(0, 0, 0, &[2]),
            numeric(1, 0, 0, &[1]),
            numeric(0, SIGN_PLUS_INFINITY, 0, &[]),
            numeric(0, SIGN_NAN, 0, &[]),
        ];
        for pair in sorted.windows(2) {
            assert_eq!(
                compare_numeric(&pair[0], &pair[1]),
                Ordering::Less,
                "{pair:?}"
            );
            assert_eq!(compare_numeric(&pair[1], &pair[0]), Ordering::Greater);
        }
        let a = numeric(0, 0, 2, &[1, 5000]);
        let b = numeric(0, 0, 4, &[1, 5000]);
        assert_eq!(compare_numeric(&a, &b), Ordering::Equal);
    }
}
