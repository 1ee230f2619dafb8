//! The application state and its update functions. `App` owns the views (one per tab, in
//! [`Views`]; `app.pgtop` reads through to them), the prompt,
//! the help overlay and flash messages. Keys come in through [`App::handle_key`] (overlays and
//! prompts first, then the keymap), collector updates through [`App::apply`]. Both are
//! synchronous and need no terminal, so tests drive the whole app with key sequences. In
//! `stacktop replay PATH` the app also holds the time cursor (`replay`; keys and the guard
//! that keeps effects from any server: [`crate::screen::replay`]). The prompt's keys are in
//! [`prompt`], the `:` commands the app runs in [`command`].

use crate::config::Config;
use crate::keymap::{Action, Keymap, Modal};
use crate::messages::{Effect, SourceCommand, Update};
use crate::screen::help_text;
use crate::screen::layout;
use crate::theme::Theme;
use crate::views::registry::{self, Views};
use crate::views::{Ctx, View};
use crate::wire::{Level, SourceHealth, ViewKind};
use chrono::{DateTime, Local};
use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::layout::Rect;
use std::time::{Duration, Instant};

mod command;
mod prompt;

pub use prompt::{Prompt, PromptKind};

/// What a key or command that would change a server says in replay.
pub const REPLAY_READ_ONLY: &str = "replay: read-only — kill keys do nothing";

/// A status-line message that disappears after a few seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Flash {
    pub level: Level,
    pub text: String,
    pub until: Instant,
}

/// Everything the UI shows.
pub struct App {
    pub active: ViewKind,
    /// One view per tab ([`App::view`] by kind; also reachable as `app.pgtop` etc.).
    pub views: Views,
    pub keymap: Keymap,
    pub theme: Theme,
    pub config: Config,
    pub help: bool,
    /// First line of the help overlay shown (it scrolls when taller than the screen).
    pub help_scroll: u16,
    pub prompt: Option<Prompt>,
    pub flash: Option<Flash>,
    pub should_quit: bool,
    /// Something changed since the last draw.
    pub dirty: bool,
    /// The app clock, advanced by [`App::tick`]; drawing reads it instead of the system clock.
    pub now: DateTime<Local>,
    pub refresh: Duration,
    /// The terminal size ([`App::resize`]); views page and scroll by what fits in it.
    pub screen: Rect,
    /// `stacktop replay PATH`: the time cursor (set by the replay source's updates). While
    /// set, the app is read-only, its clock is the cursor, and only replay commands reach the
    /// source ([`App::replay_guard`]).
    pub replay: Option<crate::wire::replay::ReplayStatus>,
}

/// `app.pgtop`, `app.vlog`, …: the views by name (tests and benches read them so).
impl std::ops::Deref for App {
    type Target = Views;
    fn deref(&self) -> &Views {
        &self.views
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut Views {
        &mut self.views
    }
}

impl App {
    pub fn new(config: Config, theme: Theme, start: ViewKind) -> App {
        let refresh = config.ui.refresh.get();
        let theme = theme.colorless_if(config.ui.no_color);
        // Start-up refuses a bad `[keys]`; one that gets here anyway is not half applied.
        let (keymap, key_problem) = match Keymap::with_keys(&config.keys) {
            Ok(k) => (k, None),
            Err(p) => (Keymap::default(), p.into_iter().next()),
        };
        let mut app = App {
            active: start,
            views: Views::new(&config),
            keymap,
            theme,
            config,
            help: false,
            help_scroll: 0,
            prompt: None,
            flash: None,
            should_quit: false,
            dirty: true,
            now: Local::now(),
            refresh,
            screen: Rect::new(0, 0, 80, 24),
            replay: None,
        };
        if let Some(p) = key_problem {
            app.set_flash(Level::Error, format!("[keys] not applied: {p}"));
        }
        app
    }

    /// The terminal has this size now (at start and on every resize event).
    pub fn resize(&mut self, width: u16, height: u16) {
        self.screen = Rect::new(0, 0, width, height);
        self.dirty = true;
    }

    pub fn view(&self, k: ViewKind) -> &dyn View {
        self.views.get(k)
    }

    pub fn view_mut(&mut self, k: ViewKind) -> &mut dyn View {
        self.views.get_mut(k)
    }

