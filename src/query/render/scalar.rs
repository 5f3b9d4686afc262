//! Text of the simple binary types exactly as PostgreSQL's output functions print them: bool,
//! integers, oid, float4/8 (shortest round-trip, PostgreSQL ≥ 12), bytea (hex), uuid, json,
//! jsonb, inet/cidr and the text-like types.

use std::fmt::Write as _;

use super::RenderError;

/// `N` big-endian bytes, or the error naming the type.
pub(super) fn fixed<const N: usize>(
    bytes: &[u8],
    type_name: &'static str,
) -> Result<[u8; N], RenderError> {
    bytes
        .try_into()
        .map_err(|_| RenderError::new(type_name, bytes.len()))
}

/// `t` / `f`.
pub(super) fn push_bool(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    let [byte] = fixed::<1>(bytes, "bool")?;
    out.push(if byte == 0 { 'f' } else { 't' });
    Ok(())
}

/// An integer (int2/4/8, oid) in decimal.
pub(super) fn push_integer(value: impl std::fmt::Display, out: &mut String) {
    let _ = write!(out, "{value}");
}

/// float4 as `float4out` with `extra_float_digits` ≥ 1: see [`push_float8`]; fixed notation for
/// decimal exponents in `-4..6`.
pub(super) fn push_float4(value: f32, out: &mut String) {
    if !push_special_float(f64::from(value), out) {
        let mut scientific = StackText::default();
        let _ = write!(scientific, "{value:e}");
        push_shortest(scientific.as_str(), 6, out);
    }
}

/// float8 as `float8out` with `extra_float_digits` ≥ 1 (PostgreSQL ≥ 12): the shortest digits
/// that read back to the same value, fixed notation for decimal exponents in `-4..15`, otherwise
/// `d.ddde±XX`.
pub(super) fn push_float8(value: f64, out: &mut String) {
    if !push_special_float(value, out) {
        let mut scientific = StackText::default();
        let _ = write!(scientific, "{value:e}");
        push_shortest(scientific.as_str(), 15, out);
    }
}

/// NaN, ±Infinity and ±0 as PostgreSQL prints them; `false` for any other value.
fn push_special_float(v: f64, out: &mut String) -> bool {
    let text = if v.is_nan() {
        "NaN"
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }
    } else if v == 0.0 {
        if v.is_sign_negative() { "-0" } else { "0" }
    } else {
        return false;
    };
    out.push_str(text);
    true
}

