//! pgtop's batch output: the text table and the JSON object of a session (with its class and
//! slow flag), and the exit code that says whether any query is over the threshold. The batch
//! loop (`crate::batch`) prints them after each snapshot record; [`run_once`] takes one
//! snapshot on its own connection. Uses the same reader and classification as the live view.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::activity::{ActivityReader, PgSnapshot, Session, SessionState};
use super::classify::{classify, DurationBasis, RowClass, Thresholds};
use super::options::CollectorOptions;
use super::redact::one_line;
use super::tls;

/// Exit codes of batch mode (the program-wide values of `cli::exit`).
pub const EXIT_OK: i32 = crate::wire::exit::OK;
/// at least one active query over `slow_threshold`
pub const EXIT_SLOW: i32 = crate::wire::exit::PG_SLOW;
/// at least one active query over `critical_threshold`
pub const EXIT_CRITICAL: i32 = crate::wire::exit::PG_CRITICAL;
/// could not connect or query
pub const EXIT_ERROR: i32 = crate::wire::exit::RUNTIME;

#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub json: bool,
    pub include_idle: bool,
    pub basis: DurationBasis,
    pub thresholds: Thresholds,
    /// text table width
    pub width: usize,
}

/// The default list: client backends (idle ones only when asked), longest first.
pub fn default_rows(
    sessions: &[Session],
    now: DateTime<Utc>,
    include_idle: bool,
    basis: DurationBasis,
) -> Vec<&Session> {
    let mut v: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.is_client_backend())
        .filter(|s| include_idle || s.state != SessionState::Idle)
        .collect();
    v.sort_by(|a, b| {
        b.duration(basis, now)
            .cmp(&a.duration(basis, now))
            .then(a.pid.cmp(&b.pid))
    });
    v
}

/// Exit code for a snapshot: [`EXIT_OK`] none slow, [`EXIT_SLOW`], [`EXIT_CRITICAL`].
pub fn exit_code(snap: &PgSnapshot, t: &Thresholds) -> i32 {
    let worst = snap
        .sessions
        .iter()
        .filter(|s| s.is_client_backend())
        .map(|s| classify(s, snap.server_now, t))
        .filter(|c| matches!(c, RowClass::Slow | RowClass::Critical))
        .max();
    match worst {
        Some(RowClass::Critical) => EXIT_CRITICAL,
        Some(_) => EXIT_SLOW,
        None => EXIT_OK,
    }
}

fn secs(d: Option<std::time::Duration>) -> String {
    d.map(|d| format!("{:.1}", d.as_secs_f64()))
        .unwrap_or_default()
}

/// Plain text table.
pub fn render_text(snap: &PgSnapshot, o: &BatchOptions) -> String {
    let mut out = String::new();
    if let Some(h) = &snap.header {
        let _ = writeln!(
            out,
            "PostgreSQL {}{} up {}s, sessions {}/{} (active {}, idle in transaction {}), waiting {}, slow {}",
            h.server_version,
            if h.in_recovery { " (recovery)" } else { "" },
            h.uptime.as_secs(),
            h.counts.total,
            h.max_connections,
            h.counts.active,
            h.counts.idle_in_transaction + h.counts.idle_in_transaction_aborted,
            h.waiting,
            snap.slow_count
        );
    }
    let _ = writeln!(
        out,
        "{:>7} {:<12} {:<12} {:<15} {:<20} {:<12} {:>9} {:<5} QUERY",
        "PID", "DATABASE", "USER", "CLIENT", "STATE", "WAIT", "SECONDS", "FLAG"
    );
    let fixed = 7 + 13 + 13 + 16 + 21 + 13 + 10 + 6;
    let qw = o.width.saturating_sub(fixed).max(10);
    for s in default_rows(&snap.sessions, snap.server_now, o.include_idle, o.basis) {
        let class = classify(s, snap.server_now, &o.thresholds);
        let flag = match class {
            RowClass::Critical => "CRIT",
            RowClass::Slow => "SLOW",
            RowClass::IdleInTransactionLong => "IDLE",
            RowClass::LongTransaction => "LTX",
            RowClass::Normal => "",
        };
        let cut = |v: Option<&str>, n: usize| one_line(v.unwrap_or(""), n);
        let _ = writeln!(
            out,
            "{:>7} {:<12} {:<12} {:<15} {:<20} {:<12} {:>9} {:<5} {}",
            s.pid,
            cut(s.datname.as_deref(), 12),
            cut(s.usename.as_deref(), 12),
            cut(Some(s.client_display()), 15),
            cut(Some(s.state.as_str()), 20),
            cut(Some(&blocked_or_wait(s)), 12),
            secs(s.duration(o.basis, snap.server_now)),
            flag,
            one_line(&s.query, qw)
        );
    }
    out
}

/// One session as the JSON object batch mode prints (with its class and slow flag).
pub fn session_json(
    s: &Session,
    now: DateTime<Utc>,
    t: &Thresholds,
    basis: DurationBasis,
) -> serde_json::Value {
    let class = classify(s, now, t);
    json!({
        "pid": s.pid,
        "database": s.datname,
        "user": s.usename,
        "client": s.client_addr,
        "application": s.application_name,
        "backend_type": s.backend_type,
        "state": s.state.as_str(),
        "wait_event_type": s.wait_event_type,
        "wait_event": s.wait_event,
        "backend_start": s.backend_start,
        "xact_start": s.xact_start,
        "query_start": s.query_start,
        "state_change": s.state_change,
        "duration_s": s.duration(basis, now).map(|d| d.as_secs_f64()),
        "slow": matches!(class, RowClass::Slow | RowClass::Critical),
        "long_transaction": class == RowClass::LongTransaction,
        "class": class,
        "blocking_pids": s.blocking_pids,
        "blocked_by": s.blocking_pids,
        "lock": s.lock.as_ref().map(lock_json),
        "query": s.query,
    })
}

