//! The pgtop lock tree and blocked-by marker without a server: synthetic snapshots applied to
//! the real App, keys pressed, the screen rendered into a TestBackend. The tree's cursor, `c`/`k`
//! on the line under it (not the list row hidden behind), `R` on the root blocker with the list of
//! what it unblocks, and the wait/blocked column kept at 80 columns.

#[path = "support/screen.rs"]
mod screen;

#[path = "support/pg_fixture.rs"]
mod pg_fixture;

use pg_fixture::{active, now};
use screen::{find, line, render, text};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::Effect;
use stacktop::messages::SourceCommand;
use stacktop::pg::activity::{Header, Session, SessionState};
use stacktop::pg::kill::SignalKind;
use stacktop::pg::locks::LockWait;
use stacktop::pg::source::PgRequest;

fn waiter(pid: i32, by: &[i32], secs: i64, rel: &str) -> Session {
    let mut s = active(pid, "app", &format!("update {rel} set n = {pid}"), secs);
    s.wait_event_type = Some("Lock".into());
    s.wait_event = Some("relation".into());
    s.blocking_pids = by.to_vec();
    s.lock = Some(LockWait {
        mode: "RowExclusiveLock".into(),
        locktype: "relation".into(),
        relation: Some(rel.into()),
        object: None,
        since: None,
    });
    s
}

/// 201 (idle in tx) holds up 211, 212 and, through 212, 213; 202 holds up 221 alone; 230 runs
/// unblocked and is the longest query (the list's first row).
fn sessions() -> Vec<Session> {
    let mut r1 = active(201, "batch", "lock table stock", 300);
    r1.state = SessionState::IdleInTransaction;
    let mut r2 = active(202, "report", "lock table lines", 200);
    r2.state = SessionState::IdleInTransaction;
    vec![
        active(230, "app", "select pg_sleep(900)", 900),
        r1,
        r2,
        waiter(211, &[201], 40, "public.stock"),
        waiter(212, &[201], 50, "public.stock"),
        waiter(213, &[212], 20, "public.stock"),
        waiter(221, &[202], 90, "public.lines"),
    ]
}

fn app() -> App {
    app_with(Config::default())
}

fn app_with(cfg: Config) -> App {
    let mut s = pg_fixture::snapshot(1, sessions());
    s.header = s.header.map(|h| Header {
        tps: Some(1.0),
        cache_hit_ratio: Some(0.99),
        longest_query: None,
        longest_transaction: None,
        ..h
    });
    pg_fixture::app_with(cfg, s)
}

fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    a.handle_key(KeyEvent::new(code, mods))
}

fn signal_of(effects: &[Effect]) -> Option<(SignalKind, Vec<i32>)> {
    effects.iter().find_map(|e| match e {
        Effect::ToSource(
            ViewKind::Pgtop,
            SourceCommand::Pg(PgRequest::Signal { kind, targets }),
        ) => Some((*kind, targets.iter().map(|t| t.pid).collect())),
        _ => None,
    })
}

/// The tree lines on screen, top to bottom, as (pid, line text).
fn tree_lines(a: &App, w: u16, h: u16) -> Vec<String> {
    let buf = render(a, w, h);
    (0..h)
        .map(|y| line(&buf, y))
        .filter(|l| l.contains("■ ") || l.contains("└─ "))
        .collect()
}

