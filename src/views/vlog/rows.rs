//! The vlog view's rows: the sequence numbers of the ring entries that pass the filter
//! (`matches`), the part of them shown (up to the freeze point while paused, see
//! [`crate::views::pause`]), and the cursor over them ([`Selection`](crate::widgets::selection::Selection), following the newest
//! row until moved up) with the window of rows drawn.

use super::VlogView;
use crate::keymap::Action;
use crate::vlog::Request;

impl VlogView {
    /// Sequence number of the oldest entry still in the ring.
    pub(super) fn oldest_seq(&self) -> u64 {
        self.ring.pushed() - self.ring.len() as u64
    }

    pub fn request_at(&self, seq: u64) -> Option<&Request> {
        let base = self.oldest_seq();
        seq.checked_sub(base)
            .and_then(|i| self.ring.get(i as usize))
    }

    /// While paused, rows from this sequence number on are not shown: the requests recorded
    /// less those recorded since the pause (counted by the pause).
    pub(super) fn frozen_at(&self) -> Option<u64> {
        let arrived = self.core.held.counted();
        self.core
            .paused
            .then(|| self.ring.pushed().saturating_sub(arrived))
    }

    /// Number of matching rows shown (up to the freeze point while paused).
    pub fn shown_len(&self) -> usize {
        match self.frozen_at() {
            Some(f) => self.matches.partition_point(|&s| s < f),
            None => self.matches.len(),
        }
    }

