//! `:` commands run by the app: the ones every view has (quit, help, filter, connect, replay's
//! goto and speed, pause, refresh, theme, a tab's name); the active view runs its own. One
//! table parses them all ([`crate::widgets::commands`]) and `?` lists them.

use super::App;
use crate::keymap::Action;
use crate::messages::Effect;
use crate::wire::replay::ReplayCommand;
use crate::wire::{Level, ViewKind};
use std::time::Duration;

impl App {
    /// `:` commands, parsed with the one table ([`crate::widgets::commands`]): the app runs the
    /// ones every view has, the active view its own. `?` lists them.
    pub fn run_command(&mut self, line: &str) -> Vec<Effect> {
        let effects = self.run_command_inner(line);
        self.replay_guard(effects)
    }

    fn run_command_inner(&mut self, line: &str) -> Vec<Effect> {
        use crate::widgets::commands::{self, Arg};
        let inv = match commands::parse(self.active, line) {
            Ok(Some(inv)) => inv,
            Ok(None) => return Vec::new(),
            Err(e) => {
                self.set_flash(Level::Error, commands::error_text(self.active, &e));
                return Vec::new();
            }
        };
        if !inv.cmd.is_global() {
            return self.on_view(|v, ctx| v.command(&inv, ctx)).1;
        }
        match (inv.name(), &inv.arg) {
            ("quit", _) => self.handle_action(Action::Quit),
            ("help", _) => {
                self.help = true;
                self.help_scroll = 0;
                Vec::new()
            }
            ("filter", _) => self.set_view_filter(inv.text(), true),
            ("connect", _) => vec![Effect::StartSource(self.active)],
            ("goto", _) => self.replay_command(ReplayCommand::Goto(inv.text().to_string())),
            ("speed", Arg::N(n)) => self.replay_command(ReplayCommand::Speed(*n as u32)),
            ("pause", _) => self.handle_action(Action::TogglePause),
            ("refresh", Arg::Dur(d)) if *d >= Duration::from_millis(100) => self.set_refresh(*d),
            ("refresh", _) => {
                self.set_flash(
                    Level::Error,
                    format!(
                        ":refresh: expected a duration of at least 100ms, got '{}'",
                        inv.raw
                    ),
                );
                Vec::new()
            }
            ("theme", _) => {
                let arg = inv.text();
                match crate::theme::load(
                    arg,
                    crate::config::config_dir()
                        .map(|d| d.join("themes"))
                        .as_deref(),
                ) {
                    Ok(t) => {
                        // NO_COLOR / --no-color hold for the run: a new theme keeps its
                        // modifiers, never its colours.
                        self.theme = t.colorless_if(self.theme.colorless);
                        self.set_flash(Level::Info, format!("theme {arg}"));
                    }
                    Err(e) => self.set_flash(Level::Error, e.to_string()),
                }
                Vec::new()
            }
            (name, _) => match ViewKind::parse(name) {
                Some(k) => self.handle_action(Action::GoTab(k)),
                None => Vec::new(),
            },
        }
    }
}
