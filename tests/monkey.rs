//! "The UI never panics": a deterministic pseudo-random key test. Each view is loaded with
//! realistic state (recorded fixtures, awkward text, NULL fields, errors, running jobs), then
//! keys are sent through the real `App` — every keymap binding, navigation and Ctrl keys,
//! printable and non-ASCII characters, `:` / `/` prompts with edge-value arguments — interleaved
//! with new collector data, resizes between 1x1 and 300x100 and clock steps. After every step
//! the whole screen is rendered into a TestBackend. Effects are never executed.
//!
//! A failure names the view, the seed, the step and the screen size, and lists the steps
//! before it; the run is deterministic, so `cargo test --test monkey` reproduces it (only the
//! wall-clock parts of the app — flash expiry, pgtop's 3 s frozen order — can differ). A longer
//! soak than CI's: `STACKTOP_MONKEY_SEEDS=30 STACKTOP_MONKEY_STEPS=5000 cargo test --test monkey`.

#[path = "repl_common/mod.rs"]
mod repl_common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stacktop::app::{App, Prompt, PromptKind};
use stacktop::base::Dur;
use stacktop::config::Config;
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{
    ActivityColumns, ConnState, Header, PgSnapshot, Session, SessionCounts, SessionState,
};
use stacktop::pg::kill::{SignalKind, SignalOutcome, SignalResult, SignalTarget};
use stacktop::pg::msg::PgReply;
use stacktop::repl::{ServerRole, ServerSnapshot};
use stacktop::spotify::import::{Progress, Summary};
use stacktop::spotify::msg::{SavedQuery, SpotifyEvent, StoreInfo};
use stacktop::spotify::results::{Cell, ResultSet};
use stacktop::spotify::runner::Event;
use stacktop::spotify::ImportEvent;
use stacktop::theme::Theme;
use stacktop::vlog::builder::RequestBuilder;
use stacktop::vlog::InputStatus;
use stacktop::vlog::{parse_all, Format, Handling, Request, VlogEvent};
use stacktop::wire::{Level, SourceHealth, ViewKind};

/// Steps per seed and seeds per view: the four views together take ~4 s in a debug build on
/// two cores (`STACKTOP_MONKEY_STEPS` / `STACKTOP_MONKEY_SEEDS` run longer).
const STEPS: usize = 800;
const SEEDS: [u64; 3] = [0x5eed_0001, 0xdead_beef_cafe, 42];

#[rustfmt::skip]
const SIZES: [(u16, u16); 17] = [
    (1, 1), (2, 2), (10, 3), (20, 5), (40, 10), (80, 24), (200, 60), (300, 100),
    (0, 0), (1, 60), (300, 1), (3, 4), (5, 2), (7, 7), (13, 6), (0, 10), (10, 0),
];

/// xorshift64*: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

// ---------------------------------------------------------------- keys

#[rustfmt::skip]
const NON_ASCII: [char; 12] = [
    'é', 'ü', 'ß', '日', '本', '語', '😀', '🎉', '👍', '\u{301}', '\u{200d}', 'ﾃ',
];
/// Pieces of random prompt text: SQL, filter syntax, quotes, regex metacharacters, non-ASCII.
#[rustfmt::skip]
const WORDS: [&str; 30] = [
    "select", "from", "where", "1", "-1", "1s", "x", "日本", "😀", "é", "\"", "'", "\\", "(",
    ")", "*", "?", "[", "]", "%", "status:5", "url~^/api", "a:b", "=", "!", "..", "1-10",
    "DROP TABLE t", "\u{301}", "",
];
/// Arguments for `:` commands: edge values of durations, numbers, dates, ranges, codes.
#[rustfmt::skip]
const ARGS: [&str; 34] = [
    "18446744073709551615s", "500000000000y", "0s", "1ms", "99ms", "100ms", "1s", "2s", "1e9",
    "-1s", "0", "-1", "1", "99999999999999999999", "2018", "9999", "-2147483648", "2147483647",
    "262143", "1-200", "200-1", "0-0", "5-", "us", "global", "zz", "2018-01-01", "2018-02-30",
    "日本", "😀", "all", "-", "x(", "/tmp/monkey.csv",
];
/// `:` commands of the shell and of every view (random arguments follow them).
#[rustfmt::skip]
const COMMANDS: [&str; 28] = [
    "refresh", "s", "interval", "filter", "f", "pause", "resume", "help", "pgtop", "repl",
    "vlog", "spotify", "slow", "critical", "idle", "min", "search", "country", "year", "from",
    "to", "positions", "limit", "track", "sql", "export", "import", "nonsense",
];

fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

fn random_char(r: &mut Rng) -> char {
    if r.chance(80) {
        (b' ' + r.below(95) as u8) as char
    } else {
        r.pick(&NON_ASCII)
    }
}

fn random_text(r: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..1 + r.below(3) {
        if r.chance(50) {
            s.push_str(r.pick(&WORDS));
        } else {
            for _ in 0..r.below(6) + 1 {
                s.push(random_char(r));
            }
        }
        s.push(' ');
    }
    s
}

