//! Views rendered into a ratatui TestBackend: text and the styles that carry meaning.

#[path = "support/screen.rs"]
mod screen;

use screen::{line, render, text};

use chrono::TimeZone;
use ratatui::style::{Color, Modifier};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::theme::{Role, Theme};
use stacktop::widgets::table::{Column, TableData, TableRow};
use stacktop::wire::{SourceHealth, ViewKind};

fn app() -> App {
    let mut a = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    a.now = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 12, 3, 4)
        .unwrap();
    a
}

fn sessions() -> TableData {
    TableData {
        columns: vec![
            Column::numeric("pid", 6),
            Column::new("state", 8),
            Column::new("query", 0),
        ],
        rows: vec![
            TableRow::new(
                "101",
                vec!["101".into(), "active".into(), "select pg_sleep(60)".into()],
                Role::Slow,
            ),
            TableRow::new(
                "102",
                vec!["102".into(), "active".into(), "select 1".into()],
                Role::Normal,
            ),
        ],
    }
}

#[test]
fn tabs_hints_and_status_at_80x24() {
    let a = app();
    let buf = render(&a, 80, 24);
    let top = line(&buf, 0);
    assert!(
        top.contains("1 pgtop") && top.contains("2 replication") && top.contains("4 spotify"),
        "{top}"
    );
    assert!(
        top.contains("12:03:04"),
        "clock from the app, not the system: {top}"
    );
    // The active tab carries the tab_active role.
    let x = top.find("1 pgtop").unwrap() as u16;
    assert_eq!(buf[(x, 0)].bg, Color::Cyan);
    let hints = line(&buf, 22);
    for k in ["q quit", "? help", "/ filter", "c cancel", "K kill slow"] {
        assert!(hints.contains(k), "hint line lacks {k:?}: {hints}");
    }
}

/// The shared table component, rendered on its own (every view's lists use it).
fn table_buffer(theme: &Theme, select_second: bool) -> ratatui::buffer::Buffer {
    let mut t = stacktop::widgets::table::TableState::default();
    t.set_data(sessions());
    if select_second {
        t.move_by(1);
    }
    let area = ratatui::layout::Rect::new(0, 0, 80, 10);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    t.render(area, &mut buf, theme, true);
    buf
}

#[test]
fn slow_rows_are_bold_yellow() {
    let buf = table_buffer(&Theme::builtin_default(), true);
    let y = (0..10)
        .find(|&y| line(&buf, y).contains("pg_sleep"))
        .unwrap();
    let x = line(&buf, y).find("select").unwrap() as u16;
    let cell = &buf[(x, y)];
    assert_eq!(cell.fg, Color::Yellow);
    assert!(cell.modifier.contains(Modifier::BOLD));
    // The second row is selected (reversed), not slow.
    let y2 = (0..10)
        .find(|&y| line(&buf, y).contains("select 1"))
        .unwrap();
    assert!(buf[(x, y2)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(x, y2)].modifier.contains(Modifier::BOLD));
}

#[test]
fn failed_source_shows_reconnecting_since() {
    let mut a = app();
    let since = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 12, 3, 4)
        .unwrap();
    let h = SourceHealth::Reconnecting {
        since,
        error: "connection refused".into(),
        next_try: None,
    };
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Health(h),
    });
    let buf = render(&a, 80, 24);
    let status = line(&buf, 23);
    // the state, since when, why, and how old the data is (none arrived here)
    assert!(
        status.contains("DISCONNECTED since 12:03:04: connection refused · no data yet"),
        "{status}"
    );
    let x = status.find("DISCONNECTED").unwrap() as u16;
    assert_eq!(buf[(x, 23)].fg, Color::Red);
    assert!(
        line(&buf, 0).contains("1 pgtop!"),
        "the tab marks a failed source"
    );
}

#[test]
fn help_overlay_lists_every_binding_with_its_description() {
    let mut a = app();
    a.handle_key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char('?'),
    ));
    let buf = render(&a, 100, 50);
    let all = text(&buf);
    for want in [
        "terminate the selected (or tagged) backends",
        "kill every query over the slow threshold",
        "Ctrl-C",
        "quit",
        "Shift-Tab",
    ] {
        assert!(all.contains(want), "help lacks {want:?}\n{all}");
    }
}

#[test]
fn no_color_keeps_meaning_in_modifiers() {
    let buf = table_buffer(&Theme::builtin_default().without_colors(), false);
    let y = (0..10)
        .find(|&y| line(&buf, y).contains("pg_sleep"))
        .unwrap();
    let x = line(&buf, y).find("select").unwrap() as u16;
    assert_eq!(buf[(x, y)].fg, Color::Reset);
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
}

#[test]
fn renders_at_tiny_sizes_without_panicking() {
    for view in ViewKind::ALL {
        let mut a = app();
        a.active = view;
        a.view_mut(view).core_mut().set_table(sessions());
        for help in [false, true] {
            a.help = help;
            for (w, h) in [(1, 1), (10, 3), (20, 5), (80, 24), (200, 60)] {
                let _ = render(&a, w, h);
            }
        }
    }
}

#[test]
fn help_scrolls_at_80x24_until_the_last_binding_shows() {
    use crossterm::event::{KeyCode, KeyEvent};
    let mut a = app();
    a.handle_key(KeyEvent::from(KeyCode::Char('?')));
    let first = text(&render(&a, 80, 24));
    assert!(first.contains("↑↓ scroll"), "{first}");
    assert!(
        !first.contains("refresh less often"),
        "the list is taller than the screen"
    );
    for _ in 0..40 {
        a.handle_key(KeyEvent::from(KeyCode::Down));
    }
    let last = text(&render(&a, 80, 24));
    assert!(last.contains("refresh less often"), "{last}");
    assert_eq!(
        a.active,
        ViewKind::Pgtop,
        "scrolling did not move anything else"
    );
}

