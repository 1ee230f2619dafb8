//! vlogdump view state: the ring of the newest requests (`vlog::Ring`), streaming statistics
//! (`vlog::Stats`), the active vlogdump filter and the sequence numbers of the rows it keeps
//! (bounded by the ring), selection / follow mode, pause (display frozen at a sequence number
//! while the ring keeps filling), search, the detail pane and the save / find editors.
//! Fed by `Payload::Vlog` from `vlog::source`; drawn by [`render`] from the visible window
//! only (no table snapshot is ever rebuilt). The rows shown and the cursor are in [`rows`],
//! search, the editors and saving in [`actions`].

mod actions;
mod render;
mod rows;

use super::{Ctx, View, ViewCore};
use crate::config::{VlogConfig, VlogLayout};
use crate::keymap::{Action, Modal};
use crate::messages::Payload;
use crate::theme::Theme;
use crate::vlog::{Filter, InputStatus, Request, Ring, Stats, VlogEvent};
use crate::widgets::commands::{Arg, Invocation};
use crate::widgets::scroll::Scroll;
use crate::widgets::selection::Selection;
use crate::wire::{Level, ViewKind};
use chrono::{DateTime, Local};
use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use regex::bytes::Regex;
use std::cell::Cell;
use std::collections::VecDeque;
use std::path::PathBuf;

/// A one-line editor the view draws at the bottom of its area (it owns the keyboard).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditorKind {
    Find,
    Save,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Editor {
    pub kind: EditorKind,
    pub input: String,
}

/// The open detail pane: a copy of one request (so it survives the ring moving on).
#[derive(Clone, Debug)]
pub struct Detail {
    pub request: Box<Request>,
    pub scroll: Scroll,
}

#[derive(Debug)]
pub struct VlogView {
    pub core: ViewCore,
    pub ring: Ring,
    pub stats: Stats,
    /// The filter rows are matched with: the committed one, or a preview while `/` is typed.
    filter: Filter,
    filter_text: String,
    /// The last committed filter (`Enter`, `:filter`, config): a bad preview reverts to it.
    committed: Filter,
    committed_text: String,
    /// The text typed last did not parse (the reason); `Enter` then keeps `committed`.
    preview_error: Option<String>,
    /// The log program's command line (from the last start), shown in the header.
    pub program: Option<String>,
    /// With no source: whether varnishd runs here and how to point at it (from the collector).
    pub hint: Option<String>,
    /// Sequence numbers (push order, 0-based) of the ring entries that pass the filter,
    /// oldest first. Never longer than the ring.
    matches: VecDeque<u64>,
    /// The cursor over `matches` (its id: the sequence number), following the newest row
    /// until moved up. Synced whenever `matches` changes.
    cursor: Selection<u64>,
    /// First row of the window (sequence number), kept so scrolling does not jump.
    top: Option<u64>,
    pub malformed: u64,
    /// Child processes started (a restart makes it 2+).
    pub starts: u32,
    /// Of those restarts, the ones for a new pushed-down `-q` (not failures).
    pub requeries: u32,
    /// The `-q` of the last restart for a new query (`None`: none, or no query).
    pub pushed_query: Option<String>,
    /// `[vlog] push_down`: a committed filter is sent to the source as a `-q` query.
    push_down: bool,
    pub child_pid: Option<u32>,
    /// The input ended for good (file, stdin, replay).
    pub finished: bool,
    pub pane: bool,
    pub detail: Option<Detail>,
    pub editor: Option<Editor>,
    search: Option<Regex>,
    search_text: String,
    pub slow_ms: f64,
    layout: VlogLayout,
    save_dir: Option<PathBuf>,
    /// Statistics follow the data's clock (replayed files) instead of the wall clock.
    data_clock: bool,
    newest_start: f64,
    /// Body rows of the last frame (for paging); a cache written by render.
    page: Cell<u16>,
}

impl Default for VlogView {
    fn default() -> Self {
        VlogView::new(&VlogConfig::default())
    }
}

