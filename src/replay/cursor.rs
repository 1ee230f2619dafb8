//! The time cursor over a recording: which records are shown at a time T, and the updates
//! that bring the app there. Records are read once into [`Frame`]s and kept from the pgtop
//! keyframe before the cursor on (the window); pgtop snapshots are decoded only when shown
//! ([`super::cursor_frames`]), so a seek applies a minute of snapshots and decodes one, and a
//! step back decodes one from the kept state a few records before it. A move far ahead
//! rebuilds the window from the nearest keyframe ([`Reader::start_id`]); stepping back towards
//! the window's start reads the window before it a few records per step ([`Before`]).
//!
//! Moving forward one refresh (and playing) hands over every record passed, in order, as the
//! live run did; any other move hands over the state at the new time: the last pgtop
//! snapshot, the last replication snapshot of each server and the last health of each view.

use super::cursor_frames::{Before, Frame, Reading, Shower};
use crate::messages::{Payload, Update};
use crate::record::store::{Reader, Row};
use crate::record::{codec::Kind, pg_panes_latest as pg_panes};
use crate::wire::ViewKind;

mod trim;

/// Records read per query.
const BATCH: usize = 256;
/// Records read per query when stepping forward (a step reads little more than it needs).
const STEP_BATCH: usize = 8;
/// A step back this near the window's start reads on in the window before it.
const BEFORE_NEAR_MS: i64 = 30_000;
/// Records of the window before read per step back at least.
const BEFORE_ROWS: usize = 8;
/// History loaded before the cursor when rebuilding (so a server refreshed slowly shows).
const LOOK_BACK_MS: i64 = 60_000;
/// Frames kept at most (a recording without pgtop keyframes has no other bound).
const MAX_FRAMES: usize = 20_000;
/// A refresh searched for at most this many records away, then any record will do.
const STEP_SEARCH: usize = 10_000;

/// The cursor.
pub struct Cursor {
    reader: Reader,
    /// reading on after the window's last record
    reading: Reading,
    /// decodes the pgtop snapshots shown
    shower: Shower,
    frames: Vec<Frame>,
    /// index in `frames` of the record at the cursor; `None` before the first record
    pos: Option<usize>,
    /// the recording's first record
    first_id: i64,
    /// the window before `frames`, being read as the cursor steps back towards it
    before: Option<Before>,
    /// records read after the window's last (past the time it was filled to)
    pending: Vec<Row>,
    pub first_ms: i64,
    pub last_ms: i64,
    /// the time shown (a `goto` between two records keeps the time asked for)
    pub cursor_ms: i64,
    /// records that could not be decoded (damaged, or a delta cut from its keyframe)
    pub skipped: u64,
    /// vlog and kill records ([`super::cursor_vlog`])
    recorded: super::cursor_vlog::Recorded,
}

/// Where a move ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Edge {
    Start,
    End,
}

impl Cursor {
    /// A cursor at the first record. Errors name the file (an empty recording is one).
    pub fn open(reader: Reader, name: &str) -> Result<Cursor, String> {
        let err = |e: rusqlite::Error| format!("recording {name}: {e}");
        let (first_ms, last_ms) = reader
            .span()
            .map_err(err)?
            .ok_or_else(|| format!("recording {name}: no records"))?;
        let first_id = reader.start_id(i64::MIN, &[]).map_err(err)?.unwrap_or(0);
        let mut c = Cursor {
            reader,
            reading: Reading::at(first_id),
            shower: Shower::default(),
            frames: Vec::new(),
            pos: None,
            first_id,
            before: None,
            pending: Vec::new(),
            first_ms,
            last_ms,
            cursor_ms: first_ms,
            skipped: 0,
            recorded: Default::default(),
        };
        c.rebuild(first_ms).map_err(err)?;
        c.show_pos();
        Ok(c)
    }

    /// Connects again to a store that went away (a PostgreSQL server; a file: nothing to do).
    pub fn reconnect(&mut self) -> rusqlite::Result<()> {
        self.reader.reconnect()
    }

