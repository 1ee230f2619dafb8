//! The SQL editor's own MySQL/MariaDB connection: not the import/question pool, optionally its
//! own account (`spotify.sql_user`, meant to be SELECT-only), and a second line of defence on
//! the server behind the `readonly` lexer:
//!
//! 1. [`guard::check`](super::guard::check) on the raw text (no lexing);
//! 2. the statement is *prepared* (`COM_STMT_PREPARE`): the server parses it and accepts
//!    exactly one statement, whatever the client's multi-statement flag (mysql_async always
//!    sets `CLIENT_MULTI_STATEMENTS` and has no `COM_SET_OPTION`);
//! 3. a prepared statement that returns no result set (SET, DDL, DML, `SELECT … INTO`) is
//!    closed unexecuted and refused;
//! 4. it runs inside `START TRANSACTION READ ONLY` on a session that is `READ ONLY` by
//!    default, with a server-side time limit (`max_statement_time` on MariaDB,
//!    `max_execution_time` on MySQL) and `sql_select_limit = max_rows + 1`;
//! 5. at most `max_rows` rows (and [`MAX_RESULT_BYTES`]) are kept; past that the connection
//!    is dropped instead of reading the rest.
//!
//! Data flow: `MysqlStore::run_sql_with` → [`EditorConn::run`] → [`ResultSet`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use mysql_async::consts::ColumnType;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, QueryResult, Value};

use super::guard;
use crate::spotify::readonly::Refused;
use crate::spotify::results::{Cell, ResultSet};
use crate::spotify::{CancelToken, QueryCancelled};

/// Stop keeping rows once the kept cells hold this many bytes (the summary says "first N").
pub const MAX_RESULT_BYTES: usize = 64 << 20;

/// How long connecting (and setting up the session) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The editor's connection, opened on first use and again after an error.
pub struct EditorConn {
    pub(super) opts: Opts,
    conn: tokio::sync::Mutex<Option<Conn>>,
    pub(super) max_rows: usize,
    pub(super) timeout: Duration,
}

impl EditorConn {
    pub fn new(opts: Opts, max_rows: usize, timeout: Duration) -> EditorConn {
        EditorConn {
            opts,
            conn: tokio::sync::Mutex::new(None),
            max_rows: max_rows.max(1),
            timeout,
        }
    }

    async fn connect(&self) -> Result<Conn> {
        let setup = async {
            let mut c = Conn::new(self.opts.clone()).await?;
            let version: String = c.query_first("SELECT VERSION()").await?.unwrap_or_default();
            let limit = if version.contains("MariaDB") {
                format!("max_statement_time = {:.3}", self.timeout.as_secs_f64())
            } else {
                format!("max_execution_time = {}", self.timeout.as_millis())
            };
            c.query_drop(format!(
                "SET SESSION {limit}, SESSION sql_select_limit = {}, \
                 SESSION innodb_lock_wait_timeout = 1",
                self.max_rows + 1
            ))
            .await?;
            c.query_drop("SET SESSION TRANSACTION READ ONLY").await?;
            Ok::<Conn, mysql_async::Error>(c)
        };
        tokio::time::timeout(CONNECT_TIMEOUT, setup)
            .await
            .map_err(|_| anyhow!("connecting the SQL editor: timed out after 10 s"))?
            .context("connecting the SQL editor to MySQL/MariaDB")
    }

    /// Run one statement: the raw-text check, then prepare, check and execute on the server
    /// (see the module docs). The `readonly` lexer is the caller's job.
    pub async fn run(&self, sql: &str, token: &CancelToken) -> Result<ResultSet> {
        guard::check(sql)?;
        self.run_on_server(sql, token).await
    }

    /// The server-side part alone: prepare, check, execute (tests call it without
    /// [`guard::check`] to show what the server refuses by itself).
    pub(super) async fn run_on_server(&self, sql: &str, token: &CancelToken) -> Result<ResultSet> {
        let mut slot = self.conn.lock().await;
        let mut conn = match slot.take() {
            Some(c) => c,
            None => self.connect().await?,
        };
        token.set_editor();
        token.set_conn_id(conn.id());
        if token.is_cancelled() {
            token.set_conn_id_none();
            *slot = Some(conn);
            return Err(QueryCancelled.into());
        }
        let start = Instant::now();
        // The client gives up a little after the server would have.
        let deadline = self.timeout + Duration::from_secs(5);
        let res = tokio::time::timeout(deadline, self.execute(&mut conn, sql)).await;
        token.set_conn_id_none();
        let (res, keep) = match res {
            Ok(Ok((rs, complete))) => (Ok(rs), complete),
            Ok(Err(e)) => (Err(e), false),
            Err(_) => (
                Err(anyhow!(
                    "no answer within {} s; the connection was closed",
                    deadline.as_secs()
                )),
                false,
            ),
        };
        if keep && conn.query_drop("ROLLBACK").await.is_ok() {
            *slot = Some(conn);
        }
        // Otherwise `conn` is dropped: its transaction ends with the connection, and rows not
        // read are never sent.
        let cancelled = token.is_cancelled();
        match res {
            Ok(_) if cancelled => Err(QueryCancelled.into()),
            Err(e) if cancelled || super::server_code(&e) == Some(1317) => {
                Err(QueryCancelled.into())
            }
            Ok(mut rs) => {
                rs.elapsed = start.elapsed();
                Ok(rs)
            }
            Err(e) if super::server_code(&e) == Some(1969) => Err(anyhow!(
                "stopped by the server after {} s (spotify.sql_timeout)",
                self.timeout.as_secs_f64()
            )),
            Err(e) => Err(e),
        }
    }

