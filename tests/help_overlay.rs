//! The `?` help, generated from the keymap, the `:` command table and each view's filter
//! syntax: complete, as wide as the screen allows (up to 100 columns), scrolling to its last
//! line at every size; and modal keys (the kill confirmation) that come from the keymap.

#[path = "support/screen.rs"]
mod screen;

use screen::{line, render, text};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::keymap::{Action, Modal, Scope};
use stacktop::messages::{Effect, Payload, SourceCommand, Update};
use stacktop::screen::help;
use stacktop::theme::Theme;
use stacktop::widgets::commands::COMMANDS;
use stacktop::wire::ViewKind;

const SIZES: [(u16, u16); 3] = [(80, 24), (100, 30), (200, 50)];

fn app(view: ViewKind, w: u16, h: u16) -> App {
    let mut a = App::new(Config::default(), Theme::builtin_default(), view);
    a.resize(w, h);
    a
}

fn key(a: &mut App, code: KeyCode) -> Vec<Effect> {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    a.handle_key(KeyEvent::new(code, mods))
}

/// The rows inside the help box, as text (the box's borders stripped).
fn help_rows(buf: &Buffer) -> Vec<String> {
    let h = buf.area.height;
    // the box spans the body: row 1 (its top border) to row h-3 (its bottom border)
    (2..h.saturating_sub(3))
        .map(|y| {
            let l = line(buf, y);
            l.trim_end().trim_start_matches(' ').to_string()
        })
        .collect()
}

/// Every row of the help, read page by page from the top with PgDn, as the user would.
fn read_all(a: &mut App, w: u16, h: u16) -> String {
    key(a, KeyCode::Char('?'));
    key(a, KeyCode::Home);
    let mut all = Vec::new();
    let mut last = String::new();
    for _ in 0..200 {
        let screen = text(&render(a, w, h));
        if screen == last {
            break;
        }
        all.extend(help_rows(&render(a, w, h)));
        last = screen;
        key(a, KeyCode::PageDown);
    }
    all.join("\n")
}

#[test]
fn the_last_line_is_reachable_and_whole_after_end_at_every_size() {
    for view in ViewKind::ALL {
        for (w, h) in SIZES {
            let mut a = app(view, w, h);
            key(&mut a, KeyCode::Char('?'));
            key(&mut a, KeyCode::End);
            let buf = render(&a, w, h);
            let screen = text(&buf);
            // the help's last entry: its own close keys, on the row above the bottom border
            let bottom = h - 3;
            let (bx, bw) = (w.saturating_sub(w.min(100)) / 2, w.min(100));
            let border = line(&buf, bottom);
            assert_eq!(
                border.chars().nth(bx as usize),
                Some('└'),
                "{view:?} {w}x{h}: bottom border at row {bottom}:\n{screen}"
            );
            assert_eq!(
                border.chars().nth((bx + bw - 1) as usize),
                Some('┘'),
                "{view:?} {w}x{h}: the box is min(width, 100) wide:\n{screen}"
            );
            let last = line(&buf, bottom - 1);
            assert!(
                last.contains("Esc ?") && last.contains("close the help"),
                "{view:?} {w}x{h}: last entry not shown whole above the border:\n{screen}"
            );
            // and it is the last: End does not go further, Down neither
            key(&mut a, KeyCode::Down);
            assert_eq!(text(&render(&a, w, h)), screen, "{view:?} {w}x{h}");
        }
    }
}

#[test]
fn the_help_scrolls_with_j_k_pages_and_ends_even_where_k_terminates() {
    let mut a = app(ViewKind::Pgtop, 80, 24);
    key(&mut a, KeyCode::Char('?'));
    let top = text(&render(&a, 80, 24));
    assert!(top.contains("pgtop keys"), "{top}");
    assert!(
        !top.contains("close the help"),
        "80x24 needs scrolling:\n{top}"
    );
    key(&mut a, KeyCode::Char('j'));
    assert_eq!(a.help_scroll, 1);
    key(&mut a, KeyCode::Char('k'));
    assert_eq!(
        a.help_scroll, 0,
        "k scrolls up in the help (it terminates in pgtop)"
    );
    assert!(a.help && a.pgtop.dialog.is_none());
    key(&mut a, KeyCode::PageDown);
    // the body is 24 - 3 rows (tabs, hints, status); the box's borders take 2 of them
    assert_eq!(
        a.help_scroll,
        24 - 3 - 2,
        "a page is the box's inner height"
    );
    key(&mut a, KeyCode::Char('G'));
    let end = a.help_scroll;
    assert!(text(&render(&a, 80, 24)).contains("close the help"));
    key(&mut a, KeyCode::PageUp);
    assert_eq!(a.help_scroll, end - 19);
    key(&mut a, KeyCode::Char('g'));
    assert_eq!(a.help_scroll, 0);
    key(&mut a, KeyCode::Esc);
    assert!(!a.help);
}

