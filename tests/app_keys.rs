//! The app driven by key sequences, without a terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::{App, PromptKind};
use stacktop::config::Config;
use stacktop::messages::{Effect, Payload, Update};
use stacktop::theme::{Role, Theme};
use stacktop::views::View;
use stacktop::widgets::table::{Column, TableData, TableRow};
use stacktop::wire::ViewKind;

fn app() -> App {
    App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop)
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn chars(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn rows(names: &[&str]) -> TableData {
    TableData {
        columns: vec![Column::new("name", 20)],
        rows: names
            .iter()
            .map(|n| TableRow::new(*n, vec![n.to_string()], Role::Normal))
            .collect(),
    }
}

#[test]
fn number_keys_and_tab_switch_views() {
    let mut a = app();
    press(&mut a, KeyCode::Char('3'));
    assert_eq!(a.active, ViewKind::Vlog);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.active, ViewKind::Spotify);
    press(&mut a, KeyCode::Tab);
    assert_eq!(a.active, ViewKind::Pgtop, "Tab wraps around");
    a.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(a.active, ViewKind::Spotify);
    press(&mut a, KeyCode::Char('2'));
    assert_eq!(a.active, ViewKind::Repl);
}

#[test]
fn help_overlay_opens_swallows_keys_and_closes() {
    let mut a = app();
    press(&mut a, KeyCode::Char('?'));
    assert!(a.help);
    press(&mut a, KeyCode::Char('3'));
    assert_eq!(
        a.active,
        ViewKind::Pgtop,
        "keys do not leak through the overlay"
    );
    press(&mut a, KeyCode::Esc);
    assert!(!a.help);
    press(&mut a, KeyCode::Char('?'));
    press(&mut a, KeyCode::Char('?'));
    assert!(!a.help);
}

#[test]
fn filter_prompt_filters_live_and_esc_restores() {
    let mut a = app();
    // a plain table view (pgtop has its own list and filter language: tests/pgtop_view.rs)
    a.active = ViewKind::Repl;
    a.view_mut(ViewKind::Repl)
        .core_mut()
        .set_table(rows(&["orders", "billing", "ordersync"]));
    press(&mut a, KeyCode::Char('/'));
    assert_eq!(
        a.prompt.as_ref().map(|p| p.kind.clone()),
        Some(PromptKind::Filter)
    );
    chars(&mut a, "order");
    assert_eq!(
        a.repl.core().table.visible_len(),
        2,
        "filter applies while typing"
    );
    press(&mut a, KeyCode::Char('q'));
    assert!(!a.should_quit, "q is text inside the prompt");
    press(&mut a, KeyCode::Esc);
    assert!(a.prompt.is_none());
    assert_eq!(
        a.repl.core().table.visible_len(),
        3,
        "Esc restores the previous filter"
    );
    press(&mut a, KeyCode::Char('/'));
    chars(&mut a, "bill");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.repl.core().table.filter, "bill");
    assert_eq!(a.repl.core().table.visible_len(), 1);
    press(&mut a, KeyCode::Esc);
    assert_eq!(
        a.repl.core().table.filter,
        "",
        "Esc with nothing open clears the filter"
    );
}

#[test]
fn command_line_switches_views_and_reports_errors() {
    let mut a = app();
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, "vlog");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.active, ViewKind::Vlog);
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, "bogus");
    press(&mut a, KeyCode::Enter);
    let flash = a.flash.as_ref().expect("an error flash");
    assert!(
        flash.text.contains("unknown command ':bogus'"),
        "{}",
        flash.text
    );
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, "refresh 2s");
    let effects = press(&mut a, KeyCode::Enter);
    assert_eq!(a.refresh, std::time::Duration::from_secs(2));
    assert!(!effects.is_empty(), "collectors are told the new interval");
}

