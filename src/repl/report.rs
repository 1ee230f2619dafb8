//! Batch output of `stacktop repl --check`: the live verdicts and the audit as plain text,
//! JSON, or a Nagios one-line summary with the usual exit codes (0 OK, 1 WARNING,
//! 2 CRITICAL, 3 UNKNOWN). Last stage of the data flow; pure functions over snapshots.
//!
//! Server texts (a replica's last SQL error quotes the failed statement, `CREATE USER …
//! IDENTIFIED BY '…'` included) go out scrubbed by [`crate::mask::text`] in every format.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::audit::{self, CheckResult, Severity};
use super::snapshot::{ConnState, ServerSnapshot};
use super::status::ChannelStatus;
use super::verdict::{judge, with_audit, LagThresholds, LiveSeverity, ServerVerdict};

/// Everything `--check` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: DateTime<Utc>,
    /// Broken first.
    pub servers: Vec<ServerReport>,
    pub checks: Vec<CheckResult>,
    pub exit_code: i32,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServerReport {
    pub name: String,
    pub address: String,
    pub flavor: Option<String>,
    pub version: Option<String>,
    pub connection: ConnState,
    pub uptime_seconds: Option<u64>,
    pub verdict: ServerVerdict,
    pub channels: Vec<ChannelStatus>,
}

/// Build the report from one refresh of every configured server.
pub fn build(snaps: &[ServerSnapshot], t: &LagThresholds) -> Report {
    let checks = audit::run(snaps);
    let mut servers: Vec<ServerReport> = snaps
        .iter()
        .map(|s| ServerReport {
            name: s.name.clone(),
            address: s.address.clone(),
            flavor: s.info.as_ref().map(|i| i.flavor.label().to_string()),
            version: s.info.as_ref().map(|i| i.version.to_string()),
            connection: s.state.clone(),
            uptime_seconds: s.uptime(),
            verdict: with_audit(judge(s, t), &checks),
            channels: s.channels.clone(),
        })
        .collect();
    servers.sort_by(|a, b| {
        b.verdict
            .level
            .cmp(&a.verdict.level)
            .then_with(|| a.name.cmp(&b.name))
    });
    let (exit_code, status) = status_of(&servers, &checks);
    Report {
        generated_at: Utc::now(),
        servers,
        checks,
        exit_code,
        status,
    }
}

fn status_of(servers: &[ServerReport], checks: &[CheckResult]) -> (i32, &'static str) {
    let live = servers
        .iter()
        .map(|s| s.verdict.level)
        .max()
        .unwrap_or(LiveSeverity::Ok);
    let audit = audit::worst(checks);
    if live == LiveSeverity::Crit || audit == Severity::Crit {
        (2, "CRITICAL")
    } else if live == LiveSeverity::Warn || audit == Severity::Warn {
        (1, "WARNING")
    } else if live == LiveSeverity::Unknown || audit == Severity::Unknown {
        (3, "UNKNOWN")
    } else {
        (0, "OK")
    }
}

fn lag_text(c: &ChannelStatus) -> String {
    match (c.heartbeat_lag, c.lag_seconds) {
        (Some(h), _) => format!("{h:.1}s (heartbeat)"),
        (None, Some(l)) => format!("{l}s"),
        (None, None) => "unknown".into(),
    }
}

/// Human-readable report (each line scrubbed of secrets).
pub fn text(r: &Report) -> String {
    let raw = text_raw(r);
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines() {
        out.push_str(&crate::mask::text(line));
        out.push('\n');
    }
    out
}