/// One key: a keymap binding (of any view or pane, quit included), navigation and editing
/// keys with or without modifiers, a Ctrl combination, a printable or non-ASCII character, or
/// a key that opens a prompt (the run loop then types into it).
fn random_key(r: &mut Rng, bindings: &[(KeyCode, KeyModifiers)]) -> KeyEvent {
    let none = KeyModifiers::NONE;
    match r.below(100) {
        0..=39 => {
            let (code, mods) = r.pick(bindings);
            key(code, mods)
        }
        40..=59 => {
            let codes = [
                KeyCode::Up,
                KeyCode::Down,
                KeyCode::Left,
                KeyCode::Right,
                KeyCode::PageUp,
                KeyCode::PageDown,
                KeyCode::Home,
                KeyCode::End,
                KeyCode::Tab,
                KeyCode::BackTab,
                KeyCode::Enter,
                KeyCode::Esc,
                KeyCode::Backspace,
                KeyCode::Delete,
                KeyCode::Insert,
                KeyCode::Char(' '),
                KeyCode::F(5),
                KeyCode::F(1),
            ];
            let mods = match r.below(10) {
                0 => KeyModifiers::SHIFT,
                1 => KeyModifiers::CONTROL,
                2 => KeyModifiers::ALT,
                _ => none,
            };
            key(r.pick(&codes), mods)
        }
        60..=69 => {
            let c = (b'a' + r.below(26) as u8) as char;
            let mods = if r.chance(15) {
                KeyModifiers::CONTROL | KeyModifiers::SHIFT
            } else {
                KeyModifiers::CONTROL
            };
            let code = if r.chance(10) {
                KeyCode::Enter
            } else {
                KeyCode::Char(c)
            };
            key(code, mods)
        }
        70..=84 => {
            let c = random_char(r);
            let mods = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                none
            };
            key(KeyCode::Char(c), mods)
        }
        _ => key(KeyCode::Char(r.pick(&[':', '/', 's'])), none),
    }
}

/// What to type into an open prompt (after `:`, `/` or `s`), sometimes edited, then `Enter`
/// (rarely `Esc`). Commands get edge-value arguments; filters are mostly cleared or words from
/// the view's data, so the lists are not always empty.
fn prompt_body(r: &mut Rng, prompt: &Prompt, words: &[&str]) -> Vec<KeyEvent> {
    let none = KeyModifiers::NONE;
    let mut keys = Vec::new();
    let mut text = String::new();
    match prompt.kind {
        PromptKind::Command if !prompt.input.is_empty() => {
            // `s` opened it with `refresh `
            text.push_str(if r.chance(70) {
                r.pick(&ARGS)
            } else {
                r.pick(&WORDS)
            });
        }
        PromptKind::Command => {
            if r.chance(70) {
                text.push_str(r.pick(&COMMANDS));
                text.push(' ');
                if r.chance(60) {
                    text.push_str(r.pick(&ARGS));
                } else {
                    text.push_str(&random_text(r));
                }
            } else if r.chance(50) {
                text.push_str(r.pick(words));
            } else {
                text.push_str(&random_text(r));
            }
        }
        PromptKind::Filter => {
            keys.push(key(KeyCode::Char('u'), KeyModifiers::CONTROL));
            match r.below(100) {
                0..=34 => {}
                35..=79 => {
                    for i in 0..1 + r.below(2) {
                        if i > 0 {
                            text.push(' ');
                        }
                        text.push_str(r.pick(words));
                    }
                }
                _ => text.push_str(&random_text(r)),
            }
        }
    }
    for c in text.chars() {
        keys.push(key(KeyCode::Char(c), none));
        if r.chance(5) {
            keys.push(key(KeyCode::Backspace, none));
        }
    }
    let end = if r.chance(90) {
        KeyCode::Enter
    } else {
        KeyCode::Esc
    };
    keys.push(key(end, none));
    keys
}

// ---------------------------------------------------------------- the run

/// A view loaded with data, and a pool of further updates for it.
struct Scenario {
    view: ViewKind,
    /// The app with the view loaded; the seed varies the configuration (read-only, panes).
    app: fn(u64) -> App,
    /// Applies update `n` (any number; the scenario picks from its pool with it).
    data: fn(&mut App, usize),
    /// Filter and search words that match some of the view's data.
    words: &'static [&'static str],
    /// A pane, dialog or editor of the view is open (the monkey must get there, not only
    /// press keys on a list).
    deep: fn(&App) -> bool,
}

/// How often a seed had the view on screen with rows, and with a pane or dialog open.
#[derive(Default)]
struct Reach {
    steps: usize,
    rows: usize,
    deep: usize,
}

/// One thing the monkey does.
#[derive(Clone, Copy, Debug)]
enum Step {
    Key(KeyEvent),
    /// Apply data update number `n` of the view's scenario (drawn from its pool).
    Data(usize),
    Resize(u16, u16),
    /// Move the app clock by this many milliseconds (backwards too: NTP steps the wall clock).
    Tick(i64),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Step::Key(k) => {
                for (m, name) in [
                    (KeyModifiers::CONTROL, "Ctrl-"),
                    (KeyModifiers::ALT, "Alt-"),
                    (KeyModifiers::SHIFT, "Shift-"),
                ] {
                    if k.modifiers.contains(m) {
                        f.write_str(name)?;
                    }
                }
                match k.code {
                    KeyCode::Char(c) => write!(f, "{c:?}"),
                    other => write!(f, "{other:?}"),
                }
            }
            Step::Data(n) => write!(f, "data #{n}"),
            Step::Resize(w, h) => write!(f, "resize {w}x{h}"),
            Step::Tick(ms) => write!(f, "tick {ms:+}ms"),
        }
    }
}

/// The monkey's next steps: usually one key; text for an open prompt; data, a resize, a tick.
fn next_steps(
    r: &mut Rng,
    sc: &Scenario,
    app: &App,
    bindings: &[(KeyCode, KeyModifiers)],
) -> Vec<Step> {
    // Large screens cost most to draw: stay there a few steps only.
    let resize = if u32::from(app.screen.width) * u32::from(app.screen.height) > 5000 {
        30
    } else {
        3
    };
    match (&app.prompt, r.below(100)) {
        (Some(p), _) if r.chance(70) => prompt_body(r, p, sc.words)
            .into_iter()
            .map(Step::Key)
            .collect(),
        (_, n) if n < resize => {
            let (w, h) = r.pick(&SIZES);
            vec![Step::Resize(w, h)]
        }
        (_, n) if n < resize + 6 => vec![Step::Data(r.below(1 << 20))],
        (_, n) if n < resize + 8 => vec![Step::Tick(r.below(25_000) as i64 - 5_000)],
        _ => vec![Step::Key(random_key(r, bindings))],
    }
}

