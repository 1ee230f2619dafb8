//! The PostgreSQL store: `--record postgres://…` writes the records into an existing server, so
//! the recordings of a fleet live in one place; `stacktop replay postgres://…` reads them.
//!
//! ```sql
//! stacktop.recordings(id bigserial PRIMARY KEY, label, host, started_at, format)
//! stacktop.records(recording, id, ts_ms, view, kind, keyframe, data bytea,
//!                  PRIMARY KEY (recording, id))      -- the SQLite file's columns + recording
//! records_ts (recording, ts_ms); records_key (recording, kind, ts_ms) WHERE keyframe;
//! records_age (ts_ms)                                -- retention by age
//! ```
//!
//! Both tables are created when missing (under an advisory lock, so recorders starting
//! together do not race). Every start of a recorder is a new recording: its label
//! (`[record] label`, default the machine's host name) and start time identify it; `replay
//! TARGET --list` shows them and `--recording ID` picks one (default: the newest).
//!
//! The connection is made as pgtop makes its own ([`crate::pg::conninfo::resolve`]: libpq's
//! environment, service file, `.pgpass`, sslmode and TLS through [`crate::pg::tls`]). The
//! client is async (tokio-postgres); the store's callers are not (the writer thread, replay),
//! so it owns a one-thread runtime and every call is bounded by [`CALL_TIMEOUT`]. Messages
//! name the server by its effective conninfo without the password, and are masked once more
//! ([`crate::mask::without_secrets_of`]).
//!
//! The writer keeps a second's records in memory and sends them in one `INSERT … unnest(…)`
//! at [`PgStore::commit`]. A failed commit loses that batch (counted by the writer) and drops
//! the connection; the next commit reconnects, at most every [`RETRY_EVERY`], so a server gone
//! away costs lost records, never a stalled writer for longer than a timeout (the UI never
//! waits for the writer at all: see [`super::writer`]).
//!
//! Retention: records older than `max_age` are deleted from every recording (the most
//! eager recorder's setting wins on a shared server, and recordings left empty are removed);
//! `max_size_mb` bounds this recording's record bytes (the server's own overhead — indexes,
//! TOAST, dead rows until autovacuum — is not counted).
use std::time::{Duration, Instant};

use super::pg_conn::Conn;
use super::sqlite::FORMAT;
use crate::pg::conninfo::Env;

pub use super::pg_conn::{bare_env, display_target, CALL_TIMEOUT, CONNECT_TIMEOUT};
pub use super::pg_reader::PgReader;

/// After a failure, the writer reconnects at most this often.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

/// Bytes counted per record on top of its data (the row's header and its columns).
const ROW_OVERHEAD: u64 = 64;

/// The writing side: one new recording.
pub struct PgStore {
    conn: Conn,
    recording: i64,
    label: String,
    host: String,
    started: chrono::DateTime<chrono::Utc>,
    next_id: i64,
    pending: Vec<(i64, i64, String, String, bool, Vec<u8>)>,
    /// this recording's record bytes (data + [`ROW_OVERHEAD`] each) as written and deleted here
    bytes: u64,
    /// when the connection was lost: no reconnect before [`RETRY_EVERY`] after it
    failed_at: Option<Instant>,
}

impl PgStore {
    /// Connects, creates the tables when missing and starts a new recording named `label`.
    pub fn create(uri: &str, label: &str, env: &Env) -> Result<PgStore, String> {
        let mut conn = Conn::new(uri, env)?;
        conn.connect()?;
        conn.ensure_schema()?;
        let host = super::config::host_name();
        let (l, h) = (label.to_string(), host.clone());
        let (recording, started) = conn.call("starting a recording", |c| async move {
            let r = c
                .query_one(
                    "INSERT INTO stacktop.recordings(label, host, format) VALUES ($1, $2, $3)
                     RETURNING id, started_at",
                    &[&l, &h, &FORMAT],
                )
                .await?;
            Ok((r.try_get(0)?, r.try_get(1)?))
        })?;
        Ok(PgStore {
            conn,
            recording,
            label: label.to_string(),
            host,
            started,
            next_id: 1,
            pending: Vec::new(),
            bytes: 0,
            failed_at: None,
        })
    }

    /// This recording's id (`replay --recording ID`).
    pub fn recording(&self) -> i64 {
        self.recording
    }

    /// Adds one record to the batch [`PgStore::commit`] sends.
    pub fn insert(&mut self, ts_ms: i64, view: &str, kind: &str, keyframe: bool, data: &[u8]) {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.push((
            id,
            ts_ms,
            view.to_string(),
            kind.to_string(),
            keyframe,
            data.to_vec(),
        ));
    }

    pub fn rollback(&mut self) {
        self.pending.clear();
    }

