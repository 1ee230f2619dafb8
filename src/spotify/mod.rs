//! Spotify top-200 explorer core (no UI): chart CSV import in four formats, an embedded SQLite
//! store (default) and a MySQL/MariaDB store, ready-made questions, a read-only ad-hoc SQL
//! guard, typed result sets with CSV/JSON export, and an async runner with cancel.
//!
//! Data flow: files → `formats`/`parse` → `import` → `store_sqlite` | `store_mysql`
//! ← `questions` / ad-hoc SQL (`readonly`) ← `runner` → `results::ResultSet` → UI / batch.

pub mod cli;
pub mod config;
pub mod csvlimit;
pub mod demo;
pub mod formats;
pub mod generate;
pub mod history;
pub mod import;
pub mod msg;
pub mod params;
pub mod parse;
mod question_scope;
pub mod questions;
pub mod readonly;
pub mod results;
pub mod runner;
pub mod schema;
mod sortbuf;
pub mod source;
pub mod sqlite_ro;
pub mod store_mysql;
pub mod store_sqlite;
pub mod summary;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;

pub use config::{Backend, SpotifyConfig};
pub use import::{import_files, ImportEvent, ImportOptions, Summary};
pub use questions::{Params, Question};
pub use results::{Cell, ResultSet};
pub use schema::Dialect;
pub use store_mysql::MysqlStore;
pub use store_sqlite::SqliteStore;

/// Error returned by a query that was cancelled.
#[derive(Debug, thiserror::Error)]
#[error("query cancelled")]
pub struct QueryCancelled;

/// Cancels one running query. Cheap to clone; create one per query.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<TokenInner>);

#[derive(Debug, Default)]
struct TokenInner {
    cancelled: Arc<AtomicBool>,
    /// The query runs on the MySQL SQL editor's connection (its own account).
    editor: AtomicBool,
    conn_id: Mutex<Option<u32>>,
}

impl CancelToken {
    /// Mark the query cancelled (the stores check this and interrupt it).
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        self.0.cancelled.clone()
    }
    pub(crate) fn set_conn_id(&self, id: u32) {
        if let Ok(mut g) = self.0.conn_id.lock() {
            *g = Some(id);
        }
    }
    pub(crate) fn set_conn_id_none(&self) {
        if let Ok(mut g) = self.0.conn_id.lock() {
            *g = None;
        }
    }
    pub(crate) fn set_editor(&self) {
        self.0.editor.store(true, Ordering::SeqCst);
    }
    pub(crate) fn is_editor(&self) -> bool {
        self.0.editor.load(Ordering::SeqCst)
    }
    /// Server connection id running the query (MySQL), while it runs.
    pub fn conn_id(&self) -> Option<u32> {
        self.0.conn_id.lock().ok().and_then(|g| *g)
    }
}

/// A chart store: the embedded SQLite file or a MySQL/MariaDB server. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(Arc<SqliteStore>),
    Mysql(Arc<MysqlStore>),
}

impl Store {
    /// Open the store described by `cfg` (creating the SQLite file/table if needed; on MySQL
    /// the database and table are created by the first import).
    pub async fn open(cfg: &SpotifyConfig) -> Result<Store> {
        match cfg.backend {
            Backend::Sqlite => {
                let path = cfg.sqlite_path()?;
                let table = cfg.table.clone();
                let mut s = tokio::task::spawn_blocking(move || SqliteStore::open(&path, &table))
                    .await
                    .map_err(|e| anyhow::anyhow!("open task failed: {e}"))??;
                s.max_rows = cfg.max_rows;
                Ok(Store::Sqlite(Arc::new(s)))
            }
            Backend::Mysql => Ok(Store::Mysql(Arc::new(MysqlStore::connect(cfg).await?))),
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(_) => Dialect::Sqlite,
            Store::Mysql(_) => Dialect::Mysql,
        }
    }

    /// Name of the chart table.
    pub fn table(&self) -> &str {
        match self {
            Store::Sqlite(s) => s.table(),
            Store::Mysql(m) => m.table(),
        }
    }

    /// Run one read-only statement (refused unless SELECT/WITH/SHOW/EXPLAIN) in a read-only
    /// transaction and fetch all rows (up to the store's row cap).
    pub async fn run_query(&self, sql: &str) -> Result<ResultSet> {
        self.run_query_with(sql, &CancelToken::default()).await
    }

    /// Like [`Store::run_query`], cancellable with [`Store::cancel`] on the same token; a
    /// cancelled query fails with [`QueryCancelled`].
    pub async fn run_query_with(&self, sql: &str, token: &CancelToken) -> Result<ResultSet> {
        match self {
            Store::Sqlite(s) => s.run_query_with(sql, token).await,
            Store::Mysql(m) => m.run_query_with(sql, token).await,
        }
    }

    /// Run ad-hoc SQL from the editor or `stacktop spotify sql`: the `readonly` lexer, then
    /// on SQLite the locked-down query connection (`sqlite_ro`), on MySQL the editor's own
    /// connection and account with its server-side checks (`store_mysql::editor`).
    pub async fn run_sql(&self, sql: &str) -> Result<ResultSet> {
        self.run_sql_with(sql, &CancelToken::default()).await
    }

    /// Like [`Store::run_sql`], cancellable with [`Store::cancel`] on the same token.
    pub async fn run_sql_with(&self, sql: &str, token: &CancelToken) -> Result<ResultSet> {
        match self {
            Store::Sqlite(s) => s.run_query_with(sql, token).await,
            Store::Mysql(m) => m.run_sql_with(sql, token).await,
        }
    }

    /// Cancel the query running with `token`: SQLite interrupts it, MySQL sends
    /// `KILL QUERY <connection id>` from a second connection.
    pub async fn cancel(&self, token: &CancelToken) -> Result<()> {
        match self {
            Store::Sqlite(_) => {
                token.cancel();
                Ok(())
            }
            Store::Mysql(m) => m.cancel(token).await,
        }
    }

    /// Render and run a ready-made question.
    pub async fn ask(&self, q: &Question, params: &Params) -> Result<ResultSet> {
        let sql = q.sql(self.table(), self.dialect(), params)?;
        self.run_query(&sql).await
    }

    /// Distinct countries in the table (for the country picker).
    pub async fn countries(&self) -> Result<Vec<String>> {
        let rs = self
            .run_query(&format!(
                "SELECT DISTINCT country FROM {} ORDER BY country",
                self.table()
            ))
            .await?;
        Ok(rs
            .rows
            .into_iter()
            .filter_map(|r| match r.into_iter().next() {
                Some(Cell::Text(s)) => Some(s),
                _ => None,
            })
            .collect())
    }
}

/// [`Store::open`] after checking the config (a bad one is a usage error, exit code 2).
pub(crate) async fn open(cfg: &SpotifyConfig) -> Result<Store> {
    cfg.validate().map_err(params::usage)?;
    Store::open(cfg).await
}
