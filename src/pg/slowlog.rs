//! Append-only slow-query log: one JSON line per query instance crossing the threshold (and per
//! critical escalation), one per transaction left idle over its threshold
//! (`idle_in_transaction`, with `xact_start`), one per active transaction over its threshold
//! (`long_transaction`, `duration_s` being the transaction's age), and one per signal sent (who / what / when / result). The file is opened
//! once in append mode and every line is written with a single `write` call. Default path under
//! the XDG state dir, never the current directory. Written by the collector. The file is 0600
//! in a 0700 directory ([`crate::private_fs`]).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::json;

use super::kill::SignalResult;
use super::tracker::SlowEvent;

/// `$XDG_STATE_HOME/stacktop/pgtop-slow.jsonl` (or `~/.local/state/...`).
pub fn default_path() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
        .map(|d| d.join("stacktop").join("pgtop-slow.jsonl"))
}

pub struct SlowLog {
    path: PathBuf,
    file: File,
}

impl std::fmt::Debug for SlowLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlowLog").field("path", &self.path).finish()
    }
}

impl SlowLog {
    /// Opens for appending: created 0600 in 0700 directories, an existing file narrowed to
    /// 0600 (it holds other users' query texts), whatever the umask.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = crate::private_fs::open_append(path)?;
        Ok(SlowLog {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&mut self, v: serde_json::Value) -> std::io::Result<()> {
        let mut line = v.to_string();
        line.push('\n');
        self.file.write_all(line.as_bytes())
    }

    /// Logs a crossing or escalation (`Resolved` events are not logged).
    pub fn log_event(&mut self, server: &str, ev: &SlowEvent) -> std::io::Result<()> {
        let (kind, info) = match ev {
            SlowEvent::Crossed { info, critical } => {
                (if *critical { "critical" } else { "slow" }, info)
            }
            SlowEvent::Critical { info } => ("critical", info),
            SlowEvent::IdleInTransaction { info } => ("idle_in_transaction", info),
            SlowEvent::LongTransaction { info } => ("long_transaction", info),
            SlowEvent::Resolved { .. } => return Ok(()),
        };
        let blocked_by: Vec<i32> = info.blocked_by.iter().map(|b| b.pid).collect();
        self.write_line(json!({
            "ts": Utc::now().to_rfc3339(),
            "event": kind,
            "server": server,
            "pid": info.pid,
            "query_start": info.query_start.to_rfc3339(),
            "backend_start": info.backend_start.map(|t| t.to_rfc3339()),
            "xact_start": info.xact_start.map(|t| t.to_rfc3339()),
            "blocked_by": blocked_by,
            "database": info.datname,
            "user": info.usename,
            "application": info.application_name,
            "client": info.client_addr,
            "duration_s": info.duration.as_secs_f64(),
            "query": info.query,
        }))
    }

    /// Logs one signal that was sent (or refused), with who asked for it.
    pub fn log_signal(&mut self, server: &str, who: &str, r: &SignalResult) -> std::io::Result<()> {
        self.write_line(json!({
            "ts": r.at.to_rfc3339(),
            "event": "signal",
            "action": r.kind.verb(),
            "by": who,
            "server": server,
            "pid": r.target.pid,
            "backend_start": r.target.backend_start.to_rfc3339(),
            "query_start": r.target.query_start.map(|t| t.to_rfc3339()),
            "database": r.target.datname,
            "user": r.target.usename,
            "application": r.target.application_name,
            "duration_s": r.target.duration.map(|d| d.as_secs_f64()),
            "query": r.target.query,
            "result": r.outcome,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::tracker::InstanceInfo;

    #[test]
    fn appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/slow.jsonl");
        let mut info = InstanceInfo::for_test(3, "select \"x\"\n");
        info.duration = std::time::Duration::from_millis(5500);
        {
            let mut l = SlowLog::open(&p).unwrap();
            l.log_event(
                "srv",
                &SlowEvent::Crossed {
                    info: info.clone(),
                    critical: false,
                },
            )
            .unwrap();
            l.log_event("srv", &SlowEvent::Resolved { info: info.clone() })
                .unwrap();
        }
        let mut l = SlowLog::open(&p).unwrap();
        l.log_event("srv", &SlowEvent::Critical { info: info.clone() })
            .unwrap();
        info.kind = crate::pg::tracker::InstanceKind::IdleInTransaction;
        info.xact_start = Some(Utc::now());
        l.log_event("srv", &SlowEvent::IdleInTransaction { info: info.clone() })
            .unwrap();
        info.kind = crate::pg::tracker::InstanceKind::LongTransaction;
        l.log_event("srv", &SlowEvent::LongTransaction { info })
            .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["event"], "slow");
        assert_eq!(lines[0]["duration_s"], 5.5);
        assert_eq!(lines[1]["event"], "critical");
        assert_eq!(lines[2]["event"], "idle_in_transaction");
        assert!(lines[2]["xact_start"].is_string());
        assert_eq!(lines[3]["event"], "long_transaction");
        assert!(default_path()
            .unwrap()
            .ends_with("stacktop/pgtop-slow.jsonl"));
    }
}
