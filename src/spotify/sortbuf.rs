//! A bounded buffer that hands parsed chart rows to the SQLite loader in key order
//! `(country, list_date, pos)`. Chart files come date-major (every region for one day, then the
//! next day), which makes the SQLite `WITHOUT ROWID` table insert at twenty places at once and
//! split half-full pages; in key order every insert is an append (1M rows: about 1.0 s instead of
//! 2.1 s, and a third smaller file). The sort is stable, so of two rows with the same key the one
//! read last is still written last ("last one read wins" is unchanged).
//!
//! [`load_sorted`] parses on a second thread while the caller writes the previous chunk, so
//! parsing and SQLite's inserts overlap.
//!
//! Data flow: `import::walk_files` rows (parser thread) → [`KeySorted::push`] → full chunks
//! over a rendezvous channel → [`KeySorted::drain`] → the store's prepared upsert.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use tokio::sync::mpsc::UnboundedSender;

use super::import::{walk_files, ImportEvent, ImportOptions};
use super::parse::ParseReport;
use super::schema::{Row, SourceKind};

/// Parse `files` on a scoped thread into key-sorted chunks of `chunk_rows` rows and call
/// `write` for every row, chunk by chunk, on the calling thread. At most three chunks exist at
/// once (one filling, one handed over, one being written). A `write` error stops the parser;
/// a parser error (bad file in strict mode, cancel) is returned after the written rows, which
/// the caller's transaction then discards.
pub(crate) fn load_sorted(
    files: &[PathBuf],
    opts: &ImportOptions,
    progress: Option<&UnboundedSender<ImportEvent>>,
    rejected: &mut Vec<(PathBuf, String)>,
    chunk_rows: usize,
    mut write: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<ParseReport> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<KeySorted>(0);
    std::thread::scope(|scope| {
        let parser = scope.spawn(move || -> Result<(ParseReport, Vec<(PathBuf, String)>)> {
            let mut rejected = Vec::new();
            let mut buf = KeySorted::new(chunk_rows);
            let report = walk_files(files, opts, progress, &mut rejected, |row| {
                if buf.push(row)? {
                    let mut full = std::mem::replace(&mut buf, KeySorted::new(chunk_rows));
                    full.sort();
                    tx.send(full)
                        .map_err(|_| anyhow!("the SQLite writer stopped"))?;
                }
                Ok(())
            })?;
            buf.sort();
            // A closed channel here means the writer failed; its error is reported below.
            let _ = tx.send(buf);
            Ok((report, rejected))
        });
        let mut write_err = None;
        for mut chunk in rx.iter() {
            if let Err(e) = chunk.drain(&mut write) {
                write_err = Some(e);
                break;
            }
        }
        drop(rx);
        let parsed = parser
            .join()
            .map_err(|_| anyhow!("the import parser thread panicked"))?;
        if let Some(e) = write_err {
            return Err(e);
        }
        let (report, mut rej) = parsed?;
        rejected.append(&mut rej);
        Ok(report)
    })
}

/// One buffered row: its text fields live in the arena at `start..`, lengths in `lens`
/// (country, list_date, track_id, track, artist, artists).
struct Rec {
    start: usize,
    lens: [u32; 6],
    pos: u16,
    streams: Option<u32>,
    source: SourceKind,
}

/// Rows buffered for a key-ordered write; at most `max_rows` at a time.
pub(crate) struct KeySorted {
    arena: Vec<u8>,
    recs: Vec<Rec>,
    max_rows: usize,
    sorted: bool,
}

impl KeySorted {
    pub(crate) fn new(max_rows: usize) -> KeySorted {
        KeySorted {
            arena: Vec::new(),
            recs: Vec::new(),
            max_rows: max_rows.max(1),
            sorted: true,
        }
    }

