//! Literal redaction and truncation of query text for notifications and logs. One linear pass of
//! the [`sqllex`](super::sqllex) lexer: string literals of every form (`'…'`, `E'…'`, `B''`,
//! `X''`, `N''`, `U&''`), dollar-quoted strings and numbers become `?`; comments (`--`, nested
//! `/* */`) become `/*?*/` (people paste passwords into comments too). Identifiers, quoted
//! identifiers, keywords, operators and `$n` parameters are kept. Anything the lexer cannot close
//! (an unterminated literal or comment) or cannot be sure of (a `'…\'…'` string whose end depends
//! on `standard_conforming_strings`) redacts everything after it. Used by the Slack message
//! builder (and available to the UI).

use super::sqllex::{lex, Kind};

/// The placeholder for a literal.
pub const LITERAL: &str = "?";
/// The placeholder for a comment.
pub const COMMENT: &str = "/*?*/";

/// Replaces SQL literals with `?` and comments with `/*?*/`. Linear time.
pub fn redact_literals(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    redact_into(sql, &mut out, usize::MAX);
    out
}

/// Redacted, whitespace collapsed to single spaces and cut at `max` characters (with `…`); stops
/// lexing once the output is full, so a huge query text costs only what is shown.
pub fn redact_one_line(sql: &str, max: usize) -> String {
    let mut out = String::with_capacity(max.min(sql.len()) + 4);
    redact_into(sql, &mut out, max);
    out
}

/// `max == usize::MAX`: keep whitespace as it is; otherwise collapse and cut at `max` chars.
fn redact_into(sql: &str, out: &mut String, max: usize) {
    let one_line = max != usize::MAX;
    let mut n = 0usize;
    let mut pending_space = false;
    let push = |out: &mut String, text: &str, n: &mut usize| -> bool {
        if !one_line {
            out.push_str(text);
            return true;
        }
        for ch in text.chars() {
            if *n >= max {
                out.push('…');
                return false;
            }
            out.push(ch);
            *n += 1;
        }
        true
    };
    for t in lex(sql) {
        let text = match t.kind {
            Kind::Space if one_line => {
                pending_space = n > 0;
                continue;
            }
            Kind::Str | Kind::DollarStr | Kind::Number => LITERAL,
            Kind::LineComment | Kind::BlockComment => COMMENT,
            // an unterminated quoted identifier swallows the rest, literals included
            Kind::QuotedIdent if t.unterminated => LITERAL,
            _ => t.text(sql),
        };
        if pending_space {
            pending_space = false;
            if !push(out, " ", &mut n) {
                return;
            }
        }
        if !push(out, text, &mut n) {
            return;
        }
        if t.unterminated || t.ambiguous {
            // everything after it is unknown territory: redacted
            return;
        }
    }
}

