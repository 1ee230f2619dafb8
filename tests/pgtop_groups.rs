//! The pgtop grouped view (`F`) without a server: synthetic snapshots applied to the real App,
//! keys pressed, the screen rendered into a TestBackend. One row per fingerprint with counts,
//! longest / total running time, users and databases; `/` filters before grouping; `Enter`
//! narrows the list to a group and `Esc` widens it again; `K` on a group lists exactly that
//! group's slow backends; query ids group what texts alone would not.

#[path = "support/screen.rs"]
mod screen;

#[path = "support/pg_fixture.rs"]
mod pg_fixture;

use pg_fixture::now;
use screen::{find, line, render, text};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::Effect;
use stacktop::messages::SourceCommand;
use stacktop::pg::activity::Session;
use stacktop::pg::kill::SignalKind;
use stacktop::pg::msg::PgRequest;
use stacktop::theme::Theme;

fn active(pid: i32, user: &str, db: &str, q: &str, secs: i64) -> Session {
    let mut s = pg_fixture::active(pid, user, q, secs);
    s.datname = Some(db.into());
    s
}

/// Four sleepers of one shape (different literals, spacing, case, comments), three lookups of
/// another, one odd query.
fn sessions() -> Vec<Session> {
    vec![
        active(
            201,
            "app",
            "orders",
            "select pg_sleep(60) /* k */ , 'a'",
            70,
        ),
        active(202, "app", "orders", "SELECT pg_sleep(61), 'bb'", 20),
        active(203, "web", "shop", "select  pg_sleep(62) ,\n 'ccc' -- x", 8),
        active(204, "app", "orders", "select pg_sleep(63), E'd\\'d'", 1),
        active(
            211,
            "app",
            "orders",
            "select * from t where id in (1, 2, 3)",
            6,
        ),
        active(212, "app", "orders", "select * from t where id in (4)", 2),
        active(213, "app", "orders", "SELECT * FROM t WHERE id IN (5,6)", 1),
        active(221, "report", "orders", "update stock set n = n - 1", 3),
    ]
}

fn feed(a: &mut App, seq: u64, sessions: Vec<Session>) {
    pg_fixture::feed(a, pg_fixture::snapshot(seq, sessions));
}

fn app() -> App {
    pg_fixture::app_with(Config::default(), pg_fixture::snapshot(1, sessions()))
}

fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    a.handle_key(KeyEvent::new(code, mods))
}

fn listed(a: &App) -> Vec<i32> {
    let mut v: Vec<i32> = a.pgtop.listed().iter().map(|s| s.pid).collect();
    v.sort();
    v
}

#[test]
fn f_shows_one_row_per_fingerprint_with_counts_times_users_and_databases() {
    let mut a = app();
    press(&mut a, KeyCode::Char('F'));
    let wide = text(&render(&a, 300, 20));
    assert!(
        wide.contains("grouped by query (F)"),
        "header flag:\n{wide}"
    );
    let buf = render(&a, 160, 20);
    let all = text(&buf);
    let (_, hy) = find(&buf, "fingerprint");
    let head = line(&buf, hy);
    for col in [
        "active",
        "longest",
        "total",
        "users",
        "databases",
        "fingerprint",
    ] {
        assert!(head.contains(col), "{col} in {head}");
    }
    // most active first: the sleepers (4 active, 1m10s longest, 1m39s in all)
    let (_, y) = find(&buf, "select pg_sleep(?), ?");
    let l = line(&buf, y);
    let cells: Vec<&str> = l.split_whitespace().collect();
    assert_eq!(
        &cells[..6],
        ["4", "4", "1m10s", "1m39s", "app,web", "orders,shop"],
        "{l}"
    );
    let (_, y2) = find(&buf, "select * from t where id in (...)");
    assert!(y2 > y, "sorted by activity");
    let l = line(&buf, y2);
    assert!(l.trim_start().starts_with("3 "), "{l}");
    assert!(all.contains("update stock set n = n - ?"), "{all}");
    // three groups, no literal of any session on screen
    assert_eq!(a.pgtop.core.table.data.rows.len(), 3);
    for lit in ["'bb'", "ccc", "(1, 2, 3)", "pg_sleep(60)"] {
        assert!(!all.contains(lit), "{lit} shown:\n{all}");
    }
    // the group is styled like its longest running session (critical: over 60 s)
    press(&mut a, KeyCode::Down);
    let buf = render(&a, 160, 20);
    let (x, y) = find(&buf, "select pg_sleep(?), ?");
    assert_eq!(buf[(x, y)].fg, Color::LightRed, "critical_slow");
    assert!(buf[(x, y)].modifier.contains(Modifier::UNDERLINED));
    // 80 columns: databases dropped, the fingerprint still readable
    let buf = render(&a, 80, 20);
    assert!(!line(&buf, hy).contains("databases"));
    find(&buf, "select pg_sleep(?), ?");
    // F again: one row per session
    press(&mut a, KeyCode::Char('F'));
    assert_eq!(a.pgtop.core.table.data.rows.len(), 8);
}

#[test]
fn refreshes_keep_the_groups_and_the_cursor() {
    let mut a = app();
    press(&mut a, KeyCode::Char('F'));
    press(&mut a, KeyCode::Down);
    let key = a.pgtop.core.table.selected().unwrap().key.clone();
    // the next refresh: same statements, one sleeper more with yet another literal
    let mut next = sessions();
    next.push(active(205, "app", "orders", "select pg_sleep(9), 'zz'", 1));
    feed(&mut a, 2, next);
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, key);
    let buf = render(&a, 160, 20);
    let (_, y) = find(&buf, "select pg_sleep(?), ?");
    assert!(
        line(&buf, y).trim_start().starts_with("5 "),
        "{}",
        line(&buf, y)
    );
}

