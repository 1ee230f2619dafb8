//! The flight recorder (issue 15): every snapshot and event that reaches the views is appended,
//! compressed, to a recording (a file, [`sqlite`], or a PostgreSQL server, [`pg_store`], both
//! behind [`store`]), off the UI loop; `stacktop replay PATH --batch --json` prints it back and
//! `stacktop replay PATH` shows it in the TUI (`crate::replay`). Every live run keeps the last
//! minutes in memory ([`bundle`]) for the incident-bundle key.
//!
//! ```text
//! collectors ──Update──► tee task ──send──► App (first, as before)
//!                           └──try_send (bounded; full: counted drop)──► writer thread
//!                                                 encode (delta) + zstd ──► SQLite (WAL)
//! ```
//!
//! **Why SQLite** ([`store`]) rather than an append-only segment format: rusqlite is already a
//! dependency (the spotify store), and it gives for free what a segment format has to build and
//! test: crash safety (WAL, one transaction per second at most; a SIGKILL loses only the
//! uncommitted second and the file opens as it was at the last commit, the WAL being replayed
//! by the next reader), an index on time (seek to a minute is one B-tree lookup), retention by
//! age and size as `DELETE`s of the oldest rows with incremental vacuum, and a file any
//! `sqlite3` can inspect. The file (and its `-wal`/`-shm`, which SQLite creates with the
//! database file's mode) is 0600.
//!
//! **Size** ([`codec`]): pgtop snapshots are delta-encoded — a keyframe every
//! [`codec::KEYFRAME_EVERY`] snapshots, in between only the fields that changed
//! ([`pgframe`]), the pids that left and the header — and every record is zstd-compressed.
//! Secrets are never recorded:
//! snapshots hold no passwords, error texts and notices are the masked ones the UI shows, and
//! the configuration is not written.
//!
//! This module never imports the UI (`app`, `screen`, `views`): it reads the wire types
//! (`messages::{Update, Payload}`) only. `crate::replay` (the top layer) turns records back into
//! the live batch output.

pub mod bundle;
pub mod codec;
pub mod config;
pub mod decode;
pub mod headless;
pub mod pg_conn;
pub mod pg_panes;
pub mod pg_panes_latest;
pub mod pg_reader;
pub mod pg_store;
pub mod pgframe;
pub mod sqlite;
pub mod store;
pub mod writer;

pub use config::{default_path, RecordConfig};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_retention;
