//! Fitting one line of text (a status line, an error banner) into a width by stated
//! priorities instead of cutting its end: each [`Part`] says how it may shrink and at which
//! step (rank); steps run from rank 0 up until the line fits, and only then is the end cut.
//! For an error line the order is: the connection string is shortened in the middle first
//! (`host=db1.exa…sslmode=prefer`), then counts and attempt numbers go, the last-data age gets
//! short, the error's context (`connection to … failed: error connecting to server:`) becomes
//! `…:`, and the cause (`Connection refused`) and the retry countdown stay to the last.
//! Server text is shown on one line, control characters as `?`.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How a part shrinks at one step.
#[derive(Clone, Debug, PartialEq)]
pub enum Shrink {
    /// Left out.
    Drop,
    /// Replaced by a shorter text.
    Alt(String),
    /// Cut in the middle with `…`, only as far as needed, down to `min` cells.
    Middle(usize),
    /// Its end cut after a whole word with `…`, only as far as needed, down to `min` cells
    /// (`password authentication failed…`); in the middle when not even one word fits.
    Words(usize),
}

/// A piece of a line with its shrink steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub text: String,
    stages: Vec<(u8, Shrink)>,
}

/// Ranks used by the status and banner lines (lower goes first).
pub mod rank {
    /// The connection string is cut in the middle to 16 cells.
    pub const CONNINFO: u8 = 1;
    /// Row counts, refresh interval, attempt numbers.
    pub const EXTRAS: u8 = 2;
    /// `(os error 111)`-like trailing details; the last-data age gets its short form.
    pub const DETAILS: u8 = 3;
    /// The error's context before its cause becomes `…: `.
    pub const CONTEXT: u8 = 4;
    /// `since 12:03:04` goes; what is left of the connection string becomes `…`.
    pub const SINCE: u8 = 5;
    /// The last-data age goes (the state word, DISCONNECTED or NO ANSWER, stays).
    pub const AGE: u8 = 6;
    /// The retry countdown gets its short form (` · retry 4 s`); the `…: ` left of the
    /// error's context goes.
    pub const COUNTDOWN: u8 = 8;
    /// The cause itself is cut after a whole word (the countdown after it stays).
    pub const CAUSE: u8 = 9;
}

impl Part {
    /// A part that never shrinks (only the final end cut reaches it).
    pub fn keep(text: impl Into<String>) -> Part {
        Part {
            text: clean(&text.into()),
            stages: Vec::new(),
        }
    }

    /// Adds a shrink step at `rank`.
    pub fn with(mut self, rank: u8, how: Shrink) -> Part {
        self.stages.push((rank, how));
        self
    }

    /// Dropped at `rank`.
    pub fn drop_at(text: impl Into<String>, rank: u8) -> Part {
        Part::keep(text).with(rank, Shrink::Drop)
    }
}

/// Display width in terminal cells.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// One line: whitespace runs become one space, control characters `?`.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c == '\n' || c == '\r' || c == '\t' {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = c == ' ';
        out.push(if c.is_control() { '?' } else { c });
    }
    out
}

/// The first `w` cells of `s`.
fn head(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            return &s[..i];
        }
        used += cw;
    }
    s
}

/// The last `w` cells of `s`.
fn tail(s: &str, w: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w {
            return &s[i + c.len_utf8()..];
        }
        used += cw;
    }
    s
}

/// `s` in at most `w` cells, cut in the middle: `host=db1.ex…sslmode=prefer`.
pub fn middle(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    let keep = w - 1;
    let front = keep.div_ceil(2);
    format!("{}…{}", head(s, front), tail(s, keep - front))
}

/// `s` in at most `w` cells, its end cut: `connection ref…`.
pub fn end_cut(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w == 0 {
        return String::new();
    }
    format!("{}…", head(s, w - 1))
}

/// `s` in at most `w` cells, cut after its last whole word that fits: `password
/// authentication failed…`; cut in the middle when the first word alone does not fit.
pub fn word_cut(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    let room = head(s, w.saturating_sub(1));
    match room.rfind(' ') {
        Some(i) if i > 0 => format!("{}…", room[..i].trim_end()),
        _ => middle(s, w),
    }
}

/// The parts joined and fitted into `w` cells (see the module doc).
pub fn fit(mut parts: Vec<Part>, w: usize) -> String {
    let total = |p: &[Part]| p.iter().map(|x| width(&x.text)).sum::<usize>();
    let mut ranks: Vec<u8> = parts
        .iter()
        .flat_map(|p| p.stages.iter().map(|s| s.0))
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    for r in ranks {
        if total(&parts) <= w {
            break;
        }
        // Drop and Alt steps of a rank apply together (one step); Middle shrinks only as
        // far as needed, later parts first.
        for p in parts.iter_mut() {
            for (_, how) in p.stages.iter().filter(|s| s.0 == r) {
                match how {
                    Shrink::Drop => p.text.clear(),
                    Shrink::Alt(a) => p.text = a.clone(),
                    _ => {}
                }
            }
        }
        for i in (0..parts.len()).rev() {
            let excess = total(&parts).saturating_sub(w);
            if excess == 0 {
                break;
            }
            let p = &mut parts[i];
            let cuts: Vec<(usize, bool)> = p
                .stages
                .iter()
                .filter_map(|s| match s {
                    (x, Shrink::Middle(min)) if *x == r => Some((*min, false)),
                    (x, Shrink::Words(min)) if *x == r => Some((*min, true)),
                    _ => None,
                })
                .collect();
            for (min, words) in cuts {
                let cur = width(&p.text);
                if cur > min {
                    let target = cur.saturating_sub(excess).max(min);
                    p.text = if words {
                        word_cut(&p.text, target)
                    } else {
                        middle(&p.text, target)
                    };
                }
            }
        }
    }
    let line: String = parts.iter().map(|p| p.text.as_str()).collect();
    end_cut(&line, w)
}

