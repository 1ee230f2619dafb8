//! The replication view inside the app, fed recorded MariaDB snapshots (tests/fixtures):
//! TestBackend rendering (text and the ok/warn/crit styles), the lag sparkline history,
//! and keys (audit focus, Enter check detail, y copy effect, Esc back).

#[path = "support/screen.rs"]
mod screen;

use screen::{find, line, render, text};

/// `(first, last, total)` from the "lines A-B of N" indicator.
fn indicator(buf: &ratatui::buffer::Buffer) -> Option<(usize, usize, usize)> {
    screen::indicator(buf).map(|(t, _)| t)
}

#[path = "repl_common/mod.rs"]
mod common;

use chrono::TimeZone;
use common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Effect, Payload, Update};
use stacktop::repl::{ServerRole, ServerSnapshot};
use stacktop::theme::Theme;
use stacktop::views::repl::{Focus, Pane};
use stacktop::views::View;
use stacktop::wire::ViewKind;

fn app() -> App {
    let mut cfg = Config::default();
    cfg.repl.history = 5;
    for n in ["primary", "replica"] {
        cfg.repl
            .servers
            .push(stacktop::repl::ServerConfig::tcp(n, "127.0.0.1", 3306));
    }
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Repl);
    a.now = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 12, 3, 4)
        .unwrap();
    a
}

fn feed(a: &mut App, s: ServerSnapshot) {
    a.apply(Update {
        view: ViewKind::Repl,
        payload: Payload::Repl(Box::new(s)),
    });
}

fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    a.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Healthy primary + a replica whose default connection has a duplicate-key SQL error.
fn broken_app() -> App {
    let mut a = app();
    feed(&mut a, maria_primary(""));
    feed(
        &mut a,
        maria_replica(maria_rows("scenario-sql-error.txt", "scenario", true)),
    );
    a
}

#[test]
fn status_rows_broken_first_with_crit_and_ok_styles() {
    let a = broken_app();
    let buf = render(&a, 120, 32);
    // Broken first: the replica's CRIT row comes before the healthy primary.
    let (cx, cy) = find(&buf, "CRIT  replica");
    let (ox, oy) = find(&buf, "OK    primary");
    assert!(cy < oy, "broken first");
    assert_eq!(buf[(cx, cy)].fg, Color::Red);
    assert!(buf[(cx, cy)].modifier.contains(Modifier::BOLD));
    assert_eq!(buf[(ox, oy)].fg, Color::Green);
    let row = line(&buf, cy);
    assert!(row.contains("(default)") && row.contains("1062"), "{row}");
    // Detail of the selected (CRIT) row: error with first-seen / GTIDs / source.
    let (_, ey) = find(&buf, "last SQL error 1062");
    assert_eq!(buf[(0, ey)].fg, Color::Red);
    find(&buf, "retrieved ");
    find(&buf, "GTID Slave_Pos");
    // Audit pane of the selected server with PASS in the ok colour.
    find(&buf, "audit replica:");
    let (px, py) = find(&buf, "PASS    P");
    assert_eq!(buf[(px, py)].fg, Color::Green);
    // Status line: live.
    let status = line(&buf, 31);
    assert!(status.contains("live"), "{status}");
}

#[test]
fn null_lag_is_unknown_and_io_states_are_distinct() {
    let mut a = app();
    feed(&mut a, maria_primary(""));
    feed(
        &mut a,
        maria_replica(maria_rows("scenario-io-stop.txt", "scenario", true)),
    );
    let buf = render(&a, 120, 30);
    let (_, y) = find(&buf, "CRIT  replica");
    let row = line(&buf, y);
    assert!(
        row.contains("unknown"),
        "NULL lag is unknown, never 0: {row}"
    );
    assert!(row.contains(" No "), "{row}");
    let mut a = app();
    feed(
        &mut a,
        maria_replica(maria_rows("scenario-primary-kill.txt", "scenario", true)),
    );
    feed(&mut a, maria_primary(""));
    let buf = render(&a, 120, 30);
    let (_, y) = find(&buf, "(default)");
    assert!(line(&buf, y).contains("Connecting"), "{}", line(&buf, y));
}

