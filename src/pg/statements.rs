//! Top statements by time since stacktop started, from `pg_stat_statements` when it is installed
//! in the connected database (detected from the catalog, said once when absent or unreadable).
//! The collector calls [`StatementsReader::maybe_read`] after a refresh; it reads at most every
//! `every` (a modest cadence, not every refresh), each reading bounded by the query timeout.
//! A reading takes the numbers of every statement without their texts
//! (`pg_stat_statements(false)`), subtracts the first reading ([`Baseline`]: deltas since
//! start-up, a reset counter counting from zero again), and fetches texts only for the top
//! ones. Texts stay data: shown redacted, one line ([`super::redact`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::explain::quote_ident;

/// Statements kept in a top.
pub const TOP: usize = 10;
/// First-reading entries kept (`pg_stat_statements.max` defaults to 5000).
pub const MAX_BASELINE: usize = 50_000;
/// Characters of a statement text fetched.
pub const MAX_TEXT: usize = 2000;

/// `(userid, dbid, queryid)`.
pub type StatementKey = (i64, i64, i64);

/// One statement's time and calls since the first reading.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatementDelta {
    pub key: StatementKey,
    pub user: Option<String>,
    pub database: Option<String>,
    pub calls: i64,
    /// execution time since the first reading, in milliseconds
    pub total_ms: f64,
    /// the normalised text as the server keeps it (may hold literals: redact before showing)
    pub query: String,
}

/// The top statements of one reading.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StatementsTop {
    /// the server's time of the first reading (the deltas count from it)
    pub since: DateTime<Utc>,
    /// the server's time of this reading
    pub taken_at: DateTime<Utc>,
    /// statements with time since the first reading, most time first
    pub rows: Vec<StatementDelta>,
}

/// Counters of the first reading (plus statements first seen later, from zero).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    first: HashMap<StatementKey, (i64, f64)>,
}

impl Baseline {
    /// Records the first reading.
    pub fn new(rows: &[(StatementKey, i64, f64)]) -> Self {
        let mut first = HashMap::with_capacity(rows.len().min(MAX_BASELINE));
        for &(k, calls, total) in rows.iter().take(MAX_BASELINE) {
            first.insert(k, (calls, total));
        }
        Baseline { first }
    }

    /// `(key, calls, total_ms)` since the first reading, most time first, at most `n`, none
    /// without time. A statement absent from the first reading counts from zero; one whose
    /// counters went down (`pg_stat_statements_reset()`, an eviction) counts from zero again.
    pub fn deltas(
        &self,
        rows: &[(StatementKey, i64, f64)],
        n: usize,
    ) -> Vec<(StatementKey, i64, f64)> {
        let mut v: Vec<(StatementKey, i64, f64)> = rows
            .iter()
            .map(|&(k, calls, total)| match self.first.get(&k) {
                Some(&(c0, t0)) if calls >= c0 && total >= t0 => (k, calls - c0, total - t0),
                _ => (k, calls, total),
            })
            .filter(|d| d.2 > 0.0)
            .collect();
        v.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// What the catalog said about the extension in this database.
#[derive(Debug, Clone, PartialEq)]
enum Presence {
    Unknown,
    Absent,
    /// `schema.pg_stat_statements(...)` with the total-time column of this version
    Present {
        schema: String,
        total: &'static str,
    },
    /// reading failed (not preloaded, no permission): not tried again on this connection
    Failed,
}

/// The collector's reader (one per collector; [`StatementsReader::reconnected`] per connection).
pub struct StatementsReader {
    every: Duration,
    presence: Presence,
    last: Option<Instant>,
    baseline: Option<(DateTime<Utc>, Baseline)>,
    latest: Option<Arc<StatementsTop>>,
}

impl StatementsReader {
    pub fn new(every: Duration) -> Self {
        StatementsReader {
            every,
            presence: Presence::Unknown,
            last: None,
            baseline: None,
            latest: None,
        }
    }

    /// A new connection: detect again (the database or the server may have changed; the
    /// first reading stays, a counter reset is handled by [`Baseline::deltas`]).
    pub fn reconnected(&mut self) {
        self.presence = Presence::Unknown;
        self.last = None;
    }

    /// The latest top (attached to every snapshot, with its reading time).
    pub fn latest(&self) -> Option<Arc<StatementsTop>> {
        self.latest.clone()
    }

    /// Whether [`StatementsReader::maybe_read`] would query now (due, and not known absent or
    /// unreadable on this connection).
    pub fn will_query(&self) -> bool {
        self.presence != Presence::Failed && self.last.is_none_or(|t| t.elapsed() >= self.every)
    }

    /// Reads when due, within `limit`; a message for the status line when the extension is
    /// absent or cannot be read (the caller says each one once).
    pub async fn maybe_read(&mut self, client: &Client, limit: Duration) -> Option<String> {
        if self.last.is_some_and(|t| t.elapsed() < self.every) {
            return None;
        }
        self.last = Some(Instant::now());
        match tokio::time::timeout(limit, self.read(client)).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                self.presence = Presence::Failed;
                Some(format!(
                    "pg_stat_statements cannot be read ({e}): the waits pane shows no statements"
                ))
            }
            Err(_) => Some(format!(
                "pg_stat_statements: no answer within {:.1} s, skipped this time",
                limit.as_secs_f64()
            )),
        }
    }