/// Whether `tok` is a conninfo word (`host=db1`, `sslmode=prefer`).
fn is_kv(tok: &str) -> bool {
    match tok.split_once('=') {
        Some((k, _)) => !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        None => false,
    }
}

/// Byte range of the connection string in an error: the longest run of two or more
/// `key=value` words, or a URL (`mysql://app@db1:3306`).
fn conninfo_range(s: &str) -> Option<(usize, usize)> {
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c == ' ', start) {
            (true, Some(b)) => {
                words.push((b, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(b) = start {
        words.push((b, s.len()));
    }
    let mut best: Option<(usize, usize, usize)> = None;
    let mut i = 0;
    while i < words.len() {
        let mut j = i;
        while j < words.len() && is_kv(&s[words[j].0..words[j].1]) {
            j += 1;
        }
        if j - i >= 2 && best.is_none_or(|b| j - i > b.2) {
            best = Some((words[i].0, words[j - 1].1, j - i));
        }
        i = j.max(i + 1);
    }
    if let Some((a, b, _)) = best {
        return Some((a, b));
    }
    words
        .iter()
        .find(|(a, b)| s[*a..*b].contains("://"))
        .map(|&(a, b)| {
            // a quoted or punctuated URL keeps its punctuation outside the cut
            let t = &s[a..b];
            let lead = t.len() - t.trim_start_matches(['\'', '"', '(', '<']).len();
            let trail = t.len() - t.trim_end_matches(['\'', '"', ')', '>', ',', ':']).len();
            (a + lead, b - trail)
        })
}

/// Byte ranges in a string.
type Ranges = Vec<(usize, usize)>;

/// Byte offsets of `" ("` … `")"` groups at the top level of `s` (from the space).
fn parens(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut depth, mut open) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    open = if s[..i].ends_with(' ') { i - 1 } else { i };
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 && open > 0 {
                    out.push((open, i + 1));
                }
            }
            _ => {}
        }
    }
    out
}

/// The first `; ` outside parentheses at or after `from`.
fn top_level_semicolon(s: &str, from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ';' if depth == 0 && i > from && s[i + 1..].starts_with(' ') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Where the cause starts: after the last `: ` outside parentheses (and after `from`).
fn cause_start(s: &str, from: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = None;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ':' if depth == 0 && i >= from && s[i + 1..].starts_with(' ') => at = Some(i + 2),
            _ => {}
        }
    }
    at.filter(|&i| i < s.len())
}