#[test]
fn slash_filters_before_grouping() {
    let mut a = app();
    press(&mut a, KeyCode::Char('F'));
    press(&mut a, KeyCode::Char('/'));
    for c in "user:web".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    let buf = render(&a, 160, 20);
    let (_, y) = find(&buf, "select pg_sleep(?), ?");
    let cells: Vec<String> = line(&buf, y).split_whitespace().map(String::from).collect();
    assert_eq!(&cells[..2], ["1", "1"], "only web's sleeper");
    assert_eq!(a.pgtop.core.table.data.rows.len(), 1);
}

#[test]
fn enter_lists_the_group_and_esc_lists_all_again() {
    let mut a = app();
    press(&mut a, KeyCode::Char('F'));
    press(&mut a, KeyCode::Down); // the IN-list group
    press(&mut a, KeyCode::Enter);
    assert!(!a.pgtop.groups.on, "back to sessions");
    assert_eq!(listed(&a), [211, 212, 213]);
    let buf = render(&a, 300, 20);
    let all = text(&buf);
    assert!(
        all.contains("group: select * from t where id in (...) (Esc lists all)"),
        "header says which group:\n{all}"
    );
    assert!(
        all.contains("select * from t where id in (1, 2, 3)"),
        "rows as they are"
    );
    assert!(!all.contains("pg_sleep"), "{all}");
    // a refresh keeps the narrowing, new members included
    let mut next = sessions();
    next.push(active(
        214,
        "app",
        "orders",
        "select * from t where id in (9,9,9,9)",
        1,
    ));
    feed(&mut a, 2, next);
    assert_eq!(listed(&a), [211, 212, 213, 214]);
    press(&mut a, KeyCode::Esc);
    assert_eq!(listed(&a).len(), 9);
    assert!(!text(&render(&a, 300, 20)).contains("group:"));
}

#[test]
fn k_on_a_group_lists_exactly_its_slow_backends() {
    let mut a = app();
    press(&mut a, KeyCode::Char('F'));
    // cursor on the sleepers: slow are 201 (70 s), 202 (20 s), 203 (8 s); 204 runs 1 s
    let e = press(&mut a, KeyCode::Char('K'));
    assert!(e.is_empty(), "nothing sent before y");
    let d = a.pgtop.dialog.as_ref().expect("a confirmation");
    let mut pids: Vec<i32> = d.targets.iter().map(|t| t.pid).collect();
    pids.sort();
    assert_eq!(pids, [201, 202, 203]);
    let buf = render(&a, 160, 30);
    let all = text(&buf);
    assert!(
        all.contains("Cancel 3 queries running longer than 5.0s (K)?"),
        "{all}"
    );
    assert!(all.contains("group: select pg_sleep(?), ?"), "{all}");
    for p in [201, 202, 203] {
        assert!(
            all.contains(&format!("pid {p:>7}")),
            "every backend listed:\n{all}"
        );
    }
    assert!(
        all.contains("pid, backend start and query start"),
        "the guard is said"
    );
    let e = press(&mut a, KeyCode::Char('y'));
    let sent = e.iter().find_map(|e| match e {
        Effect::ToSource(
            ViewKind::Pgtop,
            SourceCommand::Pg(PgRequest::Signal { kind, targets }),
        ) => Some((*kind, targets.clone())),
        _ => None,
    });
    let (kind, targets) = sent.expect("a signal request");
    assert_eq!(kind, SignalKind::Cancel);
    let mut pids: Vec<i32> = targets.iter().map(|t| t.pid).collect();
    pids.sort();
    assert_eq!(
        pids,
        [201, 202, 203],
        "the slow IN-list query 211 is not hit"
    );
    for t in &targets {
        assert_eq!(
            t.backend_start,
            now() - chrono::Duration::hours(1),
            "guard kept"
        );
        assert!(t.query_start.is_some());
    }
}

#[test]
fn k_on_a_group_without_slow_queries_says_so_and_read_only_refuses() {
    let mut a = app();
    press(&mut a, KeyCode::Char('F'));
    press(&mut a, KeyCode::End); // update stock: 3 s
    press(&mut a, KeyCode::Char('K'));
    assert!(a.pgtop.dialog.is_none());
    let mut cfg = Config::default();
    cfg.ui.read_only = true;
    let mut ro = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);
    feed(&mut ro, 1, sessions());
    press(&mut ro, KeyCode::Char('F'));
    let e = press(&mut ro, KeyCode::Char('K'));
    assert!(e.is_empty() && ro.pgtop.dialog.is_none());
}

#[test]
fn query_ids_group_what_the_texts_would_split() {
    let mut a = app();
    let mut v = sessions();
    // the server says 211 and 221 are one statement (a query id wins over the text)
    v[4].query_id = Some(4242);
    v[7].query_id = Some(4242);
    feed(&mut a, 2, v);
    press(&mut a, KeyCode::Char('F'));
    let rows = &a.pgtop.core.table.data.rows;
    assert!(
        rows.iter().any(|r| r.key == "q4242" && r.cells[0] == "2"),
        "{rows:?}"
    );
    // sleepers, {211, 221} by query id, {212, 213} by text
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.key.starts_with('t') && r.cells[0] == "2"),
        "{rows:?}"
    );
}
