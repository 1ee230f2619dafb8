//! Pure formatting for the replication view: snapshot + verdict → table rows (one per
//! channel / connection, one per unreachable or non-replica server, broken first), the
//! lag sparkline, the per-row detail lines and the `--batch` text / JSON records.
//! No drawing here; `render.rs` renders what this builds.

use std::collections::VecDeque;

use chrono::{DateTime, Local, Utc};
use serde_json::{json, Value};

use crate::repl::status::ReplError;
use crate::repl::verdict::{ChannelVerdict, LiveSeverity, ServerVerdict};
use crate::repl::{ChannelStatus, ConnState, ServerSnapshot};
use crate::theme::Role;
use crate::widgets::table::{Column, TableData, TableRow};

/// Separator between server and channel in a row key.
pub const KEY_SEP: char = '\t';

/// The row key of a channel row (`channel` = `None` for a whole-server row).
pub fn row_key(server: &str, channel: Option<&str>) -> String {
    format!("{server}{KEY_SEP}{}", channel.unwrap_or(""))
}

/// The server part of a row key.
pub fn key_server(key: &str) -> &str {
    key.split(KEY_SEP).next().unwrap_or(key)
}

/// The channel part of a row key (`None` for a whole-server row).
pub fn key_channel(key: &str) -> Option<&str> {
    key.split_once(KEY_SEP)
        .map(|(_, c)| c)
        .filter(|c| !c.is_empty())
}

pub fn level_role(l: LiveSeverity) -> Role {
    match l {
        LiveSeverity::Ok => Role::Ok,
        LiveSeverity::Unknown | LiveSeverity::Warn => Role::Warn,
        LiveSeverity::Crit => Role::Crit,
    }
}

/// `12s`, `1.5s hb` (heartbeat), `unknown` (NULL: never shown as 0).
pub fn lag_text(c: &ChannelStatus) -> String {
    match (c.heartbeat_lag, c.lag_seconds) {
        (Some(h), _) => format!("{h:.1}s hb"),
        (None, Some(l)) => format!("{l}s"),
        (None, None) => "unknown".into(),
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` samples as a sparkline scaled to their maximum; `·` = lag unknown.
pub fn sparkline(h: &VecDeque<Option<f64>>, width: usize) -> String {
    let skip = h.len().saturating_sub(width);
    let max = h
        .iter()
        .skip(skip)
        .flatten()
        .fold(1.0_f64, |m, &v| m.max(v));
    h.iter()
        .skip(skip)
        .map(|v| match v {
            None => '·',
            Some(v) => {
                let i = ((v / max) * 7.0).round().clamp(0.0, 7.0) as usize;
                BARS[i]
            }
        })
        .collect()
}

pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%H:%M:%S").to_string()
}

pub fn uptime_text(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

pub fn bytes_text(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `2003: Can't connect … (first seen 12:03:04)`; the server's timestamp when it has one.
pub fn error_text(e: &ReplError) -> String {
    let when = match (&e.timestamp, e.first_seen) {
        (Some(ts), _) => format!(" (at {ts})"),
        (None, Some(t)) => format!(" (first seen {})", local_time(t)),
        (None, None) => String::new(),
    };
    format!("{}: {}{when}", e.errno, e.message)
}

/// Source `host:port`.
pub fn source_text(c: &ChannelStatus) -> String {
    match (&c.source_host, c.source_port) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.clone(),
        _ => "-".into(),
    }
}

/// Retrieved and executed position: GTID sets, or file:pos when GTID is not in use.
pub fn positions(c: &ChannelStatus) -> (String, String) {
    let filepos = |f: &Option<String>, p: Option<u64>| match (f, p) {
        (Some(f), Some(p)) => format!("{f}:{p}"),
        _ => "-".into(),
    };
    let gtid = |g: &Option<String>| g.clone().filter(|s| !s.is_empty());
    (
        gtid(&c.retrieved_gtid)
            .unwrap_or_else(|| filepos(&c.source_log_file, c.read_source_log_pos)),
        gtid(&c.executed_gtid)
            .unwrap_or_else(|| filepos(&c.relay_source_log_file, c.exec_source_log_pos)),
    )
}

/// Columns of the on-screen status table.
pub fn columns() -> Vec<Column> {
    vec![
        Column::new("state", 5),
        Column::new("server", 10),
        Column::new("channel", 9),
        Column::new("IO", 10),
        Column::new("SQL", 3),
        Column::numeric("lag", 7),
        Column::new("trend", TREND_WIDTH as u16),
        Column::new("reason", 0),
    ]
}

/// Index of the reason column (fitted at draw time for a down server: `down.rs`).
pub const REASON_COL: usize = 7;

/// Width of the sparkline in the table.
pub const TREND_WIDTH: usize = 8;

/// One status row per channel (or per server when it has none / is unreachable).
pub fn table(
    snaps: &[ServerSnapshot],
    verdicts: &[ServerVerdict],
    history: impl Fn(&str, &str) -> Option<String>,
) -> TableData {
    let mut rows: Vec<(LiveSeverity, TableRow)> = Vec::new();
    for (s, v) in snaps.iter().zip(verdicts) {
        if let ConnState::Reconnecting { since, error } = &s.state {
            let reason = format!("reconnecting since {}: {error}", local_time(*since));
            let cells = vec![
                v.level.label().into(),
                s.name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                String::new(),
                reason,
            ];
            let row = TableRow::new(row_key(&s.name, None), cells, level_role(v.level))
                .with_sort_keys(vec![0.0; 8]);
            rows.push((v.level, row));
            continue;
        }
        let chans: Vec<&ChannelStatus> =
            s.channels.iter().filter(|c| !c.group_replication).collect();
        if chans.is_empty() {
            let cells = vec![
                v.level.label().into(),
                s.name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                String::new(),
                v.reason.clone(),
            ];
            let row = TableRow::new(row_key(&s.name, None), cells, level_role(v.level))
                .with_sort_keys(vec![0.0; 8]);
            rows.push((v.level, row));
            continue;
        }
        for c in chans {
            let cv: Option<&ChannelVerdict> =
                v.channels.iter().find(|x| x.channel == c.display_name());
            let (level, reason) =
                cv.map_or((v.level, v.reason.clone()), |x| (x.level, x.reason.clone()));
            let cells = vec![
                level.label().into(),
                s.name.clone(),
                c.display_name().to_string(),
                c.io_running.label().into(),
                c.sql_running.label().into(),
                lag_text(c),
                history(&s.name, &c.name).unwrap_or_default(),
                reason,
            ];
            let lag = c.effective_lag().unwrap_or(-1.0);
            let row = TableRow::new(row_key(&s.name, Some(&c.name)), cells, level_role(level))
                .with_sort_keys(vec![0.0, 0.0, 0.0, 0.0, 0.0, lag, 0.0, 0.0]);
            rows.push((level, row));
        }
    }
    // Broken first, then by server and channel (stable within the server's order).
    rows.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));
    TableData {
        columns: columns(),
        rows: rows.into_iter().map(|(_, r)| r).collect(),
    }
}

