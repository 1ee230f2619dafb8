//! Parsing a conninfo string: libpq `key=value` pairs (spaces around `=`, single quotes,
//! backslash escapes) or a `postgres://` URI; errors never quote a piece of the password.

use super::{check_key, ConnInfoError, ConnParams};

/// Parses a conninfo: a `postgresql://` / `postgres://` URI or `key=value` pairs. An error
/// never quotes a piece of the password (see [`scrub`]).
pub fn parse_conninfo(s: &str) -> Result<ConnParams, ConnInfoError> {
    let t = s.trim();
    let r = if t.starts_with("postgresql://") || t.starts_with("postgres://") {
        parse_uri(t)
    } else {
        parse_kv(t)
    };
    r.map_err(|e| scrub(e, s))
}

/// Replaces what an error quotes from `conninfo` by `********` when it overlaps a secret of
/// it (a password with an unquoted space makes its second word look like a keyword).
pub fn scrub(e: ConnInfoError, conninfo: &str) -> ConnInfoError {
    let secrets: Vec<&str> = crate::mask::secret_spans(conninfo)
        .into_iter()
        .filter_map(|r| conninfo.get(r))
        .filter(|x| !x.is_empty())
        .collect();
    let leaks = |frag: &str| {
        !frag.is_empty() && secrets.iter().any(|x| x.contains(frag) || frag.contains(x))
    };
    let clean = |frag: String| {
        if leaks(&frag) {
            crate::mask::MASK.to_string()
        } else {
            frag
        }
    };
    match e {
        ConnInfoError::Syntax(m) => ConnInfoError::Syntax(scrub_quoted(&m, &leaks)),
        ConnInfoError::UnknownOption(k) => ConnInfoError::UnknownOption(clean(k)),
        ConnInfoError::BadValue { key, value } => ConnInfoError::BadValue {
            key: clean(key),
            value: clean(value),
        },
        other => other,
    }
}

/// Masks every `"…"` part of `m` for which `leaks` holds.
fn scrub_quoted(m: &str, leaks: &dyn Fn(&str) -> bool) -> String {
    let parts: Vec<&str> = m.split('"').collect();
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 1 && leaks(p) {
                crate::mask::MASK
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("\"")
}

pub(super) fn parse_kv(s: &str) -> Result<ConnParams, ConnInfoError> {
    let mut out = ConnParams::default();
    let mut it = s.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            it.next();
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.next() != Some('=') {
            return Err(ConnInfoError::Syntax(format!(
                "missing \"=\" after \"{key}\""
            )));
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let mut val = String::new();
        if it.peek() == Some(&'\'') {
            it.next();
            let mut closed = false;
            while let Some(c) = it.next() {
                match c {
                    '\\' => {
                        if let Some(n) = it.next() {
                            val.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    _ => val.push(c),
                }
            }
            if !closed {
                return Err(ConnInfoError::Syntax(format!(
                    "unterminated quoted string for \"{key}\""
                )));
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                it.next();
                if c == '\\' {
                    if let Some(n) = it.next() {
                        val.push(n);
                    }
                } else {
                    val.push(c);
                }
            }
        }
        check_key(&key)?;
        out.set(&key, val);
    }
    Ok(out)
}

fn pct_decode(s: &str) -> Result<String, ConnInfoError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| ConnInfoError::Syntax("invalid percent-encoding in URI".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ConnInfoError::Syntax("URI is not valid UTF-8".into()))
}

/// Index of the `@` ending the userinfo: the last one that is not inside the query (a `?`
/// followed by `name=` before it starts the query).
fn userinfo_end(rest: &str) -> Option<usize> {
    let mut limit = rest.len();
    loop {
        let at = rest[..limit].rfind('@')?;
        let query = rest[..at].match_indices('?').map(|(q, _)| q).find(|&q| {
            let p = &rest[q + 1..];
            let n = p
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '%'))
                .unwrap_or(p.len());
            n > 0 && p[n..].starts_with('=')
        });
        match query {
            Some(q) => limit = q,
            None => return Some(at),
        }
    }
}

fn parse_uri(s: &str) -> Result<ConnParams, ConnInfoError> {
    let mut out = ConnParams::default();
    let rest = s.split_once("://").map(|x| x.1).unwrap_or("");
    // The userinfo ends at the last `@` outside the query, so a raw `/`, `?`, `@` or `:` in a
    // password never spills into the host, port or database (nor into the server label).
    let after = match userinfo_end(rest) {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.split_once(':') {
                Some((u, p)) => {
                    if !u.is_empty() {
                        out.set("user", pct_decode(u)?);
                    }
                    out.set("password", pct_decode(p)?);
                }
                None if !userinfo.is_empty() => out.set("user", pct_decode(userinfo)?),
                None => {}
            }
            &rest[at + 1..]
        }
        None => rest,
    };
    let (main, query) = match after.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (after, None),
    };
    let (hostlist, path) = match main.find('/') {
        Some(i) => (&main[..i], Some(&main[i + 1..])),
        None => (main, None),
    };
    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for part in hostlist.split(',') {
            let (h, p) = if let Some(r) = part.strip_prefix('[') {
                let end = r
                    .find(']')
                    .ok_or_else(|| ConnInfoError::Syntax("missing \"]\" in IPv6 host".into()))?;
                let port = r[end + 1..].strip_prefix(':').unwrap_or("");
                (&r[..end], port)
            } else {
                match part.rsplit_once(':') {
                    Some((h, p)) => (h, p),
                    None => (part, ""),
                }
            };
            hosts.push(pct_decode(h)?);
            ports.push(p.to_string());
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            out.set("host", hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            out.set("port", ports.join(","));
        }
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        out.set("dbname", pct_decode(db)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| ConnInfoError::Syntax(format!("missing \"=\" in \"{pair}\"")))?;
            let k = pct_decode(k)?;
            check_key(&k)?;
            out.set(&k, pct_decode(v)?);
        }
    }
    Ok(out)
}