    /// The shown rows, oldest first.
    pub fn shown(&self) -> impl DoubleEndedIterator<Item = &Request> + '_ {
        self.matches
            .range(..self.shown_len())
            .filter_map(|&s| self.request_at(s))
    }

    /// Index (into `matches`) of the selected row, `None` when following.
    pub fn selected_index(&self) -> Option<usize> {
        let n = self.shown_len();
        self.cursor.index().filter(|_| n > 0).map(|i| i.min(n - 1))
    }

    /// Puts the cursor back on its request (or the next one still shown) after `matches`
    /// changed. With no row shown it keeps its request for when rows are back.
    pub(super) fn sync_cursor(&mut self) {
        let n = self.shown_len();
        if n == 0 {
            return;
        }
        let m = &self.matches;
        self.cursor.sync(
            n,
            |s| Some(m.partition_point(|&x| x < s).min(n - 1)),
            |i| m.get(i).copied(),
        );
    }

    pub fn selected_request(&self) -> Option<&Request> {
        let i = self.selected_index()?;
        self.matches.get(i).and_then(|&s| self.request_at(s))
    }

    /// The window of `height` rows: (first index into `matches`, end index).
    pub fn window(&self, height: usize) -> (usize, usize) {
        let n = self.shown_len();
        let start = match self.selected_index() {
            None => n.saturating_sub(height.max(1)),
            Some(sel) => {
                let top = self.top.map(|t| self.matches.partition_point(|&x| x < t));
                self.cursor.first(n, height, Some(top.unwrap_or(sel)))
            }
        };
        (start, (start + height.max(1)).min(n))
    }

    pub(super) fn push_requests(&mut self, reqs: Vec<Request>) {
        if self.core.paused {
            self.core.held.count(reqs.len() as u64);
        }
        for r in reqs {
            let t = if r.start > 0.0 {
                r.start
            } else {
                self.newest_start
            };
            self.newest_start = self.newest_start.max(t);
            self.stats.observe(&r, t);
            let seq = self.ring.pushed();
            if self.filter.matches(&r) {
                self.matches.push_back(seq);
            }
            self.ring.push(r);
        }
        let oldest = self.oldest_seq();
        while self.matches.front().is_some_and(|&s| s < oldest) {
            self.matches.pop_front();
        }
        self.sync_cursor();
    }

    /// Replay's jump: the ring, statistics, matches and counters start over with `reqs`;
    /// the cursor follows the newest row again (paused, the frozen display is the new state). The detail pane stays open only on a
    /// request that is among them (it never shows one recorded after the cursor).
    pub(super) fn replace_requests(&mut self, reqs: Vec<Request>) {
        self.ring = crate::vlog::Ring::new(self.ring.capacity());
        self.stats = crate::vlog::Stats::new();
        self.matches.clear();
        self.cursor = crate::widgets::selection::Selection::tail();
        self.top = None;
        self.malformed = 0;
        // restarts count from here too (the recorded starts after it are handed over again)
        self.starts = self.starts.min(1);
        self.requeries = 0;
        self.newest_start = 0.0;
        // paused, the display freezes again at the new state (the count starts over)
        let paused = self.core.paused;
        for p in self.core.set_paused(false) {
            self.core.apply(p);
        }
        self.push_requests(reqs);
        self.core.set_paused(paused);
        let same = |a: &Request, b: &Request| a.vxid == b.vxid && a.start == b.start;
        if let Some(d) = &self.detail {
            if !self.ring.iter().any(|r| same(r, &d.request)) {
                self.detail = None;
            }
        }
    }

    pub(super) fn recompute(&mut self) {
        let base = self.oldest_seq();
        let f = &self.filter;
        self.matches = self
            .ring
            .iter()
            .enumerate()
            .filter(|(_, r)| f.matches(r))
            .map(|(i, _)| base + i as u64)
            .collect();
        self.top = None;
        self.sync_cursor();
    }

    /// Puts the cursor on row `idx` (past the newest, or `None`: follows the newest).
    pub(super) fn move_to_index(&mut self, idx: Option<usize>) {
        let n = self.shown_len();
        let m = &self.matches;
        self.cursor.set(idx.unwrap_or(n), n, |i| m.get(i).copied());
        self.keep_window();
    }

    /// A list key (`Up`, `PageDown`, `Bottom`, ...): up from following lands on the newest
    /// row, past the newest row follows again.
    pub(super) fn move_cursor(&mut self, action: Action) {
        let n = self.shown_len();
        if n == 0 && !matches!(action, Action::Top | Action::Bottom) {
            return;
        }
        self.sync_cursor();
        let page = self.page.get().max(2) as usize - 1;
        let m = &self.matches;
        self.cursor.apply(action, n, page, |i| m.get(i).copied());
        self.keep_window();
    }

    /// Remembers the window's first row after a move, so the next moves do not jump.
    pub(super) fn keep_window(&mut self) {
        self.top = if self.cursor.is_following() {
            None
        } else {
            let (start, _) = self.window(self.page.get().max(1) as usize);
            self.matches.get(start).copied()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Payload;
    use crate::views::{Ctx, View};
    use crate::vlog::builder::RequestBuilder;
    use crate::vlog::VlogEvent;

    fn reqs(from: u64, n: u64) -> Payload {
        let rs = (from..from + n)
            .map(|i| {
                let mut b = RequestBuilder {
                    vxid: 100 + i,
                    start: 1.0e9 + i as f64,
                    ..Default::default()
                };
                b.url.extend_from_slice(format!("/r{i}").as_bytes());
                b.build()
            })
            .collect();
        Payload::Vlog(VlogEvent::Requests(rs))
    }

    fn selected_url(v: &VlogView) -> Option<String> {
        v.selected_request().map(|r| r.url().to_string())
    }

    #[test]
    fn pause_freezes_the_rows_shown_and_counts_the_requests_recorded() {
        let mut v = VlogView::default();
        let mut ctx = Ctx::default();
        v.apply(reqs(0, 5));
        v.handle(Action::TogglePause, &mut ctx);
        v.apply(reqs(5, 3));
        v.apply(reqs(8, 4));
        assert_eq!(v.ring.len(), 12, "the ring keeps recording");
        assert_eq!(v.shown_len(), 5, "the display is frozen");
        assert_eq!(v.core.pause_status().as_deref(), Some("PAUSED · 7 new"));
        v.handle(Action::TogglePause, &mut ctx);
        assert_eq!(v.shown_len(), 12);
        assert_eq!(v.core.pause_status(), None);
    }

    #[test]
    fn the_list_follows_new_requests_until_moved_up_then_stays_on_its_request() {
        let mut v = VlogView::default();
        let mut ctx = Ctx::default();
        v.apply(reqs(0, 5));
        assert_eq!(v.selected_index(), None, "following");
        assert_eq!(v.window(3), (2, 5));
        v.apply(reqs(5, 5));
        assert_eq!(v.window(3), (7, 10), "following: the newest rows");
        v.handle(Action::Up, &mut ctx);
        assert_eq!(selected_url(&v).as_deref(), Some("/r9"));
        v.apply(reqs(10, 5));
        assert_eq!(
            selected_url(&v).as_deref(),
            Some("/r9"),
            "stays on its request"
        );
        v.handle(Action::Bottom, &mut ctx);
        assert_eq!(v.selected_index(), None, "Bottom follows again");
    }

    #[test]
    fn replace_starts_over_with_its_requests_even_paused() {
        let mut v = VlogView::default();
        let mut ctx = Ctx::default();
        v.apply(reqs(0, 10));
        v.apply(Payload::Vlog(VlogEvent::Malformed(2)));
        v.starts = 3;
        v.handle(Action::Up, &mut ctx);
        v.handle(Action::Open, &mut ctx);
        assert!(v.detail.is_some());
        v.handle(Action::TogglePause, &mut ctx);
        v.apply(reqs(10, 4));
        let Payload::Vlog(VlogEvent::Requests(three)) = reqs(0, 3) else {
            unreachable!()
        };
        v.apply(Payload::Vlog(VlogEvent::Replace(three)));
        assert_eq!(v.shown_len(), 3, "the frozen display is the new state");
        assert_eq!(v.ring.len(), 3);
        assert_eq!(v.malformed, 0);
        assert_eq!(v.failed_restarts(), 0, "restarts count from the jump");
        assert_eq!(v.stats.snapshot(1.0e9 + 3.0).total, 3, "counted once");
        assert_eq!(v.selected_index(), None, "following the newest row");
        assert!(v.detail.is_none(), "/r9 is not among them: its pane closes");
        assert!(v.core.paused);
        v.apply(reqs(3, 2));
        assert_eq!(v.shown_len(), 3, "still frozen");
        v.handle(Action::TogglePause, &mut ctx);
        assert_eq!(v.shown_len(), 5);
    }
}
