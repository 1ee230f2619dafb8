//! The cancel / terminate confirmation as a small state machine (no drawing, no I/O):
//! `Confirm` (targets listed: pid, user, duration, query) → `y` → `Sent` → results arrive →
//! `Done` (per-target outcome). `K` (kill every slow query) cancels first; once a snapshot
//! fetched after the cancel shows which targets still run the same statement, the dialog turns
//! into a second `Confirm` offering to terminate exactly those.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use super::rows::fmt_dur;
use crate::pg::activity::{PgSnapshot, SessionState};
use crate::pg::kill::{SignalKind, SignalOutcome, SignalResult, SignalTarget};
use crate::pg::redact::one_line;
use crate::theme::Role;

#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    Confirm,
    Sent,
    Done,
}

/// Where the targets came from (for the title).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Selected,
    Tagged,
    /// `K`: every query on screen over the slow threshold (the value is kept for the text)
    Slow(Duration),
    /// `R` in the lock tree: the root blocker of the selected chain
    RootBlocker,
}

#[derive(Clone, Debug)]
pub struct KillDialog {
    pub kind: SignalKind,
    pub origin: Origin,
    pub targets: Vec<SignalTarget>,
    pub stage: Stage,
    /// results of every step so far (cancel, then terminate)
    pub results: Vec<SignalResult>,
    /// `K` after the cancel: wait for a snapshot whose fetch started after this
    pub check_after: Option<SystemTime>,
    /// `K`: every cancelled query is gone
    pub all_ended: bool,
    /// `R`: the sessions the root blocker holds up, one line each (listed in the confirmation)
    pub unblocks: Vec<String>,
    /// a line under the title (`K` on a group: which one)
    pub note: Option<String>,
}

impl KillDialog {
    pub fn new(kind: SignalKind, origin: Origin, targets: Vec<SignalTarget>) -> Self {
        KillDialog {
            kind,
            origin,
            targets,
            stage: Stage::Confirm,
            results: Vec::new(),
            check_after: None,
            all_ended: false,
            unblocks: Vec::new(),
            note: None,
        }
    }

    /// The lines of what signalling the targets unblocks (`R`).
    pub fn with_unblocks(mut self, unblocks: Vec<String>) -> Self {
        self.unblocks = unblocks;
        self
    }

    /// Results arrived for the step that was sent.
    pub fn on_results(&mut self, results: Vec<SignalResult>) {
        if self.stage != Stage::Sent {
            return;
        }
        let follow_up = matches!(self.origin, Origin::Slow(_))
            && self.kind == SignalKind::Cancel
            && results.iter().any(|r| {
                matches!(
                    r.outcome,
                    SignalOutcome::Signalled | SignalOutcome::NotSignalled
                )
            });
        if follow_up {
            let last = results
                .iter()
                .map(|r| SystemTime::from(r.at))
                .max()
                .unwrap_or_else(SystemTime::now);
            // the backend handles the cancel interrupt within milliseconds
            self.check_after = Some(last + Duration::from_millis(100));
        }
        self.results.extend(results);
        self.stage = Stage::Done;
    }

    /// `K`: a snapshot fetched after the cancel. Targets still running the same statement
    /// become a terminate confirmation; true when the dialog changed.
    pub fn on_snapshot(&mut self, snap: &PgSnapshot) -> bool {
        let Some(after) = self.check_after else {
            return false;
        };
        if snap.header.is_none()
            || snap
                .taken_at
                .checked_sub(snap.fetch_time)
                .is_none_or(|t| t < after)
        {
            return false;
        }
        self.check_after = None;
        let signalled: Vec<i32> = self
            .results
            .iter()
            .filter(|r| r.kind == SignalKind::Cancel)
            .filter(|r| {
                matches!(
                    r.outcome,
                    SignalOutcome::Signalled | SignalOutcome::NotSignalled
                )
            })
            .map(|r| r.target.pid)
            .collect();
        let still: Vec<SignalTarget> = self
            .targets
            .iter()
            .filter(|t| signalled.contains(&t.pid))
            .filter_map(|t| {
                let s = snap.sessions.iter().find(|s| {
                    s.pid == t.pid
                        && s.backend_start == Some(t.backend_start)
                        && s.query_start == t.query_start
                        && s.state == SessionState::Active
                })?;
                let mut t = t.clone();
                t.duration = s.active_for(snap.server_now);
                Some(t)
            })
            .collect();
        if still.is_empty() {
            self.all_ended = true;
        } else {
            self.kind = SignalKind::Terminate;
            self.targets = still;
            self.stage = Stage::Confirm;
        }
        true
    }

