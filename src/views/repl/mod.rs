//! The replication view (tab 2). State: the latest [`ServerSnapshot`] of each configured
//! server (sent by `repl::source` as `Payload::Repl`), their verdicts, the audit over all of
//! them, and a small bounded lag history per channel for the sparkline. Keys: the status
//! table has the usual navigation; `Enter` / `a` move into the audit pane of the selected
//! server, `Enter` there opens the detail of a check (why, fix lines, missing grant), `y`
//! copies fix lines (OSC 52 via `Effect::Copy`, and shown in a pane for tmux users), `Esc`
//! goes back. The check-detail / fixes pane wraps its lines and scrolls with the keymap's
//! detail keys (j/k, PgUp/PgDn/Space, g/G). Drawing is in `render.rs`, row formatting in `rows.rs`.

pub mod down;
mod render;
pub mod rows;

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Local};
use crossterm::event::KeyEvent;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::pause::{Held, KEPT_NOT_SHOWN};
use super::{Ctx, View, ViewCore};
use crate::config::ReplConfig;
use crate::keymap::{Action, Modal};
use crate::messages::{Effect, Payload};
use crate::repl::audit::{self, CheckResult};
use crate::repl::verdict::{judge, with_audit, ServerVerdict};
use crate::repl::{ConnState, LagThresholds, ServerSnapshot};
use crate::theme::Theme;
use crate::widgets::scroll::Scroll;
use crate::widgets::selection::Selection;
use crate::widgets::table::TableState;
use crate::wire::{Level, SourceHealth, ViewKind};

/// Which part of the view the arrow keys move in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Focus {
    #[default]
    Status,
    Audit,
}

/// A pane over the view that owns the keyboard.
#[derive(Clone, Debug, PartialEq)]
pub enum Pane {
    /// The detail of one audit check.
    Check(Box<CheckResult>),
    /// Fix lines that were just copied (visible for terminals without OSC 52).
    Fixes { server: String, lines: Vec<String> },
}

#[derive(Debug)]
pub struct ReplView {
    pub core: ViewCore,
    /// Configured server names, in config order.
    pub servers: Vec<String>,
    pub thresholds: LagThresholds,
    /// Lag samples kept per channel.
    pub history_len: usize,
    /// Latest snapshot per server, in config order (servers not heard from yet are absent).
    pub snaps: Vec<ServerSnapshot>,
    /// Verdict per snapshot (same order as `snaps`).
    pub verdicts: Vec<ServerVerdict>,
    /// The audit over all snapshots (server order, worst first).
    pub audit: Vec<CheckResult>,
    /// Lag history per (server, channel name); `None` = lag unknown at that refresh.
    pub history: HashMap<(String, String), VecDeque<Option<f64>>>,
    pub focus: Focus,
    /// Cursor in the audit list of the selected server.
    pub audit_cursor: Selection<()>,
    pub pane: Option<Pane>,
    /// First row of the pane shown (j/k, PgUp/PgDn/Space, g/G); 0 whenever a pane opens.
    pub pane_scroll: Scroll,
    /// The user moved the cursor: from then on it follows its row; before, it stays on top
    /// (the worst row).
    moved: bool,
}

/// PageUp / PageDown in the audit list move this many checks.
const AUDIT_PAGE: usize = 10;

/// The audit list's rows have no id (the cursor stays at its position): `()` for each.
fn row_at(n: usize) -> impl Fn(usize) -> Option<()> {
    move |i| (i < n).then_some(())
}

/// While paused the newest snapshot of each server is kept.
fn same_server(kept: &Payload, new: &Payload) -> bool {
    matches!((kept, new), (Payload::Repl(a), Payload::Repl(b)) if a.name == b.name)
}

impl Default for ReplView {
    fn default() -> Self {
        ReplView::new(&ReplConfig::default())
    }
}

