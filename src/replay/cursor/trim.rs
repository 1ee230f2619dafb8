//! What the time cursor ([`super::Cursor`]) lets go of after each move: the frames no move
//! inside its window needs, a few at a time at each end.

use super::{Cursor, LOOK_BACK_MS, MAX_FRAMES};
use crate::replay::cursor_frames::{Frame, Reading};

impl Cursor {
    /// Drops frames no move inside the window needs: before the pgtop keyframe that starts
    /// the window before the cursor's (so between one and two windows of snapshots are kept),
    /// and after the second pgtop keyframe after the cursor (read again going forward). A few
    /// at a time (up to a kept decoder state at each end): freeing a minute of decoded
    /// snapshots at once would cost one step several milliseconds.
    pub(super) fn trim(&mut self) {
        let Some(pos) = self.pos else { return };
        self.trim_after(pos);
        let keys: Vec<usize> = (0..=pos.min(self.frames.len().saturating_sub(1)))
            .filter(|&i| self.frames[i].is_pg_key())
            .collect();
        let mut cut = if keys.len() >= 2 {
            keys[keys.len() - 2]
        } else {
            0
        };
        if self.recorded.has_vlog() {
            // the vlog tab's minute before the cursor stays (see `goto`)
            let from = self.cursor_ms.saturating_sub(LOOK_BACK_MS);
            let keep = self.frames.iter().position(|f| f.ts_ms > from);
            cut = cut.min(keep.map_or(cut, |k| k.saturating_sub(1)));
        }
        cut = cut.max(pos.saturating_sub(MAX_FRAMES));
        let checks = self.frames.iter().enumerate().skip(1);
        if let Some((limit, _)) = checks.filter(|(_, f)| f.is_check()).nth(1) {
            cut = cut.min(limit);
        }
        cut = self.decodable_cut(cut);
        if cut > 0 {
            self.frames.drain(..cut);
            self.pos = Some(pos - cut);
        }
        let pos = self
            .pos
            .unwrap_or(0)
            .min(self.frames.len().saturating_sub(1));
        if let Some(handed) = self.frames.get_mut(..=pos) {
            let newest_first = handed.iter_mut().rev();
            self.recorded
                .bound(newest_first.map(|f| (f.ts_ms, &mut f.updates)));
        }
    }

    /// `cut`, or less so that the pgtop snapshots after it still decode: the first one kept
    /// is a keyframe, or a kept decoder state comes before it.
    fn decodable_cut(&self, cut: usize) -> usize {
        let cut = cut.min(self.frames.len());
        match self.frames[cut..].iter().find(|f| f.is_pg()) {
            Some(f) if !f.is_pg_key() => self.frames[..cut]
                .iter()
                .rposition(Frame::is_check)
                .unwrap_or(0),
            _ => cut,
        }
    }

    /// Drops frames after the second pgtop keyframe after `pos` (left behind by steps back),
    /// back to the kept decoder state before the last frame; reading forward starts again
    /// after it.
    fn trim_after(&mut self, pos: usize) {
        let mut keys = (pos + 1..self.frames.len()).filter(|&i| self.frames[i].is_pg_key());
        let Some(k) = keys.nth(1) else { return };
        let last = self.frames.len() - 1;
        let Some(c) = (k..last).rev().find(|&i| self.frames[i].is_check()) else {
            return;
        };
        if let Some(r) = Reading::after(&self.frames, c) {
            self.frames.truncate(c + 1);
            self.pending.clear();
            self.reading = r;
        }
    }
}