/// Collapses whitespace and truncates to `max` characters (with `…`).
pub fn one_line(sql: &str, max: usize) -> String {
    let mut out = String::with_capacity(sql.len().min(max + 4));
    let mut n = 0;
    for w in sql.split_whitespace() {
        if n > 0 {
            out.push(' ');
            n += 1;
        }
        for ch in w.chars() {
            if n >= max {
                out.push('…');
                return out;
            }
            // server text never reaches a terminal as a control sequence (batch output)
            out.push(if ch.is_control() { '?' } else { ch });
            n += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_drops_control_characters() {
        let q = "select 1 /* \u{1b}]0;owned\u{7} \u{1b}[2J \u{9b}31m */";
        let l = one_line(q, 200);
        assert!(!l.chars().any(|c| c.is_control()), "{l:?}");
        assert!(l.contains("?]0;owned?"));
    }

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            redact_literals(
                "SELECT * FROM t1 WHERE a = 'x''y' AND b = 42 AND c = 1.5e-3 AND d = $1"
            ),
            "SELECT * FROM t1 WHERE a = ? AND b = ? AND c = ? AND d = $1"
        );
        assert_eq!(
            redact_literals("select E'a\\'b', X'ff', $$secret$$, $t$x$t$ from \"t 1\""),
            "select ?, ?, ?, ? from \"t 1\""
        );
        assert_eq!(
            redact_literals("select col2 /* pw 'keep' 3 */ -- 'c' 4\nfrom t"),
            "select col2 /*?*/ /*?*/\nfrom t"
        );
        assert_eq!(redact_literals("select 'unterminated"), "select ?");
        assert_eq!(
            redact_literals("select /* a /* b */ pw */ 1"),
            "select /*?*/ ?"
        );
        assert_eq!(redact_literals("select /* open 'x' 1"), "select /*?*/");
        assert_eq!(
            redact_literals("select t1.c2, $1 from t1"),
            "select t1.c2, $1 from t1"
        );
    }

    #[test]
    fn backslash_in_a_plain_string_redacts_to_the_end() {
        // with standard_conforming_strings off this is ONE literal: 'a\' , secret'
        assert_eq!(redact_literals("select 'a\\', 'secret' x"), "select ?");
        // an escape string is never ambiguous
        assert_eq!(redact_literals("select E'a\\'', 'b'"), "select ?, ?");
    }

    #[test]
    fn one_line_variants() {
        assert_eq!(one_line("select\n   1,\t2", 100), "select 1, 2");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(
            redact_one_line("  select\n  'pw',\t42 from t  ", 100),
            "select ?, ? from t"
        );
        assert_eq!(
            redact_one_line("select 'pw' from t", 9),
            "select ?,…".replace(',', " ")
        );
        let big = format!("select {}", "'x', ".repeat(100_000));
        assert_eq!(redact_one_line(&big, 12).chars().count(), 13);
    }

    /// A tiny deterministic generator (xorshift) for property-style tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    /// A secret inside any literal or comment form never appears in the output.
    #[test]
    fn secrets_in_literals_and_comments_never_leak() {
        const SECRET: &str = "S3cr3t";
        let plain_fill = [
            "", "x", "''", "\"", "$", "$$", "--", "/*", "*/", "\\", "\\'", "é", ";",
        ];
        let esc_fill = ["", "x", "''", "\\\\", "\\'", "\"", "$$", "/*", "--", "\n"];
        let dollar_fill = ["", "x", "'", "\"", "$", "$t", "t$", "--", "/*", "\\"];
        let comment_fill = ["", "x", "'", "\"", "$$", "--", "/", "*", "\\", "/* */", "é"];
        let context = [
            "select ",
            "SELECT a, ",
            "insert into t values (",
            "update t set pw = ",
            "x = ",
            "",
            "where c = 1 and ",
            "select $1, ",
            "\"ident\" ",
            "u&\"x\" ",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..20_000 {
            let mut sql = String::new();
            for _ in 0..(1 + rng.next() % 3) {
                sql.push_str(rng.pick(&context));
                let form = rng.next() % 13;
                let fill: &[&str] = match form {
                    1 | 2 => &esc_fill,
                    3 | 4 => &dollar_fill,
                    5..=7 | 12 => &comment_fill,
                    _ => &plain_fill,
                };
                let (p, q) = (rng.pick(fill), rng.pick(fill));
                let lit = match form {
                    0 => format!("'{p}{SECRET}{q}'"),
                    1 => format!("E'{p}{SECRET}{q}'"),
                    2 => format!("e'{p}{SECRET}{q}'"),
                    3 => format!("$t${p}{SECRET}{q}$t$"),
                    4 => format!("$${}{SECRET}{}$$", p.replace('$', ""), q.replace('$', "")),
                    5 => format!("-- {p}{SECRET}{q}\n"),
                    6 => format!("/* {p}{SECRET}{q} */"),
                    7 => format!("/* /* {p} */ {SECRET}{q} */"),
                    8 => format!("U&'{p}{SECRET}{q}'"),
                    9 => format!("N'{p}{SECRET}{q}'"),
                    10 => format!("X'{p}{SECRET}{q}'"),
                    11 => format!("'{p}{SECRET}{q}"), // unterminated
                    _ => format!("/* {p}{SECRET}{q}"), // unterminated
                };
                sql.push_str(&lit);
                if form >= 11 {
                    break; // an unterminated one is the last (it runs to the end)
                }
                sql.push_str(rng.pick(&[" ", ", ", ")", " from t ", "\n", ""]));
            }
            let out = redact_literals(&sql);
            assert!(!out.contains(SECRET), "case {case}: {sql:?} -> {out:?}");
            let short = redact_one_line(&sql, 1000);
            assert!(!short.contains(SECRET), "case {case}: {sql:?} -> {short:?}");
        }
        // numbers
        for n in ["31337", "3.1337e5", ".31337", "0x31337", "31_337"] {
            let out = redact_literals(&format!("select {n} from t"));
            assert_eq!(out, "select ? from t", "{n}");
        }
    }

    #[test]
    fn many_literals() {
        // speed is measured by `cargo bench --bench redact` (30k literals)
        let big = format!("select {} 1", "'secret', E'x\\'y', 42, ".repeat(30_000));
        let out = redact_literals(&big);
        assert_eq!(out, format!("select {} ?", "?, ?, ?, ".repeat(30_000)));
    }
}