#[test]
fn unreachable_server_row_and_status_line_when_all_down() {
    let mut a = app();
    let since = at() - chrono::Duration::seconds(30);
    for n in ["primary", "replica"] {
        feed(
            &mut a,
            ServerSnapshot::unreachable(
                n,
                "127.0.0.1:1",
                ServerRole::Auto,
                None,
                since,
                "connection refused".into(),
            ),
        );
    }
    let buf = render(&a, 100, 24);
    // the row (above the detail pane) keeps the cause; its time goes first when narrow
    let (x, y) = find(&buf, "reconnecting");
    assert!(line(&buf, y).contains("CRIT"), "a row per failed server");
    assert!(
        line(&buf, y).contains("connection refused"),
        "{}",
        line(&buf, y)
    );
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let (_, dy) = find(&buf, "reconnecting since ");
    assert!(
        line(&buf, dy).starts_with("reconnecting since ")
            && line(&buf, dy).contains("connection refused"),
        "detail line"
    );
    let status = line(&buf, 23);
    assert!(
        status.contains("DISCONNECTED since") && status.contains("all 2 servers down"),
        "{status}"
    );
    assert!(a.repl.core.health.is_failed());
    assert!(
        line(&buf, 0).contains("replication!"),
        "tab marks the failure"
    );
}

#[test]
fn lag_history_is_bounded_and_drawn_as_a_sparkline() {
    let mut a = app();
    feed(&mut a, maria_primary(""));
    for lag in [0, 5, 10, 20, 40, 80, 160] {
        let mut rows = healthy_rows();
        set(
            &mut rows,
            "",
            "Seconds_Behind_Master",
            Some(&lag.to_string()),
        );
        feed(&mut a, maria_replica(rows));
    }
    let h = a.repl.lag_history("replica", "").unwrap();
    assert_eq!(h.len(), 5, "bounded by repl.history");
    assert_eq!(h.back(), Some(&Some(160.0)));
    let row = a
        .repl
        .core
        .table
        .data
        .rows
        .iter()
        .find(|r| r.key == "replica\t")
        .unwrap();
    assert!(row.cells[6].ends_with('█'), "{:?}", row.cells);
    assert_eq!(row.cells[6].chars().count(), 5);
    // NULL lag enters the history as unknown (·), not as 0.
    let mut rows = healthy_rows();
    set(&mut rows, "", "Seconds_Behind_Master", None);
    feed(&mut a, maria_replica(rows));
    assert_eq!(
        a.repl.lag_history("replica", "").unwrap().back(),
        Some(&None)
    );
    let row = a
        .repl
        .core
        .table
        .data
        .rows
        .iter()
        .find(|r| r.key == "replica\t")
        .unwrap();
    assert!(row.cells[6].ends_with('·'), "{:?}", row.cells);
}

#[test]
fn enter_opens_check_detail_and_y_copies_its_fix() {
    let mut a = app();
    let mut pri = maria_primary("");
    pri.variables.insert("sync_binlog".into(), "0".into());
    feed(&mut a, pri);
    feed(&mut a, maria_replica(healthy_rows()));
    // Select the primary row, then Enter → audit pane, Enter → detail of its worst check.
    let idx = a
        .repl
        .core
        .table
        .visible_rows()
        .position(|r| r.key.starts_with("primary"))
        .unwrap();
    for _ in 0..idx {
        press(&mut a, KeyCode::Down);
    }
    assert_eq!(a.repl.selected_server(), Some("primary"));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.repl.focus, Focus::Audit);
    let first = a.repl.selected_check().unwrap().clone();
    assert_eq!(first.id, "P2", "worst first: {first:?}");
    press(&mut a, KeyCode::Enter);
    assert!(matches!(&a.repl.pane, Some(Pane::Check(c)) if c.id == "P2"));
    let buf = render(&a, 100, 30);
    find(&buf, "why: sync_binlog=0");
    find(&buf, "sync_binlog = 1");
    find(&buf, "SET GLOBAL sync_binlog = 1;");
    // y inside the detail copies that check's fix lines.
    let fx = press(&mut a, KeyCode::Char('y'));
    let Some(Effect::Copy(text)) = fx.first() else {
        panic!("y must emit a copy effect: {fx:?}");
    };
    // grouped by language: the SQL block, then the my.cnf block under its section
    let sql = text.find("SET GLOBAL sync_binlog = 1;").expect(text);
    let cnf = text.find("# my.cnf").expect(text);
    assert!(text.starts_with("-- SQL"), "{text}");
    assert!(sql < cnf, "{text}");
    assert!(text[cnf..].contains("[mariadbd]\n# P2 "), "{text}");
    assert!(text[cnf..].contains("\nsync_binlog = 1\n"), "{text}");
    assert!(
        !text[cnf..].contains(';'),
        "no SQL in the my.cnf block: {text}"
    );
    assert!(a.flash.as_ref().unwrap().text.contains("copied"));
    // Esc closes the pane, Esc again leaves the audit pane.
    press(&mut a, KeyCode::Esc);
    assert!(a.repl.pane.is_none());
    press(&mut a, KeyCode::Esc);
    assert_eq!(a.repl.focus, Focus::Status);
    assert_eq!(a.active, ViewKind::Repl);
}

