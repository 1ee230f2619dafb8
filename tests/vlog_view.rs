//! The vlogdump view inside the app: TestBackend rendering (row text, slow / 5xx styles,
//! header figures, dropped / malformed counters) and key sequences (filter prompt with the
//! vlogdump syntax, pause keeps data, Enter opens the record, find, save writes a file).

#[path = "support/screen.rs"]
mod screen;

use screen::{indicator, line, render, text};

use chrono::TimeZone;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::buffer::Buffer;
use stacktop::app::App;
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::messages::{Effect, Payload, Update};
use stacktop::theme::{Role, Theme};
use stacktop::views::View;
use stacktop::vlog::builder::RequestBuilder;
use stacktop::vlog::{Handling, Request, VlogEvent};
use stacktop::wire::{Level, ViewKind};

const T0: f64 = 1_795_460_028.25; // 2026-11-23T18:53:48.250Z

fn req(i: u64, url: &str, h: Handling, status: u16, ms: f64) -> Request {
    let mut b = RequestBuilder {
        vxid: 100 + i,
        start: T0 + i as f64 * 0.01,
        handling: h,
        status: Some(status),
        total_ms: Some(ms),
        bytes: 1000 + i,
        ..Default::default()
    };
    b.ip.extend_from_slice(format!("10.0.0.{}", i % 3 + 1).as_bytes());
    b.method.extend_from_slice(b"GET");
    b.url.extend_from_slice(url.as_bytes());
    b.proto.extend_from_slice(b"HTTP/1.1");
    b.reason.extend_from_slice(if status == 503 {
        b"Service Unavailable"
    } else {
        b"OK"
    });
    if h != Handling::Hit {
        b.backend.extend_from_slice(b"origin");
        b.backend_status = Some(status);
    }
    RequestBuilder::push_header(
        &mut b.req_headers,
        format!("Host: shop{i}.example").as_bytes(),
    );
    RequestBuilder::push_header(&mut b.resp_headers, b"X-Cache: test");
    b.build()
}

/// 10 requests in one second: 7 HIT, 1 MISS slow (1500 ms), 1 PASS 503, 1 MISS.
fn traffic() -> Vec<Request> {
    let mut v: Vec<Request> = (0..7)
        .map(|i| req(i, &format!("/static/a{i}.css"), Handling::Hit, 200, 0.5))
        .collect();
    v.push(req(7, "/slow/report", Handling::Miss, 200, 1500.0));
    v.push(req(8, "/api/broken", Handling::Pass, 503, 2.0));
    v.push(req(9, "/static/new.js", Handling::Miss, 200, 3.0));
    v
}

fn app_with(mut cfg: Config) -> App {
    cfg.vlog.pane = false; // the pane repeats URLs; tests that want it press `t`
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Vlog);
    a.now = chrono::Utc
        .timestamp_opt(T0 as i64 + 1, 0)
        .unwrap()
        .with_timezone(&chrono::Local);
    a
}

fn app() -> App {
    let mut cfg = Config::default();
    cfg.vlog.slow = Dur::secs(1);
    app_with(cfg)
}

fn feed(a: &mut App, reqs: Vec<Request>) {
    a.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Vlog(VlogEvent::Requests(reqs)),
    });
}

/// The row containing `needle`, and its y.
fn row_with(buf: &Buffer, needle: &str) -> (u16, String) {
    (0..buf.area.height)
        .map(|y| (y, line(buf, y)))
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{}", text(buf)))
}

fn fg(r: Role) -> ratatui::style::Color {
    Theme::builtin_default()
        .style(r)
        .fg
        .unwrap_or(ratatui::style::Color::Reset)
}