/// An error message as parts: the connection string shrinks first (to 16 cells), then `(…)`
/// and `; …` details of the cause go, then the words around the connection string before the
/// cause (the text after the last top-level `: `) go, then the connection string shrinks to
/// `…`, then the cause itself is cut after a whole word.
pub fn error_parts(error: &str) -> Vec<Part> {
    let e = clean(error.trim());
    let ci = conninfo_range(&e);
    let cause_at = cause_start(&e, ci.map_or(0, |r| r.1)).unwrap_or(0);
    // `(os error 111)`, `(using password: YES)`; a group that quotes a message, like MySQL's
    // `(111 "Connection refused")`, is the cause itself and stays
    let (quoted, mut details): (Ranges, Ranges) = parens(&e[cause_at..])
        .into_iter()
        .map(|(a, b)| (a + cause_at, b + cause_at))
        .partition(|&(a, b)| e[a..b].contains('"'));
    // a `; restarting in 5s`-like clause after the cause is a detail too
    if let Some(i) = top_level_semicolon(&e, cause_at) {
        details.retain(|&(a, _)| a < i);
        details.push((i, e.len()));
    }
    let mut cuts = vec![0, cause_at, e.len()];
    if let Some((a, b)) = ci {
        cuts.extend([a, b]);
    }
    for (a, b) in details.iter().chain(&quoted) {
        cuts.extend([*a, *b]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut parts = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let text = &e[a..b];
        let is_ci = ci.is_some_and(|(x, y)| a >= x && b <= y);
        let mut p = Part::keep(text);
        if is_ci {
            p = p
                .with(rank::CONNINFO, Shrink::Middle(16))
                .with(rank::SINCE, Shrink::Middle(1));
        }
        if b <= cause_at {
            // the context goes, the connection string (short) stays as long as it can:
            // `host=db1.…prefer: Connection refused`, else `…: Connection refused`
            let ci_before = ci.is_some_and(|(_, y)| y <= a);
            p = if is_ci {
                p.with(rank::COUNTDOWN, Shrink::Drop)
            } else if b == cause_at && ci_before {
                p.with(rank::CONTEXT, Shrink::Alt(": ".into()))
                    .with(rank::COUNTDOWN, Shrink::Drop)
            } else if b == cause_at {
                p.with(rank::CONTEXT, Shrink::Alt("…: ".into()))
                    .with(rank::COUNTDOWN, Shrink::Drop)
            } else {
                p.with(rank::CONTEXT, Shrink::Drop)
            };
        } else if details.iter().any(|&(x, y)| a >= x && b <= y) {
            p = p.with(rank::DETAILS, Shrink::Drop);
        } else if quoted.iter().any(|&(x, y)| a >= x && b <= y) {
            // the words before it are cut first
            p = p.with(rank::CAUSE + 1, Shrink::Middle(8));
        } else if !is_ci {
            p = p.with(rank::CAUSE, Shrink::Words(8));
        }
        parts.push(p);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: &str = "connection to host=db1.example.com port=5432 user=app dbname=orders sslmode=prefer failed: error connecting to server: Connection refused (os error 111)";

    #[test]
    fn middle_and_end_cuts_count_cells() {
        assert_eq!(middle("abcdefghij", 5), "ab…ij");
        assert_eq!(middle("abc", 5), "abc");
        assert_eq!(end_cut("abcdef", 4), "abc…");
        assert!(
            width(&middle("日本語のテキスト", 7)) <= 7,
            "double-width cells are never split"
        );
        assert_eq!(middle("x", 0), "");
    }

    #[test]
    fn the_connection_string_shrinks_first_then_the_context_the_cause_stays() {
        let line = |w| {
            let mut p = vec![Part::keep("DISCONNECTED: ")];
            p.extend(error_parts(PG));
            p.push(Part::keep(" · retry in 4 s"));
            fit(p, w)
        };
        let full = line(300);
        assert!(full.contains("host=db1.example.com port=5432"), "{full}");
        let l = line(130);
        assert!(l.contains('…') && l.contains("failed: error connecting to server: Connection refused (os error 111) · retry in 4 s"), "{l}");
        assert!(width(&l) <= 130);
        for w in [60, 70, 80, 100] {
            let l = line(w);
            assert!(width(&l) <= w, "{w}: {l}");
            assert!(
                l.contains("Connection refused") && l.ends_with(" · retry in 4 s"),
                "{w}: {l}"
            );
        }
        assert_eq!(
            line(60),
            "DISCONNECTED: host=…refer: Connection refused · retry in 4 s"
        );
    }

    #[test]
    fn auth_errors_keep_the_user_and_urls_shrink() {
        let e = "connection to host=10.0.0.5 port=5432 user=app dbname=app sslmode=require failed: db error: FATAL: password authentication failed for user \"app\"";
        let l = fit(error_parts(e), 60);
        assert_eq!(
            l,
            "host=1…equire: password authentication failed for user \"app\""
        );
        let l = fit(error_parts(e), 46);
        assert_eq!(l, "password authentication failed for user \"app\"");
        let e = "mysql://repl@replica-number-two.example.com:3306 unreachable: Connection refused";
        let l = fit(error_parts(e), 50);
        assert!(
            l.contains("mysql:")
                && l.contains('…')
                && l.ends_with("unreachable: Connection refused"),
            "{l}"
        );
        let e = "no answer from host=db1 port=5432 user=app dbname=orders sslmode=prefer within 5 s (connect + session setup)";
        let l = fit(error_parts(e), 40);
        assert!(
            l.starts_with("no answer from ho") && l.ends_with("within 5 s"),
            "{l}"
        );
        assert!(width(&l) <= 40);
    }

    #[test]
    fn a_quoted_message_in_parentheses_is_the_cause_and_stays() {
        let e = "mysql://monitor@replica-2.example.com:3306: Can't connect to MySQL server on 'replica-2.example.com' (111 \"Connection refused\")";
        let l = fit(error_parts(e), 60);
        assert!(l.contains("\"Connection refused\")"), "{l}");
        assert!(width(&l) <= 60);
    }

    #[test]
    fn control_characters_and_newlines_are_not_passed_through() {
        let l = fit(error_parts("bad\x1b[31m red\nline"), 80);
        assert_eq!(l, "bad?[31m red line");
    }

    #[test]
    fn steps_run_in_rank_order_and_only_as_far_as_needed() {
        let parts = vec![
            Part::keep("A"),
            Part::drop_at(" rows", 2),
            Part::keep(" long-name").with(1, Shrink::Middle(4)),
        ];
        assert_eq!(fit(parts.clone(), 30), "A rows long-name");
        assert_eq!(fit(parts.clone(), 14), "A rows lon…ame");
        // rank 1 goes as far as its minimum before rank 2 drops anything
        assert_eq!(fit(parts.clone(), 9), "A l…e");
        assert_eq!(fit(parts, 3), "A …");
    }
}