    /// Reads the recording's span again: a recording still being written (a headless
    /// recorder's file, a fleet's store) grows, and its retention drops its start. True when
    /// its end moved on. Called by the moves that would pass the end, so a recording that does
    /// not grow costs one query per such move.
    pub fn extend(&mut self) -> rusqlite::Result<bool> {
        let Some((first, last)) = self.reader.span()? else {
            return Ok(false);
        };
        self.first_ms = self.first_ms.max(first).min(self.cursor_ms);
        let grew = last > self.last_ms;
        self.last_ms = self.last_ms.max(last);
        Ok(grew)
    }

    /// The view of the first refresh in the window (the tab replay opens on).
    pub fn first_view(&self) -> Option<ViewKind> {
        self.frames
            .iter()
            .find(|f| ViewKind::ALL.into_iter().any(|v| f.is_refresh(v)))
            .and_then(|f| f.view)
    }

    /// The records held (read and not yet dropped): what the cursor's memory grows with.
    pub fn held(&self) -> usize {
        self.frames.len() + self.before.as_ref().map_or(0, Before::held)
    }

    /// The frame at the cursor.
    pub fn current(&self) -> Option<&Frame> {
        self.pos.and_then(|p| self.frames.get(p))
    }

    /// The state at time `t` (clamped to the recording).
    pub fn goto(&mut self, t: i64) -> rusqlite::Result<Vec<Update>> {
        if t > self.last_ms {
            self.extend()?;
        }
        let t = t.clamp(self.first_ms, self.last_ms);
        // the vlog tab is rebuilt from the minute before `t`: the window must hold it
        let from = match self.recorded.has_vlog() {
            true => t.saturating_sub(LOOK_BACK_MS).max(self.first_ms),
            false => t,
        };
        let in_window = self.frames.first().is_some_and(|f| f.ts_ms <= from)
            && self.recorded.complete_after(from)
            && self
                .frames
                .last()
                .is_some_and(|f| t <= f.ts_ms + LOOK_BACK_MS);
        if in_window {
            self.fill_to(t)?;
            self.pos = self.last_at_or_before(t);
        } else {
            self.rebuild(t)?;
        }
        self.cursor_ms = t;
        self.trim();
        self.show_pos();
        Ok(self.state())
    }

    /// Plays forward to time `t`: every record passed, in order.
    pub fn advance_to(&mut self, t: i64) -> rusqlite::Result<(Vec<Update>, Option<Edge>)> {
        if t >= self.last_ms {
            self.extend()?;
        }
        let t = t.min(self.last_ms);
        self.fill_to(t)?;
        let from = self.pos.map_or(0, |p| p + 1);
        let to = self.last_at_or_before(t);
        let out = self.passed(from, to);
        self.pos = to.or(self.pos);
        self.cursor_ms = t.max(self.cursor_ms);
        self.trim();
        self.show_pos();
        let edge = (t >= self.last_ms).then_some(Edge::End);
        Ok((out, edge))
    }

    /// One refresh of `view` forward (`by > 0`) or back; when `view` has no refresh that
    /// way, one record. `Err(edge)` at the start or the end of the recording.
    pub fn step(&mut self, view: ViewKind, by: i8) -> rusqlite::Result<Result<Vec<Update>, Edge>> {
        let out = if by > 0 {
            self.step_forward(view)?
        } else {
            self.step_back(view)?
        };
        // (both decoded the snapshot they hand over; trimming frees, never un-decodes)
        self.trim();
        Ok(out)
    }

    fn step_forward(&mut self, view: ViewKind) -> rusqlite::Result<Result<Vec<Update>, Edge>> {
        let from = self.pos.map_or(0, |p| p + 1);
        let mut i = from;
        let mut found = None;
        let mut any = None;
        while i < from + STEP_SEARCH {
            if i >= self.frames.len() && !self.read_more(STEP_BATCH)? {
                break;
            }
            let Some(f) = self.frames.get(i) else { break };
            any.get_or_insert(i);
            if f.is_refresh(view) {
                found = Some(i);
                break;
            }
            i += 1;
        }
        let Some(to) = found.or(any) else {
            return Ok(Err(Edge::End));
        };
        let out = self.passed(from, Some(to));
        self.pos = Some(to);
        self.cursor_ms = self.frames[to].ts_ms;
        if self.cursor_ms > self.last_ms {
            self.extend()?; // read past the end: the recording grew
        }
        Ok(Ok(out))
    }

