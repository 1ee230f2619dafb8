//! What the pgtop refresh does cheaply must be what it did before: the list sorted with keys
//! computed once per row (checked against a comparator that recomputes them, every column, both
//! ways), the frozen order, and the session list whose cell strings are made at draw time for
//! the rows on screen only (the screen must be the one a table with every cell draws, at any
//! cursor position, sort, tag and size). No server: synthetic snapshots through the real App.

#[path = "support/screen.rs"]
mod screen;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{ActivityColumns, Header, PgSnapshot, Session, SessionState};
use stacktop::pg::classify::DurationBasis;
use stacktop::pg::collector::ConnState;
use stacktop::theme::Theme;
use stacktop::views::pgtop::rows::{self, Filter, ListSpec, COLUMNS, DURATION_COL};
use stacktop::wire::ViewKind;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 11, 3, 4).unwrap()
}

/// `n` sessions with repeating values (so sorts meet ties and the pid decides).
fn sessions(n: i32) -> Vec<Session> {
    (0..n)
        .map(|i| {
            let state = match i % 7 {
                0 => SessionState::IdleInTransaction,
                1 => SessionState::Idle,
                _ => SessionState::Active,
            };
            let mut s = Session::for_test(
                10_000 + (i * 7919) % 50_000,
                state,
                &format!("select pg_sleep({}) /* {} */", i % 5, i % 3),
            );
            s.datname = Some(format!("db{}", i % 4));
            s.usename = Some(format!("user{}", i % 6));
            s.application_name = format!("app{}", i % 3);
            s.client_addr = (i % 5 != 0).then(|| format!("10.0.0.{}", i % 9));
            s.client_port = Some(if i % 5 == 0 { -1 } else { 40_000 + i });
            if i % 11 == 0 {
                s.backend_type = Some("autovacuum worker".into());
            }
            let start = now() - chrono::Duration::seconds(i64::from(i % 13) * 7);
            s.backend_start = Some(now() - chrono::Duration::hours(1));
            s.query_start = (i % 17 != 0).then_some(start);
            s.xact_start = (i % 3 != 0).then(|| start - chrono::Duration::seconds(400));
            s.state_change = Some(start);
            if i % 9 == 0 {
                s.wait_event_type = Some("Lock".into());
                s.wait_event = Some("transactionid".into());
                s.blocking_pids = vec![10_000, 10_001 + i % 2];
            }
            s
        })
        .collect()
}

fn snapshot(sessions: Vec<Session>) -> PgSnapshot {
    let mut s = PgSnapshot::status_only(
        1,
        ConnState::Connected { since: now() },
        Duration::from_secs(1),
    );
    s.server_now = now();
    let mut h = stacktop::pg::activity::summarize(now(), &sessions);
    h.server_version = "15.6".into();
    h.server_version_num = 150006;
    h.columns = ActivityColumns::default();
    s.header = Some(Header { ..h });
    s.sessions = sessions;
    s
}

/// The text key a column sorted by before keys were computed once: recomputed here for
/// every comparison, as the old comparator did.
fn text_key(s: &Session, col: usize) -> String {
    match col {
        1 => s.datname.clone().unwrap_or_default(),
        2 => s.usename.clone().unwrap_or_default(),
        3 => s.client_display().to_string(),
        4 => s.application_name.clone(),
        5 => s.backend_type.clone().unwrap_or_default(),
        6 => rows::state_short(&s.state).to_string(),
        7 => rows::blk(s),
        _ => s.query.clone(),
    }
}

fn reference_select<'s>(all: &'s [Session], spec: &ListSpec) -> Vec<&'s Session> {
    let now = now();
    let mut v: Vec<&Session> = all
        .iter()
        .filter(|s| spec.show_all || (s.is_client_backend() && s.state != SessionState::Idle))
        .filter(|s| spec.filter.matches(s, s.duration(spec.basis, now)))
        .collect();
    let (col, desc) = spec.sort;
    v.sort_by(|a, b| {
        let o = match col {
            0 => a.pid.cmp(&b.pid),
            DURATION_COL => a
                .duration(spec.basis, now)
                .cmp(&b.duration(spec.basis, now)),
            c => text_key(a, c).cmp(&text_key(b, c)),
        };
        let o = if desc { o.reverse() } else { o };
        o.then(a.pid.cmp(&b.pid))
    });
    v
}

fn pids(v: &[&Session]) -> Vec<i32> {
    v.iter().map(|s| s.pid).collect()
}

