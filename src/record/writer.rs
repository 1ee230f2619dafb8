//! The recorder: a tee on the update stream and a writer thread.
//!
//! [`Recorder::tee`] sits where the update channel is made: a small task forwards every update
//! to the app first (awaiting, as the collectors did), then offers a copy to the writer with
//! `try_send` on a bounded channel ([`CHANNEL`]). When the writer is behind (slow or full
//! disk), the copy is dropped and counted ([`Stats::dropped`]); nothing ever waits for the
//! disk. The writer thread encodes ([`super::codec`]), inserts, and commits at most
//! [`RecorderOptions::commit_every`] (1 s) after the oldest uncommitted record; a failed
//! write loses that batch (counted in [`Stats::lost`], the next pgtop record is a keyframe)
//! and recording goes on. Drops are written into the recording itself (a `recorder` record).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::bundle::Ring;
use super::codec::{wanted, Encoder};
use super::store::Store;
use crate::messages::Update;

/// Updates waiting for the writer (a pgtop snapshot of 500 sessions is ~0.3 MB in memory).
pub const CHANNEL: usize = 64;

/// How often retention runs.
const RETAIN_EVERY: Duration = Duration::from_secs(60);

/// What the recorder was asked to do.
#[derive(Clone, Debug)]
pub struct RecorderOptions {
    pub path: PathBuf,
    pub max_age: Duration,
    pub max_bytes: u64,
    pub commit_every: Duration,
    /// false: nothing is stored, the writer only keeps the incident bundle's [`Ring`]
    pub persist: bool,
    /// the recording's label on a PostgreSQL server
    pub label: String,
    /// the incident bundle's memory: minutes and bytes
    pub ring_minutes: u64,
    pub ring_bytes: u64,
    /// Test hook: while true the writer does nothing (a stalled disk).
    #[doc(hidden)]
    pub stall: Option<Arc<AtomicBool>>,
    /// Test hook: a PostgreSQL target is resolved without the process's environment
    /// ([`super::pg_store::bare_env`]).
    #[doc(hidden)]
    pub bare_env: bool,
    /// Test hook: the file is capped at this many pages (a full disk).
    #[doc(hidden)]
    pub max_pages: Option<u64>,
}

impl RecorderOptions {
    pub fn new(path: PathBuf, cfg: &super::RecordConfig) -> Self {
        RecorderOptions {
            path,
            max_age: cfg.max_age.get(),
            max_bytes: cfg.max_size_mb.saturating_mul(1 << 20),
            commit_every: Duration::from_secs(1),
            persist: true,
            label: cfg.label(),
            ring_minutes: cfg.bundle_minutes,
            ring_bytes: cfg.bundle_max_mb.saturating_mul(1 << 20),
            stall: None,
            bare_env: false,
            max_pages: None,
        }
    }

    /// A recorder that stores nothing: it keeps the last minutes for the incident bundle.
    pub fn memory_only(cfg: &super::RecordConfig) -> Self {
        RecorderOptions {
            persist: false,
            ..RecorderOptions::new(PathBuf::new(), cfg)
        }
    }
}

/// The recorder's counters (all since the start).
#[derive(Debug, Default)]
pub struct Stats {
    /// copies offered by the tee
    pub offered: AtomicU64,
    /// copies dropped because the writer was behind
    pub dropped: AtomicU64,
    /// records committed to the file
    pub written: AtomicU64,
    /// records lost to failed writes (full disk, I/O errors)
    pub lost: AtomicU64,
    /// JSON bytes before compression, and bytes stored, of the written records
    pub raw_bytes: AtomicU64,
    pub stored_bytes: AtomicU64,
    /// the last write error
    pub last_error: Mutex<Option<String>>,
}

impl Stats {
    fn error(&self, e: String) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e);
        }
    }

    /// One line for stderr at the end of a run.
    pub fn summary(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut s = format!(
            "{} records written, {} dropped (writer behind), {} lost (write errors)",
            g(&self.written),
            g(&self.dropped),
            g(&self.lost)
        );
        if let Some(e) = self.last_error.lock().ok().and_then(|e| e.clone()) {
            s.push_str(&format!("; last error: {e}"));
        }
        s
    }
}

