//! The columns of a pgtop session, defined once: [`COLUMNS`] holds one [`SessionColumn`] per
//! column — its id, how the live list shows it (title, width, when it is left out on a narrow
//! screen, its cell and sort key), whether and how the batch text table shows it, and its keys
//! and values in batch JSON. The list (`views::pgtop::columns`), the text table
//! ([`super::batch::render_text`]) and the JSON object ([`super::batch::session_json`]) are all
//! made from it, so adding a column is one row here plus its accessor.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::activity::{Session, SessionState};
use super::classify::{DurationBasis, RowClass};
use super::redact::one_line;

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

/// Every session column, in list and table order.
pub const COLUMNS: &[SessionColumn] = &[
    SessionColumn {
        id: "pid",
        view: Some(ViewColumn {
            title: "pid",
            width: Width::Widest,
            drop: None,
            numeric: true,
            text: ViewText::Made {
                cell: |s, r| format!("{}{}", if r.tagged { "*" } else { " " }, s.pid),
                key: SortBy::Pid,
            },
        }),
        text: Some(TextColumn {
            title: "PID",
            width: TextWidth::Pad(7),
            right: true,
            cell: |s, _| Cow::Owned(s.pid.to_string()),
        }),
        json: &[("pid", |s, _| json!(s.pid))],
    },
    SessionColumn {
        id: "database",
        view: own("database", 10, 4, database),
        text: cut("DATABASE", 12, |s, _| Cow::Borrowed(database(s))),
        json: &[("database", |s, _| json!(s.datname))],
    },
    SessionColumn {
        id: "user",
        view: own("user", 10, 5, user),
        text: cut("USER", 12, |s, _| Cow::Borrowed(user(s))),
        json: &[("user", |s, _| json!(s.usename))],
    },
    SessionColumn {
        id: "client",
        view: own("client", 15, 2, Session::client_display),
        text: cut("CLIENT", 15, |s, _| Cow::Borrowed(s.client_display())),
        json: &[("client", |s, _| json!(s.client_addr))],
    },
    SessionColumn {
        id: "application",
        view: own("application", 12, 3, application),
        text: None,
        json: &[("application", |s, _| json!(s.application_name))],
    },
    SessionColumn {
        id: "backend",
        view: own("backend", 14, 1, backend),
        text: None,
        json: &[("backend_type", |s, _| json!(s.backend_type))],
    },
    SessionColumn {
        id: "state",
        view: Some(ViewColumn {
            title: "state",
            width: Width::Cells(8),
            drop: Some(6),
            numeric: false,
            text: ViewText::Made {
                // the marker that stays without colour (NO_COLOR): the state reads `long tx`
                cell: |s, r| match r.class {
                    RowClass::LongTransaction => "long tx".to_string(),
                    _ => state_short(&s.state).to_string(),
                },
                key: SortBy::Text(|s| Cow::Borrowed(state_short(&s.state))),
            },
        }),
        text: cut("STATE", 20, |s, _| Cow::Borrowed(s.state.as_str())),
        json: &[("state", |s, _| json!(s.state.as_str()))],
    },
    SessionColumn {
        // who blocks a session, or its wait event: dropped last, so a waiting session stays
        // marked
        id: "wait",
        view: Some(ViewColumn {
            title: "wait",
            width: Width::Cells(12),
            drop: Some(7),
            numeric: false,
            text: ViewText::Made {
                cell: |s, _| blk(s),
                key: SortBy::Text(|s| Cow::Owned(blk(s))),
            },
        }),
        text: cut("WAIT", 12, |s, _| Cow::Owned(blocked_or_wait(s))),
        json: &[
            ("wait_event_type", |s, _| json!(s.wait_event_type)),
            ("wait_event", |s, _| json!(s.wait_event)),
            ("blocking_pids", |s, _| json!(s.blocking_pids)),
            ("blocked_by", |s, _| json!(s.blocking_pids)),
            ("lock", |s, _| json!(s.lock.as_ref().map(lock_json))),
        ],
    },
    SessionColumn {
        id: "duration",
        view: Some(ViewColumn {
            title: "duration",
            width: Width::Cells(8),
            drop: None,
            numeric: true,
            text: ViewText::Made {
                cell: |s, r| s.duration(r.basis, r.now).map(fmt_dur).unwrap_or_default(),
                key: SortBy::Duration,
            },
        }),
        text: Some(TextColumn {
            title: "SECONDS",
            width: TextWidth::Pad(9),
            right: true,
            cell: |s, r| {
                let d = s.duration(r.basis, r.now);
                Cow::Owned(
                    d.map(|d| format!("{:.1}", d.as_secs_f64()))
                        .unwrap_or_default(),
                )
            },
        }),
        json: &[("duration_s", |s, r| {
            json!(s.duration(r.basis, r.now).map(|d| d.as_secs_f64()))
        })],
    },
    SessionColumn {
        // the list shows the class as the row's colour (and `long tx` in its state)
        id: "class",
        view: None,
        text: Some(TextColumn {
            title: "FLAG",
            width: TextWidth::Pad(5),
            right: false,
            cell: |_, r| Cow::Borrowed(flag(r.class)),
        }),
        json: &[
            ("slow", |_, r| {
                json!(matches!(r.class, RowClass::Slow | RowClass::Critical))
            }),
            ("long_transaction", |_, r| {
                json!(r.class == RowClass::LongTransaction)
            }),
            ("class", |_, r| json!(r.class)),
        ],
    },
    SessionColumn {
        // the detail pane shows them
        id: "started",
        view: None,
        text: None,
        json: &[
            ("backend_start", |s, _| json!(s.backend_start)),
            ("xact_start", |s, _| json!(s.xact_start)),
            ("query_start", |s, _| json!(s.query_start)),
            ("state_change", |s, _| json!(s.state_change)),
        ],
    },
    SessionColumn {
        id: "query",
        view: Some(ViewColumn {
            title: "query",
            width: Width::Rest,
            drop: None,
            numeric: false,
            text: ViewText::Made {
                cell: |s, _| one_line(&s.query, 400),
                key: SortBy::Text(|s| Cow::Borrowed(&s.query)),
            },
        }),
        text: Some(TextColumn {
            title: "QUERY",
            width: TextWidth::Rest,
            right: false,
            cell: |s, _| Cow::Borrowed(&s.query),
        }),
        json: &[("query", |s, _| json!(s.query))],
    },
];