    async fn read(&mut self, client: &Client) -> Result<(), String> {
        if self.presence == Presence::Unknown {
            self.presence = detect(client).await.map_err(|e| e.to_string())?;
            if self.presence == Presence::Absent {
                return Err("not installed in this database (CREATE EXTENSION pg_stat_statements, with it in shared_preload_libraries)".into());
            }
        }
        let Presence::Present { schema, total } = &self.presence else {
            return Ok(());
        };
        let from = format!("{}.pg_stat_statements", quote_ident(schema));
        let rows = client
            .query(
                &format!(
                    "/* stacktop */ SELECT now(), s.userid::int8, s.dbid::int8, s.queryid, \
                     s.calls, s.{total} FROM {from}(false) s WHERE s.queryid IS NOT NULL"
                ),
                &[],
            )
            .await
            .map_err(|e| db_error(&e))?;
        let mut now = None;
        let mut numbers = Vec::with_capacity(rows.len());
        for r in &rows {
            now = Some(
                r.try_get::<_, DateTime<Utc>>(0)
                    .map_err(|e| e.to_string())?,
            );
            let key = (
                r.try_get(1).map_err(|e| e.to_string())?,
                r.try_get(2).map_err(|e| e.to_string())?,
                r.try_get(3).map_err(|e| e.to_string())?,
            );
            numbers.push((
                key,
                r.try_get::<_, i64>(4).map_err(|e| e.to_string())?,
                r.try_get::<_, f64>(5).map_err(|e| e.to_string())?,
            ));
        }
        let now = match now {
            Some(n) => n,
            None => client
                .query_one("/* stacktop */ SELECT now()", &[])
                .await
                .and_then(|r| r.try_get(0))
                .map_err(|e| db_error(&e))?,
        };
        let Some((since, base)) = &self.baseline else {
            self.baseline = Some((now, Baseline::new(&numbers)));
            self.latest = Some(Arc::new(StatementsTop {
                since: now,
                taken_at: now,
                rows: Vec::new(),
            }));
            return Ok(());
        };
        let top = base.deltas(&numbers, TOP);
        let ids: Vec<i64> = top.iter().map(|d| d.0 .2).collect();
        let mut texts: HashMap<StatementKey, (String, Option<String>, Option<String>)> =
            HashMap::new();
        if !ids.is_empty() {
            let rows = client
                .query(
                    &format!(
                        "/* stacktop */ SELECT s.userid::int8, s.dbid::int8, s.queryid, \
                         left(s.query, {MAX_TEXT}), r.rolname::text, d.datname::text \
                         FROM {from}(true) s LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.userid \
                         LEFT JOIN pg_catalog.pg_database d ON d.oid = s.dbid \
                         WHERE s.queryid = ANY($1)"
                    ),
                    &[&ids],
                )
                .await
                .map_err(|e| db_error(&e))?;
            for r in &rows {
                let key = (
                    r.try_get(0).map_err(|e| e.to_string())?,
                    r.try_get(1).map_err(|e| e.to_string())?,
                    r.try_get(2).map_err(|e| e.to_string())?,
                );
                let text = r
                    .try_get::<_, Option<String>>(3)
                    .map_err(|e| e.to_string())?
                    .unwrap_or_default();
                let user = r.try_get(4).map_err(|e| e.to_string())?;
                let db = r.try_get(5).map_err(|e| e.to_string())?;
                texts.insert(key, (text, user, db));
            }
        }
        let rows = top
            .into_iter()
            .map(|(key, calls, total_ms)| {
                let (query, user, database) = texts.remove(&key).unwrap_or_default();
                StatementDelta {
                    key,
                    user,
                    database,
                    calls,
                    total_ms,
                    query,
                }
            })
            .collect();
        self.latest = Some(Arc::new(StatementsTop {
            since: *since,
            taken_at: now,
            rows,
        }));
        Ok(())
    }
}