#[test]
fn every_command_of_the_view_and_its_filter_syntax_are_in_the_help() {
    for view in ViewKind::ALL {
        let mut a = app(view, 80, 24);
        let all = read_all(&mut a, 80, 24);
        for c in COMMANDS.iter().filter(|c| c.in_view(view)) {
            assert!(
                all.contains(&c.usage()),
                "{view:?}: {} missing:\n{all}",
                c.usage()
            );
        }
        for c in COMMANDS.iter().filter(|c| !c.in_view(view)) {
            assert!(
                !all.contains(&format!("{} ", c.usage())) || c.usage() == ":slow DUR",
                "{view:?}: {} is not a command here:\n{all}",
                c.usage()
            );
        }
        for (k, _) in help::filter_syntax(view) {
            assert!(
                all.contains(&format!("/{k}")),
                "{view:?}: /{k} missing:\n{all}"
            );
        }
    }
    let mut a = app(ViewKind::Pgtop, 80, 24);
    let all = read_all(&mut a, 80, 24);
    for want in [
        ":slow DUR",
        ":critical DUR",
        ":idle DUR",
        ":min DUR|off",
        "/db:NAME",
        "/state:S",
        "yes: send the signal",
        "kill confirmation",
    ] {
        assert!(all.contains(want), "{want} missing:\n{all}");
    }
}

#[test]
fn an_unknown_command_names_the_views_that_have_it_and_lists_these() {
    let mut a = app(ViewKind::Pgtop, 80, 24);
    a.run_command("import charts.csv");
    let f = a.flash.clone().expect("flash").text;
    assert!(
        f.contains("unknown command ':import' (a spotify command)"),
        "{f}"
    );
    assert!(f.contains(":critical DUR") && !f.contains(":limit"), "{f}");
    // aliases run the declared command
    a.run_command("crit 2m");
    assert_eq!(
        a.pgtop.thresholds.critical,
        std::time::Duration::from_secs(120)
    );
    a.run_command("slow nonsense");
    let f = a.flash.clone().expect("flash").text;
    assert!(f.starts_with(":slow: expected a duration"), "{f}");
}

fn pgtop_with_a_session() -> App {
    use stacktop::pg::activity::{Header, PgSnapshot, Session, SessionState};
    use stacktop::pg::collector::ConnState;
    let now = chrono::Utc::now();
    let mut s = Session::for_test(101, SessionState::Active, "select pg_sleep(60)");
    s.backend_start = Some(now - chrono::Duration::hours(1));
    s.query_start = Some(now - chrono::Duration::seconds(10));
    let mut snap = PgSnapshot::status_only(
        1,
        ConnState::Connected { since: now },
        std::time::Duration::from_secs(1),
    );
    snap.server_now = now;
    snap.header = Some(Header {
        server_version: "15.6".into(),
        server_version_num: 150006,
        postmaster_start: now - chrono::Duration::hours(1),
        uptime: std::time::Duration::from_secs(3600),
        in_recovery: false,
        max_connections: 100,
        counts: Default::default(),
        tps: None,
        cache_hit_ratio: None,
        longest_query: None,
        longest_transaction: None,
        waiting: 0,
        columns: Default::default(),
    });
    snap.sessions = vec![s];
    let mut a = app(ViewKind::Pgtop, 160, 30);
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(snap.into()),
    });
    a
}

fn signalled(e: &[Effect]) -> bool {
    e.iter().any(|e| {
        matches!(
            e,
            Effect::ToSource(
                ViewKind::Pgtop,
                SourceCommand::Pg(stacktop::pg::msg::PgRequest::Signal { .. })
            )
        )
    })
}

#[test]
fn the_kill_confirmation_takes_its_keys_from_the_keymap() {
    // built in: y confirms
    let mut a = pgtop_with_a_session();
    key(&mut a, KeyCode::Char('c'));
    assert!(a.pgtop.dialog.is_some());
    assert!(signalled(&key(&mut a, KeyCode::Char('y'))));
    // rebound: `o` confirms, `y` no longer does (swallowed like any other key)
    let mut a = pgtop_with_a_session();
    for bd in a.keymap.bindings.iter_mut() {
        if bd.scope == Scope::Modal(Modal::KillConfirm) && bd.action == Action::Yes {
            bd.code = KeyCode::Char('o');
            bd.mods = KeyModifiers::NONE;
        }
    }
    key(&mut a, KeyCode::Char('c'));
    assert!(!signalled(&key(&mut a, KeyCode::Char('y'))));
    assert!(
        a.pgtop.dialog.is_some(),
        "y is not bound any more: swallowed"
    );
    assert!(signalled(&key(&mut a, KeyCode::Char('o'))));
    // and the help lists what is bound
    key(&mut a, KeyCode::Esc);
    let all = read_all(&mut a, 160, 30);
    let row = all
        .lines()
        .find(|l| l.contains("yes: send the signal"))
        .unwrap_or_default();
    // (both y and Y were rebound to o)
    assert!(
        row.trim_start_matches('│')
            .trim_start()
            .starts_with("o  yes"),
        "{row}\n{all}"
    );
}