    fn step_back(&mut self, view: ViewKind) -> rusqlite::Result<Result<Vec<Update>, Edge>> {
        let Some(mut before) = self.pos else {
            return Ok(Err(Edge::Start));
        };
        for _ in 0..3 {
            if let Some(i) = (0..before).rev().find(|&i| self.frames[i].is_refresh(view)) {
                self.pos = Some(i);
                self.cursor_ms = self.frames[i].ts_ms;
                self.read_before(view, i)?;
                self.show_pos();
                return Ok(Ok(self.state()));
            }
            // not in the window: the window before it, all of it now
            let n = self.prepend_before(usize::MAX)?;
            if n == 0 {
                break;
            }
            before += n;
        }
        // no refresh of `view` before: the record before in time
        let Some(p) = self.pos else {
            return Ok(Err(Edge::Start));
        };
        let now = self.frames[p].ts_ms;
        match (0..p).rev().find(|&i| self.frames[i].ts_ms < now) {
            Some(i) => {
                self.pos = Some(i);
                self.cursor_ms = self.frames[i].ts_ms;
                self.show_pos();
                Ok(Ok(self.state()))
            }
            None => Ok(Err(Edge::Start)),
        }
    }

    /// After a step back onto `frames[i]`: near the window's start, reads on in the window
    /// before it, its records spread over the refreshes of `view` left (so each step reads a
    /// few and the step out of the window finds it read).
    fn read_before(&mut self, view: ViewKind, i: usize) -> rusqlite::Result<()> {
        let Some(first) = self.frames.first() else {
            return Ok(());
        };
        let near = self.frames[i].ts_ms - first.ts_ms < BEFORE_NEAR_MS;
        if first.id <= self.first_id || !(near || self.before.is_some()) {
            return Ok(());
        }
        let left = self.frames[..i]
            .iter()
            .filter(|f| f.is_refresh(view))
            .count();
        let per_step = |b: &Before| b.remaining().div_ceil(left.saturating_sub(2).max(1));
        let rows = self.before.as_ref().map_or(BEFORE_ROWS, per_step);
        self.prepend_before(rows.max(BEFORE_ROWS))?;
        Ok(())
    }

    /// Reads up to `rows` records of the window before `frames` (starting it if need be);
    /// once it is read whole, puts it in front. Returns the frames put in front.
    fn prepend_before(&mut self, rows: usize) -> rusqlite::Result<usize> {
        let Some(first) = self.frames.first() else {
            return Ok(0);
        };
        let (end, first_ms) = (first.id, first.ts_ms);
        if end <= self.first_id {
            return Ok(0);
        }
        if self.before.as_ref().is_some_and(|b| b.end != end) {
            self.before = None;
        }
        let before = match self.before.as_mut() {
            Some(b) => b,
            None => {
                // from the pgtop keyframe before the window (and a minute before its start);
                // a gap in the recording: further back until a record is found
                let mut back = LOOK_BACK_MS;
                let start = loop {
                    let start = self.window_start(first_ms - 1, back)?;
                    if start < end || first_ms - back <= self.first_ms {
                        break start;
                    }
                    back = back.saturating_mul(4);
                };
                self.before.insert(Before::new(start.min(end), end))
            }
        };
        // `usize::MAX`: all of it, a batch at a time
        while !before.read(&self.reader, rows.min(BATCH))? {
            if rows != usize::MAX {
                return Ok(0);
            }
        }
        let Some(b) = self.before.take() else {
            return Ok(0);
        };
        let (mut pre, recorded, skipped) = b.into_parts();
        self.skipped += skipped;
        self.recorded.adopt_views(&recorded);
        let n = pre.len();
        pre.append(&mut self.frames);
        self.frames = pre;
        self.pos = self.pos.map(|p| p + n);
        Ok(n)
    }

