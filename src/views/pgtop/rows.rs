//! The pgtop list as data (no drawing): which sessions are listed (client backends, idle ones
//! on request, never the own session — the collector already leaves it out; the `/` filter is
//! [`super::filter`]), the sort (any column, both ways; default longest first), the frozen
//! order while the user navigates, and the cells/roles of each row for `ui::table`. The
//! columns themselves are defined once, in [`crate::pg::columns`].

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::pg::activity::{Session, SessionState};
use crate::pg::classify::{classify, DurationBasis, RowClass, Thresholds};
pub(super) use crate::pg::columns::DROP_ORDER;
pub use crate::pg::columns::{blk, fmt_dur, state_short, wait, DURATION_COL, QUERY_COL};
use crate::pg::columns::{RowCtx, SortBy, ViewText, Width, VIEW, VIEW_LEN};
use crate::theme::Role;
use crate::widgets::table::{Column, TableData, TableRow};

pub use super::filter::{Filter, FILTER_SYNTAX};

/// The list's column titles (also the sort keys of `>` / `<`), from [`VIEW`].
pub const COLUMNS: [&str; VIEW_LEN] = {
    let mut out = [""; VIEW_LEN];
    let mut i = 0;
    while i < VIEW_LEN {
        out[i] = VIEW[i].title;
        i += 1;
    }
    out
};
/// The query column shrinks to this many cells before a column is left out.
pub const QUERY_MIN: u16 = 24;

/// What the list shows and in which order.
#[derive(Clone, Debug)]
pub struct ListSpec<'a> {
    pub show_all: bool,
    pub basis: DurationBasis,
    pub filter: &'a Filter,
    /// `(column, descending)`
    pub sort: (usize, bool),
}

/// The listed sessions: client backends (plus idle ones and background processes when
/// `show_all`), filtered and sorted.
pub fn select<'s>(
    sessions: &'s [Session],
    now: DateTime<Utc>,
    spec: &ListSpec,
) -> Vec<&'s Session> {
    let (col, desc) = spec.sort;
    let by = VIEW.get(col).map(|c| c.text);
    // decorate-sort: each row's key is computed once, not at every comparison
    let mut v: Vec<(SortKey<'s>, &'s Session)> = sessions
        .iter()
        .filter(|s| spec.show_all || (s.is_client_backend() && s.state != SessionState::Idle))
        .filter_map(|s| {
            let dur = s.duration(spec.basis, now);
            if !spec.filter.matches(s, dur) {
                return None;
            }
            let key = match by {
                Some(ViewText::Own(text)) => SortKey::Text(Cow::Borrowed(text(s))),
                Some(ViewText::Made { key, .. }) => match key {
                    SortBy::Pid => SortKey::None,
                    SortBy::Duration => SortKey::Dur(dur),
                    SortBy::Text(text) => SortKey::Text(text(s)),
                },
                None => SortKey::None,
            };
            Some((key, s))
        })
        .collect();
    v.sort_by(|(ka, a), (kb, b)| {
        let o = match (ka, kb) {
            (SortKey::Dur(x), SortKey::Dur(y)) => x.cmp(y),
            (SortKey::Text(x), SortKey::Text(y)) => x.cmp(y),
            _ => a.pid.cmp(&b.pid),
        };
        let o = if desc { o.reverse() } else { o };
        o.then(a.pid.cmp(&b.pid))
    });
    v.into_iter().map(|(_, s)| s).collect()
}

/// A row's sort key in [`select`], computed once per row.
enum SortKey<'s> {
    /// by pid (the tie-break every sort ends with)
    None,
    Dur(Option<Duration>),
    Text(Cow<'s, str>),
}

