//! The cursor of a list, shared by every list view (the table of pgtop, repl and spotify, the
//! pgtop lock tree, the repl audit list, the spotify question list, the vlog requests): its
//! position, the id of the row under it so a refresh that reorders or drops rows leaves it
//! on the same row ([`Selection::sync`]), the moves (`Up`/`Down`, `PageUp`/`PageDown`,
//! `Top`/`Bottom`), and the first row shown for a page height ([`Selection::first`]).
//! A list made with [`Selection::tail`] (vlog) follows its newest row until the cursor is
//! moved up, and follows it again when moved past the end or to the bottom.
//! Scrolling a text pane (no cursor) is [`crate::widgets::scroll::Scroll`].
//!
//! Rows are given by their count and `key_at(index)`; the list owns its rows, this only the
//! cursor. Keys are `Copy` so the cursor is (table rows use a hash of their key text).

use crate::keymap::Action;
use std::cmp::Ordering;

/// The cursor of a list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection<K> {
    index: usize,
    key: Option<K>,
    /// The list may follow its newest row (see [`Selection::tail`]).
    tail: bool,
    /// It does now: the cursor is past the newest row.
    following: bool,
}

impl<K: Copy + PartialEq> Selection<K> {
    /// A list that follows its newest row until the cursor moves up (vlog).
    pub fn tail() -> Self {
        Selection {
            index: 0,
            key: None,
            tail: true,
            following: true,
        }
    }

    /// The position, `None` while following the newest row.
    pub fn index(&self) -> Option<usize> {
        (!self.following).then_some(self.index)
    }

    /// The position (while following: where it was last).
    pub fn at(&self) -> usize {
        self.index
    }

    /// The id of the row under the cursor (`None`: no rows, or following).
    pub fn key(&self) -> Option<K> {
        self.key.filter(|_| !self.following)
    }

    pub fn is_following(&self) -> bool {
        self.following
    }

    /// Puts the cursor on row `index` of `len` (clamped), or follows the newest row when a
    /// tail list is moved past its end.
    pub fn set(&mut self, index: usize, len: usize, key_at: impl Fn(usize) -> Option<K>) {
        if self.tail && index >= len {
            self.follow();
            return;
        }
        self.following = false;
        self.index = index.min(len.saturating_sub(1));
        self.key = key_at(self.index);
    }

    /// Back to the first row at the next [`Selection::sync`], unless the selected row is
    /// found there (new data of another kind: the top, or the same row if it is in it).
    pub fn rewind(&mut self) {
        self.index = 0;
    }

    /// Follows the newest row (a tail list; others go to their last row on `Bottom`).
    pub fn follow(&mut self) {
        self.following = true;
        self.key = None;
    }

    /// Moves by `delta` rows. A tail list that follows lands on its newest row going up and
    /// stays put going down.
    pub fn move_by(&mut self, delta: isize, len: usize, key_at: impl Fn(usize) -> Option<K>) {
        let from = match (self.following, delta.cmp(&0)) {
            (true, Ordering::Less) if len > 0 => len,
            (true, _) => return,
            (false, _) => self.index,
        };
        let to = (from as isize).saturating_add(delta).max(0) as usize;
        self.set(to, len, key_at);
    }

    /// Moves on a list action (`Up`, `Down`, `PageUp`, `PageDown` by `page` rows, `Top`,
    /// `Bottom`); returns false for any other action.
    pub fn apply(
        &mut self,
        action: Action,
        len: usize,
        page: usize,
        key_at: impl Fn(usize) -> Option<K>,
    ) -> bool {
        let page = page.max(1) as isize;
        match action {
            Action::Up => self.move_by(-1, len, key_at),
            Action::Down => self.move_by(1, len, key_at),
            Action::PageUp => self.move_by(-page, len, key_at),
            Action::PageDown => self.move_by(page, len, key_at),
            Action::Top if self.tail && len == 0 => self.follow(),
            Action::Top => self.set(0, len, key_at),
            Action::Bottom if self.tail => self.follow(),
            Action::Bottom => self.set(len.saturating_sub(1), len, key_at),
            _ => return false,
        }
        true
    }

    /// The rows changed: back on the row with the remembered id when `find` finds it, else
    /// the same position (clamped to the rows).
    pub fn sync(
        &mut self,
        len: usize,
        find: impl FnOnce(K) -> Option<usize>,
        key_at: impl Fn(usize) -> Option<K>,
    ) {
        if self.following {
            return;
        }
        if let Some(i) = self.key.and_then(|k| {
            // the row under the cursor is still the one: no search
            (key_at(self.index) != Some(k)).then(|| find(k)).flatten()
        }) {
            self.index = i;
        }
        self.index = self.index.min(len.saturating_sub(1));
        self.key = key_at(self.index);
    }

    /// The first row shown when `len` rows are shown `height` at a time: the cursor stays on
    /// the page, on its last line once past the first page; following: the last page.
    /// `kept`: a first row remembered from the last move (vlog), so moving inside the page
    /// does not scroll.
    pub fn first(&self, len: usize, height: usize, kept: Option<usize>) -> usize {
        let h = height.max(1);
        if self.following {
            return len.saturating_sub(h);
        }
        let sel = self.index.min(len.saturating_sub(1));
        match kept {
            None => (sel + 1).saturating_sub(h),
            Some(top) => {
                let mut start = top.min(sel);
                if sel >= start + h {
                    start = sel + 1 - h;
                }
                start.min(len.saturating_sub(h))
            }
        }
    }
}

