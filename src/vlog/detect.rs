//! Format sniffing: which `varnishlog` text is this? Looks at the first non-blank line of the
//! input; `parser::Parser` calls it until it has an answer, then routes every line to
//! `parse_v4` or `parse_v2`.

use super::scan::{parse_u64, skip_spaces};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Varnish 4.0 – 7.x grouped text (`-g request`, `-g vxid`, `-g session`).
    V4,
    /// Varnish 2.1 / 3.0 text (`%5d %-12s %c %s`), default or `-o` order.
    V2,
    /// Varnish 4+ `-g raw` (`%10u %-14s %c %s`): not supported (no grouping to fold).
    Raw,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::V4 => "varnish 4-7",
            Format::V2 => "varnish 2.1/3.0",
            Format::Raw => "varnish -g raw",
        }
    }
}

/// Classify one line. `None` for a blank line (undecided) or something unrecognisable.
pub fn detect_line(line: &[u8]) -> Option<Format> {
    match line.first()? {
        b'*' => {
            // `*   << Request  >> 5`
            return memchr::memmem::find(line, b"<< ").map(|_| Format::V4);
        }
        b'-' => return Some(Format::V4),
        _ => {}
    }
    let l = skip_spaces(line);
    if l.is_empty() {
        return None;
    }
    let sp = memchr::memchr(b' ', l)?;
    parse_u64(&l[..sp])?;
    // The id column is right-aligned: 5 wide in 2.1/3.0, 10 wide in `-g raw`.
    let id_end = line.len() - l.len() + sp;
    let rest = &l[sp + 1..];
    let tag_len = memchr::memchr(b' ', rest)?;
    let after = skip_spaces(&rest[tag_len..]);
    match after {
        [b'c' | b'b' | b'-', b' ', ..] | [b'c' | b'b' | b'-'] => {}
        _ => return None,
    }
    if id_end == 10 && tag_len <= 14 && rest.len() > 15 && rest[14] == b' ' {
        Some(Format::Raw)
    } else {
        Some(Format::V2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(
            detect_line(b"*   << Request  >> 5         "),
            Some(Format::V4)
        );
        assert_eq!(
            detect_line(b"-   Begin          req 4 rxreq"),
            Some(Format::V4)
        );
        assert_eq!(
            detect_line(b"    0 CLI          - Rd ping"),
            Some(Format::V2)
        );
        assert_eq!(
            detect_line(b"   12 ReqStart     c 192.24.149.44 43779 933975901"),
            Some(Format::V2)
        );
        assert_eq!(
            detect_line(b"         0 CLI            - Rd ping"),
            Some(Format::Raw)
        );
        assert_eq!(detect_line(b""), None);
        assert_eq!(detect_line(b"hello world"), None);
    }
}
