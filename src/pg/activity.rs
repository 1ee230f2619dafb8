//! The refresh query: ONE statement per refresh that scans `pg_stat_activity` once (own backend
//! excluded) and carries the header values (version, uptime, recovery, max_connections,
//! `pg_stat_database` sums) in the same round trip. Columns that differ between PostgreSQL
//! versions (backend_type, leader_pid, query_id) are detected from the catalog once per
//! connection, and each feature an older server lacks is said once ([`feature_notices`]):
//! leader_pid came in 13, query_id in 14; 10 and 11 are out of support and listed best effort;
//! pg_stat_database (the only stats view the header reads) has the columns used here in every
//! major from 10 to 18 (the checkpointer/bgwriter split of 17 is not read). Rows become the
//! owned [`Session`] model (`session.rs`); the [`Header`] is computed client-side from the same
//! rows plus deltas of the previous refresh. Output feeds the collector's [`PgSnapshot`]
//! (`snapshot.rs`).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_postgres::{Client, Statement};

use super::lossy::{opt_text, Lossy, LossyRef};
// the model and the snapshot have their own files; their public path stays `pg::activity::…`
pub use super::session::{
    ActivityColumns, Header, Session, SessionCounts, SessionState, INSUFFICIENT_PRIVILEGE,
};
pub use super::snapshot::{ConnState, PgSnapshot};

#[derive(Debug, Clone, Copy)]
struct Counters {
    at: DateTime<Utc>,
    xacts: i64,
    hit: i64,
    read: i64,
}

/// Prepared refresh statement for one connection, plus the previous counters for deltas.
pub struct ActivityReader {
    stmt: Statement,
    /// the lock-details statement ([`super::locks::lock_sql`]), run only when someone waits
    lock_stmt: Statement,
    /// how many times the lock-details statement ran on this connection
    lock_queries: u64,
    columns: ActivityColumns,
    /// `server_version_num` seen when connecting (0 if unknown)
    version_num: i32,
    prev: Option<Counters>,
}

/// The oldest major pgtop supports (older ones are listed best effort).
pub const OLDEST_SUPPORTED: i32 = 120000;

/// What this server cannot show, one message per degraded feature, for the status line.
pub fn feature_notices(version_num: i32, c: ActivityColumns) -> Vec<String> {
    let mut v = Vec::new();
    if version_num > 0 && version_num < OLDEST_SUPPORTED {
        v.push(format!(
            "PostgreSQL {}.{} is not supported (12 or newer is): sessions listed best effort",
            version_num / 10000,
            version_num / 100 % 100
        ));
    }
    if !c.backend_type {
        v.push("backend types need PostgreSQL 10: background processes guessed".into());
    }
    if !c.leader_pid {
        v.push("parallel worker leaders need PostgreSQL 13".into());
    }
    if !c.query_id {
        v.push("query ids need PostgreSQL 14".into());
    }
    v
}

/// Text of the refresh statement for the detected columns.
pub fn activity_sql(c: ActivityColumns) -> String {
    let bt = if c.backend_type {
        "a.backend_type::text"
    } else {
        "NULL::text"
    };
    let lp = if c.leader_pid {
        "a.leader_pid"
    } else {
        "NULL::int4"
    };
    let qi = if c.query_id {
        "a.query_id"
    } else {
        "NULL::int8"
    };
    format!(
        "/* stacktop */ WITH h AS (SELECT now() AS now, pg_postmaster_start_time() AS started, \
         pg_is_in_recovery() AS recovery, current_setting('server_version') AS version, \
         current_setting('server_version_num')::int4 AS version_num, \
         current_setting('max_connections')::int4 AS max_conn, \
         (SELECT sum(xact_commit + xact_rollback)::int8 FROM pg_stat_database) AS xacts, \
         (SELECT sum(blks_hit)::int8 FROM pg_stat_database) AS hit, \
         (SELECT sum(blks_read)::int8 FROM pg_stat_database) AS rd) \
         SELECT h.now, h.started, h.recovery, h.version, h.version_num, h.max_conn, h.xacts, h.hit, h.rd, \
         a.pid, a.datname::text, a.usename::text, host(a.client_addr), a.client_port, a.application_name, \
         {bt}, a.state, a.wait_event_type, a.wait_event, a.backend_start, a.xact_start, a.query_start, \
         a.state_change, a.query, {lp}, {qi}, \
         CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END \
         FROM h LEFT JOIN pg_stat_activity a ON a.pid <> pg_backend_pid()"
    )
}

/// Which optional columns `pg_stat_activity` has on this server.
pub async fn detect_columns(client: &Client) -> Result<ActivityColumns, tokio_postgres::Error> {
    let rows = client
        .query(
            "/* stacktop */ SELECT attname::text FROM pg_catalog.pg_attribute \
             WHERE attrelid = 'pg_catalog.pg_stat_activity'::regclass AND attnum > 0 AND NOT attisdropped",
            &[],
        )
        .await?;
    let names: HashSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<_, Lossy>(0).ok().map(|l| l.0))
        .collect();
    Ok(ActivityColumns {
        backend_type: names.contains("backend_type"),
        leader_pid: names.contains("leader_pid"),
        query_id: names.contains("query_id"),
    })
}