impl VlogView {
    /// A view set up from `[vlog]` (a bad filter there is rejected at start-up, see run.rs).
    pub fn new(cfg: &VlogConfig) -> VlogView {
        let filter = cfg.parsed_filter().unwrap_or_default();
        VlogView {
            core: ViewCore::default(),
            ring: Ring::new(cfg.ring_size),
            stats: Stats::new(),
            filter_text: filter.to_string(),
            committed_text: filter.to_string(),
            committed: filter.clone(),
            filter,
            preview_error: None,
            program: None,
            hint: None,
            matches: VecDeque::new(),
            cursor: Selection::tail(),
            top: None,
            malformed: 0,
            starts: 0,
            requeries: 0,
            pushed_query: None,
            push_down: cfg.push_down,
            child_pid: None,
            finished: false,
            pane: cfg.pane,
            detail: None,
            editor: None,
            search: None,
            search_text: String::new(),
            slow_ms: cfg.slow.get().as_secs_f64() * 1000.0,
            layout: cfg.batch_layout,
            save_dir: cfg.save_dir.clone(),
            data_clock: cfg.stdin || cfg.file.is_some() || cfg.replay.is_some(),
            newest_start: 0.0,
            page: Cell::new(20),
        }
    }

    /// Child restarts after an exit (restarts for a new `-q` left out).
    pub fn failed_restarts(&self) -> u32 {
        self.starts.saturating_sub(1).saturating_sub(self.requeries)
    }

    pub fn vlog_filter(&self) -> &Filter {
        &self.filter
    }

    /// The text of the filter the rows are matched with (maybe a preview).
    pub fn filter_text(&self) -> &str {
        &self.filter_text
    }

    /// The committed filter's text.
    pub fn committed_filter(&self) -> &str {
        &self.committed_text
    }

    /// Why the text typed last is not applied (shown while `/` is open).
    pub fn preview_error(&self) -> Option<&str> {
        self.preview_error.as_deref()
    }

    /// The rows are filtered by a preview of what is being typed, not the committed filter.
    pub fn is_preview(&self) -> bool {
        self.filter_text != self.committed_text
    }

    /// The time the header statistics are computed at.
    pub fn stats_now(&self, now: DateTime<Local>) -> f64 {
        let wall = now.timestamp_millis() as f64 / 1000.0;
        if self.data_clock && self.newest_start > 0.0 && (wall - self.newest_start).abs() > 120.0 {
            self.newest_start
        } else {
            wall
        }
    }

    fn open_detail(&mut self, ctx: &mut Ctx) {
        if self.cursor.is_following() {
            self.move_cursor(Action::Up);
        }
        match self.selected_request() {
            Some(r) => {
                self.detail = Some(Detail {
                    request: Box::new(r.clone()),
                    scroll: Scroll::default(),
                })
            }
            None => ctx.flash(Level::Info, "no request to show"),
        }
    }
}

/// Parses the `/` prompt text: vlogdump `name=value` words; text without any `=` that is not
/// a flag filters the URL (`/api` = `url=/api`).
/// What [`parse_filter`] accepts, for `?` (keep the two together).
pub const FILTER_SYNTAX: &[(&str, &str)] = &[
    ("TEXT", "a bare text: URL matches the regex TEXT"),
    ("url=RE", "URL matches RE (!RE: does not; also url_match=)"),
    (
        "status=5xx",
        "status code or class, e.g. 404, 5xx (also only_status=)",
    ),
    ("method=RE", "request method (also req_method=)"),
    ("client=RE", "client IP (also client_match=)"),
    ("backend=RE", "backend name"),
    (
        "handling=H,…",
        "hit, miss, pass, pipe, synth, grace… (!H: not)",
    ),
    (
        "slow=MS",
        "at least MS milliseconds (500, 2s; also only_slow=)",
    ),
    (
        "req_headers=RE",
        "a request header line matches (^/$ per line)",
    ),
    ("resp_headers=RE", "a response header line matches"),
    ("only_hits=1", "cache hits only (also hits=1)"),
    ("only_misses=1", "cache misses only (also misses=1)"),
    (
        "A=… B=…",
        "several options: all must match; quote values with spaces",
    ),
];

pub fn parse_filter(text: &str) -> Result<Filter, crate::vlog::filter::FilterError> {
    let t = text.trim();
    match Filter::parse(t) {
        Err(crate::vlog::filter::FilterError::NotNameValue(_)) if !t.contains('=') => {
            Filter::parse(&format!("'url={}'", t.replace('\'', "")))
        }
        other => other,
    }
}

impl View for VlogView {
    fn kind(&self) -> ViewKind {
        ViewKind::Vlog
    }
    fn core(&self) -> &ViewCore {
        &self.core
    }
    fn core_mut(&mut self) -> &mut ViewCore {
        &mut self.core
    }

