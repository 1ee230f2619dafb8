//! Cancel / terminate — the dangerous part. Targets come from rows on screen ([`SignalTarget`] keeps
//! pid, backend_start and query_start as shown); each is signalled by ONE statement that matches all
//! three again on the server, so a recycled pid or a new statement on the same session is never
//! hit. Only client backends, never the own session; `read_only` refuses everything; a missing
//! privilege (SQLSTATE 42501) becomes a per-target message. Called by the collector (`c`, `k`, `K`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::activity::Session;
use super::classify::{is_slow, Thresholds};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignalKind {
    /// `pg_cancel_backend`: stop the running statement
    Cancel,
    /// `pg_terminate_backend`: end the session
    Terminate,
}

impl SignalKind {
    pub fn function(self) -> &'static str {
        match self {
            SignalKind::Cancel => "pg_cancel_backend",
            SignalKind::Terminate => "pg_terminate_backend",
        }
    }
    pub fn verb(self) -> &'static str {
        match self {
            SignalKind::Cancel => "cancel",
            SignalKind::Terminate => "terminate",
        }
    }
}

/// A backend as it was on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalTarget {
    pub pid: i32,
    pub backend_start: DateTime<Utc>,
    pub query_start: Option<DateTime<Utc>>,
    pub usename: Option<String>,
    pub datname: Option<String>,
    pub application_name: String,
    pub query: String,
    /// active-for duration when it was selected (for the confirmation and the log)
    pub duration: Option<Duration>,
}

impl SignalTarget {
    /// `None` for sessions that may never be signalled (background processes, rows whose
    /// details are hidden from us).
    pub fn from_session(s: &Session, now: DateTime<Utc>) -> Option<Self> {
        if !s.is_client_backend() || !s.visible {
            return None;
        }
        Some(SignalTarget {
            pid: s.pid,
            backend_start: s.backend_start?,
            query_start: s.query_start,
            usename: s.usename.clone(),
            datname: s.datname.clone(),
            application_name: s.application_name.clone(),
            query: s.query.clone(),
            duration: s.active_for(now),
        })
    }
}

/// What happened to one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum SignalOutcome {
    /// the signal was sent
    Signalled,
    /// the server found the backend but the function returned false
    NotSignalled,
    /// pid gone, recycled, or running another statement: left alone
    Changed,
    /// read-only mode: nothing is sent
    ReadOnly,
    /// no right to signal this backend (SQLSTATE 42501)
    PermissionDenied(String),
    /// any other error (connection lost, timeout, ...)
    Error(String),
}

/// One line of the result list shown after a signal (and written to the slow log; read
/// back from a recording's `kill_done` record by replay).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalResult {
    pub kind: SignalKind,
    pub target: SignalTarget,
    pub outcome: SignalOutcome,
    pub at: DateTime<Utc>,
}

/// Shown with a permission error.
pub const PRIVILEGE_HINT: &str =
    "signalling another role's backend needs superuser, membership in that role, or pg_signal_backend";

/// Config-driven exclusions for `K` (kill all slow).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KillExclusions {
    /// only statements that cannot write or lock rows are targets (decided by the lexer:
    /// [`is_read_only_statement`]); DML/DDL, `FOR UPDATE`, volatile calls are left alone
    pub only_select: bool,
    /// users never targeted by `K`
    pub users: Vec<String>,
    /// application names never targeted by `K`
    pub applications: Vec<String>,
}

pub use super::stmt::is_read_only_statement;

/// `K`: the slow client backends among the rows on screen, minus configured exclusions.
pub fn select_slow_targets(
    on_screen: &[Session],
    now: DateTime<Utc>,
    t: &Thresholds,
    ex: &KillExclusions,
) -> Vec<SignalTarget> {
    on_screen
        .iter()
        .filter(|s| is_slow(s, now, t))
        .filter(|s| {
            !s.usename
                .as_ref()
                .is_some_and(|u| ex.users.iter().any(|x| x == u))
        })
        .filter(|s| !ex.applications.contains(&s.application_name))
        .filter(|s| !ex.only_select || is_read_only_statement(&s.query))
        .filter_map(|s| SignalTarget::from_session(s, now))
        .collect()
}

