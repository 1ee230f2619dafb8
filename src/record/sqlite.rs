//! The recording file: one SQLite database in WAL mode (why SQLite: see [`super`]).
//! [`super::store::Store`] and [`super::store::Reader`] are the backend-neutral faces (this
//! file or a PostgreSQL server, [`super::pg_store`]); [`SqliteStore`] and [`SqliteReader`] are
//! the file. [`Row`] and [`RecordingInfo`] are both stores' rows.
//!
//! ```sql
//! records(id INTEGER PRIMARY KEY, ts_ms, view, kind, keyframe, data)  -- data: zstd
//! records_ts ON records(ts_ms)                 -- seek by time
//! records_key ON records(kind, ts_ms) WHERE keyframe = 1   -- the keyframe before a time
//! meta(key, value)                             -- format version
//! ```
//!
//! The writer ([`SqliteStore`]) batches inserts in one transaction committed at most a second
//! apart (`synchronous = NORMAL`: a committed transaction survives the process being killed;
//! only a power loss may take the last commits). Readers ([`SqliteReader`]) see the last commit.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

/// One recording of a store (`stacktop replay TARGET --list`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RecordingInfo {
    /// the id `--recording` takes (a file has one recording, id 1)
    pub id: i64,
    pub label: String,
    /// the machine that recorded it
    pub host: String,
    pub started: Option<chrono::DateTime<chrono::Utc>>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    pub records: i64,
}

/// The `meta.format` value this version writes and reads. 2: pgtop deltas by field
/// ([`super::pgframe`]); 1 (whole changed sessions) is not read any more.
pub const FORMAT: &str = "stacktop-recording 2";

/// Why a recording of another format cannot be used, or `None` when it is ours.
fn other_format(path: &Path, found: Option<&str>) -> Option<String> {
    let ours: u32 = FORMAT.rsplit(' ').next()?.parse().ok()?;
    let found = found.unwrap_or_default();
    let version = found
        .strip_prefix("stacktop-recording ")
        .and_then(|v| v.parse::<u32>().ok());
    let why = match version {
        Some(v) if v == ours => return None,
        Some(v) if v < ours => format!(
            "made by an older stacktop (recording format {v}; this version reads format {ours} only)"
        ),
        Some(v) => format!(
            "made by a newer stacktop (recording format {v}; this version reads format {ours})"
        ),
        None => format!("not a stacktop recording (format {found:?})"),
    };
    Some(format!("recording {}: {why}", path.display()))
}

/// One stored record, its payload still compressed.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: i64,
    /// milliseconds since the Unix epoch (UTC) when the update reached the recorder
    pub ts_ms: i64,
    /// `pgtop`, `repl`, `vlog`, `spotify`
    pub view: String,
    /// [`super::codec::Kind::name`]
    pub kind: String,
    /// a full snapshot (decodable alone); false: a delta on the previous one of its kind
    pub keyframe: bool,
    pub data: Vec<u8>,
}

fn open_flags(create: bool) -> OpenFlags {
    let mut f = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        f |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    f
}

fn sql_err(path: &Path, e: rusqlite::Error) -> String {
    format!("recording {}: {e}", path.display())
}

/// The writing side.
pub struct SqliteStore {
    conn: Connection,
    in_tx: bool,
}

