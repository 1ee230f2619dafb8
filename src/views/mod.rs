//! Views: one folder per tab, listed once in [`registry`]. A view owns its state, applies
//! collector payloads, turns actions into state changes (and [`Effect`]s for collectors), and
//! renders as a pure function of that state. No I/O and no tokio here.

pub mod pause;
pub mod pgtop;
pub mod registry;
pub mod repl;
pub mod spotify;
pub mod vlog;

use crate::keymap::{Action, Modal};
use crate::messages::{Effect, Payload};
use crate::theme::Theme;
use crate::widgets::commands::Invocation;
use crate::widgets::table::{render_empty, TableData, TableState};
use crate::wire::{Level, SourceHealth, ViewKind};
use chrono::{DateTime, Local};
use crossterm::event::KeyEvent;
use pause::Held;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// What a view may ask of the app while handling an action.
#[derive(Debug, Default)]
pub struct Ctx {
    pub read_only: bool,
    /// The view's area on screen as it will be drawn (views that page by what fits use it).
    pub area: Rect,
    pub flash: Option<(Level, String)>,
    pub effects: Vec<Effect>,
}

impl Ctx {
    pub fn flash(&mut self, level: Level, text: impl Into<String>) {
        self.flash = Some((level, text.into()));
    }
}

/// The interface every tab implements (reached through [`registry::Views::get`]).
pub trait View {
    fn kind(&self) -> ViewKind;
    fn core(&self) -> &ViewCore;
    fn core_mut(&mut self) -> &mut ViewCore;

    /// Applies a collector payload.
    fn apply(&mut self, payload: Payload) {
        self.core_mut().apply(payload);
    }

    /// Handles an action; returns false when the view does not use it.
    fn handle(&mut self, action: Action, ctx: &mut Ctx) -> bool {
        self.core_mut().handle_common(action, ctx)
    }

    /// The dialog, pane or editor that owns the keyboard now, if any: its keys are looked
    /// up in the keymap ([`Modal`]) and handed to [`View::modal_key`].
    fn modal(&self) -> Option<Modal> {
        None
    }

    /// A key while [`View::modal`] is shown, with the action the keymap binds to it in that
    /// state (`None`: an unbound key, e.g. text typed into an editor). Return true when
    /// consumed; the view's and global keys are not consulted then.
    fn modal_key(&mut self, key: &KeyEvent, action: Option<Action>, ctx: &mut Ctx) -> bool {
        let _ = (key, action, ctx);
        false
    }

    /// A scrollable detail pane is open and on top: the keymap's detail bindings (the
    /// `Scroll*` actions) are looked up before the view's own, so scrolling never moves the
    /// list. Views that return true handle those actions.
    fn detail_open(&self) -> bool {
        false
    }

    /// Sets the filter typed at the `/` prompt (live, on every key). Views with their own
    /// filter language parse it here and report errors with `ctx.flash`.
    fn set_filter(&mut self, text: &str, ctx: &mut Ctx) {
        let _ = ctx;
        self.core_mut().table.set_filter(text);
    }

    /// The filter was committed (`Enter` at the `/` prompt, `Esc` there or on the view,
    /// `:filter`). `set_filter` runs on every key; work that must not happen per keystroke
    /// (vlog: restarting `varnishlog` with a new `-q`) goes here.
    fn commit_filter(&mut self, ctx: &mut Ctx) {
        let _ = ctx;
    }

    /// The current filter text, as the `/` prompt should show it.
    fn filter(&self) -> String {
        self.core().table.filter.clone()
    }

    /// One of the view's own `:` commands (declared in [`crate::widgets::commands::COMMANDS`],
    /// parsed there; match on `inv.name()`). Return true when it was the view's.
    fn command(&mut self, inv: &Invocation, ctx: &mut Ctx) -> bool {
        let _ = (inv, ctx);
        false
    }

