//! MySQL/MariaDB store through mysql_async. Imports stream the normalised rows as TSV into
//! `LOAD DATA LOCAL INFILE` via the connection's infile handler (no temp file), or fall back to
//! batched 1000-row prepared `REPLACE` statements when the server refuses local infile
//! (`load.rs`). Into an empty table the rows go straight in, inside one transaction with
//! `unique_checks`/`foreign_key_checks` off (MariaDB's bulk-insert path); into a
//! table with rows they land in a TEMPORARY staging table first and are merged in one
//! transaction (`INSERT … SELECT … ON DUPLICATE KEY UPDATE`). Either way a failed or cancelled
//! import leaves the table as it was. Secondary indexes are added after loads into an empty
//! table. Queries run in `START TRANSACTION READ ONLY` and are cancelled with
//! `KILL QUERY <connection id>` from a second connection.
//!
//! Data flow: `import::walk_files` (blocking thread) → TSV chunks / row batches → staging →
//! merge; `run_query` SQL → [`ResultSet`].

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, Value};

use super::config::SpotifyConfig;
use super::readonly;
use super::results::{Cell, ResultSet};
use super::schema::{mysql_binary_collation, Dialect};
use super::{CancelToken, QueryCancelled};

mod editor;
mod guard;
mod import;
mod load;
pub use editor::MAX_RESULT_BYTES;
pub use load::write_tsv;

pub(crate) const STAGE: &str = "stacktop_import_stage";

/// The MySQL/MariaDB backend.
pub struct MysqlStore {
    /// Options without a default database (used by imports, which create it).
    base: Opts,
    pool: Pool,
    database: String,
    table: String,
    collation: &'static str,
    /// Fetch at most this many rows per query.
    pub max_rows: usize,
    /// The SQL editor's own connection (and account).
    editor: editor::EditorConn,
}

impl std::fmt::Debug for MysqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlStore")
            .field("host", &self.base.ip_or_hostname())
            .field("port", &self.base.tcp_port())
            .field("database", &self.database)
            .field("table", &self.table)
            .finish()
    }
}

fn server_code(e: &anyhow::Error) -> Option<u16> {
    match e.downcast_ref::<mysql_async::Error>() {
        Some(mysql_async::Error::Server(s)) => Some(s.code),
        _ => None,
    }
}

/// Limit on opening a connection (TCP, TLS, authentication) and on the probe query. The
/// statements the user runs have no fixed limit (imports and analytics can take minutes): the
/// tab shows their running time and `x` cancels them (`KILL QUERY`).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens one connection within [`CONNECT_TIMEOUT`].
async fn connect(opts: &Opts) -> Result<Conn> {
    tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts.clone()))
        .await
        .map_err(|_| {
            anyhow!(
                "no answer from MySQL/MariaDB within {} s (connect)",
                CONNECT_TIMEOUT.as_secs()
            )
        })?
        .map_err(Into::into)
}

impl MysqlStore {
    /// Build options from the config and check the server answers.
    pub async fn connect(cfg: &SpotifyConfig) -> Result<MysqlStore> {
        cfg.validate()?;
        let password = cfg.resolve_password()?;
        let mut b = match &cfg.url {
            Some(url) => OptsBuilder::from_opts(Opts::from_url(url).map_err(|e| {
                let e = crate::mask::without_secrets_of(&e.to_string(), url);
                anyhow!("invalid MySQL url: {e}")
            })?),
            None => OptsBuilder::default()
                .ip_or_hostname(cfg.host.clone().unwrap_or_else(|| "127.0.0.1".into()))
                .tcp_port(cfg.port.unwrap_or(3306))
                .user(Some(
                    cfg.user
                        .clone()
                        .or_else(|| std::env::var("USER").ok())
                        .unwrap_or_else(|| "root".into()),
                )),
        };
        if let Some(p) = password {
            b = b.pass(Some(p));
        }
        // a silent network partition is noticed by the kernel, not only by our timeouts
        b = b.tcp_keepalive(Some(std::time::Duration::from_secs(30)));
        // The editor: same server and database, its own account if configured, no statement
        // cache (user statements are prepared once and closed).
        let mut eb = b.clone().db_name(Some(cfg.database())).stmt_cache_size(0);
        if let Some(u) = &cfg.sql_user {
            eb = eb.user(Some(u.clone())).pass(cfg.resolve_sql_password()?);
        }
        let editor = editor::EditorConn::new(eb.into(), cfg.max_rows, cfg.sql_timeout.get());
        if let Some(c) = PoolConstraints::new(0, 8) {
            b = b.pool_opts(PoolOpts::default().with_constraints(c));
        }
        let base: Opts = b.clone().db_name(None::<String>).into();
        let pool = Pool::new(b.db_name(Some(cfg.database())));
        let mut probe = connect(&base)
            .await
            .context("connecting to MySQL/MariaDB")?;
        let version: String =
            tokio::time::timeout(CONNECT_TIMEOUT, probe.query_first("SELECT VERSION()"))
                .await
                .map_err(|_| {
                    anyhow!(
                        "no answer from MySQL/MariaDB within {} s",
                        CONNECT_TIMEOUT.as_secs()
                    )
                })??
                .unwrap_or_default();
        let _ = probe.disconnect().await;
        let store = MysqlStore {
            base,
            pool,
            database: cfg.database(),
            table: cfg.table.clone(),
            collation: mysql_binary_collation(&version),
            max_rows: cfg.max_rows,
            editor,
        };
        store
            .ensure_summaries()
            .await
            .context("building the summary tables of a table loaded by an earlier version")?;
        Ok(store)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    /// The binary collation used for names.
    pub fn collation(&self) -> &'static str {
        self.collation
    }