fn describe(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Runs one seed; `Err` names the step that panicked and the steps before it.
fn run_seed(sc: &Scenario, seed: u64, steps: usize) -> Result<Reach, String> {
    let mut r = Rng::new(seed);
    let bindings: Vec<(KeyCode, KeyModifiers)> = stacktop::keymap::Keymap::default()
        .bindings
        .iter()
        .map(|b| (b.code, b.mods))
        .collect();
    let mut app = (sc.app)(seed);
    app.resize(80, 24);
    let mut term = Terminal::new(TestBackend::new(80, 24)).expect("a test terminal");
    let mut trace: std::collections::VecDeque<String> = Default::default();
    let mut step = 0;
    let mut reach = Reach::default();
    while step < steps {
        for s in next_steps(&mut r, sc, &app, &bindings) {
            step += 1;
            trace.push_back(format!("{step}: {s}"));
            if trace.len() > 30 {
                trace.pop_front();
            }
            let back_home = r.chance(90);
            let res = catch_unwind(AssertUnwindSafe(|| {
                match s {
                    Step::Key(k) => {
                        // Effects (quit, signals, writes, copies) are never executed; a quit
                        // only sets a flag, cleared here.
                        let _ = app.handle_key(k);
                        app.should_quit = false;
                        if app.active != sc.view && back_home {
                            // Tab and 1-4 wander off to the empty views; mostly come back
                            // (what `App::switch` does).
                            app.active = sc.view;
                        }
                    }
                    Step::Data(n) => (sc.data)(&mut app, n),
                    Step::Resize(w, h) => {
                        app.resize(w, h);
                        term = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
                    }
                    Step::Tick(ms) => {
                        let now = app.now + chrono::Duration::milliseconds(ms);
                        app.tick(now);
                    }
                }
                term.draw(|f| stacktop::screen::draw(&app, f))
                    .expect("TestBackend never fails");
            }));
            if let Err(p) = res {
                let trace: Vec<String> = trace.into_iter().collect();
                return Err(format!(
                    "view {:?} seed {seed:#x} step {step} ({s}) at {}x{} panicked: {}\n  \
                     last steps: {}",
                    sc.view,
                    app.screen.width,
                    app.screen.height,
                    describe(&*p),
                    trace.join(", ")
                ));
            }
            if app.active == sc.view {
                reach.rows += usize::from(app.active_view().status_counts().0 > 0);
                reach.deep += usize::from((sc.deep)(&app));
            }
        }
    }
    reach.steps = step;
    Ok(reach)
}

/// Every seed of `sc`; fails listing each seed that panicked.
fn monkey(sc: Scenario) {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let seeds = env("STACKTOP_MONKEY_SEEDS", SEEDS.len());
    let steps = env("STACKTOP_MONKEY_STEPS", STEPS);
    let seeds: Vec<u64> = SEEDS
        .iter()
        .copied()
        .chain((SEEDS.len() as u64..).map(|i| 0x1000 + i))
        .take(seeds)
        .collect();
    let mut failures = Vec::new();
    let mut reach = Reach::default();
    for &seed in &seeds {
        match run_seed(&sc, seed, steps) {
            Ok(r) => {
                reach.steps += r.steps;
                reach.rows += r.rows;
                reach.deep += r.deep;
            }
            Err(e) => failures.push(e),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} seeds panicked (rerun: cargo test --test monkey):\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n\n")
    );
    // A monkey that only ever sees empty lists or never opens a pane proves little: the
    // scenario's data, filter words and key mix must get it there (each ~15-50 % here).
    let (n, rows, deep) = (reach.steps, reach.rows, reach.deep);
    assert!(
        rows * 20 >= n && deep * 20 >= n,
        "{:?}: rows on screen in {rows} and a pane or dialog open in {deep} of {n} steps \
         (expected at least 5 % each)",
        sc.view
    );
}

fn update(view: ViewKind, payload: Payload) -> Update {
    Update { view, payload }
}

/// A message for the status line (errors show whichever view is active), or a source health.
fn notice(n: usize) -> Payload {
    let since = Local.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
    match n % 8 {
        5 => return Payload::Health(SourceHealth::Connecting { since }),
        6 => return Payload::Health(SourceHealth::Live { at: since }),
        7 => {
            return Payload::Health(SourceHealth::Reconnecting {
                since,
                error: "connection reset by peer\n(os error 104) 日本".into(),
                next_try: n.is_multiple_of(2).then_some(since),
            })
        }
        _ => {}
    }
    let texts = [
        "webhook failed: 500 Internal Server Error",
        "stderr: line one\nline two\twith tab",
        "日本語のエラー 😀 é\u{301}",
        "",
    ];
    Payload::Notice {
        level: [Level::Info, Level::Warn, Level::Error][n % 3],
        text: texts[n / 3 % texts.len()].repeat(1 + n % 5),
    }
}

// ---------------------------------------------------------------- pgtop

fn pg_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 11, 3, 4).unwrap()
}

fn pg_session(pid: i32, user: &str, q: &str, secs: i64) -> Session {
    let mut s = Session::for_test(pid, SessionState::Active, q);
    s.usename = Some(user.into());
    s.datname = Some("orders".into());
    s.backend_start = Some(pg_now() - chrono::Duration::hours(1));
    s.query_start = Some(pg_now() - chrono::Duration::seconds(secs));
    s.xact_start = s.query_start;
    s.state_change = s.query_start;
    s
}

fn long_query() -> String {
    let mut q = String::from("select o.id, o.customer_id, o.total, l.sku from orders o");
    for i in 0..30 {
        q.push_str(&format!("\n  join t{i} using (id)"));
    }
    q.push_str("\nwhere o.total > 100 order by o.total desc -- a tail wider than eighty columns");
    q
}

