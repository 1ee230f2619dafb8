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

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::sqlite::{RecordingInfo, Row, FORMAT};
use crate::pg::conninfo::{self, ConnOverrides, ConnSpec, Env};

/// Upper bound of every call to the server (the connect step has libpq's `connect_timeout`,
/// default [`CONNECT_TIMEOUT`], doubled by [`crate::pg::tls::connect`]).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// `connect_timeout` when the target gives none.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// After a failure, the writer reconnects at most this often.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

const APP_NAME: &str = "stacktop recorder";

const SCHEMA: &str = "
    CREATE SCHEMA IF NOT EXISTS stacktop;
    CREATE TABLE IF NOT EXISTS stacktop.recordings(
        id bigserial PRIMARY KEY,
        label text NOT NULL,
        host text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        format text NOT NULL);
    CREATE TABLE IF NOT EXISTS stacktop.records(
        recording bigint NOT NULL,
        id bigint NOT NULL,
        ts_ms bigint NOT NULL,
        view text NOT NULL,
        kind text NOT NULL,
        keyframe boolean NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (recording, id));
    CREATE INDEX IF NOT EXISTS records_ts ON stacktop.records(recording, ts_ms);
    CREATE INDEX IF NOT EXISTS records_key ON stacktop.records(recording, kind, ts_ms)
        WHERE keyframe;
    CREATE INDEX IF NOT EXISTS records_age ON stacktop.records(ts_ms);";

/// Bytes counted per record on top of its data (the row's header and its columns).
const ROW_OVERHEAD: u64 = 64;

/// An environment without libpq variables, home directory (`.pgpass`, service file) or OS
/// user: only the target itself counts (tests, whose own environment must not leak in).
pub fn bare_env() -> Env {
    Env {
        vars: Box::new(|_| None),
        home: None,
        os_user: Some("stacktop".into()),
    }
}

fn resolve(uri: &str, env: &Env) -> Result<ConnSpec, String> {
    let mut spec = conninfo::resolve(Some(uri), &ConnOverrides::default(), env)
        .map_err(|e| format!("recording {}: {e}", crate::mask::conninfo(uri)))?;
    spec.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
    Ok(spec)
}

/// `host:port/dbname` of a PostgreSQL target, or the URI masked when it does not parse.
pub fn display_target(uri: &str) -> String {
    match resolve(uri, &Env::system()) {
        Ok(spec) => format!("postgres {}", conninfo::server_label(&spec)),
        Err(_) => crate::mask::conninfo(uri),
    }
}

/// A connection and the runtime its calls run on.
struct Conn {
    rt: tokio::runtime::Runtime,
    spec: ConnSpec,
    uri: String,
    /// `postgres host:port/dbname`, for messages
    name: String,
    client: Option<Client>,
}