fn press(a: &mut App, code: KeyCode) {
    a.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn chars(a: &mut App, s: &str) {
    for c in s.chars() {
        press(a, KeyCode::Char(c));
    }
}

#[test]
fn rows_carry_every_field_and_slow_and_5xx_rows_are_styled() {
    let mut a = app();
    feed(&mut a, traffic());
    let buf = render(&a, 200, 40);
    let (y, slow) = row_with(&buf, "/slow/report");
    for part in [
        "10.0.0.2", "GET", "HTTP/1.1", "MISS", "200", "OK", "1500.0", "1007", "origin",
    ] {
        assert!(slow.contains(part), "{part:?} missing in {slow:?}");
    }
    assert_eq!(buf[(30, y)].fg, fg(Role::Slow), "slow row style");
    let (y5, err) = row_with(&buf, "/api/broken");
    assert!(err.contains("PASS") && err.contains("503") && err.contains("Service Unavailable"));
    assert_eq!(buf[(30, y5)].fg, fg(Role::Crit), "5xx row style");
    let (yn, normal) = row_with(&buf, "/static/a3.css");
    assert!(normal.contains("HIT") && normal.contains("0.5"));
    assert_eq!(buf[(30, yn)].fg, fg(Role::Normal));
    // newest at the bottom, in arrival order
    assert!(y < y5 && y5 < row_with(&buf, "/static/new.js").0);
}

#[test]
fn header_shows_rate_hit_ratio_5xx_percentiles_and_status_mix() {
    let mut a = app();
    feed(&mut a, traffic());
    press(&mut a, KeyCode::Char('t'));
    let buf = render(&a, 160, 40);
    let (_, l10) = row_with(&buf, " 10s ");
    assert!(l10.contains("req/s"), "{l10}");
    // 10 requests, all in one second of a 2 s-old stream: 5.0 req/s
    assert!(l10.contains("5.0 req/s"), "{l10}");
    // lookups = 7 HIT + 2 MISS + 1 PASS: hit ratio 70 %; one 503 of 10: 10 %
    assert!(l10.contains("hit  70.0%"), "{l10}");
    assert!(l10.contains("5xx  10.0%"), "{l10}");
    assert!(l10.contains("p50 0.5") && l10.contains("p99 1"), "{l10}");
    assert!(l10.contains("(10 req)"), "{l10}");
    let (y, _) = row_with(&buf, " 10s ");
    let x = l10.find("5xx").unwrap() as u16;
    assert_eq!(buf[(x, y)].fg, fg(Role::Crit), "a 5xx rate is critical");
    let (_, l1m) = row_with(&buf, " 1m ");
    assert!(l1m.contains("hit  70.0%"), "{l1m}");
    let (_, mix) = row_with(&buf, " mix ");
    assert!(mix.contains("200×9 503×1"), "{mix}");
    assert!(
        mix.contains("dropped 0") && mix.contains("malformed 0"),
        "{mix}"
    );
    // the lower pane
    let all = text(&buf);
    assert!(
        all.contains("top URLs (count)") && all.contains("top clients"),
        "{all}"
    );
    assert!(all.contains("slowest URLs (p99 ms)") && all.contains("backends (errors)"));
    assert!(all.contains("origin 3 req, 1 5xx, 0 fetch errors"), "{all}");
    press(&mut a, KeyCode::Char('t'));
    assert!(
        !text(&render(&a, 160, 40)).contains("top clients"),
        "t hides the pane"
    );
}

#[test]
fn ring_drops_oldest_and_counters_are_visible() {
    let mut cfg = Config::default();
    cfg.vlog.ring_size = 5;
    let mut a = app_with(cfg);
    feed(&mut a, traffic());
    a.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Vlog(VlogEvent::Malformed(2)),
    });
    assert_eq!(a.vlog.ring.len(), 5);
    let buf = render(&a, 160, 40);
    let (y, mix) = row_with(&buf, " mix ");
    assert!(
        mix.contains("ring 5/5") && mix.contains("dropped 5") && mix.contains("malformed 2"),
        "{mix}"
    );
    let x = mix.find("dropped").unwrap() as u16;
    assert_eq!(buf[(x, y)].fg, fg(Role::Warn));
    let all = text(&buf);
    assert!(!all.contains("/static/a0.css") && all.contains("/static/new.js"));
    // the statistics still saw every request
    assert!(row_with(&buf, " 10s ").1.contains("(10 req)"));
}