/// Sessions of every awkward kind: idle in transaction, background, lock waiters (one blocked
/// by a pid that is gone, two in a cycle), hidden rows, NULL fields, multi-line, non-ASCII and
/// control characters, a query that started after the server's `now()`.
fn pg_sessions(n: usize) -> Vec<Session> {
    let mut v = Vec::new();
    let mut idle_tx = pg_session(103, "batch", "update stock set n = n - 1", 45);
    idle_tx.state = SessionState::IdleInTransaction;
    let mut idle = pg_session(105, "app", "select 1", 300);
    idle.state = SessionState::Idle;
    let mut bg = pg_session(106, "postgres", "autovacuum: VACUUM public.t", 500);
    bg.backend_type = Some("autovacuum worker".into());
    let mut waiter = pg_session(104, "app", "select count(*) from stock", 1);
    waiter.wait_event_type = Some("Lock".into());
    waiter.wait_event = Some("relation".into());
    waiter.blocking_pids = vec![103, 99999];
    v.extend([
        waiter,
        pg_session(102, "app", "select pg_sleep(60)", 10),
        idle_tx,
        pg_session(101, "report", &long_query(), 90),
        idle,
        bg,
    ]);
    let mut hidden = Session::for_test(
        201,
        SessionState::Unknown,
        stacktop::pg::activity::INSUFFICIENT_PRIVILEGE,
    );
    hidden.visible = false;
    hidden.usename = None;
    hidden.datname = None;
    hidden.client_addr = None;
    hidden.client_port = None;
    hidden.backend_start = None;
    v.push(hidden);
    let mut nulls = pg_session(202, "x", "", 3);
    nulls.usename = None;
    nulls.datname = None;
    nulls.client_addr = None;
    nulls.client_port = Some(-1);
    nulls.backend_type = None;
    nulls.state = SessionState::Other("weird state".into());
    nulls.query_start = None;
    nulls.xact_start = None;
    nulls.state_change = None;
    v.push(nulls);
    let texts = [
        "select '😀🎉👨\u{200d}👩\u{200d}👧' as emoji, 'é\u{301}' as combining",
        "select * from 注文 where 名前 = '山田太郎' -- 日本語のコメント",
        "select 1;\r\n\tselect\x1b[31m red \x07\x00 2\x7f",
        "\n\n\nselect\n\n",
        "  ",
        "ﾃｽﾄ ＳＥＬＥＣＴ　全角",
    ];
    for (i, t) in texts.iter().enumerate() {
        let mut s = pg_session(300 + i as i32, "ユーザー😀", t, 2 + i as i64 * 7);
        s.application_name = "psql 日本\t\u{1b}".into();
        s.client_addr = Some("2001:db8::1234:5678:9abc:def0".into());
        v.push(s);
    }
    let mut future = pg_session(310, "app", "select now()", -2);
    future.backend_start = Some(pg_now() + chrono::Duration::seconds(5));
    v.push(future);
    // a parallel worker of 101, a session "blocked by itself", a ten-year-old transaction with
    // an application name wider than any screen
    let mut worker = pg_session(311, "report", "", 90);
    worker.backend_type = Some("parallel worker".into());
    worker.leader_pid = Some(101);
    let mut selfish = pg_session(312, "app", "lock table t", 3);
    selfish.wait_event_type = Some("Lock".into());
    selfish.blocking_pids = vec![312];
    let mut old = pg_session(313, "app", "begin", 315_360_000);
    old.state = SessionState::IdleInTransactionAborted;
    old.application_name = "a-very-long-application-name-".repeat(12);
    v.extend([worker, selfish, old]);
    // a deadlock-in-progress: 320 and 321 wait on each other
    for (p, b) in [(320, 321), (321, 320)] {
        let mut s = pg_session(p, "app", "update t set x = x + 1", 7);
        s.wait_event_type = Some("Lock".into());
        s.wait_event = Some("transactionid".into());
        s.blocking_pids = vec![b];
        v.push(s);
    }
    // and, for some snapshots, many more rows than any screen
    for i in 0..(n % 3) * 150 {
        v.push(pg_session(
            1000 + i as i32,
            "bulk",
            &format!("select {i}"),
            i as i64 % 200,
        ));
    }
    if n % 7 == 3 {
        v.retain(|s| s.pid % 2 == 0); // sessions end between refreshes
    }
    v
}

fn pg_snapshot(sessions: Vec<Session>, seq: u64) -> PgSnapshot {
    let mut s = PgSnapshot::status_only(
        seq,
        ConnState::Connected { since: pg_now() },
        Duration::from_secs(1),
    );
    // the server's clock runs a little ahead, sometimes days off the app's
    s.server_now = pg_now()
        + match seq % 11 {
            0 => chrono::Duration::days(-3),
            1 => chrono::Duration::days(400),
            n => chrono::Duration::seconds(n as i64),
        };
    // deterministic, and after the signal results (`at: pg_now()`), so `K` offers to terminate
    s.taken_at = SystemTime::from(pg_now()) + Duration::from_secs(seq % 1000);
    s.header = Some(Header {
        server_version: if seq.is_multiple_of(2) {
            "15.6".into()
        } else {
            "17devel (Debian 17~~devel-1.pgdg+1) 日本".into()
        },
        server_version_num: 150006,
        postmaster_start: pg_now() - chrono::Duration::hours(1),
        uptime: Duration::from_secs(3600),
        in_recovery: seq.is_multiple_of(3),
        max_connections: if seq.is_multiple_of(4) { 0 } else { 100 },
        counts: SessionCounts {
            total: sessions.len(),
            active: 3,
            idle: 1,
            idle_in_transaction: 1,
            ..Default::default()
        },
        tps: seq.is_multiple_of(2).then_some(12.5),
        cache_hit_ratio: (seq % 3 != 1).then_some(0.991),
        longest_query: Some((101, Duration::from_secs(90))),
        longest_transaction: Some((103, Duration::from_secs(45))),
        waiting: 3,
        columns: ActivityColumns::default(),
    });
    s.notices = if seq.is_multiple_of(5) {
        vec!["slow log: cannot write /var/log/x: permission denied 😀".into()]
    } else {
        Vec::new()
    };
    s.sessions = sessions;
    s
}