    /// Reconnects after a failure (at most every [`RETRY_EVERY`]); the recording's row is
    /// written again should the server have lost it.
    fn ensure_connected(&mut self) -> Result<(), String> {
        if self.conn.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        if let Some(t) = self.failed_at {
            if t.elapsed() < RETRY_EVERY {
                return Err(self.conn.msg("writing", "not connected (retrying)"));
            }
        }
        let r = self.reconnect();
        if r.is_err() {
            self.conn.client = None;
            self.failed_at = Some(Instant::now());
        }
        r
    }

    fn reconnect(&mut self) -> Result<(), String> {
        self.conn.connect()?;
        self.conn.ensure_schema()?;
        let (id, l, h, s) = (self.recording, &self.label, &self.host, self.started);
        self.conn.call("resuming the recording", |c| async move {
            c.execute(
                "INSERT INTO stacktop.recordings(id, label, host, started_at, format)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                &[&id, l, h, &s, &FORMAT],
            )
            .await
        })?;
        self.failed_at = None;
        Ok(())
    }

    fn failed(&mut self, e: String) -> String {
        self.conn.client = None;
        self.failed_at = Some(Instant::now());
        e
    }

    /// Sends the batch in one statement. On an error the batch is lost and the connection
    /// dropped (the next commit reconnects).
    pub fn commit(&mut self) -> Result<(), String> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        self.ensure_connected()?;
        let n: u64 = batch.iter().map(|r| r.5.len() as u64 + ROW_OVERHEAD).sum();
        let mut cols = (vec![], vec![], vec![], vec![], vec![], vec![]);
        for (id, ts, view, kind, key, data) in batch {
            cols.0.push(id);
            cols.1.push(ts);
            cols.2.push(view);
            cols.3.push(kind);
            cols.4.push(key);
            cols.5.push(data);
        }
        let rec = self.recording;
        let r = self.conn.call("writing", |c| async move {
            c.execute(
                "INSERT INTO stacktop.records(recording, id, ts_ms, view, kind, keyframe, data)
                 SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[],
                                          $6::boolean[], $7::bytea[])",
                &[&rec, &cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5],
            )
            .await
        });
        match r {
            Ok(_) => {
                self.bytes += n;
                Ok(())
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    /// This recording's bytes as counted here.
    pub fn used_bytes(&self) -> u64 {
        self.bytes
    }

    /// Deletes every recording's records older than `oldest_ms` (and recordings left empty),
    /// then this recording's oldest tenth while its bytes are over `max_bytes`.
    pub fn retain(&mut self, oldest_ms: i64, max_bytes: u64) -> Result<u64, String> {
        self.commit()?;
        self.ensure_connected()?;
        let rec = self.recording;
        let r = self.conn.call("retention", |c| async move {
            let r = c
                .query_one(
                    "WITH d AS (DELETE FROM stacktop.records WHERE ts_ms < $1
                                RETURNING recording, octet_length(data) AS n)
                     SELECT count(*), coalesce(sum(n) FILTER (WHERE recording = $2), 0)::bigint,
                            count(*) FILTER (WHERE recording = $2) FROM d",
                    &[&oldest_ms, &rec],
                )
                .await?;
            c.execute(
                "DELETE FROM stacktop.recordings r
                 WHERE r.id <> $1 AND r.started_at < to_timestamp($2::bigint / 1000.0)
                   AND NOT EXISTS (SELECT 1 FROM stacktop.records WHERE recording = r.id)",
                &[&rec, &oldest_ms],
            )
            .await?;
            Ok((
                r.try_get::<_, i64>(0)?,
                r.try_get::<_, i64>(1)?,
                r.try_get::<_, i64>(2)?,
            ))
        });
        let (mut deleted, freed, mine) = r.map_err(|e| self.failed(e))?;
        self.forget(freed, mine);
        while self.bytes > max_bytes {
            let r = self.conn.call("retention", |c| async move {
                let r = c
                    .query_one(
                        "WITH d AS (DELETE FROM stacktop.records WHERE recording = $1 AND id <=
                                      (SELECT min(id) + (max(id) - min(id)) / 10
                                       FROM stacktop.records WHERE recording = $1)
                                    RETURNING octet_length(data) AS n)
                         SELECT count(*), coalesce(sum(n), 0)::bigint FROM d",
                        &[&rec],
                    )
                    .await?;
                Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, i64>(1)?))
            });
            let (n, freed) = r.map_err(|e| self.failed(e))?;
            if n == 0 {
                self.bytes = 0;
                break;
            }
            self.forget(freed, n);
            deleted += n;
        }
        Ok(deleted.max(0) as u64)
    }

    fn forget(&mut self, data_bytes: i64, records: i64) {
        let n = data_bytes.max(0) as u64 + records.max(0) as u64 * ROW_OVERHEAD;
        self.bytes = self.bytes.saturating_sub(n);
    }
}
