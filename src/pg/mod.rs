//! pgtop core (no drawing): connection parameters, the one-scan `pg_stat_activity` reader, the
//! background collector, slow/critical classification, safe cancel/terminate, the slow-query log,
//! Slack notifications, the per-database config and batch output.
//!
//! Data flow: [`config::PgConfig`] → [`conninfo::ConnSpec`] → [`collector::spawn`] (one persistent
//! connection; each tick [`activity::ActivityReader::fetch`] runs ONE statement) → owned
//! [`snapshot::PgSnapshot`]s (rows: the [`session::Session`] model) on a bounded channel →
//! the UI. On every snapshot the collector runs the [`tracker::SlowTracker`], which feeds
//! [`slowlog::SlowLog`] and [`slack::SlackNotifier`].
//! Signals requested by the UI run on their own short-lived connection ([`signaller`], then
//! [`kill`]), so they never wait behind a refresh. EXPLAIN runs on its own connection as the
//! session's role ([`explain`]). Query texts are read by the [`sqllex`] lexer ([`stmt`]: `K`'s
//! read-only check, what EXPLAIN accepts; [`redact`]).
//! [`source`] is the glue to the shell: collector ⇄ `collect::Update` / `SourceCommand`.

pub mod activity;
pub mod batch;
pub mod classify;
pub mod collector;
pub mod columns;
pub mod config;
pub mod conninfo;
pub mod explain;
pub mod fingerprint;
pub mod kill;
pub mod locks;
mod lossy;
pub mod msg;
pub mod options;
pub mod redact;
pub mod session;
pub mod signaller;
pub mod slack;
pub mod slowlog;
pub mod snapshot;
pub mod source;
pub mod sqllex;
pub mod statements;
pub mod stmt;
pub mod tls;
pub mod tracker;
pub mod wait_sampling;
pub mod waits;

pub use activity::{Header, PgSnapshot, Session, SessionState};
pub use classify::{DurationBasis, RowClass, Thresholds};
pub use collector::{CollectorCommand, CollectorHandle, CollectorOptions, ConnState};
pub use config::PgConfig;
pub use conninfo::ConnSpec;
pub use kill::{SignalKind, SignalOutcome, SignalResult, SignalTarget};
