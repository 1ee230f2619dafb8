//! Embedded SQLite store (rusqlite, bundled): the default backend, a file in the XDG data dir.
//! Imports run in ONE transaction with a prepared upsert on `(country, list_date, pos)`, so a
//! re-import changes nothing and a failed or cancelled import leaves the table as it was. Rows
//! are parsed on a second thread and written in key order, a chunk at a time (`sortbuf`).
//! Secondary indexes are dropped for big loads and rebuilt (plus `ANALYZE`) in the same
//! transaction, sorting through temporary files on helper threads. A load into an empty table
//! uses a rollback journal instead of the WAL, so its pages are written once (see
//! [`SqliteStore::enter_rollback_journal`]). Queries run on a separate read-only connection
//! inside a transaction, and can be cancelled through a progress handler.
//!
//! Data flow: `import::walk_files` rows → prepared upsert; `run_query` SQL → [`ResultSet`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, TransactionBehavior};
use tokio::sync::mpsc::UnboundedSender;

use super::import::{estimate_rows, ImportEvent, ImportOptions, Summary};
use super::readonly;
use super::results::{Cell, ResultSet};
use super::schema::{check_ident, sqlite_create_table, Dialect, Row, INDEXES, OLD_INDEXES};
use super::sortbuf::load_sorted;
use super::summary;

/// Rows sorted and written per chunk (about 9 MB for chart rows: ~90 bytes of text plus 48 of
/// bookkeeping each); at most three chunks exist at once. Small chunks let the writer start
/// sooner and leave it less to do after the parser has finished (1M rows: load ~1.1 s with
/// 64Ki-row chunks, ~1.5 s with 512Ki); the key order inside each chunk is what keeps the
/// inserts cheap, and the file is no bigger.
const SORT_CHUNK_ROWS: usize = 1 << 16;

/// Page-cache size (KiB) while the secondary indexes are built. SQLite's sorter writes sorted
/// runs of this size to temporary files, sorting them on `PRAGMA threads` helper threads while
/// the table is scanned, then merges them. With the 256 MiB load cache (or `temp_store =
/// MEMORY`, which disables the helper threads) it keeps every entry in memory and sorts them
/// all at the end on one thread: 1M rows, both indexes ~2.2 s that way, ~1.2 s this way.
const INDEX_SORT_CACHE_KIB: u32 = 8192;

/// Page-cache size (KiB) of the import connection while loading rows.
const LOAD_CACHE_KIB: u32 = 262_144;

/// How long a connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
use super::{CancelToken, QueryCancelled};

/// The SQLite backend.
pub struct SqliteStore {
    path: PathBuf,
    table: String,
    /// Read-only connection for questions and ad-hoc SQL (one query at a time). `None` after a
    /// failed reopen (see [`SqliteStore::enter_rollback_journal`]); the next query reopens it.
    ro: Mutex<Option<Connection>>,
    /// Cancel flag of the running query; checked by the progress handler.
    current: Arc<Mutex<Arc<AtomicBool>>>,
    /// Fetch at most this many rows per query.
    pub max_rows: usize,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("table", &self.table)
            .finish()
    }
}