/// Detail lines for one row (server, optional channel) below the table.
pub fn detail_lines(s: &ServerSnapshot, channel: Option<&ChannelStatus>) -> Vec<String> {
    let what = s
        .info
        .as_ref()
        .map(|i| format!("{} {}", i.flavor.label(), i.version))
        .unwrap_or_else(|| "version unknown".into());
    let uptime = s.uptime().map(uptime_text).unwrap_or_else(|| "-".into());
    let mut out = vec![format!(
        "{} ({}) · {what} · uptime {uptime}",
        s.name, s.address
    )];
    if let ConnState::Reconnecting { since, error } = &s.state {
        let next = s
            .next_try
            .map(|t| format!(" · next attempt {}", local_time(t)))
            .unwrap_or_default();
        out.push(format!(
            "reconnecting since {}: {error}{next}",
            local_time(*since)
        ));
        return out;
    }
    let Some(c) = channel else {
        let binlogs = s.binlogs.as_ref().map_or(String::new(), |b| {
            format!(
                " · {} binlogs, oldest {}",
                b.len(),
                b.first().map_or("-", |f| f.name.as_str())
            )
        });
        out.push(format!("not replicating{binlogs}"));
        return out;
    };
    let relay = c
        .relay_log_space
        .map(bytes_text)
        .unwrap_or_else(|| "-".into());
    let gtid_mode = c
        .using_gtid
        .clone()
        .or_else(|| {
            c.auto_position
                .map(|a| format!("auto_position={}", a as u8))
        })
        .unwrap_or_else(|| "-".into());
    out.push(format!(
        "channel {} · source {} · GTID {gtid_mode} · relay log {relay} · IO {} · SQL {}",
        c.display_name(),
        source_text(c),
        c.io_state.as_deref().unwrap_or("-"),
        c.sql_state.as_deref().unwrap_or("-"),
    ));
    let (retrieved, executed) = positions(c);
    out.push(format!("retrieved {retrieved} · executed {executed}"));
    out.push(format!(
        "last IO error {}",
        c.last_io_error.as_ref().map_or("-".into(), error_text)
    ));
    out.push(format!(
        "last SQL error {}",
        c.last_sql_error.as_ref().map_or("-".into(), error_text)
    ));
    out
}

