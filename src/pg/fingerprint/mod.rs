//! Query fingerprints: a statement text normalised so that every run of the same statement
//! *shape* gives the same text, whatever its literals, spacing, comments or keyword case. One
//! pass of the [`sqllex`](super::sqllex) lexer, linear in the input, output at most about twice
//! the (capped) input:
//!
//! - string literals of every form (`'…'`, `E'…'`, `B''`, `X''`, `U&''`, dollar quotes),
//!   numbers (a sign in unary position included) and `$n` parameters become `?`;
//! - `IN (?, ?, ?)` becomes `in (...)` and `ARRAY[?, ?]` becomes `array[...]` (any number of
//!   literals, casts allowed: `in ('a'::text)`); a list holding anything else is kept;
//! - a multi-row `VALUES (…), (…), (…)` keeps its first row only;
//! - comments go, whitespace becomes one canonical space (`a=1` and `a = 1` agree), unquoted
//!   identifiers and keywords are lower-cased (PostgreSQL folds them anyway), quoted identifiers
//!   are kept as written; trailing semicolons go; booleans and `null` are keywords and stay;
//! - anything the lexer cannot close (an unterminated literal, identifier or comment) or be sure
//!   of (a `'…\'…'` string whose end depends on `standard_conforming_strings`) ends the
//!   fingerprint with `?`, like [`redact`](super::redact): a fingerprint never holds a literal;
//! - control characters become `?` (the text is drawn on a terminal); only the first
//!   [`MAX_INPUT`] bytes are read (then ` …`).
//!
//! [`Fingerprinter`] caches fingerprints by text (a hash of the text with a per-process random
//! seed, plus its length) in a bounded map with generation-based eviction, so a refresh that
//! sees the same texts again does not normalise them again. [`GroupKey`] is what the grouped
//! view groups by: the server's `query_id` (PostgreSQL 14+, when it computes one) or the
//! fingerprint.

mod cache;

pub use cache::{CacheStats, Fingerprint, Fingerprinter, GroupKey};

use super::sqllex::{lex, Kind};

/// Only this many bytes of a text are read (`track_activity_query_size` is 1 KB by default).
pub const MAX_INPUT: usize = 16 * 1024;

/// Keywords after which `(` is not a function call (a space goes before it) and after which a
/// sign is unary (`select -1`, `where x in (-1)`).
const KEYWORDS: &[&str] = &[
    "all",
    "and",
    "any",
    "as",
    "between",
    "by",
    "case",
    "conflict",
    "distinct",
    "else",
    "except",
    "exists",
    "from",
    "having",
    "ilike",
    "in",
    "intersect",
    "into",
    "is",
    "join",
    "lateral",
    "like",
    "limit",
    "not",
    "offset",
    "on",
    "or",
    "over",
    "returning",
    "select",
    "set",
    "similar",
    "some",
    "then",
    "union",
    "using",
    "values",
    "when",
    "where",
    "with",
];

fn is_keyword(w: &str) -> bool {
    KEYWORDS.binary_search(&w).is_ok()
}

/// What an emitted token is, for spacing and list collapsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cat {
    /// an identifier (lower-cased) or quoted identifier
    Word,
    /// a word of [`KEYWORDS`]
    Keyword,
    /// `?` (a literal or parameter)
    Lit,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Semi,
    /// `::`
    Cast,
    /// an operator run (`=`, `<>`, `||`, `*`, ...)
    Op,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    Plain,
    /// `in (` ... `)`: collapsed when it holds only literals
    InList,
    /// `array[` ... `]`: same
    Array,
    /// the first row of `values`
    ValuesRow,
    /// a further row of `values`: dropped on close, from its comma (the offset)
    ValuesExtra(usize),
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    kind: FrameKind,
    /// output length right after the opening bracket
    open_at: usize,
    only_lits: bool,
    any_lit: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Values {
    None,
    /// `values` was the last token: its `(` opens the first row
    ExpectRow,
    /// a row just closed
    AfterRow,
    /// `,` after a row (output length before the comma)
    CommaAfterRow(usize),
}