impl SqliteStore {
    /// Opens or creates the recording at `path` (0600, missing directories 0700).
    pub fn create(path: &Path) -> Result<SqliteStore, String> {
        // created (or narrowed) 0600 first: SQLite gives its -wal and -shm the same mode
        crate::private_fs::open_append(path)
            .map_err(|e| format!("recording {}: {e}", path.display()))?;
        let conn =
            Connection::open_with_flags(path, open_flags(true)).map_err(|e| sql_err(path, e))?;
        conn.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS records(
                 id INTEGER PRIMARY KEY,
                 ts_ms INTEGER NOT NULL,
                 view TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 keyframe INTEGER NOT NULL,
                 data BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS records_ts ON records(ts_ms);
             CREATE INDEX IF NOT EXISTS records_key ON records(kind, ts_ms) WHERE keyframe = 1;",
        )
        .map_err(|e| sql_err(path, e))?;
        let format: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| sql_err(path, e))?;
        match format.as_deref() {
            None => {
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('format', ?1)",
                    [FORMAT],
                )
                .map_err(|e| sql_err(path, e))?;
            }
            Some(found) => {
                if let Some(why) = other_format(path, Some(found)) {
                    return Err(format!("{why}; record to a new file"));
                }
            }
        }
        Ok(SqliteStore { conn, in_tx: false })
    }

    /// Test hook: caps the file at `pages` pages, so writes fail as on a full disk.
    #[doc(hidden)]
    pub fn set_max_pages(&self, pages: u64) -> rusqlite::Result<()> {
        self.conn
            .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
    }

    /// Appends one record (inside the open batch; [`SqliteStore::commit`] makes it durable).
    pub fn insert(
        &mut self,
        ts_ms: i64,
        view: &str,
        kind: &str,
        keyframe: bool,
        data: &[u8],
    ) -> rusqlite::Result<()> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN")?;
            self.in_tx = true;
        }
        let mut st = self.conn.prepare_cached(
            "INSERT INTO records(ts_ms, view, kind, keyframe, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        st.execute(params![ts_ms, view, kind, keyframe, data])?;
        Ok(())
    }

    /// Commits the open batch. On an error the batch is rolled back (its records are lost).
    pub fn commit(&mut self) -> rusqlite::Result<()> {
        if !std::mem::take(&mut self.in_tx) {
            return Ok(());
        }
        let r = self.conn.execute_batch("COMMIT");
        if r.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        r
    }

    /// Rolls back the open batch after a failed insert.
    pub fn rollback(&mut self) {
        if std::mem::take(&mut self.in_tx) {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// Deletes records older than `oldest_ms`, then the oldest tenth of the rest while the
    /// data is over `max_bytes`, and gives the freed pages back to the file system. Returns
    /// how many records were deleted.
    pub fn retain(&mut self, oldest_ms: i64, max_bytes: u64) -> rusqlite::Result<u64> {
        self.commit()?;
        let mut deleted =
            self.conn
                .execute("DELETE FROM records WHERE ts_ms < ?1", [oldest_ms])? as u64;
        while self.used_bytes()? > max_bytes {
            let n = self.conn.execute(
                "DELETE FROM records WHERE id <= (SELECT min(id) + (max(id) - min(id)) / 10
                                                  FROM records)",
                [],
            )?;
            if n == 0 {
                break;
            }
            deleted += n as u64;
        }
        if deleted > 0 {
            // one page is freed per step: step to the end (`execute_batch` steps once)
            let mut st = self.conn.prepare("PRAGMA incremental_vacuum")?;
            let mut rows = st.query([])?;
            while rows.next()?.is_some() {}
        }
        Ok(deleted)
    }

    /// Bytes of the database pages in use (the file minus its free list).
    pub fn used_bytes(&self) -> rusqlite::Result<u64> {
        let q = |p: &str| -> rusqlite::Result<i64> {
            self.conn
                .query_row(&format!("PRAGMA {p}"), [], |r| r.get(0))
        };
        let pages = q("page_count")? - q("freelist_count")?;
        Ok((pages.max(0) as u64) * q("page_size")?.max(0) as u64)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        let _ = self.commit();
    }
}

/// The reading side.
pub struct SqliteReader {
    conn: Connection,
}

const COLS: &str = "id, ts_ms, view, kind, keyframe, data";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        ts_ms: r.get(1)?,
        view: r.get(2)?,
        kind: r.get(3)?,
        keyframe: r.get(4)?,
        data: r.get(5)?,
    })
}

impl SqliteReader {
    /// Opens an existing recording (after a crash, SQLite replays its WAL here).
    pub fn open(path: &Path) -> Result<SqliteReader, String> {
        if !path.exists() {
            return Err(format!("recording {}: no such file", path.display()));
        }
        let conn =
            Connection::open_with_flags(path, open_flags(false)).map_err(|e| sql_err(path, e))?;
        let format: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| {
                format!(
                    "recording {}: not a stacktop recording ({e})",
                    path.display()
                )
            })?;
        if let Some(why) = other_format(path, format.as_deref()) {
            return Err(why);
        }
        Ok(SqliteReader { conn })
    }

    /// The id where decoding must start to show `from_ms` on: the last keyframe of each
    /// delta-encoded `kinds` at or before it, or the first record at or after it.
    pub fn start_id(&self, from_ms: i64, kinds: &[&str]) -> rusqlite::Result<Option<i64>> {
        let mut start: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM records WHERE ts_ms >= ?1 ORDER BY ts_ms, id LIMIT 1",
                [from_ms],
                |r| r.get(0),
            )
            .optional()?;
        start.get_or_insert(i64::MAX);
        for k in kinds {
            let key: Option<i64> = self
                .conn
                .query_row(
                    "SELECT id FROM records WHERE kind = ?1 AND keyframe = 1 AND ts_ms <= ?2
                     ORDER BY ts_ms DESC LIMIT 1",
                    params![k, from_ms],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(key) = key {
                start = start.map(|s| s.min(key));
            }
        }
        Ok(start.filter(|s| *s != i64::MAX))
    }

    /// Up to `limit` records from id `from_id` on (in id order, which is arrival order) with a
    /// time at most `to_ms`.
    pub fn batch(&self, from_id: i64, to_ms: i64, limit: usize) -> rusqlite::Result<Vec<Row>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM records WHERE id >= ?1 AND ts_ms <= ?2 ORDER BY id LIMIT ?3"
        ))?;
        let rows = st.query_map(params![from_id, to_ms, limit as i64], row)?;
        rows.collect()
    }

    /// The record after id `id` (a step forward).
    pub fn next_after(&self, id: i64) -> rusqlite::Result<Option<Row>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM records WHERE id > ?1 ORDER BY id LIMIT 1"
        ))?;
        st.query_row([id], row).optional()
    }

    /// (first, last) record times, `None` when empty.
    pub fn span(&self) -> rusqlite::Result<Option<(i64, i64)>> {
        self.conn
            .query_row("SELECT min(ts_ms), max(ts_ms) FROM records", [], |r| {
                Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
            })
    }

    /// How many records there are.
    pub fn count(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
    }
}
