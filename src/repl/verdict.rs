//! Live health verdict per server (OK / WARN / CRIT with the reason), computed from a
//! [`ServerSnapshot`]. Every channel is judged; the server takes the worst one, so a broken
//! named connection can never hide behind a healthy default one. Consumed by the UI (colours,
//! broken-first sort) and by `report`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::ServerRole;
use super::snapshot::{ConnState, Probe, ServerSnapshot};
use super::status::{ChannelStatus, ThreadState};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
/// How bad the live verdict is (`OK` … `CRIT`). Not `audit::Severity` (an audit finding's,
/// with `PASS` and `INFO`) nor `wire::Level` (a status-line message's).
pub enum LiveSeverity {
    Ok,
    /// Cannot judge: stacktop could not log in (password variable unset, access denied).
    Unknown,
    Warn,
    Crit,
}

impl LiveSeverity {
    pub fn label(self) -> &'static str {
        match self {
            LiveSeverity::Ok => "OK",
            LiveSeverity::Unknown => "UNKNOWN",
            LiveSeverity::Warn => "WARN",
            LiveSeverity::Crit => "CRIT",
        }
    }
}

/// Thresholds for the verdict (configurable by the lead's config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LagThresholds {
    /// Lag (after subtracting SQL_Delay) at or above which a channel is WARN.
    pub warn_seconds: f64,
    /// … and CRIT.
    pub crit_seconds: f64,
    /// IO thread `Connecting` for longer than this (first seen by stacktop) → CRIT, else WARN.
    pub connecting_crit_seconds: i64,
}

impl Default for LagThresholds {
    fn default() -> Self {
        LagThresholds {
            warn_seconds: 60.0,
            crit_seconds: 600.0,
            connecting_crit_seconds: 300,
        }
    }
}

/// Verdict of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelVerdict {
    pub channel: String,
    pub level: LiveSeverity,
    pub reason: String,
}

/// Verdict of one server: worst channel (or connection problem) with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVerdict {
    pub server: String,
    pub level: LiveSeverity,
    pub reason: String,
    /// Per channel, broken first.
    pub channels: Vec<ChannelVerdict>,
}

fn err_text(e: &super::status::ReplError) -> String {
    let mut m = e.message.clone();
    if m.chars().count() > 160 {
        m = m.chars().take(157).collect::<String>() + "...";
    }
    format!("{} {}", e.errno, m)
}

/// Judge one channel.
pub fn judge_channel(c: &ChannelStatus, t: &LagThresholds, now: DateTime<Utc>) -> ChannelVerdict {
    let (level, reason) = judge_inner(c, t, now);
    ChannelVerdict {
        channel: c.display_name().to_string(),
        level,
        reason,
    }
}

fn judge_inner(c: &ChannelStatus, t: &LagThresholds, now: DateTime<Utc>) -> (LiveSeverity, String) {
    let mut problems: Vec<(LiveSeverity, String)> = Vec::new();
    match c.io_running {
        ThreadState::Yes => {}
        ThreadState::No => problems.push((
            LiveSeverity::Crit,
            match &c.last_io_error {
                Some(e) => format!("IO thread stopped: {}", err_text(e)),
                None => "IO thread stopped".to_string(),
            },
        )),
        ThreadState::Connecting => {
            let long = c
                .last_io_error
                .as_ref()
                .and_then(|e| e.first_seen)
                .map(|s| (now - s).num_seconds() >= t.connecting_crit_seconds)
                .unwrap_or(false);
            let lvl = if long {
                LiveSeverity::Crit
            } else {
                LiveSeverity::Warn
            };
            problems.push((
                lvl,
                match &c.last_io_error {
                    Some(e) => format!("IO thread connecting: {}", err_text(e)),
                    None => "IO thread connecting to source".to_string(),
                },
            ))
        }
        ThreadState::Unknown => {
            problems.push((LiveSeverity::Warn, "IO thread state unknown".into()))
        }
    }
    match c.sql_running {
        ThreadState::Yes => {}
        ThreadState::No => match &c.last_sql_error {
            Some(e) => problems.push((
                LiveSeverity::Crit,
                format!("SQL thread error: {}", err_text(e)),
            )),
            None => problems.push((LiveSeverity::Warn, "SQL thread stopped".into())),
        },
        ThreadState::Connecting | ThreadState::Unknown => {
            problems.push((LiveSeverity::Warn, "SQL thread state unknown".into()))
        }
    }
    let running = c.io_running == ThreadState::Yes && c.sql_running == ThreadState::Yes;
    match c.effective_lag() {
        Some(l) if l >= t.crit_seconds => {
            problems.push((LiveSeverity::Crit, format!("lag {}", fmt_lag(l, c))))
        }
        Some(l) if l >= t.warn_seconds => {
            problems.push((LiveSeverity::Warn, format!("lag {}", fmt_lag(l, c))))
        }
        Some(_) => {}
        None if running => problems.push((LiveSeverity::Warn, "lag unknown (NULL)".into())),
        None => {}
    }
    if problems.is_empty() {
        let lag = c
            .effective_lag()
            .map(|l| fmt_lag(l, c))
            .unwrap_or_else(|| "unknown".into());
        return (LiveSeverity::Ok, format!("running, lag {lag}"));
    }
    problems.sort_by_key(|p| std::cmp::Reverse(p.0));
    let level = problems[0].0;
    let reason = problems
        .into_iter()
        .map(|(_, r)| r)
        .collect::<Vec<_>>()
        .join("; ");
    (level, reason)
}

