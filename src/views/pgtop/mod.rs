//! pgtop: `pg_stat_activity` as a live top. State and the key dispatch live here; a snapshot
//! becomes the list in [`snapshot`], the list logic is in [`rows`] (its columns are defined
//! once, in `pg::columns`), the `/` filter in [`filter`], what keys and commands do in
//! [`actions`], the kill confirmation in [`dialogs`], the lock tree in [`locks`], the waits pane
//! in [`waits_pane`], drawing in [`render`]. Data arrives as `Payload::Pg` snapshots from
//! `pg::source`; requests (signals, EXPLAIN, thresholds) leave as `SourceCommand::Pg` effects
//! and their answers come back as `Payload::PgReply`. Nothing here does I/O.

pub mod actions;
pub mod dialogs;
pub mod filter;
pub mod filter_editor;
pub mod groups;
pub mod header;
pub mod locks;
pub mod locks_render;
pub mod render;
pub mod rows;
pub mod snapshot;
pub mod waits_pane;
pub mod widths;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, Utc};
use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::{Ctx, View, ViewCore};
use crate::config::PgtopConfig;
use crate::keymap::{Action, Modal};
use crate::messages::{Effect, Payload, SourceCommand};
use crate::pg::activity::{ConnState, PgSnapshot, Session};
use crate::pg::classify::{DurationBasis, Thresholds};
use crate::pg::kill::{KillExclusions, SignalKind};
use crate::pg::msg::{PgReply, PgRequest};
use crate::theme::Theme;
use crate::widgets::commands::Invocation;
use crate::widgets::scroll::Scroll;
use crate::wire::{Level, ViewKind};
use dialogs::{KillDialog, Stage};
use filter_editor::FilterEdit;
use rows::DURATION_COL;

/// How long the order stays frozen after the cursor moved.
pub const FREEZE_AFTER_NAV: Duration = Duration::from_secs(3);

/// The detail pane (`Enter`).
#[derive(Clone, Debug)]
pub struct Detail {
    pub pid: i32,
    /// the session as last seen (kept when it ends)
    pub last: Session,
    pub ended: bool,
    /// `e`: `None` not asked, `Some(None)` waiting, `Some(Some(..))` answered
    pub explain: Option<Option<Result<Vec<String>, String>>>,
    /// first row shown (j/k, PgUp/PgDn/Space, g/G inside the pane); a new detail starts at 0
    pub scroll: Scroll,
}

impl Detail {
    fn new(s: &Session) -> Detail {
        Detail {
            pid: s.pid,
            last: s.clone(),
            ended: false,
            explain: None,
            scroll: Scroll::default(),
        }
    }
}

#[derive(Debug)]
pub struct PgtopView {
    pub core: ViewCore,
    /// latest snapshot with data; dropped when the connection is lost (rows from before a
    /// disconnect are never shown as current)
    pub snap: Option<std::sync::Arc<PgSnapshot>>,
    /// when the last snapshot with data was taken (local clock), kept across a disconnect
    pub last_data: Option<DateTime<Utc>>,
    pub status: ConnState,
    pub thresholds: Thresholds,
    pub exclusions: KillExclusions,
    pub basis: DurationBasis,
    /// idle sessions and background processes too (`i`)
    pub show_all: bool,
    /// The `/` filter (derefs to the one in effect; a bad one is never applied).
    pub filter: FilterEdit,
    pub sort: (usize, bool),
    /// tagged backends: (pid, backend_start) so a recycled pid is not tagged
    pub tagged: BTreeSet<(i32, Option<DateTime<Utc>>)>,
    pub dialog: Option<KillDialog>,
    pub detail: Option<Detail>,
    pub locks: bool,
    /// the line under the cursor in the lock tree
    pub lock_cursor: locks::Cursor,
    /// `w`: waits over time (the sample ring is fed by every snapshot)
    pub waits: waits_pane::Waits,
    nav_at: Option<Instant>,
    /// pids in list order, as last shown (for the frozen order)
    order: Vec<i32>,
    /// `name` from config, for the header
    pub server: String,
    /// Slack delivery state from the latest snapshot of any kind (current even while paused)
    pub alerts: Option<crate::pg::slack::AlertStatus>,
    /// `F`: grouped by query fingerprint, or the list narrowed to one group
    pub groups: groups::Groups,
}

impl Default for PgtopView {
    fn default() -> Self {
        PgtopView::new(&PgtopConfig::default())
    }
}

impl PgtopView {
    pub fn new(cfg: &PgtopConfig) -> Self {
        PgtopView {
            // no source until `sources` starts one (its first message is "connecting")
            core: ViewCore::default(),
            snap: None,
            last_data: None,
            status: ConnState::Connecting,
            thresholds: cfg.thresholds(),
            exclusions: cfg.kill.clone(),
            basis: cfg.duration_basis,
            show_all: false,
            filter: FilterEdit::default(),
            sort: (DURATION_COL, true),
            tagged: BTreeSet::new(),
            dialog: None,
            detail: None,
            locks: false,
            lock_cursor: locks::Cursor::default(),
            waits: waits_pane::Waits::default(),
            nav_at: None,
            order: Vec::new(),
            server: cfg.name.clone().unwrap_or_default(),
            alerts: None,
            groups: groups::Groups::default(),
        }
    }