    /// Prepare, check and execute; `Ok((rows, true))` when every row was read (the
    /// connection can be reused).
    async fn execute(&self, conn: &mut Conn, sql: &str) -> Result<(ResultSet, bool)> {
        conn.query_drop("START TRANSACTION READ ONLY").await?;
        let stmt = conn.prep(sql).await?;
        if stmt.num_columns() == 0 {
            let _ = conn.close(stmt).await;
            return Err(Refused(
                "the server says this statement returns no rows; only SELECT, WITH, SHOW, \
                 EXPLAIN and DESCRIBE run (server-side check)"
                    .into(),
            )
            .into());
        }
        let mut result = conn.exec_iter(stmt.clone(), ()).await?;
        let rs = collect_rows(&mut result, self.max_rows, false).await?;
        let complete = !rs.truncated;
        if complete {
            drop(result);
            let _ = conn.close(stmt).await;
        }
        Ok((rs, complete))
    }

    /// Close the connection (if open).
    pub async fn close(&self) {
        if let Some(c) = self.conn.lock().await.take() {
            let _ = c.disconnect().await;
        }
    }
}

/// Reads a result set (text or binary protocol) into a [`ResultSet`]: at most `max_rows` rows
/// and about [`MAX_RESULT_BYTES`] of cells; past that `truncated` is set and the rest is
/// either read and thrown away (`drain`: the connection stays usable) or left unread (the
/// caller drops the connection instead of reading what may be a huge result).
pub(super) async fn collect_rows<P: mysql_async::prelude::Protocol>(
    result: &mut QueryResult<'_, '_, P>,
    max_rows: usize,
    drain: bool,
) -> Result<ResultSet> {
    let cols = result.columns().unwrap_or_else(|| Arc::from(Vec::new()));
    let columns: Vec<String> = cols.iter().map(|c| c.name_str().into_owned()).collect();
    let types: Vec<ColumnType> = cols.iter().map(|c| c.column_type()).collect();
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    let mut truncated = false;
    while let Some(row) = result.next().await? {
        if rows.len() >= max_rows || bytes > MAX_RESULT_BYTES {
            truncated = true;
            if drain {
                continue;
            }
            break;
        }
        let cells: Vec<Cell> = row
            .unwrap()
            .into_iter()
            .zip(&types)
            .map(|(v, t)| binary_cell(v, *t))
            .collect();
        bytes += cells.iter().map(cell_bytes).sum::<usize>();
        rows.push(cells);
    }
    Ok(ResultSet {
        columns,
        rows,
        elapsed: Duration::ZERO,
        truncated,
    })
}

/// Approximate bytes a cell holds.
pub(crate) fn cell_bytes(c: &Cell) -> usize {
    match c {
        Cell::Text(s) => s.len() + 24,
        _ => 16,
    }
}

/// Decode a value: binary-protocol dates as `YYYY-MM-DD` (with the time for DATETIME and
/// TIMESTAMP), the rest (and every text-protocol value) like the text protocol.
fn binary_cell(v: Value, t: ColumnType) -> Cell {
    match v {
        Value::Date(y, m, d, h, mi, s, us) => {
            if t == ColumnType::MYSQL_TYPE_DATE {
                Cell::Text(format!("{y:04}-{m:02}-{d:02}"))
            } else if us > 0 {
                Cell::Text(format!(
                    "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
                ))
            } else {
                Cell::Text(format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}"))
            }
        }
        Value::Time(neg, days, h, mi, s, _) => {
            let sign = if neg { "-" } else { "" };
            let hours = u64::from(days) * 24 + u64::from(h);
            Cell::Text(format!("{sign}{hours:02}:{mi:02}:{s:02}"))
        }
        other => super::to_cell(other, t),
    }
}