#[test]
fn pause_keeps_updates_and_applies_them_on_resume() {
    let mut a = app();
    // a plain table view (pgtop has its own list and filter language: tests/pgtop_view.rs)
    a.active = ViewKind::Repl;
    a.view_mut(ViewKind::Repl)
        .core_mut()
        .set_table(rows(&["a"]));
    press(&mut a, KeyCode::Char('p'));
    assert!(a.repl.core().paused);
    a.view_mut(ViewKind::Repl)
        .core_mut()
        .set_table(rows(&["a", "b"]));
    assert_eq!(a.repl.core().table.visible_len(), 1, "frozen while paused");
    press(&mut a, KeyCode::Char('p'));
    assert_eq!(
        a.repl.core().table.visible_len(),
        2,
        "nothing lost on resume"
    );
}

#[test]
fn quit_with_q_and_ctrl_c() {
    let mut a = app();
    assert_eq!(press(&mut a, KeyCode::Char('q')), vec![Effect::Quit]);
    assert!(a.should_quit);
    let mut b = app();
    let e = b.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert_eq!(e, vec![Effect::Quit]);
}

#[test]
fn read_only_refuses_kill_keys_visibly() {
    let mut cfg = Config::default();
    cfg.ui.read_only = true;
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);
    a.handle_key(KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT));
    let flash = a.flash.as_ref().expect("a flash explains the refusal");
    assert!(flash.text.contains("read-only"), "{}", flash.text);
}

#[test]
fn s_prefills_the_refresh_command() {
    let mut a = app();
    press(&mut a, KeyCode::Char('s'));
    assert_eq!(
        a.prompt.as_ref().map(|p| p.input.as_str()),
        Some("refresh ")
    );
    chars(&mut a, "3s");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.refresh, std::time::Duration::from_secs(3));
}

/// Monkey find: `:refresh 18446744073709551615s` was accepted, then `-` doubled its
/// milliseconds (truncated to u64) and overflowed. Durations past one year are refused.
#[test]
fn an_absurd_refresh_is_refused_and_minus_still_works() {
    let mut a = app();
    let before = a.refresh;
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, "refresh 18446744073709551615s");
    let effects = press(&mut a, KeyCode::Enter);
    assert!(effects.is_empty(), "nothing reaches the collectors");
    assert_eq!(a.refresh, before);
    let flash = a.flash.as_ref().expect("an error flash");
    assert!(
        flash.text.contains("refresh: expected a duration"),
        "{}",
        flash.text
    );
    press(&mut a, KeyCode::Char('-'));
    assert_eq!(
        a.refresh,
        (before * 2).min(std::time::Duration::from_secs(60))
    );
}

#[test]
fn a_tab_without_a_source_says_how_to_get_one_and_enter_or_connect_starts_it() {
    let mut a = app();
    let area = ratatui::layout::Rect::new(0, 0, 200, 24);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    stacktop::screen::render(&a, area, &mut buf);
    let text: String = (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .map(|p| buf[p].symbol().to_string())
        .collect();
    assert!(
        text.contains("no PostgreSQL source") && text.contains("Enter or :connect"),
        "{text}"
    );
    // the run loop starts the source; the view does no I/O
    assert_eq!(
        press(&mut a, KeyCode::Enter),
        vec![Effect::StartSource(ViewKind::Pgtop)]
    );
    press(&mut a, KeyCode::Char('3'));
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, "connect");
    assert_eq!(
        press(&mut a, KeyCode::Enter),
        vec![Effect::StartSource(ViewKind::Vlog)]
    );
    // once the source answers, Enter is the view's own key again
    press(&mut a, KeyCode::Char('1'));
    a.apply(Update {
        view: ViewKind::Pgtop,
        payload: Payload::Health(stacktop::wire::SourceHealth::Connecting {
            since: chrono::Local::now(),
        }),
    });
    assert!(!press(&mut a, KeyCode::Enter).contains(&Effect::StartSource(ViewKind::Pgtop)));
}