#[test]
fn y_copies_all_fixes_of_the_selected_server_and_shows_them() {
    let mut a = app();
    let mut pri = maria_primary("");
    pri.variables.insert("sync_binlog".into(), "0".into());
    pri.variables
        .insert("innodb_flush_log_at_trx_commit".into(), "2".into());
    feed(&mut a, pri);
    while a.repl.selected_server() != Some("primary") {
        press(&mut a, KeyCode::Down);
    }
    let fx = press(&mut a, KeyCode::Char('y'));
    let Some(Effect::Copy(text)) = fx.first() else {
        panic!("{fx:?}");
    };
    assert!(text.contains("sync_binlog = 1"), "{text}");
    assert!(
        text.contains("innodb_flush_log_at_trx_commit = 1"),
        "{text}"
    );
    // one SQL block, then one my.cnf block with one section header
    let cnf = text.find("# my.cnf").expect(text);
    assert!(
        text[..cnf].contains("SET GLOBAL sync_binlog = 1;"),
        "{text}"
    );
    assert!(!text[..cnf].contains("sync_binlog = 1\n"), "{text}");
    assert_eq!(text.matches("[mariadbd]").count(), 1, "{text}");
    // Shown in a pane too (terminals / tmux without OSC 52).
    let buf = render(&a, 100, 30);
    find(&buf, "fixes for primary");
    find(&buf, "innodb_flush_log_at_trx_commit = 1");
    // The pane owns the keyboard: '3' does not switch tabs; Esc closes it.
    press(&mut a, KeyCode::Char('3'));
    assert_eq!(a.active, ViewKind::Repl);
    press(&mut a, KeyCode::Esc);
    assert!(a.repl.pane.is_none());
    // A server with nothing to fix: no copy effect, a flash instead.
    let mut b = app();
    feed(&mut b, maria_primary(""));
    let fx = press(&mut b, KeyCode::Char('y'));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(b.flash.as_ref().unwrap().text.contains("nothing to fix"));
}

#[test]
fn batch_text_and_json_have_every_field() {
    let a = broken_app();
    let t = a.repl.batch_text();
    for col in [
        "verdict",
        "retrieved",
        "executed",
        "relay",
        "source",
        "uptime",
        "last_error",
    ] {
        assert!(t.contains(col), "{col}: {t}");
    }
    assert!(t.lines().nth(1).unwrap().starts_with("CRIT"), "{t}");
    let j = a.repl.batch_json();
    let r = j.iter().find(|r| r["server"] == "replica").unwrap();
    assert_eq!(r["sql_running"], "No");
    assert_eq!(r["last_sql_error"]["errno"], 1062);
    assert!(r["lag_seconds"].is_null());
}

#[test]
fn hint_line_lists_the_repl_keys() {
    let a = broken_app();
    let buf = render(&a, 160, 30);
    let hints = line(&buf, 28);
    assert!(
        hints.contains("y copy fixes") && hints.contains("a audit"),
        "{hints}"
    );
}

#[test]
fn fits_80x24() {
    let mut a = broken_app();
    press(&mut a, KeyCode::Char('a'));
    let buf = render(&a, 80, 24);
    let all: Vec<String> = (0..24).map(|y| line(&buf, y)).collect();
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", all.join("\n"));
    }
    assert!(all[2].starts_with("CRIT  replica"), "{}", all.join("\n"));
    assert!(all.iter().any(|l| l.contains("audit replica:")));
    assert!(
        all.iter().any(|l| l.contains("Enter detail")),
        "audit focus hint"
    );
}

// ---- check-detail / fixes pane: wrapping and scrolling at small sizes ----