fn signal_sql(kind: SignalKind) -> String {
    format!(
        "/* stacktop */ SELECT pid, {}(pid) FROM pg_catalog.pg_stat_activity \
         WHERE pid = $1 AND backend_start = $2 AND query_start IS NOT DISTINCT FROM $3 \
         AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
        kind.function()
    )
}

/// Signals each target with one matching statement; results in target order. Never panics on a
/// server answer; `read_only` sends nothing.
pub async fn signal(
    client: &Client,
    kind: SignalKind,
    targets: &[SignalTarget],
    read_only: bool,
) -> Vec<SignalResult> {
    let mut out = Vec::with_capacity(targets.len());
    let sql = signal_sql(kind);
    let stmt = if read_only {
        None
    } else {
        Some(client.prepare(&sql).await)
    };
    for t in targets {
        let outcome = match &stmt {
            None => SignalOutcome::ReadOnly,
            Some(Err(e)) => SignalOutcome::Error(e.to_string()),
            Some(Ok(stmt)) => {
                match client
                    .query(stmt, &[&t.pid, &t.backend_start, &t.query_start])
                    .await
                {
                    Ok(rows) => match rows.first().map(|r| r.try_get::<_, bool>(1)) {
                        None => SignalOutcome::Changed,
                        Some(Ok(true)) => SignalOutcome::Signalled,
                        Some(Ok(false)) => SignalOutcome::NotSignalled,
                        Some(Err(e)) => SignalOutcome::Error(e.to_string()),
                    },
                    Err(e) => match e.as_db_error() {
                        Some(db) if *db.code() == SqlState::INSUFFICIENT_PRIVILEGE => {
                            SignalOutcome::PermissionDenied(format!(
                                "{} ({PRIVILEGE_HINT})",
                                db.message()
                            ))
                        }
                        Some(db) => SignalOutcome::Error(db.message().to_string()),
                        None => SignalOutcome::Error(e.to_string()),
                    },
                }
            }
        };
        out.push(SignalResult {
            kind,
            target: t.clone(),
            outcome,
            at: Utc::now(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::activity::SessionState;

    #[test]
    fn slow_targets_respect_exclusions_and_backend_type() {
        let now = Utc::now();
        let t = Thresholds {
            slow: Duration::from_secs(5),
            ..Default::default()
        };
        let mk = |pid, q: &str, user: &str| {
            let mut s = Session::for_test(pid, SessionState::Active, q);
            s.query_start = Some(now - chrono::Duration::seconds(10));
            s.usename = Some(user.into());
            s
        };
        let mut bg = mk(5, "autovacuum: VACUUM t", "postgres");
        bg.backend_type = Some("autovacuum worker".into());
        let mut hidden = mk(6, "<insufficient privilege>", "other");
        hidden.visible = false;
        let mut fresh = mk(7, "select 1", "app");
        fresh.query_start = Some(now);
        let rows = vec![
            mk(1, "select pg_sleep(60)", "app"),
            mk(2, "update t set x=1", "app"),
            mk(3, "select 2", "backup"),
            bg,
            hidden,
            fresh,
        ];
        let all = select_slow_targets(&rows, now, &t, &KillExclusions::default());
        assert_eq!(all.iter().map(|t| t.pid).collect::<Vec<_>>(), vec![1, 2, 3]);
        let ex = KillExclusions {
            only_select: true,
            users: vec!["backup".into()],
            applications: vec![],
        };
        let some = select_slow_targets(&rows, now, &t, &ex);
        assert_eq!(some.iter().map(|t| t.pid).collect::<Vec<_>>(), vec![1]);
    }
}