/// A list column of the session's own text, left out `drop`-th on a narrow screen.
const fn own(
    title: &'static str,
    width: u16,
    drop: u8,
    text: fn(&Session) -> &str,
) -> Option<ViewColumn> {
    Some(ViewColumn {
        title,
        width: Width::Cells(width),
        drop: Some(drop),
        numeric: false,
        text: ViewText::Own(text),
    })
}

/// A text table column cut to `width`, left-aligned.
const fn cut(title: &'static str, width: usize, cell: TextCell) -> Option<TextColumn> {
    Some(TextColumn {
        title,
        width: TextWidth::Cut(width),
        right: false,
        cell,
    })
}

fn database(s: &Session) -> &str {
    s.datname.as_deref().unwrap_or_default()
}

fn user(s: &Session) -> &str {
    s.usename.as_deref().unwrap_or_default()
}

fn application(s: &Session) -> &str {
    &s.application_name
}

fn backend(s: &Session) -> &str {
    s.backend_type.as_deref().unwrap_or_default()
}

/// The batch table's FLAG of a class.
fn flag(c: RowClass) -> &'static str {
    match c {
        RowClass::Critical => "CRIT",
        RowClass::Slow => "SLOW",
        RowClass::IdleInTransactionLong => "IDLE",
        RowClass::LongTransaction => "LTX",
        RowClass::Normal => "",
    }
}