/// Keeps `previous` order for rows still present; new rows go after them in sort order.
pub fn freeze<'s>(sorted: Vec<&'s Session>, previous: &[i32]) -> Vec<&'s Session> {
    let mut by_pid: HashMap<i32, &Session> = HashMap::with_capacity(sorted.len());
    for s in &sorted {
        by_pid.entry(s.pid).or_insert(s);
    }
    let mut out: Vec<&Session> = previous
        .iter()
        .filter_map(|pid| by_pid.get(pid).copied())
        .collect();
    let before: HashSet<i32> = previous.iter().copied().collect();
    out.extend(sorted.into_iter().filter(|s| !before.contains(&s.pid)));
    out
}

/// The theme role of a row.
pub fn role(s: &Session, now: DateTime<Utc>, t: &Thresholds) -> Role {
    if !s.visible {
        return Role::Muted;
    }
    match classify(s, now, t) {
        RowClass::Critical => Role::CriticalSlow,
        RowClass::Slow => Role::Slow,
        RowClass::IdleInTransactionLong => Role::IdleTx,
        RowClass::LongTransaction => Role::LongTx,
        RowClass::Normal => Role::Normal,
    }
}

/// Columns that fit `width`, given the table's column widths (the pid column's comes from
/// the widest pid in the snapshot). The query column takes the rest: it shrinks first, to
/// [`QUERY_MIN`] cells, then columns are left out in [`DROP_ORDER`]; on a very narrow screen
/// the query, then the duration go, so the pid is never cut.
pub fn visible_columns(columns: &[Column], width: u16) -> Vec<usize> {
    let w = |c: usize| {
        columns
            .get(c)
            .map_or_else(|| VIEW.get(c).map_or(0, |v| v.width.base()), |x| x.width)
    };
    // fixed widths plus one space between columns
    let fixed = |cols: &[usize]| -> u16 {
        cols.iter()
            .filter(|&&c| c != QUERY_COL)
            .map(|&c| w(c) + 1)
            .sum::<u16>()
    };
    let mut cols: Vec<usize> = (0..COLUMNS.len()).collect();
    for drop in DROP_ORDER {
        if fixed(&cols) + QUERY_MIN <= width {
            return cols;
        }
        cols.retain(|&c| c != drop);
    }
    for drop in [QUERY_COL, DURATION_COL] {
        if fixed(&cols) + u16::from(cols.contains(&QUERY_COL)) <= width {
            break;
        }
        cols.retain(|&c| c != drop);
    }
    cols
}

/// Cells the pid column needs: the widest pid plus the tag mark, at least the title's.
pub fn pid_width(rows: &[&Session]) -> u16 {
    // digits counted, not formatted (this runs over every listed row at each refresh)
    let digits = |p: i32| {
        let mut n = u64::from(p.unsigned_abs());
        let mut d = 1 + usize::from(p < 0);
        while n >= 10 {
            n /= 10;
            d += 1;
        }
        d
    };
    let widest = rows.iter().map(|s| digits(s.pid)).max().unwrap_or(0);
    u16::try_from(widest + 1).unwrap_or(u16::MAX).max(4)
}

/// The table for `ui::table` (all columns; `visible_columns` picks what fits the screen).
pub fn table(
    rows: &[&Session],
    now: DateTime<Utc>,
    t: &Thresholds,
    basis: DurationBasis,
    tagged: &dyn Fn(&Session) -> bool,
    sort: (usize, bool),
) -> TableData {
    build(rows, now, t, basis, Some(tagged), sort)
}

/// [`table`] without the cell strings: keys, roles and sort keys only. The view keeps this one
/// and its drawing makes the cells of the rows on screen ([`cells`]), so a refresh does not
/// format thousands of rows nobody sees.
pub fn table_without_cells(
    rows: &[&Session],
    now: DateTime<Utc>,
    t: &Thresholds,
    basis: DurationBasis,
    sort: (usize, bool),
) -> TableData {
    build(rows, now, t, basis, None, sort)
}

