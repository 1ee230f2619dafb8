//! An `App` fed by the TUI replay's own time cursor (`stacktop::replay::cursor::Cursor`), as
//! `stacktop replay FILE` feeds it (the updates the cursor hands over, in order) but without
//! the replay status (no timeline row), so its screen compares with the live one.

use std::path::Path;

use stacktop::app::App;
use stacktop::config::Config;
use stacktop::messages::Update;
use stacktop::record::store::Reader;
use stacktop::replay::cursor::Cursor;
use stacktop::theme::Theme;
use stacktop::wire::ViewKind;

use super::replay::{local, screen, H, W};

pub struct CursorApp {
    pub app: App,
    pub cursor: Cursor,
    /// every update handed over so far, in order
    pub handed: Vec<Update>,
}

impl CursorApp {
    /// A fresh app on `start` and a cursor on the recording at `path`, the cursor's opening
    /// state applied (as the replay source sends it first).
    pub fn open(cfg: Config, start: ViewKind, path: &Path) -> CursorApp {
        let reader = Reader::open(path).unwrap_or_else(|e| panic!("{e}"));
        let cursor = Cursor::open(reader, "test").unwrap_or_else(|e| panic!("{e}"));
        let mut app = App::new(cfg, Theme::builtin_default(), start);
        app.resize(W, H);
        let mut c = CursorApp {
            app,
            cursor,
            handed: Vec::new(),
        };
        let first = c.cursor.state();
        c.apply(first);
        c
    }

    fn apply(&mut self, updates: Vec<Update>) {
        for u in updates {
            self.handed.push(u.clone());
            self.app.apply(u);
        }
    }

    /// Plays forward to `t` (every record passed, as playing does); the screen at `t`.
    pub fn play_to(&mut self, t: i64) -> String {
        let (u, _) = self.cursor.advance_to(t).expect("advance");
        self.apply(u);
        self.app.tick(local(t));
        screen(&self.app)
    }

    /// `:goto` `t` (a jump: the state at `t`); the screen at `t`.
    pub fn goto(&mut self, t: i64) -> String {
        let u = self.cursor.goto(t).expect("goto");
        self.apply(u);
        self.app.tick(local(t));
        screen(&self.app)
    }
}
