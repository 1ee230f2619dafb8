//! The time cursor over a recording: which records are shown at a time T, and the updates
//! that bring the app there. Records are decoded once into [`Frame`]s (the updates the live
//! run delivered) and kept from the pgtop keyframe before the cursor on, so stepping back
//! inside that window costs no decoding; a move before it (or far ahead) rebuilds the
//! window from the nearest keyframe ([`Reader::start_id`]).
//!
//! Moving forward one refresh (and playing) hands over every record passed, in order, as the
//! live run did; any other move hands over the state at the new time: the last pgtop
//! snapshot, the last replication snapshot of each server and the last health of each view.

use crate::messages::{Payload, Update};
use crate::record::store::Reader;
use crate::record::{
    codec::Kind,
    decode::{Decoded, Decoder},
    pg_panes_latest::{self as pg_panes, Latest},
};
use crate::wire::ViewKind;

/// Records read per query.
const BATCH: usize = 256;
/// Records read per query when stepping forward: every record read is decoded (a pgtop
/// snapshot costs about a millisecond), so a step reads little more than the one it needs.
const STEP_BATCH: usize = 8;
/// History loaded before the cursor when rebuilding (so a server refreshed slowly shows).
const LOOK_BACK_MS: i64 = 60_000;
/// Frames kept at most (a recording without pgtop keyframes has no other bound).
const MAX_FRAMES: usize = 20_000;
/// A refresh searched for at most this many records away, then any record will do.
const STEP_SEARCH: usize = 10_000;

/// One record, decoded.
pub struct Frame {
    pub id: i64,
    pub ts_ms: i64,
    pub view: Option<ViewKind>,
    pub kind: Option<Kind>,
    /// a pgtop keyframe (the window starts at one)
    pub pg_key: bool,
    /// what the live run delivered for it (a pgtop snapshot is followed by the health it
    /// implies, as the collector sends it)
    pub updates: Vec<Update>,
}

impl Frame {
    /// One refresh of `view`: a snapshot record of that view.
    fn is_refresh(&self, view: ViewKind) -> bool {
        self.view == Some(view)
            && matches!(
                self.kind,
                Some(Kind::PgSnapshot | Kind::ReplSnapshot | Kind::VlogRequests)
            )
    }
}

