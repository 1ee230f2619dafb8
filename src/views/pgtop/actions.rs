//! What pgtop's keys and commands do beyond moving around: the cancel/terminate dialogs (`c`,
//! `k`, `K`, `R` in the lock tree) and their keys, EXPLAIN (`e`), and the `:` commands that set
//! thresholds and the minimum duration. Requests leave as effects ([`PgtopView::request`]).

use super::dialogs::{KillDialog, Origin, Stage};
use super::{locks, locks_render, rows, Detail, PgtopView};
use crate::keymap::Action;
use crate::pg::activity::Session;
use crate::pg::classify::Thresholds;
use crate::pg::kill::{select_slow_targets, SignalKind, SignalTarget};
use crate::pg::source::PgRequest;
use crate::views::Ctx;
use crate::widgets::commands::{Arg, Invocation};
use crate::wire::Level;

impl PgtopView {
    /// `c` / `k`: the tagged backends, or the selected one.
    pub(super) fn open_signal(&mut self, kind: SignalKind, ctx: &mut Ctx) {
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
    pub(super) fn open_root_blocker(&mut self, ctx: &mut Ctx) {
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
            .map(|pid| locks_render::unblock_line(*pid, line.root, &held, sessions, now))
            .collect();
        self.dialog = Some(
            KillDialog::new(SignalKind::Terminate, Origin::RootBlocker, vec![target])
                .with_unblocks(unblocks),
        );
    }

    /// `K`: every listed query over the slow threshold, minus configured exclusions.
    pub(super) fn open_kill_slow(&mut self, ctx: &mut Ctx) {
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

    pub(super) fn explain(&mut self, ctx: &mut Ctx) {
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

    pub(super) fn set_thresholds(&mut self, t: Thresholds, ctx: &mut Ctx, what: &str) {
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

    /// A key while the kill dialog is open: its keys are [`crate::keymap::Modal::KillConfirm`]
    /// / [`crate::keymap::Modal::KillResult`]; everything else is swallowed.
    pub(super) fn dialog_key(&mut self, action: Option<Action>, ctx: &mut Ctx) -> bool {
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

    /// `:slow`, `:critical`, `:idle`, `:long` (thresholds) and `:min` (the minimum duration).
    pub(super) fn run_command(&mut self, inv: &Invocation, ctx: &mut Ctx) -> bool {
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
}
