//! The one secret masker. Everything that may show text holding a secret goes through here
//! before it reaches a screen, a file, Slack, Nagios or stderr: `config show`, config and
//! conninfo errors, server labels, panic messages, the slow log's server name and the
//! `repl --check` output.
//!
//! - [`conninfo`]: a whole connection string — libpq `key=value` (spaces around `=`, single
//!   quotes, backslash escapes) or a URI (`postgres://`, `postgresql://`, `mysql://`,
//!   `mariadb://`, any `scheme://`): the userinfo password (up to the *last* `@`, so `/`, `@`
//!   and `:` in a raw password stay covered), and query parameters whose percent-decoded name
//!   is secret (`password=`, `sslpassword=`, `%70assword=`).
//! - [`text`]: free text (error messages, panics): every URI as above, `KEY=value` /
//!   `"key": "value"` where the key names a secret ([`is_secret_key`]), and SQL password
//!   clauses (`IDENTIFIED BY '…'`, `PASSWORD('…')`, `MASTER_PASSWORD='…'`…, see `sql`).
//! - [`query`]: SQL query texts a server reports (PostgreSQL's `PASSWORD '…'` clauses, a
//!   `password=` inside a conninfo literal, URI passwords), quotes kept so the text stays SQL.
//! - [`secret_spans`]: the byte ranges [`conninfo`] hides, for callers that must not echo
//!   a fragment of them (conninfo parse errors).
//!
//! Masking errs on the side of hiding too much: an ambiguous URI loses more than its password.

use std::ops::Range;

mod query;
mod sql;
#[cfg(test)]
mod tests;
mod uri;

pub use query::query;
pub use uri::uri_label;

/// What a secret is replaced with.
pub const MASK: &str = "********";

/// Whether a key (config key, conninfo keyword, URI parameter, environment variable) names a
/// secret: `password`, `passwd`, `pwd`, `secret`, `token`, `webhook`, `apikey`… Keys that
/// only say where a secret comes from (`password_env`, `password_command`, `passfile`) are not.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .trim_matches(|c: char| c == '-' || c == '"' || c == '\'')
        .chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    if k.ends_with("_env") || k.ends_with("_command") || k.ends_with("_file") || k == "passfile" {
        return false;
    }
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "webhook",
        "apikey",
        "api_key",
        "credential",
    ];
    WORDS.iter().any(|w| k.contains(w)) || k == "pass" || k == "pw"
}

/// Masks a whole connection string: a URI or libpq `key=value` pairs.
pub fn conninfo(s: &str) -> String {
    apply(s, &secret_spans(s))
}

/// The byte ranges of `s` (a conninfo or URI) that [`conninfo`] replaces by [`MASK`].
pub fn secret_spans(s: &str) -> Vec<Range<usize>> {
    let start = s.len() - s.trim_start().len();
    if uri::scheme_at(s, start).is_some() {
        uri::spans(s, start, s.len())
    } else {
        kv_conninfo_spans(s)
    }
}

/// Masks secrets in free text: URIs, secret `key=value` pairs and SQL password clauses.
pub fn text(s: &str) -> String {
    let mut spans = uri::spans_in_text(s);
    spans.extend(sql::spans(s));
    spans.extend(kv_text_spans(s));
    apply(s, &spans)
}

/// `message` (e.g. a driver's error about `source`, a conninfo or URI) masked by [`text`] and
/// without any secret of `source`, as written or percent-decoded.
pub fn without_secrets_of(message: &str, source: &str) -> String {
    let mut m = text(message);
    for r in secret_spans(source) {
        let raw = source.get(r).unwrap_or("");
        for v in [raw.to_string(), pct_decode_lossy(raw)] {
            if !v.is_empty() {
                m = m.replace(&v, MASK);
            }
        }
    }
    m
}

/// Masks a config value that may be a conninfo, a URI or free text: the union of
/// [`conninfo`] and [`text`].
pub fn value(s: &str) -> String {
    let mut spans = secret_spans(s);
    spans.extend(uri::spans_in_text(s));
    spans.extend(sql::spans(s));
    spans.extend(kv_text_spans(s));
    apply(s, &spans)
}

