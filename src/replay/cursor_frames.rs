//! The time cursor's records ([`Frame`]s) and how they are read and decoded.
//!
//! Every record is read once, in order, as the cursor passes it ([`Reading`]). A pgtop
//! snapshot is then only *applied* — the reader's sessions brought up to date, not copied
//! (most of a decode at 500 backends) — and kept as stored; every [`CHECK_EVERY`]th one (and
//! every keyframe) keeps the decoder's state ([`PgState`]). A snapshot is decoded into the
//! updates the live run delivered only when it is shown or handed over ([`Shower::show`]):
//! from the nearest kept state before it (or where the shower's own decoder stands), so a
//! seek or a step back decodes one snapshot after applying at most a few, instead of
//! decoding the minute of snapshots from its keyframe.

use crate::messages::Update;
use crate::record::store::{Reader, Row};
use crate::record::{
    codec::Kind,
    decode::{Decoded, Decoder, PgState},
    pg_panes_latest::Latest,
};
use crate::wire::ViewKind;

use super::cursor_vlog::Recorded;

/// A pgtop record keeps the decoder's state every this many (a step back applies at most this
/// many minus one before decoding the one it shows).
pub const CHECK_EVERY: usize = 4;

/// One record.
pub struct Frame {
    pub id: i64,
    pub ts_ms: i64,
    pub view: Option<ViewKind>,
    pub kind: Option<Kind>,
    /// what the live run delivered for it (a pgtop snapshot is followed by the health it
    /// implies, as the collector sends it); a pgtop snapshot's are empty until
    /// [`Shower::show`] builds them
    pub updates: Vec<Update>,
    /// a pgtop snapshot, as stored
    pg: Option<Box<PgRec>>,
}

/// A pgtop snapshot as stored, and what decoding it needs.
struct PgRec {
    keyframe: bool,
    data: Vec<u8>,
    /// the panes read before it (put on it when decoded)
    panes: Latest,
    /// the decoder's state after it (every [`CHECK_EVERY`]th and every keyframe)
    check: Option<PgState>,
    /// its `updates` are built
    shown: bool,
}

impl Frame {
    /// One refresh of `view`: a snapshot record of that view.
    pub fn is_refresh(&self, view: ViewKind) -> bool {
        self.view == Some(view)
            && matches!(
                self.kind,
                Some(Kind::PgSnapshot | Kind::ReplSnapshot | Kind::VlogRequests)
            )
    }

    /// A pgtop snapshot whose updates are not built yet.
    fn unshown(&self) -> bool {
        self.pg.as_ref().is_some_and(|p| !p.shown)
    }

    /// A pgtop keyframe (the window starts at one).
    pub fn is_pg_key(&self) -> bool {
        self.pg.as_ref().is_some_and(|p| p.keyframe)
    }

    /// A pgtop snapshot.
    pub fn is_pg(&self) -> bool {
        self.pg.is_some()
    }

    /// A frame that keeps a decoder state (the decoding of the ones after it may start here).
    pub fn is_check(&self) -> bool {
        self.pg.as_ref().is_some_and(|p| p.check.is_some())
    }
}

/// Reading records in order: the window forward, or the one before it (a prefetch).
pub struct Reading {
    dec: Decoder,
    panes: Latest,
    since_check: usize,
    /// the id to read next
    pub next_id: i64,
    /// a pgtop keyframe was read (a delta before the first one lacks it: the window starts
    /// inside a keyframe's interval; not counted as damaged)
    seen_key: bool,
}

impl Reading {
    /// Reading from id `start`.
    pub fn at(start: i64) -> Reading {
        Reading {
            dec: Decoder::default(),
            panes: Latest::default(),
            since_check: 0,
            next_id: start,
            seen_key: false,
        }
    }

    /// Reading again after `frames[i]` (the frames after it dropped), when it keeps a decoder
    /// state; `None` otherwise.
    pub fn after(frames: &[Frame], i: usize) -> Option<Reading> {
        let f = frames.get(i)?;
        let rec = f.pg.as_ref()?;
        Some(Reading {
            dec: Decoder::resume(rec.check.as_ref()?),
            panes: rec.panes.clone(),
            since_check: 0,
            next_id: f.id + 1,
            seen_key: true,
        })
    }

