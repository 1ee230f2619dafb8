//! Byte-level helpers shared by the line parsers (`parse_v4`, `parse_v2`): whitespace tokens
//! and allocation-free number parsing. Nothing here allocates.

/// Skip leading ASCII spaces.
#[inline]
pub fn skip_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ').count();
    &b[n..]
}

/// Split off the first space-delimited token: `(token, rest after the spaces)`.
#[inline]
pub fn token(b: &[u8]) -> (&[u8], &[u8]) {
    let b = skip_spaces(b);
    match memchr::memchr(b' ', b) {
        Some(i) => (&b[..i], skip_spaces(&b[i + 1..])),
        None => (b, &[]),
    }
}

/// The `n`th (0-based) space-delimited token.
#[inline]
pub fn nth_token(mut b: &[u8], n: usize) -> Option<&[u8]> {
    for _ in 0..n {
        b = token(b).1;
    }
    let t = token(b).0;
    (!t.is_empty()).then_some(t)
}

/// Unsigned decimal integer; `None` if empty, non-digit or overflowing.
#[inline]
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(d as u64)?;
    }
    Some(v)
}

#[inline]
pub fn parse_u16(b: &[u8]) -> Option<u16> {
    parse_u64(b).and_then(|v| u16::try_from(v).ok())
}

const POW10: [f64; 19] = [
    1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18,
];

/// Decimal number like `1795460028.710364`, `-1.215507` or `12`. Fast path for plain
/// decimals; anything else (exponents) goes through `str::parse`. `nan`/garbage → `None`.
#[inline]
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let (int_part, frac_part) = match memchr::memchr(b'.', digits) {
        Some(i) => (&digits[..i], &digits[i + 1..]),
        None => (digits, &digits[..0]),
    };
    if int_part.len() + frac_part.len() > 0 && int_part.len() <= 18 && frac_part.len() <= 18 {
        let ip = if int_part.is_empty() {
            Some(0)
        } else {
            parse_u64(int_part)
        };
        let fp = if frac_part.is_empty() {
            Some(0)
        } else {
            parse_u64(frac_part)
        };
        if let (Some(i), Some(f)) = (ip, fp) {
            let v = i as f64 + f as f64 / POW10[frac_part.len()];
            return Some(if neg { -v } else { v });
        }
    }
    let s = std::str::from_utf8(b).ok()?;
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// `Timestamp` payload `Label: <abs> <since-start> <since-last>` → (label, abs, since start).
#[inline]
pub fn parse_timestamp(p: &[u8]) -> Option<(&[u8], f64, f64)> {
    let colon = memchr::memchr(b':', p)?;
    let label = &p[..colon];
    let (abs, rest) = token(&p[colon + 1..]);
    let (since, _) = token(rest);
    Some((label, parse_f64(abs)?, parse_f64(since)?))
}

/// Trim trailing spaces and `\r`.
#[inline]
pub fn trim_end(b: &[u8]) -> &[u8] {
    let mut n = b.len();
    while n > 0 && (b[n - 1] == b' ' || b[n - 1] == b'\r') {
        n -= 1;
    }
    &b[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"12345"), Some(12345));
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u16(b"70000"), None);
        assert!((parse_f64(b"1795460028.710364").unwrap() - 1795460028.710364).abs() < 1e-6);
        assert_eq!(parse_f64(b"-1.5"), Some(-1.5));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"."), None);
    }

    #[test]
    fn tokens_and_timestamps() {
        assert_eq!(
            nth_token(b"21 origin 127.0.0.1 8080", 1),
            Some(&b"origin"[..])
        );
        assert_eq!(nth_token(b"a b", 5), None);
        let (l, abs, since) =
            parse_timestamp(b"Resp: 1795460031.357046 0.002058 0.000247").unwrap();
        assert_eq!(l, b"Resp");
        assert!((abs - 1795460031.357046).abs() < 1e-6);
        assert!((since - 0.002058).abs() < 1e-9);
        assert_eq!(trim_end(b"End   \r"), b"End");
    }
}
