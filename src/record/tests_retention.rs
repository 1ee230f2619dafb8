//! Retention of the recording file (by age, by size: the newest kept, replay still works) and
//! the incident bundle's memory (bounded by minutes and bytes, its first minute decodable).

// (test-only: the architecture check reads no further)
#[cfg(test)]
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::bundle::{Bundler, Ring};
use super::codec::{Encoded, Encoder, KEYFRAME_EVERY};
use super::store::{Reader, SqliteStore};
use crate::messages::{Payload, Update};
use crate::pg::activity::{ConnState, PgSnapshot, Session, SessionState};
use crate::wire::{Level, ViewKind};

fn pg(seq: u64) -> Update {
    let mut s = PgSnapshot::status_only(
        seq,
        ConnState::Connected {
            since: chrono::Utc::now(),
        },
        Duration::from_secs(1),
    );
    s.sessions = (0..40)
        .map(|i| {
            let q = if i as u64 % 10 == seq % 10 {
                format!("SELECT {seq}")
            } else {
                "SELECT pg_sleep(600)".into()
            };
            Session::for_test(100 + i, SessionState::Active, &q)
        })
        .collect();
    Update {
        view: ViewKind::Pgtop,
        payload: Payload::Pg(s.into()),
    }
}

/// `n` pgtop refreshes one second apart, the last at `last_ms`.
fn encoded(n: u64, last_ms: i64) -> Vec<(i64, Encoded)> {
    let mut enc = Encoder::new().unwrap();
    (0..n)
        .map(|i| {
            let ts = last_ms - (n - 1 - i) as i64 * 1000;
            (ts, enc.encode(pg(i)).unwrap().unwrap())
        })
        .collect()
}

fn write(path: &Path, recs: &[(i64, Encoded)]) -> SqliteStore {
    let mut s = SqliteStore::create(path).unwrap();
    for (ts, e) in recs {
        s.insert(*ts, e.view, e.kind.name(), e.keyframe, &e.data)
            .unwrap();
    }
    s.commit().unwrap();
    s
}

/// (snapshot lines, skipped records) of a replay of the whole file.
fn replay(path: &Path, from: i64) -> (usize, u64, String) {
    let r = Reader::open(path).unwrap();
    let mut out = Vec::new();
    let skipped = crate::replay::print(
        &r,
        crate::config::Config::default(),
        from,
        i64::MAX,
        &mut out,
    )
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let snaps = out
        .lines()
        .filter(|l| l.contains("\"type\":\"snapshot\""))
        .count();
    (snaps, skipped, out)
}

/// The time of the last snapshot replayed.
fn last_ts(out: &str) -> i64 {
    out.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|j| j["type"] == "snapshot")
        .and_then(|j| {
            chrono::DateTime::parse_from_rfc3339(j["ts"].as_str()?)
                .ok()
                .map(|t| t.timestamp_millis())
        })
        .unwrap_or_default()
}

#[test]
fn retention_by_age_deletes_the_old_keeps_the_new_and_replay_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.sqlite");
    let now = chrono::Utc::now().timestamp_millis();
    // 300 refreshes, the last now: 200 of them older than 100 s
    let recs = encoded(300, now);
    let mut s = write(&path, &recs);
    let deleted = s.retain(now - 99_500, u64::MAX).unwrap();
    assert_eq!(deleted, 200);
    let r = Reader::open(&path).unwrap();
    assert_eq!(r.count().unwrap(), 100);
    assert_eq!(r.span().unwrap(), Some((now - 99_000, now)));
    // from the first keyframe kept on, every refresh replays; before it, the deltas whose
    // keyframe retention took are skipped (and said so)
    let first_key = recs
        .iter()
        .skip(200)
        .find(|(_, e)| e.keyframe)
        .map(|(ts, _)| *ts)
        .unwrap();
    let (snaps, skipped, out) = replay(&path, i64::MIN);
    assert!(skipped < KEYFRAME_EVERY as u64, "{skipped}");
    assert_eq!(snaps as u64 + skipped, 100, "{out}");
    let (snaps, skipped, _) = replay(&path, first_key);
    assert_eq!(skipped, 0);
    assert_eq!(snaps as i64, (now - first_key) / 1000 + 1);
    // the newest refresh is there, as recorded
    assert_eq!(last_ts(&out), now, "the last refresh is missing");
}

