//! Whole-file validation (`stacktop config check FILE...`) and the cross-field rules start-up
//! enforces. A file is checked to the end, not to its first problem:
//!
//! - bytes that are not UTF-8 (byte offset, line, column), then the rest read with U+FFFD;
//! - TOML syntax errors, with the parser's recovery (a duplicate key names its section);
//! - the schema: an unknown key ("did you mean", by edit distance, and its section) or a bad
//!   value is reported and left out, and the rest is checked again (bounded);
//! - [`validate`] (in `validate.rs`), the same function start-up runs on the merged
//!   configuration; its problems are placed in the file by [`locate`].

pub use super::validate::{validate, Invalid};

use super::Config;
use crate::base::error::{line_col, ConfigError};
use std::path::Path;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// At most this many syntax and this many schema problems per file (each schema problem is
/// left out and the rest re-checked).
const MAX_SCHEMA_PROBLEMS: usize = 100;

/// Everything wrong with one file, in file order, plus its warnings (permissions).
#[derive(Debug, Default)]
pub struct Report {
    pub problems: Vec<ConfigError>,
    pub warnings: Vec<String>,
}

/// Checks one file to the end (see the module doc).
pub fn check_file(path: &Path, user_themes: Option<&Path>) -> Report {
    let source = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let problems = vec![ConfigError::plain(
                &source,
                &format!("cannot read file: {e}"),
            )];
            return Report {
                problems,
                warnings: Vec::new(),
            };
        }
    };
    let (problems, table) = check_bytes(&bytes, &source, user_themes);
    let warnings = table
        .map(|t| super::secrets::permission_warnings(path, &t))
        .unwrap_or_default();
    Report { problems, warnings }
}

/// Checks TOML bytes as one layer; returns every problem and the table (its valid part).
pub fn check_bytes(
    bytes: &[u8],
    source: &str,
    user_themes: Option<&Path>,
) -> (Vec<ConfigError>, Option<toml::Table>) {
    let mut problems = utf8_problems(bytes, source);
    let text = String::from_utf8_lossy(bytes).into_owned();
    let (mut doc, syntax) = DeTable::parse_recoverable(&text);
    for e in syntax.iter().take(MAX_SCHEMA_PROBLEMS) {
        problems.push(syntax_error(e, &text, source));
    }
    if syntax.len() > MAX_SCHEMA_PROBLEMS {
        let more = syntax.len() - MAX_SCHEMA_PROBLEMS;
        let msg = format!("{more} more syntax errors not shown (is this a TOML file?)");
        problems.push(ConfigError::plain(source, &msg));
    }
    let mut config = None;
    for _ in 0..MAX_SCHEMA_PROBLEMS {
        let de = toml::Deserializer::from(doc.clone());
        match serde_path_to_error::deserialize::<_, Config>(de) {
            Ok(c) => {
                config = Some(c);
                break;
            }
            Err(err) => {
                let (e, steps) = schema_error(&err, &text, source);
                problems.push(e);
                if !remove(doc.get_mut(), &steps) {
                    break;
                }
            }
        }
    }
    if let Some(cfg) = &config {
        for inv in validate(cfg, user_themes) {
            problems.push(place(&inv, doc.get_ref(), &text, source));
        }
    }
    problems.sort_by_key(|e| (e.line.unwrap_or(0), e.column.unwrap_or(0)));
    let table = toml::from_str::<toml::Table>(&text).ok();
    (problems, table)
}

/// Every invalid UTF-8 sequence (at most 20), with byte offset, line and column.
fn utf8_problems(bytes: &[u8], source: &str) -> Vec<ConfigError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() && out.len() < 20 {
        let Err(e) = std::str::from_utf8(&bytes[at..]) else {
            break;
        };
        let off = at + e.valid_up_to();
        let line_start = bytes[..off]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line = bytes[..off].iter().filter(|&&b| b == b'\n').count() + 1;
        let column = String::from_utf8_lossy(&bytes[line_start..off])
            .chars()
            .count()
            + 1;
        out.push(ConfigError {
            source: source.to_string(),
            line: Some(line),
            column: Some(column),
            key: None,
            value: None,
            message: format!(
                "not UTF-8: invalid byte 0x{:02x} at byte offset {off}",
                bytes[off]
            ),
        });
        at = off + e.error_len().unwrap_or(bytes.len() - off).max(1);
    }
    out
}

/// The `[section]` (or `[[array]]`) header in effect at byte `offset`, if any.
fn section_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset).unwrap_or(text);
    before.lines().rev().find_map(|l| {
        let t = l.trim();
        let inner = t
            .strip_prefix("[[")
            .and_then(|r| r.split_once("]]"))
            .or_else(|| t.strip_prefix('[').and_then(|r| r.split_once(']')))?
            .0;
        Some(inner.trim().to_string())
    })
}

