//! The bottom layer: the words every other layer speaks — which view ([`ViewKind`]), how
//! serious a message is ([`Level`]), how a source's connection is ([`SourceHealth`]) and the
//! process exit codes ([`exit`]). Imports nothing of the crate.

pub mod exit;
mod health;
pub mod replay;

pub use health::{fmt_age, SourceHealth};

use serde::{Deserialize, Serialize};

/// Severity of a flash message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// The four views, in tab order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ViewKind {
    #[default]
    Pgtop,
    Repl,
    Vlog,
    Spotify,
}

impl ViewKind {
    pub const ALL: [ViewKind; 4] = [
        ViewKind::Pgtop,
        ViewKind::Repl,
        ViewKind::Vlog,
        ViewKind::Spotify,
    ];

    pub fn index(self) -> usize {
        match self {
            ViewKind::Pgtop => 0,
            ViewKind::Repl => 1,
            ViewKind::Vlog => 2,
            ViewKind::Spotify => 3,
        }
    }

    pub fn from_index(i: usize) -> Option<ViewKind> {
        Self::ALL.get(i).copied()
    }

    /// The next tab to the right, wrapping (the count comes from [`Self::ALL`]).
    pub fn next(self) -> ViewKind {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    /// The next tab to the left, wrapping.
    pub fn prev(self) -> ViewKind {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// The name used on the command line and in config files.
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Pgtop => "pgtop",
            ViewKind::Repl => "repl",
            ViewKind::Vlog => "vlog",
            ViewKind::Spotify => "spotify",
        }
    }

    /// The title shown on the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            ViewKind::Pgtop => "pgtop",
            ViewKind::Repl => "replication",
            ViewKind::Vlog => "vlogdump",
            ViewKind::Spotify => "spotify",
        }
    }

    pub fn parse(s: &str) -> Option<ViewKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" | "pgtop" | "pg" | "postgres" => Some(ViewKind::Pgtop),
            "2" | "repl" | "replication" | "mysql" => Some(ViewKind::Repl),
            "3" | "vlog" | "vlogdump" | "varnish" => Some(ViewKind::Vlog),
            "4" | "spotify" => Some(ViewKind::Spotify),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_wrap_both_ways_over_all_kinds() {
        let last = ViewKind::ALL[ViewKind::ALL.len() - 1];
        assert_eq!(last.next(), ViewKind::ALL[0]);
        assert_eq!(ViewKind::ALL[0].prev(), last);
        for k in ViewKind::ALL {
            assert_eq!(k.next().prev(), k);
            assert_ne!(k.next(), k);
        }
    }
}
