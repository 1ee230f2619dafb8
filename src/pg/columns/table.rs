//! The table: one [`SessionColumn`] per column of a pgtop session, in list and table order,
//! and the small accessors its rows use.

use std::borrow::Cow;

use serde_json::json;

use super::cells::{blk, blocked_or_wait, fmt_dur, lock_json, state_short};
use super::types::{
    SessionColumn, SortBy, TextCell, TextColumn, TextWidth, ViewColumn, ViewText, Width,
};
use crate::pg::classify::RowClass;
use crate::pg::redact::one_line;
use crate::pg::session::Session;

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
