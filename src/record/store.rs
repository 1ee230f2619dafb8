//! Where records go and come from: a recording file ([`super::sqlite`], the default) or
//! a PostgreSQL server ([`super::pg_store`], `--record postgres://…`). [`Store`] and [`Reader`]
//! have the SQLite side's methods and error type (`rusqlite::Result`; a PostgreSQL error is
//! carried as its masked message), so the writer, `replay` and the TUI replay work on both.
//!
//! A target is PostgreSQL when it starts with `postgres://` or `postgresql://` (the libpq URI
//! forms); anything else is a file path.

use std::path::Path;

use super::pg_store::{PgReader, PgStore};
pub use super::sqlite::{RecordingInfo, Row, SqliteReader, SqliteStore, FORMAT};
use crate::pg::conninfo::Env;

pub use super::config::is_postgres;

/// A target as it may be shown: a file path as is, a PostgreSQL URI as its effective
/// conninfo without the password (see [`super::pg_store::display_target`]).
pub fn display_target(target: &Path) -> String {
    if is_postgres(target) {
        super::pg_store::display_target(&target.to_string_lossy())
    } else {
        target.display().to_string()
    }
}

/// A message as a `rusqlite::Error` (the stores' common error type).
pub fn other_err(msg: String) -> rusqlite::Error {
    #[derive(Debug)]
    struct Msg(String);
    impl std::fmt::Display for Msg {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Msg {}
    rusqlite::Error::ToSqlConversionFailure(Box::new(Msg(msg)))
}

/// The writing side.
pub enum Store {
    File(SqliteStore),
    Pg(Box<PgStore>),
    /// Nothing is kept (the recorder only feeds the incident bundle's memory).
    Off,
}

impl Store {
    /// Opens or creates the recording at `target` (a file, 0600; or a new recording named
    /// `label` on a PostgreSQL server).
    pub fn create(target: &Path) -> Result<Store, String> {
        Store::create_labelled(target, &super::config::default_label())
    }

    pub fn create_labelled(target: &Path, label: &str) -> Result<Store, String> {
        Store::create_in(target, label, &Env::system())
    }

    /// [`Store::create_labelled`] with the environment a PostgreSQL target is resolved in.
    pub fn create_in(target: &Path, label: &str, env: &Env) -> Result<Store, String> {
        if is_postgres(target) {
            PgStore::create(&target.to_string_lossy(), label, env).map(|s| Store::Pg(Box::new(s)))
        } else {
            SqliteStore::create(target).map(Store::File)
        }
    }

    /// Test hook: caps a file at `pages` pages, so writes fail as on a full disk.
    #[doc(hidden)]
    pub fn set_max_pages(&self, pages: u64) -> rusqlite::Result<()> {
        match self {
            Store::File(s) => s.set_max_pages(pages),
            _ => Ok(()),
        }
    }

    /// Appends one record to the open batch; [`Store::commit`] makes it durable.
    pub fn insert(
        &mut self,
        ts_ms: i64,
        view: &str,
        kind: &str,
        keyframe: bool,
        data: &[u8],
    ) -> rusqlite::Result<()> {
        match self {
            Store::File(s) => s.insert(ts_ms, view, kind, keyframe, data),
            Store::Pg(s) => {
                s.insert(ts_ms, view, kind, keyframe, data);
                Ok(())
            }
            Store::Off => Ok(()),
        }
    }

    /// Commits the open batch; on an error its records are lost.
    pub fn commit(&mut self) -> rusqlite::Result<()> {
        match self {
            Store::File(s) => s.commit(),
            Store::Pg(s) => s.commit().map_err(other_err),
            Store::Off => Ok(()),
        }
    }

    pub fn rollback(&mut self) {
        match self {
            Store::File(s) => s.rollback(),
            Store::Pg(s) => s.rollback(),
            Store::Off => {}
        }
    }

    /// Deletes records older than `oldest_ms`, then the oldest while over `max_bytes`.
    /// Returns how many records were deleted.
    pub fn retain(&mut self, oldest_ms: i64, max_bytes: u64) -> rusqlite::Result<u64> {
        match self {
            Store::File(s) => s.retain(oldest_ms, max_bytes),
            Store::Pg(s) => s.retain(oldest_ms, max_bytes).map_err(other_err),
            Store::Off => Ok(0),
        }
    }

    /// Bytes in use (a file's pages; on PostgreSQL this recording's stored data).
    pub fn used_bytes(&self) -> rusqlite::Result<u64> {
        match self {
            Store::File(s) => s.used_bytes(),
            Store::Pg(s) => Ok(s.used_bytes()),
            Store::Off => Ok(0),
        }
    }
}

/// The reading side: one recording.
pub enum Reader {
    File(SqliteReader),
    Pg(Box<PgReader>),
}

impl Reader {
    /// Opens an existing recording: a file, or the newest recording on a PostgreSQL server.
    pub fn open(target: &Path) -> Result<Reader, String> {
        Reader::open_recording(target, None)
    }

    /// Opens recording `id` of a PostgreSQL server (`None`: the newest); a file has only one.
    pub fn open_recording(target: &Path, id: Option<i64>) -> Result<Reader, String> {
        Reader::open_recording_in(target, id, &Env::system())
    }

    /// [`Reader::open_recording`] with the environment a PostgreSQL target is resolved in.
    pub fn open_recording_in(target: &Path, id: Option<i64>, env: &Env) -> Result<Reader, String> {
        if is_postgres(target) {
            PgReader::open(&target.to_string_lossy(), id, env).map(|r| Reader::Pg(Box::new(r)))
        } else {
            if id.is_some_and(|i| i != 1) {
                return Err(format!(
                    "recording {}: a file holds one recording (id 1)",
                    target.display()
                ));
            }
            SqliteReader::open(target).map(Reader::File)
        }
    }

    /// The recordings of a store, oldest first.
    pub fn list(target: &Path) -> Result<Vec<RecordingInfo>, String> {
        if is_postgres(target) {
            return PgReader::list(&target.to_string_lossy(), &Env::system());
        }
        let r = SqliteReader::open(target)?;
        let e = |e: rusqlite::Error| format!("recording {}: {e}", target.display());
        let span = r.span().map_err(e)?;
        Ok(vec![RecordingInfo {
            id: 1,
            label: target
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            host: String::new(),
            started: None,
            first_ms: span.map(|s| s.0),
            last_ms: span.map(|s| s.1),
            records: r.count().map_err(e)?,
        }])
    }

    /// Which recording this is: 1 for a file, the server's id on PostgreSQL.
    pub fn recording(&self) -> i64 {
        match self {
            Reader::File(_) => 1,
            Reader::Pg(r) => r.recording(),
        }
    }

    /// Whether the recording is on a server (which can go away and come back).
    pub fn is_remote(&self) -> bool {
        matches!(self, Reader::Pg(_))
    }

    /// Connects again to a server that went away (a file: nothing to do).
    pub fn reconnect(&mut self) -> rusqlite::Result<()> {
        match self {
            Reader::File(_) => Ok(()),
            Reader::Pg(r) => r.reconnect().map_err(other_err),
        }
    }

    /// The id where decoding must start to show `from_ms` on: the last keyframe of each
    /// delta-encoded `kinds` at or before it, or the first record at or after it.
    pub fn start_id(&self, from_ms: i64, kinds: &[&str]) -> rusqlite::Result<Option<i64>> {
        match self {
            Reader::File(r) => r.start_id(from_ms, kinds),
            Reader::Pg(r) => r.start_id(from_ms, kinds).map_err(other_err),
        }
    }

    /// Up to `limit` records from id `from_id` on (arrival order) with a time at most `to_ms`.
    pub fn batch(&self, from_id: i64, to_ms: i64, limit: usize) -> rusqlite::Result<Vec<Row>> {
        match self {
            Reader::File(r) => r.batch(from_id, to_ms, limit),
            Reader::Pg(r) => r.batch(from_id, to_ms, limit).map_err(other_err),
        }
    }

    /// The record after id `id` (a step forward).
    pub fn next_after(&self, id: i64) -> rusqlite::Result<Option<Row>> {
        match self {
            Reader::File(r) => r.next_after(id),
            Reader::Pg(r) => r.next_after(id).map_err(other_err),
        }
    }

    /// (first, last) record times, `None` when empty.
    pub fn span(&self) -> rusqlite::Result<Option<(i64, i64)>> {
        match self {
            Reader::File(r) => r.span(),
            Reader::Pg(r) => r.span().map_err(other_err),
        }
    }

    /// How many records there are.
    pub fn count(&self) -> rusqlite::Result<i64> {
        match self {
            Reader::File(r) => r.count(),
            Reader::Pg(r) => r.count().map_err(other_err),
        }
    }
}