#[test]
fn lock_tree_cursor_selects_what_c_and_k_act_on() {
    let mut a = app();
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "230");
    press(&mut a, KeyCode::Char('L'));
    let lines = tree_lines(&a, 160, 30);
    let order: Vec<&str> = lines
        .iter()
        .map(|l| {
            l.split_whitespace()
                .find(|w| w.parse::<i32>().is_ok())
                .unwrap()
        })
        .collect();
    // the root holding up three comes first; within it the longest waiter first
    assert_eq!(
        order,
        ["201", "212", "213", "211", "202", "221"],
        "{lines:#?}"
    );
    assert!(
        lines[0].starts_with("> ■ 201") && lines[0].contains("holds up 3"),
        "root marked, cursor on it: {lines:#?}"
    );
    assert!(
        lines[1].contains("RowExclusive") && lines[1].contains("public.stock"),
        "mode and relation: {}",
        lines[1]
    );
    assert!(lines[1].contains("50.0s"), "waited: {}", lines[1]);
    assert!(
        lines[2].contains("     └─ 213") && lines[1].contains("  └─ 212"),
        "a chain nests: {lines:#?}"
    );
    // at 80 columns each line keeps pid, mode, relation and time waited
    let narrow = tree_lines(&a, 80, 24);
    assert!(
        narrow[1].contains("└─ 212")
            && narrow[1].contains("public.stock")
            && narrow[1].contains("50.0s"),
        "{narrow:#?}"
    );
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    let lines = tree_lines(&a, 160, 30);
    assert!(
        lines[2].starts_with(">") && lines[2].contains("213"),
        "{lines:#?}"
    );
    // c acts on the line under the cursor, never on the list row (230) hidden behind
    press(&mut a, KeyCode::Char('c'));
    let all = text(&render(&a, 160, 30));
    assert!(
        all.contains("Cancel 1 query?") && all.contains("pid     213"),
        "{all}"
    );
    let e = press(&mut a, KeyCode::Char('y'));
    assert_eq!(signal_of(&e), Some((SignalKind::Cancel, vec![213])));
    press(&mut a, KeyCode::Esc);
    // the cursor stays on its pid; k terminates that one
    press(&mut a, KeyCode::Char('k'));
    let e = press(&mut a, KeyCode::Char('y'));
    assert_eq!(signal_of(&e), Some((SignalKind::Terminate, vec![213])));
    press(&mut a, KeyCode::Esc);
    // the guard: the target carries backend_start and query_start as shown
    press(&mut a, KeyCode::Char('c'));
    let t = &a.pgtop.dialog.as_ref().unwrap().targets[0];
    assert_eq!(t.backend_start, now() - chrono::Duration::hours(1));
    assert_eq!(t.query_start, Some(now() - chrono::Duration::seconds(20)));
    press(&mut a, KeyCode::Char('n'));
    press(&mut a, KeyCode::End);
    let lines = tree_lines(&a, 160, 30);
    assert!(
        lines[5].starts_with(">") && lines[5].contains("221"),
        "{lines:#?}"
    );
}

#[test]
fn r_terminates_the_root_blocker_after_listing_what_it_unblocks() {
    let mut a = app();
    let e = press(&mut a, KeyCode::Char('R'));
    assert!(
        signal_of(&e).is_none() && a.pgtop.dialog.is_none(),
        "R needs the tree"
    );
    press(&mut a, KeyCode::Char('L'));
    // cursor on 213, two levels under root 201
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    let e = press(&mut a, KeyCode::Char('R'));
    assert!(signal_of(&e).is_none(), "nothing before y");
    let all = text(&render(&a, 160, 30));
    assert!(
        all.contains("Terminate the root blocker of this lock chain (R)?"),
        "{all}"
    );
    assert!(all.contains("pid     201"), "{all}");
    assert!(all.contains("it holds up 3 sessions"), "{all}");
    for p in ["211", "212", "213"] {
        assert!(
            all.contains(&format!("pid     {p}  user app")),
            "{p}: {all}"
        );
    }
    assert!(
        !all.contains("pid     221  user"),
        "202's waiter is not listed: {all}"
    );
    let e = press(&mut a, KeyCode::Char('y'));
    assert_eq!(signal_of(&e), Some((SignalKind::Terminate, vec![201])));
}

#[test]
fn read_only_refuses_r() {
    let mut cfg = Config::default();
    cfg.pgtop.read_only = true;
    let mut a = app_with(cfg);
    press(&mut a, KeyCode::Char('L'));
    let e = press(&mut a, KeyCode::Char('R'));
    assert!(signal_of(&e).is_none() && a.pgtop.dialog.is_none());
    assert!(a.flash.as_ref().unwrap().text.contains("read-only"));
}

#[test]
fn a_waiting_session_is_marked_at_80_columns() {
    let a = app();
    let buf = render(&a, 80, 24);
    let (_, y) = find(&buf, " 212 ");
    let row = line(&buf, y);
    assert!(row.contains("by 201"), "blocked-by at 80 columns: {row}");
    let (_, y) = find(&buf, " 221 ");
    assert!(line(&buf, y).contains("by 202"), "{}", line(&buf, y));
    // the full pid list is in the detail pane, with the lock
    let mut a = a;
    for _ in 0..6 {
        if a.pgtop.core.table.selected().unwrap().key == "212" {
            break;
        }
        press(&mut a, KeyCode::Down);
    }
    assert_eq!(a.pgtop.core.table.selected().unwrap().key, "212");
    press(&mut a, KeyCode::Enter);
    let all = text(&render(&a, 80, 24));
    assert!(
        all.contains("waits for RowExclusiveLock on public.stock"),
        "{all}"
    );
    assert!(all.contains("blocking 213"), "{all}");
}
