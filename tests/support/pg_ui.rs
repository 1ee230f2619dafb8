//! The real `App` fed by the real pgtop source (`sources::spawn_with_env`, hermetic env),
//! keys pressed as a user would, effects routed to the source like the run loop does (no
//! terminal), and bounded waits on the app's state.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::{Effect, Update, UPDATE_CHANNEL};
use stacktop::theme::Theme;
use stacktop::tui::SourceHandles;
use stacktop::wire::ViewKind;
use tokio::sync::mpsc;

pub struct PgUi {
    pub app: App,
    pub rx: mpsc::Receiver<Update>,
    pub handles: SourceHandles,
}

/// The pgtop source of `cfg`, in this process, cut off from the developer's environment: no
/// PG* variables, `~/.pgpass` or OS user, and no home or `XDG_STATE_HOME`, so no slow log or
/// Slack outbox at a default path: only where the test names one. Call inside a tokio
/// runtime.
pub fn spawn_pgtop(cfg: &Config, tx: mpsc::Sender<Update>) -> SourceHandles {
    let env = stacktop::pg::conninfo::Env {
        vars: Box::new(|_| None),
        home: None,
        os_user: Some("stacktop-test".into()),
    };
    stacktop::sources::spawn_with_env(cfg, Some(ViewKind::Pgtop), tx, &env)
}

impl PgUi {
    /// Starts the pgtop source of `cfg` ([`spawn_pgtop`]; call inside a tokio runtime).
    pub fn start(cfg: Config) -> PgUi {
        let (tx, rx) = mpsc::channel(UPDATE_CHANNEL);
        let handles = spawn_pgtop(&cfg, tx);
        let app = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);
        PgUi { app, rx, handles }
    }

    /// What the run loop does with effects: commands go to the source without waiting.
    pub fn route(&self, effects: Vec<Effect>) {
        for e in effects {
            if let Effect::ToSource(v, cmd) = e {
                if let Some(tx) = self.handles.get(&v) {
                    tx.try_send(cmd).expect("source command queue");
                }
            }
        }
    }

    pub fn key(&mut self, c: char) {
        self.press(KeyCode::Char(c));
    }

    pub fn press(&mut self, code: KeyCode) {
        let mods = match code {
            KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
            _ => KeyModifiers::NONE,
        };
        let e = self.app.handle_key(KeyEvent::new(code, mods));
        self.route(e);
    }

    /// Applies updates until `cond` holds; panics after `limit` naming `what`, the source's
    /// health, the listed sessions and the open dialog.
    pub async fn until(&mut self, what: &str, limit: Duration, cond: impl Fn(&App) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !cond(&self.app) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(u)) => self.app.apply(u),
                Ok(None) => panic!("source ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out after {limit:?} waiting for {what}; health: {}; listed: {:?}; dialog: {:?}",
                    self.app.pgtop.core.health.describe(),
                    self.app
                        .pgtop
                        .listed()
                        .iter()
                        .map(|s| (s.pid, s.state.as_str().to_string(), s.query.clone(), s.query_id))
                        .collect::<Vec<_>>(),
                    self.app.pgtop.dialog.as_ref().map(|d| d.lines(chrono::Utc::now()))
                ),
            }
        }
    }
}
