//! The spotify tab without a terminal: TestBackend rendering (question list, SQL, summary line,
//! bar chart, import gauge) and key handling through the whole app (ask a question, type and
//! run SQL in the editor, refusal of DELETE, cancel, export), and the collector end to end on a
//! temporary SQLite store (import → ask → answer applied to the view).

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Effect, Payload, SourceCommand, Update};
use stacktop::spotify::msg::{SpotifyCommand, SpotifyEvent, StoreInfo};
use stacktop::spotify::results::{Cell, ResultSet};
use stacktop::spotify::runner::Event;
use stacktop::theme::Theme;
use stacktop::views::spotify::Focus;
use stacktop::wire::ViewKind;

fn app() -> App {
    let mut a = App::new(
        Config::default(),
        Theme::builtin_default(),
        ViewKind::Spotify,
    );
    a.now = chrono::Local
        .with_ymd_and_hms(2026, 11, 23, 12, 3, 4)
        .unwrap();
    a.apply(ev(SpotifyEvent::Info(StoreInfo {
        backend: "sqlite /tmp/x.sqlite3".into(),
        table: "top200".into(),
        rows: 1234,
        countries: vec!["ar".into(), "global".into(), "us".into()],
        first_day: Some("2017-01-01".into()),
        last_day: Some("2018-12-31".into()),
    })));
    a
}

fn ev(e: SpotifyEvent) -> Update {
    Update {
        view: ViewKind::Spotify,
        payload: Payload::Spotify(Box::new(e)),
    }
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| stacktop::screen::draw(app, f)).unwrap();
    let buf = term.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typ(app: &mut App, s: &str) {
    for c in s.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn commands(effects: &[Effect]) -> Vec<SpotifyCommand> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::ToSource(ViewKind::Spotify, SourceCommand::Spotify(c)) => Some((**c).clone()),
            _ => None,
        })
        .collect()
}

fn artists() -> ResultSet {
    ResultSet {
        columns: vec!["artist".into(), "total_streams".into()],
        rows: vec![
            vec![Cell::Text("Drake".into()), Cell::Int(77_631_771)],
            vec![Cell::Text("Ed Sheeran".into()), Cell::Int(52_000_000)],
            vec![Cell::Text("Bad Bunny".into()), Cell::Int(1_500_000)],
        ],
        elapsed: Duration::from_millis(160),
        truncated: false,
    }
}

/// Ask the selected question and answer it with `rs`.
fn answer(app: &mut App, rs: ResultSet) -> SpotifyCommand {
    let effects = key(app, KeyCode::Enter);
    let cmd = commands(&effects).pop().expect("an Ask request");
    let id = match &cmd {
        SpotifyCommand::Ask { id, .. } | SpotifyCommand::Sql { id, .. } => *id,
        other => panic!("unexpected {other:?}"),
    };
    app.apply(ev(SpotifyEvent::Job(Event::Finished {
        id,
        result: Arc::new(rs),
    })));
    cmd
}

#[test]
fn renders_questions_sql_summary_and_bar_chart() {
    let mut a = app();
    let screen = render(&a, 140, 40);
    assert!(screen.contains("Chart rows for a country"), "{screen}");
    assert!(
        screen.contains("Tracks with the most days at #1"),
        "{screen}"
    );
    assert!(
        screen.contains("FROM top200_sum_track"),
        "the selected question's SQL is visible:\n{screen}"
    );
    assert!(screen.contains("all (3 in data)"), "{screen}");
    // Move to "Artists with the most streams" (the 5th question) and answer it.
    for _ in 0..4 {
        key(&mut a, KeyCode::Down);
    }
    let cmd = answer(&mut a, artists());
    assert!(
        matches!(cmd, SpotifyCommand::Ask { ref question, .. } if question == "artist-streams")
    );
    let screen = render(&a, 140, 40);
    assert!(screen.contains("3 rows in set (0.16 sec)"), "{screen}");
    assert!(screen.contains("Ed Sheeran"), "{screen}");
    assert!(
        screen.contains("total_streams by artist"),
        "bar chart title:\n{screen}"
    );
    assert!(screen.contains("77.6M"), "bar value label:\n{screen}");
    assert!(screen.contains('█'), "bars are drawn:\n{screen}");
    // b hides the chart.
    key(&mut a, KeyCode::Char('b'));
    assert!(!render(&a, 140, 40).contains("total_streams by artist"));
}