fn err_json(e: &Option<ReplError>) -> Value {
    match e {
        None => Value::Null,
        Some(e) => json!({
            "errno": e.errno,
            "message": e.message,
            "timestamp": e.timestamp,
            "first_seen": e.first_seen.map(|t| t.to_rfc3339()),
        }),
    }
}

/// `--batch --json`: one record per row, every field typed (lag `null` when unknown).
pub fn json_rows(snaps: &[ServerSnapshot], verdicts: &[ServerVerdict]) -> Vec<Value> {
    let mut out = Vec::new();
    for (s, v) in snaps.iter().zip(verdicts) {
        let mut base = json!({
            "server": s.name,
            "address": s.address,
            "flavor": s.info.as_ref().map(|i| i.flavor.label()),
            "version": s.info.as_ref().map(|i| i.version.to_string()),
            "uptime_seconds": s.uptime(),
        });
        if let (Some(d), Value::Object(m)) = (&s.discovered, &mut base) {
            m.insert("discovered".into(), d.as_str().into());
        }
        let mut records = Vec::new();
        match &s.state {
            ConnState::Reconnecting { since, error } => records.push(json!({
                "channel": null, "verdict": v.level.label(), "reason": v.reason,
                "connection": "reconnecting", "since": since.to_rfc3339(), "error": error,
            })),
            ConnState::Connected if s.channels.is_empty() => records.push(json!({
                "channel": null, "verdict": v.level.label(), "reason": v.reason,
                "connection": "connected",
            })),
            ConnState::Connected => {
                for c in &s.channels {
                    let cv = v.channels.iter().find(|x| x.channel == c.display_name());
                    let (retrieved, executed) = positions(c);
                    records.push(json!({
                        "channel": c.display_name(),
                        "verdict": cv.map_or(v.level, |x| x.level).label(),
                        "reason": cv.map_or(v.reason.as_str(), |x| x.reason.as_str()),
                        "connection": "connected",
                        "io_running": c.io_running.label(),
                        "sql_running": c.sql_running.label(),
                        "lag_seconds": c.lag_seconds,
                        "heartbeat_lag_seconds": c.heartbeat_lag,
                        "retrieved": retrieved,
                        "executed": executed,
                        "relay_log_space": c.relay_log_space,
                        "source": source_text(c),
                        "last_io_error": err_json(&c.last_io_error),
                        "last_sql_error": err_json(&c.last_sql_error),
                    }));
                }
            }
        }
        for mut r in records {
            if let (Value::Object(m), Value::Object(b)) = (&mut r, &base) {
                for (k, val) in b {
                    m.insert(k.clone(), val.clone());
                }
            }
            out.push(r);
        }
    }
    out
}

/// `--batch` text: every field as a column (no width limit).
pub fn text_table(snaps: &[ServerSnapshot], verdicts: &[ServerVerdict]) -> TableData {
    let cols = [
        "verdict",
        "server",
        "channel",
        "IO",
        "SQL",
        "lag",
        "retrieved",
        "executed",
        "relay",
        "source",
        "uptime",
        "last_error",
        "reason",
    ];
    let mut rows = Vec::new();
    for r in json_rows(snaps, verdicts) {
        let g = |k: &str| match r.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "-".into(),
            Some(v) => v.to_string(),
        };
        let lag = match (r.get("heartbeat_lag_seconds"), r.get("lag_seconds")) {
            (Some(Value::Number(h)), _) => format!("{h}s hb"),
            (_, Some(Value::Number(l))) => format!("{l}s"),
            _ if r.get("connection") == Some(&json!("connected"))
                && r.get("io_running").is_some() =>
            {
                "unknown".into()
            }
            _ => "-".into(),
        };
        let err = ["last_io_error", "last_sql_error"]
            .iter()
            .filter_map(|k| {
                let e = r.get(*k)?;
                Some(format!(
                    "{} {}: {}",
                    if *k == "last_io_error" { "IO" } else { "SQL" },
                    e.get("errno")?,
                    e.get("message")?.as_str()?
                ))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let uptime = r
            .get("uptime_seconds")
            .and_then(Value::as_u64)
            .map(uptime_text)
            .unwrap_or_else(|| "-".into());
        let relay = r
            .get("relay_log_space")
            .and_then(Value::as_u64)
            .map(bytes_text)
            .unwrap_or_else(|| "-".into());
        let cells = vec![
            g("verdict"),
            g("server"),
            g("channel"),
            g("io_running"),
            g("sql_running"),
            lag,
            g("retrieved"),
            g("executed"),
            relay,
            g("source"),
            uptime,
            if err.is_empty() { "-".into() } else { err },
            g("reason"),
        ];
        let key = row_key(&g("server"), Some(&g("channel")));
        rows.push(TableRow::new(key, cells, Role::Normal));
    }
    TableData {
        columns: cols.iter().map(|c| Column::new(c, 0)).collect(),
        rows,
    }
}
