//! Embedded SQLite store (rusqlite, bundled): the default backend, a file in the XDG data dir.
//! Imports run in ONE transaction with a prepared upsert on `(country, list_date, pos)`, so a
//! re-import changes nothing and a failed or cancelled import leaves the table as it was. Rows
//! are parsed on a second thread and written in key order, a chunk at a time (`sortbuf`).
//! Secondary indexes are dropped for big loads and rebuilt (plus `ANALYZE`) in the same
//! transaction. Queries run on a separate read-only connection inside a transaction, and can
//! be cancelled through a progress handler.
//!
//! Data flow: `import::walk_files` rows → prepared upsert; `run_query` SQL → [`ResultSet`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use tokio::sync::mpsc::UnboundedSender;

use super::import::{estimate_rows, ImportEvent, ImportOptions, Summary};
use super::readonly;
use super::results::{Cell, ResultSet};
use super::schema::{check_ident, sqlite_create_table, Dialect, Row, INDEXES, OLD_INDEXES};
use super::sortbuf::load_sorted;

/// Rows sorted and written per chunk (about 70 MB for chart rows: ~90 bytes of text plus 48
/// of bookkeeping each); at most three chunks exist at once.
const SORT_CHUNK_ROWS: usize = 1 << 19;
use super::{CancelToken, QueryCancelled};

/// The SQLite backend.
pub struct SqliteStore {
    path: PathBuf,
    table: String,
    /// Read-only connection for questions and ad-hoc SQL (one query at a time).
    ro: Mutex<Connection>,
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
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("create {}", dir.display()))?;
            }
        }
        {
            let rw = open_rw(path)?;
            rw.execute_batch(&sqlite_create_table(table))?;
        }
        let mut ro = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("open {} read-only", path.display()))?;
        // Memory-mapped reads: the per-track name look-ups jump around the table, and mapping
        // saves a copy per page (track lists on 1M rows: ~0.25 s → ~0.14 s).
        ro.execute_batch("PRAGMA mmap_size = 1073741824")?;
        let current: Arc<Mutex<Arc<AtomicBool>>> = Arc::default();
        let slot = current.clone();
        ro.progress_handler(
            10_000,
            Some(move || {
                slot.lock()
                    .map(|f| f.load(Ordering::Relaxed))
                    .unwrap_or(false)
            }),
        )?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            table: table.to_string(),
            ro: Mutex::new(ro),
            current,
            max_rows: 1_000_000,
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
        let conn = self
            .ro
            .lock()
            .map_err(|_| anyhow!("sqlite connection poisoned by an earlier panic"))?;
        if let Ok(mut cur) = self.current.lock() {
            *cur = token.flag();
        }
        if token.is_cancelled() {
            return Err(QueryCancelled.into());
        }
        let start = Instant::now();
        conn.execute_batch("BEGIN")?;
        let res = self.fetch(&conn, &sql);
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
        while let Some(r) = rows.next()? {
            if rows_out.len() >= self.max_rows {
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
        let report = {
            let mut stmt = tx.prepare(&upsert)?;
            let mut write = |row: &Row<'_>| -> Result<()> {
                changed += stmt.execute(params![
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
        for (name, cols) in INDEXES {
            tx.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS {t}_{name} ON {t} ({cols})"
            ))?;
        }
        if rebuild {
            // A sampled ANALYZE is enough for the planner to pick the covering indexes.
            tx.execute_batch("PRAGMA analysis_limit = 2000; ANALYZE")?;
        }
        let index_time = index_start.elapsed();
        let after: i64 = tx.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?;
        let after = after as u64;
        tx.commit()?;
        let inserted = after.saturating_sub(before);
        let mut s = Summary {
            files: files.len(),
            rejected_files: rejected,
            method: "sqlite: one transaction, prepared upsert".into(),
            indexes_built: rebuild,
            index_time,
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

fn open_rw(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // 16 KiB pages for a new file (ignored for an existing one): fewer, fuller pages make the
    // bulk load and index build about 10% faster. Must precede the switch to WAL.
    conn.execute_batch(
        "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; PRAGMA threads = 2;",
    )?;
    Ok(conn)
}

fn is_interrupt(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::OperationInterrupted
    )
}
