//! A PostgreSQL lexer for the places where stacktop must know what a query text *is* without
//! asking the server: literal redaction ([`super::redact`]), the `K` read-only check and the
//! EXPLAIN statement check ([`super::stmt`]). One left-to-right pass, linear in the input, over
//! bytes (every delimiter is ASCII, so token boundaries are always `char` boundaries).
//!
//! It follows the server's scanner where it matters for safety: `''` doubling, `E''` strings
//! with backslash escapes, `B''` / `X''` / `N''` / `U&''` prefixes, dollar quotes (`$$`, `$tag$`),
//! `"quoted"` / `U&"quoted"` identifiers, `$n` parameters, numbers, `--` comments and nested
//! `/* */` comments. An unterminated literal, identifier or comment runs to the end of the text
//! (as on the server). A plain `'…'` string containing a backslash is *ambiguous*: with
//! `standard_conforming_strings = off` (which the session may have used) `\'` does not end it;
//! the token ends where `on` ends it and is marked so callers can be conservative.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ASCII whitespace (space, tab, newline, carriage return, form feed, vertical tab)
    Space,
    /// `-- …` up to (not including) the newline
    LineComment,
    /// `/* … */`, nested
    BlockComment,
    /// `'…'`, `E'…'`, `B'…'`, `X'…'`, `N'…'`, `U&'…'`
    Str,
    /// `$$…$$`, `$tag$…$tag$`
    DollarStr,
    /// `42`, `1.5e-3`, `.5`, `0x1F`, `1_000`
    Number,
    /// `$1`
    Param,
    /// `"…"`, `U&"…"`
    QuotedIdent,
    /// an unquoted identifier or keyword (may contain `$` and non-ASCII letters)
    Ident,
    /// `;`
    Semicolon,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `.`
    Dot,
    /// any other single byte (operators, commas, brackets, `::` as two tokens, ...)
    Other,
}

/// One token: a byte range of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
    /// a literal, quoted identifier or comment that reaches the end without its closing quote
    pub unterminated: bool,
    /// a plain `'…'` string whose end depends on `standard_conforming_strings`
    pub ambiguous: bool,
}

impl Token {
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    /// Whitespace or a comment.
    pub fn is_trivia(&self) -> bool {
        matches!(
            self.kind,
            Kind::Space | Kind::LineComment | Kind::BlockComment
        )
    }

    /// A literal value (string, dollar string, number).
    pub fn is_literal(&self) -> bool {
        matches!(self.kind, Kind::Str | Kind::DollarStr | Kind::Number)
    }

    /// An unquoted identifier equal (ASCII case-insensitively) to `kw`.
    pub fn is_keyword(&self, src: &str, kw: &str) -> bool {
        self.kind == Kind::Ident && self.text(src).eq_ignore_ascii_case(kw)
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x0b)
}

/// Iterator over the tokens of `src`. Every byte belongs to exactly one token.
pub struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