fn build(
    rows: &[&Session],
    now: DateTime<Utc>,
    t: &Thresholds,
    basis: DurationBasis,
    tagged: Option<&dyn Fn(&Session) -> bool>,
    sort: (usize, bool),
) -> TableData {
    let columns = VIEW
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mark = match sort {
                (c, true) if c == i => "▼",
                (c, false) if c == i => "▲",
                _ => "",
            };
            let title = format!("{}{mark}", v.title);
            let w = match v.width {
                Width::Widest => pid_width(rows),
                w => w.base(),
            };
            if v.numeric {
                Column::numeric(&title, w)
            } else {
                Column::new(&title, w)
            }
        })
        .collect();
    let rows = rows
        .iter()
        .map(|s| {
            let dur = s.duration(basis, now);
            let role = role(s, now, t);
            let cells = match tagged {
                Some(tagged) => cells(s, now, basis, tagged(s), role),
                None => Vec::new(),
            };
            let mut keys = vec![0.0; VIEW_LEN];
            keys[0] = f64::from(s.pid);
            keys[DURATION_COL] = dur.map_or(-1.0, |d| d.as_secs_f64());
            TableRow::new(s.pid.to_string(), cells, role).with_sort_keys(keys)
        })
        .collect();
    TableData { columns, rows }
}

/// The text of a session's column `c` where it is the session's own (database, user, client,
/// application, backend; empty when unknown), for sorting and for the width of a wide
/// screen's grown columns; `None` for the columns made from figures.
pub fn own_text(s: &Session, c: usize) -> Option<&str> {
    match VIEW.get(c)?.text {
        ViewText::Own(text) => Some(text(s)),
        ViewText::Made { .. } => None,
    }
}

