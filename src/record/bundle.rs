//! The incident bundle: one key (`B`) in a live run writes the last `[record] bundle_minutes`
//! (default 15) of every tab to one recording file, to attach to a ticket.
//!
//! It works whether or not the run records: every live (terminal) run starts the recorder's
//! writer thread, which keeps what it encodes in a [`Ring`] in memory — bounded by minutes and
//! by `[record] bundle_max_mb` — and, with `--record`, also writes it to the store. The key
//! copies the ring (under its lock, a clone of reference-counted buffers) and writes it as a
//! SQLite recording on the blocking pool ([`Bundler::write`]): a temporary name first, renamed
//! when complete, 0600. The records are the encoder's, so secrets are masked as in every
//! recording, and `stacktop replay BUNDLE` reads it.
//!
//! The ring keeps, for each kind, the last keyframe before the window with what follows it,
//! so the bundle's first minute decodes (a pgtop delta needs its keyframe): a bundle covers
//! the minutes asked for plus up to one keyframe interval.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Local};

use super::codec::{Encoded, Kind};
use super::store::SqliteStore;

/// One encoded record kept in memory.
#[derive(Clone, Debug)]
pub struct Entry {
    pub ts_ms: i64,
    pub view: &'static str,
    pub kind: Kind,
    pub keyframe: bool,
    pub data: Arc<[u8]>,
}

/// The last minutes of encoded records.
#[derive(Debug)]
pub struct Ring {
    entries: VecDeque<Entry>,
    bytes: usize,
    window_ms: i64,
    max_bytes: usize,
    last_trim_ms: i64,
}

/// Bytes counted per entry on top of its data.
const ENTRY_OVERHEAD: usize = 64;

impl Ring {
    pub fn new(minutes: u64, max_bytes: u64) -> Ring {
        Ring {
            entries: VecDeque::new(),
            bytes: 0,
            window_ms: i64::try_from(minutes.saturating_mul(60_000)).unwrap_or(i64::MAX),
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            last_trim_ms: i64::MIN,
        }
    }

    pub fn push(&mut self, ts_ms: i64, e: &Encoded) {
        self.bytes += e.data.len() + ENTRY_OVERHEAD;
        self.entries.push_back(Entry {
            ts_ms,
            view: e.view,
            kind: e.kind,
            keyframe: e.keyframe,
            data: Arc::from(e.data.as_slice()),
        });
        if self.bytes > self.max_bytes || ts_ms.saturating_sub(self.last_trim_ms) >= 1000 {
            self.trim(ts_ms);
        }
    }

    /// Drops what is older than the window (keeping each kind's last keyframe before it and
    /// what follows), the oldest while over the byte bound, and deltas left without their
    /// keyframe.
    pub fn trim(&mut self, now_ms: i64) {
        self.last_trim_ms = now_ms;
        while self.bytes > self.max_bytes {
            match self.entries.pop_front() {
                Some(e) => self.bytes -= e.data.len() + ENTRY_OVERHEAD,
                None => break,
            }
        }
        let cutoff = now_ms.saturating_sub(self.window_ms);
        let old = self
            .entries
            .iter()
            .position(|e| e.ts_ms >= cutoff)
            .unwrap_or(self.entries.len());
        let mut last_key: HashMap<&'static str, usize> = HashMap::new();
        for (i, e) in self.entries.iter().take(old).enumerate() {
            if e.keyframe {
                last_key.insert(e.kind.name(), i);
            }
        }
        let mut keyed: HashSet<&'static str> = HashSet::new();
        let mut i = 0;
        let mut freed = 0;
        self.entries.retain(|e| {
            let idx = i;
            i += 1;
            let keep_old = idx >= old || last_key.get(e.kind.name()).is_some_and(|k| idx >= *k);
            let keep = keep_old && (e.keyframe || keyed.contains(e.kind.name()));
            if keep && e.keyframe {
                keyed.insert(e.kind.name());
            }
            if !keep {
                freed += e.data.len() + ENTRY_OVERHEAD;
            }
            keep
        });
        self.bytes -= freed;
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bytes held (data plus a fixed overhead per record).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A copy of the records (the buffers are shared, not copied).
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.iter().cloned().collect()
    }
}

/// What the bundle key needs: the ring, where to write, the label for the name.
#[derive(Clone, Debug)]
pub struct Bundler {
    pub ring: Arc<Mutex<Ring>>,
    pub dir: PathBuf,
    pub label: String,
    pub minutes: u64,
}

/// A written bundle.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub path: PathBuf,
    pub records: usize,
    /// first and last record time
    pub span_ms: Option<(i64, i64)>,
}

impl Bundler {
    pub fn new(ring: Arc<Mutex<Ring>>, cfg: &super::RecordConfig) -> Bundler {
        Bundler {
            ring,
            dir: cfg.bundle_dir(),
            label: cfg.label(),
            minutes: cfg.bundle_minutes,
        }
    }

    /// `stacktop-bundle-LABEL-YYYYmmdd-HHMMSS.sqlite` in the bundle directory (`-2`, `-3`…
    /// when that name is taken).
    pub fn file_name(&self, now: DateTime<Local>) -> PathBuf {
        let mut label = crate::private_fs::safe_name(&self.label);
        if label.is_empty() {
            label = "stacktop".into();
        }
        let base = format!("stacktop-bundle-{label}-{}", now.format("%Y%m%d-%H%M%S"));
        let mut p = self.dir.join(format!("{base}.sqlite"));
        let mut n = 2;
        while p.exists() {
            p = self.dir.join(format!("{base}-{n}.sqlite"));
            n += 1;
        }
        p
    }

    /// Writes the ring to a new bundle file (blocking: run it off the UI loop).
    pub fn write(&self, now: DateTime<Local>) -> Result<Written, String> {
        let entries = match self.ring.lock() {
            Ok(r) => r.entries(),
            Err(_) => return Err("incident bundle: the recorder stopped".into()),
        };
        if entries.is_empty() {
            return Err("incident bundle: nothing to write yet (no tab has received data)".into());
        }
        let path = self.file_name(now);
        let tmp = partial_name(&path);
        let r = write_file(&tmp, &entries).and_then(|()| {
            std::fs::rename(&tmp, &path)
                .map_err(|e| format!("incident bundle {}: {e}", path.display()))
        });
        if let Err(e) = r {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = tmp.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
            return Err(e);
        }
        let span_ms = entries
            .first()
            .zip(entries.last())
            .map(|(a, b)| (a.ts_ms, b.ts_ms));
        Ok(Written {
            path,
            records: entries.len(),
            span_ms,
        })
    }
}

fn partial_name(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".partial");
    PathBuf::from(s)
}

fn write_file(path: &Path, entries: &[Entry]) -> Result<(), String> {
    let mut store = SqliteStore::create(path)?;
    let e = |e: rusqlite::Error| format!("incident bundle {}: {e}", path.display());
    for x in entries {
        store
            .insert(x.ts_ms, x.view, x.kind.name(), x.keyframe, &x.data)
            .map_err(e)?;
    }
    store.commit().map_err(e)?;
    // closing checkpoints the WAL into the one file
    drop(store);
    Ok(())
}