    /// Buffer `row`; `true` when the buffer is full and should be drained.
    pub(crate) fn push(&mut self, row: &Row<'_>) -> Result<bool> {
        self.sorted = false;
        let start = self.arena.len();
        let mut lens = [0u32; 6];
        let fields = [
            row.country,
            row.list_date,
            row.track_id,
            row.track,
            row.artist,
            row.artists,
        ];
        for (len, f) in lens.iter_mut().zip(fields) {
            *len = u32::try_from(f.len()).map_err(|_| anyhow!("field too long to buffer"))?;
            self.arena.extend_from_slice(f.as_bytes());
        }
        self.recs.push(Rec {
            start,
            lens,
            pos: row.pos,
            streams: row.streams,
            source: row.source,
        });
        Ok(self.recs.len() >= self.max_rows)
    }

    /// Sort the buffered rows by key `(country, list_date, pos)`; stable, so equal keys keep
    /// the order they were read in.
    pub(crate) fn sort(&mut self) {
        if self.sorted {
            return;
        }
        let arena = &self.arena;
        let key = |r: &Rec| {
            let c = r.start..r.start + r.lens[0] as usize;
            let d = c.end..c.end + r.lens[1] as usize;
            (&arena[c], &arena[d], r.pos)
        };
        self.recs.sort_by(|a, b| key(a).cmp(&key(b)));
        self.sorted = true;
    }

    /// Sort (if needed), call `write` for each row in key order, and empty the buffer (also
    /// when `write` fails).
    pub(crate) fn drain(&mut self, mut write: impl FnMut(&Row<'_>) -> Result<()>) -> Result<()> {
        self.sort();
        let arena = std::mem::take(&mut self.arena);
        let mut recs = std::mem::take(&mut self.recs);
        for r in &recs {
            let mut at = r.start;
            let mut f = [""; 6];
            for (slot, &len) in f.iter_mut().zip(&r.lens) {
                let end = at + len as usize;
                // The bytes came from `&str`s split at their own boundaries.
                *slot = std::str::from_utf8(&arena[at..end])
                    .map_err(|e| anyhow!("sort buffer holds invalid UTF-8: {e}"))?;
                at = end;
            }
            write(&Row {
                country: f[0],
                list_date: f[1],
                pos: r.pos,
                track_id: f[2],
                track: f[3],
                artist: f[4],
                artists: f[5],
                streams: r.streams,
                source: r.source,
            })?;
        }
        // Keep the allocations for the next chunk.
        self.arena = arena;
        self.arena.clear();
        recs.clear();
        self.recs = recs;
        self.sorted = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(country: &'a str, date: &'a str, pos: u16, track: &'a str) -> Row<'a> {
        Row {
            country,
            list_date: date,
            pos,
            track_id: "0bAkKNCQfWkexHFn7fIKns",
            track,
            artist: "Ä",
            artists: "Ä, 😀",
            streams: Some(u32::from(pos)),
            source: SourceKind::KaggleData,
        }
    }

    #[test]
    fn drains_in_key_order_and_keeps_the_last_duplicate_last() {
        let mut b = KeySorted::new(10);
        let input = [
            row("us", "2017-01-02", 1, "a"),
            row("global", "2017-01-02", 2, "b"),
            row("us", "2017-01-01", 2, "c"),
            row("us", "2017-01-01", 1, "first"),
            row("global", "2017-01-01", 1, "d"),
            row("us", "2017-01-01", 1, "second"),
        ];
        for r in &input {
            assert!(!b.push(r).unwrap());
        }
        let mut out = Vec::new();
        b.drain(|r| {
            out.push(r.to_owned_row());
            Ok(())
        })
        .unwrap();
        let keys: Vec<(&str, &str, u16, &str)> = out
            .iter()
            .map(|r| (&*r.country, &*r.list_date, r.pos, &*r.track))
            .collect();
        assert_eq!(
            keys,
            [
                ("global", "2017-01-01", 1, "d"),
                ("global", "2017-01-02", 2, "b"),
                ("us", "2017-01-01", 1, "first"),
                ("us", "2017-01-01", 1, "second"),
                ("us", "2017-01-01", 2, "c"),
                ("us", "2017-01-02", 1, "a"),
            ]
        );
        assert_eq!(out[0].artists, "Ä, 😀");
        // Empty after a drain; full at max_rows.
        b.drain(|_| panic!("drained twice")).unwrap();
        let mut small = KeySorted::new(2);
        assert!(!small.push(&input[0]).unwrap());
        assert!(small.push(&input[1]).unwrap());
    }
}