    pub fn active_view(&self) -> &dyn View {
        self.view(self.active)
    }

    pub fn read_only(&self) -> bool {
        self.replay.is_some()
            || self.config.ui.read_only
            || (registry::tab(self.active).read_only)(&self.config)
    }

    pub fn set_flash(&mut self, level: Level, text: impl Into<String>) {
        let secs = self.config.ui.flash.get();
        self.flash = Some(Flash {
            level,
            text: text.into(),
            until: Instant::now() + secs,
        });
        self.dirty = true;
    }

    /// Advances the clock and expires flash messages.
    pub fn tick(&mut self, now: DateTime<Local>) {
        // in replay the clock is the time cursor, never the wall clock
        self.now = self.replay.as_ref().map_or(now, |r| r.cursor());
        if self
            .flash
            .as_ref()
            .is_some_and(|f| f.until <= Instant::now())
        {
            self.flash = None;
        }
        self.dirty = true;
    }

    /// Applies a collector update to its view.
    pub fn apply(&mut self, update: Update) {
        if let crate::messages::Payload::Replay(r) = update.payload {
            self.replay = Some(*r);
            self.tick(self.now);
            return;
        }
        if let crate::messages::Payload::Notice { level, text } = &update.payload {
            if update.view == self.active || *level == Level::Error {
                self.set_flash(*level, text.clone());
            }
        }
        let view = self.view_mut(update.view);
        view.apply(update.payload);
        let core = view.core_mut();
        if let crate::wire::SourceHealth::Live { at } = core.health {
            core.last_data = Some(at);
        }
        if update.view == self.active {
            self.dirty = true;
        }
    }

    /// Handles one key press. Overlays and the prompt get it first, then the keymap.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let effects = self.handle_key_inner(key);
        self.replay_guard(effects)
    }

    fn handle_key_inner(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind != KeyEventKind::Press {
            return Vec::new();
        }
        self.dirty = true;
        if self.prompt.is_some() {
            return self.prompt_key(key);
        }
        if !self.help && self.active_view().detail_open() {
            // An open detail pane scrolls with its own keys (j/k would move the list).
            if let Some(action) = self.keymap.lookup_detail(self.active, &key) {
                return self.dispatch_to_view(action);
            }
        }
        if self.help {
            return self.help_key(&key);
        }
        if let Some(m) = self.active_view().modal() {
            // A view's dialog, pane or editor (e.g. a kill confirmation) gets the key first,
            // with what the keymap binds to it in that state.
            let action = self.keymap.lookup_modal(m, &key);
            let (handled, effects) = self.on_view(|v, ctx| v.modal_key(&key, action, ctx));
            if handled {
                return effects;
            }
        }
        let Some(action) = self.keymap.lookup(self.active, &key) else {
            return Vec::new();
        };
        self.handle_action(action)
    }

