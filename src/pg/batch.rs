//! pgtop's batch output: the text table and the JSON object of a session (with its class and
//! slow flag), and the exit code that says whether any query is over the threshold. The batch
//! loop (`crate::batch`) prints them after each snapshot record; [`run_once`] takes one
//! snapshot on its own connection. Uses the same reader and classification as the live view.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::activity::{ActivityReader, PgSnapshot, Session, SessionState};
use super::classify::{classify, DurationBasis, RowClass, Thresholds};
use super::columns::{RowCtx, TextColumn, TextWidth, COLUMNS};
use super::options::CollectorOptions;
use super::redact::one_line;
use super::tls;
use super::wait_sampling::WaitProfile;

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

/// Plain text table: the header line, then one line per session with the columns of
/// [`COLUMNS`] that have a text part.
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
    let cols: Vec<TextColumn> = COLUMNS.iter().filter_map(|c| c.text).collect();
    // the fixed columns and one space after each; the last takes the rest
    let fixed: usize = cols
        .iter()
        .map(|c| match c.width {
            TextWidth::Cut(n) | TextWidth::Pad(n) => n + 1,
            TextWidth::Rest => 0,
        })
        .sum();
    let rest = o.width.saturating_sub(fixed).max(10);
    text_line(&mut out, &cols, |c| Cow::Borrowed(c.title));
    for s in default_rows(&snap.sessions, snap.server_now, o.include_idle, o.basis) {
        let r = RowCtx {
            now: snap.server_now,
            basis: o.basis,
            class: classify(s, snap.server_now, &o.thresholds),
            tagged: false,
        };
        text_line(&mut out, &cols, |c| match c.width {
            TextWidth::Rest => Cow::Owned(one_line(&(c.cell)(s, &r), rest)),
            _ => (c.cell)(s, &r),
        });
    }
    out
}

/// One line of the text table: each column's `cell` cut or padded to its width.
fn text_line<'a>(
    out: &mut String,
    cols: &[TextColumn],
    cell: impl Fn(&TextColumn) -> Cow<'a, str>,
) {
    for c in cols {
        let text = cell(c);
        let (n, text) = match c.width {
            TextWidth::Cut(n) => (n, Cow::Owned(one_line(&text, n))),
            TextWidth::Pad(n) => (n, text),
            TextWidth::Rest => {
                out.push_str(&text);
                continue;
            }
        };
        let _ = if c.right {
            write!(out, "{text:>n$} ")
        } else {
            write!(out, "{text:<n$} ")
        };
    }
    out.push('\n');
}

/// One session as the JSON object batch mode prints (with its class and slow flag): the JSON
/// keys of every column of [`COLUMNS`].
pub fn session_json(
    s: &Session,
    now: DateTime<Utc>,
    t: &Thresholds,
    basis: DurationBasis,
) -> serde_json::Value {
    let r = RowCtx {
        now,
        basis,
        class: classify(s, now, t),
        tagged: false,
    };
    let map: serde_json::Map<String, serde_json::Value> = COLUMNS
        .iter()
        .flat_map(|c| c.json)
        .map(|(key, value)| ((*key).to_string(), value(s, &r)))
        .collect();
    serde_json::Value::Object(map)
}

/// Adds `"wait_sampling"` to a session's JSON object when `pg_wait_sampling` is read: the
/// server's samples of this pid since stacktop's first reading, per wait, most first
/// (`[{"event_type","event","count"}]`, `[]` when none). Without the extension the key is absent.
pub fn add_wait_sampling(v: &mut serde_json::Value, pid: i32, p: Option<&WaitProfile>) {
    let (Some(p), serde_json::Value::Object(m)) = (p, v) else {
        return;
    };
    let waits: Vec<serde_json::Value> = p
        .of_pid(pid)
        .iter()
        .map(|w| {
            serde_json::json!({
                "event_type": w.event_type,
                "event": w.event,
                "count": w.count,
            })
        })
        .collect();
    m.insert("wait_sampling".into(), waits.into());
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
        status: super::activity::ConnState::Connected { since: now },
        refresh_interval: copts.interval,
        notices: Vec::new(),
        slow_count,
        alerts: None,
        statements: None,
        wait_sampling: None,
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
    use serde_json::json;
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
            super::super::activity::ConnState::Connecting,
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