struct Out {
    s: String,
    /// (category, output length before the token and its space) of the last two tokens
    last: Option<(Cat, usize)>,
    before_last: Option<(Cat, usize)>,
    frames: Vec<Frame>,
    values: Values,
}

impl Out {
    fn space_before(&self, cat: Cat) -> bool {
        let Some((prev, _)) = self.last else {
            return false;
        };
        if matches!(
            cat,
            Cat::RParen | Cat::RBracket | Cat::Comma | Cat::Dot | Cat::Semi | Cat::Cast
        ) {
            return false;
        }
        if matches!(prev, Cat::LParen | Cat::LBracket | Cat::Dot | Cat::Cast) {
            return false;
        }
        // a function call `f(`, a subscript `a[`
        if matches!(cat, Cat::LParen | Cat::LBracket)
            && matches!(prev, Cat::Word | Cat::RParen | Cat::RBracket)
        {
            return false;
        }
        true
    }

    /// Emits one token (text already normalised).
    fn emit(&mut self, cat: Cat, text: &str) {
        // a sign in unary position folds into the literal after it: `-1` and `1` agree
        if cat == Cat::Lit {
            if let (Some((Cat::Op, at)), prev) = (self.last, self.before_last) {
                let sign = &self.s[at..].trim_start();
                let unary = match prev {
                    None => true,
                    Some((c, _)) => matches!(
                        c,
                        Cat::LParen
                            | Cat::LBracket
                            | Cat::Comma
                            | Cat::Op
                            | Cat::Keyword
                            | Cat::Cast
                            | Cat::Semi
                    ),
                };
                if unary && (*sign == "-" || *sign == "+") {
                    self.s.truncate(at);
                    self.last = self.before_last;
                    self.before_last = None;
                }
            }
        }
        let values = self.values;
        self.values = Values::None;
        let start = self.s.len();
        match cat {
            Cat::RParen | Cat::RBracket => {
                if let Some(f) = self.frames.pop() {
                    self.close(f, cat);
                    return;
                }
            }
            Cat::Comma if values == Values::AfterRow => {
                self.values = Values::CommaAfterRow(start);
            }
            _ => {}
        }
        if let Some(top) = self.frames.last_mut() {
            match cat {
                Cat::Lit => top.any_lit = true,
                Cat::Comma | Cat::Cast | Cat::LParen | Cat::LBracket => {}
                // a sign (folded into the literal after it) or constant arithmetic
                Cat::Op if text == "-" || text == "+" => {}
                // a type name after `::`
                Cat::Word if matches!(self.last, Some((Cat::Cast, _))) => {}
                _ => top.only_lits = false,
            }
        }
        if self.space_before(cat) {
            self.s.push(' ');
        }
        self.s.push_str(text);
        if matches!(cat, Cat::LParen | Cat::LBracket) {
            let prev = match self.last {
                Some((Cat::Word | Cat::Keyword, at)) => self.s[at..start].trim_start(),
                _ => "",
            };
            let kind = match (cat, values) {
                (Cat::LParen, Values::ExpectRow) => FrameKind::ValuesRow,
                (Cat::LParen, Values::CommaAfterRow(from)) => FrameKind::ValuesExtra(from),
                (Cat::LParen, _) if prev == "in" => FrameKind::InList,
                (Cat::LBracket, _) if prev == "array" => FrameKind::Array,
                _ => FrameKind::Plain,
            };
            self.frames.push(Frame {
                kind,
                open_at: self.s.len(),
                only_lits: true,
                any_lit: false,
            });
        }
        if cat == Cat::Keyword && text == "values" {
            self.values = Values::ExpectRow;
        }
        self.before_last = self.last;
        self.last = Some((cat, start));
    }

    fn close(&mut self, f: Frame, cat: Cat) {
        let text = if cat == Cat::RParen { ")" } else { "]" };
        match f.kind {
            FrameKind::InList | FrameKind::Array if f.only_lits && f.any_lit => {
                self.s.truncate(f.open_at);
                self.s.push_str("...");
            }
            FrameKind::ValuesExtra(from) => {
                self.s.truncate(from);
                self.values = Values::AfterRow;
                // the row before is the last token again
                self.before_last = None;
                self.last = Some((cat, from.saturating_sub(1)));
                self.propagate(f);
                return;
            }
            _ => {}
        }
        let start = self.s.len();
        self.s.push_str(text);
        if f.kind == FrameKind::ValuesRow {
            self.values = Values::AfterRow;
        }
        self.propagate(f);
        self.before_last = self.last;
        self.last = Some((cat, start));
    }