    pub fn sessions(&self) -> &[Session] {
        self.snap.as_ref().map_or(&[], |s| &s.sessions)
    }

    pub fn server_now(&self) -> DateTime<Utc> {
        self.snap.as_ref().map_or_else(Utc::now, |s| s.server_now)
    }

    fn is_tagged(&self, s: &Session) -> bool {
        self.tagged.contains(&(s.pid, s.backend_start))
    }

    /// The order is kept while the user navigates, tags, or has a dialog/pane open.
    pub fn frozen(&self) -> bool {
        self.nav_at.is_some_and(|t| t.elapsed() < FREEZE_AFTER_NAV)
            || !self.tagged.is_empty()
            || self.dialog.is_some()
            || self.detail.is_some()
    }

    fn request(ctx: &mut Ctx, r: PgRequest) {
        ctx.effects
            .push(Effect::ToSource(ViewKind::Pgtop, SourceCommand::Pg(r)));
    }

    /// The worst class over the listed client backends, as a batch exit code.
    pub fn exit_code(&self) -> i32 {
        match &self.snap {
            Some(s) => crate::pg::batch::exit_code(s, &self.thresholds),
            None => crate::wire::exit::RUNTIME,
        }
    }
}

impl View for PgtopView {
    fn kind(&self) -> ViewKind {
        ViewKind::Pgtop
    }
    fn core(&self) -> &ViewCore {
        &self.core
    }
    fn core_mut(&mut self) -> &mut ViewCore {
        &mut self.core
    }

    fn apply(&mut self, payload: Payload) {
        if let Payload::Pg(s) = &payload {
            self.alerts.clone_from(&s.alerts);
            self.waits.on_snapshot(s);
        }
        match payload {
            Payload::Pg(s) if self.core.paused && s.header.is_some() => {
                self.status = s.status.clone();
                self.last_data = Some(DateTime::<Utc>::from(s.taken_at));
                self.core.held.keep(Payload::Pg(s));
            }
            Payload::Pg(s) => self.apply_snapshot(s),
            Payload::PgReply(r) => match *r {
                PgReply::Signals(results) => {
                    if let Some(d) = self.dialog.as_mut() {
                        d.on_results(results);
                    }
                }
                PgReply::Explain { pid, result } => {
                    if let Some(d) = self.detail.as_mut().filter(|d| d.pid == pid) {
                        d.explain = Some(Some(result));
                    }
                }
            },
            other => self.core.apply(other),
        }
    }

    fn handle(&mut self, action: Action, ctx: &mut Ctx) -> bool {
        match action {
            a if a.changes_server() && ctx.read_only => {
                ctx.flash(
                    Level::Warn,
                    "read-only mode: cancelling and terminating are disabled",
                );
            }
            Action::CancelBackend => self.open_signal(SignalKind::Cancel, ctx),
            Action::TerminateBackend => self.open_signal(SignalKind::Terminate, ctx),
            Action::KillSlow if self.groups.on => self.open_kill_group(ctx),
            Action::KillSlow => self.open_kill_slow(ctx),
            Action::SignalRootBlocker => self.open_root_blocker(ctx),
            Action::Explain => self.explain(ctx),
            Action::ToggleIdle => {
                self.show_all = !self.show_all;
                ctx.flash(
                    Level::Info,
                    if self.show_all {
                        "showing idle sessions and background processes"
                    } else {
                        "hiding idle sessions and background processes"
                    },
                );
                self.rebuild();
            }
            Action::CycleDurationBasis => {
                self.basis = self.basis.next();
                ctx.flash(
                    Level::Info,
                    format!("duration since {} start", self.basis.label()),
                );
                self.rebuild();
            }
            Action::Tag => {
                if let Some(s) = self.selected() {
                    let key = (s.pid, s.backend_start);
                    if !self.tagged.remove(&key) {
                        self.tagged.insert(key);
                    }
                    self.core.table.move_by(1);
                    self.nav_at = Some(Instant::now());
                    self.rebuild();
                }
            }
            Action::ToggleLocks => {
                self.locks = !self.locks;
                self.waits.open = false;
                self.lock_cursor = locks::Cursor::default();
                let lines = self.lock_lines();
                self.lock_cursor.sync(&lines);
            }
            Action::ToggleGroups => self.toggle_groups(ctx),
            Action::Open if self.groups.on => self.open_group(ctx),
            Action::ToggleWaits => {
                self.waits.open = !self.waits.open;
                self.locks = false;
            }
            Action::ScrollUp
            | Action::ScrollDown
            | Action::ScrollPageUp
            | Action::ScrollPageDown
            | Action::ScrollTop
            | Action::ScrollBottom => {
                // the pane's rows and height as the next frame draws them
                let Some((rows, page)) = render::detail_geometry(self, ctx.area) else {
                    return self.detail.is_some();
                };
                match self.detail.as_mut() {
                    Some(d) => return d.scroll.apply(action, rows, page),
                    None => return false,
                }
            }
            Action::Open => {
                if self.detail.is_some() {
                    self.detail = None;
                } else if let Some(s) = self.selected() {
                    self.detail = Some(Detail::new(s));
                }
                self.rebuild();
            }
            Action::Back => {
                if self.detail.take().is_some() {
                    self.rebuild();
                } else if self.waits.open {
                    self.waits.open = false;
                } else if self.locks {
                    self.locks = false;
                } else if self.groups.back() {
                    self.rebuild();
                } else if !self.tagged.is_empty() {
                    self.tagged.clear();
                    ctx.flash(Level::Info, "tags cleared");
                    self.rebuild();
                } else {
                    return false;
                }
            }
            Action::SortNext => {
                self.sort = ((self.sort.0 + 1) % rows::COLUMNS.len(), self.sort.1);
                self.nav_at = None;
                self.rebuild();
            }
            Action::SortReverse => {
                self.sort.1 = !self.sort.1;
                self.nav_at = None;
                self.rebuild();
            }
            Action::TogglePause => {
                for p in self.core.toggle_pause(ctx, super::pause::KEPT_NOT_SHOWN) {
                    // alerts and the waits ring took it in when it arrived
                    match p {
                        Payload::Pg(s) => self.apply_snapshot(s),
                        other => self.core.apply(other),
                    }
                }
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
                if self.locks =>
            {
                let lines = self.lock_lines();
                let page = locks_render::lock_page(ctx.area) as isize;
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -page,
                    Action::PageDown => page,
                    Action::Top => isize::MIN / 2,
                    _ => isize::MAX / 2,
                };
                self.lock_cursor.move_by(&lines, delta);
                if let (Some(d), Some(s)) = (self.detail.as_ref(), self.selected()) {
                    if s.pid != d.pid {
                        self.detail = Some(Detail::new(s));
                    }
                }
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                self.nav_at = Some(Instant::now());
                self.core.handle_common(action, ctx);
                if let Some(d) = self.detail.as_mut() {
                    if let Some(s) = self.core.table.selected().and_then(|r| {
                        self.snap
                            .as_ref()?
                            .sessions
                            .iter()
                            .find(|s| s.pid.to_string() == r.key)
                    }) {
                        if s.pid != d.pid {
                            *d = Detail::new(s);
                        }
                    }
                }
            }
            _ => return false,
        }
        true
    }

