//! The crash-safe replication audit: the catalogue of the reference (R1–R17 replica side,
//! P1–P10 primary side, plus T1 the `mysql.*` InnoDB stats / replication metadata table probe),
//! version-aware, computed from [`ServerSnapshot`]s only (pure; no I/O). Each result is
//! PASS / INFO / WARN / CRIT / UNKNOWN with a one-line why and the exact fix (my.cnf lines for
//! the server's flavor/version, or SQL). Consumed by the UI detail pane and `report`.
//!
//! Which checks exist, where they run and on which versions is one table:
//! [`catalogue::CATALOGUE`]; [`run`] walks it. Adding a check = one function + one row.

pub mod catalogue;
mod cross;
pub mod fixes;
mod primary;
mod replica;
mod replica_server;
mod row;
mod tables;

pub use tables::PROBED_TABLES;

use serde::{Deserialize, Serialize};

use super::flavor::ServerInfo;
use super::snapshot::{Probe, ServerSnapshot};
use catalogue::CATALOGUE;
use row::{Check, Run, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Pass,
    Info,
    Unknown,
    Warn,
    Crit,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Pass => "PASS",
            Severity::Info => "INFO",
            Severity::Unknown => "UNKNOWN",
            Severity::Warn => "WARN",
            Severity::Crit => "CRIT",
        }
    }
}

/// One audit finding for one server (and channel, where the check is per channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Catalogue id: `R1`…`R17`, `P1`…`P10`, `T1`, or `C0` (cannot audit).
    pub id: String,
    pub server: String,
    pub channel: Option<String>,
    pub severity: Severity,
    /// Short name of the check.
    pub title: String,
    /// One line: what was seen and why it matters.
    pub why: String,
    /// The exact fix: my.cnf lines (with the section header) or SQL statements, in order.
    pub fix: Vec<String>,
    /// For UNKNOWN caused by privileges: the grant that is missing.
    pub missing_grant: Option<String>,
}

/// Context of one check on one server: the snapshot, the catalogue row being run (its id and
/// title go on every result) and what the audit knows about the server's place.
pub(crate) struct ServerCheck<'a> {
    pub s: &'a ServerSnapshot,
    pub info: &'a ServerInfo,
    pub check: &'static Check,
    /// Some replica (seen on the server, or configured) replicates from this server.
    pub has_replicas: bool,
    pub out: Vec<CheckResult>,
}

impl<'a> ServerCheck<'a> {
    /// A result of the current check.
    pub fn report(&mut self, sev: Severity, why: String, fix: Vec<String>) {
        self.out
            .push(self.check.result(self.s, None, sev, why, fix));
    }

    /// A result of the current check for one replication channel.
    pub fn report_chan(&mut self, chan: &str, sev: Severity, why: String, fix: Vec<String>) {
        let r = self
            .check
            .result(self.s, Some(chan.to_string()), sev, why, fix);
        self.out.push(r);
    }

    /// UNKNOWN because a privilege is missing: the fix is the grant.
    pub fn unknown(&mut self, why: String, grant: &str) {
        let fix = vec![format!("GRANT {grant} TO '<monitor user>'@'<host>';")];
        let mut r = self.check.result(self.s, None, Severity::Unknown, why, fix);
        r.missing_grant = Some(grant.to_string());
        self.out.push(r);
    }

    /// my.cnf fix lines under the flavor's section header.
    pub fn cnf(&self, lines: &[&str]) -> Vec<String> {
        let mut v = vec![self.info.cnf_section().to_string()];
        v.extend(lines.iter().map(|l| l.to_string()));
        v
    }

    /// my.cnf lines plus the SQL that applies them at runtime.
    pub fn cnf_and_sql(&self, lines: &[&str], sql: &[&str]) -> Vec<String> {
        let mut v = self.cnf(lines);
        v.extend(sql.iter().map(|l| l.to_string()));
        v
    }

    pub fn var(&self, n: &str) -> Option<&'a str> {
        self.s.var(n)
    }

    pub fn var_bool(&self, n: &str) -> Option<bool> {
        self.s.var_bool(n)
    }
}

/// Run the whole audit over all configured servers (cross-server checks need all of them).
/// Results are ordered by server (input order), then worst first, then id.
pub fn run(snaps: &[ServerSnapshot]) -> Vec<CheckResult> {
    let mut all = Vec::new();
    for s in snaps {
        let mut per = Vec::new();
        let Some(info) = s.info.as_ref().filter(|_| s.is_connected()) else {
            let why = match &s.state {
                super::snapshot::ConnState::Reconnecting { error, .. } => {
                    format!("cannot audit, server unreachable: {error}")
                }
                _ => "cannot audit, server version unknown".into(),
            };
            per.push(precondition(s, why));
            all.push(per);
            continue;
        };
        if vars_missing(s) {
            let why = match s.probe_errors.get(&Probe::Variables) {
                Some(e) => format!("SHOW GLOBAL VARIABLES failed: {e}"),
                None => "SHOW GLOBAL VARIABLES returned nothing".into(),
            };
            per.push(CheckResult {
                title: "variables readable".into(),
                ..precondition(s, why)
            });
            all.push(per);
            continue;
        }
        let has_replicas = cross::has_replicas(s, snaps);
        let is_primary = primary::is_primary(s, has_replicas);
        let is_replica = s.is_replica() || status_unreadable(s);
        for check in CATALOGUE {
            let Run::Server(side, f) = check.run else {
                continue;
            };
            let on_side = match side {
                Side::Replica => is_replica,
                Side::Primary => is_primary,
                Side::Replication => is_primary || s.is_replica(),
                Side::Every => true,
            };
            if !on_side || !check.applies.contains(info) {
                continue;
            }
            let mut ctx = ServerCheck {
                s,
                info,
                check,
                has_replicas,
                out: std::mem::take(&mut per),
            };
            f(&mut ctx);
            per = ctx.out;
        }
        all.push(per);
    }
    for check in CATALOGUE {
        if let Run::Cross(f) = check.run {
            f(check, snaps, &mut all);
        }
    }
    let mut out = Vec::new();
    for mut per in all {
        per.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| id_key(&a.id).cmp(&id_key(&b.id)))
                .then_with(|| a.channel.cmp(&b.channel))
        });
        out.extend(per);
    }
    out
}

/// C0: the audit itself cannot run on this server.
fn precondition(s: &ServerSnapshot, why: String) -> CheckResult {
    catalogue::C0.result(s, None, Severity::Unknown, why, Vec::new())
}

/// Variables could not be read at all.
fn vars_missing(s: &ServerSnapshot) -> bool {
    s.probe_errors.contains_key(&Probe::Variables) || s.variables.is_empty()
}

fn status_unreadable(s: &ServerSnapshot) -> bool {
    s.probe_errors.contains_key(&Probe::ReplicaStatus)
}

/// Sort key: letter then number (R2 before R10).
fn id_key(id: &str) -> (char, u32) {
    let mut ch = id.chars();
    let c = ch.next().unwrap_or(' ');
    (c, ch.as_str().parse().unwrap_or(0))
}

/// Worst severity in a result list (`Pass` when empty).
pub fn worst(results: &[CheckResult]) -> Severity {
    results
        .iter()
        .map(|r| r.severity)
        .max()
        .unwrap_or(Severity::Pass)
}

/// The fix lines of all WARN / CRIT results for one server (the `y` copy key), grouped by
/// language: the SQL block, then the my.cnf block (see [`fixes`]).
pub fn fixes_for(results: &[CheckResult], server: &str) -> Vec<String> {
    fixes::for_server(results, server)
}