fn syntax_error(e: &toml::de::Error, text: &str, source: &str) -> ConfigError {
    let mut ce = crate::base::error::toml_error(e, text, source, None);
    if ce.message.contains("duplicate key") {
        // The span is the repeated key: report it as a key, with its section.
        let start = e.span().map_or(0, |s| s.start);
        let name = ce.value.take().unwrap_or_default();
        ce.key = Some(match section_at(text, start) {
            Some(sec) if !name.is_empty() => format!("{sec}.{name}"),
            Some(sec) => sec,
            None => name,
        });
    }
    ce
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// The problem and the path of the entry to leave out before checking again.
fn schema_error(
    err: &serde_path_to_error::Error<toml::de::Error>,
    text: &str,
    source: &str,
) -> (ConfigError, Vec<Step>) {
    let mut steps: Vec<Step> = err
        .path()
        .iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Map { key } => Some(Step::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Step::Index(*index)),
            _ => None,
        })
        .collect();
    let key = Some(err.path().to_string()).filter(|s| s != "." && !s.is_empty());
    let mut e = crate::base::error::toml_error(err.inner(), text, source, key);
    let msg = err.inner().message().trim().to_string();
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or("").to_string();
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        // The path may or may not end with the unknown key itself.
        if steps.last() == Some(&Step::Key(name.clone())) {
            steps.pop();
        }
        let section = match steps.is_empty() {
            true => "the top level (sections: ".to_string() + &expected.join(", ") + ")",
            false => format!("[{}]", path_text(&steps)),
        };
        let mut m = format!("unknown field `{name}` in {section}");
        if let Some(s) = did_you_mean(&name, &expected) {
            m.push_str(&format!("; did you mean `{s}`?"));
        }
        e.message = m;
        steps.push(Step::Key(name));
    }
    // An element of an array cannot be left out alone: leave out the array.
    while matches!(steps.last(), Some(Step::Index(_))) {
        steps.pop();
    }
    (e, steps)
}

/// `a.b[2].c`
fn path_text(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) if out.is_empty() => out.push_str(k),
            Step::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The closest of `candidates` to `name`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let (best, d) = candidates
        .iter()
        .map(|c| (*c, edit_distance(name, c)))
        .min_by_key(|(_, d)| *d)?;
    (d > 0 && d <= (name.chars().count() / 3).max(2)).then_some(best)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Removes the entry at `steps` from `table`; false when it is not there.
fn remove(table: &mut DeTable<'_>, steps: &[Step]) -> bool {
    match steps {
        [] => false,
        [Step::Key(k)] => table.remove(k.as_str()).is_some(),
        [Step::Key(k), rest @ ..] => match table.get_mut(k.as_str()).map(|v| v.get_mut()) {
            Some(v) => remove_in(v, rest),
            None => false,
        },
        [Step::Index(_), ..] => false,
    }
}