    /// The dialog's text, line by line with a role each.
    pub fn lines(&self, now: DateTime<Utc>) -> Vec<(Role, String)> {
        let _ = now;
        let mut out = Vec::new();
        let n = self.targets.len();
        let verb = match self.kind {
            SignalKind::Cancel => "Cancel",
            SignalKind::Terminate => "Terminate",
        };
        let what = match self.kind {
            SignalKind::Cancel => "quer",
            SignalKind::Terminate => "backend",
        };
        let plural = |word: &str| match (word, n) {
            ("quer", 1) => "query".to_string(),
            ("quer", _) => "queries".to_string(),
            (w, 1) => w.to_string(),
            (w, _) => format!("{w}s"),
        };
        let title = match (
            self.origin,
            self.stage == Stage::Confirm,
            self.results.is_empty(),
        ) {
            (Origin::Slow(th), true, true) => {
                format!(
                    "{verb} {n} {} running longer than {} (K)?",
                    plural(what),
                    fmt_dur(th)
                )
            }
            (Origin::Slow(_), true, false) => format!(
                "{n} {} still running after the cancel. Terminate {}?",
                plural("quer"),
                if n == 1 {
                    "its backend"
                } else {
                    "their backends"
                }
            ),
            (Origin::RootBlocker, true, _) => {
                format!("{verb} the root blocker of this lock chain (R)?")
            }
            (_, true, _) => format!("{verb} {n} {}?", plural(what)),
            (_, false, _) => format!("{verb}: {n} {}", plural(what)),
        };
        out.push((Role::Title, title));
        if let Some(n) = &self.note {
            out.push((Role::Muted, n.clone()));
        }
        if self.stage == Stage::Confirm {
            for t in &self.targets {
                out.push((Role::Normal, target_line(t)));
            }
            if !self.unblocks.is_empty() {
                out.push((
                    Role::Header,
                    format!(
                        "it holds up {} session{} (directly or through others):",
                        self.unblocks.len(),
                        if self.unblocks.len() == 1 { "" } else { "s" }
                    ),
                ));
                for u in &self.unblocks {
                    out.push((Role::Normal, u.clone()));
                }
            }
            out.push((Role::Normal, String::new()));
            out.push((
                Role::HintKey,
                format!("y: {} {n} · n/Esc: abort", verb.to_lowercase()),
            ));
            out.push((
                Role::Muted,
                "each one is signalled only if its pid, backend start and query start still match"
                    .into(),
            ));
        }
        if self.stage == Stage::Sent {
            out.push((Role::Info, "sending…".into()));
        }
        if !self.results.is_empty() {
            out.push((Role::Header, "results:".into()));
            for r in &self.results {
                let (role, text) = outcome_text(&r.outcome);
                out.push((
                    role,
                    format!("  {} pid {:>7}  {text}", r.kind.verb(), r.target.pid),
                ));
            }
        }
        if self.stage == Stage::Done {
            if self.check_after.is_some() {
                out.push((Role::Info, "checking which queries still run…".into()));
            } else if self.all_ended {
                out.push((Role::Ok, "every cancelled query has ended".into()));
            }
            out.push((Role::HintKey, "Esc/Enter: close".into()));
        }
        out
    }
}

/// `pid 1234  user app  orders  running 12.3s  select …`
pub fn target_line(t: &SignalTarget) -> String {
    format!(
        "  pid {:>7}  user {:<10}  db {:<10}  running {:>7}  {}",
        t.pid,
        t.usename.as_deref().unwrap_or("?"),
        t.datname.as_deref().unwrap_or(""),
        t.duration.map(fmt_dur).unwrap_or_else(|| "-".into()),
        one_line(&t.query, 200)
    )
}

/// Outcome as shown to the user.
pub fn outcome_text(o: &SignalOutcome) -> (Role, String) {
    match o {
        SignalOutcome::Signalled => (Role::Ok, "signalled".into()),
        SignalOutcome::NotSignalled => (Role::Warn, "not signalled (the server refused)".into()),
        SignalOutcome::Changed => (
            Role::Warn,
            "changed since shown (ended, or a new statement): left alone".into(),
        ),
        SignalOutcome::ReadOnly => (Role::Warn, "refused: read-only mode".into()),
        SignalOutcome::PermissionDenied(m) => (Role::Crit, format!("permission denied: {m}")),
        SignalOutcome::Error(m) => (Role::Crit, format!("error: {m}")),
    }
}