impl SqliteStore {
    /// Open (creating file and table if needed) the database at `path`.
    pub fn open(path: &Path, table: &str) -> Result<SqliteStore> {
        check_ident(table)?;
        summary::check_table_name(table)?;
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                crate::private_fs::create_dir_all(dir)
                    .with_context(|| format!("create {}", dir.display()))?;
            }
        }
        {
            let mut rw = open_rw(path)?;
            rw.execute_batch(&sqlite_create_table(table))?;
            // A table loaded by an earlier version: build its summaries once.
            if !summary::sqlite_present(&rw, table)? {
                let tx = rw.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let all = summary::sqlite_all_groups(&tx, table)?;
                summary::refresh_sqlite(&tx, table, &all)?;
                tx.commit()?;
            }
        }
        let current: Arc<Mutex<Arc<AtomicBool>>> = Arc::default();
        let ro = open_ro(path, &current)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            table: table.to_string(),
            ro: Mutex::new(Some(ro)),
            current,
            max_rows: super::config::DEFAULT_MAX_ROWS,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// `true` while a query holds the read-only connection.
    pub fn is_busy(&self) -> bool {
        matches!(self.ro.try_lock(), Err(std::sync::TryLockError::WouldBlock))
    }

    /// Run one guarded read-only statement (blocking; call from a blocking thread).
    /// Cancelling `token` interrupts it.
    pub fn run_query_blocking(&self, sql: &str, token: &CancelToken) -> Result<ResultSet> {
        let sql = readonly::check(sql, Dialect::Sqlite)?;
        let mut guard = self
            .ro
            .lock()
            .map_err(|_| anyhow!("sqlite connection poisoned by an earlier panic"))?;
        let conn = match &mut *guard {
            Some(c) => c,
            slot @ None => slot.insert(open_ro(&self.path, &self.current)?),
        };
        if let Ok(mut cur) = self.current.lock() {
            *cur = token.flag();
        }
        if token.is_cancelled() {
            return Err(QueryCancelled.into());
        }
        let start = Instant::now();
        conn.execute_batch("BEGIN")?;
        let res = self.fetch(conn, &sql);
        let _ = conn.execute_batch("ROLLBACK");
        let mut rs = res.map_err(|e| {
            if is_interrupt(&e) {
                anyhow::Error::new(QueryCancelled)
            } else {
                e
            }
        })?;
        rs.elapsed = start.elapsed();
        Ok(rs)
    }

    fn fetch(&self, conn: &Connection, sql: &str) -> Result<ResultSet> {
        let mut stmt = conn.prepare(sql)?;
        if !stmt.readonly() {
            bail!("refused (read-only explorer): statement would write");
        }
        let columns: Vec<String> = stmt.column_names().map(String::from).collect();
        let n = columns.len();
        let mut rows_out = Vec::new();
        let mut truncated = false;
        let mut rows = stmt.query([])?;
        let mut bytes = 0usize;
        while let Some(r) = rows.next()? {
            if rows_out.len() >= self.max_rows || bytes > super::store_mysql::MAX_RESULT_BYTES {
                truncated = true;
                break;
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                out.push(match r.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Float(v),
                    ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Cell::Text(String::from_utf8_lossy(b).into_owned()),
                });
            }
            bytes += out
                .iter()
                .map(|c| match c {
                    Cell::Text(s) => s.len() + 24,
                    _ => 16,
                })
                .sum::<usize>();
            rows_out.push(out);
        }
        Ok(ResultSet {
            columns,
            rows: rows_out,
            elapsed: Default::default(),
            truncated,
        })
    }

    /// Async wrapper: runs the query on a blocking thread.
    pub async fn run_query_with(
        self: &Arc<Self>,
        sql: &str,
        token: &CancelToken,
    ) -> Result<ResultSet> {
        let me = self.clone();
        let sql = sql.to_string();
        let token = token.clone();
        tokio::task::spawn_blocking(move || me.run_query_blocking(&sql, &token))
            .await
            .map_err(|e| anyhow!("query task failed: {e}"))?
    }

    /// Import files (async wrapper around [`SqliteStore::import_blocking`]).
    pub async fn import(
        self: &Arc<Self>,
        files: &[PathBuf],
        opts: &ImportOptions,
        progress: Option<UnboundedSender<ImportEvent>>,
    ) -> Result<Summary> {
        let me = self.clone();
        let files = files.to_vec();
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || me.import_blocking(&files, &opts, progress.as_ref()))
            .await
            .map_err(|e| anyhow!("import task failed: {e}"))?
    }

    /// Import in one transaction; on any error the transaction is rolled back.
    pub fn import_blocking(
        &self,
        files: &[PathBuf],
        opts: &ImportOptions,
        progress: Option<&UnboundedSender<ImportEvent>>,
    ) -> Result<Summary> {
        let start = Instant::now();
        let t = &self.table;
        let mut conn = open_rw(&self.path)?;
        conn.execute_batch(&sqlite_create_table(t))?;
        let before: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?;
        let before = before as u64;
        let bulk = if before == 0 {
            self.enter_rollback_journal(&conn)?
        } else {
            None
        };
        let rollback_journal = bulk.is_some();
        let res = self.load(&mut conn, before, files, opts, progress, start);
        if let Some(mut ro) = bulk {
            leave_rollback_journal(&conn);
            // If this fails, the next query tries again.
            *ro = open_ro(&self.path, &self.current).ok();
        }
        let mut s = res?;
        if rollback_journal {
            s.method.push_str(", rollback journal (empty table)");
        }
        s.elapsed = start.elapsed();
        Ok(s)
    }

    /// Switch the import connection from WAL to a rollback journal for a load into an empty
    /// table. In WAL mode every page is written twice: into the WAL, then into the database by
    /// the checkpoint at commit (1M rows: ~0.4 s, plus the WAL bookkeeping while loading). With
    /// a rollback journal the new pages go straight into the file and only the few pages that
    /// existed before are journalled, so a failed or cancelled import still rolls back, and a
    /// crash leaves a hot journal that the next connection rolls back before reading
    /// (`synchronous = FULL`, SQLite's safe setting for this mode). Leaving WAL needs the file
    /// to ourselves: our read connection, which keeps a shared lock while in WAL mode, is
    /// closed; if it is running a query, or another process has the file open, the import
    /// simply stays in WAL mode. On success the returned guard keeps the read connection
    /// closed and this store's queries waiting until the import is over (the table was empty
    /// anyway), so no reader of ours can hold up the commit, which in this mode needs the
    /// file to itself; the caller switches back to WAL and reopens it.
    fn enter_rollback_journal(
        &self,
        conn: &Connection,
    ) -> Result<Option<MutexGuard<'_, Option<Connection>>>> {
        let Ok(mut ro) = self.ro.try_lock() else {
            return Ok(None);
        };
        *ro = None;
        conn.busy_timeout(Duration::ZERO)?;
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0));
        conn.busy_timeout(BUSY_TIMEOUT)?;
        if !mode.is_ok_and(|m| m.eq_ignore_ascii_case("delete")) {
            // Still WAL: reopen now (if this fails the next query tries again).
            *ro = open_ro(&self.path, &self.current).ok();
            return Ok(None);
        }
        if let Err(e) = conn.execute_batch("PRAGMA synchronous = FULL") {
            leave_rollback_journal(conn);
            *ro = open_ro(&self.path, &self.current).ok();
            return Err(e.into());
        }
        Ok(Some(ro))
    }

    /// The import transaction: drop the secondary indexes for a big load, upsert every row in
    /// key order, rebuild the indexes, ANALYZE, commit. `elapsed` is left to the caller.
    fn load(
        &self,
        conn: &mut Connection,
        before: u64,
        files: &[PathBuf],
        opts: &ImportOptions,
        progress: Option<&UnboundedSender<ImportEvent>>,
        start: Instant,
    ) -> Result<Summary> {
        let t = &self.table;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rebuild = before == 0 || estimate_rows(files) > before / 4;
        if rebuild {
            let names = INDEXES.iter().map(|(n, _)| *n).chain(OLD_INDEXES);
            for name in names {
                tx.execute_batch(&format!("DROP INDEX IF EXISTS {t}_{name}"))?;
            }
        }
        let upsert = format!(
            "INSERT INTO {t} (country, list_date, pos, track_id, track, artist, artists, streams, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (country, list_date, pos) DO UPDATE SET
               track_id = excluded.track_id, track = excluded.track, artist = excluded.artist,
               artists = excluded.artists, streams = excluded.streams, source = excluded.source
             WHERE track_id IS NOT excluded.track_id OR track IS NOT excluded.track
               OR artist IS NOT excluded.artist OR artists IS NOT excluded.artists
               OR streams IS NOT excluded.streams OR source IS NOT excluded.source"
        );
        if let Some(p) = progress {
            let _ = p.send(ImportEvent::Phase("loading".into()));
        }
        let mut rejected = Vec::new();
        let mut changed = 0u64;
        // (country, month) of every row that changed: their summary rows are recomputed.
        let mut groups: BTreeSet<summary::Group> = BTreeSet::new();
        let mut last: Option<summary::Group> = None;
        let report = {
            let mut stmt = tx.prepare(&upsert)?;
            let mut write = |row: &Row<'_>| -> Result<()> {
                let n = stmt.execute(params![
                    row.country,
                    row.list_date,
                    row.pos,
                    row.track_id,
                    row.track,
                    row.artist,
                    row.artists,
                    row.streams,
                    row.source as u8
                ])? as u64;
                changed += n;
                let same = last
                    .as_ref()
                    .is_some_and(|(c, m)| c == row.country && row.list_date.get(..8) == m.get(..8));
                if n > 0 && !same {
                    let g = summary::group_of(row.country, row.list_date);
                    groups.insert(g.clone());
                    last = Some(g);
                }
                Ok(())
            };
            // Parsed on a second thread, written in key order a chunk at a time (`sortbuf`).
            load_sorted(
                files,
                opts,
                progress,
                &mut rejected,
                SORT_CHUNK_ROWS,
                &mut write,
            )?
        };
        if rebuild {
            if let Some(p) = progress {
                let _ = p.send(ImportEvent::Phase("building indexes".into()));
            }
        }
        let index_start = Instant::now();
        if rebuild {
            tx.execute_batch(&format!("PRAGMA cache_size = -{INDEX_SORT_CACHE_KIB}"))?;
        }
        for (name, cols) in INDEXES {
            tx.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS {t}_{name} ON {t} ({cols})"
            ))?;
        }
        if rebuild {
            tx.execute_batch(&format!("PRAGMA cache_size = -{LOAD_CACHE_KIB}"))?;
            // A sampled ANALYZE is enough for the planner to pick the covering indexes.
            tx.execute_batch("PRAGMA analysis_limit = 2000; ANALYZE")?;
        }
        let index_time = index_start.elapsed();
        // The summaries, in the same transaction: all of them when they do not exist yet.
        let summary_start = Instant::now();
        if !summary::sqlite_present(&tx, t)? {
            groups = summary::sqlite_all_groups(&tx, t)?;
        } else if before == 0 {
            // Whatever the summaries held belonged to rows that are gone.
            summary::sqlite_clear(&tx, t)?;
        }
        if let Some(p) = progress {
            let _ = p.send(ImportEvent::Phase("updating summaries".into()));
        }
        summary::refresh_sqlite(&tx, t, &groups)?;
        let summary_time = summary_start.elapsed();
        let after: i64 = tx.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?;
        let after = after as u64;
        let commit_start = Instant::now();
        tx.commit()?;
        let commit_time = commit_start.elapsed();
        let inserted = after.saturating_sub(before);
        let mut s = Summary {
            files: files.len(),
            rejected_files: rejected,
            method: "sqlite: one transaction, prepared upsert".into(),
            indexes_built: rebuild,
            index_time,
            commit_time,
            summary_time,
            table_rows: after,
            ..Default::default()
        };
        s.absorb(report);
        s.inserted = inserted;
        s.updated = changed.saturating_sub(inserted);
        s.duplicates = s.rows_read.saturating_sub(inserted);
        s.elapsed = start.elapsed();
        Ok(s)
    }
}