impl ReplView {
    pub fn new(cfg: &ReplConfig) -> Self {
        let mut core = ViewCore {
            held: Held::with_rule(same_server),
            ..ViewCore::default()
        };
        if !cfg.servers.is_empty() {
            // Configured: batch mode waits for the first answers instead of reporting "idle".
            core.health = SourceHealth::Connecting {
                since: Local::now(),
            };
        }
        ReplView {
            core,
            servers: cfg.servers.iter().map(|s| s.name.clone()).collect(),
            thresholds: cfg.thresholds(),
            history_len: cfg.history.clamp(2, 10_000),
            snaps: Vec::new(),
            verdicts: Vec::new(),
            audit: Vec::new(),
            history: HashMap::new(),
            focus: Focus::Status,
            audit_cursor: Selection::default(),
            pane: None,
            pane_scroll: Scroll::default(),
            moved: false,
        }
    }

    /// The latest snapshot of `name`.
    pub fn server(&self, name: &str) -> Option<&ServerSnapshot> {
        self.snaps.iter().find(|s| s.name == name)
    }

    /// The verdict of `name`.
    pub fn verdict(&self, name: &str) -> Option<&ServerVerdict> {
        self.verdicts.iter().find(|v| v.server == name)
    }

    /// The audit results of one server.
    pub fn checks(&self, server: &str) -> Vec<&CheckResult> {
        self.audit.iter().filter(|c| c.server == server).collect()
    }

    /// The server of the selected status row (or the first server).
    pub fn selected_server(&self) -> Option<&str> {
        match self.core.table.selected() {
            Some(r) => Some(rows::key_server(&r.key)),
            None => self.snaps.first().map(|s| s.name.as_str()),
        }
    }

    /// The check under the audit cursor.
    pub fn selected_check(&self) -> Option<&CheckResult> {
        let srv = self.selected_server()?;
        self.checks(srv).get(self.audit_cursor.at()).copied()
    }

    /// Lag history of one channel.
    pub fn lag_history(&self, server: &str, channel: &str) -> Option<&VecDeque<Option<f64>>> {
        self.history.get(&(server.to_string(), channel.to_string()))
    }

    /// Takes one snapshot in: history, verdicts, audit, rows, health.
    pub fn ingest(&mut self, s: ServerSnapshot) {
        if s.state == ConnState::Connected {
            let names: Vec<&str> = s.channels.iter().map(|c| c.name.as_str()).collect();
            self.history
                .retain(|(srv, ch), _| srv != &s.name || names.contains(&ch.as_str()));
            for c in &s.channels {
                let h = self
                    .history
                    .entry((s.name.clone(), c.name.clone()))
                    .or_default();
                h.push_back(c.effective_lag());
                while h.len() > self.history_len {
                    h.pop_front();
                }
            }
        }
        match self.snaps.iter().position(|x| x.name == s.name) {
            Some(i) => self.snaps[i] = s,
            None => {
                self.snaps.push(s);
                let order = |n: &str| self.servers.iter().position(|x| x == n);
                let mut snaps = std::mem::take(&mut self.snaps);
                snaps.sort_by_key(|x| order(&x.name).unwrap_or(usize::MAX));
                self.snaps = snaps;
            }
        }
        self.recompute();
    }

    fn recompute(&mut self) {
        self.audit = audit::run(&self.snaps);
        self.verdicts = self
            .snaps
            .iter()
            .map(|s| with_audit(judge(s, &self.thresholds), &self.audit))
            .collect();
        let hist = &self.history;
        let data = rows::table(&self.snaps, &self.verdicts, |srv, ch| {
            hist.get(&(srv.to_string(), ch.to_string()))
                .map(|h| rows::sparkline(h, rows::TREND_WIDTH))
        });
        self.core.table.set_data(data);
        if !self.moved {
            self.core.table.top();
        }
        let n = self.audit_len();
        self.audit_cursor.sync(n, |_| None, row_at(n));
        self.update_health();
    }

