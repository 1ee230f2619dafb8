//! Spotify: an empty store (how to get charts), a question answered with its bar chart, a
//! per-day answer drawn as a line chart, and the SQL editor with a statement typed.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::KeyCode;
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::Effect;
use stacktop::messages::{Payload, SourceCommand, Update};
use stacktop::spotify::results::{Cell, ResultSet};
use stacktop::spotify::runner::Event;
use stacktop::spotify::source::{SpotifyCommand, SpotifyEvent, StoreInfo};
use stacktop::theme::Theme;
use stacktop::wire::SourceHealth;

use super::{press, type_str, Scene};

pub fn scenes() -> Vec<Scene> {
    vec![
        Scene {
            name: "spotify-empty",
            state: "spotify, an empty SQLite store: how to get charts",
            build: |w, h| {
                let mut a = app(w, h);
                a.apply(ev(SpotifyEvent::Info(StoreInfo {
                    backend: "sqlite /tmp/x.sqlite3".into(),
                    table: "top200".into(),
                    ..Default::default()
                })));
                a
            },
        },
        Scene {
            name: "spotify-answer",
            state: "spotify, the 5th question answered (3 artists) with its bar chart",
            build: |w, h| {
                let mut a = app(w, h);
                for _ in 0..4 {
                    press(&mut a, KeyCode::Down);
                }
                answer(&mut a, artists());
                a
            },
        },
        Scene {
            name: "spotify-line-chart",
            state: "spotify, track history answered: 30 days of one track's position, a line chart",
            build: |w, h| {
                let mut a = app(w, h);
                for _ in 0..9 {
                    press(&mut a, KeyCode::Down);
                }
                answer(&mut a, per_day());
                a
            },
        },
        Scene {
            name: "spotify-editor",
            state: "spotify, e: the SQL editor with two lines typed, not run",
            build: |w, h| {
                let mut a = app(w, h);
                press(&mut a, KeyCode::Char('e'));
                type_str(&mut a, "SELECT artist, sum(streams) FROM top200");
                press(&mut a, KeyCode::Enter);
                type_str(&mut a, "GROUP BY artist LIMIT 5");
                a
            },
        },
    ]
}

fn ev(e: SpotifyEvent) -> Update {
    Update {
        view: ViewKind::Spotify,
        payload: Payload::Spotify(Box::new(e)),
    }
}

fn app(w: u16, h: u16) -> App {
    let mut a = App::new(
        Config::default(),
        Theme::builtin_default(),
        ViewKind::Spotify,
    );
    a.resize(w, h);
    a.now = crate::pg_fixture::now().with_timezone(&chrono::Local);
    a.apply(Update {
        view: ViewKind::Spotify,
        payload: Payload::Health(SourceHealth::Live { at: a.now }),
    });
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

/// Asks the selected question and answers it with `rs`.
fn answer(a: &mut App, rs: ResultSet) {
    let effects = press(a, KeyCode::Enter);
    let id = effects
        .iter()
        .find_map(|e| match e {
            Effect::ToSource(ViewKind::Spotify, SourceCommand::Spotify(c)) => match &**c {
                SpotifyCommand::Ask { id, .. } => Some(*id),
                _ => None,
            },
            _ => None,
        })
        .expect("Enter asks the selected question");
    a.apply(ev(SpotifyEvent::Job(Event::Finished {
        id,
        result: Arc::new(rs),
    })));
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

fn per_day() -> ResultSet {
    ResultSet {
        columns: vec![
            "list_date".into(),
            "country".into(),
            "pos".into(),
            "streams".into(),
        ],
        rows: (1..=30)
            .map(|d| {
                vec![
                    Cell::Text(format!("2017-01-{d:02}")),
                    Cell::Text("us".into()),
                    Cell::Int(1 + (d % 7)),
                    Cell::Int(1_000_000 - d * 1000),
                ]
            })
            .collect(),
        elapsed: Duration::from_millis(20),
        truncated: false,
    }
}
