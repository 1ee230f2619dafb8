//! SQL password clauses in server texts (a replica's `Last_SQL_Error` quotes the failed
//! statement verbatim): after `IDENTIFIED` or `SET PASSWORD`, every string literal and the
//! bare word after `BY` / `AS` up to the end of the statement (`;` or a newline);
//! `PASSWORD(…)` / `OLD_PASSWORD(…)`. `MASTER_PASSWORD='…'`, `PRIMARY_PASSWORD`,
//! `SOURCE_PASSWORD` are secret `key=value` pairs (the key rule in the parent module).

use std::ops::Range;

use super::value_end;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Start offsets of `word` (lowercase) as a whole word in `lower`.
fn word_positions<'a>(lower: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    let b = lower.as_bytes();
    lower.match_indices(word).map(|(i, _)| i).filter(move |&i| {
        let e = i + word.len();
        (i == 0 || !is_word(b[i - 1])) && (e >= b.len() || !is_word(b[e]))
    })
}

pub(crate) fn spans(s: &str) -> Vec<Range<usize>> {
    let lower = s.to_ascii_lowercase();
    let b = s.as_bytes();
    let mut out = Vec::new();
    for i in word_positions(&lower, "identified") {
        statement_literals(b, &lower, i + "identified".len(), &mut out);
    }
    for i in word_positions(&lower, "set") {
        let k = skip_ws(b, i + 3);
        if lower[k..].starts_with("password") {
            statement_literals(b, &lower, k + "password".len(), &mut out);
        }
    }
    for i in word_positions(&lower, "password").chain(word_positions(&lower, "old_password")) {
        let word_end = i + if lower[i..].starts_with("old_") {
            12
        } else {
            8
        };
        let k = skip_ws(b, word_end);
        if b.get(k) == Some(&b'(') {
            let vs = skip_ws(b, k + 1);
            let mut ve = if matches!(b.get(vs), Some(b'\'' | b'"')) {
                value_end(b, vs)
            } else {
                vs
            };
            while ve < b.len() && b[ve] != b')' && !ve_ends_statement(b[ve]) {
                ve += 1;
            }
            out.push(vs..ve);
        }
    }
    out
}

fn ve_ends_statement(c: u8) -> bool {
    c == b';' || c == b'\n'
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// From `i` to the end of the statement: every quoted literal, and the bare word after
/// `BY` / `AS` (unless it is `PASSWORD`).
fn statement_literals(b: &[u8], lower: &str, mut i: usize, out: &mut Vec<Range<usize>>) {
    let mut prev_word = "";
    while i < b.len() {
        let c = b[i];
        if ve_ends_statement(c) {
            return;
        }
        if c == b'\'' || c == b'"' {
            let e = value_end(b, i);
            out.push(i..e);
            i = e;
            prev_word = "";
        } else if is_word(c) {
            let s = i;
            while i < b.len() && is_word(b[i]) {
                i += 1;
            }
            let w = &lower[s..i];
            if matches!(prev_word, "by" | "as") && w != "password" {
                out.push(s..i);
            }
            prev_word = w;
        } else {
            i += 1;
        }
    }
}