fn remove_in(value: &mut DeValue<'_>, steps: &[Step]) -> bool {
    match (value, steps) {
        (DeValue::Table(t), _) => remove(t, steps),
        (DeValue::Array(a), [Step::Index(i), rest @ ..]) => {
            use std::borrow::BorrowMut;
            let items: &mut [Spanned<DeValue<'_>>] = a.borrow_mut();
            match items.get_mut(*i) {
                Some(v) => remove_in(v.get_mut(), rest),
                None => false,
            }
        }
        _ => false,
    }
}

/// Parses `a.b[2].c` into steps.
fn parse_path(key: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let mut it = part.split('[');
        if let Some(name) = it.next().filter(|n| !n.is_empty()) {
            out.push(Step::Key(name.to_string()));
        }
        for idx in it {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

/// The span of the value at `steps`, if the file has it.
fn find_span(table: &DeTable<'_>, steps: &[Step]) -> Option<std::ops::Range<usize>> {
    let (first, rest) = steps.split_first()?;
    let Step::Key(k) = first else { return None };
    let mut cur = table.get(k.as_str())?;
    for s in rest {
        cur = match (cur.get_ref(), s) {
            (DeValue::Table(t), Step::Key(k)) => t.get(k.as_str())?,
            (DeValue::Array(a), Step::Index(i)) => {
                use std::borrow::Borrow;
                let items: &[Spanned<DeValue<'_>>] = a.borrow();
                items.get(*i)?
            }
            _ => return None,
        };
    }
    Some(cur.span())
}

/// A cross-field problem of the file `text` alone, placed in it (see [`place`]).
pub fn locate(inv: &Invalid, text: &str, source: &str) -> ConfigError {
    let (doc, _) = DeTable::parse_recoverable(text);
    place(inv, doc.get_ref(), text, source)
}

/// A cross-field problem as a file problem: at its key's value in the file, else at a
/// related key's, else without a position.
fn place(inv: &Invalid, table: &DeTable<'_>, text: &str, source: &str) -> ConfigError {
    let keys = std::iter::once(&inv.key).chain(inv.related.iter());
    let span = keys.filter_map(|k| find_span(table, &parse_path(k))).next();
    let (line, column) = match &span {
        Some(s) => {
            let (l, c) = line_col(text, s.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    ConfigError {
        source: source.to_string(),
        line,
        column,
        key: Some(inv.key.clone()),
        value: inv.value.clone(),
        message: inv.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<String> {
        check_bytes(text.as_bytes(), "t.toml", None)
            .0
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn every_problem_is_listed_not_just_the_first() {
        let p = check(
            "[ui]\ncolour = \"red\"\nfps = \"fast\"\n[pgtop]\nslow_threshold = \"soon\"\nsslmod = \"require\"\n",
        );
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(p[0].starts_with("t.toml:2:1: key `ui.colour`: unknown field `colour` in [ui]"));
        assert!(p[1].starts_with("t.toml:3:7: key `ui.fps`: bad value \"fast\""));
        assert!(p[2].starts_with("t.toml:5:18: key `pgtop.slow_threshold`"));
        assert!(p[3].contains("did you mean `sslmode`?"), "{}", p[3]);
    }

    #[test]
    fn cross_field_rules_are_checked_with_a_position() {
        let p = check(
            "[ui]\ntheme = \"nosuch\"\n[pgtop]\nslow_threshold = \"2m\"\ncritical_threshold = \"1m\"\n[repl]\nlag_warn = \"10m\"\nlag_crit = \"1m\"\n[vlog]\nfilter = [\"status=5xx\", \"url=(\"]\n",
        );
        assert_eq!(p.len(), 4, "{p:#?}");
        assert!(
            p[0].starts_with("t.toml:2:9: key `ui.theme`: bad value \"nosuch\""),
            "{}",
            p[0]
        );
        assert!(p[0].contains("no such theme"), "{}", p[0]);
        assert!(
            p[1].starts_with("t.toml:5:22: key `pgtop.critical_threshold`"),
            "{}",
            p[1]
        );
        assert!(
            p[2].starts_with("t.toml:7:12: key `repl.lag_warn`"),
            "{}",
            p[2]
        );
        assert!(
            p[3].starts_with("t.toml:10:25: key `vlog.filter[1]`: bad value \"url=(\""),
            "{}",
            p[3]
        );
    }

    #[test]
    fn spotify_table_too_long_for_the_summary_tables_names_its_line() {
        let ok = "t".repeat(crate::spotify::summary::MAX_TABLE_NAME);
        assert!(check(&format!("[spotify]\ntable = \"{ok}\"\n")).is_empty());
        let long = format!("{ok}x");
        let p = check(&format!("[ui]\nfps = 5\n[spotify]\ntable = \"{long}\"\n"));
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].starts_with(&format!(
                "t.toml:4:9: key `spotify.table`: bad value \"{long}\""
            )),
            "{}",
            p[0]
        );
        assert!(p[0].contains("at most 50"), "{}", p[0]);
    }

    #[test]
    fn duplicate_keys_name_their_section_and_bad_bytes_their_offset() {
        let mut bytes = b"[ui]\nfps = 5\n[pgtop]\nhost = \"a\"\nhost = \"b\"\nname = \"x".to_vec();
        bytes.push(0xff);
        bytes.extend_from_slice(b"\"\n");
        let (p, _) = check_bytes(&bytes, "t.toml", None);
        let p: Vec<String> = p.iter().map(|e| e.to_string()).collect();
        assert!(
            p.iter()
                .any(|s| s.starts_with("t.toml:5:1: key `pgtop.host`")
                    && s.contains("duplicate key")),
            "{p:#?}"
        );
        assert!(
            p.iter()
                .any(|s| s.starts_with("t.toml:6:10: ") && s.contains("byte offset 52")),
            "{p:#?}"
        );
    }

    #[test]
    fn a_good_file_has_no_problem() {
        assert!(check("[ui]\ntheme = \"mono\"\n[pgtop]\nslow_threshold = \"2s\"\n").is_empty());
    }

    #[test]
    fn suggestions_need_a_close_name() {
        assert_eq!(did_you_mean("them", &["theme", "fps"]), Some("theme"));
        assert_eq!(did_you_mean("zzzzzz", &["theme", "fps"]), None);
    }
}