/// Tokenizes `src`.
pub fn lex(src: &str) -> Lexer<'_> {
    Lexer {
        s: src.as_bytes(),
        pos: 0,
    }
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    /// End of a quoted run starting after the opening quote at `i`: `q` doubled is an escaped
    /// quote; with `backslash`, `\x` is an escape. Returns (end, terminated).
    fn quoted(&self, mut i: usize, q: u8, backslash: bool) -> (usize, bool) {
        let s = self.s;
        while i < s.len() {
            let b = s[i];
            if backslash && b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                if s.get(i + 1) == Some(&q) {
                    i += 2;
                    continue;
                }
                return (i + 1, true);
            }
            i += 1;
        }
        (s.len(), false)
    }

    /// A plain `'…'` string whose opening quote is at `open`.
    fn plain_string(&self, open: usize) -> (usize, bool, bool) {
        let (end, term) = self.quoted(open + 1, b'\'', false);
        if !self.s[open..end].contains(&b'\\') {
            return (end, term, false);
        }
        // standard_conforming_strings = off would read backslash escapes: same end?
        let (alt, alt_term) = self.quoted(open + 1, b'\'', true);
        (end, term, alt != end || alt_term != term)
    }

    /// `$tag$` at `i` (returns the index after the closing `$` of the tag).
    fn dollar_tag(&self, i: usize) -> Option<usize> {
        let s = self.s;
        let mut j = i + 1;
        if s.get(j).is_some_and(|&b| b == b'$') {
            return Some(j + 1);
        }
        if !s.get(j).is_some_and(|&b| is_ident_start(b)) {
            return None;
        }
        while j < s.len() && (is_ident_start(s[j]) || s[j].is_ascii_digit()) {
            j += 1;
        }
        (s.get(j) == Some(&b'$')).then_some(j + 1)
    }

    fn number(&self, mut i: usize) -> usize {
        let s = self.s;
        while i < s.len() {
            let b = s[i];
            let part = b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
            // an exponent sign: 1.5e-3
            let sign = (b == b'+' || b == b'-')
                && matches!(s[i - 1], b'e' | b'E')
                && s.get(i + 1).is_some_and(|d| d.is_ascii_digit());
            if !(part || sign) {
                break;
            }
            i += 1;
        }
        i
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let s = self.s;
        let i = self.pos;
        let b = *s.get(i)?;
        let next = self.at(i + 1);
        let mut unterminated = false;
        let mut ambiguous = false;
        let (kind, end) = match b {
            _ if is_space(b) => {
                let mut j = i + 1;
                while j < s.len() && is_space(s[j]) {
                    j += 1;
                }
                (Kind::Space, j)
            }
            b'-' if next == Some(b'-') => {
                let end = memchr::memchr(b'\n', &s[i..]).map_or(s.len(), |k| i + k);
                (Kind::LineComment, end)
            }
            b'/' if next == Some(b'*') => {
                let (mut j, mut depth) = (i + 2, 1usize);
                while j < s.len() && depth > 0 {
                    if s[j] == b'/' && s.get(j + 1) == Some(&b'*') {
                        depth += 1;
                        j += 2;
                    } else if s[j] == b'*' && s.get(j + 1) == Some(&b'/') {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                unterminated = depth > 0;
                (Kind::BlockComment, j.min(s.len()))
            }
            b'\'' => {
                let (end, term, amb) = self.plain_string(i);
                unterminated = !term;
                ambiguous = amb;
                (Kind::Str, end)
            }
            b'"' => {
                let (end, term) = self.quoted(i + 1, b'"', false);
                unterminated = !term;
                (Kind::QuotedIdent, end)
            }
            b'E' | b'e' if next == Some(b'\'') => {
                let (end, term) = self.quoted(i + 2, b'\'', true);
                unterminated = !term;
                (Kind::Str, end)
            }
            b'B' | b'b' | b'X' | b'x' | b'N' | b'n' if next == Some(b'\'') => {
                let (end, term, amb) = self.plain_string(i + 1);
                unterminated = !term;
                ambiguous = amb;
                (Kind::Str, end)
            }
            b'U' | b'u' if next == Some(b'&') && matches!(self.at(i + 2), Some(b'\'' | b'"')) => {
                let q = s[i + 2];
                if q == b'\'' {
                    let (end, term, amb) = self.plain_string(i + 2);
                    unterminated = !term;
                    ambiguous = amb;
                    (Kind::Str, end)
                } else {
                    let (end, term) = self.quoted(i + 3, b'"', false);
                    unterminated = !term;
                    (Kind::QuotedIdent, end)
                }
            }
            _ if is_ident_start(b) => {
                let mut j = i + 1;
                while j < s.len() && is_ident_cont(s[j]) {
                    j += 1;
                }
                (Kind::Ident, j)
            }
            b'$' if next.is_some_and(|d| d.is_ascii_digit()) => {
                let mut j = i + 1;
                while j < s.len() && s[j].is_ascii_digit() {
                    j += 1;
                }
                (Kind::Param, j)
            }
            b'$' => match self.dollar_tag(i) {
                Some(body) => {
                    let tag = &s[i..body];
                    match memchr::memmem::find(&s[body..], tag) {
                        Some(k) => (Kind::DollarStr, body + k + tag.len()),
                        None => {
                            unterminated = true;
                            (Kind::DollarStr, s.len())
                        }
                    }
                }
                None => (Kind::Other, i + 1),
            },
            b'0'..=b'9' => (Kind::Number, self.number(i)),
            b'.' if next.is_some_and(|d| d.is_ascii_digit()) => (Kind::Number, self.number(i + 1)),
            b';' => (Kind::Semicolon, i + 1),
            b'(' => (Kind::LParen, i + 1),
            b')' => (Kind::RParen, i + 1),
            b'.' => (Kind::Dot, i + 1),
            _ => (Kind::Other, i + 1),
        };
        // a non-ASCII byte never starts an `Other` token (it starts an identifier), so `end` is
        // always on a char boundary; clamp defensively anyway
        let end = end.min(s.len());
        self.pos = end;
        Some(Token {
            kind,
            start: i,
            end,
            unterminated,
            ambiguous,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, &str)> {
        lex(src)
            .filter(|t| t.kind != Kind::Space)
            .map(|t| (t.kind, t.text(src)))
            .collect()
    }

    #[test]
    fn tokens_cover_the_input_and_follow_the_server() {
        use Kind::*;
        let src = "SELECT E'a\\'b', 'it''s', $x$ ; $x$, $$a$$, $1, \"q\"\"i\", U&'\\0041', \
                   x'ff', b'01', n'nat', 1.5e-3, .5, a$b, /* a /* n */ b */ c -- t\n;";
        assert_eq!(
            kinds(src),
            vec![
                (Ident, "SELECT"),
                (Str, "E'a\\'b'"),
                (Other, ","),
                (Str, "'it''s'"),
                (Other, ","),
                (DollarStr, "$x$ ; $x$"),
                (Other, ","),
                (DollarStr, "$$a$$"),
                (Other, ","),
                (Param, "$1"),
                (Other, ","),
                (QuotedIdent, "\"q\"\"i\""),
                (Other, ","),
                (Str, "U&'\\0041'"),
                (Other, ","),
                (Str, "x'ff'"),
                (Other, ","),
                (Str, "b'01'"),
                (Other, ","),
                (Str, "n'nat'"),
                (Other, ","),
                (Number, "1.5e-3"),
                (Other, ","),
                (Number, ".5"),
                (Other, ","),
                (Ident, "a$b"),
                (Other, ","),
                (BlockComment, "/* a /* n */ b */"),
                (Ident, "c"),
                (LineComment, "-- t"),
                (Semicolon, ";"),
            ]
        );
        let joined: String = lex(src).map(|t| t.text(src)).collect();
        assert_eq!(joined, src);
    }

    #[test]
    fn unterminated_and_ambiguous() {
        for src in ["'abc", "E'ab\\'", "$t$ abc $t", "/* a /* b */", "\"id"] {
            let t: Vec<Token> = lex(src).collect();
            assert_eq!(t.len(), 1, "{src}");
            assert!(t[0].unterminated, "{src}");
        }
        let t: Vec<Token> = lex("'a\\' , 'b'").collect();
        assert!(t[0].ambiguous && !t[0].unterminated);
        assert_eq!(t[0].text("'a\\' , 'b'"), "'a\\'");
        let t: Vec<Token> = lex("'a\\\\b'").collect();
        assert!(!t[0].ambiguous, "an escaped backslash ends the same way");
        // non-ASCII identifiers and text
        assert_eq!(
            kinds("select 'é€' as café"),
            vec![
                (Kind::Ident, "select"),
                (Kind::Str, "'é€'"),
                (Kind::Ident, "as"),
                (Kind::Ident, "café")
            ]
        );
    }
}