    /// Close pooled connections and the editor's.
    pub async fn close(&self) -> Result<()> {
        self.editor.close().await;
        self.pool.clone().disconnect().await?;
        Ok(())
    }

    /// Run one guarded statement in a read-only transaction.
    pub async fn run_query(&self, sql: &str) -> Result<ResultSet> {
        self.run_query_with(sql, &CancelToken::default()).await
    }

    /// Ad-hoc SQL: the `readonly` lexer, then the editor's connection and its server-side
    /// checks (see `editor.rs`).
    pub async fn run_sql_with(&self, sql: &str, token: &CancelToken) -> Result<ResultSet> {
        let sql = readonly::check(sql, Dialect::Mysql)?;
        self.editor.run(&sql, token).await
    }

    /// Test seam: the editor path *without* the `readonly` lexer, so tests can show that the
    /// server-side layer stands on its own. Not reachable from the binary.
    #[doc(hidden)]
    pub async fn run_sql_without_lexer_for_tests(&self, sql: &str) -> Result<ResultSet> {
        self.editor.run(sql, &CancelToken::default()).await
    }

    /// Test seam: only the server-side part of the editor's checks (no lexer, no raw-text
    /// check). Not reachable from the binary.
    #[doc(hidden)]
    pub async fn run_sql_server_checks_only_for_tests(&self, sql: &str) -> Result<ResultSet> {
        self.editor
            .run_on_server(sql, &CancelToken::default())
            .await
    }

    /// Like [`MysqlStore::run_query`], cancellable through `token` ([`MysqlStore::cancel`]).
    pub async fn run_query_with(&self, sql: &str, token: &CancelToken) -> Result<ResultSet> {
        let sql = readonly::check(sql, Dialect::Mysql)?;
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, self.pool.get_conn())
            .await
            .map_err(|_| {
                anyhow!(
                    "no connection to MySQL/MariaDB within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
            })??;
        token.set_conn_id(conn.id());
        if token.is_cancelled() {
            return Err(QueryCancelled.into());
        }
        let start = Instant::now();
        conn.query_drop("START TRANSACTION READ ONLY").await?;
        let res = self.fetch(&mut conn, &sql).await;
        let _ = conn.query_drop("ROLLBACK").await;
        token.set_conn_id_none();
        let cancelled = token.is_cancelled();
        match res {
            Ok(_) if cancelled => Err(QueryCancelled.into()),
            Err(e) if cancelled || server_code(&e) == Some(1317) => {
                let _ = e;
                Err(QueryCancelled.into())
            }
            Ok(mut rs) => {
                rs.elapsed = start.elapsed();
                Ok(rs)
            }
            Err(e) => Err(e),
        }
    }

    async fn fetch(&self, conn: &mut Conn, sql: &str) -> Result<ResultSet> {
        let mut result = conn.query_iter(sql).await?;
        // drain the rest (not kept) so the pooled connection stays usable
        editor::collect_rows(&mut result, self.max_rows, true).await
    }

    /// Kill the query `token` runs, from a second connection (`KILL QUERY`), retrying briefly
    /// in case the statement had not reached the server yet.
    pub async fn cancel(&self, token: &CancelToken) -> Result<()> {
        token.cancel();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut killer: Option<Conn> = None;
        // An account may always kill its own queries: the editor's with the editor's account.
        let opts = if token.is_editor() {
            self.editor.opts.clone()
        } else {
            self.base.clone()
        };
        while let Some(id) = token.conn_id() {
            if killer.is_none() {
                killer = Some(connect(&opts).await?);
            }
            if let Some(k) = killer.as_mut() {
                match k.query_drop(format!("KILL QUERY {id}")).await {
                    Ok(()) => {}
                    Err(mysql_async::Error::Server(s)) if s.code == 1094 => break, // gone
                    Err(e) => return Err(e.into()),
                }
            }
            if Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if let Some(k) = killer {
            let _ = k.disconnect().await;
        }
        Ok(())
    }
}

/// Decode a text-protocol value by column type; integral DECIMALs (MySQL's `SUM`) become `Int`.
fn to_cell(v: Value, t: ColumnType) -> Cell {
    use ColumnType::*;
    let bytes = match v {
        Value::NULL => return Cell::Null,
        Value::Bytes(b) => b,
        Value::Int(i) => return Cell::Int(i),
        Value::UInt(u) => {
            return i64::try_from(u)
                .map(Cell::Int)
                .unwrap_or(Cell::Text(u.to_string()))
        }
        Value::Float(f) => return Cell::Float(f64::from(f)),
        Value::Double(f) => return Cell::Float(f),
        other => return Cell::Text(other.as_sql(true).trim_matches('\'').to_string()),
    };
    let s = String::from_utf8_lossy(&bytes).into_owned();
    match t {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => s.parse().map(Cell::Int).unwrap_or(Cell::Text(s)),
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            if let Ok(i) = s.parse::<i64>() {
                Cell::Int(i)
            } else if let Some(i) = s
                .split_once('.')
                .filter(|(_, frac)| frac.bytes().all(|b| b == b'0'))
                .and_then(|(w, _)| w.parse::<i64>().ok())
            {
                Cell::Int(i)
            } else {
                s.parse().map(Cell::Float).unwrap_or(Cell::Text(s))
            }
        }
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => s.parse().map(Cell::Float).unwrap_or(Cell::Text(s)),
        _ => Cell::Text(s),
    }
}