impl ActivityReader {
    /// Detects columns and prepares the refresh statement on this connection.
    pub async fn new(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let columns = detect_columns(client).await?;
        let mut r = Self::with_columns(client, columns).await?;
        let v = client
            .query_one(
                "/* stacktop */ SELECT current_setting('server_version_num')::int4",
                &[],
            )
            .await?;
        r.version_num = v.try_get(0)?;
        Ok(r)
    }

    /// [`feature_notices`] for this connection's server.
    pub fn notices(&self) -> Vec<String> {
        feature_notices(self.version_num, self.columns)
    }

    /// Prepares the refresh statement for a given column set (what [`detect_columns`] found;
    /// tests use it to run the statement of older servers against the one they have).
    pub async fn with_columns(
        client: &Client,
        columns: ActivityColumns,
    ) -> Result<Self, tokio_postgres::Error> {
        let stmt = client.prepare(&activity_sql(columns)).await?;
        // pg_locks.waitstart came in 14, like query_id
        let lock_stmt = client
            .prepare(&super::locks::lock_sql(columns.query_id))
            .await?;
        Ok(ActivityReader {
            stmt,
            lock_stmt,
            lock_queries: 0,
            columns,
            version_num: 0,
            prev: None,
        })
    }

    pub fn columns(&self) -> ActivityColumns {
        self.columns
    }

    /// How many times the lock-details statement ran (it runs only when some backend waits on
    /// a lock: at most once per refresh).
    pub fn lock_queries(&self) -> u64 {
        self.lock_queries
    }

    /// One refresh: one statement, one `pg_stat_activity` scan.
    pub async fn fetch(
        &mut self,
        client: &Client,
    ) -> Result<(DateTime<Utc>, Header, Vec<Session>), tokio_postgres::Error> {
        let rows = client.query(&self.stmt, &[]).await?;
        let mut sessions = Vec::with_capacity(rows.len());
        let mut head = None;
        for row in &rows {
            if head.is_none() {
                let now: DateTime<Utc> = row.try_get(0)?;
                let started: DateTime<Utc> = row.try_get(1)?;
                let recovery: bool = row.try_get(2)?;
                let version = opt_text(row, 3)?.unwrap_or_default();
                let version_num: i32 = row.try_get(4)?;
                let max_conn: i32 = row.try_get(5)?;
                let c = Counters {
                    at: now,
                    xacts: row.try_get::<_, Option<i64>>(6)?.unwrap_or(0),
                    hit: row.try_get::<_, Option<i64>>(7)?.unwrap_or(0),
                    read: row.try_get::<_, Option<i64>>(8)?.unwrap_or(0),
                };
                head = Some((now, started, recovery, version, version_num, max_conn, c));
            }
            let Some(pid) = row.try_get::<_, Option<i32>>(9)? else {
                continue;
            };
            let query = opt_text(row, 23)?.unwrap_or_default();
            // a password clause never reaches a screen, log, alert or recording
            let query = match crate::mask::query(&query) {
                std::borrow::Cow::Borrowed(_) => query,
                std::borrow::Cow::Owned(masked) => masked,
            };
            sessions.push(Session {
                pid,
                datname: opt_text(row, 10)?,
                usename: opt_text(row, 11)?,
                client_addr: opt_text(row, 12)?,
                client_port: row.try_get(13)?,
                application_name: opt_text(row, 14)?.unwrap_or_default(),
                backend_type: opt_text(row, 15)?,
                state: SessionState::parse(
                    row.try_get::<_, Option<LossyRef>>(16)?
                        .as_ref()
                        .map(|l| &*l.0),
                ),
                wait_event_type: opt_text(row, 17)?,
                wait_event: opt_text(row, 18)?,
                backend_start: row.try_get(19)?,
                xact_start: row.try_get(20)?,
                query_start: row.try_get(21)?,
                state_change: row.try_get(22)?,
                visible: query != INSUFFICIENT_PRIVILEGE,
                query,
                leader_pid: row.try_get(24)?,
                query_id: row.try_get(25)?,
                blocking_pids: row.try_get::<_, Option<Vec<i32>>>(26)?.unwrap_or_default(),
                lock: None,
            });
        }
        if super::locks::read(client, &self.lock_stmt, &mut sessions).await? {
            self.lock_queries += 1;
        }
        super::locks::attribute_parallel(&mut sessions);
        let Some((now, started, recovery, version, version_num, max_conn, c)) = head else {
            // the header CTE always yields one row; an empty result means a broken server answer
            return Ok((Utc::now(), self.empty_header(), sessions));
        };
        let (tps, hit_ratio) = match self.prev {
            Some(p) if c.at > p.at && c.xacts >= p.xacts => {
                let secs = (c.at - p.at).num_microseconds().unwrap_or(0) as f64 / 1e6;
                let tps = (secs > 0.0).then(|| (c.xacts - p.xacts) as f64 / secs);
                let dh = (c.hit - p.hit).max(0);
                let dr = (c.read - p.read).max(0);
                let ratio = (dh + dr > 0).then(|| dh as f64 / (dh + dr) as f64);
                (tps, ratio)
            }
            _ => (None, None),
        };
        self.prev = Some(c);
        let mut header = summarize(now, &sessions);
        header.server_version = version;
        header.server_version_num = version_num;
        header.postmaster_start = started;
        header.uptime = (now - started).to_std().unwrap_or(Duration::ZERO);
        header.in_recovery = recovery;
        header.max_connections = max_conn;
        header.tps = tps;
        header.cache_hit_ratio = hit_ratio;
        header.columns = self.columns;
        Ok((now, header, sessions))
    }