/// A MySQL 5.7 replica with many findings (T1 unreadable table with long recovery steps,
/// FILE repositories, ...), alone in the view.
fn r57_app(w: u16, h: u16) -> App {
    let mut cfg = Config::default();
    cfg.repl
        .servers
        .push(stacktop::repl::ServerConfig::tcp("r57", "db57", 3306));
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Repl);
    a.now = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 12, 3, 4)
        .unwrap();
    feed(
        &mut a,
        mysql("mysql57-replica.txt", "r57", "db57:3306", ServerRole::Auto),
    );
    a.resize(w, h);
    a
}

fn shown(a: &App, w: u16, h: u16) -> (usize, usize, usize) {
    let buf = render(a, w, h);
    indicator(&buf).unwrap_or_else(|| panic!("no position indicator:\n{}", text(&buf)))
}

#[test]
fn fixes_pane_wraps_and_scrolls_at_80x24_and_the_table_stays() {
    let mut a = r57_app(80, 24);
    let fx = press(&mut a, KeyCode::Char('y'));
    assert!(matches!(fx.first(), Some(Effect::Copy(_))), "{fx:?}");
    assert!(matches!(a.repl.pane, Some(Pane::Fixes { .. })));
    let buf = render(&a, 80, 24);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", text(&buf));
    }
    let (first, last, total) = indicator(&buf).expect("indicator");
    let page = last - first + 1;
    assert_eq!(first, 1);
    assert!(total > page && page >= 15, "{first}-{last} of {total}");
    let (_, y) = find(&buf, &format!("lines 1-{page} of {total}"));
    assert!(
        line(&buf, y).contains("fixes for r57"),
        "in the pane's border"
    );
    assert!(!text(&buf).contains("Esc close"), "the last line is below");
    // j/k, Space/PgDn/PgUp, clamped at the top
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Down);
    assert_eq!(shown(&a, 80, 24), (3, page + 2, total));
    press(&mut a, KeyCode::Char('k'));
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Up);
    assert_eq!(shown(&a, 80, 24).0, 1);
    press(&mut a, KeyCode::Char(' '));
    assert_eq!(shown(&a, 80, 24).0, (page).min(total - page + 1));
    press(&mut a, KeyCode::PageUp);
    assert_eq!(shown(&a, 80, 24).0, 1);
    // a long recovery step wraps instead of being cut: its end shows while scrolling down
    // (past column 74 of its line: on a wrapped row)
    let tail = "mysql.innodb_table_stats DISCARD TABLESPACE;";
    let mut seen = false;
    for _ in 0..total {
        if text(&render(&a, 80, 24)).contains(tail) {
            seen = true;
            break;
        }
        press(&mut a, KeyCode::Char('j'));
    }
    assert!(seen, "{tail} never visible");
    // End, then past the end: the last page stays, with the last (wrapped) line
    press(&mut a, KeyCode::End);
    for _ in 0..10 {
        press(&mut a, KeyCode::Char('j'));
    }
    press(&mut a, KeyCode::PageDown);
    let buf = render(&a, 80, 24);
    assert_eq!(indicator(&buf), Some((total - page + 1, total, total)));
    find(&buf, "Esc close");
    press(&mut a, KeyCode::Char('k'));
    assert_eq!(shown(&a, 80, 24).0, total - page);
    press(&mut a, KeyCode::Char('g'));
    assert_eq!(shown(&a, 80, 24).0, 1);
    press(&mut a, KeyCode::Char('G'));
    press(&mut a, KeyCode::Home);
    assert_eq!(shown(&a, 80, 24).0, 1);
    // the status table and focus did not move; the pane is still open
    assert_eq!(a.repl.core.table.cursor, 0);
    assert_eq!(a.repl.focus, Focus::Status);
    assert!(a.repl.pane.is_some());
    let hints = line(&render(&a, 80, 24), 22);
    assert!(
        hints.starts_with("j down  k up  Space page  G end"),
        "{hints}"
    );
    // closed and opened again: from the top
    press(&mut a, KeyCode::Char('G'));
    press(&mut a, KeyCode::Esc);
    assert!(a.repl.pane.is_none());
    press(&mut a, KeyCode::Char('y'));
    assert_eq!(shown(&a, 80, 24).0, 1);
}