/// The cursor.
pub struct Cursor {
    reader: Reader,
    dec: Decoder,
    frames: Vec<Frame>,
    /// index in `frames` of the record at the cursor; `None` before the first record
    pos: Option<usize>,
    /// the id to read next going forward
    next_id: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// the time shown (a `goto` between two records keeps the time asked for)
    pub cursor_ms: i64,
    /// records that could not be decoded (damaged, or a delta cut from its keyframe)
    pub skipped: u64,
    /// vlog and kill records ([`super::cursor_vlog`])
    recorded: super::cursor_vlog::Recorded,
    /// the pgtop panes read so far, put on each pgtop snapshot read after them
    panes: Latest,
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
        let mut c = Cursor {
            reader,
            dec: Decoder::default(),
            frames: Vec::new(),
            pos: None,
            next_id: 0,
            first_ms,
            last_ms,
            cursor_ms: first_ms,
            skipped: 0,
            recorded: Default::default(),
            panes: Latest::default(),
        };
        c.rebuild(first_ms).map_err(err)?;
        Ok(c)
    }

    /// Connects again to a store that went away (a PostgreSQL server; a file: nothing to do).
    pub fn reconnect(&mut self) -> rusqlite::Result<()> {
        self.reader.reconnect()
    }

    /// The view of the first refresh in the window (the tab replay opens on).
    pub fn first_view(&self) -> Option<ViewKind> {
        self.frames
            .iter()
            .find(|f| ViewKind::ALL.into_iter().any(|v| f.is_refresh(v)))
            .and_then(|f| f.view)
    }

    /// The frame at the cursor.
    pub fn current(&self) -> Option<&Frame> {
        self.pos.and_then(|p| self.frames.get(p))
    }

    /// The state at time `t` (clamped to the recording).
    pub fn goto(&mut self, t: i64) -> rusqlite::Result<Vec<Update>> {
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
        Ok(self.state())
    }

    /// Plays forward to time `t`: every record passed, in order.
    pub fn advance_to(&mut self, t: i64) -> rusqlite::Result<(Vec<Update>, Option<Edge>)> {
        let t = t.min(self.last_ms);
        self.fill_to(t)?;
        let from = self.pos.map_or(0, |p| p + 1);
        let to = self.last_at_or_before(t);
        let out = self.passed(from, to);
        self.pos = to.or(self.pos);
        self.cursor_ms = t.max(self.cursor_ms);
        self.trim();
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
        Ok(Ok(out))
    }

    fn step_back(&mut self, view: ViewKind) -> rusqlite::Result<Result<Vec<Update>, Edge>> {
        for _ in 0..3 {
            let before = match self.pos {
                Some(p) => p,
                None => return Ok(Err(Edge::Start)),
            };
            let found = (0..before).rev().find(|&i| self.frames[i].is_refresh(view));
            if let Some(i) = found {
                self.pos = Some(i);
                self.cursor_ms = self.frames[i].ts_ms;
                return Ok(Ok(self.state()));
            }
            // not in the window: load the one before it and look again
            let at_start = match self.frames.first() {
                Some(f) => f.id <= self.min_id()?,
                None => true,
            };
            if at_start {
                break;
            }
            let start = self.frames.first().map_or(self.first_ms, |f| f.ts_ms);
            let keep = self.frames.get(before).map(|f| f.id);
            self.rebuild(start - 1)?;
            self.fill_to_id(keep)?;
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
                Ok(Ok(self.state()))
            }
            None => Ok(Err(Edge::Start)),
        }
    }

    fn min_id(&self) -> rusqlite::Result<i64> {
        Ok(self.reader.start_id(i64::MIN, &[])?.unwrap_or(i64::MAX))
    }

    /// Reloads the window for time `t`: from the pgtop keyframe before it (and at least
    /// [`LOOK_BACK_MS`] before it) up to `t`.
    fn rebuild(&mut self, t: i64) -> rusqlite::Result<()> {
        // and from the last record of each pgtop pane before it
        let pg = [Kind::PgSnapshot, pg_panes::KINDS[0], pg_panes::KINDS[1]].map(Kind::name);
        let key = self.reader.start_id(t, &pg)?;
        let back = self.reader.start_id(t.saturating_sub(LOOK_BACK_MS), &[])?;
        let start = match (key, back) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b).unwrap_or(i64::MAX),
        };
        self.frames.clear();
        self.recorded.cleared();
        self.dec = Decoder::default();
        self.panes = Latest::default();
        self.next_id = start;
        self.pos = None;
        self.fill_to(t)?;
        self.pos = self.last_at_or_before(t);
        Ok(())
    }

    /// Reads records up to time `t`.
    fn fill_to(&mut self, t: i64) -> rusqlite::Result<()> {
        while self.frames.last().is_none_or(|f| f.ts_ms <= t) {
            let rows = self.reader.batch(self.next_id, t, BATCH)?;
            if rows.is_empty() {
                break;
            }
            self.push_rows(rows);
        }
        Ok(())
    }

    /// Reads records until `id` is in the window and puts the cursor on it.
    fn fill_to_id(&mut self, id: Option<i64>) -> rusqlite::Result<()> {
        let Some(id) = id else { return Ok(()) };
        while self.frames.last().is_none_or(|f| f.id < id) {
            if !self.read_more(BATCH)? {
                break;
            }
        }
        self.pos = self.frames.iter().rposition(|f| f.id <= id).or(self.pos);
        Ok(())
    }

    /// Reads the next `limit` records whatever their time; false at the end.
    fn read_more(&mut self, limit: usize) -> rusqlite::Result<bool> {
        let rows = self.reader.batch(self.next_id, i64::MAX, limit)?;
        if rows.is_empty() {
            return Ok(false);
        }
        self.push_rows(rows);
        Ok(true)
    }

    fn push_rows(&mut self, rows: Vec<crate::record::store::Row>) {
        for row in rows {
            self.next_id = row.id + 1;
            let decoded = match self.dec.decode(&row.kind, row.keyframe, &row.data) {
                Ok(d) => self.panes.pass(&row.kind, d),
                Err(_) => {
                    self.skipped += 1;
                    continue;
                }
            };
            let view = ViewKind::parse(&row.view);
            let kind = Kind::parse(&row.kind);
            let own = match (view, &decoded) {
                (Some(v), Decoded::Json(j)) => self.recorded.updates(kind, v, j),
                _ => None,
            };
            let updates = match own {
                Some(Ok(u)) => u,
                Some(Err(_)) => {
                    self.skipped += 1;
                    continue;
                }
                None => view.map_or_else(Vec::new, |v| decoded.into_updates(v)),
            };
            let updates = self.recorded.without_live_kill(updates);
            self.frames.push(Frame {
                id: row.id,
                ts_ms: row.ts_ms,
                view,
                kind,
                pg_key: kind == Some(Kind::PgSnapshot) && row.keyframe,
                updates,
            });
        }
    }

    fn last_at_or_before(&self, t: i64) -> Option<usize> {
        self.frames.iter().rposition(|f| f.ts_ms <= t)
    }

    /// The updates of frames `from..=to`, in order.
    fn passed(&self, from: usize, to: Option<usize>) -> Vec<Update> {
        let Some(to) = to else { return Vec::new() };
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

    /// Drops frames no move inside the window needs: before the pgtop keyframe that starts
    /// the window before the cursor's (so between one and two windows of decoded snapshots
    /// are kept: at 500 backends about 60–120 snapshots).
    fn trim(&mut self) {
        let Some(pos) = self.pos else { return };
        let keys: Vec<usize> = (0..=pos.min(self.frames.len().saturating_sub(1)))
            .filter(|&i| self.frames[i].pg_key)
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
}
