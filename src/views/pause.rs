//! Pause (`p`, `:pause`): one mechanism for every view. While paused a view keeps showing
//! what it showed; the updates that arrive are counted and the ones it would have applied are
//! kept in [`Held`] (bounded: the newest of each kind, or for repl the newest of each server)
//! and applied in arrival order on resume. A view whose data keeps flowing while paused (vlog:
//! the ring keeps recording) keeps nothing and only counts; its freeze point is the number
//! of requests recorded less those counted ([`Held::counted`]). The flag lives in
//! [`ViewCore::paused`]; the status line shows [`ViewCore::pause_status`].

use super::{Ctx, ViewCore};
use crate::messages::Payload;
use crate::wire::Level;
use std::collections::VecDeque;

/// At most this many updates are kept while paused (the oldest go first).
pub const HELD_MAX: usize = 256;

/// Whether a new update makes a kept one stale: `replaces(kept, new)`.
pub type Replaces<T> = fn(&T, &T) -> bool;

/// What arrived while paused: the updates kept for the resume, and how many arrived.
#[derive(Clone, Debug)]
pub struct Held<T> {
    items: VecDeque<T>,
    replaces: Replaces<T>,
    /// Updates kept (also those replaced since).
    kept: u64,
    /// Updates applied anyway and only counted ([`Held::count`]).
    counted: u64,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held::with_rule(same_kind)
    }
}

/// The default rule: an update replaces a kept one of the same kind (enum variant), so one
/// latest snapshot is kept per kind.
pub fn same_kind<T>(kept: &T, new: &T) -> bool {
    std::mem::discriminant(kept) == std::mem::discriminant(new)
}

impl<T> Held<T> {
    pub fn with_rule(replaces: Replaces<T>) -> Self {
        Held {
            items: VecDeque::new(),
            replaces,
            kept: 0,
            counted: 0,
        }
    }

    /// Keeps `item` (and counts it), dropping the kept ones it replaces.
    pub fn keep(&mut self, item: T) {
        self.kept += 1;
        let replaces = self.replaces;
        self.items.retain(|kept| !replaces(kept, &item));
        self.items.push_back(item);
        while self.items.len() > HELD_MAX {
            self.items.pop_front();
        }
    }

    /// Counts `n` updates that were applied anyway (vlog requests go into the ring).
    pub fn count(&mut self, n: u64) {
        self.counted += n;
    }

    /// Updates that arrived since the pause began (kept or only counted).
    pub fn arrived(&self) -> u64 {
        self.kept + self.counted
    }

    /// Of those, the ones only counted (vlog: requests recorded since the pause).
    pub fn counted(&self) -> u64 {
        self.counted
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The kept updates, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter()
    }

    /// Drops what is kept (pgtop: the connection was lost); the count stays.
    pub fn clear(&mut self) {
        self.items.clear();
    }

    /// Everything kept, oldest first; the count starts again.
    fn take(&mut self) -> Vec<T> {
        (self.kept, self.counted) = (0, 0);
        self.items.drain(..).collect()
    }
}

impl ViewCore {
    /// Pauses or resumes. On resume returns what was kept, oldest first, for the view to
    /// apply; pausing starts a new count.
    pub fn set_paused(&mut self, paused: bool) -> Vec<Payload> {
        self.paused = paused;
        let held = self.held.take();
        if let Some(t) = self.held_table.take().filter(|_| !paused) {
            self.table.set_data(t);
        }
        if paused {
            Vec::new()
        } else {
            held
        }
    }

    /// `p`: toggles the pause and says so (`paused_text` says what pausing means for the
    /// view); returns what to apply now (see [`ViewCore::set_paused`]).
    pub fn toggle_pause(&mut self, ctx: &mut Ctx, paused_text: &str) -> Vec<Payload> {
        let held = self.set_paused(!self.paused);
        ctx.flash(
            Level::Info,
            if self.paused { paused_text } else { "resumed" },
        );
        held
    }

    /// Updates that arrived since the pause began (0 when not paused).
    pub fn arrived(&self) -> u64 {
        if self.paused {
            self.held.arrived()
        } else {
            0
        }
    }

    /// The status-line badge: `None` while running, `PAUSED` and how many updates arrived.
    pub fn pause_status(&self) -> Option<String> {
        if !self.paused {
            return None;
        }
        Some(match self.held.arrived() {
            0 => "PAUSED".to_string(),
            n => format!("PAUSED · {n} new"),
        })
    }
}

/// The default message for [`ViewCore::toggle_pause`].
pub const KEPT_NOT_SHOWN: &str = "paused: updates are kept, not shown";

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Ev {
        Snap(u32),
        Server(&'static str, u32),
    }

    fn same_server(kept: &Ev, new: &Ev) -> bool {
        matches!((kept, new), (Ev::Server(a, _), Ev::Server(b, _)) if a == b)
    }

    #[test]
    fn the_default_keeps_the_newest_snapshot_and_counts_all_that_arrived() {
        let mut h = Held::default();
        for n in 1..=5 {
            h.keep(Ev::Snap(n));
        }
        assert_eq!(h.arrived(), 5);
        assert_eq!(h.take(), vec![Ev::Snap(5)], "only the newest is applied");
        assert_eq!(h.arrived(), 0, "a new pause counts from zero");
    }

    #[test]
    fn a_rule_keeps_the_newest_of_each_key_in_arrival_order_and_is_bounded() {
        let mut h = Held::with_rule(same_server);
        h.keep(Ev::Server("a", 1));
        h.keep(Ev::Server("b", 1));
        h.keep(Ev::Server("a", 2));
        assert_eq!(h.take(), vec![Ev::Server("b", 1), Ev::Server("a", 2)]);
        let names: Vec<&'static str> = (0..HELD_MAX + 10)
            .map(|i| &*Box::leak(i.to_string().into_boxed_str()))
            .collect();
        for n in &names {
            h.keep(Ev::Server(n, 0));
        }
        assert_eq!(h.iter().count(), HELD_MAX);
        assert_eq!(h.iter().next(), Some(&Ev::Server(names[10], 0)));
    }

    #[test]
    fn counted_updates_are_not_kept_and_clear_keeps_the_count() {
        let mut h: Held<Ev> = Held::default();
        h.count(7);
        h.keep(Ev::Snap(1));
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.arrived(), 8);
        assert_eq!(h.counted(), 7, "only the counted ones, not the kept");
    }
}