/// Compares the position (`cursor == 3`, `cursor > 200`): what callers and tests ask of it.
impl<K> PartialEq<usize> for Selection<K> {
    fn eq(&self, other: &usize) -> bool {
        self.index == *other
    }
}

impl<K> PartialOrd<usize> for Selection<K> {
    fn partial_cmp(&self, other: &usize) -> Option<Ordering> {
        self.index.partial_cmp(other)
    }
}

/// The id a table row is kept by: a hash of its key text (so the cursor is `Copy`).
pub fn key_id(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows by id; the key of row `i` is `rows[i]`.
    fn at(rows: &[u32]) -> impl Fn(usize) -> Option<u32> + '_ {
        |i| rows.get(i).copied()
    }

    fn find(rows: &[u32]) -> impl FnOnce(u32) -> Option<usize> + '_ {
        |k| rows.iter().position(|&r| r == k)
    }

    #[test]
    fn a_refresh_that_reorders_rows_keeps_the_selected_id() {
        // pgtop: the list is re-sorted on every refresh; the cursor stays on its pid
        let before = [101, 102, 103, 104];
        let mut s = Selection::default();
        s.move_by(2, before.len(), at(&before));
        assert_eq!(s.key(), Some(103));
        let after = [103, 104, 101, 102, 105];
        s.sync(after.len(), find(&after), at(&after));
        assert_eq!((s.index(), s.key()), (Some(0), Some(103)));
        // the row is gone: the same position, clamped, on whatever row is there now
        let gone = [104, 101];
        s.sync(gone.len(), find(&gone), at(&gone));
        assert_eq!((s.index(), s.key()), (Some(0), Some(104)));
        let shorter = [1];
        s.set(1, gone.len(), at(&gone));
        s.sync(shorter.len(), find(&shorter), at(&shorter));
        assert_eq!((s.index(), s.key()), (Some(0), Some(1)));
        s.sync(0, find(&[]), at(&[]));
        assert_eq!((s.index(), s.key()), (Some(0), None), "no rows, no panic");
    }

    #[test]
    fn a_tail_list_follows_the_newest_row_until_moved_up() {
        // vlog: new rows keep arriving; while following, the window is the last page
        let mut rows: Vec<u32> = (0..10).collect();
        let mut s = Selection::tail();
        assert!(s.is_following());
        assert_eq!(s.first(rows.len(), 4, None), 6);
        rows.extend(10..20);
        assert!(s.is_following(), "arrivals do not stop the follow");
        assert_eq!(s.first(rows.len(), 4, None), 16);
        s.move_by(1, rows.len(), at(&rows));
        assert!(s.is_following(), "down while following stays");
        s.move_by(-1, rows.len(), at(&rows));
        assert_eq!(
            (s.index(), s.key()),
            (Some(19), Some(19)),
            "up lands on the newest"
        );
        rows.extend(20..30);
        s.sync(rows.len(), find(&rows), at(&rows));
        assert_eq!(s.key(), Some(19), "not following: new rows do not move it");
        s.move_by(100, rows.len(), at(&rows));
        assert!(s.is_following(), "past the end: follows again");
        s.apply(Action::Top, rows.len(), 5, at(&rows));
        assert_eq!(s.index(), Some(0));
        s.apply(Action::Bottom, rows.len(), 5, at(&rows));
        assert!(s.is_following());
        // a plain list does not follow: Bottom and past the end stop on the last row
        let mut p = Selection::default();
        p.apply(Action::Bottom, rows.len(), 5, at(&rows));
        assert_eq!(p.index(), Some(29));
        p.move_by(5, rows.len(), at(&rows));
        assert_eq!(p.index(), Some(29));
    }

    #[test]
    fn moves_clamp_and_the_page_keeps_the_cursor_on_screen() {
        let rows: Vec<u32> = (0..30).collect();
        let mut s = Selection::default();
        assert!(s.apply(Action::PageDown, 30, 9, at(&rows)));
        assert_eq!(s, 9);
        assert_eq!(
            s.first(30, 5, None),
            5,
            "the cursor on the page's last line"
        );
        s.apply(Action::PageUp, 30, 9, at(&rows));
        s.apply(Action::Up, 30, 9, at(&rows));
        assert_eq!(s, 0);
        assert!(!s.apply(Action::Open, 30, 9, at(&rows)));
        // a remembered first row: moving up inside the page does not scroll
        s.set(12, 30, at(&rows));
        assert_eq!(s.first(30, 5, Some(10)), 10);
        assert_eq!(
            s.first(30, 5, Some(2)),
            8,
            "the cursor pulls the page along"
        );
        s.set(29, 30, at(&rows));
        assert_eq!(s.first(30, 5, Some(29)), 25, "the last page stays full");
        assert!(s > 20);
    }
}
