//! The durable Slack outbox of one server: an append-only JSON-lines journal `outbox.jsonl` in a
//! per-server directory under the XDG state dir (directory 0700, files 0600, an exclusive
//! `flock` on `lock` so two stacktops never write the same journal). Records: `add` (a queued
//! alert: sequence number, de-duplication keys, text), `ack` (everything up to a sequence number
//! was delivered), `drop` (the oldest queued alerts up to a number were dropped because the
//! outbox was full, with the running total) and `key` (a key of an alert sent earlier, written by
//! compaction). Replayed on open; compacted on open and when it grows. Queued alerts survive
//! restarts and are never dropped except when the bound is hit (oldest first, counted); keys
//! survive restarts so nothing is alerted twice. Without a directory it works in memory only.

use std::collections::{HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One queued alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub keys: Vec<String>,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Record {
    Add(Entry),
    Ack { upto: u64 },
    Drop { upto: u64, total: u64 },
    Key { key: String },
}

pub struct Outbox {
    dir: Option<PathBuf>,
    file: Option<File>,
    _lock: Option<File>,
    pending: VecDeque<Entry>,
    keys: HashSet<String>,
    key_order: VecDeque<String>,
    acked: u64,
    next_seq: u64,
    dropped: u64,
    max: usize,
    lines: usize,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

fn open_0600(path: &Path, append: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).mode(0o600);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(true);
    }
    let f = o.open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

impl Outbox {
    /// An outbox that lives in memory only (lost on exit).
    pub fn memory(max: usize) -> Outbox {
        Outbox {
            dir: None,
            file: None,
            _lock: None,
            pending: VecDeque::new(),
            keys: HashSet::new(),
            key_order: VecDeque::new(),
            acked: 0,
            next_seq: 1,
            dropped: 0,
            max: max.max(1),
            lines: 0,
        }
    }

    /// Opens (creating) the outbox in `dir`; returns it and warnings about unreadable lines.
    /// Errors name the file; another stacktop holding the lock is an error.
    pub fn open(dir: &Path, max: usize) -> Result<(Outbox, Vec<String>), String> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| io_err(dir, e))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io_err(dir, e))?;
        let lock_path = dir.join("lock");
        let lock = open_0600(&lock_path, true).map_err(|e| io_err(&lock_path, e))?;
        // SAFETY: flock on a file descriptor we own; no memory is touched.
        let r = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return Err(format!(
                "{}: in use by another stacktop for the same server",
                dir.display()
            ));
        }
        let path = dir.join("outbox.jsonl");
        let mut ob = Outbox::memory(max);
        let mut warnings = Vec::new();
        match File::open(&path) {
            Ok(f) => {
                let mut bad = Vec::new();
                for (n, line) in BufReader::new(f).lines().enumerate() {
                    let line = line.map_err(|e| io_err(&path, e))?;
                    if line.trim().is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<Record>(&line) {
                        Ok(r) => ob.replay(r),
                        Err(_) => bad.push(n + 1),
                    }
                }
                if !bad.is_empty() {
                    warnings.push(format!(
                        "{}: {} unreadable line(s) skipped (line {})",
                        path.display(),
                        bad.len(),
                        bad.iter()
                            .take(5)
                            .map(|n| n.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&path, e)),
        }
        ob.dir = Some(dir.to_path_buf());
        ob._lock = Some(lock);
        // a torn last line or a long history: start from a clean, compact journal
        ob.compact().map_err(|e| io_err(&path, e))?;
        Ok((ob, warnings))
    }

    fn replay(&mut self, r: Record) {
        match r {
            Record::Add(e) => {
                self.next_seq = self.next_seq.max(e.seq + 1);
                for k in &e.keys {
                    self.remember(k);
                }
                if e.seq > self.acked {
                    self.pending.push_back(e);
                    while self.pending.len() > self.max {
                        if let Some(e) = self.pending.pop_front() {
                            self.acked = self.acked.max(e.seq);
                            self.dropped += 1;
                        }
                    }
                }
            }
            Record::Ack { upto } => self.set_acked(upto),
            Record::Drop { upto, total } => {
                self.set_acked(upto);
                self.dropped = self.dropped.max(total);
            }
            Record::Key { key } => self.remember(&key),
        }
    }

    fn set_acked(&mut self, upto: u64) {
        self.acked = self.acked.max(upto);
        self.next_seq = self.next_seq.max(upto + 1);
        while self.pending.front().is_some_and(|e| e.seq <= upto) {
            self.pending.pop_front();
        }
    }

    fn remember(&mut self, k: &str) {
        if self.keys.insert(k.to_string()) {
            self.key_order.push_back(k.to_string());
            // keys of long-gone sessions are the oldest; keep a bounded number
            while self.key_order.len() > self.max * 4 {
                if let Some(old) = self.key_order.pop_front() {
                    self.keys.remove(&old);
                }
            }
        }
    }

    fn append(&mut self, r: &Record) -> std::io::Result<()> {
        if let Some(f) = self.file.as_mut() {
            let mut line = serde_json::to_string(r).map_err(std::io::Error::other)?;
            line.push('\n');
            f.write_all(line.as_bytes())?;
            f.sync_data()?;
            self.lines += 1;
            if self.lines > 1000 + 4 * (self.pending.len() + self.key_order.len()) {
                self.compact()?;
            }
        }
        Ok(())
    }

    /// Rewrites the journal with only what is still needed (tmp file, fsync, rename).
    fn compact(&mut self) -> std::io::Result<()> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        let tmp = dir.join("outbox.jsonl.tmp");
        let path = dir.join("outbox.jsonl");
        let mut out = String::new();
        let mut push = |r: &Record| -> std::io::Result<()> {
            out.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
            out.push('\n');
            Ok(())
        };
        push(&Record::Drop {
            upto: self.acked,
            total: self.dropped,
        })?;
        let queued: HashSet<&String> = self.pending.iter().flat_map(|e| &e.keys).collect();
        for k in self.key_order.iter().filter(|k| !queued.contains(k)) {
            push(&Record::Key { key: k.clone() })?;
        }
        for e in &self.pending {
            push(&Record::Add(e.clone()))?;
        }
        let mut f = open_0600(&tmp, false)?;
        f.write_all(out.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        self.lines = out.lines().count();
        self.file = Some(open_0600(&path, true)?);
        Ok(())
    }

    /// True when an alert with this key was queued or sent (also before a restart).
    pub fn seen(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// Queues an alert (durably when on disk), dropping the oldest queued ones over the bound.
    pub fn push(&mut self, keys: Vec<String>, text: String) -> std::io::Result<()> {
        let e = Entry {
            seq: self.next_seq,
            keys,
            text,
            at: Utc::now(),
        };
        self.next_seq += 1;
        for k in &e.keys {
            self.remember(k);
        }
        let r = Record::Add(e.clone());
        self.pending.push_back(e);
        let mut dropped_upto = None;
        while self.pending.len() > self.max {
            if let Some(old) = self.pending.pop_front() {
                self.dropped += 1;
                self.acked = self.acked.max(old.seq);
                dropped_upto = Some(old.seq);
            }
        }
        self.append(&r)?;
        if let Some(upto) = dropped_upto {
            self.append(&Record::Drop {
                upto,
                total: self.dropped,
            })?;
        }
        Ok(())
    }

    /// The oldest queued alerts, at most `n` and about `max_chars` of text (at least one).
    pub fn head(&self, n: usize, max_chars: usize) -> Vec<&Entry> {
        let mut out = Vec::new();
        let mut chars = 0;
        for e in self.pending.iter().take(n.max(1)) {
            chars += e.text.len() + 8;
            if !out.is_empty() && chars > max_chars {
                break;
            }
            out.push(e);
        }
        out
    }

    /// Everything up to `upto` was delivered.
    pub fn ack(&mut self, upto: u64) -> std::io::Result<()> {
        self.set_acked(upto);
        self.append(&Record::Ack { upto })
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Alerts dropped because the outbox was full, over its whole life.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn is_durable(&self) -> bool {
        self.file.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Vec<String> {
        vec![s.to_string()]
    }

    #[test]
    fn survives_reopen_acks_dedup_and_bound() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("state/stacktop/slack/x");
        {
            let (mut o, w) = Outbox::open(&d, 3).unwrap();
            assert!(w.is_empty());
            assert!(Outbox::open(&d, 3).is_err(), "locked by the first");
            for i in 1..=3 {
                o.push(k(&format!("k{i}")), format!("t{i}")).unwrap();
            }
            let head: Vec<u64> = o.head(2, 1000).iter().map(|e| e.seq).collect();
            assert_eq!(head, vec![1, 2]);
            o.ack(2).unwrap();
            o.push(k("k4"), "t4".into()).unwrap();
            o.push(k("k5"), "t5".into()).unwrap();
            o.push(k("k6"), "t6".into()).unwrap(); // over 3: t3 dropped
            assert_eq!((o.len(), o.dropped()), (3, 1));
        }
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&d), 0o700);
        assert_eq!(mode(&d.join("outbox.jsonl")), 0o600);
        // a torn last line (crash mid-write) is skipped and reported
        let mut f = OpenOptions::new()
            .append(true)
            .open(d.join("outbox.jsonl"))
            .unwrap();
        f.write_all(b"{\"op\":\"add\",\"seq\":9").unwrap();
        drop(f);
        let (mut o, w) = Outbox::open(&d, 3).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        let texts: Vec<&str> = o.head(10, 1000).iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, vec!["t4", "t5", "t6"]);
        assert_eq!(o.dropped(), 1);
        assert!(o.seen("k1") && o.seen("k3") && o.seen("k6") && !o.seen("k7"));
        o.ack(6).unwrap();
        o.push(k("k7"), "t7".into()).unwrap();
        assert_eq!(o.head(10, 1000)[0].seq, 7, "sequence continues");
        drop(o);
        let (o, _) = Outbox::open(&d, 3).unwrap();
        assert_eq!(o.len(), 1);
        assert!(o.seen("k2"), "keys of sent alerts survive compaction");
    }

    #[test]
    fn head_respects_the_char_budget() {
        let mut o = Outbox::memory(10);
        for i in 0..5 {
            o.push(k(&i.to_string()), "x".repeat(100)).unwrap();
        }
        assert_eq!(o.head(10, 250).len(), 2);
        assert_eq!(o.head(10, 10).len(), 1, "at least one");
        assert!(!o.is_durable());
    }
}
