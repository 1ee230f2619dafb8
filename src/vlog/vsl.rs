//! A filter as a `varnishlog -q` (VSL query) string, for push-down ([`Filter::vsl_query`]):
//! only what varnishlog's PCRE reads as broadly as Rust's `regex` goes down. This module
//! uses the filter; the filter does not use it.

use super::filter::{Filter, Pattern, StatusFilter, StatusItem};

impl Filter {
    /// A `varnishlog -q` query selecting a superset of what this filter keeps, to cut the
    /// volume at the source; `None` if no part can be pushed down. Only a part whose VSL form
    /// keeps every request it keeps goes down (regexes through [`vsl_regex`]); the filter
    /// itself still decides what is shown. Caveat: with a query the statistics see only the
    /// matching traffic, and a restart whose legs match differently may arrive half (it is
    /// then shown as its first leg).
    pub fn vsl_query(&self) -> Option<String> {
        let mut parts = Vec::new();
        let mut re = |tag: &str, p: &Option<Pattern>| {
            if let Some(q) = p
                .as_ref()
                .filter(|p| !p.is_negated())
                .and_then(|p| vsl_regex(p.body()))
            {
                parts.push(format!("{tag} ~ {q}"));
            }
        };
        re("ReqURL", &self.url);
        re("ReqMethod", &self.method);
        re("ReqStart[1]", &self.client);
        if let Some(StatusFilter::Set {
            negate: false,
            items,
        }) = &self.status
        {
            let alts: Option<Vec<String>> = items
                .iter()
                .map(|i| match i {
                    StatusItem::Code(c) => Some(format!("RespStatus == {c}")),
                    StatusItem::Class(c) => Some(format!(
                        "(RespStatus >= {} and RespStatus < {})",
                        c * 100,
                        c * 100 + 100
                    )),
                    StatusItem::Missing => None,
                })
                .collect();
            if let Some(a) = alts.filter(|a| !a.is_empty()) {
                parts.push(format!("({})", a.join(" or ")));
            }
        }
        if let Some(ms) = self.slow_ms {
            parts.push(format!(
                "(Timestamp:Resp[2] >= {0} or Timestamp:PipeSess[2] >= {0})",
                ms / 1000.0
            ));
        }
        if self.only_hits {
            parts.push("Hit".into());
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }
}

/// A regex of the filter as a VSL query string (quoted, backslashes escaped for the query
/// lexer), or `None` when varnishlog's PCRE might match less than Rust's `regex` does.
///
/// The two dialects agree on ASCII literals, groups, alternation, repetition and anchors
/// (PCRE's `$` also matches before a final newline: more, which is fine). They differ on
/// what one "character" is: Rust matches one UTF-8 character where PCRE (no UTF mode) matches
/// one byte. So every one-character atom — `.`, `\d \w \s` and their negations, a bracket
/// class — becomes `(?:ATOM|[\x80-\xff]+)`, which also takes any run of non-ASCII bytes.
/// Anything else (flags such as `(?i)`, which fold Unicode, `\b`, `\p{..}`, `\x..`, nested
/// classes, set operations, non-ASCII text) is not pushed down.
pub fn vsl_regex(re: &str) -> Option<String> {
    const WIDE: &str = "|[\\x80-\\xff]+)";
    let b = re.as_bytes();
    if b.iter().any(|&c| !(0x20..=0x7e).contains(&c) || c == b'"') {
        return None;
    }
    let class_escape = |c: u8| matches!(c, b'd' | b'D' | b'w' | b'W' | b's' | b'S');
    let mut out = String::with_capacity(re.len() * 2);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let c = *b.get(i + 1)?;
                if class_escape(c) {
                    out.push_str("(?:\\");
                    out.push(c as char);
                    out.push_str(WIDE);
                } else if c.is_ascii_punctuation() && c != b'<' && c != b'>' {
                    out.push('\\');
                    out.push(c as char);
                } else {
                    return None;
                }
                i += 2;
            }
            b'(' if b.get(i + 1) == Some(&b'?') => {
                if b.get(i + 2) != Some(&b':') {
                    return None;
                }
                out.push_str("(?:");
                i += 3;
            }
            b'.' => {
                out.push_str("(?:.");
                out.push_str(WIDE);
                i += 1;
            }
            b'[' => {
                let mut j = i + 1;
                if b.get(j) == Some(&b'^') {
                    j += 1;
                }
                if b.get(j) == Some(&b']') {
                    j += 1; // a leading `]` is literal
                }
                loop {
                    match *b.get(j)? {
                        b']' => break,
                        b'[' => return None, // nested or POSIX classes
                        b'\\' => {
                            let c = *b.get(j + 1)?;
                            if !(class_escape(c) || c.is_ascii_punctuation()) {
                                return None;
                            }
                            j += 2;
                        }
                        c @ (b'&' | b'-' | b'~') if b.get(j + 1) == Some(&c) => return None,
                        _ => j += 1,
                    }
                }
                out.push_str("(?:");
                out.push_str(&re[i..=j]);
                out.push_str(WIDE);
                i = j + 1;
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    // The query lexer takes `\\` for one backslash (a lone `\d` would become `d`).
    Some(format!("\"{}\"", out.replace('\\', "\\\\")))
}

#[cfg(test)]
mod tests {
    use super::vsl_regex;

    #[test]
    fn vsl_regex_escapes_for_the_lexer_and_widens_one_character_atoms() {
        assert_eq!(vsl_regex("^/api").as_deref(), Some(r#""^/api""#));
        // The query lexer eats one backslash: `\.` must travel as `\\.`.
        assert_eq!(vsl_regex(r"\.css$").as_deref(), Some(r#""\\.css$""#));
        assert_eq!(
            vsl_regex(r"^/p/\d+").as_deref(),
            Some(r#""^/p/(?:\\d|[\\x80-\\xff]+)+""#)
        );
        assert_eq!(
            vsl_regex("^/a.b[^/]*$").as_deref(),
            Some(r#""^/a(?:.|[\\x80-\\xff]+)b(?:[^/]|[\\x80-\\xff]+)*$""#)
        );
        assert_eq!(
            vsl_regex("^/(?:a|b)[]x-]").as_deref(),
            Some(r#""^/(?:a|b)(?:[]x-]|[\\x80-\\xff]+)""#)
        );
        // Not pushed: Unicode case folding, word boundaries, hex bytes, nested classes and
        // set operations, non-ASCII text, quotes, a trailing backslash.
        for re in [
            "(?i)^/api",
            r"\bapi",
            r"\<api",
            r"\x41",
            r"\p{L}",
            "[[:alpha:]]",
            "[a-z&&[^x]]",
            "[a--b]",
            "/café",
            "a\"b",
            "a\\",
            "[abc",
        ] {
            assert_eq!(vsl_regex(re), None, "{re}");
        }
    }
}
