//! pgtop's own messages on the update channel: what the view asks of the source
//! ([`PgRequest`], inside `SourceCommand::Pg`) and what comes back ([`PgReply`], inside
//! `Payload::PgReply`).

use super::classify::Thresholds;
use super::kill::{SignalKind, SignalResult, SignalTarget};

/// pgtop-specific requests from the view (inside `SourceCommand::Pg`).
#[derive(Clone, Debug, PartialEq)]
pub enum PgRequest {
    /// New thresholds (`:slow`, `:critical`, `:idle`): the slow log and Slack follow them.
    SetThresholds(Thresholds),
    /// Cancel / terminate these backends (each only if pid + backend_start + query_start match).
    Signal {
        kind: SignalKind,
        targets: Vec<SignalTarget>,
    },
    /// Plain EXPLAIN (never ANALYZE) of the query shown for `pid`, as its role `usename`.
    Explain {
        pid: i32,
        query: String,
        datname: Option<String>,
        usename: Option<String>,
    },
}

/// Answers to [`PgRequest`]s (inside `Payload::PgReply`).
#[derive(Clone, Debug, PartialEq)]
pub enum PgReply {
    Signals(Vec<SignalResult>),
    Explain {
        pid: i32,
        result: Result<Vec<String>, String>,
    },
}