#[test]
fn filter_prompt_takes_vlogdump_syntax_and_flashes_errors() {
    let mut a = app();
    feed(&mut a, traffic());
    press(&mut a, KeyCode::Char('/'));
    chars(&mut a, "only_status=5xx");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.vlog.filter(), "only_status=5xx");
    assert_eq!(a.vlog.shown_len(), 1);
    let buf = render(&a, 160, 40);
    assert!(text(&buf).contains("/api/broken") && !text(&buf).contains("/slow/report"));
    assert!(
        text(&buf).contains("1/10 rows"),
        "status line counts shown/total"
    );
    // a bad regex keeps the old filter and says why
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, "filter url_match=(");
    press(&mut a, KeyCode::Enter);
    let f = a.flash.clone().expect("flash");
    assert_eq!(f.level, Level::Error);
    assert!(
        f.text.contains("filter") && f.text.contains("url_match"),
        "{}",
        f.text
    );
    assert_eq!(a.vlog.shown_len(), 1);
    // several options AND together; a bare word filters the URL
    a.handle_action(stacktop::keymap::Action::OpenFilter);
    a.prompt.as_mut().unwrap().input.clear();
    chars(&mut a, "only_hits=1 url_match=!a[0-3]");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.vlog.shown_len(), 3, "a4..a6");
    press(&mut a, KeyCode::Esc); // clears the filter
    assert_eq!(a.vlog.shown_len(), 10);
    press(&mut a, KeyCode::Char('/'));
    chars(&mut a, "slow/");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.vlog.shown_len(), 1);
}

#[test]
fn pause_freezes_the_display_but_keeps_recording() {
    let mut a = app();
    feed(&mut a, traffic());
    press(&mut a, KeyCode::Char('p'));
    assert!(a.vlog.core().paused);
    feed(
        &mut a,
        vec![req(20, "/after/pause", Handling::Miss, 200, 1.0)],
    );
    assert_eq!(a.vlog.ring.len(), 11, "the ring keeps filling");
    assert_eq!(a.vlog.shown_len(), 10, "the display is frozen");
    let buf = render(&a, 160, 40);
    assert!(!text(&buf).contains("/after/pause"));
    assert!(text(&buf).contains("PAUSED"));
    press(&mut a, KeyCode::Char('p'));
    assert_eq!(a.vlog.shown_len(), 11);
    assert!(text(&render(&a, 160, 40)).contains("/after/pause"));
}

/// The request detail scrolls like every other pane (`widgets::scroll`): it stops at the last
/// full page however often ↓ is pressed, shows where it is, and `g` goes back to the top.
#[test]
fn the_request_detail_scrolls_with_the_shared_pane_scroll() {
    let mut a = app();
    a.screen = ratatui::layout::Rect::new(0, 0, 80, 12);
    feed(&mut a, traffic());
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Up);
    assert_eq!(a.vlog.selected_request().unwrap().url(), "/slow/report");
    press(&mut a, KeyCode::Enter);
    let first = render(&a, 80, 12);
    let ((from, to, total), _) = indicator(&first).expect("the detail does not fit 80x12");
    assert_eq!(from, 1, "{}", text(&first));
    assert!(to < total);
    for _ in 0..50 {
        press(&mut a, KeyCode::Char('j'));
    }
    let last = render(&a, 80, 12);
    let ((from, to, n), _) = indicator(&last).expect("indicator at the bottom");
    assert_eq!(
        (to, n),
        (total, total),
        "clamped at a full last page:\n{}",
        text(&last)
    );
    assert!(from > 1);
    assert!(text(&last).contains("timestamps"), "{}", text(&last));
    press(&mut a, KeyCode::Char('k'));
    let ((up, _, _), _) = indicator(&render(&a, 80, 12)).expect("indicator");
    assert_eq!(up, from - 1, "one key back, not fifty");
    press(&mut a, KeyCode::Char('g'));
    assert_eq!(indicator(&render(&a, 80, 12)).map(|i| i.0 .0), Some(1));
}