#[test]
fn check_detail_wraps_why_and_fix_lines_at_80x24() {
    let mut a = r57_app(80, 24);
    press(&mut a, KeyCode::Char('a'));
    for _ in 0..40 {
        if a.repl.selected_check().is_some_and(|c| c.id == "T1") {
            break;
        }
        press(&mut a, KeyCode::Down);
    }
    assert_eq!(a.repl.selected_check().map(|c| c.id.as_str()), Some("T1"));
    let cursor = a.repl.audit_cursor;
    press(&mut a, KeyCode::Enter);
    assert!(matches!(&a.repl.pane, Some(Pane::Check(c)) if c.id == "T1"));
    let buf = render(&a, 80, 24);
    if std::env::var_os("SHOW").is_some() {
        eprintln!("{}", text(&buf));
    }
    // the why line is wider than the pane: wrapped, the error text's end is on screen
    let (_, y) = find(
        &buf,
        "why: mysql.innodb_table_stats is listed but cannot be read",
    );
    assert!(
        line(&buf, y + 1).contains("doesn't exist"),
        "{}",
        text(&buf)
    );
    // it all fits at 80x24: no indicator, and the scroll keys change nothing
    find(&buf, "mysql_upgrade --force");
    find(&buf, "y copy these lines");
    assert_eq!(indicator(&buf), None);
    for k in [KeyCode::Char('G'), KeyCode::Char('j'), KeyCode::PageDown] {
        press(&mut a, k);
    }
    assert_eq!(text(&render(&a, 80, 24)), text(&buf));
    // j/k went to the pane, not the audit cursor
    assert_eq!(a.repl.audit_cursor, cursor);
    assert!(a.repl.pane.is_some());
}

#[test]
fn server_detail_wraps_the_error_text_at_80x24() {
    let a = broken_app();
    let buf = render(&a, 80, 24);
    // the SQL error is longer than the screen: its end is on the next rows, not cut
    let (_, y) = find(&buf, "last SQL error 1062");
    let rest: String = (y..y + 4).map(|r| line(&buf, r)).collect();
    assert!(rest.contains("end_log_pos 825"), "{}", text(&buf));
    assert!(rest.contains("HA_ERR_FOUND_DUPP_KEY"), "{}", text(&buf));
}

#[test]
fn fixes_pane_at_200x60_fits_without_an_indicator() {
    let mut a = r57_app(200, 60);
    press(&mut a, KeyCode::Char('y'));
    let buf = render(&a, 200, 60);
    find(&buf, "fixes for r57");
    find(&buf, "DISCARD TABLESPACE;");
    find(&buf, "Esc close");
    assert_eq!(indicator(&buf), None, "{}", text(&buf));
    // nothing to scroll: the keys change nothing
    press(&mut a, KeyCode::Char('G'));
    assert_eq!(text(&render(&a, 200, 60)), text(&buf));
}

/// Nothing configured, the local server found by discovery: which one stays on the tab as a
/// label (every snapshot carries it), not only in the notice that passes.
#[test]
fn discovered_local_server_is_a_lasting_label() {
    let mut a = App::new(Config::default(), Theme::builtin_default(), ViewKind::Repl);
    a.now = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 12, 3, 4)
        .unwrap();
    let label = "discovered: socket /run/mysqld/mysqld.sock";
    let local = || {
        let mut s = maria_primary("");
        s.name = "local".into();
        s.discovered = Some(label.into());
        s
    };
    a.apply(Update {
        view: ViewKind::Repl,
        payload: Payload::Notice {
            level: stacktop::wire::Level::Info,
            text: "local server via /run/mysqld/mysqld.sock (default socket)".into(),
        },
    });
    feed(&mut a, local());
    for (w, h) in [(80, 24), (200, 50)] {
        let t = text(&render(&a, w, h));
        assert!(t.contains(label), "{w}x{h}:\n{t}");
    }
    // later: more refreshes, and another message replaced the notice; the label stays
    for _ in 0..3 {
        feed(&mut a, local());
    }
    a.apply(Update {
        view: ViewKind::Repl,
        payload: Payload::Notice {
            level: stacktop::wire::Level::Info,
            text: "refresh 2s".into(),
        },
    });
    let buf = render(&a, 80, 24);
    let t = text(&buf);
    assert!(!t.contains("(default socket)"), "the notice passed:\n{t}");
    let (_, y) = find(&buf, label);
    let (_, row) = find(&buf, "local");
    assert!(y < row, "above the status table:\n{t}");
    // a configured server list: no label
    let mut b = app();
    feed(&mut b, maria_primary(""));
    assert!(!text(&render(&b, 80, 24)).contains("discovered"));
}
