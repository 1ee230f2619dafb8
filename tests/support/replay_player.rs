//! The App and the replay source (its player and marks threads) as `stacktop replay` runs
//! them, minus the terminal: keys go to the app, its replay commands to the source's channels
//! (as the run loop sends them), and the source's updates back to the app. For the tests of
//! the TUI replay against a store (`replay_pg_tui`, `replay_follow`).

use std::time::Duration;

use chrono::Local;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Effect, Payload, Update, UPDATE_CHANNEL};
use stacktop::replay::{source, tui};
use stacktop::sources::SourceHandles;
use stacktop::theme::Theme;
use stacktop::wire::replay::ReplayStatus;
use tokio::sync::mpsc;

use super::replay::{screen, H, W};

/// How long an answer of the player may take.
pub const LIMIT: Duration = Duration::from_secs(20);

pub struct Driven {
    pub app: App,
    pub rx: mpsc::Receiver<Update>,
    pub handles: SourceHandles,
    pub player: std::thread::JoinHandle<()>,
    /// cursor statuses applied (one ends every answer of the player; the marks' reports
    /// bring some too)
    pub statuses: u64,
}

impl Driven {
    /// The app (at [`W`]x[`H`], with `cfg`) and the source of the opened recording.
    pub fn start(o: tui::Opened, cfg: Config) -> Driven {
        let mut app = App::new(cfg, Theme::builtin_default(), o.start.unwrap_or_default());
        app.resize(W, H);
        app.apply(tui::status_update(&o.status));
        let (tx, rx) = mpsc::channel(UPDATE_CHANNEL);
        let (handles, player) = source::spawn(o.cursor, o.status, o.rules, o.target, tx);
        Driven {
            app,
            rx,
            handles,
            player,
            statuses: 0,
        }
    }

    /// Applies the source's updates until `done` holds; false after `limit`.
    pub async fn pump_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Driven) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(u)) => {
                    if matches!(u.payload, Payload::Replay(_)) {
                        self.statuses += 1;
                    }
                    self.app.apply(u);
                    self.app.tick(Local::now());
                }
                Ok(None) => panic!("the replay source ended"),
                Err(_) => return false,
            }
        }
        true
    }

    /// [`Driven::pump_until`] `cond` within [`LIMIT`], failing with `what` and the screen.
    pub async fn until(&mut self, what: &str, cond: impl FnMut(&Driven) -> bool) {
        let ok = self.pump_until(LIMIT, cond).await;
        assert!(
            ok,
            "{what}: not seen within {LIMIT:?}; flash {:?}\n{}",
            self.flash(),
            screen(&self.app)
        );
    }

    /// Waits for the timeline's marks to be read (after that, only commands bring statuses,
    /// unless the recording grows).
    pub async fn settle(&mut self) {
        self.until("marks read", |d| {
            d.app.replay.as_ref().is_some_and(|r| r.scanned_pct == 100)
        })
        .await;
    }

    /// A key as the terminal sends it; when it sends a command, waits for a status after it
    /// (the answer, or a marks' report before it: wait for what the answer shows).
    pub async fn key(&mut self, code: KeyCode) {
        let mods = if matches!(code, KeyCode::Char(c) if c.is_ascii_uppercase()) {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        let effects = self.app.handle_key(KeyEvent::new(code, mods));
        let effects = self.app.replay_guard(effects);
        let mut sent = false;
        for e in effects {
            if let Effect::ToSource(view, cmd) = e {
                self.handles[&view].try_send(cmd).unwrap();
                sent = true;
            }
        }
        if sent {
            let want = self.statuses + 1;
            let ok = self.pump_until(LIMIT, |d| d.statuses >= want).await;
            assert!(ok, "no answer to {code:?}:\n{}", screen(&self.app));
        }
    }

    /// A `:` command line.
    pub async fn command(&mut self, line: &str) {
        self.key(KeyCode::Char(':')).await;
        for c in line.chars() {
            self.key(KeyCode::Char(c)).await;
        }
        self.key(KeyCode::Enter).await;
    }

    pub fn flash(&self) -> String {
        self.app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }

    /// The cursor's status as the app has it.
    pub fn status(&self) -> ReplayStatus {
        self.app.replay.clone().expect("a replay status")
    }

    pub fn store_error(&self) -> Option<String> {
        self.app.replay.as_ref().and_then(|r| r.store_error.clone())
    }

    pub fn status_line(&self) -> String {
        screen(&self.app)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    }
}