    /// Reads `rows` onto `frames`; returns how many could not be decoded (damaged, or a delta
    /// cut from its keyframe).
    pub fn push_rows(
        &mut self,
        rows: Vec<Row>,
        frames: &mut Vec<Frame>,
        recorded: &mut Recorded,
    ) -> u64 {
        let mut skipped = 0;
        for row in rows {
            self.next_id = row.id + 1;
            let view = ViewKind::parse(&row.view);
            let kind = Kind::parse(&row.kind);
            let frame = |updates, pg| Frame {
                id: row.id,
                ts_ms: row.ts_ms,
                view,
                kind,
                updates,
                pg,
            };
            if kind == Some(Kind::PgSnapshot) {
                if self.dec.skip(&row.kind, row.keyframe, &row.data).is_err() {
                    skipped += u64::from(self.seen_key || row.keyframe);
                    continue;
                }
                self.seen_key |= row.keyframe;
                self.since_check += 1;
                let check = match row.keyframe || self.since_check >= CHECK_EVERY {
                    true => {
                        self.since_check = 0;
                        self.dec.pg_state()
                    }
                    false => None,
                };
                let rec = PgRec {
                    keyframe: row.keyframe,
                    panes: self.panes.clone(),
                    check,
                    shown: false,
                    data: row.data,
                };
                frames.push(frame(Vec::new(), Some(Box::new(rec))));
                continue;
            }
            let decoded = match self.dec.decode(&row.kind, row.keyframe, &row.data) {
                Ok(d) => self.panes.pass(&row.kind, d),
                Err(_) => {
                    skipped += 1;
                    continue;
                }
            };
            let own = match (view, &decoded) {
                (Some(v), Decoded::Json(j)) => recorded.updates(kind, v, j),
                _ => None,
            };
            let updates = match own {
                Some(Ok(u)) => u,
                Some(Err(_)) => {
                    skipped += 1;
                    continue;
                }
                None => view.map_or_else(Vec::new, |v| decoded.into_updates(v)),
            };
            frames.push(frame(recorded.without_live_kill(updates), None));
        }
        skipped
    }
}

/// Builds the updates of pgtop snapshots when they are shown: its decoder stands after the
/// record `after` (the last it decoded), so playing or stepping forward decodes each snapshot
/// once, and anything else starts from the nearest kept state.
#[derive(Default)]
pub struct Shower {
    dec: Decoder,
    after: Option<i64>,
}

impl Shower {
    /// Builds the updates of every pgtop snapshot in `frames[from..=to]`.
    pub fn show(&mut self, frames: &mut [Frame], from: usize, to: usize) {
        let to = to.min(frames.len().saturating_sub(1));
        let Some(first) = (from..=to).find(|&i| frames.get(i).is_some_and(Frame::unshown)) else {
            return;
        };
        // where to start: after a kept state, or after where the decoder stands, whichever
        // leaves fewer snapshots to apply; a keyframe needs nothing before it
        let check = (0..first).rev().find(|&i| frames[i].is_check());
        let mine = self
            .after
            .and_then(|id| frames[..first].iter().rposition(|f| f.id == id));
        let pg_between = |a: usize| frames[a + 1..first].iter().filter(|f| f.is_pg()).count();
        let start = match (mine, check) {
            (Some(m), Some(c)) if pg_between(m) <= pg_between(c) => m + 1,
            (Some(m), None) => m + 1,
            (_, Some(c)) => {
                let state = frames[c].pg.as_ref().and_then(|p| p.check.as_ref());
                self.dec = state.map(Decoder::resume).unwrap_or_default();
                c + 1
            }
            (None, None) => {
                self.dec = Decoder::default();
                first
            }
        };
        for (i, f) in frames.iter_mut().enumerate().take(to + 1).skip(start) {
            let Some(rec) = f.pg.as_mut() else { continue };
            let kind = Kind::PgSnapshot.name();
            if rec.shown || i < from {
                let _ = self.dec.skip(kind, rec.keyframe, &rec.data);
            } else {
                rec.shown = true;
                let decoded = self.dec.decode(kind, rec.keyframe, &rec.data);
                f.updates = match (decoded, f.view) {
                    (Ok(d), Some(v)) => rec.panes.clone().pass(kind, d).into_updates(v),
                    _ => Vec::new(),
                };
            }
            self.after = Some(f.id);
        }
    }
}

/// The window before the cursor's, read a few records per step back as the cursor nears the
/// window's start (so no single step pays for a minute of records).
pub struct Before {
    reading: Reading,
    frames: Vec<Frame>,
    recorded: Recorded,
    skipped: u64,
    /// the id of the window's first record (reading stops before it)
    pub end: i64,
}

impl Before {
    /// The records from id `start` to the one before `end`.
    pub fn new(start: i64, end: i64) -> Before {
        Before {
            reading: Reading::at(start),
            frames: Vec::new(),
            recorded: Recorded::default(),
            skipped: 0,
            end,
        }
    }

    /// The records read so far.
    pub fn held(&self) -> usize {
        self.frames.len()
    }

    /// Records left to read (about: ids may have gaps).
    pub fn remaining(&self) -> usize {
        usize::try_from(self.end.saturating_sub(self.reading.next_id)).unwrap_or(0)
    }

    /// Reads up to `rows` more records; true once every one is read.
    pub fn read(&mut self, reader: &Reader, rows: usize) -> rusqlite::Result<bool> {
        if self.reading.next_id >= self.end {
            return Ok(true);
        }
        let mut batch = reader.batch(self.reading.next_id, i64::MAX, rows)?;
        batch.retain(|r| r.id < self.end);
        if batch.is_empty() {
            self.reading.next_id = self.end;
            return Ok(true);
        }
        self.skipped += self
            .reading
            .push_rows(batch, &mut self.frames, &mut self.recorded);
        Ok(self.reading.next_id >= self.end)
    }

    /// The frames read, the vlog views they hold, the records that could not be decoded.
    pub fn into_parts(self) -> (Vec<Frame>, Recorded, u64) {
        (self.frames, self.recorded, self.skipped)
    }
}
