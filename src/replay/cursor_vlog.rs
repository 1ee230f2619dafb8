//! What the time cursor ([`super::cursor`]) keeps for the vlog tab and for kills.
//!
//! - Records pass through [`Recorded::updates`]: vlog requests, stats and kill outcomes become
//!   the live updates ([`super::recorded`]); the live run's own unmarked notice after a kill
//!   (the same summary) is dropped, the `recorded:` one says it.
//! - After a jump (`:goto`, a minute back or on, a step back, opening) [`Recorded::state`]
//!   rebuilds the vlog view: a `VlogEvent::Replace` with the requests recorded in the
//!   [`VLOG_BACK_MS`] before the cursor (the view starts over: nothing recorded after the
//!   cursor, nothing counted twice; the 10 s and 1 min figures are the live ones, the
//!   counters since start count from there), then the malformed counts of that minute.

use crate::messages::{Payload, Update};
use crate::record::codec::Kind;
use crate::vlog::VlogEvent;
use crate::wire::ViewKind;

/// The history of requests a jump rebuilds (the header's longest window).
pub const VLOG_BACK_MS: i64 = 60_000;

/// The cursor's memory of vlog and kill records.
#[derive(Default)]
pub struct Recorded {
    /// views that received vlog records (a jump rebuilds them, even to before their first)
    vlog_views: Vec<ViewKind>,
    /// the live summary notice expected after the last kill record, and its view
    live_kill: Option<(ViewKind, String)>,
}

impl Recorded {
    /// Whether a vlog record was read (then a jump needs the minute before the cursor).
    pub fn has_vlog(&self) -> bool {
        !self.vlog_views.is_empty()
    }

    /// The updates of a record the cursor decoded to JSON, when it is a vlog or kill record
    /// (`None`: the cursor's own rules apply); `Err` for a damaged one.
    pub fn updates(
        &mut self,
        kind: Option<Kind>,
        view: ViewKind,
        json: &serde_json::Value,
    ) -> Option<Result<Vec<Update>, String>> {
        let r = super::recorded::updates(kind, view, json)?;
        match kind {
            Some(Kind::VlogRequests | Kind::VlogStats) if !self.vlog_views.contains(&view) => {
                self.vlog_views.push(view)
            }
            Some(Kind::KillDone) if r.is_ok() => {
                self.live_kill = super::recorded::live_kill_notice(json).map(|t| (view, t));
            }
            _ => {}
        }
        Some(r)
    }

    /// `updates` without the live run's unmarked notice of the last kill.
    pub fn without_live_kill(&mut self, updates: Vec<Update>) -> Vec<Update> {
        let Some((view, text)) = self.live_kill.take() else {
            return updates;
        };
        let live = |u: &Update| {
            u.view == view && matches!(&u.payload, Payload::Notice { text: t, .. } if *t == text)
        };
        if updates.iter().any(live) {
            return updates.into_iter().filter(|u| !live(u)).collect();
        }
        self.live_kill = Some((view, text));
        updates
    }

    /// The vlog views' state after `frames` (the cursor's records up to it, in order: time,
    /// view, updates), the cursor being at `cursor_ms`.
    pub fn state<'a>(
        &self,
        frames: impl Iterator<Item = (i64, Option<ViewKind>, &'a [Update])> + Clone,
        cursor_ms: i64,
    ) -> Vec<Update> {
        let from = cursor_ms.saturating_sub(VLOG_BACK_MS);
        let mut out = Vec::new();
        for &view in &self.vlog_views {
            let mut reqs = Vec::new();
            let mut malformed = 0u64;
            for (_, _, updates) in frames
                .clone()
                .filter(|(ts, v, _)| *ts > from && *v == Some(view))
            {
                for u in updates {
                    match &u.payload {
                        Payload::Vlog(VlogEvent::Requests(r)) => reqs.extend(r.iter().cloned()),
                        Payload::Vlog(VlogEvent::Malformed(n)) => {
                            malformed = malformed.saturating_add(*n)
                        }
                        _ => {}
                    }
                }
            }
            out.push(Update {
                view,
                payload: Payload::Vlog(VlogEvent::Replace(reqs)),
            });
            if malformed > 0 {
                out.push(Update {
                    view,
                    payload: Payload::Vlog(VlogEvent::Malformed(malformed)),
                });
            }
        }
        out
    }
}