#[test]
fn perf_sort_keys_computed_once_give_the_same_order_for_every_column() {
    let all = sessions(400);
    let filters = [
        Filter::default(),
        Filter::parse("user:user1").unwrap(),
        Filter::parse("min:20s sleep").unwrap(),
    ];
    for filter in &filters {
        for basis in [
            DurationBasis::Query,
            DurationBasis::Transaction,
            DurationBasis::State,
        ] {
            for (col, title) in COLUMNS.iter().enumerate() {
                for desc in [false, true] {
                    for show_all in [false, true] {
                        let spec = ListSpec {
                            show_all,
                            basis,
                            filter,
                            sort: (col, desc),
                        };
                        let got = rows::select(&all, now(), &spec);
                        let want = reference_select(&all, &spec);
                        assert!(!want.is_empty());
                        assert_eq!(
                            pids(&got),
                            pids(&want),
                            "column {title} desc {desc} basis {basis:?} all {show_all} filter {:?}",
                            filter.text
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn perf_frozen_order_keeps_previous_rows_first_then_new_ones_in_sort_order() {
    let all = sessions(60);
    let f = Filter::default();
    let spec = ListSpec {
        show_all: true,
        basis: DurationBasis::Query,
        filter: &f,
        sort: (DURATION_COL, true),
    };
    let sorted = rows::select(&all, now(), &spec);
    // previous: every third row in reverse, plus pids that are gone
    let mut previous: Vec<i32> = sorted.iter().step_by(3).map(|s| s.pid).rev().collect();
    previous.insert(2, 1);
    previous.push(2);
    let want: Vec<i32> = previous
        .iter()
        .filter(|p| sorted.iter().any(|s| s.pid == **p))
        .copied()
        .chain(
            sorted
                .iter()
                .map(|s| s.pid)
                .filter(|p| !previous.contains(p)),
        )
        .collect();
    assert_eq!(pids(&rows::freeze(sorted, &previous)), want);
}

fn press(a: &mut App, code: KeyCode) {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    a.handle_key(KeyEvent::new(code, mods));
}

/// The same App, but its pgtop table replaced by one with every cell made up front (what the
/// view kept before): both must draw the same screen.
fn with_every_cell(a: &App) -> App {
    let mut b = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    b.now = a.now;
    b.flash.clone_from(&a.flash);
    let snap = a.pgtop.snap.as_ref().expect("a snapshot").clone();
    b.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snap),
    });
    b.pgtop.sort = a.pgtop.sort;
    b.pgtop.basis = a.pgtop.basis;
    b.pgtop.show_all = a.pgtop.show_all;
    b.pgtop.tagged.clone_from(&a.pgtop.tagged);
    let v = &a.pgtop;
    let listed = v.listed();
    let tagged = |s: &Session| v.tagged.contains(&(s.pid, s.backend_start));
    let full = rows::table(&listed, now(), &v.thresholds, v.basis, &tagged, v.sort);
    assert!(full.rows.iter().all(|r| r.cells.len() == COLUMNS.len()));
    b.view_mut(ViewKind::Pgtop).core_mut().set_table(full);
    b.pgtop.core.table.cursor = v.core.table.cursor;
    b
}

fn same_screen(a: &App, w: u16, h: u16, what: &str) {
    let b = with_every_cell(a);
    assert_eq!(b.pgtop.core.table.cursor, a.pgtop.core.table.cursor);
    let (got, want) = (screen::render(a, w, h), screen::render(&b, w, h));
    // from the list's title line down (the header says "order frozen" after a key moved the
    // cursor, which the copy did not get)
    let top = (0..h)
        .find(|&y| screen::line(&got, y).starts_with("pid"))
        .unwrap_or_else(|| panic!("no list title:\n{}", screen::text(&got)));
    assert!(h - top > 10, "{}", screen::text(&got));
    for y in top..h {
        assert_eq!(
            screen::line(&got, y),
            screen::line(&want, y),
            "{what} at {w}x{h}, line {y}:\n{}",
            screen::text(&got)
        );
    }
}

#[test]
fn perf_cells_made_at_draw_time_draw_what_a_full_table_draws() {
    let mut a = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    a.now = now().with_timezone(&chrono::Local);
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snapshot(sessions(700)).into()),
    });
    let rows_n = a.pgtop.core.table.data.rows.len();
    assert!(rows_n > 300, "{rows_n} rows listed");
    assert!(
        a.pgtop
            .core
            .table
            .data
            .rows
            .iter()
            .all(|r| r.cells.is_empty()),
        "the view keeps no cell strings"
    );
    same_screen(&a, 200, 50, "top");
    same_screen(&a, 80, 24, "top");
    // far down the list, where no row was drawn before
    for _ in 0..15 {
        press(&mut a, KeyCode::PageDown);
    }
    assert!(a.pgtop.core.table.cursor > 200);
    same_screen(&a, 200, 50, "paged down");
    same_screen(&a, 120, 30, "paged down");
    press(&mut a, KeyCode::Char(' ')); // tag
    press(&mut a, KeyCode::Char(' '));
    assert!(!a.pgtop.tagged.is_empty());
    same_screen(&a, 200, 50, "tagged");
    press(&mut a, KeyCode::Esc); // tags cleared
    press(&mut a, KeyCode::End);
    same_screen(&a, 200, 50, "bottom");
    press(&mut a, KeyCode::Char('i')); // idle and background too
    press(&mut a, KeyCode::Char('T')); // transaction basis
    press(&mut a, KeyCode::Char('>')); // sorted by the next column
    same_screen(&a, 200, 50, "all, transaction basis, sorted by query");
    press(&mut a, KeyCode::Char('<'));
    press(&mut a, KeyCode::Home);
    same_screen(&a, 80, 24, "reversed");
}
