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

/// The slow log's file name in stacktop's state directory (unless `slow_log` names one):
/// `$XDG_STATE_HOME/stacktop/pgtop-slow.jsonl`, or `~/.local/state/stacktop/…`.
pub const DEFAULT_NAME: &str = "pgtop-slow.jsonl";

/// Who sent a signal, as the slow log records it: `"by"` the OS account running stacktop
/// (the login name of the real user id, from the password database; `uid N` when it has no
/// entry; never `USER`, which anyone can set or unset), `"sudo_user"` the account that ran
/// it through sudo (when `SUDO_USER` is set), `"db_user"` the PostgreSQL role that sent it
/// (what the server's own log shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub os_user: String,
    pub sudo_user: Option<String>,
    pub db_user: String,
}

impl Actor {
    /// The actor of this process, connected as `db_user`.
    pub fn current(db_user: &str) -> Actor {
        Actor::with_env(db_user, |k| std::env::var(k).ok())
    }

    /// [`Actor::current`] with the environment given (tests).
    pub fn with_env(db_user: &str, env: impl Fn(&str) -> Option<String>) -> Actor {
        // SAFETY: getuid() has no preconditions and cannot fail.
        let uid = unsafe { libc::getuid() };
        Actor {
            os_user: login_name(uid).unwrap_or_else(|| format!("uid {uid}")),
            sudo_user: env("SUDO_USER").filter(|u| !u.is_empty()),
            db_user: db_user.to_string(),
        }
    }
}

/// The password database's name for `uid` (`getpwuid_r`, so no shared static buffer).
fn login_name(uid: libc::uid_t) -> Option<String> {
    let mut size = 1024usize;
    loop {
        let mut buf = vec![0 as libc::c_char; size];
        // SAFETY: a zeroed passwd is a valid out-parameter; getpwuid_r writes into `pwd` and
        // `buf` (of `buf.len()` bytes) only, and `out` is null or points at `pwd`.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut out) };
        if rc == libc::ERANGE && size < 1 << 20 {
            size *= 4;
            continue;
        }
        if rc != 0 || out.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success pw_name points at a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        let name = name.to_string_lossy().into_owned();
        return (!name.is_empty()).then_some(name);
    }
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
            "lock": info.lock.as_ref().map(crate::pg::columns::lock_json),
            "database": info.datname,
            "user": info.usename,
            "application": info.application_name,
            "client": info.client_addr,
            "duration_s": info.duration.as_secs_f64(),
            "query": info.query,
        }))
    }

    /// Logs one signal that was sent (or refused), with who asked for it.
    pub fn log_signal(
        &mut self,
        server: &str,
        who: &Actor,
        r: &SignalResult,
    ) -> std::io::Result<()> {
        self.write_line(json!({
            "ts": r.at.to_rfc3339(),
            "event": "signal",
            "action": r.kind.verb(),
            "by": who.os_user,
            "sudo_user": who.sudo_user,
            "db_user": who.db_user,
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
        info.lock = Some(crate::pg::locks::LockWait {
            mode: "ShareLock".into(),
            locktype: "transactionid".into(),
            relation: None,
            object: Some("1234".into()),
            since: None,
        });
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
        assert_eq!(lines[0]["lock"]["mode"], "ShareLock");
        assert_eq!(lines[0]["lock"]["type"], "transactionid");
        assert_eq!(lines[0]["lock"]["object"], "1234");
        assert_eq!(lines[1]["event"], "critical");
        assert_eq!(lines[2]["event"], "idle_in_transaction");
        assert!(lines[2]["xact_start"].is_string());
        assert_eq!(lines[3]["event"], "long_transaction");
    }

    /// The OS account comes from the password database, not from `USER` / `LOGNAME`: with
    /// an empty environment (a service, cron, `env -i`) it is still the real name.
    #[test]
    fn actor_is_the_os_account_and_the_db_role_without_any_environment() {
        let id = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let me = String::from_utf8(id.stdout).unwrap().trim().to_string();
        assert!(!me.is_empty());
        let a = Actor::with_env("app_admin", |_| None);
        assert_eq!(a.os_user, me);
        assert_eq!(a.db_user, "app_admin");
        assert_eq!(a.sudo_user, None);
        let a = Actor::with_env("app_admin", |k| (k == "SUDO_USER").then(|| "alice".into()));
        assert_eq!(a.sudo_user.as_deref(), Some("alice"));

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("slow.jsonl");
        let target = crate::pg::kill::SignalTarget {
            pid: 42,
            backend_start: Utc::now(),
            query_start: None,
            usename: Some("app".into()),
            datname: Some("orders".into()),
            application_name: String::new(),
            query: "select 1".into(),
            duration: None,
        };
        let r = SignalResult {
            kind: crate::pg::kill::SignalKind::Cancel,
            target,
            outcome: crate::pg::kill::SignalOutcome::Signalled,
            at: Utc::now(),
        };
        SlowLog::open(&p)
            .unwrap()
            .log_signal("srv", &a, &r)
            .unwrap();
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&p).unwrap().trim()).unwrap();
        assert_eq!(line["by"], me.as_str());
        assert_eq!(line["sudo_user"], "alice");
        assert_eq!(line["db_user"], "app_admin");
        assert_eq!(line["pid"], 42);
    }
}