    fn update_health(&mut self) {
        let expected = self.servers.len().max(1);
        let down: Vec<(DateTime<chrono::Utc>, &str)> = self
            .snaps
            .iter()
            .filter_map(|s| match &s.state {
                ConnState::Reconnecting { since, error } => Some((*since, error.as_str())),
                ConnState::Connected => None,
            })
            .collect();
        if self.snaps.len() < expected {
            if !matches!(self.core.health, SourceHealth::Connecting { .. }) {
                self.core.health = SourceHealth::Connecting {
                    since: Local::now(),
                };
            }
            return;
        }
        if down.len() == self.snaps.len() {
            let since = down.iter().map(|d| d.0).min().unwrap_or_default();
            let error = if down.len() == 1 {
                down[0].1.to_string()
            } else {
                format!("all {} servers down: {}", down.len(), down[0].1)
            };
            self.core.health = SourceHealth::Reconnecting {
                since: since.with_timezone(&Local),
                error,
                next_try: None,
            };
        } else {
            let at = self
                .snaps
                .iter()
                .map(|s| s.taken_at)
                .max()
                .unwrap_or_default();
            self.core.health = SourceHealth::Live {
                at: at.with_timezone(&Local),
            };
        }
    }

    /// The snapshots (with verdicts) broken first, for batch output.
    fn broken_first(&self) -> (Vec<ServerSnapshot>, Vec<ServerVerdict>) {
        let mut idx: Vec<usize> = (0..self.snaps.len()).collect();
        idx.sort_by(|&a, &b| {
            self.verdicts[b]
                .level
                .cmp(&self.verdicts[a].level)
                .then_with(|| a.cmp(&b))
        });
        (
            idx.iter().map(|&i| self.snaps[i].clone()).collect(),
            idx.iter().map(|&i| self.verdicts[i].clone()).collect(),
        )
    }

    /// `y`: the fix lines of the selected server (or of the open check).
    fn copy_fixes(&mut self, ctx: &mut Ctx) {
        let (server, lines) = match &self.pane {
            Some(Pane::Check(c)) => (c.server.clone(), audit::fixes::grouped(&[c])),
            _ => {
                let Some(srv) = self.selected_server().map(str::to_string) else {
                    ctx.flash(Level::Warn, "no server selected");
                    return;
                };
                let l = audit::fixes_for(&self.audit, &srv);
                (srv, l)
            }
        };
        if lines.is_empty() {
            ctx.flash(Level::Info, format!("nothing to fix on {server}"));
            return;
        }
        let text = lines.join("\n") + "\n";
        ctx.effects.push(Effect::Copy(text));
        ctx.flash(
            Level::Info,
            format!(
                "copied {} fix lines for {server} (OSC 52); also shown in the pane",
                lines.len()
            ),
        );
        self.open_pane(Some(Pane::Fixes { server, lines }));
    }

    /// Shows `pane` (or closes it) from its first line.
    fn open_pane(&mut self, pane: Option<Pane>) {
        self.pane = pane;
        self.pane_scroll = Scroll::default();
    }

    /// Checks in the audit list of the selected server.
    fn audit_len(&self) -> usize {
        self.checks(self.selected_server().unwrap_or("")).len()
    }
}

impl View for ReplView {
    fn kind(&self) -> ViewKind {
        ViewKind::Repl
    }
    fn core(&self) -> &ViewCore {
        &self.core
    }
    fn core_mut(&mut self) -> &mut ViewCore {
        &mut self.core
    }

    fn apply(&mut self, payload: Payload) {
        match payload {
            Payload::Repl(s) if self.core.paused => self.core.held.keep(Payload::Repl(s)),
            Payload::Repl(s) => self.ingest(*s),
            other => self.core.apply(other),
        }
    }