#[test]
fn hint_line_shows_whole_hints_only_and_the_filter_first() {
    let mut a = app();
    stacktop::views::View::set_filter(&mut a.pgtop, "orders", &mut stacktop::views::Ctx::default());
    let buf = render(&a, 80, 24);
    let hints = line(&buf, 22);
    assert!(hints.starts_with("[filter: orders]"), "{hints}");
    let words: Vec<&str> = hints.split_whitespace().collect();
    let last = words.last().unwrap();
    let descs = [
        "idle",
        "cancel",
        "terminate",
        "slow",
        "quit",
        "help",
        "filter",
        "pause",
        "details",
    ];
    assert!(
        descs.contains(last),
        "the line ends with a whole hint, not {last:?}: {hints}"
    );
}

#[test]
fn an_unconfigured_vlog_tab_says_how_to_start_it() {
    let mut a = app();
    a.active = ViewKind::Vlog;
    let all = text(&render(&a, 100, 24));
    assert!(
        all.contains("no varnishlog source: start `stacktop vlog -n NAME`"),
        "{all}"
    );
    // The collector's first-run hint (does varnishd run here) replaces it.
    a.apply(stacktop::messages::Update {
        view: ViewKind::Vlog,
        payload: stacktop::messages::Payload::Vlog(stacktop::vlog::VlogEvent::Hint(
            "varnishd is not running (no varnishd instance at /x)".into(),
        )),
    });
    let all = text(&render(&a, 120, 24));
    assert!(all.contains("varnishd is not running"), "{all}");
}

fn many_rows(n: usize) -> TableData {
    TableData {
        columns: vec![Column::numeric("pid", 6), Column::new("query", 0)],
        rows: (0..n)
            .map(|i| {
                TableRow::new(
                    format!("{i}"),
                    vec![format!("{i}"), format!("zrow{i:03}")],
                    Role::Normal,
                )
                .with_sort_keys(vec![i as f64, 0.0])
            })
            .collect(),
    }
}

/// PageDown / PageUp move the cursor by the page the table was drawn with (less one row of
/// context): through the real App (pgtop) and through the shared `ViewCore` every table view
/// delegates to (repl, spotify results); a smaller screen pages by less.
#[test]
fn page_keys_move_by_the_drawn_page() {
    use crossterm::event::{KeyCode, KeyEvent};
    use stacktop::keymap::Action;
    for h in [10u16, 6] {
        let mut core = stacktop::views::ViewCore::default();
        core.table.set_data(many_rows(50));
        let area = ratatui::layout::Rect::new(0, 0, 40, h);
        let mut buf = ratatui::buffer::Buffer::empty(area);
        core.render(area, &mut buf, &Theme::builtin_default(), "");
        let mut ctx = stacktop::views::Ctx::default();
        assert!(core.handle_common(Action::PageDown, &mut ctx));
        // h rows: a header and h - 1 body rows; a page keeps one of them.
        assert_eq!(core.table.cursor, usize::from(h) - 2, "height {h}");
        core.handle_common(Action::PageUp, &mut ctx);
        assert_eq!(core.table.cursor, 0);
    }
    for view in [ViewKind::Pgtop] {
        let mut steps = Vec::new();
        for h in [24, 16] {
            let mut a = app();
            a.active = view;
            a.view_mut(view).core_mut().set_table(many_rows(200));
            let shown = text(&render(&a, 80, h)).matches("zrow").count();
            assert!(shown > 3, "{view:?} at height {h} shows {shown} rows");
            a.handle_key(KeyEvent::from(KeyCode::PageDown));
            let t = match view {
                ViewKind::Pgtop => &a.pgtop.core.table,
                _ => &a.repl.core.table,
            };
            assert_eq!(t.cursor, shown - 1, "{view:?} at height {h}");
            let after = text(&render(&a, 80, h));
            assert!(after.contains(&format!("zrow{:03}", shown - 1)), "{after}");
            a.handle_key(KeyEvent::from(KeyCode::PageDown));
            a.handle_key(KeyEvent::from(KeyCode::PageUp));
            let t = match view {
                ViewKind::Pgtop => &a.pgtop.core.table,
                _ => &a.repl.core.table,
            };
            assert_eq!(t.cursor, shown - 1, "{view:?}: PageUp undoes PageDown");
            steps.push(shown);
        }
        assert!(steps[0] > steps[1], "{view:?}: the page follows the screen");
    }
}

/// Read-only (`ui.read_only` / `--read-only`, or `pgtop.read_only`) leaves the kill keys off
/// the pgtop hint line, and `k` (terminate there) does not turn into "up".
#[test]
fn read_only_hides_the_kill_keys_from_the_hint_line() {
    let hints = |cfg: Config| {
        let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);
        a.view_mut(ViewKind::Pgtop).core_mut().set_table(sessions());
        line(&render(&a, 200, 24), 22)
    };
    let kill = ["c cancel", "k terminate", "K kill slow"];
    let normal = hints(Config::default());
    for k in kill {
        assert!(normal.contains(k), "{k:?} offered normally: {normal}");
    }
    let mut global = Config::default();
    global.ui.read_only = true;
    let mut pg_only = Config::default();
    pg_only.pgtop.read_only = true;
    for cfg in [global, pg_only] {
        let ro = hints(cfg);
        assert!(ro.contains("q quit") && ro.contains("/ filter"), "{ro}");
        for k in kill.into_iter().chain(["k up"]) {
            assert!(!ro.contains(k), "{k:?} offered read-only: {ro}");
        }
    }
}