    fn detail_open(&self) -> bool {
        self.detail.is_some() && self.dialog.is_none()
    }

    fn modal(&self) -> Option<Modal> {
        self.dialog.as_ref().map(|d| match d.stage {
            Stage::Confirm => Modal::KillConfirm,
            Stage::Sent | Stage::Done => Modal::KillResult,
        })
    }

    /// The kill dialog: its keys are [`Modal::KillConfirm`] / [`Modal::KillResult`].
    fn modal_key(&mut self, _key: &KeyEvent, action: Option<Action>, ctx: &mut Ctx) -> bool {
        self.dialog_key(action, ctx)
    }

    /// Live, on every key at `/` (see [`filter_editor`]): a bad text is never applied.
    fn set_filter(&mut self, text: &str, ctx: &mut Ctx) {
        if let Err(e) = self.filter.type_text(text) {
            ctx.flash(Level::Error, e);
        }
        self.rebuild();
    }

    /// `Enter`, `:filter`, `Esc`: a bad filter is refused with the reason; the previous stays.
    fn commit_filter(&mut self, ctx: &mut Ctx) {
        if let Err(e) = self.filter.commit() {
            self.rebuild();
            ctx.flash(Level::Error, e);
        }
    }

    fn filter(&self) -> String {
        self.filter.text.clone()
    }

    fn command(&mut self, inv: &Invocation, ctx: &mut Ctx) -> bool {
        self.run_command(inv, ctx)
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
        render::render(self, area, buf, theme, now);
    }

    fn empty_text(&self) -> &str {
        if self.filter.is_empty() && self.filter.min.is_none() {
            "no active sessions (i shows idle ones)"
        } else {
            "no session matches the filter"
        }
    }

    fn batch_text(&self) -> String {
        match &self.snap {
            Some(s) => crate::pg::batch::render_text(
                s,
                &crate::pg::batch::BatchOptions {
                    json: false,
                    include_idle: self.show_all,
                    basis: self.basis,
                    thresholds: self.thresholds,
                    width: 160,
                },
            ),
            None => String::new(),
        }
    }

    fn batch_json(&self) -> Vec<serde_json::Value> {
        let now = self.server_now();
        self.listed()
            .into_iter()
            .map(|s| {
                let mut v = crate::pg::batch::session_json(s, now, &self.thresholds, self.basis);
                crate::pg::batch::add_wait_sampling(
                    &mut v,
                    s.pid,
                    self.waits.wait_sampling.as_deref(),
                );
                v
            })
            .collect()
    }

    fn batch_row_type(&self) -> &'static str {
        "session"
    }

    fn batch_count_key(&self) -> Option<&'static str> {
        Some("sessions")
    }

    fn batch_exit_code(&self) -> Option<i32> {
        Some(self.exit_code())
    }
}
