//! The pgtop list as data (no drawing): the `/` filter language (`db:orders user:app
//! state:active app:psql min:2s` plus free text), which sessions are listed (client backends,
//! idle ones on request, never the own session — the collector already leaves it out), the sort
//! (any column, both ways; default longest first), the frozen order while the user navigates,
//! and the cells/roles of each row for `ui::table`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::pg::activity::{Session, SessionState};
use crate::pg::classify::{classify, DurationBasis, RowClass, Thresholds};
use crate::pg::redact::one_line;
use crate::theme::Role;
use crate::widgets::table::{Column, TableData, TableRow};

/// Column titles (also the sort keys of `>` / `<`).
pub const COLUMNS: [&str; 10] = [
    "pid",
    "database",
    "user",
    "client",
    "application",
    "backend",
    "state",
    "wait",
    "duration",
    "query",
];
/// Index of the duration column (the default sort, descending).
pub const DURATION_COL: usize = 8;
/// Index of the query column (it takes the rest of the width).
pub const QUERY_COL: usize = 9;
const WIDTHS: [u16; 10] = [7, 10, 10, 15, 12, 14, 8, 12, 8, 0];
/// Columns left out when the screen is narrow, first to last, once the query column is down
/// to [`QUERY_MIN`]: backend, client, application, database, user, state, wait. The pid,
/// duration and query columns stay (the pid is never cut); the wait column (who blocks a
/// session, or its wait event) goes last, so a waiting session stays marked.
pub(super) const DROP_ORDER: [usize; 7] = [5, 3, 4, 1, 2, 6, 7];
/// The query column shrinks to this many cells before a column is left out.
pub const QUERY_MIN: u16 = 24;

/// What [`Filter::parse`] accepts, for `?` (keep the two together).
pub const FILTER_SYNTAX: &[(&str, &str)] = &[
    (
        "WORD",
        "a word anywhere in the row (query, user, db, app, client…)",
    ),
    ("db:NAME", "database contains NAME (also database:, d:)"),
    ("user:NAME", "user contains NAME (also u:)"),
    (
        "app:NAME",
        "application_name contains NAME (also application:, a:)",
    ),
    ("state:S", "state contains S, e.g. state:idle (also s:)"),
    (
        "min:DUR",
        "running at least DUR (min:0 for any; :min DUR sets it apart)",
    ),
    ("A B", "several words: all must match (case-insensitive)"),
];

/// A parsed `/` filter. Every key matches case-insensitively as a substring; several words
/// must all match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Filter {
    pub text: String,
    db: Vec<String>,
    user: Vec<String>,
    app: Vec<String>,
    state: Vec<String>,
    free: Vec<String>,
    pub min: Option<Duration>,
}