/// Replaces every span (they may overlap) by one [`MASK`] each.
fn apply(s: &str, spans: &[Range<usize>]) -> String {
    let mut v: Vec<Range<usize>> = spans.iter().filter(|r| r.start < r.end).cloned().collect();
    v.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut i = 0;
    while i < v.len() {
        let mut r = v[i].clone();
        i += 1;
        while i < v.len() && v[i].start <= r.end {
            r.end = r.end.max(v[i].end);
            i += 1;
        }
        let (a, b) = (
            floor_boundary(s, r.start.max(last)),
            ceil_boundary(s, r.end),
        );
        if a < last {
            continue;
        }
        out.push_str(&s[last..a]);
        out.push_str(MASK);
        last = b;
    }
    out.push_str(&s[last.min(s.len())..]);
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

fn is_ws(b: u8) -> bool {
    b.is_ascii_whitespace()
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'%')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// End of a value starting at `i`: a quoted string (`'…'` or `"…"`, backslash escapes, a
/// doubled quote continues it, unterminated runs to the end) or a word up to whitespace
/// (backslash escapes the next byte, as in libpq).
pub(crate) fn value_end(b: &[u8], i: usize) -> usize {
    if i >= b.len() {
        return i;
    }
    let q = b[i];
    let mut k = i;
    if q == b'\'' || q == b'"' {
        k += 1;
        while k < b.len() {
            if b[k] == b'\\' {
                k += 2;
            } else if b[k] == q {
                if b.get(k + 1) == Some(&q) {
                    k += 2;
                } else {
                    return k + 1;
                }
            } else {
                k += 1;
            }
        }
        return b.len();
    }
    while k < b.len() && !is_ws(b[k]) {
        k += if b[k] == b'\\' { 2 } else { 1 };
    }
    k.min(b.len())
}

/// Percent-decodes a key name (invalid escapes are kept as written).
pub(crate) fn pct_decode_lossy(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(h) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(h);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A keyword libpq knows or one naming a secret: the start of the next pair in a conninfo.
fn starts_pair(b: &[u8], s: &str, i: usize) -> bool {
    let mut k = i;
    while k < b.len() && !is_ws(b[k]) && b[k] != b'=' {
        k += 1;
    }
    let key = &s[i..k];
    let j = skip_ws(b, k);
    j < b.len()
        && b[j] == b'='
        && (crate::pg::conninfo::KNOWN_KEYS.contains(&key) || is_secret_key(key))
}

/// libpq `key = value` pairs. A secret's unquoted value also takes the following words up
/// to the next `known_key=` (a password with an unquoted space is still hidden).
fn kv_conninfo_spans(s: &str) -> Vec<Range<usize>> {
    let b = s.as_bytes();
    let mut spans: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    let mut open: Option<usize> = None; // index into spans of an unquoted secret value
    loop {
        i = skip_ws(b, i);
        if i >= b.len() {
            break;
        }
        if let Some(idx) = open {
            if !starts_pair(b, s, i) {
                let e = value_end(b, i);
                spans[idx] = spans[idx].start..e;
                i = e;
                continue;
            }
            open = None;
        }
        let ks = i;
        while i < b.len() && !is_ws(b[i]) && b[i] != b'=' {
            i += 1;
        }
        let key = &s[ks..i];
        let j = skip_ws(b, i);
        if j >= b.len() || b[j] != b'=' {
            i = value_end(b, ks).max(ks + 1);
            continue;
        }
        let vs = skip_ws(b, j + 1);
        let ve = value_end(b, vs);
        if is_secret_key(key) {
            spans.push(vs..ve);
            if vs < b.len() && b[vs] != b'\'' {
                open = Some(spans.len() - 1);
            }
        }
        i = ve.max(j + 1);
    }
    spans
}

/// `KEY=value`, `key = 'value'`, `"key": "value"` in free text where the key names a secret.
/// `:` counts as a separator too, except after a bare `token` ("unexpected token: `}`").
fn kv_text_spans(s: &str) -> Vec<Range<usize>> {
    let b = s.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_ident(b[i]) || (i > 0 && is_ident(b[i - 1])) {
            i += 1;
            continue;
        }
        let ks = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        let key = pct_decode_lossy(&s[ks..i]);
        if !is_secret_key(&key) {
            continue;
        }
        let mut j = i;
        let quoted =
            ks > 0 && (b[ks - 1] == b'"' || b[ks - 1] == b'\'') && b.get(j) == Some(&b[ks - 1]);
        if quoted {
            j += 1;
        }
        j = skip_ws(b, j);
        let colon_ok = quoted || !key.eq_ignore_ascii_case("token");
        let sep = match b.get(j) {
            Some(b'=') => true,
            Some(b':') => colon_ok && !s[j..].starts_with("://"),
            _ => false,
        };
        if !sep {
            continue;
        }
        let vs = skip_ws(b, j + 1);
        let ve = value_end(b, vs);
        if ve > vs {
            spans.push(vs..ve);
            i = ve;
        }
    }
    spans
}