    /// The help overlay swallows everything but its own keys ([`Modal::Help`]) and quit.
    fn help_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let action = self
            .keymap
            .lookup_modal(Modal::Help, key)
            .or_else(|| self.keymap.lookup(self.active, key));
        let (page, max) = help_text::scroll_limits(
            &help_text::entries(self.active_view(), &self.keymap),
            layout::body_area_in(self.screen, self.replay.is_some()),
        );
        let s = &mut self.help_scroll;
        match action {
            Some(Action::ToggleHelp | Action::Back) => self.help = false,
            Some(Action::Quit) => return self.handle_action(Action::Quit),
            Some(Action::Up) => *s = s.saturating_sub(1),
            Some(Action::Down) => *s = s.saturating_add(1).min(max),
            Some(Action::PageUp) => *s = s.saturating_sub(page),
            Some(Action::PageDown) => *s = s.saturating_add(page).min(max),
            Some(Action::Top) => *s = 0,
            Some(Action::Bottom) => *s = max,
            _ => {}
        }
        Vec::new()
    }

    /// Performs an action (also used by `:` commands and tests).
    pub fn handle_action(&mut self, action: Action) -> Vec<Effect> {
        let effects = self.handle_action_inner(action);
        self.replay_guard(effects)
    }

    fn handle_action_inner(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        if action.is_replay() {
            return self.replay_action(action);
        }
        if action.changes_server() && self.replay.is_some() {
            self.set_flash(Level::Warn, REPLAY_READ_ONLY);
            return Vec::new();
        }
        match action {
            Action::Quit => {
                self.should_quit = true;
                return vec![Effect::Quit];
            }
            Action::Suspend => return vec![Effect::Suspend],
            Action::Bundle => return vec![Effect::Bundle],
            Action::NextTab => self.switch(self.active.next().index()),
            Action::PrevTab => self.switch(self.active.prev().index()),
            Action::GoTab(k) => self.switch(k.index()),
            Action::ToggleHelp => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::OpenFilter => {
                let previous = self.view(self.active).filter();
                self.prompt = Some(Prompt {
                    kind: PromptKind::Filter,
                    input: previous.clone(),
                    previous,
                });
            }
            Action::OpenCommand | Action::SetRefresh => {
                let input = if action == Action::SetRefresh {
                    "refresh "
                } else {
                    ""
                };
                self.prompt = Some(Prompt {
                    kind: PromptKind::Command,
                    input: input.to_string(),
                    previous: String::new(),
                })
            }
            Action::Refresh => {
                return vec![Effect::ToSource(self.active, SourceCommand::RefreshNow)]
            }
            Action::FasterRefresh | Action::SlowerRefresh => return self.change_refresh(action),
            // a tab without a source: Enter starts it (the view has nothing to open anyway)
            // (not where the source starts on the first request: the explorer's Enter asks
            // a question)
            Action::Open
                if !crate::sources::starts_on_first_request(self.active)
                    && self.view(self.active).core().health == SourceHealth::Idle
                    && self.view(self.active).status_counts().1 == 0 =>
            {
                return vec![Effect::StartSource(self.active)]
            }
            _ => return self.dispatch_to_view(action),
        }
        Vec::new()
    }

    /// Runs `f` on the active view with a fresh [`Ctx`], applies the flash it set and returns
    /// whether it handled the input, plus its effects.
    fn on_view(&mut self, f: impl FnOnce(&mut dyn View, &mut Ctx) -> bool) -> (bool, Vec<Effect>) {
        let mut ctx = Ctx {
            read_only: self.read_only(),
            area: layout::body_area_in(self.screen, self.replay.is_some()),
            ..Ctx::default()
        };
        let handled = f(self.view_mut(self.active), &mut ctx);
        if let Some((level, text)) = ctx.flash.take() {
            self.set_flash(level, text);
        }
        (handled, ctx.effects)
    }

    fn dispatch_to_view(&mut self, action: Action) -> Vec<Effect> {
        let (handled, mut effects) = self.on_view(|v, ctx| v.handle(action, ctx));
        if !handled && action == Action::Back && !self.view(self.active).filter().is_empty() {
            // Esc with nothing to close clears the filter.
            let (_, more) = self.on_view(|v, ctx| {
                v.set_filter("", ctx);
                v.commit_filter(ctx);
                ctx.flash(Level::Info, "filter cleared");
                true
            });
            effects.extend(more);
        }
        effects
    }

    /// Sets the active view's filter (the view decides what the text means); `commit` when
    /// the edit is done (not while it is typed).
    fn set_view_filter(&mut self, text: &str, commit: bool) -> Vec<Effect> {
        self.on_view(|v, ctx| {
            v.set_filter(text, ctx);
            if commit {
                v.commit_filter(ctx);
            }
            true
        })
        .1
    }

    fn switch(&mut self, index: usize) {
        if let Some(k) = ViewKind::from_index(index) {
            self.active = k;
        }
    }

    fn change_refresh(&mut self, action: Action) -> Vec<Effect> {
        let ms = self.refresh.as_millis() as u64;
        let next = if action == Action::FasterRefresh {
            (ms / 2).max(250)
        } else {
            (ms * 2).min(60_000)
        };
        self.set_refresh(Duration::from_millis(next))
    }

    fn set_refresh(&mut self, d: Duration) -> Vec<Effect> {
        self.refresh = d;
        self.set_flash(
            Level::Info,
            format!("refresh every {}", humantime::format_duration(d)),
        );
        ViewKind::ALL
            .iter()
            .map(|&k| Effect::ToSource(k, SourceCommand::SetInterval(d)))
            .collect()
    }
}
