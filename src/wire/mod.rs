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

/// The tabs, in tab order. Adding a tab: a variant here, its row in [`TABS`] and in
/// [`ViewKind::ALL`]; everything else that lists the tabs iterates [`ViewKind::ALL`] (the
/// view itself: `views::registry`; its source: `sources`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ViewKind {
    #[default]
    Pgtop,
    Repl,
    Vlog,
    Spotify,
}

/// What the layers below the views need to know of a tab.
#[derive(Clone, Copy, Debug)]
pub struct Tab {
    /// On the command line, in config files (`start_view`), as `[keys]` scope and `:` command.
    pub name: &'static str,
    /// On the tab bar, in `?` and messages.
    pub title: &'static str,
    /// Other names the `:` command and [`ViewKind::parse`] accept (the number key first).
    pub aliases: &'static [&'static str],
    /// The key that goes to the tab.
    pub key: char,
}

/// One row per tab, in the order of [`ViewKind`]'s variants.
const TABS: [Tab; 4] = [
    Tab {
        name: "pgtop",
        title: "pgtop",
        aliases: &["1", "pg", "postgres"],
        key: '1',
    },
    Tab {
        name: "repl",
        title: "replication",
        aliases: &["2", "replication", "mysql"],
        key: '2',
    },
    Tab {
        name: "vlog",
        title: "vlogdump",
        aliases: &["3", "vlogdump", "varnish"],
        key: '3',
    },
    Tab {
        name: "spotify",
        title: "spotify",
        aliases: &["4"],
        key: '4',
    },
];

impl ViewKind {
    pub const ALL: [ViewKind; 4] = [
        ViewKind::Pgtop,
        ViewKind::Repl,
        ViewKind::Vlog,
        ViewKind::Spotify,
    ];

    /// The tab's row in [`TABS`].
    pub fn tab(self) -> &'static Tab {
        &TABS[self as usize]
    }

    /// The position on the tab bar (0 = first).
    pub fn index(self) -> usize {
        self as usize
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
        self.tab().name
    }

    /// The title shown on the tab bar.
    pub fn title(self) -> &'static str {
        self.tab().title
    }

    /// The tab a name, title alias or number (case-insensitive) stands for.
    pub fn parse(s: &str) -> Option<ViewKind> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s || k.tab().aliases.contains(&s.as_str()))
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

    #[test]
    fn all_lists_every_tab_once_in_variant_order() {
        assert_eq!(ViewKind::ALL.len(), TABS.len());
        for (i, k) in ViewKind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i, "{k:?}");
            assert_eq!(ViewKind::parse(k.name()), Some(k));
            assert_eq!(ViewKind::parse(&k.tab().key.to_string()), Some(k));
            for a in k.tab().aliases {
                assert_eq!(ViewKind::parse(a), Some(k), "{a}");
            }
        }
        assert_eq!(ViewKind::parse(" PG "), Some(ViewKind::Pgtop));
        assert_eq!(ViewKind::parse("5"), None);
    }
}
