//! Secrets in SQL query texts as a server reports them (`pg_stat_activity.query`), masked
//! before pgtop keeps them — so no screen, slow log, Slack message, batch output or recording
//! ever holds them. Narrower than [`super::text`] so that the statement stays SQL (EXPLAIN
//! and fingerprints still read it): only the literal's content is replaced, its quotes kept.
//!
//! - PostgreSQL's password clauses: `CREATE/ALTER ROLE|USER … [ENCRYPTED] PASSWORD '…'`
//!   (also `E'…'` and dollar quotes), `OPTIONS (password '…')` of user mappings, and
//!   `password = '…'` / `password=…` (a comparison with a stored password, a libpq conninfo
//!   inside a `dblink_connect('… password=…')` literal);
//! - the password of any URI (`postgresql://user:pw@host`), as [`super::text`] does.
//!
//! A text without `password` (any case) and without `://` is returned as is after one
//! `memchr` pass, so the refresh pays almost nothing for the common case.

use std::borrow::Cow;
use std::ops::Range;

const WORD: &[u8] = b"password";

/// `s` with its password literals and URI passwords replaced by [`super::MASK`].
pub fn query(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    let words = word_positions(b);
    let uri = memchr::memmem::find(b, b"://").is_some();
    if words.is_empty() && !uri {
        return Cow::Borrowed(s);
    }
    let mut spans: Vec<Range<usize>> = words.into_iter().filter_map(|i| after_word(b, i)).collect();
    if uri {
        spans.extend(super::uri::spans_in_text(s));
    }
    if spans.is_empty() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(super::apply(s, &spans))
}

/// Starts of `password` (any case) as a whole word.
fn word_positions(b: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    // the `w` of "password" is at 4; `w` is rare enough in SQL to find it first
    for w in memchr::memchr2_iter(b'w', b'W', b) {
        let Some(start) = w.checked_sub(4) else {
            continue;
        };
        let end = start + WORD.len();
        if end <= b.len()
            && b[start..end].eq_ignore_ascii_case(WORD)
            && (start == 0 || !is_word(b[start - 1]))
            && (end == b.len() || !is_word(b[end]))
        {
            out.push(start);
        }
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The secret after the word at `i`: a string literal's content (quotes kept), or after `=`
/// a bare value up to whitespace, a quote, `)`, `,` or `;`. A bare word without `=` is not
/// one (`password text` is a column definition).
fn after_word(b: &[u8], i: usize) -> Option<Range<usize>> {
    let mut k = skip_ws(b, i + WORD.len());
    let eq = b.get(k) == Some(&b'=');
    if eq {
        k = skip_ws(b, k + 1);
    }
    match b.get(k)? {
        b'\'' => Some(quoted(b, k)),
        b'e' | b'E' if b.get(k + 1) == Some(&b'\'') => Some(quoted(b, k + 1)),
        b'$' => dollar(b, k),
        _ if eq => {
            let s = k;
            while k < b.len()
                && !b[k].is_ascii_whitespace()
                && !matches!(b[k], b'\'' | b'"' | b')' | b',' | b';')
            {
                k += 1;
            }
            (k > s).then_some(s..k)
        }
        _ => None,
    }
}

/// The content of the `'…'` literal opening at `q` (`''` and `\'` stay inside; an
/// unterminated literal runs to the end).
fn quoted(b: &[u8], q: usize) -> Range<usize> {
    let end = super::value_end(b, q);
    let close = if end > q + 1 && b.get(end - 1) == Some(&b'\'') {
        end - 1
    } else {
        end
    };
    q + 1..close.max(q + 1)
}

/// The content of the dollar-quoted string opening at `d` (`$$…$$`, `$tag$…$tag$`); an
/// unterminated one runs to the end.
fn dollar(b: &[u8], d: usize) -> Option<Range<usize>> {
    let mut t = d + 1;
    while t < b.len() && is_word(b[t]) {
        t += 1;
    }
    if b.get(t) != Some(&b'$') {
        return None;
    }
    let tag = &b[d..=t];
    let body = t + 1;
    let close = memchr::memmem::find(&b[body..], tag).map_or(b.len(), |n| body + n);
    Some(body..close)
}

#[cfg(test)]
mod tests {
    use super::query;

    #[test]
    fn password_literals_are_masked_and_the_statement_stays_sql() {
        for (q, want) in [
            (
                "ALTER ROLE app PASSWORD 'hunter2'",
                "ALTER ROLE app PASSWORD '********'",
            ),
            (
                "create user x with encrypted password 'md5abc' valid until 'infinity'",
                "create user x with encrypted password '********' valid until 'infinity'",
            ),
            (
                "ALTER USER x PASSWORD E'it\\'s'",
                "ALTER USER x PASSWORD E'********'",
            ),
            (
                "ALTER USER x PASSWORD $p$a'b$p$ VALID UNTIL 'x'",
                "ALTER USER x PASSWORD $p$********$p$ VALID UNTIL 'x'",
            ),
            (
                "ALTER USER x PASSWORD 'a''b' LOGIN",
                "ALTER USER x PASSWORD '********' LOGIN",
            ),
            (
                "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password 'pw1')",
                "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password '********')",
            ),
            (
                "SELECT dblink_connect('host=h dbname=d password=s3cr3t user=u')",
                "SELECT dblink_connect('host=h dbname=d password=******** user=u')",
            ),
            (
                "select * from users where Password = 'plain'",
                "select * from users where Password = '********'",
            ),
            (
                "SELECT dblink_connect('postgresql://u:pw9@db/x')",
                "SELECT dblink_connect('postgresql://u:********@db/x')",
            ),
        ] {
            assert_eq!(query(q), want, "{q}");
        }
    }

    #[test]
    fn texts_without_a_secret_are_untouched() {
        for q in [
            "CREATE TABLE t (id int, password text)",
            "SELECT password_hash FROM users WHERE id = $1",
            "SELECT 1",
            "select pg_sleep(600)",
            "SELECT * FROM t WHERE password IS NULL",
            "",
            "w",
        ] {
            assert!(
                matches!(query(q), std::borrow::Cow::Borrowed(_)) || query(q) == q,
                "{q}"
            );
            assert_eq!(query(q), q);
        }
    }
}