#[test]
fn running_query_shows_its_time_on_the_app_clock() {
    let mut a = app();
    key(&mut a, KeyCode::Enter); // asks "rows"
    let now = a.now;
    let r = a.spotify.running.as_mut().expect("a running query");
    r.started = now - chrono::Duration::milliseconds(3200);
    let screen = render(&a, 140, 40);
    assert!(
        screen.contains("running rows … 3.2 s (x to cancel)"),
        "{screen}"
    );
    // The app's one-second tick moves the clock; drawing reads it, nothing else.
    let later = a.now + chrono::Duration::seconds(2);
    a.tick(later);
    assert!(render(&a, 140, 40).contains("running rows … 5.2 s"));
    a.tick(later + chrono::Duration::seconds(120));
    assert!(render(&a, 140, 40).contains("running rows … 2m 05s"));
    // In the editor it is Ctrl-X that cancels.
    key(&mut a, KeyCode::Char('e'));
    assert!(render(&a, 140, 40).contains("(Ctrl-X to cancel)"));
}

#[test]
fn per_day_series_draws_a_line_chart() {
    let mut a = app();
    for _ in 0..9 {
        key(&mut a, KeyCode::Down);
    }
    let rows = (1..=30)
        .map(|d| {
            vec![
                Cell::Text(format!("2017-01-{d:02}")),
                Cell::Text("us".into()),
                Cell::Int(1 + (d % 7)),
                Cell::Int(1_000_000 - d * 1000),
            ]
        })
        .collect();
    let rs = ResultSet {
        columns: vec![
            "list_date".into(),
            "country".into(),
            "pos".into(),
            "streams".into(),
        ],
        rows,
        elapsed: Duration::from_millis(20),
        truncated: false,
    };
    let cmd = answer(&mut a, rs);
    assert!(matches!(cmd, SpotifyCommand::Ask { ref question, .. } if question == "track-history"));
    let screen = render(&a, 140, 40);
    assert!(screen.contains("pos per day"), "{screen}");
    assert!(screen.contains("2017-01-30"), "x axis label:\n{screen}");
    assert!(
        screen
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "braille line:\n{screen}"
    );
}

#[test]
fn every_bar_of_a_nine_bar_answer_is_visible_with_its_label_and_value() {
    // One big value and eight small ones: before, the value labels were drawn over the
    // short bars and 6 of 9 bars disappeared.
    let values = [
        90_000_000i64,
        5_000_000,
        400_000,
        30_000,
        2_000,
        900,
        50,
        3,
        1,
    ];
    let rows: Vec<Vec<Cell>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| vec![Cell::Text(format!("artist-{}", i + 1)), Cell::Int(*v)])
        .collect();
    let rs = ResultSet {
        columns: vec!["artist".into(), "total_streams".into()],
        rows,
        elapsed: Duration::from_millis(10),
        truncated: false,
    };
    for (w, h) in [(120, 40), (200, 50)] {
        let mut a = app();
        for _ in 0..4 {
            key(&mut a, KeyCode::Down);
        }
        answer(&mut a, rs.clone());
        let screen = render(&a, w, h);
        for (i, v) in values.iter().enumerate() {
            let label = format!("artist-{} █", i + 1);
            let line = screen
                .lines()
                .find(|l| l.contains(&label))
                .unwrap_or_else(|| panic!("bar {} missing at {w}x{h}:\n{screen}", i + 1));
            let value = match *v {
                v if v >= 1_000_000 => format!("{:.1}M", v as f64 / 1e6),
                v if v >= 10_000 => format!("{}k", v / 1000),
                v => v.to_string(),
            };
            let after = &line[line.find(&label).unwrap()..];
            assert!(
                after.contains(&format!("█ {value}")),
                "value {value} after bar {}: {line}",
                i + 1
            );
        }
    }
}