impl Conn {
    fn new(uri: &str, env: &Env) -> Result<Conn, String> {
        let spec = resolve(uri, env)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("recording: cannot start a runtime: {e}"))?;
        Ok(Conn {
            rt,
            name: format!("postgres {}", conninfo::server_label(&spec)),
            spec,
            uri: uri.to_string(),
            client: None,
        })
    }

    /// Runs `f` to completion on the store's runtime, from any thread (inside another
    /// runtime, e.g. the TUI's, on a helper thread: a runtime cannot block inside another).
    fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        if tokio::runtime::Handle::try_current().is_err() {
            return self.rt.block_on(f);
        }
        std::thread::scope(|s| match s.spawn(|| self.rt.block_on(f)).join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        })
    }

    /// A message about this server, without any secret of the target.
    fn msg(&self, what: &str, detail: &str) -> String {
        let mut m = crate::mask::without_secrets_of(
            &format!("recording {}: {what}: {detail}", self.name),
            &self.uri,
        );
        if let Some(p) = self.spec.password.as_ref().map(|p| p.expose()) {
            if !p.is_empty() {
                m = m.replace(p, crate::mask::MASK);
            }
        }
        m
    }

    fn connect(&mut self) -> Result<(), String> {
        self.client = None;
        let spec = &self.spec;
        let r = self.block(async { crate::pg::tls::connect(spec, APP_NAME, CALL_TIMEOUT).await });
        match r {
            Ok((client, _driver)) => {
                self.client = Some(client);
                Ok(())
            }
            Err(e) => Err(self.msg("cannot connect", &e.to_string())),
        }
    }

    /// One call with the client, bounded by [`CALL_TIMEOUT`].
    fn call<'a, T, F, Fut>(&'a self, what: &str, f: F) -> Result<T, String>
    where
        T: Send,
        F: FnOnce(&'a Client) -> Fut + Send,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'a,
    {
        let Some(client) = &self.client else {
            return Err(self.msg(what, "not connected"));
        };
        match self.block(async { tokio::time::timeout(CALL_TIMEOUT, f(client)).await }) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.msg(what, &crate::pg::tls::error_chain(&e))),
            Err(_) => Err(self.msg(
                what,
                &format!("no answer within {} s", CALL_TIMEOUT.as_secs()),
            )),
        }
    }

    /// Creates the tables when they are missing.
    fn ensure_schema(&self) -> Result<(), String> {
        let there: bool = self.call("reading the schema", |c| async move {
            let r = c
                .query_one(
                    "SELECT to_regclass('stacktop.records') IS NOT NULL
                        AND to_regclass('stacktop.recordings') IS NOT NULL",
                    &[],
                )
                .await?;
            r.try_get(0)
        })?;
        if there {
            return Ok(());
        }
        let sql = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('stacktop.recorder')); {SCHEMA} COMMIT;"
        );
        self.call("creating the stacktop schema", |c| async move {
            c.batch_execute(&sql).await
        })
    }
}

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

/// The reading side: one recording of a server.
pub struct PgReader {
    conn: Conn,
    recording: i64,
}

const COLS: &str = "id, ts_ms, view, kind, keyframe, data";

fn row(r: &tokio_postgres::Row) -> Result<Row, tokio_postgres::Error> {
    Ok(Row {
        id: r.try_get(0)?,
        ts_ms: r.try_get(1)?,
        view: r.try_get(2)?,
        kind: r.try_get(3)?,
        keyframe: r.try_get(4)?,
        data: r.try_get(5)?,
    })
}

impl PgReader {
    fn connect(uri: &str, env: &Env) -> Result<Conn, String> {
        let mut conn = Conn::new(uri, env)?;
        conn.connect()?;
        let there: bool = conn.call("reading", |c| async move {
            c.query_one(
                "SELECT to_regclass('stacktop.records') IS NOT NULL
                    AND to_regclass('stacktop.recordings') IS NOT NULL",
                &[],
            )
            .await?
            .try_get(0)
        })?;
        if !there {
            return Err(conn.msg("reading", "no stacktop recordings there"));
        }
        Ok(conn)
    }

    /// Opens recording `id` (`None`: the newest).
    pub fn open(uri: &str, id: Option<i64>, env: &Env) -> Result<PgReader, String> {
        let conn = PgReader::connect(uri, env)?;
        let found: Option<(i64, String)> = conn.call("reading", |c| async move {
            let r = c
                .query_opt(
                    "SELECT id, format FROM stacktop.recordings
                     WHERE id = $1 OR $1 IS NULL ORDER BY started_at DESC, id DESC LIMIT 1",
                    &[&id],
                )
                .await?;
            r.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
        })?;
        match found {
            None => Err(conn.msg(
                "reading",
                &match id {
                    Some(id) => format!("no recording {id} (--list shows them)"),
                    None => "no recordings".into(),
                },
            )),
            Some((_, f)) if f != FORMAT => {
                Err(conn.msg("reading", &format!("written by another version ({f})")))
            }
            Some((recording, _)) => Ok(PgReader { conn, recording }),
        }
    }