fn text_raw(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("replication check: {}\n\n", r.status));
    for s in &r.servers {
        let what = match (&s.flavor, &s.version) {
            (Some(f), Some(v)) => format!("{f} {v}"),
            _ => "unknown version".into(),
        };
        out.push_str(&format!(
            "{:<5} {} ({}, {}): {}\n",
            s.verdict.level.label(),
            s.name,
            s.address,
            what,
            s.verdict.reason
        ));
        for c in &s.channels {
            out.push_str(&format!(
                "      channel {:<12} IO {:<10} SQL {:<4} lag {}",
                c.display_name(),
                c.io_running.label(),
                c.sql_running.label(),
                lag_text(c)
            ));
            if let Some(e) = &c.last_io_error {
                out.push_str(&format!("  IO error {}: {}", e.errno, e.message));
            }
            if let Some(e) = &c.last_sql_error {
                out.push_str(&format!("  SQL error {}: {}", e.errno, e.message));
            }
            out.push('\n');
        }
    }
    out.push_str("\naudit:\n");
    for c in &r.checks {
        let chan = c
            .channel
            .as_deref()
            .map(|n| format!(" [{n}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<7} {:<4} {}{} {}: {}\n",
            c.severity.label(),
            c.id,
            c.server,
            chan,
            c.title,
            c.why
        ));
        if c.severity >= Severity::Unknown {
            let parts = audit::fixes::split(&c.fix);
            for f in &parts.sql {
                out.push_str(&format!("             fix (SQL): {f}\n"));
            }
            for f in parts.cnf_section.iter().filter(|_| !parts.cnf.is_empty()) {
                out.push_str(&format!("             fix (my.cnf): {f}\n"));
            }
            for f in &parts.cnf {
                out.push_str(&format!("             fix (my.cnf): {f}\n"));
            }
        }
    }
    out
}

/// Pretty JSON of the whole report, every string scrubbed of secrets.
pub fn json(r: &Report) -> String {
    match serde_json::to_value(r) {
        Ok(mut v) => {
            scrub_json(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        }
        Err(e) => format!("{{\"error\":\"{e}\"}}"),
    }
}

fn scrub_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = crate::mask::text(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(scrub_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(scrub_json),
        _ => {}
    }
}

/// Nagios plugin output: one line (with perfdata) and the exit code.
pub fn nagios(r: &Report) -> (String, i32) {
    let count = |sev: Severity| r.checks.iter().filter(|c| c.severity == sev).count();
    let broken: Vec<String> = r
        .servers
        .iter()
        .filter(|s| s.verdict.level != LiveSeverity::Ok)
        .map(|s| {
            format!(
                "{} {}: {}",
                s.name,
                s.verdict.level.label(),
                s.verdict.reason
            )
        })
        .collect();
    let worst_check = r
        .checks
        .iter()
        .find(|c| c.severity >= Severity::Unknown)
        .map(|c| format!("{} {} on {}: {}", c.severity.label(), c.id, c.server, c.why));
    let replicating = r
        .servers
        .iter()
        .filter(|s| s.channels.iter().any(|c| !c.group_replication))
        .count();
    let standalone = r
        .servers
        .iter()
        .filter(|s| s.connection == ConnState::Connected && s.channels.is_empty())
        .count();
    let mut summary = format!("{replicating} of {} servers replicating", r.servers.len());
    if standalone > 0 {
        summary.push_str(&format!(" ({standalone} not a replica)"));
    }
    if !broken.is_empty() {
        summary.push_str("; ");
        summary.push_str(&broken.join("; "));
    }
    if let Some(w) = worst_check {
        summary.push_str(&format!("; audit {w}"));
    }
    summary = crate::mask::text(&summary).replace(['\n', '|'], " ");
    if summary.chars().count() > 400 {
        summary = summary.chars().take(397).collect::<String>() + "...";
    }
    let mut perf = vec![
        format!("servers={}", r.servers.len()),
        format!("replicating={replicating}"),
        format!("audit_crit={}", count(Severity::Crit)),
        format!("audit_warn={}", count(Severity::Warn)),
        format!("audit_unknown={}", count(Severity::Unknown)),
    ];
    for s in &r.servers {
        for c in &s.channels {
            if let Some(l) = c.effective_lag() {
                let label = format!("lag_{}_{}", s.name, c.name)
                    .trim_end_matches('_')
                    .replace(['\'', '=', ' '], "_");
                perf.push(format!("'{label}'={l}s"));
            }
        }
    }
    (
        format!("REPL {} - {} | {}", r.status, summary, perf.join(" ")),
        r.exit_code,
    )
}