/// Reformats Rust's shortest `{:e}` output (`-1.2345e-7`) the way PostgreSQL's Ryu does.
fn push_shortest(scientific: &str, precision: i32, out: &mut String) {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mantissa = match mantissa.strip_prefix('-') {
        Some(rest) => {
            out.push('-');
            rest
        }
        None => mantissa,
    };
    // `lead` is the single digit before the point, `frac` the other significant digits.
    let (lead, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (-4..precision).contains(&exponent) {
        if exponent < 0 {
            out.push_str("0.");
            push_zeros(exponent.unsigned_abs() as usize - 1, out);
            out.push_str(lead);
            out.push_str(frac);
        } else {
            let int_frac_len = exponent.unsigned_abs() as usize;
            out.push_str(lead);
            if frac.len() <= int_frac_len {
                out.push_str(frac);
                push_zeros(int_frac_len - frac.len(), out);
            } else {
                out.push_str(&frac[..int_frac_len]);
                out.push('.');
                out.push_str(&frac[int_frac_len..]);
            }
        }
    } else {
        out.push_str(lead);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    }
}

fn push_zeros(count: usize, out: &mut String) {
    out.extend(std::iter::repeat_n('0', count));
}

/// A small stack buffer for `{:e}` output (at most 24 bytes for an f64), so rendering a float
/// does not allocate.
struct StackText {
    bytes: [u8; 40],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            bytes: [0; 40],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// bytea with `bytea_output = hex`: `\x` and two lowercase hex digits per byte.
pub(super) fn push_bytea(bytes: &[u8], out: &mut String) {
    out.reserve(2 + bytes.len() * 2);
    out.push_str("\\x");
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

/// uuid: 8-4-4-4-12 lowercase hex digits.
pub(super) fn push_uuid(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    let bytes = fixed::<16>(bytes, "uuid")?;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    Ok(())
}

/// text, varchar, bpchar, name, json, enum labels: the UTF-8 bytes themselves (the session's
/// `client_encoding` is UTF8, set by the driver).
pub(super) fn push_text(bytes: &[u8], out: &mut String) {
    out.push_str(&String::from_utf8_lossy(bytes));
}

/// jsonb: a version byte (1) then the same text `jsonb_out` prints.
pub(super) fn push_jsonb(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    match bytes.split_first() {
        Some((1, text)) => {
            push_text(text, out);
            Ok(())
        }
        _ => Err(RenderError::new("jsonb", bytes.len())),
    }
}

/// inet / cidr as `network_out`: IPv4 always with four octets; IPv6 with PostgreSQL's own
/// compression (which, unlike RFC 5952, writes IPv4-compatible `::a.b.c.d`); `/bits` when it is
/// not the full length, and always for cidr.
pub(super) fn push_inet(bytes: &[u8], cidr: bool, out: &mut String) -> Result<(), RenderError> {
    let error = || RenderError::new("inet", bytes.len());
    let [family, bits, _is_cidr, length, address @ ..] = bytes else {
        return Err(error());
    };
    let full_bits = match (family, address.len(), usize::from(*length)) {
        (2, 4, 4) => {
            push_ipv4(address, out);
            32
        }
        (3, 16, 16) => {
            push_ipv6(address, out);
            128
        }
        _ => return Err(error()),
    };
    if cidr || *bits != full_bits {
        let _ = write!(out, "/{bits}");
    }
    Ok(())
}

fn push_ipv4(octets: &[u8], out: &mut String) {
    for (i, octet) in octets.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        let _ = write!(out, "{octet}");
    }
}

/// `inet_net_ntop_ipv6` from PostgreSQL's `src/port/inet_net_ntop.c`.
fn push_ipv6(address: &[u8], out: &mut String) {
    let words: Vec<u16> = address
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    // The first longest run of zero words, if at least two long.
    // Runs are (first word, length).
    let mut best: Option<(usize, usize)> = None;
    let mut current: Option<(usize, usize)> = None;
    for (i, &word) in words.iter().enumerate() {
        if word == 0 {
            current = Some(current.map_or((i, 1), |(base, len)| (base, len + 1)));
        } else if let Some(run) = current.take()
            && best.is_none_or(|(_, len)| run.1 > len)
        {
            best = Some(run);
        }
    }
    if let Some(run) = current
        && best.is_none_or(|(_, len)| run.1 > len)
    {
        best = Some(run);
    }
    let best = best.filter(|&(_, len)| len >= 2);
    for (i, &word) in words.iter().enumerate() {
        if let Some((base, len)) = best
            && (base..base + len).contains(&i)
        {
            if i == base {
                out.push(':');
            }
            continue;
        }
        if i != 0 {
            out.push(':');
        }
        let embedded_ipv4 = i == 6
            && best.is_some_and(|(base, len)| {
                base == 0
                    && (len == 6 || (len == 7 && words[7] != 1) || (len == 5 && words[5] == 0xffff))
            });
        if embedded_ipv4 {
            push_ipv4(&address[12..], out);
            return;
        }
        let _ = write!(out, "{word:x}");
    }
    if best.is_some_and(|(base, len)| base + len == words.len()) {
        out.push(':');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float8(v: f64) -> String {
        let mut out = String::new();
        push_float8(v, &mut out);
        out
    }

    fn float4(v: f32) -> String {
        let mut out = String::new();
        push_float4(v, &mut out);
        out
    }

    #[test]
    fn floats_print_like_postgres_12() {
        assert_eq!(float8(0.1), "0.1");
        assert_eq!(float8(-0.0), "-0");
        assert_eq!(float8(1e15), "1e+15");
        assert_eq!(float8(123_456_789_012_345.0), "123456789012345");
        assert_eq!(float8(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(float8(0.0001), "0.0001");
        assert_eq!(float8(0.00001), "1e-05");
        assert_eq!(float8(1.5e300), "1.5e+300");
        assert_eq!(float8(-2.5e-310), "-2.5e-310");
        assert_eq!(float8(f64::NAN), "NaN");
        assert_eq!(float8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(float4(123_456.0), "123456");
        assert_eq!(float4(1e6), "1e+06");
        assert_eq!(float4(0.1), "0.1");
        assert_eq!(float4(3.402_823_5e38), "3.4028235e+38");
    }

    fn inet(bytes: &[u8], cidr: bool) -> String {
        let mut out = String::new();
        push_inet(bytes, cidr, &mut out).unwrap();
        out
    }

    #[test]
    fn inet_and_cidr_follow_network_out() {
        assert_eq!(inet(&[2, 32, 0, 4, 10, 0, 0, 1], false), "10.0.0.1");
        assert_eq!(inet(&[2, 8, 1, 4, 10, 0, 0, 0], true), "10.0.0.0/8");
        assert_eq!(inet(&[2, 32, 1, 4, 10, 0, 0, 1], true), "10.0.0.1/32");
        let v6 = |words: [u16; 8], bits: u8| {
            let mut bytes = vec![3, bits, 0, 16];
            bytes.extend(words.iter().flat_map(|w| w.to_be_bytes()));
            inet(&bytes, false)
        };
        assert_eq!(v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 128), "2001:db8::1");
        assert_eq!(v6([0; 8], 128), "::");
        assert_eq!(v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "::1");
        assert_eq!(
            v6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], 128),
            "::ffff:1.2.3.4"
        );
        assert_eq!(v6([0, 0, 0, 0, 0, 0, 0x0102, 0x0304], 128), "::1.2.3.4");
        assert_eq!(v6([1, 0, 0, 1, 0, 0, 0, 1], 64), "1:0:0:1::1/64");
        assert_eq!(v6([1, 0, 2, 0, 0, 3, 0, 0], 128), "1:0:2::3:0:0");
    }

    #[test]
    fn bytea_and_uuid_are_lowercase_hex() {
        let mut out = String::new();
        push_bytea(&[0, 0xab, 0x10], &mut out);
        assert_eq!(out, "\\x00ab10");
        out.clear();
        push_uuid(&(0u8..16).collect::<Vec<_>>(), &mut out).unwrap();
        assert_eq!(out, "00010203-0405-0607-0809-0a0b0c0d0e0f");
        assert!(push_uuid(&[1, 2], &mut out).is_err());
    }
}