/// How many list columns [`COLUMNS`] has.
pub const VIEW_LEN: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < COLUMNS.len() {
        if COLUMNS[i].view.is_some() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The list's columns, in order (a list column index is an index here).
pub const VIEW: [ViewColumn; VIEW_LEN] = {
    let mut out = [PLACEHOLDER; VIEW_LEN];
    let (mut i, mut j) = (0, 0);
    while i < COLUMNS.len() {
        if let Some(v) = COLUMNS[i].view {
            out[j] = v;
            j += 1;
        }
        i += 1;
    }
    out
};

const PLACEHOLDER: ViewColumn = ViewColumn {
    title: "",
    width: Width::Rest,
    drop: None,
    numeric: false,
    text: ViewText::Made {
        cell: |_, _| String::new(),
        key: SortBy::Pid,
    },
};

/// How many list columns can be left out on a narrow screen.
pub const DROP_LEN: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < VIEW_LEN {
        if VIEW[i].drop.is_some() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// List columns left out when the screen is narrow, first to last (by their `drop`).
pub const DROP_ORDER: [usize; DROP_LEN] = {
    let mut out = [0; DROP_LEN];
    let mut n = 0;
    let mut rank = 1u8;
    while n < DROP_LEN {
        let mut i = 0;
        while i < VIEW_LEN {
            if let Some(d) = VIEW[i].drop {
                if d == rank {
                    out[n] = i;
                    n += 1;
                }
            }
            i += 1;
        }
        rank += 1;
    }
    out
};

/// The index of the list column sorted by duration (the default sort, descending).
pub const DURATION_COL: usize = {
    let mut i = 0;
    while !matches!(
        VIEW[i].text,
        ViewText::Made {
            key: SortBy::Duration,
            ..
        }
    ) {
        i += 1;
    }
    i
};

/// The index of the list column that takes the rest of the width (the query).
pub const QUERY_COL: usize = {
    let mut i = 0;
    while !matches!(VIEW[i].width, Width::Rest) {
        i += 1;
    }
    i
};

/// Short state names for the narrow column.
pub fn state_short(s: &SessionState) -> &str {
    match s {
        SessionState::IdleInTransaction => "idle tx",
        SessionState::IdleInTransactionAborted => "idle tx!",
        SessionState::FastpathFunctionCall => "fastpath",
        other => other.as_str(),
    }
}

/// `Lock:relation`, `IO:DataFileRead`, or empty.
pub fn wait(s: &Session) -> String {
    match (&s.wait_event_type, &s.wait_event) {
        (Some(t), Some(e)) => format!("{t}:{e}"),
        (Some(t), None) => t.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => String::new(),
    }
}

/// The list's wait column: `by 1234+2` (first blocking pid, how many more) for a session
/// blocked by others, else its wait event (`Lock:tuple`, `IO:DataFileRead`), else empty.
pub fn blk(s: &Session) -> String {
    if s.blocking_pids.is_empty() {
        wait(s)
    } else {
        blocked_or_wait(s)
    }
}

/// The batch table's WAIT cell: `by 1234+2` (the first blocking pid and how many more) when
/// it waits for sessions, else the wait event.
pub fn blocked_or_wait(s: &Session) -> String {
    match s.blocking_pids.split_first() {
        Some((first, [])) => format!("by {first}"),
        Some((first, more)) => format!("by {first}+{}", more.len()),
        None => s.wait_event.clone().unwrap_or_default(),
    }
}

/// A waited-for lock as batch JSON and the slow log show it: `{mode, relation, type, object}`.
pub fn lock_json(l: &super::locks::LockWait) -> Value {
    json!({
        "mode": l.mode,
        "relation": l.relation,
        "type": l.locktype,
        "object": l.object,
    })
}

/// `850ms`, `12.3s`, `4m05s`, `2h03m`, `3d04h`.
pub fn fmt_dur(d: Duration) -> String {
    let s = d.as_secs();
    if s < 1 {
        format!("{}ms", d.as_millis())
    } else if s < 60 {
        format!("{:.1}s", d.as_secs_f64())
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else if s < 86400 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}d{:02}h", s / 86400, (s % 86400) / 3600)
    }
}
