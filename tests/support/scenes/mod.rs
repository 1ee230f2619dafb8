//! The screens `tests/snapshots.rs` draws: each a name (the snapshot file's stem, the size is
//! appended), the state in words (the file's header line) and a builder for a `w`x`h` terminal.
//! Data and clocks are fixed; keys go through `App::handle_key` like a user's.

mod pgtop;
mod repl;
mod spotify;
mod vlog;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::messages::Effect;

#[derive(Clone)]
pub struct Scene {
    pub name: &'static str,
    pub state: &'static str,
    pub build: fn(u16, u16) -> App,
}

/// Every scene, tab by tab.
pub fn all() -> Vec<Scene> {
    [
        pgtop::scenes(),
        repl::scenes(),
        vlog::scenes(),
        spotify::scenes(),
    ]
    .concat()
}

/// A key as the terminal reports it (upper-case letters with SHIFT).
pub fn press(a: &mut App, code: KeyCode) -> Vec<Effect> {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    a.handle_key(KeyEvent::new(code, mods))
}

/// Types `s` one character at a time.
pub fn type_str(a: &mut App, s: &str) {
    for c in s.chars() {
        press(a, KeyCode::Char(c));
    }
}