    fn apply(&mut self, payload: Payload) {
        match payload {
            Payload::Vlog(ev) => match ev {
                VlogEvent::Requests(reqs) => self.push_requests(reqs),
                VlogEvent::Replace(reqs) => self.replace_requests(reqs),
                VlogEvent::Malformed(n) => self.malformed += n,
                VlogEvent::Status(InputStatus::Started { pid, command }) => {
                    self.starts += 1;
                    self.child_pid = pid;
                    self.finished = false;
                    self.program = Some(command);
                }
                VlogEvent::Status(InputStatus::Exited { .. }) => self.child_pid = None,
                VlogEvent::Status(InputStatus::Requery { query }) => {
                    self.requeries += 1;
                    self.pushed_query = query;
                }
                VlogEvent::Status(InputStatus::Finished) => self.finished = true,
                VlogEvent::Hint(h) => self.hint = Some(h),
                VlogEvent::Status(_) | VlogEvent::Stderr(_) | VlogEvent::Summary(_) => {}
            },
            other => self.core.apply(other),
        }
    }

    fn handle(&mut self, action: Action, ctx: &mut Ctx) -> bool {
        match action {
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => self.move_cursor(action),
            Action::Open => self.open_detail(ctx),
            Action::TogglePause => {
                // nothing is held: the ring kept recording
                let held = self.core.toggle_pause(
                    ctx,
                    "paused: the display is frozen, requests are still recorded",
                );
                for p in held {
                    self.core.apply(p);
                }
            }
            Action::TogglePane => self.pane = !self.pane,
            Action::Find => {
                self.editor = Some(Editor {
                    kind: EditorKind::Find,
                    input: self.search_text.clone(),
                })
            }
            Action::FindNext => self.find(true, ctx),
            Action::FindPrev => self.find(false, ctx),
            Action::Save => {
                self.editor = Some(Editor {
                    kind: EditorKind::Save,
                    input: self.default_save_path(Local::now()).display().to_string(),
                })
            }
            Action::SortNext | Action::SortReverse => {
                ctx.flash(Level::Info, "vlog rows stay in arrival order")
            }
            Action::Back if self.search.is_some() => {
                self.search = None;
                self.search_text.clear();
                ctx.flash(Level::Info, "search cleared");
            }
            _ => return false,
        }
        true
    }

    fn modal(&self) -> Option<Modal> {
        if self.editor.is_some() {
            Some(Modal::VlogEditor)
        } else {
            self.detail.is_some().then_some(Modal::VlogDetail)
        }
    }

    /// The find / save line ([`Modal::VlogEditor`]) and the request detail
    /// ([`Modal::VlogDetail`]; its unbound keys go on to the view).
    fn modal_key(&mut self, key: &KeyEvent, action: Option<Action>, ctx: &mut Ctx) -> bool {
        if self.editor.is_some() {
            self.editor_key(key, action, ctx);
            return true;
        }
        self.detail_key(action, ctx.area)
    }

    fn set_filter(&mut self, text: &str, _ctx: &mut Ctx) {
        self.preview_filter(text);
    }

    fn commit_filter(&mut self, ctx: &mut Ctx) {
        self.commit(ctx);
    }

    fn filter(&self) -> String {
        self.filter_text.clone()
    }

    fn command(&mut self, inv: &Invocation, ctx: &mut Ctx) -> bool {
        match (inv.name(), &inv.arg) {
            ("save", _) => {
                let p = if inv.text().is_empty() {
                    self.default_save_path(Local::now()).display().to_string()
                } else {
                    inv.text().to_string()
                };
                self.save_to(&p, ctx);
            }
            ("search", _) => self.set_search(inv.text(), ctx),
            ("slow", Arg::Dur(d)) => {
                self.slow_ms = d.as_secs_f64() * 1000.0;
                ctx.flash(Level::Info, format!("slow from {}", inv.raw));
            }
            _ => return false,
        }
        true
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
        render::render(self, area, buf, theme, now);
    }

    fn status_counts(&self) -> (usize, usize) {
        (self.shown_len(), self.ring.len())
    }

    fn batch_text(&self) -> String {
        let mut s = String::new();
        for r in self.shown() {
            s.push_str(&self.line(r, false));
            s.push('\n');
        }
        s
    }

    fn batch_json(&self) -> Vec<serde_json::Value> {
        self.shown().map(crate::vlog::format::json_value).collect()
    }
}