fn pg_target(s: &Session) -> SignalTarget {
    SignalTarget {
        pid: s.pid,
        backend_start: s.backend_start.unwrap_or_else(pg_now),
        query_start: s.query_start,
        usename: s.usename.clone(),
        datname: s.datname.clone(),
        application_name: s.application_name.clone(),
        query: s.query.clone(),
        duration: Some(Duration::from_secs(12)),
    }
}

/// The theme for a seed: every third one without colours (meaning kept in modifiers).
fn theme(seed: u64) -> Theme {
    if seed % 3 == 2 {
        Theme::builtin_default().without_colors()
    } else {
        Theme::builtin_default()
    }
}

fn pg_app(seed: u64) -> App {
    let mut cfg = Config::default();
    cfg.pgtop.read_only = seed % 2 == 1;
    let mut a = App::new(cfg, theme(seed), ViewKind::Pgtop);
    a.now = pg_now().with_timezone(&Local);
    a.apply(update(
        ViewKind::Pgtop,
        Payload::Pg(pg_snapshot(pg_sessions(0), 1).into()),
    ));
    a
}

fn pg_data(a: &mut App, n: usize) {
    let seq = n as u64;
    let payload = match n % 10 {
        0..=2 => Payload::Pg(pg_snapshot(pg_sessions(n / 10), seq).into()),
        3 => Payload::Pg(
            PgSnapshot::status_only(
                seq,
                ConnState::Disconnected {
                    since: pg_now(),
                    error: "connection refused (os error 111)\nis the server running? 日本".into(),
                    attempts: (n % 50) as u32,
                    next_attempt_in: Duration::from_millis((n % 5000) as u64),
                },
                Duration::from_secs(1),
            )
            .into(),
        ),
        4 => Payload::Pg(
            PgSnapshot::status_only(seq, ConnState::Connecting, Duration::from_secs(1)).into(),
        ),
        5 => Payload::Pg(pg_snapshot(Vec::new(), seq).into()),
        6 | 7 => {
            // EXPLAIN for the open detail (or any pid): a plan, an empty plan or an error
            let pid = match &a.pgtop.detail {
                Some(d) if !n.is_multiple_of(3) => d.pid,
                _ => [101, 104, 300, 201, 7][n % 5],
            };
            let result = match n / 10 % 4 {
                0 => Ok((0..40)
                    .map(|i| {
                        format!(
                            "{}->  Hash Join  (cost=1.00..{i}.00 rows=1 width=8) 日本 😀",
                            " ".repeat(i)
                        )
                    })
                    .collect()),
                1 => Ok(Vec::new()),
                2 => Ok(vec![String::new(), "Seq Scan on t\ttab\r\n".into()]),
                _ => Err("ERROR:  syntax error at or near \"$1\"\nLINE 1: ...\n       ^".into()),
            };
            Payload::PgReply(Box::new(PgReply::Explain { pid, result }))
        }
        8 => {
            let sessions = pg_sessions(0);
            let outcomes = [
                SignalOutcome::Signalled,
                SignalOutcome::NotSignalled,
                SignalOutcome::Changed,
                SignalOutcome::ReadOnly,
                SignalOutcome::PermissionDenied(stacktop::pg::kill::PRIVILEGE_HINT.into()),
                SignalOutcome::Error("server closed the connection unexpectedly\n😀".into()),
            ];
            let results = sessions
                .iter()
                .take(n / 10 % (sessions.len() + 1))
                .enumerate()
                .map(|(i, s)| SignalResult {
                    kind: if i % 2 == 0 {
                        SignalKind::Cancel
                    } else {
                        SignalKind::Terminate
                    },
                    target: pg_target(s),
                    outcome: outcomes[i % outcomes.len()].clone(),
                    at: pg_now(),
                })
                .collect();
            Payload::PgReply(Box::new(PgReply::Signals(results)))
        }
        _ => notice(n / 10),
    };
    a.apply(update(ViewKind::Pgtop, payload));
}

#[test]
fn pgtop_never_panics() {
    monkey(Scenario {
        view: ViewKind::Pgtop,
        app: pg_app,
        data: pg_data,
        // pgtop's filter language and free text from the sessions
        #[rustfmt::skip]
        words: &[
            "select", "app", "report", "db:orders", "user:app", "state:active", "state:idle",
            "min:2s", "min:0s", "min:", "min:18446744073709551615s", "app:psql", "日本", "104",
            "emoji", "user:ユーザー😀", "::int", "db:",
        ],
        deep: |a| a.pgtop.detail.is_some() || a.pgtop.dialog.is_some() || a.pgtop.locks,
    });
}

// ---------------------------------------------------------------- replication

fn repl_app(seed: u64) -> App {
    let mut cfg = Config::default();
    cfg.repl.history = 1 + seed as usize % 5;
    for n in ["primary", "replica", "r57", "r80", "r84", "p84"] {
        cfg.repl
            .servers
            .push(stacktop::repl::ServerConfig::tcp(n, "127.0.0.1", 3306));
    }
    let mut a = App::new(cfg, theme(seed), ViewKind::Repl);
    a.now = repl_common::at().with_timezone(&Local);
    for n in 0..6 {
        repl_data(&mut a, n);
    }
    a
}

/// MariaDB status sections recorded in the lab: `(file, section title part)`.
const MARIA_SCENARIOS: [(&str, &str); 12] = [
    ("scenario-binlog-purge.txt", "scenario"),
    ("scenario-delay.txt", "scenario"),
    ("scenario-delay.txt", "after the delay"),
    ("scenario-io-stop.txt", "scenario"),
    ("scenario-io-stop.txt", "after START"),
    ("scenario-primary-kill.txt", "scenario"),
    ("scenario-primary-kill.txt", "restart primary"),
    ("scenario-replica-crash.txt", "scenario"),
    ("scenario-sql-error.txt", "scenario"),
    ("scenario-sql-error.txt", "repair"),
    ("scenario-sql-stop.txt", "scenario"),
    ("scenario-sql-stop.txt", "after START"),
];

