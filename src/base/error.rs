//! The configuration error every layer reports with: file (or `environment`, `command
//! line`), line, column, key and value, built once at start-up for the user to read.

use super::secrets;
use std::fmt;

/// A configuration problem, reported before the terminal switches mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where the bad value came from: a file path, `environment` or `command line`.
    pub source: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path, e.g. `pgtop.slow_threshold`.
    pub key: Option<String>,
    /// The offending value as written.
    pub value: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(k) = &self.key {
            write!(f, "key `{k}`: ")?;
        }
        if let Some(v) = &self.value {
            write!(f, "bad value {v}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    /// An error about a whole source, with no position.
    pub fn plain(source: &str, message: &str) -> ConfigError {
        ConfigError {
            source: source.to_string(),
            line: None,
            column: None,
            key: None,
            value: None,
            message: message.to_string(),
        }
    }
}

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub fn toml_error(
    e: &toml::de::Error,
    text: &str,
    source: &str,
    key: Option<String>,
) -> ConfigError {
    let (line, column, value) = match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            let raw = text.get(span.clone()).unwrap_or("").trim();
            let value = (!raw.is_empty() && !raw.contains('\n')).then(|| raw.to_string());
            (Some(l), Some(c), value)
        }
        None => (None, None, None),
    };
    // An unknown key's span is the key itself, which is no secret.
    let secret = !e.message().trim().starts_with("unknown field")
        && key
            .as_deref()
            .is_some_and(|k| secrets::is_secret_key(k.rsplit('.').next().unwrap_or(k)))
        || e.span()
            .is_some_and(|sp| line_assigns_secret(text, sp.start));
    let raw = value.clone().unwrap_or_default();
    let message = scrub_message(e.message().trim(), &raw, secret && !raw.is_empty());
    let value = value.map(|v| {
        if secret {
            crate::mask::MASK.to_string()
        } else {
            v
        }
    });
    // For an unknown key the span is the key itself: report it as the key, not the value.
    let unknown = message.starts_with("unknown field");
    let key = match (key, unknown, &value) {
        (Some(k), true, Some(v)) if !k.ends_with(v.as_str()) => Some(format!("{k}.{v}")),
        (None, true, Some(v)) => Some(v.clone()),
        (k, _, _) => k,
    };
    ConfigError {
        source: source.to_string(),
        line,
        column,
        key,
        value: if unknown { None } else { value },
        message,
    }
}

/// The deserializer's message without the value it may quote when that value is secret.
pub fn scrub_message(message: &str, raw: &str, secret: bool) -> String {
    let mut m = crate::mask::text(message);
    if secret {
        let bare = raw.trim().trim_matches(|c| c == '"' || c == '\'');
        for v in [raw.trim(), bare] {
            if !v.is_empty() {
                m = m.replace(v, crate::mask::MASK);
            }
        }
    }
    m
}

/// Whether the TOML line holding byte `offset` assigns a secret key (`password = …`).
fn line_assigns_secret(text: &str, offset: usize) -> bool {
    let start = text
        .get(..offset)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    line.split_once('=').is_some_and(|(k, _)| {
        let k = k.trim().trim_matches('"');
        secrets::is_secret_key(k.rsplit('.').next().unwrap_or(k))
    })
}