    fn handle(&mut self, action: Action, ctx: &mut Ctx) -> bool {
        match (action, self.focus) {
            (Action::CopyFixes, _) => self.copy_fixes(ctx),
            (Action::FocusAudit, Focus::Status) | (Action::Open, Focus::Status) => {
                let srv = self.selected_server().unwrap_or("").to_string();
                if self.checks(&srv).is_empty() {
                    ctx.flash(Level::Info, "no audit results for this server yet");
                } else {
                    self.focus = Focus::Audit;
                    self.audit_cursor = Selection::default();
                }
            }
            (Action::FocusAudit, Focus::Audit) | (Action::Back, Focus::Audit) => {
                self.focus = Focus::Status
            }
            (Action::Open, Focus::Audit) => {
                let pane = self
                    .selected_check()
                    .cloned()
                    .map(|c| Pane::Check(Box::new(c)));
                self.open_pane(pane);
            }
            (
                Action::ScrollUp
                | Action::ScrollDown
                | Action::ScrollPageUp
                | Action::ScrollPageDown
                | Action::ScrollTop
                | Action::ScrollBottom,
                _,
            ) => {
                // the pane's rows and height as the next frame draws them
                let Some((rows, page)) = render::pane_geometry(self, ctx.area) else {
                    return false;
                };
                return self.pane_scroll.apply(action, rows, page);
            }
            (
                Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom,
                Focus::Audit,
            ) => {
                let n = self.audit_len();
                self.audit_cursor.apply(action, n, AUDIT_PAGE, row_at(n));
            }
            (Action::TogglePause, _) => {
                for p in self.core.toggle_pause(ctx, KEPT_NOT_SHOWN) {
                    self.apply(p);
                }
            }
            (Action::Up | Action::Down | Action::PageUp | Action::PageDown, Focus::Status)
            | (Action::Top | Action::Bottom, Focus::Status) => {
                let before = self.selected_server().map(str::to_string);
                self.moved = true;
                let handled = self.core.handle_common(action, ctx);
                if self.selected_server().map(str::to_string) != before {
                    self.audit_cursor = Selection::default();
                }
                return handled;
            }
            _ => return self.core.handle_common(action, ctx),
        }
        true
    }

    fn detail_open(&self) -> bool {
        self.pane.is_some()
    }

    fn modal(&self) -> Option<Modal> {
        self.pane.is_some().then_some(Modal::ReplPane)
    }

    /// The audit pane ([`Modal::ReplPane`]); quit keys go on to the keymap.
    fn modal_key(&mut self, _key: &KeyEvent, action: Option<Action>, ctx: &mut Ctx) -> bool {
        if self.pane.is_none() {
            return false;
        }
        match action {
            Some(Action::Quit) => return false,
            Some(Action::Back) => self.open_pane(None),
            Some(Action::CopyFixes) => {
                if matches!(self.pane, Some(Pane::Check(_))) {
                    self.copy_fixes(ctx);
                }
            }
            _ => {}
        }
        true
    }

    fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
        render::render(self, area, buf, theme, now);
    }

    fn empty_text(&self) -> &str {
        if self.servers.is_empty() {
            "no [[repl.servers]]: looking for the local server (~/.my.cnf [client], the default \
             socket, 127.0.0.1:3306); --server NAME=HOST:PORT names another"
        } else {
            "connecting to the replication servers…"
        }
    }

    fn batch_text(&self) -> String {
        let (snaps, verdicts) = self.broken_first();
        let mut t = TableState::default();
        t.set_data(rows::text_table(&snaps, &verdicts));
        t.set_filter(&self.core.table.filter);
        let mut out = t.to_text();
        let worst = audit::worst(&self.audit);
        let count = |sev| self.audit.iter().filter(|c| c.severity == sev).count();
        out.push_str(&format!(
            "audit: worst {} · {} CRIT · {} WARN · {} UNKNOWN (stacktop repl --check for details)\n",
            worst.label(),
            count(audit::Severity::Crit),
            count(audit::Severity::Warn),
            count(audit::Severity::Unknown),
        ));
        out
    }

    /// A watched server that cannot be reached (or logged into) fails the batch run with 1,
    /// like a source that is down (README "Exit codes").
    fn batch_exit_code(&self) -> Option<i32> {
        self.snaps
            .iter()
            .any(|s| !s.is_connected())
            .then_some(crate::wire::exit::RUNTIME)
    }

    /// An on-call script asks "is it down now?": the last snapshot decides, so a server
    /// that was down and came back before the end exits 0 (the outage is in the records and
    /// on stderr).
    fn batch_exit_from_last(&self) -> bool {
        true
    }

    fn batch_json(&self) -> Vec<serde_json::Value> {
        let (snaps, verdicts) = self.broken_first();
        rows::json_rows(&snaps, &verdicts)
    }
}
