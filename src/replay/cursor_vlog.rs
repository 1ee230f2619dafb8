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
//! - Memory: the frames handed over keep at most [`HELD_REQUESTS`] requests, the newest
//!   ([`Recorded::bound`]); a jump to before them reads the records again.

use crate::messages::{Payload, Update};
use crate::record::codec::Kind;
use crate::vlog::VlogEvent;
use crate::wire::ViewKind;

/// The history of requests a jump rebuilds (the header's longest window).
pub const VLOG_BACK_MS: i64 = 60_000;
/// Requests the cursor's frames keep at most once handed over (the view's ring keeps 100,000
/// by default): older frames lose theirs, and a jump to where they were reads them again.
pub const HELD_REQUESTS: usize = 200_000;

/// The cursor's memory of vlog and kill records.
pub struct Recorded {
    /// [`HELD_REQUESTS`] (smaller in tests)
    held_max: usize,
    /// views that received vlog records (a jump rebuilds them, even to before their first)
    vlog_views: Vec<ViewKind>,
    /// the live summary notice expected after the last kill record, and its view
    live_kill: Option<(ViewKind, String)>,
    /// the newest frame whose requests [`Recorded::bound`] dropped
    dropped_to: Option<i64>,
}

impl Default for Recorded {
    fn default() -> Recorded {
        Recorded {
            held_max: HELD_REQUESTS,
            vlog_views: Vec::new(),
            live_kill: None,
            dropped_to: None,
        }
    }
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

    /// Takes the vlog views `other` found (records read apart, before the cursor's).
    pub fn adopt_views(&mut self, other: &Recorded) {
        for v in &other.vlog_views {
            if !self.vlog_views.contains(v) {
                self.vlog_views.push(*v);
            }
        }
    }

    /// The cursor dropped its frames (a rebuild).
    pub fn cleared(&mut self) {
        self.dropped_to = None;
    }

    /// Whether the frames still hold every request recorded after `ms`.
    pub fn complete_after(&self, ms: i64) -> bool {
        self.dropped_to.is_none_or(|d| d < ms)
    }

    /// Keeps at most [`HELD_REQUESTS`] requests in the frames already handed over (given
    /// newest first): the older ones are emptied.
    pub fn bound<'a>(&mut self, newest_first: impl Iterator<Item = (i64, &'a mut Vec<Update>)>) {
        if !self.has_vlog() {
            return;
        }
        // the newest requests, without a gap: once one frame's do not fit, no older ones
        let mut held = 0usize;
        for (ts, updates) in newest_first {
            for u in updates.iter_mut().rev() {
                if let Payload::Vlog(VlogEvent::Requests(r)) = &mut u.payload {
                    if held.saturating_add(r.len()) <= self.held_max {
                        held += r.len();
                    } else if !r.is_empty() {
                        held = usize::MAX;
                        *r = Vec::new();
                        self.dropped_to = Some(self.dropped_to.map_or(ts, |d| d.max(ts)));
                    }
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vlog::builder::RequestBuilder;

    fn batch(view: ViewKind, from: u64, n: u64) -> Vec<Update> {
        let reqs = (from..from + n)
            .map(|i| {
                RequestBuilder {
                    vxid: i,
                    ..Default::default()
                }
                .build()
            })
            .collect();
        vec![Update {
            view,
            payload: Payload::Vlog(VlogEvent::Requests(reqs)),
        }]
    }

    #[test]
    fn the_state_is_the_newest_requests_of_the_minute_and_memory_is_bounded() {
        let view = ViewKind::ALL[0];
        let mut r = Recorded {
            held_max: 5,
            ..Default::default()
        };
        let rec = serde_json::json!([]);
        assert!(r
            .updates(Some(Kind::VlogRequests), view, &rec)
            .unwrap()
            .is_ok());
        // (time, updates): 3 requests at 0 s, 3 at 30 s, 3 at 70 s
        let mut frames = vec![
            (0, batch(view, 0, 3)),
            (30_000, batch(view, 3, 3)),
            (70_000, batch(view, 6, 3)),
        ];
        let vxids = |r: &Recorded, f: &[(i64, Vec<Update>)], at: i64| -> Vec<u64> {
            let it = f.iter().map(|(t, u)| (*t, Some(view), u.as_slice()));
            match &r.state(it, at)[0].payload {
                Payload::Vlog(VlogEvent::Replace(q)) => q.iter().map(|q| q.vxid).collect(),
                _ => panic!("a Replace first"),
            }
        };
        assert_eq!(vxids(&r, &frames[..2], 40_000), [0, 1, 2, 3, 4, 5]);
        assert_eq!(
            vxids(&r, &frames, 70_000),
            [3, 4, 5, 6, 7, 8],
            "the minute before"
        );
        r.bound(frames.iter_mut().rev().map(|(t, u)| (*t, u)));
        assert_eq!(vxids(&r, &frames, 70_000), [6, 7, 8], "5 at most, no gap");
        assert!(!r.complete_after(30_000) && r.complete_after(30_001));
        r.cleared();
        assert!(r.complete_after(0));
    }
}