/// The server's message (tokio_postgres' Display says only "db error").
fn db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.message().to_string(),
        None => e.to_string(),
    }
}

/// Looks the extension up in this database's catalog, and which total-time column its version
/// has (`total_exec_time` since 1.8 / PostgreSQL 13, `total_time` before).
async fn detect(client: &Client) -> Result<Presence, tokio_postgres::Error> {
    let rows = client
        .query(
            "/* stacktop */ SELECT n.nspname::text, \
             EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.proname = 'pg_stat_statements' \
                     AND p.pronamespace = n.oid \
                     AND 'total_exec_time' = ANY (p.proargnames)) \
             FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
             WHERE e.extname = 'pg_stat_statements'",
            &[],
        )
        .await?;
    Ok(match rows.first() {
        None => Presence::Absent,
        Some(r) => Presence::Present {
            schema: r.try_get(0)?,
            total: if r.try_get(1)? {
                "total_exec_time"
            } else {
                "total_time"
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_from_the_first_reading() {
        let first = vec![((10, 1, 100), 5, 1000.0), ((10, 1, 200), 1, 50.0)];
        let b = Baseline::new(&first);
        let now = vec![
            ((10, 1, 100), 7, 1300.0), // +300 ms, +2 calls
            ((10, 1, 200), 1, 50.0),   // nothing new: left out
            ((10, 1, 300), 3, 900.0),  // new since: all of it
            ((11, 1, 100), 1, 10.0),   // same queryid, another user: its own row
        ];
        let d = b.deltas(&now, 10);
        assert_eq!(
            d,
            vec![
                ((10, 1, 300), 3, 900.0),
                ((10, 1, 100), 2, 300.0),
                ((11, 1, 100), 1, 10.0)
            ]
        );
        assert_eq!(b.deltas(&now, 1).len(), 1);
        // a reset (counters went down) counts from zero again, never negative
        let reset = vec![((10, 1, 100), 1, 20.0)];
        assert_eq!(b.deltas(&reset, 10), vec![((10, 1, 100), 1, 20.0)]);
    }

    #[test]
    fn baseline_is_bounded() {
        let many: Vec<(StatementKey, i64, f64)> = (0..(MAX_BASELINE as i64 + 10))
            .map(|i| ((1, 1, i), 1, 1.0))
            .collect();
        assert_eq!(Baseline::new(&many).first.len(), MAX_BASELINE);
    }
}