#[test]
fn track_history_names_the_track_and_draws_one_line_per_country_with_1_on_top() {
    let mut a = app();
    for _ in 0..9 {
        key(&mut a, KeyCode::Down);
    }
    let mut rows = Vec::new();
    for d in 1..=20i64 {
        for (c, base) in [("us", 1i64), ("gb", 40), ("de", 120)] {
            rows.push(vec![
                Cell::Text(format!("2017-01-{d:02}")),
                Cell::Text(c.into()),
                Cell::Int(base + d % 5),
                Cell::Int(1_000_000 - d * 1000),
                Cell::Text("0bAkKNCQfWkexHFn7fIKns".into()),
                Cell::Text("Shape of You".into()),
                Cell::Text("Ed Sheeran".into()),
            ]);
        }
    }
    let rs = ResultSet {
        columns: [
            "list_date",
            "country",
            "pos",
            "streams",
            "track_id",
            "track",
            "artist",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        elapsed: Duration::from_millis(20),
        truncated: false,
    };
    answer(&mut a, rs);
    let screen = render(&a, 160, 45);
    // which track: in the status line and the chart title
    assert!(
        screen.contains("track-history · Shape of You — Ed Sheeran"),
        "{screen}"
    );
    assert!(screen.contains("pos per day · Shape of You"), "{screen}");
    // one series per country: the legend names each
    for c in ["us", "gb", "de"] {
        assert!(
            screen.lines().any(|l| l.contains(&format!("│{c}"))
                || l.trim_end().ends_with(&format!("{c}│"))
                || l.contains(&format!("│{c} "))),
            "legend entry {c}:\n{screen}"
        );
    }
    // rank #1 at the top of the y axis, the worst rank at the bottom
    let top = screen
        .lines()
        .position(|l| l.contains("#1 ") || l.contains("#1│"));
    let bottom = screen.lines().position(|l| l.contains("#124"));
    assert!(
        matches!((top, bottom), (Some(t), Some(b)) if t < b),
        "#1 above #124 ({top:?}, {bottom:?}):\n{screen}"
    );
}

#[test]
fn empty_store_says_how_to_get_charts() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut a = app();
        a.apply(ev(SpotifyEvent::Info(StoreInfo {
            backend: "sqlite /tmp/x.sqlite3".into(),
            table: "top200".into(),
            ..Default::default()
        })));
        let screen = render(&a, w, h);
        // the result pane (right of the question list), its lines joined
        let left = if w >= 100 {
            42
        } else {
            34usize.min(w as usize / 2)
        };
        let flat: String = screen
            .lines()
            .skip(2)
            .map(|l| {
                let r: String = l.chars().skip(left).collect();
                r.trim_matches(|c: char| c == '│' || c == ' ').to_string()
            })
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains("No charts yet: stacktop spotify demo"),
            "{w}x{h}:\n{screen}"
        );
        assert!(flat.contains(":import FILE…"), "{w}x{h}:\n{screen}");
        assert!(
            flat.contains("stacktop spotify import FILE…"),
            "{w}x{h}:\n{screen}"
        );
    }
}

