//! What a column is: a [`SessionColumn`] says how the live list ([`ViewColumn`]), the batch
//! text table ([`TextColumn`]) and the batch JSON ([`JsonValue`]) show one column of a session.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::pg::classify::{DurationBasis, RowClass};
use crate::pg::session::Session;

/// What a row's cells are made from besides the session.
#[derive(Clone, Copy, Debug)]
pub struct RowCtx {
    /// the snapshot's server time
    pub now: DateTime<Utc>,
    pub basis: DurationBasis,
    /// the session's class (the list only reads `LongTransaction`: its state says `long tx`)
    pub class: RowClass,
    /// tagged in the list (`*` before the pid)
    pub tagged: bool,
}

/// One column of a session, in every output.
#[derive(Clone, Copy, Debug)]
pub struct SessionColumn {
    /// a name for tests and messages (unique)
    pub id: &'static str,
    /// in the live list (`None`: not shown there)
    pub view: Option<ViewColumn>,
    /// in the batch text table (`None`: not shown there)
    pub text: Option<TextColumn>,
    /// its keys and values in the batch JSON object (may be empty)
    pub json: &'static [(&'static str, JsonValue)],
}

/// A JSON value of a session.
pub type JsonValue = fn(&Session, &RowCtx) -> Value;

/// A column of the live list.
#[derive(Clone, Copy, Debug)]
pub struct ViewColumn {
    /// the title (also what `>` / `<` sort by)
    pub title: &'static str,
    pub width: Width,
    /// left out when the screen is narrow: 1 first, 2 next…; `None`: stays
    pub drop: Option<u8>,
    /// right-aligned
    pub numeric: bool,
    pub text: ViewText,
}

/// How wide a list column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// the widest value plus the tag mark, at least the title's (the pid)
    Widest,
    /// this many cells (a wide screen may grow a column of the session's own text)
    Cells(u16),
    /// the rest of the line (the query)
    Rest,
}

impl Width {
    /// The base width: what the narrow-screen drop order counts with.
    pub const fn base(self) -> u16 {
        match self {
            Width::Widest => 7,
            Width::Cells(w) => w,
            Width::Rest => 0,
        }
    }
}

/// A list cell and its sort key.
#[derive(Clone, Copy, Debug)]
pub enum ViewText {
    /// the session's own text (empty when unknown): the cell, the sort key and, on a wide
    /// screen, the width the column grows to
    Own(fn(&Session) -> &str),
    /// a cell made from figures, sorted by `key`
    Made {
        cell: fn(&Session, &RowCtx) -> String,
        key: SortBy,
    },
}

/// What a made column sorts by (every sort ends with the pid).
#[derive(Clone, Copy, Debug)]
pub enum SortBy {
    Pid,
    /// the duration on the list's basis
    Duration,
    Text(fn(&Session) -> Cow<'_, str>),
}

/// A batch text table cell before it is cut or padded.
pub type TextCell = for<'s> fn(&'s Session, &RowCtx) -> Cow<'s, str>;

/// A column of the batch text table.
#[derive(Clone, Copy, Debug)]
pub struct TextColumn {
    pub title: &'static str,
    pub width: TextWidth,
    pub right: bool,
    /// the cell before it is cut or padded
    pub cell: TextCell,
}

/// How wide a text table column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextWidth {
    /// cut to one line of at most this many characters, then padded
    Cut(usize),
    /// padded to this many characters, never cut
    Pad(usize),
    /// the rest of the table width (at least 10), cut to one line; the last column
    Rest,
}