#[test]
fn retention_by_size_bounds_the_file_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec.sqlite");
    let now = chrono::Utc::now().timestamp_millis();
    let mut enc = Encoder::new().unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    // 2,000 notices of ~4 kB each that zstd cannot shrink much: ~8 MB
    let recs: Vec<(i64, Encoded)> = (0..2000)
        .map(|i| {
            let text: String = (0..4000)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    char::from(b'!' + (rng % 90) as u8)
                })
                .collect();
            let u = Update {
                view: ViewKind::Pgtop,
                payload: Payload::Notice {
                    level: Level::Info,
                    text: format!("n{i} {text}"),
                },
            };
            (now - 2000 + i, enc.encode(u).unwrap().unwrap())
        })
        .collect();
    let mut s = write(&path, &recs);
    assert!(s.used_bytes().unwrap() > 6_000_000);
    let max = 1_000_000;
    let deleted = s.retain(i64::MIN, max).unwrap();
    assert!(deleted > 1500, "{deleted}");
    assert!(s.used_bytes().unwrap() <= max);
    drop(s); // closing checkpoints the WAL: the file itself shrinks
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len <= max + 64 * 1024, "file {len} bytes");
    let r = Reader::open(&path).unwrap();
    assert_eq!(r.span().unwrap().unwrap().1, now - 1);
    let (_, skipped, out) = replay(&path, i64::MIN);
    assert_eq!(skipped, 0);
    assert!(out.contains("n1999 "), "the newest notice is missing");
    assert!(!out.contains("\"n0 "));
}

fn ring_of(window_min: u64, max_bytes: u64, recs: &[(i64, Encoded)]) -> Ring {
    let mut ring = Ring::new(window_min, max_bytes);
    for (ts, e) in recs {
        ring.push(*ts, e);
    }
    ring
}

fn bundle(ring: Ring, dir: &Path) -> std::path::PathBuf {
    let b = Bundler {
        ring: Arc::new(Mutex::new(ring)),
        dir: dir.to_path_buf(),
        label: "db/1 primary".into(),
        minutes: 15,
    };
    let w = b.write(chrono::Local::now()).unwrap();
    let name = w.path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("stacktop-bundle-db_1_primary-"), "{name}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&w.path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    w.path
}

#[test]
fn the_bundle_memory_keeps_the_window_from_a_keyframe_on() {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    // 30 minutes of refreshes, a 15-minute window
    let recs = encoded(1800, now);
    let ring = ring_of(15, u64::MAX, &recs);
    let kept = ring.entries();
    let first = kept.first().unwrap();
    assert!(first.keyframe, "the bundle starts with a keyframe");
    let cutoff = now - 15 * 60_000;
    assert!(first.ts_ms <= cutoff);
    assert!(first.ts_ms > cutoff - KEYFRAME_EVERY as i64 * 1000);
    let path = bundle(ring, dir.path());
    let (snaps, skipped, out) = replay(&path, i64::MIN);
    assert_eq!(skipped, 0);
    assert_eq!(snaps, kept.len());
    assert_eq!(last_ts(&out), now);
}

#[test]
fn the_bundle_memory_is_bounded_by_bytes_and_drops_orphan_deltas() {
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let recs = encoded(600, now);
    let max = 60_000;
    let ring = ring_of(15, max, &recs);
    assert!(ring.bytes() <= max as usize, "{}", ring.bytes());
    assert!(ring.len() < 600);
    assert!(ring.entries()[0].keyframe);
    let path = bundle(ring, dir.path());
    let (_, skipped, out) = replay(&path, i64::MIN);
    assert_eq!(skipped, 0);
    assert_eq!(last_ts(&out), now);
}

#[test]
fn an_empty_bundle_memory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let b = Bundler {
        ring: Arc::new(Mutex::new(Ring::new(15, 1 << 20))),
        dir: dir.path().to_path_buf(),
        label: "x".into(),
        minutes: 15,
    };
    let e = b.write(chrono::Local::now()).unwrap_err();
    assert!(e.contains("nothing to write yet"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