#[test]
fn scroll_back_enter_opens_the_record_and_find_jumps() {
    let mut a = app();
    feed(&mut a, traffic());
    press(&mut a, KeyCode::Up); // leaves follow mode on the newest row
    press(&mut a, KeyCode::Up);
    press(&mut a, KeyCode::Up);
    assert_eq!(a.vlog.selected_request().unwrap().url(), "/slow/report");
    // new rows do not move the selection
    feed(&mut a, vec![req(30, "/later", Handling::Hit, 200, 1.0)]);
    assert_eq!(a.vlog.selected_request().unwrap().url(), "/slow/report");
    press(&mut a, KeyCode::Enter);
    assert!(a.vlog.detail.is_some());
    let all = text(&render(&a, 160, 40));
    for part in [
        "request headers",
        "Host: shop7.example",
        "response headers",
        "X-Cache: test",
        "backend origin  status 200",
    ] {
        assert!(all.contains(part), "{part:?} missing in\n{all}");
    }
    press(&mut a, KeyCode::Esc);
    assert!(a.vlog.detail.is_none());
    // find: f, a regex, Enter jumps to the newest older match
    press(&mut a, KeyCode::Char('f'));
    chars(&mut a, "a[12]\\.css");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.vlog.selected_request().unwrap().url(), "/static/a2.css");
    press(&mut a, KeyCode::Char('n'));
    assert_eq!(a.vlog.selected_request().unwrap().url(), "/static/a1.css");
    press(&mut a, KeyCode::End);
    assert!(
        a.vlog.selected_request().is_none(),
        "End follows the newest again"
    );
}

/// Carries out the file writes among `effects` the way the run loop does
/// (`stacktop::tui::write_file`) and applies their outcome; returns how many there were.
fn run_writes(a: &mut App, effects: Vec<Effect>) -> usize {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut n = 0;
    for e in effects {
        if let Effect::WriteFile {
            view,
            path,
            bytes,
            what,
        } = e
        {
            n += 1;
            let u = rt.block_on(stacktop::tui::write_file(view, path, bytes, what));
            a.apply(u);
        }
    }
    n
}

fn key(a: &mut App, code: KeyCode) -> Vec<Effect> {
    a.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn w_saves_the_filtered_rows_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.vlog.save_dir = Some(dir.path().join("new").join("sub"));
    let mut a = app_with(cfg);
    feed(&mut a, traffic());
    press(&mut a, KeyCode::Char('/'));
    chars(&mut a, "handling=miss");
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('w'));
    assert!(a.vlog.editor.is_some());
    let fx = key(&mut a, KeyCode::Enter);
    // The view wrote nothing itself: it asked the run loop to.
    let f = a.flash.clone().expect("flash");
    assert!(f.text.starts_with("saving 2 rows to "), "{}", f.text);
    assert!(
        !dir.path().join("new").exists(),
        "the view touched the disk"
    );
    assert_eq!(run_writes(&mut a, fx), 1);
    let f = a.flash.clone().expect("flash");
    assert_eq!(f.level, Level::Info);
    assert!(f.text.starts_with("saved 2 rows to "), "{}", f.text);
    let path = f.text.trim_start_matches("saved 2 rows to ").to_string();
    assert!(
        path.starts_with(&dir.path().join("new/sub").display().to_string()),
        "{path}"
    );
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(saved.lines().count(), 2);
    assert!(saved.contains("/slow/report") && saved.contains("/static/new.js"));
    assert!(saved.lines().next().unwrap().contains("/slow/report"));
    // a .json name writes JSON lines
    press(&mut a, KeyCode::Char('w'));
    a.handle_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    let jp = dir.path().join("rows.json");
    chars(&mut a, &jp.display().to_string());
    let fx = key(&mut a, KeyCode::Enter);
    assert_eq!(run_writes(&mut a, fx), 1);
    let json = std::fs::read_to_string(&jp).unwrap();
    let v: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["url"], "/slow/report");
    assert_eq!(v[0]["handling"], "MISS");
    assert_eq!(
        a.flash.clone().unwrap().text,
        format!("saved 2 rows to {}", jp.display())
    );
}

#[test]
fn save_to_an_unwritable_path_flashes_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a directory").unwrap();
    let mut a = app();
    feed(&mut a, traffic());
    // `:save` with a path below a regular file: the directory cannot be created.
    let bad = file.join("rows.log");
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, &format!("save {}", bad.display()));
    let fx = key(&mut a, KeyCode::Enter);
    assert_eq!(run_writes(&mut a, fx), 1);
    let f = a.flash.clone().expect("flash");
    assert_eq!(f.level, Level::Error);
    assert!(
        f.text
            .starts_with(&format!("cannot save to {}: ", bad.display())),
        "{}",
        f.text
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
    // The view still works: the next save goes through.
    let good = dir.path().join("ok.log");
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, &format!("save {}", good.display()));
    let fx = key(&mut a, KeyCode::Enter);
    assert_eq!(run_writes(&mut a, fx), 1);
    assert_eq!(std::fs::read_to_string(&good).unwrap().lines().count(), 10);
}