fn repl_data(a: &mut App, n: usize) {
    use repl_common::*;
    let snap: ServerSnapshot = match n % 9 {
        0 => mysql("mysql57-replica.txt", "r57", "db57:3306", ServerRole::Auto),
        1 => mysql(
            "mysql80-replica.txt",
            "r80",
            "db80:3306",
            ServerRole::Replica,
        ),
        2 => mysql(
            "mysql84-replica.txt",
            "r84",
            "db84-replica:3306",
            ServerRole::Auto,
        ),
        3 => mysql(
            "mysql84-primary.txt",
            "p84",
            "db84-primary:3306",
            ServerRole::Auto,
        ),
        4 => maria_primary(if n.is_multiple_of(2) { "" } else { "0-1-100" }),
        5 => maria_replica(healthy_rows()),
        6 | 7 => {
            let (file, needle) = MARIA_SCENARIOS[n / 9 % MARIA_SCENARIOS.len()];
            maria_replica(maria_rows(file, needle, true))
        }
        _ => {
            // a server that went away and is reconnecting (sometimes one never reached)
            let names = [
                "primary",
                "replica",
                "r57",
                "r80",
                "r84",
                "p84",
                "unknown 日本",
            ];
            let info = n.is_multiple_of(2).then(maria_info);
            ServerSnapshot::unreachable(
                names[n / 9 % names.len()],
                "127.0.0.1:1",
                ServerRole::Auto,
                info,
                at() - chrono::Duration::seconds((n % 600) as i64),
                "connection refused (os error 111)\nafter 3 attempts 😀".into(),
            )
        }
    };
    a.apply(update(ViewKind::Repl, Payload::Repl(Box::new(snap))));
    if n.is_multiple_of(13) {
        a.apply(update(ViewKind::Repl, notice(n)));
    }
}

#[test]
fn replication_never_panics() {
    monkey(Scenario {
        view: ViewKind::Repl,
        app: repl_app,
        data: repl_data,
        words: &[
            "replica", "primary", "CRIT", "OK", "WARN", "r57", "r84", "default", "src2", "Yes",
            "down",
        ],
        deep: |a| a.repl.pane.is_some() || a.repl.focus == stacktop::views::repl::Focus::Audit,
    });
}

// ---------------------------------------------------------------- vlogdump