    /// The id to read from to show time `t`: the pgtop keyframe (and panes) before it, and at
    /// least `back_ms` of records before it.
    fn window_start(&self, t: i64, back_ms: i64) -> rusqlite::Result<i64> {
        let pg = [Kind::PgSnapshot, pg_panes::KINDS[0], pg_panes::KINDS[1]].map(Kind::name);
        let key = self.reader.start_id(t, &pg)?;
        let back = self.reader.start_id(t.saturating_sub(back_ms), &[])?;
        Ok(match (key, back) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(i64::MAX),
        })
    }

    /// Reloads the window for time `t`: from the pgtop keyframe before it (and at least
    /// [`LOOK_BACK_MS`] before it) up to `t`.
    fn rebuild(&mut self, t: i64) -> rusqlite::Result<()> {
        let start = self.window_start(t, LOOK_BACK_MS)?;
        self.frames.clear();
        self.recorded.cleared();
        self.before = None;
        self.pending.clear();
        self.reading = Reading::at(start);
        self.pos = None;
        self.fill_to(t)?;
        self.pos = self.last_at_or_before(t);
        Ok(())
    }

    /// Reads records up to time `t` (in arrival order, up to the first one after `t`).
    fn fill_to(&mut self, t: i64) -> rusqlite::Result<()> {
        loop {
            let mut rows = self.fetch(BATCH)?;
            if rows.is_empty() {
                break;
            }
            let after = rows.iter().position(|r| r.ts_ms > t).unwrap_or(rows.len());
            let rest = rows.split_off(after);
            self.push_rows(rows);
            if !rest.is_empty() {
                self.pending = rest;
                break;
            }
        }
        Ok(())
    }

    /// Reads the next `limit` records whatever their time; false at the end.
    fn read_more(&mut self, limit: usize) -> rusqlite::Result<bool> {
        let rows = self.fetch(limit)?;
        if rows.is_empty() {
            return Ok(false);
        }
        self.push_rows(rows);
        Ok(true)
    }

    /// The next `limit` records at most: those read ahead first. (A query bounded by time
    /// instead would scan the table to its end when fewer than `limit` records are left
    /// before that time: 12–24 ms in a 24 h file.)
    fn fetch(&mut self, limit: usize) -> rusqlite::Result<Vec<Row>> {
        if self.pending.is_empty() {
            return self.reader.batch(self.reading.next_id, i64::MAX, limit);
        }
        let n = limit.min(self.pending.len());
        Ok(self.pending.drain(..n).collect())
    }

    fn push_rows(&mut self, rows: Vec<Row>) {
        let frames = &mut self.frames;
        self.skipped += self.reading.push_rows(rows, frames, &mut self.recorded);
    }

    /// Decodes the pgtop snapshot the state at the cursor shows (the last one at or before it).
    fn show_pos(&mut self) {
        let Some(pos) = self.pos else { return };
        let last = pos.min(self.frames.len().saturating_sub(1));
        if let Some(p) = self.frames[..=last].iter().rposition(Frame::is_pg) {
            self.shower.show(&mut self.frames, p, p);
        }
    }

    fn last_at_or_before(&self, t: i64) -> Option<usize> {
        self.frames.iter().rposition(|f| f.ts_ms <= t)
    }

    /// The updates of frames `from..=to`, in order.
    fn passed(&mut self, from: usize, to: Option<usize>) -> Vec<Update> {
        let Some(to) = to else { return Vec::new() };
        self.shower.show(&mut self.frames, from, to);
        self.frames
            .get(from..=to.min(self.frames.len().saturating_sub(1)))
            .unwrap_or_default()
            .iter()
            .flat_map(|f| f.updates.iter().cloned())
            .collect()
    }

    /// The state at the cursor: the last pgtop snapshot, replication snapshot per server and
    /// health per view, in record order (notices are news of their moment, not state), then
    /// the vlog tab rebuilt from the minute before the cursor ([`super::cursor_vlog`]).
    pub fn state(&self) -> Vec<Update> {
        let upto = self.pos.map_or(0, |p| (p + 1).min(self.frames.len()));
        let vlog = self.recorded.state(
            self.frames[..upto]
                .iter()
                .map(|f| (f.ts_ms, f.view, f.updates.as_slice())),
            self.cursor_ms,
        );
        let Some(pos) = self.pos else {
            return vlog;
        };
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for f in self.frames[..=pos.min(self.frames.len().saturating_sub(1))]
            .iter()
            .rev()
        {
            for u in f.updates.iter().rev() {
                let key = match &u.payload {
                    Payload::Pg(_) => (u.view, String::from("pg")),
                    Payload::Health(_) => (u.view, String::from("health")),
                    Payload::Repl(s) => (u.view, format!("repl:{}", s.name)),
                    _ => continue,
                };
                if seen.insert(key) {
                    out.push(u.clone());
                }
            }
        }
        out.reverse();
        out.extend(vlog);
        out
    }
}