/// A waited-for lock as batch JSON and the slow log show it: `{mode, relation, type, object}`.
pub fn lock_json(l: &super::locks::LockWait) -> serde_json::Value {
    json!({
        "mode": l.mode,
        "relation": l.relation,
        "type": l.locktype,
        "object": l.object,
    })
}

/// The WAIT cell of a session: `by 1234+2` (the first blocking pid and how many more) when it
/// waits for sessions, else the wait event.
pub fn blocked_or_wait(s: &Session) -> String {
    match s.blocking_pids.split_first() {
        Some((first, [])) => format!("by {first}"),
        Some((first, more)) => format!("by {first}+{}", more.len()),
        None => s.wait_event.clone().unwrap_or_default(),
    }
}

/// One JSON object per session (NDJSON).
pub fn render_json_lines(snap: &PgSnapshot, o: &BatchOptions) -> String {
    let mut out = String::new();
    for s in default_rows(&snap.sessions, snap.server_now, o.include_idle, o.basis) {
        let v = session_json(s, snap.server_now, &o.thresholds, o.basis);
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// Connects, takes one snapshot, renders it, all within the collector's time limits
/// (`connect_limit` + `query_timeout`). Returns (output, exit code) or an error message.
pub async fn run_once(copts: &CollectorOptions, o: &BatchOptions) -> Result<(String, i32), String> {
    let limit = copts.connect_limit() + copts.query_timeout;
    tokio::time::timeout(limit, run_once_unbounded(copts, o))
        .await
        .map_err(|_| format!("no answer within {} s", limit.as_secs()))?
}

async fn run_once_unbounded(
    copts: &CollectorOptions,
    o: &BatchOptions,
) -> Result<(String, i32), String> {
    let (client, task) = tls::connect(
        &copts.spec,
        &copts.application_name,
        copts.statement_timeout,
    )
    .await
    .map_err(|e| e.to_string())?;
    let res = async {
        let mut reader = ActivityReader::new(&client).await?;
        reader.fetch(&client).await
    }
    .await;
    task.abort();
    let (now, header, sessions) = res.map_err(|e| e.to_string())?;
    let slow_count = sessions
        .iter()
        .filter(|s| super::classify::is_slow(s, now, &o.thresholds))
        .count();
    let snap = PgSnapshot {
        seq: 1,
        server_now: now,
        taken_at: std::time::SystemTime::now(),
        fetch_time: std::time::Duration::ZERO,
        header: Some(header),
        sessions,
        status: super::activity::ConnectionStatus::Connected { since: now },
        refresh_interval: copts.interval,
        notices: Vec::new(),
        slow_count,
        alerts: None,
        statements: None,
    };
    let text = if o.json {
        render_json_lines(&snap, o)
    } else {
        render_text(&snap, o)
    };
    Ok((text, exit_code(&snap, &o.thresholds)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn snap() -> PgSnapshot {
        let now = Utc::now();
        let mut a = Session::for_test(1, SessionState::Active, "select pg_sleep(10)");
        a.query_start = Some(now - chrono::Duration::seconds(10));
        let mut b = Session::for_test(2, SessionState::Active, "select 1");
        b.query_start = Some(now - chrono::Duration::seconds(1));
        b.wait_event_type = Some("Lock".into());
        b.wait_event = Some("relation".into());
        b.blocking_pids = vec![1, 3];
        b.lock = Some(crate::pg::locks::LockWait {
            mode: "AccessShareLock".into(),
            locktype: "relation".into(),
            relation: Some("public.t".into()),
            object: None,
            since: None,
        });
        let c = Session::for_test(3, SessionState::Idle, "select 2");
        let mut s = PgSnapshot::status_only(
            1,
            super::super::activity::ConnectionStatus::Connecting,
            Duration::from_secs(1),
        );
        s.server_now = now;
        s.sessions = vec![b, c, a];
        s
    }

    #[test]
    fn json_lines_sorted_with_slow_flag_and_exit_code() {
        let s = snap();
        let mut o = BatchOptions {
            json: true,
            include_idle: false,
            basis: DurationBasis::Query,
            thresholds: Thresholds {
                slow: Duration::from_secs(5),
                critical: Duration::from_secs(60),
                idle_in_transaction: Duration::from_secs(5),
                long_transaction: Duration::from_secs(300),
            },
            width: 120,
        };
        let out = render_json_lines(&s, &o);
        let rows: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["pid"], 1);
        assert_eq!(rows[0]["slow"], true);
        assert_eq!(rows[1]["slow"], false);
        assert_eq!(rows[1]["blocked_by"], json!([1, 3]));
        assert_eq!(
            rows[1]["lock"],
            json!({"mode": "AccessShareLock", "relation": "public.t", "type": "relation", "object": null})
        );
        assert!(rows[0]["lock"].is_null());
        assert_eq!(exit_code(&s, &o.thresholds), EXIT_SLOW);
        o.thresholds.critical = Duration::from_secs(9);
        assert_eq!(exit_code(&s, &o.thresholds), EXIT_CRITICAL);
        o.thresholds.slow = Duration::from_secs(20);
        o.thresholds.critical = Duration::from_secs(20);
        assert_eq!(exit_code(&s, &o.thresholds), EXIT_OK);
        o.include_idle = true;
        let text = render_text(&s, &o);
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(
            text.lines().any(|l| l.contains(" by 1+1 ")),
            "blocked-by in the WAIT column: {text}"
        );
    }
}