/// Back to WAL after a rollback-journal import, failed or not. Best effort: if a reader keeps
/// the file busy past the busy timeout the database stays in rollback mode, which is still
/// correct, and the next [`open_rw`] switches it back.
fn leave_rollback_journal(conn: &Connection) {
    let _ = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
}

/// The read-only connection for questions and ad-hoc SQL (locked down in layers, see
/// `sqlite_ro`); `current` holds the cancel flag of the running query, which the progress
/// handler checks.
fn open_ro(path: &Path, current: &Arc<Mutex<Arc<AtomicBool>>>) -> Result<Connection> {
    let mut ro = super::sqlite_ro::open(path, super::sqlite_ro::Layers::ALL)?;
    let slot = current.clone();
    ro.progress_handler(
        10_000,
        Some(move || {
            slot.lock()
                .map(|f| f.load(Ordering::Relaxed))
                .unwrap_or(false)
        }),
    )?;
    Ok(ro)
}

fn open_rw(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("open {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // 16 KiB pages for a new file (ignored for an existing one): fewer, fuller pages make the
    // bulk load and index build about 10% faster. Must precede the switch to WAL.
    conn.execute_batch("PRAGMA page_size = 16384")?;
    // Busy only while another process loads into an empty table in rollback-journal mode
    // (which switches back to WAL when it is done); go on in the mode the file is in.
    match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
        other => {
            other.with_context(|| format!("switch {} to WAL", path.display()))?;
        }
    }
    // temp_store = FILE: with MEMORY SQLite's sorter uses no helper threads (see
    // INDEX_SORT_CACHE_KIB); the temporary files go to SQLITE_TMPDIR, TMPDIR or /var/tmp.
    let helpers = std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .clamp(1, 4);
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{LOAD_CACHE_KIB}; \
         PRAGMA temp_store = FILE; PRAGMA threads = {helpers};"
    ))?;
    Ok(conn)
}

fn is_interrupt(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::OperationInterrupted
    )
}