impl Filter {
    /// Parses `db:orders user:app state:idle app:psql min:2s select`. A `key:` word with an
    /// unknown key or a bad value is an error (the whole filter is refused, never half
    /// applied); casts (`x::int`), URLs (`http://…`) and words not starting with letters
    /// then `:` are free text.
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut f = Filter {
            text: text.trim().to_string(),
            ..Filter::default()
        };
        for w in text.split_whitespace() {
            let lw = w.to_lowercase();
            let (key, val) = match lw.split_once(':') {
                Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic()) => {
                    (k.to_string(), v.to_string())
                }
                _ => (String::new(), lw.clone()),
            };
            let (slot, v) = match key.as_str() {
                "db" | "database" | "d" => (&mut f.db, val),
                "user" | "u" => (&mut f.user, val),
                "app" | "application" | "a" => (&mut f.app, val),
                "state" | "s" => (&mut f.state, val),
                "min" => {
                    let d = val.parse::<crate::base::Dur>().map_err(|e| {
                        format!("filter min: {e} (keys: db: user: app: state: min:)")
                    })?;
                    f.min = Some(d.get()).filter(|d| !d.is_zero());
                    continue;
                }
                "" => (&mut f.free, lw),
                // `x::int` casts and `http://` URLs are text, not keys
                _ if val.starts_with(':') || val.starts_with('/') => (&mut f.free, lw),
                k => {
                    return Err(format!(
                        "filter: unknown key `{k}:` (keys: db: user: app: state: min:)"
                    ))
                }
            };
            if !v.is_empty() {
                slot.push(v);
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn matches(&self, s: &Session, dur: Option<Duration>) -> bool {
        // nothing to lower-case when the key is not in the filter (the usual case: every
        // listed row passes here at each refresh)
        let has = |hay: &str, needles: &[String]| {
            needles.is_empty() || {
                let h = hay.to_lowercase();
                needles.iter().all(|n| h.contains(n.as_str()))
            }
        };
        if let Some(min) = self.min {
            if dur.is_none_or(|d| d < min) {
                return false;
            }
        }
        has(s.datname.as_deref().unwrap_or(""), &self.db)
            && has(s.usename.as_deref().unwrap_or(""), &self.user)
            && has(&s.application_name, &self.app)
            && has(s.state.as_str(), &self.state)
            && self.free.iter().all(|n| {
                [
                    s.query.as_str(),
                    s.datname.as_deref().unwrap_or(""),
                    s.usename.as_deref().unwrap_or(""),
                    &s.application_name,
                    s.state.as_str(),
                ]
                .iter()
                .any(|h| h.to_lowercase().contains(n.as_str()))
            })
    }
}

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
    // decorate-sort: each row's key is computed once, not at every comparison
    let mut v: Vec<(SortKey<'s>, &'s Session)> = sessions
        .iter()
        .filter(|s| spec.show_all || (s.is_client_backend() && s.state != SessionState::Idle))
        .filter_map(|s| {
            let dur = s.duration(spec.basis, now);
            if !spec.filter.matches(s, dur) {
                return None;
            }
            let key = match col {
                0 => SortKey::None,
                DURATION_COL => SortKey::Dur(dur),
                c => SortKey::Text(text_cell(s, c)),
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

fn text_cell(s: &Session, col: usize) -> Cow<'_, str> {
    if let Some(own) = own_text(s, col) {
        return Cow::Borrowed(own);
    }
    match col {
        6 => Cow::Borrowed(state_short(&s.state)),
        7 => Cow::Owned(blk(s)),
        _ => Cow::Borrowed(&s.query),
    }
}

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

/// The wait column: `by 1234+2` (first blocking pid, how many more) for a session blocked by
/// others, else its wait event (`Lock:tuple`, `IO:DataFileRead`), else empty.
pub fn blk(s: &Session) -> String {
    if s.blocking_pids.is_empty() {
        wait(s)
    } else {
        crate::pg::batch::blocked_or_wait(s)
    }
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
    let w = |c: usize| columns.get(c).map_or(WIDTHS[c], |x| x.width);
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
    let columns = COLUMNS
        .iter()
        .zip(WIDTHS)
        .enumerate()
        .map(|(i, (title, w))| {
            let mark = match sort {
                (c, true) if c == i => "▼",
                (c, false) if c == i => "▲",
                _ => "",
            };
            let title = format!("{title}{mark}");
            let w = if i == 0 { pid_width(rows) } else { w };
            if i == 0 || i == DURATION_COL {
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
            let mut keys = vec![0.0; COLUMNS.len()];
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
    match c {
        1 => Some(s.datname.as_deref().unwrap_or_default()),
        2 => Some(s.usename.as_deref().unwrap_or_default()),
        3 => Some(s.client_display()),
        4 => Some(&s.application_name),
        5 => Some(s.backend_type.as_deref().unwrap_or_default()),
        _ => None,
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
    let dur = s.duration(basis, now);
    let tag = if tagged { "*" } else { " " };
    // the marker that stays without colour (NO_COLOR): the state reads `long tx`
    let state = if role == Role::LongTx {
        "long tx"
    } else {
        state_short(&s.state)
    };
    vec![
        format!("{tag}{}", s.pid),
        s.datname.clone().unwrap_or_default(),
        s.usename.clone().unwrap_or_default(),
        s.client_display().to_string(),
        s.application_name.clone(),
        s.backend_type.clone().unwrap_or_default(),
        state.to_string(),
        blk(s),
        dur.map(fmt_dur).unwrap_or_default(),
        one_line(&s.query, 400),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pid: i32, db: &str, user: &str, q: &str, secs: i64, now: DateTime<Utc>) -> Session {
        let mut s = Session::for_test(pid, SessionState::Active, q);
        s.datname = Some(db.into());
        s.usename = Some(user.into());
        s.query_start = Some(now - chrono::Duration::seconds(secs));
        s
    }

    #[test]
    fn filter_language() {
        let now = Utc::now();
        let a = s(
            1,
            "orders",
            "app",
            "select * from t where x::int = 1",
            10,
            now,
        );
        let b = s(2, "billing", "app", "update t", 1, now);
        let f = Filter::parse("db:ord user:APP").unwrap();
        assert!(f.matches(&a, a.duration(DurationBasis::Query, now)));
        assert!(!f.matches(&b, None));
        let f = Filter::parse("x::int").unwrap();
        assert!(f.matches(&a, None), "a cast: free text");
        assert!(Filter::parse("see http://x/y").is_ok(), "a URL: free text");
        let e = Filter::parse("db:orders usr:app").unwrap_err();
        assert!(e.contains("unknown key `usr:`"), "{e}");
        assert!(
            Filter::parse("min:").is_err(),
            "a half-typed min: is no filter"
        );
        let f = Filter::parse("min:5s").unwrap();
        assert!(f.matches(&a, a.duration(DurationBasis::Query, now)));
        assert!(!f.matches(&b, b.duration(DurationBasis::Query, now)));
        assert!(Filter::parse("min:soon").is_err());
        assert!(Filter::parse("state:active update")
            .unwrap()
            .matches(&b, None));
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
        assert!(blk(&w).len() <= usize::from(WIDTHS[7]));
    }

    fn columns(pid_w: u16) -> Vec<Column> {
        COLUMNS
            .iter()
            .zip(WIDTHS)
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