    fn propagate(&mut self, f: Frame) {
        if let Some(parent) = self.frames.last_mut() {
            parent.only_lits &= f.only_lits;
            parent.any_lit |= f.any_lit;
        }
    }
}

/// Control characters become `?`.
fn push_clean(out: &mut String, text: &str, lower: bool) {
    for ch in text.chars() {
        out.push(match ch {
            c if c.is_control() => '?',
            c if lower => c.to_ascii_lowercase(),
            c => c,
        });
    }
}

fn is_op_byte(b: u8) -> bool {
    matches!(
        b,
        b'+' | b'-'
            | b'*'
            | b'/'
            | b'<'
            | b'>'
            | b'='
            | b'~'
            | b'!'
            | b'@'
            | b'#'
            | b'%'
            | b'^'
            | b'&'
            | b'|'
            | b'`'
            | b'?'
    )
}

/// The fingerprint text of `sql` (see the module doc).
pub fn normalize(sql: &str) -> String {
    let mut o = Out {
        s: String::with_capacity(sql.len().min(MAX_INPUT) + 8),
        last: None,
        before_last: None,
        frames: Vec::new(),
        values: Values::None,
    };
    let src = sql.as_bytes();
    let mut word = String::new();
    let mut toks = lex(sql).peekable();
    let mut cut = false;
    while let Some(t) = toks.next() {
        if t.start >= MAX_INPUT {
            cut = true;
            break;
        }
        let text = t.text(sql);
        match t.kind {
            Kind::Space | Kind::LineComment | Kind::BlockComment => {}
            Kind::Str | Kind::DollarStr | Kind::Number | Kind::Param => o.emit(Cat::Lit, "?"),
            Kind::QuotedIdent if t.unterminated => o.emit(Cat::Lit, "?"),
            Kind::QuotedIdent => {
                word.clear();
                push_clean(&mut word, text, false);
                o.emit(Cat::Word, &word);
            }
            Kind::Ident => {
                word.clear();
                push_clean(&mut word, text, true);
                let cat = if is_keyword(&word) {
                    Cat::Keyword
                } else {
                    Cat::Word
                };
                o.emit(cat, &word);
            }
            Kind::Semicolon => o.emit(Cat::Semi, ";"),
            Kind::LParen => o.emit(Cat::LParen, "("),
            Kind::RParen => o.emit(Cat::RParen, ")"),
            Kind::Dot => o.emit(Cat::Dot, "."),
            Kind::Other => match src[t.start] {
                b',' => o.emit(Cat::Comma, ","),
                b'[' => o.emit(Cat::LBracket, "["),
                b']' => o.emit(Cat::RBracket, "]"),
                b':' if toks
                    .peek()
                    .is_some_and(|n| n.start == t.end && src[n.start] == b':') =>
                {
                    toks.next();
                    o.emit(Cat::Cast, "::");
                }
                b if is_op_byte(b) => {
                    // an operator is a run of operator bytes written together
                    let mut end = t.end;
                    while let Some(n) = toks.peek() {
                        if n.kind == Kind::Other && n.start == end && is_op_byte(src[n.start]) {
                            end = n.end;
                            toks.next();
                        } else {
                            break;
                        }
                    }
                    o.emit(Cat::Op, &sql[t.start..end]);
                }
                _ => {
                    word.clear();
                    push_clean(&mut word, text, false);
                    o.emit(Cat::Op, &word);
                }
            },
        }
        if t.unterminated || t.ambiguous {
            // what follows is not known to be code: nothing of it goes into the fingerprint
            break;
        }
    }
    let mut s = o.s;
    while s.ends_with(';') {
        s.pop();
    }
    if cut {
        s.push_str(" …");
    }
    s
}

#[cfg(test)]
mod tests;