/// The `-q` queries the keys ask the source for.
fn queries(fx: Vec<Effect>) -> Vec<Option<String>> {
    fx.into_iter()
        .filter_map(|e| match e {
            Effect::ToSource(ViewKind::Vlog, stacktop::messages::SourceCommand::VlogQuery(q)) => {
                Some(q)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_filter_goes_to_the_source_once_committed_and_only_with_push_down() {
    let mut cfg = Config::default();
    cfg.vlog.push_down = true;
    let mut a = app_with(cfg);
    feed(&mut a, traffic());
    let mut fx = key(&mut a, KeyCode::Char('/'));
    for c in "url=^/api".chars() {
        fx.extend(key(&mut a, KeyCode::Char(c)));
    }
    assert!(queries(fx).is_empty(), "nothing per keystroke");
    assert_eq!(a.vlog.shown_len(), 1, "the filter applies while typed");
    assert_eq!(
        queries(key(&mut a, KeyCode::Enter)),
        [Some("ReqURL ~ \"^/api\"".to_string())]
    );
    // Esc on the view clears the filter: that is a commit too (no query).
    assert_eq!(queries(key(&mut a, KeyCode::Esc)), [None]);
    assert_eq!(a.vlog.shown_len(), 10);
    // A negated regex cannot be pushed down: the query is dropped, the filter applies.
    press(&mut a, KeyCode::Char(':'));
    chars(&mut a, "filter url=!^/static");
    assert_eq!(queries(key(&mut a, KeyCode::Enter)), [None]);
    assert_eq!(a.vlog.shown_len(), 2);

    // Without push_down the source is never asked.
    let mut a = app();
    press(&mut a, KeyCode::Char('/'));
    chars(&mut a, "url=^/api");
    assert!(queries(key(&mut a, KeyCode::Enter)).is_empty());
}

/// A bad filter is refused whole (live `/` + Enter, `:filter`), the committed one stays; a
/// half-typed value is only a visible preview and reverts on a bad value.
#[test]
fn a_bad_filter_is_refused_and_the_committed_one_stays() {
    let mut a = app();
    feed(&mut a, traffic());
    press(&mut a, KeyCode::Char('/'));
    chars(&mut a, "only_status=5xx");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.vlog.shown_len(), 1);
    // Typing `only_slow=abc`: the prefix `only_slo` is a preview (URL filter), shown as such,
    // and the bad value reverts to the committed filter; Enter refuses it.
    press(&mut a, KeyCode::Char('/'));
    a.prompt.as_mut().unwrap().input.clear();
    chars(&mut a, "only_slo");
    assert!(a.vlog.is_preview());
    assert!(text(&render(&a, 160, 40)).contains("preview: only_slo"));
    chars(&mut a, "w=abc");
    assert!(
        !a.vlog.is_preview(),
        "a bad value shows the committed filter"
    );
    assert!(text(&render(&a, 200, 40)).contains("not applied: bad value for only_slow"));
    assert_eq!(a.vlog.shown_len(), 1);
    press(&mut a, KeyCode::Enter);
    let f = a.flash.clone().expect("flash");
    assert!(
        f.level == Level::Error && f.text.contains("refused") && f.text.contains("only_slow"),
        "{}",
        f.text
    );
    assert_eq!(a.vlog.filter(), "only_status=5xx");
    assert_eq!(a.vlog.committed_filter(), "only_status=5xx");
    assert_eq!(a.vlog.shown_len(), 1);
    // `:filter` with a regex that does not compile, an out-of-range status, an empty regex.
    for bad in [
        "url_match=(",
        "only_status=6xx",
        "only_status=700",
        "url_match=",
    ] {
        a.run_command(&format!("filter {bad}"));
        let f = a.flash.clone().expect("flash");
        assert_eq!(f.level, Level::Error, "{bad}");
        assert!(f.text.contains("refused"), "{bad}: {}", f.text);
        assert_eq!(a.vlog.filter(), "only_status=5xx", "{bad}");
        assert_eq!(a.vlog.shown_len(), 1, "{bad}");
    }
    // A good one replaces it.
    a.run_command("filter only_status=2xx");
    assert_eq!(a.vlog.committed_filter(), "only_status=2xx");
}