fn varnish_fixture(name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/fixtures/varnish/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

/// Requests parsed from the fixtures (the 7.1 capture has a Latin-1 header byte and a
/// malformed request line), plus a copy cut in the middle of a group with garbage appended,
/// plus synthetic requests with non-UTF-8, control and non-ASCII bytes in every field.
fn vlog_requests() -> Vec<Request> {
    let v7 = varnish_fixture("varnish7-request.log");
    let mut out = parse_all(&v7).0;
    out.extend(
        parse_all(&varnish_fixture("varnish21.log"))
            .0
            .into_iter()
            .take(300),
    );
    out.extend(parse_all(&varnish_fixture("varnish7-session-excerpt.log")).0);
    let mut broken = v7[..v7.len() / 3].to_vec();
    broken.extend_from_slice(b"\nthis line is garbage\n\n*   << Request  >> notanumber\n\n");
    broken.extend_from_slice(&v7[..v7.len() / 5]);
    out.extend(parse_all(&broken).0);
    let weird: [&[u8]; 6] = [
        b"/caf\xe9/\xff\xfe?q=\x00\x1b[2J",
        "/日本語/😀?q=é\u{301}".as_bytes(),
        b"",
        b"/\t\r\n/tab",
        b"/very/long",
        b"*",
    ];
    let t0 = out.iter().map(|r| r.start).fold(0.0, f64::max);
    for (i, url) in weird.iter().enumerate() {
        let mut b = RequestBuilder {
            vxid: 900_000 + i as u64,
            // the last one never saw its `Timestamp Start:`
            start: if i == 5 { 0.0 } else { t0 + i as f64 },
            handling: Handling::ALL[i % Handling::ALL.len()],
            status: [Some(200), None, Some(503), Some(0), Some(999), Some(101)][i],
            total_ms: [
                Some(0.0),
                None,
                Some(60_000.0),
                Some(-0.5),
                Some(1e9),
                Some(3.0),
            ][i],
            bytes: [0, u64::MAX / 2, 1, 2, 3, 4][i],
            ..Default::default()
        };
        b.url.extend_from_slice(url);
        if i == 4 {
            b.url.extend_from_slice("/x".repeat(2000).as_bytes());
        }
        b.ip.extend_from_slice(if i % 2 == 0 { b"::1" } else { b"10.0.0.\xff" });
        b.method
            .extend_from_slice(if i == 2 { b"" } else { "GЕT😀".as_bytes() });
        b.proto.extend_from_slice(b"HTTP/1.1");
        b.reason
            .extend_from_slice("Sérvice\tUnavailable 日本".as_bytes());
        b.backend.extend_from_slice(b"boot.origin\xff");
        b.fetch_error
            .extend_from_slice(b"backend fetch failed \xe9");
        b.note.extend_from_slice("\"GET%00\" 😀".as_bytes());
        RequestBuilder::push_header(&mut b.req_headers, b"Host: \xffshop.example");
        RequestBuilder::push_header(&mut b.req_headers, "X-Émoji: 😀\u{200d}".as_bytes());
        RequestBuilder::push_header(&mut b.resp_headers, b"X-Latin1: caf\xe9");
        out.push(b.build());
    }
    out
}

fn vlog_app(seed: u64) -> App {
    let mut cfg = Config::default();
    cfg.vlog.slow = Dur::secs(1);
    cfg.vlog.ring_size = 500;
    cfg.vlog.pane = seed.is_multiple_of(2);
    cfg.vlog.push_down = !seed.is_multiple_of(2);
    let mut a = App::new(cfg, theme(seed), ViewKind::Vlog);
    let reqs = vlog_requests();
    let last = reqs.iter().map(|r| r.start).fold(0.0, f64::max);
    a.now = Utc
        .timestamp_opt(last as i64 + 1, 0)
        .single()
        .unwrap_or_else(pg_now)
        .with_timezone(&Local);
    a.apply(update(
        ViewKind::Vlog,
        Payload::Vlog(VlogEvent::Status(InputStatus::Detected(Format::V4))),
    ));
    a.apply(update(
        ViewKind::Vlog,
        Payload::Vlog(VlogEvent::Requests(reqs.into_iter().take(200).collect())),
    ));
    a
}

thread_local! {
    static VLOG_REQUESTS: Vec<Request> = vlog_requests();
}

fn vlog_data(a: &mut App, n: usize) {
    let ev = match n % 10 {
        0..=5 => VLOG_REQUESTS.with(|all| {
            let start = n / 10 % all.len();
            let len = 1 + n / 7 % 60;
            let mut batch: Vec<Request> =
                all.iter().cycle().skip(start).take(len).cloned().collect();
            if n.is_multiple_of(4) {
                batch.extend(all.iter().rev().take(6).cloned()); // the synthetic ones
            }
            VlogEvent::Requests(batch)
        }),
        6 => VlogEvent::Malformed((n % 3) as u64),
        7 => VlogEvent::Status(match n / 10 % 8 {
            0 => InputStatus::Started {
                pid: Some(4242),
                command: "varnishlog -g request -q 'ReqURL ~ \"日本\"'".into(),
            },
            1 => InputStatus::Reading {
                what: "/var/log/varnish/caf\u{e9}.log".into(),
            },
            2 => InputStatus::Detected(Format::V2),
            3 => InputStatus::Exited {
                code: Some(1),
                restart_in: Some(Duration::from_secs(2)),
            },
            4 => InputStatus::SpawnFailed {
                error: "No such file or directory (os error 2)".into(),
                restart_in: None,
            },
            5 => InputStatus::Error("read error: invalid data 😀".into()),
            6 => InputStatus::Requery {
                query: Some("ReqURL ~ \"^/api\"".into()),
            },
            _ => InputStatus::Finished,
        }),
        8 => VlogEvent::Stderr("Log abandoned (vsl)\t\u{1b}[1m 日本 \u{0}".into()),
        _ => return a.apply(update(ViewKind::Vlog, notice(n / 10))),
    };
    a.apply(update(ViewKind::Vlog, Payload::Vlog(ev)));
}

#[test]
fn vlogdump_never_panics() {
    monkey(Scenario {
        view: ViewKind::Vlog,
        app: vlog_app,
        data: vlog_data,
        // the filter language, with regexes that push-down must escape or leave out
        #[rustfmt::skip]
        words: &[
            "only_hits=1", "only_misses=1", "only_status=5xx", "only_status=503|4xx",
            "only_status=!2xx", "only_status=503,-", "only_status=-", "url_match=^/api",
            "/static", "handling=pass,pipe", "handling=!hit", "only_slow=1",
            "only_slow=99999999999999999999", "only_slow=-1", "client_match=10\\.",
            "backend=boot", "!url_match=css", "show_req_headers=1", "req_method=GET|POST",
            "日本", "url_match=(", "url_match=\\d+", "url_match=[^a]", "url_match=(?i)API",
            "url_match=\\x41", "url_match=é.", "url_match=\\p{L}", "url_match=[[a]]",
            "client_match=\\b10", "'req_headers=Host: a b'", "'unbalanced", "lab-01", "caf",
        ],
        deep: |a| a.vlog.detail.is_some() || a.vlog.editor.is_some(),
    });
}

// ---------------------------------------------------------------- spotify

/// The store: charts over some years, one day, reversed or no dates; or nothing imported yet.
fn spotify_info(n: usize) -> StoreInfo {
    let (first, last) = match n % 5 {
        0 => ("2017-01-01", "2021-12-31"),
        1 => ("2018-07-20", "2018-07-20"),
        2 => ("2021-12-31", "2017-01-01"),
        3 => ("2017-01-01", "not a date"),
        _ => return StoreInfo::default(),
    };
    StoreInfo {
        backend: "sqlite /tmp/ä 日本/x.sqlite3".into(),
        table: "top200".into(),
        rows: 1234 * n as u64,
        countries: vec!["ar".into(), "global".into(), "us".into(), "jp".into()],
        first_day: Some(first.into()),
        last_day: Some(last.into()),
    }
}

/// Result sets: wide, long, empty, no columns, NULLs, extreme numbers, awkward text.
fn result_set(n: usize) -> ResultSet {
    let (columns, rows): (Vec<String>, Vec<Vec<Cell>>) = match n % 6 {
        0 => {
            let cols: Vec<String> = (0..40)
                .map(|i| format!("column_with_a_rather_long_name_{i}_日本"))
                .collect();
            let rows = (0..30)
                .map(|r| {
                    (0..40)
                        .map(|c| match (r + c) % 5 {
                            0 => Cell::Null,
                            1 => Cell::Int(r as i64 * 1_000_003 - 7),
                            2 => Cell::Float(r as f64 / 3.0),
                            3 => Cell::Text("😀 Ed Sheeran – Shape of You (feat. 日本) ".repeat(3)),
                            _ => Cell::Text(format!("line\nbreak\ttab {r}")),
                        })
                        .collect()
                })
                .collect();
            (cols, rows)
        }
        1 => (
            vec!["artist".into(), "total_streams".into()],
            (0..600)
                .map(|i| {
                    vec![
                        Cell::Text(format!("Artist {i} ß")),
                        Cell::Int(600 - i as i64),
                    ]
                })
                .collect(),
        ),
        2 => (vec!["artist".into(), "streams".into()], Vec::new()),
        3 => (Vec::new(), Vec::new()),
        4 => (
            vec!["name".into(), "n".into()],
            vec![
                vec![Cell::Text("max".into()), Cell::Int(i64::MAX)],
                vec![Cell::Text("min".into()), Cell::Int(i64::MIN)],
                vec![Cell::Text("zero".into()), Cell::Int(0)],
                vec![Cell::Null, Cell::Null],
                vec![Cell::Text("inf".into()), Cell::Float(f64::INFINITY)],
                vec![Cell::Text("-inf".into()), Cell::Float(f64::NEG_INFINITY)],
                vec![Cell::Text("tiny".into()), Cell::Float(-1e-300)],
            ],
        ),
        _ => (
            vec!["day".into(), "position".into(), "streams".into()],
            (0..50)
                .map(|i| {
                    vec![
                        Cell::Text(format!("2018-01-{:02}", i % 28 + 1)),
                        Cell::Int(i as i64 % 200 + 1),
                        Cell::Float(-(i as f64) * 1000.5),
                    ]
                })
                .collect(),
        ),
    };
    ResultSet {
        columns,
        rows,
        elapsed: Duration::from_millis(n as u64 % 100_000),
        truncated: n.is_multiple_of(4),
    }
}

fn spotify_app(seed: u64) -> App {
    let mut cfg = Config::default();
    cfg.ui.read_only = seed % 2 == 1;
    let mut a = App::new(cfg, theme(seed), ViewKind::Spotify);
    a.now = Local.with_ymd_and_hms(2026, 11, 23, 12, 3, 4).unwrap();
    a.apply(update(
        ViewKind::Spotify,
        Payload::Spotify(Box::new(SpotifyEvent::Info(spotify_info(0)))),
    ));
    // Loaded with data like the other views: the selected question asked and answered, so
    // the coverage check below does not hang on how soon a random key happens to ask one.
    let _ = a.handle_key(key(KeyCode::Enter, KeyModifiers::NONE));
    spotify_data(&mut a, 0);
    a
}

/// Answers whatever job the view is waiting for (the monkey's stand-in for the collector),
/// or sends store events.
fn spotify_data(a: &mut App, n: usize) {
    let running = a.spotify.running.as_ref().map(|r| r.id);
    let import = a.spotify.import.as_ref().map(|i| i.id);
    let ev = match (n % 12, running, import) {
        (0..=2, Some(id), _) => Event::Finished {
            id,
            result: Arc::new(result_set(n / 12)),
        },
        (3, Some(id), _) => Event::Started {
            id,
            sql: "SELECT artist, SUM(streams)\nFROM top200 -- 日本 😀".into(),
        },
        (4, Some(id), _) => Event::Failed {
            id,
            error: "no such column: artst\nnear line 2 日本".into(),
        },
        (5, Some(id), _) | (5, None, Some(id)) => Event::Cancelled { id },
        (6..=7, _, Some(id)) => Event::Import {
            id,
            event: ImportEvent::Progress(Progress {
                file_index: n / 12 % 4,
                files: n / 24 % 4,
                file: "/data/regional-日本-daily.csv".into(),
                bytes_done: (n as u64 * 7919) % 300,
                bytes_total: (n as u64 * 104_729) % 250,
                rows: n as u64,
                bad: (n % 3) as u64,
                rows_per_sec: [0.0, 250_000.0, f64::INFINITY][n % 3],
                eta: n
                    .is_multiple_of(2)
                    .then(|| Duration::from_secs(n as u64 % 10_000)),
            }),
        },
        (8, _, Some(id)) => Event::Import {
            id,
            event: match n / 12 % 2 {
                0 => ImportEvent::Phase("building indexes 😀".into()),
                _ => ImportEvent::FileRejected {
                    file: "/data/page.html".into(),
                    reason: "an HTML page, not a chart CSV".into(),
                },
            },
        },
        (9, _, Some(id)) => Event::ImportDone {
            id,
            summary: Summary {
                files: n % 3,
                rows_read: (n % 2 * 1000) as u64,
                inserted: 10,
                bad: (n % 5) as u64,
                ..Default::default()
            },
        },
        (10, _, _) => {
            let saved = (0..n % 4)
                .map(|i| SavedQuery {
                    name: format!("saved-{i} 日本 😀"),
                    sql: "SELECT 1;\nSELECT 'é'".into(),
                })
                .collect();
            return a.apply(update(
                ViewKind::Spotify,
                Payload::Spotify(Box::new(SpotifyEvent::SavedQueries(saved))),
            ));
        }
        (11, _, _) => {
            let ev = match n / 12 % 4 {
                0 => SpotifyEvent::Info(spotify_info(n / 48)),
                1 => SpotifyEvent::Error("cannot write /nope/x.csv: permission denied".into()),
                2 => SpotifyEvent::Exported {
                    path: "/tmp/exports/日本.csv".into(),
                    rows: n,
                },
                _ => return a.apply(update(ViewKind::Spotify, notice(n))),
            };
            return a.apply(update(ViewKind::Spotify, Payload::Spotify(Box::new(ev))));
        }
        // nothing of that kind is running: a stale answer for a job that is not ours
        _ => Event::Finished {
            id: n as u64 + 1_000_000,
            result: Arc::new(result_set(n)),
        },
    };
    a.apply(update(
        ViewKind::Spotify,
        Payload::Spotify(Box::new(SpotifyEvent::Job(ev))),
    ));
    if n.is_multiple_of(17) {
        let h = SourceHealth::Reconnecting {
            since: a.now,
            error: "database is locked".into(),
            next_try: None,
        };
        a.apply(update(ViewKind::Spotify, Payload::Health(h)));
    }
}

#[test]
fn spotify_never_panics() {
    monkey(Scenario {
        view: ViewKind::Spotify,
        app: spotify_app,
        data: spotify_data,
        words: &[
            "Drake", "Artist 1", "artist", "2018", "日本", "ß", "😀", "max", "line",
        ],
        deep: |a| {
            a.spotify.focus == stacktop::views::spotify::Focus::Editor
                || a.spotify.running.is_some()
                || a.spotify.import.is_some()
        },
    });
}
