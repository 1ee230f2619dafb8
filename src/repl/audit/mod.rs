//! The crash-safe replication audit: the catalogue of the reference (R1–R17 replica side,
//! P1–P10 primary side, plus T1 the `mysql.*` InnoDB stats / replication metadata table probe),
//! version-aware, computed from [`ServerSnapshot`]s only (pure; no I/O). Each result is
//! PASS / INFO / WARN / CRIT / UNKNOWN with a one-line why and the exact fix (my.cnf lines for
//! the server's flavor/version, or SQL). Consumed by the UI detail pane and `report`.

mod cross;
pub mod fixes;
mod primary;
mod replica;
mod tables;

pub use tables::PROBED_TABLES;

use serde::{Deserialize, Serialize};

use super::flavor::ServerInfo;
use super::snapshot::{Probe, ServerSnapshot};

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

/// Builder context for one server's checks.
pub(crate) struct Ctx<'a> {
    pub s: &'a ServerSnapshot,
    pub info: &'a ServerInfo,
    pub out: Vec<CheckResult>,
}

impl<'a> Ctx<'a> {
    pub fn push(&mut self, id: &str, sev: Severity, title: &str, why: String, fix: Vec<String>) {
        self.out.push(CheckResult {
            id: id.to_string(),
            server: self.s.name.clone(),
            channel: None,
            severity: sev,
            title: title.to_string(),
            why,
            fix,
            missing_grant: None,
        });
    }

    pub fn push_chan(
        &mut self,
        id: &str,
        chan: &str,
        sev: Severity,
        title: &str,
        why: String,
        fix: Vec<String>,
    ) {
        self.push(id, sev, title, why, fix);
        if let Some(last) = self.out.last_mut() {
            last.channel = Some(chan.to_string());
        }
    }

    pub fn unknown(&mut self, id: &str, title: &str, why: String, grant: &str) {
        self.out.push(CheckResult {
            id: id.to_string(),
            server: self.s.name.clone(),
            channel: None,
            severity: Severity::Unknown,
            title: title.to_string(),
            why,
            fix: vec![format!("GRANT {grant} TO '<monitor user>'@'<host>';")],
            missing_grant: Some(grant.to_string()),
        });
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

    /// Variables could not be read at all.
    pub fn vars_missing(&self) -> bool {
        self.s.probe_errors.contains_key(&Probe::Variables) || self.s.variables.is_empty()
    }
}

/// Run the whole audit over all configured servers (cross-server checks need all of them).
/// Results are ordered by server (input order), then worst first, then id.
pub fn run(snaps: &[ServerSnapshot]) -> Vec<CheckResult> {
    let mut all = Vec::new();
    for s in snaps {
        let mut per = Vec::new();
        let Some(info) = s.info.as_ref().filter(|_| s.is_connected()) else {
            per.push(CheckResult {
                id: "C0".into(),
                server: s.name.clone(),
                channel: None,
                severity: Severity::Unknown,
                title: "server reachable".into(),
                why: match &s.state {
                    super::snapshot::ConnState::Reconnecting { error, .. } => {
                        format!("cannot audit, server unreachable: {error}")
                    }
                    _ => "cannot audit, server version unknown".into(),
                },
                fix: Vec::new(),
                missing_grant: None,
            });
            all.push(per);
            continue;
        };
        let mut ctx = Ctx {
            s,
            info,
            out: Vec::new(),
        };
        if ctx.vars_missing() {
            let why = match s.probe_errors.get(&Probe::Variables) {
                Some(e) => format!("SHOW GLOBAL VARIABLES failed: {e}"),
                None => "SHOW GLOBAL VARIABLES returned nothing".into(),
            };
            ctx.push(
                "C0",
                Severity::Unknown,
                "variables readable",
                why,
                Vec::new(),
            );
        } else {
            let has_replicas = cross::has_replicas(s, snaps);
            if s.is_replica() || status_unreadable(s) {
                replica::check(&mut ctx, has_replicas);
            }
            let is_primary = primary::is_primary(s, has_replicas);
            if is_primary {
                primary::check(&mut ctx, has_replicas);
            }
            if is_primary || s.is_replica() {
                primary::check_gtid_mode(&mut ctx);
            }
            tables::check(&mut ctx);
        }
        per = ctx.out;
        all.push(per);
    }
    cross::check(snaps, &mut all);
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