    /// Every recording on the server, oldest first.
    pub fn list(uri: &str, env: &Env) -> Result<Vec<RecordingInfo>, String> {
        let conn = PgReader::connect(uri, env)?;
        conn.call("listing", |c| async move {
            let rows = c
                .query(
                    "SELECT r.id, r.label, r.host, r.started_at, s.first, s.last,
                            coalesce(s.n, 0)
                     FROM stacktop.recordings r
                     LEFT JOIN LATERAL (SELECT min(ts_ms) AS first, max(ts_ms) AS last,
                                               count(*) AS n
                                        FROM stacktop.records WHERE recording = r.id) s ON true
                     ORDER BY r.started_at, r.id",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(RecordingInfo {
                        id: r.try_get(0)?,
                        label: r.try_get(1)?,
                        host: r.try_get(2)?,
                        started: r.try_get(3)?,
                        first_ms: r.try_get(4)?,
                        last_ms: r.try_get(5)?,
                        records: r.try_get(6)?,
                    })
                })
                .collect()
        })
    }

    /// The recording's id.
    pub fn recording(&self) -> i64 {
        self.recording
    }

    /// See [`super::sqlite::SqliteReader::start_id`].
    pub fn start_id(&self, from_ms: i64, kinds: &[&str]) -> Result<Option<i64>, String> {
        let rec = self.recording;
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        self.conn.call("reading", |c| async move {
            let first: Option<i64> = c
                .query_opt(
                    "SELECT id FROM stacktop.records WHERE recording = $1 AND ts_ms >= $2
                     ORDER BY ts_ms, id LIMIT 1",
                    &[&rec, &from_ms],
                )
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let mut start = first.unwrap_or(i64::MAX);
            for k in &kinds {
                let key: Option<i64> = c
                    .query_opt(
                        "SELECT id FROM stacktop.records
                         WHERE recording = $1 AND kind = $2 AND keyframe AND ts_ms <= $3
                         ORDER BY ts_ms DESC LIMIT 1",
                        &[&rec, k, &from_ms],
                    )
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?;
                if let Some(key) = key {
                    start = start.min(key);
                }
            }
            Ok((start != i64::MAX).then_some(start))
        })
    }

    /// See [`super::sqlite::SqliteReader::batch`].
    pub fn batch(&self, from_id: i64, to_ms: i64, limit: usize) -> Result<Vec<Row>, String> {
        let (rec, limit) = (self.recording, limit as i64);
        self.conn.call("reading", |c| async move {
            let sql = format!(
                "SELECT {COLS} FROM stacktop.records
                 WHERE recording = $1 AND id >= $2 AND ts_ms <= $3 ORDER BY id LIMIT $4"
            );
            let rows = c.query(&sql, &[&rec, &from_id, &to_ms, &limit]).await?;
            rows.iter().map(row).collect()
        })
    }

    /// See [`super::sqlite::SqliteReader::next_after`].
    pub fn next_after(&self, id: i64) -> Result<Option<Row>, String> {
        let rec = self.recording;
        self.conn.call("reading", |c| async move {
            let sql = format!(
                "SELECT {COLS} FROM stacktop.records WHERE recording = $1 AND id > $2
                 ORDER BY id LIMIT 1"
            );
            c.query_opt(&sql, &[&rec, &id])
                .await?
                .as_ref()
                .map(row)
                .transpose()
        })
    }

    /// (first, last) record times, `None` when empty.
    pub fn span(&self) -> Result<Option<(i64, i64)>, String> {
        let rec = self.recording;
        self.conn.call("reading", |c| async move {
            let r = c
                .query_one(
                    "SELECT min(ts_ms), max(ts_ms) FROM stacktop.records WHERE recording = $1",
                    &[&rec],
                )
                .await?;
            Ok(r.try_get::<_, Option<i64>>(0)?
                .zip(r.try_get::<_, Option<i64>>(1)?))
        })
    }

    pub fn count(&self) -> Result<i64, String> {
        let rec = self.recording;
        self.conn.call("reading", |c| async move {
            c.query_one(
                "SELECT count(*) FROM stacktop.records WHERE recording = $1",
                &[&rec],
            )
            .await?
            .try_get(0)
        })
    }
}
