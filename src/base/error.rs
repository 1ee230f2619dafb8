//! The configuration error every layer reports with: file (or `environment`, `command
//! line`), line, column, key and value, built once at start-up for the user to read.

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