/// The cells of one row of [`table`] (`role`: the row's, from [`role`]).
pub fn cells(
    s: &Session,
    now: DateTime<Utc>,
    basis: DurationBasis,
    tagged: bool,
    role: Role,
) -> Vec<String> {
    let r = RowCtx {
        now,
        basis,
        // the one class a cell shows (the state of a long transaction); the others are the
        // row's colour
        class: if role == Role::LongTx {
            RowClass::LongTransaction
        } else {
            RowClass::Normal
        },
        tagged,
    };
    VIEW.iter()
        .map(|v| match v.text {
            ViewText::Own(text) => text(s).to_string(),
            ViewText::Made { cell, .. } => cell(s, &r),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base widths, from the column table.
    fn widths() -> [u16; VIEW_LEN] {
        std::array::from_fn(|i| VIEW[i].width.base())
    }

    fn s(pid: i32, db: &str, user: &str, q: &str, secs: i64, now: DateTime<Utc>) -> Session {
        let mut s = Session::for_test(pid, SessionState::Active, q);
        s.datname = Some(db.into());
        s.usename = Some(user.into());
        s.query_start = Some(now - chrono::Duration::seconds(secs));
        s
    }

    #[test]
    fn sort_select_and_freeze() {
        let now = Utc::now();
        let mut idle = s(3, "x", "y", "select 1", 100, now);
        idle.state = SessionState::Idle;
        let mut bg = s(4, "x", "y", "", 100, now);
        bg.backend_type = Some("autovacuum worker".into());
        let all = vec![
            s(1, "x", "y", "a", 1, now),
            s(2, "x", "y", "b", 50, now),
            idle,
            bg,
        ];
        let f = Filter::default();
        let spec = ListSpec {
            show_all: false,
            basis: DurationBasis::Query,
            filter: &f,
            sort: (DURATION_COL, true),
        };
        let v = select(&all, now, &spec);
        assert_eq!(v.iter().map(|s| s.pid).collect::<Vec<_>>(), [2, 1]);
        let frozen = freeze(v, &[1, 2]);
        assert_eq!(frozen.iter().map(|s| s.pid).collect::<Vec<_>>(), [1, 2]);
        let spec = ListSpec {
            show_all: true,
            sort: (0, false),
            ..spec
        };
        assert_eq!(select(&all, now, &spec).len(), 4);
    }

    #[test]
    fn blocked_sessions_show_their_first_blocker() {
        let now = Utc::now();
        let mut w = s(5, "x", "y", "select 1", 1, now);
        w.wait_event_type = Some("Lock".into());
        w.wait_event = Some("relation".into());
        assert_eq!(blk(&w), "Lock:relation");
        w.blocking_pids = vec![4194304];
        assert_eq!(blk(&w), "by 4194304");
        w.blocking_pids = vec![4194304, 7, 8];
        assert_eq!(blk(&w), "by 4194304+2");
        assert!(blk(&w).len() <= usize::from(widths()[7]));
    }

    fn columns(pid_w: u16) -> Vec<Column> {
        COLUMNS
            .iter()
            .zip(widths())
            .enumerate()
            .map(|(i, (t, w))| Column::new(t, if i == 0 { pid_w } else { w }))
            .collect()
    }

    #[test]
    fn narrow_screens_shrink_the_query_then_drop_in_order() {
        let cols = columns(6);
        assert_eq!(visible_columns(&cols, 200).len(), 10, "every column at 200");
        let c = visible_columns(&cols, 80);
        assert!(c.contains(&0) && c.contains(&DURATION_COL) && c.contains(&QUERY_COL));
        for gone in [5, 3, 4] {
            assert!(!c.contains(&gone), "80: {gone} should be left out: {c:?}");
        }
        assert!(c.contains(&6), "state stays at 80: {c:?}");
        // the drop order holds at every width: a column is only left out after the ones
        // before it in DROP_ORDER
        for width in 1..=220u16 {
            let c = visible_columns(&cols, width);
            let gone: Vec<usize> = DROP_ORDER
                .iter()
                .copied()
                .filter(|x| !c.contains(x))
                .collect();
            assert_eq!(gone, DROP_ORDER[..gone.len()], "width {width}: {c:?}");
            assert!(c.contains(&0), "width {width}: the pid column stays");
            let fixed: u16 = c
                .iter()
                .filter(|&&i| i != QUERY_COL)
                .map(|&i| cols[i].width + 1)
                .sum();
            assert!(
                fixed <= width || c == [0],
                "width {width}: {c:?} needs {fixed}"
            );
            if width >= 40 {
                assert!(c.contains(&DURATION_COL), "width {width}");
                assert!(
                    width - fixed >= QUERY_MIN.min(width - fixed),
                    "width {width}"
                );
            }
        }
    }

    #[test]
    fn the_query_keeps_its_minimum_before_a_column_is_dropped() {
        let cols = columns(6);
        for width in 60..=220u16 {
            let c = visible_columns(&cols, width);
            let fixed: u16 = c
                .iter()
                .filter(|&&i| i != QUERY_COL)
                .map(|&i| cols[i].width + 1)
                .sum();
            let dropped = c.len() < COLUMNS.len();
            if dropped {
                // the column dropped last would not have left the query its minimum
                let last = DROP_ORDER[COLUMNS.len() - c.len() - 1];
                assert!(
                    fixed + cols[last].width + 1 + QUERY_MIN > width,
                    "width {width}: {last} dropped too early"
                );
            }
            assert!(
                width - fixed >= QUERY_MIN,
                "width {width}: query gets {}",
                width - fixed
            );
        }
    }

    #[test]
    fn the_widest_pid_sets_the_pid_column() {
        let now = Utc::now();
        let a = s(7, "x", "y", "q", 1, now);
        let b = s(4_194_304, "x", "y", "q", 1, now);
        assert_eq!(pid_width(&[&a]), 4, "at least the title");
        assert_eq!(pid_width(&[&a, &b]), 8, "7 digits and the tag");
        let t = table(
            &[&a, &b],
            now,
            &Thresholds::default(),
            DurationBasis::Query,
            &|_| true,
            (0, false),
        );
        assert_eq!(t.columns[0].width, 8);
        assert_eq!(t.rows[1].cells[0], "*4194304");
    }
}