/// A running recorder. Dropping it (or [`Recorder::finish`]) commits and stops the writer.
pub struct Recorder {
    tx: Option<SyncSender<(i64, Update)>>,
    stats: Arc<Stats>,
    ring: Arc<Mutex<Ring>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    /// Opens the file (errors here, before anything runs) and starts the writer thread.
    pub fn start(opts: RecorderOptions) -> Result<Recorder, String> {
        let store = if opts.persist {
            let env = if opts.bare_env {
                super::pg_store::bare_env()
            } else {
                crate::pg::conninfo::Env::system()
            };
            Store::create_in(&opts.path, &opts.label, &env)?
        } else {
            Store::Off
        };
        if let Some(p) = opts.max_pages {
            store
                .set_max_pages(p)
                .map_err(|e| format!("recording: {e}"))?;
        }
        let encoder = Encoder::new()?;
        let (tx, rx) = sync_channel(CHANNEL);
        let stats = Arc::new(Stats::default());
        let st = stats.clone();
        let ring = Arc::new(Mutex::new(Ring::new(opts.ring_minutes, opts.ring_bytes)));
        let rg = ring.clone();
        let thread = std::thread::Builder::new()
            .name("stacktop-recorder".into())
            .spawn(move || write_loop(store, encoder, rx, st, rg, opts))
            .map_err(|e| format!("cannot start the recorder: {e}"))?;
        Ok(Recorder {
            tx: Some(tx),
            stats,
            ring,
            thread: Some(thread),
        })
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// The last minutes of records, for the incident bundle ([`super::bundle`]).
    pub fn ring(&self) -> Arc<Mutex<Ring>> {
        self.ring.clone()
    }

    /// Offers a copy to the writer; never blocks (a full queue drops it, counted).
    pub fn offer(&self, ts_ms: i64, u: Update) {
        let Some(tx) = &self.tx else { return };
        self.stats.offered.fetch_add(1, Ordering::Relaxed);
        match tx.try_send((ts_ms, u)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Puts the recorder between the collectors and the app: returns the receiver the app
    /// reads. Every update goes to the app first; recorded kinds are then offered here.
    /// Must be called inside a tokio runtime.
    pub fn tee(
        self: &Arc<Self>,
        mut from: tokio::sync::mpsc::Receiver<Update>,
        capacity: usize,
    ) -> tokio::sync::mpsc::Receiver<Update> {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(u) = from.recv().await {
                let copy = wanted(&u).then(|| u.clone());
                let ts_ms = chrono::Utc::now().timestamp_millis();
                if tx.send(u).await.is_err() {
                    break; // the app is gone
                }
                if let Some(c) = copy {
                    me.offer(ts_ms, c);
                }
            }
        });
        rx
    }

    /// Stops the writer after it has written what it was given; returns the counters.
    pub fn finish(mut self) -> Arc<Stats> {
        self.stop();
        self.stats.clone()
    }

    fn stop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_loop(
    mut store: Store,
    mut enc: Encoder,
    rx: Receiver<(i64, Update)>,
    stats: Arc<Stats>,
    ring: Arc<Mutex<Ring>>,
    opts: RecorderOptions,
) {
    let mut pending: u64 = 0;
    let (mut raw, mut stored) = (0u64, 0u64);
    let mut oldest_pending: Option<Instant> = None;
    let mut last_retain: Option<Instant> = None;
    let mut drops_written = 0u64;
    let lose = |store: &mut Store, enc: &mut Encoder, pending: &mut u64, e: String| {
        store.rollback();
        enc.reset();
        stats.lost.fetch_add(*pending, Ordering::Relaxed);
        *pending = 0;
        stats.error(e);
    };
    loop {
        let wait = oldest_pending.map_or(Duration::from_secs(1), |t| {
            opts.commit_every.saturating_sub(t.elapsed())
        });
        let next = rx.recv_timeout(wait);
        if let Some(s) = &opts.stall {
            while s.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let mut items = Vec::new();
        let done = match next {
            Ok((ts, u)) => {
                items.push((ts, Some(u)));
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        let d = stats.dropped.load(Ordering::Relaxed);
        if d > drops_written {
            items.push((chrono::Utc::now().timestamp_millis(), None));
        }
        let mut encoded = Vec::new();
        for (ts, u) in items {
            let e = match u {
                // a pgtop snapshot may bring its panes' records first (record::pg_panes)
                Some(u) => enc.encode_all(u),
                None => {
                    let e = enc.drops(d - drops_written, d).map(|e| vec![e]);
                    drops_written = d;
                    e
                }
            };
            match e {
                Ok(es) => encoded.extend(es.into_iter().map(|e| (ts, e))),
                Err(err) => stats.error(err),
            }
        }
        let mut encoded = encoded.into_iter();
        while let Some((ts, e)) = encoded.next() {
            if let Ok(mut r) = ring.lock() {
                r.push(ts, &e);
            }
            pending += 1;
            match store.insert(ts, e.view, e.kind.name(), e.keyframe, &e.data) {
                Ok(()) => {
                    raw += e.raw_len as u64;
                    stored += e.data.len() as u64;
                    oldest_pending.get_or_insert_with(Instant::now);
                }
                Err(err) => {
                    lose(&mut store, &mut enc, &mut pending, err.to_string());
                    oldest_pending = None;
                    (raw, stored) = (0, 0);
                    // encoded against what was just lost (a pgtop delta after its panes)
                    stats
                        .lost
                        .fetch_add(encoded.len() as u64, Ordering::Relaxed);
                    break;
                }
            }
        }
        let due = oldest_pending.is_some_and(|t| t.elapsed() >= opts.commit_every);
        if pending > 0 && (due || done) {
            match store.commit() {
                Ok(()) => {
                    stats.written.fetch_add(pending, Ordering::Relaxed);
                    stats.raw_bytes.fetch_add(raw, Ordering::Relaxed);
                    stats.stored_bytes.fetch_add(stored, Ordering::Relaxed);
                    pending = 0;
                }
                Err(err) => lose(&mut store, &mut enc, &mut pending, err.to_string()),
            }
            (raw, stored) = (0, 0);
            oldest_pending = None;
        }
        if done {
            return;
        }
        if pending == 0 && last_retain.is_none_or(|t| t.elapsed() >= RETAIN_EVERY) {
            last_retain = Some(Instant::now());
            let oldest = chrono::Utc::now().timestamp_millis()
                - i64::try_from(opts.max_age.as_millis()).unwrap_or(i64::MAX);
            if let Err(err) = store.retain(oldest, opts.max_bytes) {
                stats.error(format!("retention: {err}"));
            }
        }
    }
}