#[test]
fn parameters_change_with_keys_and_commands_and_go_into_the_request() {
    let mut a = app();
    key(&mut a, KeyCode::Char('c')); // ar
    key(&mut a, KeyCode::Char('c')); // global
    key(&mut a, KeyCode::Char('c')); // us
    key(&mut a, KeyCode::Char('y')); // 2017
    key(&mut a, KeyCode::Char('n')); // #1 only
    key(&mut a, KeyCode::Char('n')); // 1-10
    key(&mut a, KeyCode::Char('l')); // 20
    let effects = key(&mut a, KeyCode::Enter);
    match commands(&effects).as_slice() {
        [SpotifyCommand::Ask {
            question, params, ..
        }] => {
            assert_eq!(question, "rows");
            assert_eq!(params.country.as_deref(), Some("us"));
            assert_eq!(params.from.unwrap().to_string(), "2017-01-01");
            assert_eq!(params.to.unwrap().to_string(), "2018-01-01");
            assert_eq!((params.pos_min, params.pos_max), (Some(1), Some(10)));
            assert_eq!(params.limit, 20);
        }
        other => panic!("expected one Ask, got {other:?}"),
    }
    let screen = render(&a, 140, 40);
    assert!(screen.contains("country = 'us'"), "{screen}");
    assert!(screen.contains("2017-01-01 .. 2018-01-01"), "{screen}");
    // `:` commands set the same parameters; a bad value is reported.
    key(&mut a, KeyCode::Char(':'));
    typ(&mut a, "positions 5-3");
    key(&mut a, KeyCode::Enter);
    let flash = a.flash.clone().expect("a flash");
    assert!(flash.text.contains("empty"), "{}", flash.text);
    key(&mut a, KeyCode::Char(':'));
    typ(&mut a, "country zz1");
    key(&mut a, KeyCode::Enter);
    assert!(a.flash.clone().unwrap().text.contains("country"));
    assert_eq!(a.spotify.params.country.as_deref(), Some("us"));
}

#[test]
fn editor_typing_runs_sql_and_keeps_history() {
    let mut a = app();
    key(&mut a, KeyCode::Char('e'));
    assert_eq!(a.spotify.focus, Focus::Editor);
    typ(&mut a, "SELECT artist FROM top200");
    key(&mut a, KeyCode::Enter);
    typ(&mut a, "LIMIT 2 -- q and 1 are text here");
    assert!(!a.should_quit, "q is text in the editor");
    assert_eq!(a.active, ViewKind::Spotify, "digits do not switch tabs");
    let effects = ctrl(&mut a, 'r');
    match commands(&effects).as_slice() {
        [SpotifyCommand::AddHistory { sql: h }, SpotifyCommand::Sql { sql, .. }] => {
            assert_eq!(
                sql,
                "SELECT artist FROM top200\nLIMIT 2 -- q and 1 are text here"
            );
            assert_eq!(h, sql, "the collector saves it in the history file");
        }
        other => panic!("expected AddHistory and Sql, got {other:?}"),
    }
    assert!(render(&a, 120, 30).contains("running query"));
    // F5 runs too; history brings the text back.
    ctrl(&mut a, 'l');
    assert!(a.spotify.editor.is_empty());
    ctrl(&mut a, 'p');
    assert!(a.spotify.editor.text().starts_with("SELECT artist"));
    // The same statement again: run, but not added to the history twice.
    match commands(&key(&mut a, KeyCode::F(5))).as_slice() {
        [SpotifyCommand::Sql { .. }] => {}
        other => panic!("expected one Sql, got {other:?}"),
    }
    assert_eq!(a.spotify.editor.history.len(), 1);
    // Ctrl-C does not quit from the editor; Ctrl-X cancels the running query.
    assert!(ctrl(&mut a, 'c').is_empty());
    assert!(!a.should_quit);
    let cancel = commands(&ctrl(&mut a, 'x'));
    assert!(matches!(cancel.as_slice(), [SpotifyCommand::Cancel { .. }]));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.spotify.focus, Focus::Questions);
    assert_eq!(key(&mut a, KeyCode::Char('q')), vec![Effect::Quit]);
}

#[test]
fn delete_is_refused_with_a_message_and_nothing_is_sent() {
    let mut a = app();
    key(&mut a, KeyCode::Char('e'));
    typ(&mut a, "DELETE FROM top200");
    let effects = ctrl(&mut a, 'r');
    assert!(
        commands(&effects)
            .iter()
            .all(|c| matches!(c, SpotifyCommand::AddHistory { .. })),
        "nothing reaches the store (only the history, to fix and rerun it)"
    );
    let flash = a.flash.clone().expect("a flash");
    assert!(flash.text.contains("refused"), "{}", flash.text);
    let screen = render(&a, 120, 30);
    assert!(
        screen.contains("refused (read-only explorer): DELETE"),
        "{screen}"
    );
}

