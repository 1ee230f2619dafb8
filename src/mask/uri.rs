//! URIs: the userinfo password, secret query parameters, webhook paths, and the
//! password-free `host:port/db` label.

use std::ops::Range;

use super::{is_secret_key, pct_decode_lossy};

/// If a URI scheme (`[A-Za-z][A-Za-z0-9+.-]*://`) starts at `i`, the index just after `://`.
pub(crate) fn scheme_at(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    if !b.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    let mut k = i + 1;
    while k < b.len() && (b[k].is_ascii_alphanumeric() || matches!(b[k], b'+' | b'.' | b'-')) {
        k += 1;
    }
    s[k..].starts_with("://").then_some(k + 3)
}

/// Secret spans of the URI in `s[start..end]` (`start` at its scheme).
pub(crate) fn spans(s: &str, start: usize, end: usize) -> Vec<Range<usize>> {
    let Some(rs) = scheme_at(s, start) else {
        return Vec::new();
    };
    let tok = &s[rs..end];
    let mut out = Vec::new();
    // Userinfo ends at the last `@`: a raw `/`, `?`, `@` or `:` in a password stays inside.
    let host_start = match tok.rfind('@') {
        Some(at) => {
            if let Some(c) = tok[..at].find(':') {
                out.push(rs + c + 1..rs + at);
            }
            at + 1
        }
        None => 0,
    };
    // The query is searched from the first `?` anywhere: an `@` inside the query must not
    // hide a `password=` before it.
    if let Some(q) = tok.find('?') {
        out.extend(query_spans(s, rs + q + 1, end));
    }
    let after = &tok[host_start..];
    // Slack-style webhooks carry their secret in the path.
    let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let host = after[..host_end].to_ascii_lowercase();
    let path_start = rs + host_start + host_end;
    if (host.starts_with("hooks.") || tok.contains("/services/") || tok.contains("webhook"))
        && path_start < end
    {
        out.push(path_start + 1.min(end - path_start)..end);
    }
    out
}

/// `key=value&…` from `qs` to `end`: values of secret keys (names percent-decoded) up to the
/// next `&name=` (a raw `&` in a password does not end it).
fn query_spans(s: &str, qs: usize, end: usize) -> Vec<Range<usize>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = qs;
    while i < end {
        let ks = i;
        while i < end && b[i] != b'=' && b[i] != b'&' {
            i += 1;
        }
        let key = pct_decode_lossy(&s[ks..i]);
        if i >= end || b[i] == b'&' {
            i += 1;
            continue;
        }
        let vs = i + 1;
        let mut ve = vs;
        while ve < end && !(b[ve] == b'&' && next_is_param(b, ve + 1, end)) {
            ve += 1;
        }
        if is_secret_key(&key) {
            out.push(vs..ve);
        }
        i = ve + 1;
    }
    out
}

fn next_is_param(b: &[u8], mut i: usize, end: usize) -> bool {
    let s = i;
    while i < end && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'%' | b'-' | b'.')) {
        i += 1;
    }
    i > s && i < end && b[i] == b'='
}

/// Every URI in free text: from its scheme to the next whitespace, `"`, `<`, `>` or `` ` ``.
pub(crate) fn spans_in_text(s: &str) -> Vec<Range<usize>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = s[from..].find("://") {
        let sep = from + p;
        let mut st = sep;
        while st > 0
            && (b[st - 1].is_ascii_alphanumeric() || matches!(b[st - 1], b'+' | b'.' | b'-'))
        {
            st -= 1;
        }
        while st < sep && !b[st].is_ascii_alphabetic() {
            st += 1;
        }
        let mut end = sep + 3;
        while end < b.len()
            && !b[end].is_ascii_whitespace()
            && !matches!(b[end], b'"' | b'<' | b'>' | b'`')
        {
            end += 1;
        }
        if st < sep {
            out.extend(spans(s, st, end));
        }
        from = end.max(sep + 3);
    }
    out
}

/// `host:port/db` of a URI, never its userinfo or query (`None` if `s` is not a URI).
pub fn uri_label(s: &str) -> Option<String> {
    let t = s.trim();
    let rs = scheme_at(t, 0)?;
    let tok = &t[rs..];
    let after = tok.rfind('@').map_or(tok, |at| &tok[at + 1..]);
    let main = after.split(['?', '#']).next().unwrap_or("");
    let (host, db) = main.split_once('/').unwrap_or((main, ""));
    Some(if db.is_empty() {
        host.to_string()
    } else {
        format!("{host}/{db}")
    })
}
