//! pgtop: `pg_stat_activity` as a live top. State and keys live here; the list logic is in
//! [`rows`], the kill confirmation in [`dialogs`], the lock tree in [`locks`], the waits pane
//! in [`waits_pane`], drawing in [`render`]. Data arrives as `Payload::Pg` snapshots from `pg::source`; requests (signals,
//! EXPLAIN, thresholds) leave as `SourceCommand::Pg` effects and their answers come back as
//! `Payload::PgReply`. Nothing here does I/O.

pub mod dialogs;
pub mod filter_edit;
pub mod groups;
pub mod header;
pub mod locks;
pub mod locks_draw;
pub mod render;
pub mod rows;
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
use crate::pg::activity::{ConnectionStatus, PgSnapshot, Session};
use crate::pg::classify::{DurationBasis, Thresholds};
use crate::pg::kill::{select_slow_targets, KillExclusions, SignalKind, SignalTarget};
use crate::pg::msg::{PgReply, PgRequest};
use crate::theme::Theme;
use crate::widgets::commands::{Arg, Invocation};
use crate::widgets::scroll::Scroll;
use crate::wire::{Level, ViewKind};
use dialogs::{KillDialog, Origin, Stage};
use filter_edit::FilterEdit;
use rows::{ListSpec, DURATION_COL};

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
    pub snap: Option<Box<PgSnapshot>>,
    /// when the last snapshot with data was taken (local clock), kept across a disconnect
    pub last_data: Option<DateTime<Utc>>,
    pub status: ConnectionStatus,
    /// snapshot received while paused, applied on resume
    pending: Option<Box<PgSnapshot>>,
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
            status: ConnectionStatus::Connecting,
            pending: None,
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

    /// The listed sessions, in list order (what the user sees).
    pub fn listed(&self) -> Vec<&Session> {
        let sessions = self.sessions();
        let now = self.server_now();
        let spec = ListSpec {
            show_all: self.show_all,
            basis: self.basis,
            filter: &self.filter,
            sort: self.sort,
        };
        let sorted = self.groups.only_group(rows::select(sessions, now, &spec));
        if self.frozen() {
            rows::freeze(sorted, &self.order)
        } else {
            sorted
        }
    }

    /// Rebuilds the table from the snapshot and the list settings.
    fn rebuild(&mut self) {
        let now = self.server_now();
        if self.groups.on {
            let data = groups::table(&self.query_groups(), now, &self.thresholds);
            self.core.table.set_data(data);
            return;
        }
        let (data, order) = {
            let listed = self.listed();
            let order = listed.iter().map(|s| s.pid).collect();
            // cell strings are made when drawn, for the rows on screen only
            let data =
                rows::table_without_cells(&listed, now, &self.thresholds, self.basis, self.sort);
            (data, order)
        };
        self.order = order;
        self.core.table.set_data(data);
        if self.locks {
            let lines = self.lock_lines();
            self.lock_cursor.sync(&lines);
        }
    }

    /// The lock tree's lines for the current snapshot.
    pub fn lock_lines(&self) -> Vec<locks::LockLine> {
        locks::tree(self.sessions(), self.server_now())
    }

    /// The session under the cursor: the lock tree's line while the tree is shown, else the
    /// list row.
    fn selected(&self) -> Option<&Session> {
        if self.locks {
            let line = self.lock_cursor.line(&self.lock_lines())?;
            return self.sessions().iter().find(|s| s.pid == line.pid);
        }
        let key = &self.core.table.selected()?.key;
        self.sessions().iter().find(|s| &s.pid.to_string() == key)
    }

    fn apply_snapshot(&mut self, snap: Box<PgSnapshot>) {
        self.status = snap.status.clone();
        if snap.header.is_none() {
            // status only. No answer yet: the rows stay, marked with their age by the banner.
            // Disconnected: the rows are cleared (and a snapshot kept while paused dropped), so
            // nothing from before the disconnect is shown, listed in batch or tagged as current.
            if matches!(snap.status, ConnectionStatus::Disconnected { .. })
                && (self.snap.is_some() || self.pending.is_some())
            {
                self.snap = None;
                self.pending = None;
                self.tagged.clear();
                self.detail = None;
                self.rebuild();
            }
            return;
        }
        self.last_data = Some(DateTime::<Utc>::from(snap.taken_at));
        if let Some(d) = self.dialog.as_mut() {
            d.on_snapshot(&snap);
        }
        // drop tags of sessions that are gone
        self.tagged.retain(|(pid, start)| {
            snap.sessions
                .iter()
                .any(|s| s.pid == *pid && s.backend_start == *start)
        });
        if let Some(d) = self.detail.as_mut() {
            match snap
                .sessions
                .iter()
                .find(|s| s.pid == d.pid && s.backend_start == d.last.backend_start)
            {
                Some(s) => d.last = s.clone(),
                None => d.ended = true,
            }
        }
        self.groups.update(&snap.sessions);
        self.snap = Some(snap);
        self.rebuild();
    }

    fn request(ctx: &mut Ctx, r: PgRequest) {
        ctx.effects
            .push(Effect::ToSource(ViewKind::Pgtop, SourceCommand::Pg(r)));
    }

    /// `c` / `k`: the tagged backends, or the selected one.
    fn open_signal(&mut self, kind: SignalKind, ctx: &mut Ctx) {
        let now = self.server_now();
        // in the lock tree the line under the cursor is the target, never the hidden list's
        let (origin, sessions): (Origin, Vec<&Session>) = if self.tagged.is_empty() || self.locks {
            (Origin::Selected, self.selected().into_iter().collect())
        } else {
            // tagged rows hidden by a later filter are still targets: the dialog lists them
            (
                Origin::Tagged,
                self.sessions()
                    .iter()
                    .filter(|s| self.is_tagged(s))
                    .collect(),
            )
        };
        if sessions.is_empty() {
            ctx.flash(Level::Warn, "no session selected");
            return;
        }
        let targets: Vec<SignalTarget> = sessions
            .iter()
            .filter_map(|s| SignalTarget::from_session(s, now))
            .collect();
        let refused = sessions.len() - targets.len();
        if targets.is_empty() {
            ctx.flash(
                Level::Warn,
                "only visible client backends can be signalled (not background processes or hidden sessions)",
            );
            return;
        }
        if refused > 0 {
            ctx.flash(
                Level::Warn,
                format!("{refused} tagged session(s) are not client backends and are left out"),
            );
        }
        self.dialog = Some(KillDialog::new(kind, origin, targets));
    }

    /// `R` in the lock tree: terminate the root blocker of the selected chain, after a
    /// confirmation listing every session it holds up.
    fn open_root_blocker(&mut self, ctx: &mut Ctx) {
        if !self.locks {
            ctx.flash(Level::Info, "R works in the lock tree: press L first");
            return;
        }
        let Some(line) = self.lock_cursor.line(&self.lock_lines()) else {
            ctx.flash(Level::Info, "no session waits for a lock");
            return;
        };
        let now = self.server_now();
        let sessions = self.sessions();
        let Some(target) = sessions
            .iter()
            .find(|s| s.pid == line.root)
            .and_then(|s| SignalTarget::from_session(s, now))
        else {
            ctx.flash(
                Level::Warn,
                format!(
                    "root blocker pid {} is not a visible client backend (hidden from this role, a background process or a prepared transaction): nothing to signal",
                    line.root
                ),
            );
            return;
        };
        let held = locks::unblocked_by(line.root, sessions);
        let unblocks = held
            .iter()
            .map(|pid| locks_draw::unblock_line(*pid, line.root, &held, sessions, now))
            .collect();
        self.dialog = Some(
            KillDialog::new(SignalKind::Terminate, Origin::RootBlocker, vec![target])
                .with_unblocks(unblocks),
        );
    }

    /// `K`: every listed query over the slow threshold, minus configured exclusions.
    fn open_kill_slow(&mut self, ctx: &mut Ctx) {
        let now = self.server_now();
        let listed: Vec<Session> = self.listed().into_iter().cloned().collect();
        let targets = select_slow_targets(&listed, now, &self.thresholds, &self.exclusions);
        if targets.is_empty() {
            ctx.flash(
                Level::Info,
                format!(
                    "no query on screen runs longer than {} (slow threshold)",
                    rows::fmt_dur(self.thresholds.slow)
                ),
            );
            return;
        }
        self.dialog = Some(KillDialog::new(
            SignalKind::Cancel,
            Origin::Slow(self.thresholds.slow),
            targets,
        ));
    }

    fn explain(&mut self, ctx: &mut Ctx) {
        let s = match &self.detail {
            Some(d) => d.last.clone(),
            None => match self.selected() {
                Some(s) => s.clone(),
                None => {
                    ctx.flash(Level::Warn, "no session selected");
                    return;
                }
            },
        };
        if !s.visible || s.query.trim().is_empty() {
            ctx.flash(Level::Warn, "no query text to EXPLAIN");
            return;
        }
        Self::request(
            ctx,
            PgRequest::Explain {
                pid: s.pid,
                query: s.query.clone(),
                datname: s.datname.clone(),
                usename: s.usename.clone(),
            },
        );
        let mut d = self.detail.take().unwrap_or_else(|| Detail::new(&s));
        d.explain = Some(None);
        self.detail = Some(d);
    }

    fn set_thresholds(&mut self, t: Thresholds, ctx: &mut Ctx, what: &str) {
        if t.critical < t.slow {
            ctx.flash(
                Level::Error,
                format!(
                    "{what}: critical threshold ({}) must not be below the slow threshold ({})",
                    rows::fmt_dur(t.critical),
                    rows::fmt_dur(t.slow)
                ),
            );
            return;
        }
        self.thresholds = t;
        self.rebuild();
        Self::request(ctx, PgRequest::SetThresholds(t));
        ctx.flash(
            Level::Info,
            format!(
                "thresholds: slow {} · critical {} · idle in transaction {} · long transaction {}",
                rows::fmt_dur(t.slow),
                rows::fmt_dur(t.critical),
                rows::fmt_dur(t.idle_in_transaction),
                rows::fmt_dur(t.long_transaction)
            ),
        );
    }

    fn set_paused(&mut self, paused: bool) {
        self.core.paused = paused;
        if !paused {
            if let Some(s) = self.pending.take() {
                self.apply_snapshot(s);
            }
        }
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
                self.pending = Some(s);
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
                let p = !self.core.paused;
                self.set_paused(p);
                ctx.flash(
                    Level::Info,
                    if p {
                        "paused: updates are kept, not shown"
                    } else {
                        "resumed"
                    },
                );
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
                let page = locks_draw::lock_page(ctx.area) as isize;
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
        let Some(d) = self.dialog.as_mut() else {
            return false;
        };
        match (&d.stage, action) {
            (Stage::Confirm, Some(Action::Yes)) => {
                if ctx.read_only {
                    self.dialog = None;
                    ctx.flash(Level::Warn, "read-only mode: nothing was signalled");
                    return true;
                }
                d.stage = Stage::Sent;
                let (kind, targets) = (d.kind, d.targets.clone());
                Self::request(ctx, PgRequest::Signal { kind, targets });
                self.tagged.clear();
            }
            (Stage::Confirm, Some(Action::No)) => {
                self.dialog = None;
                ctx.flash(Level::Info, "aborted: nothing was signalled");
                self.rebuild();
            }
            (Stage::Sent | Stage::Done, Some(Action::Back)) => {
                self.dialog = None;
                self.rebuild();
            }
            // everything else is swallowed while the dialog is open
            _ => {}
        }
        true
    }

    /// Live, on every key at `/` (see [`filter_edit`]): a bad text is never applied.
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
        let mut t = self.thresholds;
        match (inv.name(), &inv.arg) {
            (cmd @ ("slow" | "critical" | "idle" | "long"), Arg::Dur(d)) => {
                match cmd {
                    "slow" => t.slow = *d,
                    "critical" => t.critical = *d,
                    "long" => t.long_transaction = *d,
                    _ => t.idle_in_transaction = *d,
                }
                self.set_thresholds(t, ctx, cmd);
            }
            ("min", Arg::Dur(d)) if !d.is_zero() => {
                self.filter.set_min(Some(*d));
                ctx.flash(
                    Level::Info,
                    format!("only sessions running at least {}", rows::fmt_dur(*d)),
                );
                self.rebuild();
            }
            ("min", _) => {
                self.filter.set_min(None);
                ctx.flash(Level::Info, "no minimum duration");
                self.rebuild();
            }
            _ => return false,
        }
        true
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
            .map(|s| crate::pg::batch::session_json(s, now, &self.thresholds, self.basis))
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