#[test]
fn cancel_export_and_import_send_their_requests() {
    let mut a = app();
    let effects = key(&mut a, KeyCode::Enter);
    let id = match commands(&effects).as_slice() {
        [SpotifyCommand::Ask { id, .. }] => *id,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        commands(&key(&mut a, KeyCode::Char('x'))),
        vec![SpotifyCommand::Cancel { id }]
    );
    a.apply(ev(SpotifyEvent::Job(Event::Cancelled { id })));
    assert!(render(&a, 120, 30).contains("query cancelled"));
    assert!(
        commands(&key(&mut a, KeyCode::Char('w'))).is_empty(),
        "no result yet"
    );
    answer(&mut a, artists());
    match commands(&key(&mut a, KeyCode::Char('w'))).as_slice() {
        [SpotifyCommand::Export {
            result, json, path, ..
        }] => {
            assert_eq!(result.rows.len(), 3, "the whole result");
            assert!(!json && path.is_none());
        }
        other => panic!("{other:?}"),
    }
    key(&mut a, KeyCode::Char(':'));
    typ(&mut a, "export /tmp/out.json");
    let e = commands(&key(&mut a, KeyCode::Enter));
    assert!(matches!(
        e.as_slice(),
        [SpotifyCommand::Export { json: true, .. }]
    ));
    key(&mut a, KeyCode::Char(':'));
    typ(&mut a, "import /data/a.csv /data/b.csv");
    let e = commands(&key(&mut a, KeyCode::Enter));
    let id = match e.as_slice() {
        [SpotifyCommand::Import { id, files }] => {
            assert_eq!(files.len(), 2);
            *id
        }
        other => panic!("{other:?}"),
    };
    a.apply(ev(SpotifyEvent::Job(Event::Import {
        id,
        event: stacktop::spotify::ImportEvent::Progress(stacktop::spotify::import::Progress {
            file_index: 0,
            files: 2,
            file: "/data/a.csv".into(),
            bytes_done: 50,
            bytes_total: 100,
            rows: 4242,
            bad: 0,
            rows_per_sec: 250_000.0,
            eta: Some(Duration::from_secs(3)),
        }),
    })));
    let screen = render(&a, 120, 30);
    assert!(screen.contains("4242 rows"), "{screen}");
    assert!(screen.contains("250000 rows/s"), "{screen}");
}

/// The collector on a real (temporary) SQLite store: import from the tab, then ask.
#[test]
fn collector_imports_and_answers_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/spotify/kaggle_data.csv");
    let mut cfg = Config::default();
    cfg.spotify.path = Some(dir.path().join("charts.sqlite3"));
    cfg.spotify.data_dir = Some(dir.path().to_path_buf());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let handles = stacktop::sources::spawn(&cfg, Some(ViewKind::Spotify), tx);
        let cmd = handles
            .get(&ViewKind::Spotify)
            .expect("a spotify source")
            .clone();
        let mut a = App::new(cfg.clone(), Theme::builtin_default(), ViewKind::Spotify);
        let pump = |a: &mut App, effects: Vec<Effect>| {
            for e in effects {
                if let Effect::ToSource(_, c) = e {
                    cmd.try_send(c).unwrap();
                }
            }
            let _ = a;
        };
        key(&mut a, KeyCode::Char(':'));
        typ(&mut a, &format!("import {}", fixture.display()));
        let e = key(&mut a, KeyCode::Enter);
        pump(&mut a, e);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while a.spotify.import.is_some() || a.spotify.info.rows == 0 {
            let u = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("import finishes")
                .unwrap();
            a.apply(u);
        }
        assert!(a.spotify.info.countries.contains(&"ec".to_string()));
        for _ in 0..3 {
            key(&mut a, KeyCode::Down); // artist-entries
        }
        let e = key(&mut a, KeyCode::Enter);
        pump(&mut a, e);
        while a.spotify.answer.is_none() {
            let u = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("an answer")
                .unwrap();
            a.apply(u);
        }
        let ans = a.spotify.answer.clone().unwrap();
        assert_eq!(ans.label, "artist-entries");
        assert!(!ans.result.rows.is_empty());
        assert_eq!(ans.result.columns, vec!["artist", "entries"]);
        // Export goes to <data_dir>/exports.
        let e = key(&mut a, KeyCode::Char('w'));
        pump(&mut a, e);
        loop {
            let u = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("an export")
                .unwrap();
            if let Payload::Spotify(e) = &u.payload {
                if let SpotifyEvent::Exported { path, rows } = &**e {
                    assert!(path.starts_with(dir.path().join("exports")));
                    assert_eq!(*rows, ans.result.rows.len());
                    let text = std::fs::read_to_string(path).unwrap();
                    assert!(text.starts_with("artist,entries\n"), "{text}");
                    break;
                }
            }
            a.apply(u);
        }
    });
}