fn fmt_lag(l: f64, c: &ChannelStatus) -> String {
    let src = if c.heartbeat_lag.is_some() {
        " (heartbeat)"
    } else {
        ""
    };
    let delay = match c.sql_delay {
        Some(d) if d > 0 => format!(" beyond SQL_Delay {d}s"),
        _ => String::new(),
    };
    if l.fract() == 0.0 {
        format!("{l:.0}s{src}{delay}")
    } else {
        format!("{l:.1}s{src}{delay}")
    }
}

/// Judge a whole server.
pub fn judge(s: &ServerSnapshot, t: &LagThresholds) -> ServerVerdict {
    let now = s.taken_at;
    let mk = |level, reason: String| ServerVerdict {
        server: s.name.clone(),
        level,
        reason,
        channels: Vec::new(),
    };
    if let ConnState::Reconnecting { since, error } = &s.state {
        let secs = (now - *since).num_seconds().max(0);
        if is_login_error(error) {
            return mk(LiveSeverity::Unknown, format!("cannot log in: {error}"));
        }
        return mk(
            LiveSeverity::Crit,
            format!("unreachable for {secs}s: {error}"),
        );
    }
    if let Some(e) = s.probe_errors.get(&Probe::ReplicaStatus) {
        let grant = s
            .info
            .as_ref()
            .map(|i| i.status_grant())
            .unwrap_or("REPLICATION CLIENT");
        let level = if s.role == ServerRole::Primary {
            LiveSeverity::Ok
        } else {
            LiveSeverity::Warn
        };
        let why = if e.is_privilege() {
            format!("replica status unreadable (needs {grant}): {e}")
        } else {
            format!("replica status unreadable: {e}")
        };
        return mk(level, why);
    }
    let mut chans: Vec<ChannelVerdict> = s
        .channels
        .iter()
        .filter(|c| !c.group_replication)
        .map(|c| judge_channel(c, t, now))
        .collect();
    chans.sort_by(|a, b| {
        b.level
            .cmp(&a.level)
            .then_with(|| a.channel.cmp(&b.channel))
    });
    if chans.is_empty() {
        return match s.role {
            ServerRole::Replica => mk(
                LiveSeverity::Crit,
                "no replication configured (0 channels)".into(),
            ),
            _ if s.var_bool("log_bin") == Some(false) => mk(
                LiveSeverity::Warn,
                "not replicating, no binary log (standalone: cannot be a source, no \
                 point-in-time recovery)"
                    .into(),
            ),
            _ => mk(LiveSeverity::Ok, "not a replica".into()),
        };
    }
    let level = chans[0].level;
    let broken: Vec<&ChannelVerdict> = chans.iter().filter(|c| c.level == level).collect();
    let reason = if level == LiveSeverity::Ok {
        if chans.len() == 1 {
            chans[0].reason.clone()
        } else {
            format!("{} channels running", chans.len())
        }
    } else {
        let first = broken[0];
        let more = if broken.len() > 1 {
            format!(" (+{} more {})", broken.len() - 1, level.label())
        } else {
            String::new()
        };
        format!("channel {}: {}{more}", first.channel, first.reason)
    };
    ServerVerdict {
        server: s.name.clone(),
        level,
        reason,
        channels: chans,
    }
}

/// A connection failure that is about credentials, not reachability: the password source
/// failed (`password: …`, e.g. an unset variable) or the server refused the login (1045
/// access denied, 1698 unix_socket / plugin refusal, 1044 no access to the database).
pub fn is_login_error(error: &str) -> bool {
    error.starts_with("password: ")
        || ["ERROR 1045:", "ERROR 1698:", "ERROR 1044:"]
            .iter()
            .any(|c| error.starts_with(c))
}

/// The row's verdict never reads better than the server's audit: a WARN / CRIT audit result
/// of `v.server` raises the level to it and is named in the reason ("audit CRIT P1 binary
/// log"). UNKNOWN / INFO audit results change nothing.
pub fn with_audit(mut v: ServerVerdict, checks: &[super::audit::CheckResult]) -> ServerVerdict {
    use super::audit::Severity;
    let worst = checks
        .iter()
        .filter(|c| c.server == v.server && c.severity >= Severity::Warn)
        .max_by_key(|c| c.severity);
    if let Some(c) = worst {
        let lvl = if c.severity == Severity::Crit {
            LiveSeverity::Crit
        } else {
            LiveSeverity::Warn
        };
        if lvl > v.level {
            v.level = lvl;
        }
        v.reason = format!(
            "{} · audit {} {} {}",
            v.reason,
            c.severity.label(),
            c.id,
            c.title
        );
    }
    v
}

/// Verdicts for all servers, broken first (CRIT, WARN, OK), then by name.
pub fn judge_all(snaps: &[ServerSnapshot], t: &LagThresholds) -> Vec<ServerVerdict> {
    let mut v: Vec<ServerVerdict> = snaps.iter().map(|s| judge(s, t)).collect();
    v.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.server.cmp(&b.server)));
    v
}