    /// Renders the view body.
    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
        let _ = now;
        self.core().render(area, buf, theme, self.empty_text());
    }

    /// `(shown, total)` rows for the status line.
    fn status_counts(&self) -> (usize, usize) {
        let t = &self.core().table;
        (t.visible_len(), t.data.rows.len())
    }

    /// What to show when there are no rows.
    fn empty_text(&self) -> &str {
        "no data yet"
    }

    /// Batch mode: a text snapshot.
    fn batch_text(&self) -> String {
        self.core().table.to_text()
    }

    /// Batch mode: the exit code this snapshot calls for (pgtop: a query over the slow or
    /// critical threshold, see `cli::exit`); `None` = the usual codes.
    fn batch_exit_code(&self) -> Option<i32> {
        None
    }

    /// Batch mode: `true` when the run's exit code is that of the last snapshot printed with
    /// data (repl: the final state, so a server that came back gives 0); `false` (default,
    /// pgtop) when it is the worst of all the snapshots printed.
    fn batch_exit_from_last(&self) -> bool {
        false
    }

    /// Batch mode: the `"type"` of a row record (pgtop: `"session"`).
    fn batch_row_type(&self) -> &'static str {
        "row"
    }

    /// Batch mode: a view-specific name for the row count in the snapshot record (pgtop:
    /// `"sessions"`), besides `"rows"`.
    fn batch_count_key(&self) -> Option<&'static str> {
        None
    }

    /// Batch mode: one JSON object per row.
    fn batch_json(&self) -> Vec<serde_json::Value> {
        let t = &self.core().table;
        t.visible_rows()
            .map(|r| {
                let obj: serde_json::Map<String, serde_json::Value> = t
                    .data
                    .columns
                    .iter()
                    .zip(&r.cells)
                    .map(|(c, v)| (c.title.to_lowercase(), serde_json::Value::String(v.clone())))
                    .collect();
                serde_json::Value::Object(obj)
            })
            .collect()
    }
}

/// State every view has: the table, the source health, pause and what arrived while paused.
#[derive(Debug, Default)]
pub struct ViewCore {
    pub table: TableState,
    pub health: SourceHealth,
    /// Updates are not shown (`p`); see [`pause`] for the mechanism.
    pub paused: bool,
    /// What arrived while paused: kept to be applied on resume, and counted.
    pub held: Held<Payload>,
    /// A whole table set while paused ([`ViewCore::set_table`]), shown when the pause ends.
    pub held_table: Option<TableData>,
    /// The detail pane of the selected row is open.
    pub detail: bool,
    /// When the source last delivered data (the `at` of its last `Live` health; set by
    /// `App::apply`), kept while it is down so the status line can say how old the data is.
    pub last_data: Option<DateTime<Local>>,
}

impl ViewCore {
    pub fn apply(&mut self, payload: Payload) {
        match payload {
            Payload::Health(h) => self.health = h,
            Payload::Notice { .. }
            | Payload::Pg(_)
            | Payload::PgReply(_)
            | Payload::Repl(_)
            | Payload::Vlog(_)
            | Payload::Spotify(_)
            | Payload::Replay(_) => {}
        }
    }

    /// A ready-made table (tests and the draw bench: no source sends whole tables): shown now,
    /// or, while paused, counted and the newest kept until the pause ends.
    pub fn set_table(&mut self, t: TableData) {
        if self.paused {
            self.held.count(1);
            self.held_table = Some(t);
        } else {
            self.table.set_data(t);
        }
    }
    /// Navigation, sorting, pause and the detail pane: what all tables share.
    pub fn handle_common(&mut self, action: Action, ctx: &mut Ctx) -> bool {
        let page = self.table.page_step();
        match action {
            Action::Up => self.table.move_by(-1),
            Action::Down => self.table.move_by(1),
            Action::PageUp => self.table.move_by(-page),
            Action::PageDown => self.table.move_by(page),
            Action::Top => self.table.top(),
            Action::Bottom => self.table.bottom(),
            Action::SortNext => self.table.sort_next(),
            Action::SortReverse => self.table.sort_reverse(),
            Action::Open => self.detail = self.table.selected().is_some() && !self.detail,
            Action::TogglePause => {
                for p in self.toggle_pause(ctx, pause::KEPT_NOT_SHOWN) {
                    self.apply(p);
                }
            }
            _ => return false,
        }
        true
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, empty: &str) {
        if self.table.data.rows.is_empty() {
            render_empty(area, buf, theme, empty);
            return;
        }
        self.table.render(area, buf, theme, true);
        if self.table.visible_len() == 0 {
            render_empty(area, buf, theme, "no row matches the filter");
        }
    }
}
