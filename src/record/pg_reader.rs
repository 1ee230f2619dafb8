//! The PostgreSQL store's reading side: one recording of a server, read by id and time as the
//! SQLite file is ([`super::store::Reader`] puts both behind one face).

use super::pg_conn::Conn;
use super::sqlite::{RecordingInfo, Row, FORMAT};
use crate::pg::conninfo::Env;

/// The reading side: one recording of a server.
pub struct PgReader {
    conn: Conn,
    recording: i64,
    /// the recording's label (`[record] label`; server text: shown escaped)
    label: String,
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
        let found: Option<(i64, String, String)> = conn.call("reading", |c| async move {
            let r = c
                .query_opt(
                    "SELECT id, format, label FROM stacktop.recordings
                     WHERE id = $1 OR $1 IS NULL ORDER BY started_at DESC, id DESC LIMIT 1",
                    &[&id],
                )
                .await?;
            r.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .transpose()
        })?;
        match found {
            None => Err(conn.msg(
                "reading",
                &match id {
                    Some(id) => format!("no recording {id} (--list shows them)"),
                    None => "no recordings".into(),
                },
            )),
            Some((_, f, _)) if f != FORMAT => {
                Err(conn.msg("reading", &format!("written by another version ({f})")))
            }
            Some((recording, _, label)) => Ok(PgReader {
                conn,
                recording,
                label,
            }),
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

    /// The recording's label, as its recorder wrote it (server text).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A new connection in place of the current one (after the server went away; the calls
    /// never reconnect by themselves, so a replay decides how often to try).
    pub fn reconnect(&mut self) -> Result<(), String> {
        self.conn.connect()
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