    fn empty_header(&self) -> Header {
        let mut h = summarize(Utc::now(), &[]);
        h.columns = self.columns;
        h
    }
}

/// Header fields computed from the rows alone (counts, longest query/transaction, waiting).
pub fn summarize(now: DateTime<Utc>, sessions: &[Session]) -> Header {
    let mut counts = SessionCounts {
        total: 1, // the own session
        ..Default::default()
    };
    let mut longest_query: Option<(i32, Duration)> = None;
    let mut longest_xact: Option<(i32, Duration)> = None;
    let mut waiting = 0;
    for s in sessions {
        if !s.is_client_backend() {
            counts.background += 1;
            continue;
        }
        counts.total += 1;
        match s.state {
            SessionState::Active => counts.active += 1,
            SessionState::Idle => counts.idle += 1,
            SessionState::IdleInTransaction => counts.idle_in_transaction += 1,
            SessionState::IdleInTransactionAborted => counts.idle_in_transaction_aborted += 1,
            _ => counts.other += 1,
        }
        if s.is_lock_waiter() {
            waiting += 1;
        }
        if let Some(d) = s.active_for(now) {
            if longest_query.is_none_or(|(_, m)| d > m) {
                longest_query = Some((s.pid, d));
            }
        }
        if let Some(x) = s.xact_start {
            let d = (now - x).to_std().unwrap_or(Duration::ZERO);
            if longest_xact.is_none_or(|(_, m)| d > m) {
                longest_xact = Some((s.pid, d));
            }
        }
    }
    Header {
        server_version: String::new(),
        server_version_num: 0,
        postmaster_start: now,
        uptime: Duration::ZERO,
        in_recovery: false,
        max_connections: 0,
        counts,
        tps: None,
        cache_hit_ratio: None,
        longest_query,
        longest_transaction: longest_xact,
        waiting,
        columns: ActivityColumns::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_adapts_to_columns() {
        let all = activity_sql(ActivityColumns {
            backend_type: true,
            leader_pid: true,
            query_id: true,
        });
        assert!(all.contains("a.query_id") && all.contains("a.leader_pid"));
        assert_eq!(all.matches("pg_stat_activity").count(), 1, "one scan");
        let none = activity_sql(ActivityColumns::default());
        assert!(none.contains("NULL::int8") && !none.contains("a.query_id"));
    }

    #[test]
    fn each_missing_feature_said_once() {
        let all = ActivityColumns {
            backend_type: true,
            leader_pid: true,
            query_id: true,
        };
        assert!(feature_notices(180004, all).is_empty());
        let v12 = ActivityColumns {
            leader_pid: false,
            query_id: false,
            ..all
        };
        assert_eq!(
            feature_notices(120022, v12),
            vec![
                "parallel worker leaders need PostgreSQL 13".to_string(),
                "query ids need PostgreSQL 14".to_string()
            ]
        );
        let n = feature_notices(110022, v12);
        assert!(n[0].contains("PostgreSQL 11.0 is not supported"), "{n:?}");
        assert_eq!(n.len(), 3);
    }

    #[test]
    fn summary_counts_client_backends_only() {
        let now = Utc::now();
        let mut a = Session::for_test(10, SessionState::Active, "select pg_sleep(9)");
        a.query_start = Some(now - chrono::Duration::seconds(9));
        a.xact_start = a.query_start;
        let mut w = Session::for_test(11, SessionState::Active, "select * from t");
        w.wait_event_type = Some("Lock".into());
        w.query_start = Some(now - chrono::Duration::seconds(2));
        let mut i = Session::for_test(12, SessionState::IdleInTransaction, "select 1");
        i.xact_start = Some(now - chrono::Duration::seconds(20));
        let mut bg = Session::for_test(13, SessionState::Unknown, "");
        bg.backend_type = Some("checkpointer".into());
        let h = summarize(now, &[a, w, i, bg]);
        assert_eq!(h.counts.total, 4);
        assert_eq!(h.counts.active, 2);
        assert_eq!(h.counts.idle_in_transaction, 1);
        assert_eq!(h.counts.background, 1);
        assert_eq!(h.waiting, 1);
        assert_eq!(h.longest_query, Some((10, Duration::from_secs(9))));
        assert_eq!(h.longest_transaction, Some((12, Duration::from_secs(20))));
    }
}