/// The editor's history outlives the app: run SQL through the real collector, stop everything,
/// start a new app and collector on the same data dir, and the statement is in the history.
#[test]
fn editor_history_is_saved_in_the_data_dir_and_loaded_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.spotify.path = Some(dir.path().join("charts.sqlite3"));
    cfg.spotify.data_dir = Some(dir.path().to_path_buf());
    let first = "SELECT COUNT(*) AS n\n  FROM top200";
    let second = "SELECT 'é🔥' AS x";
    for (session, runs) in [(1, vec![first, second, second]), (2, vec![first])] {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let (tx, mut rx) = tokio::sync::mpsc::channel(256);
            let handles = stacktop::sources::spawn(&cfg, Some(ViewKind::Spotify), tx);
            let cmd = handles.get(&ViewKind::Spotify).unwrap().clone();
            let mut a = App::new(cfg.clone(), Theme::builtin_default(), ViewKind::Spotify);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            if session == 2 {
                // Loaded at start: both statements of the first session, oldest first.
                while a.spotify.editor.history.len() < 2 {
                    let u = tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .expect("the saved history arrives")
                        .unwrap();
                    a.apply(u);
                }
                assert_eq!(a.spotify.editor.history, [first, second]);
                key(&mut a, KeyCode::Char('e'));
                ctrl(&mut a, 'p');
                assert_eq!(a.spotify.editor.text(), second);
                ctrl(&mut a, 'p');
                assert_eq!(a.spotify.editor.text(), first);
                ctrl(&mut a, 'l');
                key(&mut a, KeyCode::Esc);
            }
            key(&mut a, KeyCode::Char('e'));
            for sql in runs {
                ctrl(&mut a, 'l');
                for line in sql.split('\n').enumerate() {
                    if line.0 > 0 {
                        key(&mut a, KeyCode::Enter);
                    }
                    typ(&mut a, line.1);
                }
                for e in ctrl(&mut a, 'r') {
                    if let Effect::ToSource(_, c) = e {
                        cmd.try_send(c).unwrap();
                    }
                }
                // The collector handles commands in order: once the answer is back, the
                // history file has been written.
                while a.spotify.running.is_some() {
                    let u = tokio::time::timeout_at(deadline, rx.recv())
                        .await
                        .expect("an answer")
                        .unwrap();
                    a.apply(u);
                }
                assert!(a.spotify.answer.is_some(), "{:?}", a.spotify.message);
            }
        });
        drop(rt);
    }
    let path = stacktop::spotify::history::path(dir.path());
    let saved = stacktop::spotify::history::load(&path).unwrap();
    assert_eq!(
        saved,
        [first, second, first],
        "consecutive repeats once, order kept"
    );
}
