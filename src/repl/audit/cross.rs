//! Cross-server checks: R17 unique server identity, P7 "each replica can still resume from its
//! primary's oldest binlog" (the direct retention check), P9 errant transactions. They map each
//! replica channel to a configured primary (by host:port, then by server_id) and compare the
//! snapshots. One function per catalogue row; results are appended to the per-server lists
//! built by `audit::run`.

use std::collections::BTreeMap;

use super::row::Check;
use super::{CheckResult, Severity};
use crate::repl::gtid::{GtidSet, MariaPos};
use crate::repl::snapshot::{Probe, ServerSnapshot};
use crate::repl::status::ChannelStatus;

use Severity::*;

fn norm_host(h: &str) -> &str {
    match h {
        "localhost" | "::1" | "[::1]" => "127.0.0.1",
        other => other,
    }
}

/// The configured server a channel replicates from, if any.
pub(super) fn source_of<'a>(
    me: &ServerSnapshot,
    c: &ChannelStatus,
    snaps: &'a [ServerSnapshot],
) -> Option<&'a ServerSnapshot> {
    let others = || snaps.iter().filter(|o| o.name != me.name);
    if let (Some(h), Some(p)) = (&c.source_host, c.source_port) {
        let want = format!("{}:{p}", norm_host(h));
        if let Some(o) = others().find(|o| {
            o.address
                .rsplit_once(':')
                .map(|(oh, op)| format!("{}:{op}", norm_host(oh)) == want)
                .unwrap_or(false)
        }) {
            return Some(o);
        }
    }
    let id = c.source_server_id?.to_string();
    others().find(|o| o.var("server_id") == Some(id.as_str()))
}

/// Does any replica (seen on the server, or configured) replicate from `s`?
pub(super) fn has_replicas(s: &ServerSnapshot, snaps: &[ServerSnapshot]) -> bool {
    if s.replica_hosts.as_ref().is_some_and(|h| !h.is_empty()) {
        return true;
    }
    snaps.iter().filter(|o| o.name != s.name).any(|o| {
        o.channels
            .iter()
            .any(|c| source_of(o, c, snaps).is_some_and(|p| p.name == s.name))
    })
}

/// The servers the per-server cross checks judge: connected, version known.
fn audited(snaps: &[ServerSnapshot]) -> impl Iterator<Item = (usize, &ServerSnapshot)> {
    snaps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_connected() && s.info.is_some())
}

/// P7: every replica channel can still resume from its source's binlogs.
pub(super) fn resume(check: &Check, snaps: &[ServerSnapshot], all: &mut [Vec<CheckResult>]) {
    for (i, s) in audited(snaps) {
        for c in s.channels.iter().filter(|c| !c.group_replication) {
            all[i].push(resume_channel(check, s, c, snaps));
        }
    }
}

/// P9: transactions on a replica that none of its configured sources has.
pub(super) fn errant(check: &Check, snaps: &[ServerSnapshot], all: &mut [Vec<CheckResult>]) {
    for (i, s) in audited(snaps) {
        if let Some(r) = errant_on(check, s, snaps) {
            all[i].push(r);
        }
    }
}

/// R17: server_id (and server_uuid) unique and non-zero across the configured servers.
pub(super) fn unique_ids(check: &Check, snaps: &[ServerSnapshot], all: &mut [Vec<CheckResult>]) {
    let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut by_uuid: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in snaps.iter().filter(|s| s.is_connected()) {
        if let Some(id) = s.var("server_id") {
            by_id.entry(id).or_default().push(&s.name);
        }
        if let Some(u) = s.var("server_uuid") {
            by_uuid.entry(u).or_default().push(&s.name);
        }
    }
    for (i, s) in snaps.iter().enumerate() {
        let Some(id) = s.var("server_id").filter(|_| s.is_connected()) else {
            continue;
        };
        let fix = |sec: &str| vec![sec.to_string(), "server_id = <unique number>".to_string()];
        let sec = s
            .info
            .as_ref()
            .map(|i| i.cnf_section())
            .unwrap_or("[mysqld]");
        let dups: Vec<&str> = by_id
            .get(id)
            .map(|v| v.iter().copied().filter(|n| *n != s.name).collect())
            .unwrap_or_default();
        let self_loop = s
            .channels
            .iter()
            .any(|c| c.source_server_id.map(|x| x.to_string()).as_deref() == Some(id));
        let uuid_dups: Vec<&str> = s
            .var("server_uuid")
            .and_then(|u| by_uuid.get(u))
            .map(|v| v.iter().copied().filter(|n| *n != s.name).collect())
            .unwrap_or_default();
        let r = if id.trim() == "0" {
            check.result(
                s,
                None,
                Crit,
                "server_id=0: replication refuses to run".into(),
                fix(sec),
            )
        } else if !dups.is_empty() {
            check.result(
                s,
                None,
                Crit,
                format!(
                    "server_id={id} also used by {}: replicas drop or skip each other's events",
                    dups.join(", ")
                ),
                fix(sec),
            )
        } else if self_loop {
            check.result(
                s,
                None,
                Crit,
                format!("a channel's source has the same server_id {id} as this server"),
                fix(sec),
            )
        } else if !uuid_dups.is_empty() {
            check.result(s, None, Crit, format!("server_uuid also used by {} (cloned datadir)", uuid_dups.join(", ")), vec!["# stop the server, delete <datadir>/auto.cnf, start it (a new server_uuid is generated)".into()])
        } else {
            check.result(
                s,
                None,
                Pass,
                format!(
                    "server_id={id} unique among {} servers",
                    by_id.values().map(Vec::len).sum::<usize>()
                ),
                Vec::new(),
            )
        };
        all[i].push(r);
    }
}

fn reclone_fix(s: &ServerSnapshot, c: &ChannelStatus) -> Vec<String> {
    let maria = s.info.as_ref().is_some_and(|i| i.is_mariadb());
    let mut v =
        vec!["-- the source no longer has the binlogs this replica needs: re-seed it".to_string()];
    if maria {
        let q = format!("'{}'", c.name.replace('\'', "''"));
        v.push(format!("STOP SLAVE {q};"));
        v.push("-- restore a fresh backup of the source (mariadb-backup), then:".into());
        v.push("SET GLOBAL gtid_slave_pos = '<GTID position of the backup>';".into());
        v.push(format!("START SLAVE {q};"));
    } else {
        v.push("-- re-clone: CLONE INSTANCE FROM 'user'@'source':3306 IDENTIFIED BY '...'; (8.0.17+) or restore a backup".into());
        v.push(
            "-- then CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION=1; START REPLICA;".into(),
        );
    }
    v.push("-- and raise binlog retention on the source (P5)".into());
    v
}

/// P7 for one channel.
fn resume_channel(
    check: &Check,
    s: &ServerSnapshot,
    c: &ChannelStatus,
    snaps: &[ServerSnapshot],
) -> CheckResult {
    let chan = Some(c.display_name().to_string());
    let mk = |sev, why: String, fix| check.result(s, chan.clone(), sev, why, fix);
    if let Some(e) = c.last_io_error.as_ref().filter(|e| e.errno == 1236) {
        let short: String = e.message.chars().take(140).collect();
        return mk(Crit, format!("IO error 1236: {short}"), reclone_fix(s, c));
    }
    let Some(p) = source_of(s, c, snaps) else {
        let src = format!(
            "{}:{}",
            c.source_host.as_deref().unwrap_or("?"),
            c.source_port
                .map(|p| p.to_string())
                .unwrap_or_else(|| "?".into())
        );
        return mk(
            Info,
            format!("source {src} is not a configured server; add it to compare binlogs"),
            Vec::new(),
        );
    };
    if !p.is_connected() {
        return mk(
            Unknown,
            format!("source {} unreachable", p.name),
            Vec::new(),
        );
    }
    let pinfo = p.info.as_ref();
    let grant = pinfo
        .map(|i| i.binlog_grant())
        .unwrap_or("REPLICATION CLIENT");
    let maria = pinfo.is_some_and(|i| i.is_mariadb());
    let gtid_chan = c.auto_position == Some(true)
        || c.using_gtid
            .as_deref()
            .is_some_and(|u| !u.eq_ignore_ascii_case("no"));
    if gtid_chan && !maria {
        return by_gtid_set(&mk, s, c, p);
    }
    if gtid_chan && maria {
        return by_mariadb_gtid(&mk, s, c, p, grant);
    }
    by_binlog_file(&mk, s, c, p, grant)
}

/// P7 on MySQL GTID channels: GTID_SUBTRACT(source gtid_purged, replica gtid_executed).
fn by_gtid_set(
    mk: &impl Fn(Severity, String, Vec<String>) -> CheckResult,
    s: &ServerSnapshot,
    c: &ChannelStatus,
    p: &ServerSnapshot,
) -> CheckResult {
    let (Some(purged), Some(exec)) = (p.var("gtid_purged"), s.var("gtid_executed")) else {
        return mk(
            Unknown,
            "gtid_purged / gtid_executed not reported".into(),
            Vec::new(),
        );
    };
    match (GtidSet::parse(purged), GtidSet::parse(exec)) {
        (Ok(pu), Ok(ex)) => {
            let missing = pu.subtract(&ex);
            if missing.is_empty() {
                mk(
                    Pass,
                    format!("every GTID purged on {} is executed here", p.name),
                    Vec::new(),
                )
            } else {
                mk(
                    Crit,
                    format!(
                        "{} purged {} transactions this replica never executed: {}",
                        p.name,
                        missing.count(),
                        missing
                    ),
                    reclone_fix(s, c),
                )
            }
        }
        _ => mk(Unknown, "cannot parse GTID sets".into(), Vec::new()),
    }
}

/// P7 on MariaDB GTID channels: the replica's position against the GTID state at the start
/// of the source's oldest binlog (BINLOG_GTID_POS), per domain.
fn by_mariadb_gtid(
    mk: &impl Fn(Severity, String, Vec<String>) -> CheckResult,
    s: &ServerSnapshot,
    c: &ChannelStatus,
    p: &ServerSnapshot,
    grant: &str,
) -> CheckResult {
    let Some(start) = p.oldest_binlog_gtid_pos.as_deref() else {
        return match p
            .probe_errors
            .get(&Probe::BinaryLogs)
            .or(p.probe_errors.get(&Probe::BinlogGtidPos))
        {
            Some(e) if e.is_privilege() => {
                let mut r = mk(
                    Unknown,
                    format!("cannot read binlogs on {}: {e}", p.name),
                    vec![format!(
                        "GRANT {grant} ON *.* TO '<monitor user>'@'<host>';"
                    )],
                );
                r.missing_grant = Some(grant.to_string());
                r
            }
            Some(e) => mk(
                Unknown,
                format!("cannot read binlogs on {}: {e}", p.name),
                Vec::new(),
            ),
            None => mk(
                Unknown,
                format!("oldest binlog GTID position of {} unknown", p.name),
                Vec::new(),
            ),
        };
    };
    let have = c
        .executed_gtid
        .as_deref()
        .or(s.var("gtid_slave_pos"))
        .unwrap_or("");
    match (MariaPos::parse(start), MariaPos::parse(have)) {
        (Ok(need), Ok(h)) => {
            let miss = h.missing_against(&need);
            if miss.is_empty() {
                let oldest = p
                    .binlogs
                    .as_ref()
                    .and_then(|b| b.first())
                    .map(|b| b.name.as_str())
                    .unwrap_or("?");
                mk(
                    Pass,
                    format!(
                        "position {have} is within {}'s binlogs (oldest {oldest} starts after {})",
                        p.name,
                        if start.is_empty() { "nothing" } else { start }
                    ),
                    Vec::new(),
                )
            } else {
                let d: Vec<String> = miss
                    .iter()
                    .map(|(d, h, n)| {
                        format!(
                            "domain {d}: replica at {}, oldest binlog starts after {n}",
                            h.map(|x| x.to_string()).unwrap_or_else(|| "none".into())
                        )
                    })
                    .collect();
                mk(
                    Crit,
                    format!(
                        "{} purged binlogs this replica still needs ({})",
                        p.name,
                        d.join("; ")
                    ),
                    reclone_fix(s, c),
                )
            }
        }
        _ => mk(Unknown, "cannot parse GTID positions".into(), Vec::new()),
    }
}

/// P7 on file/position channels: the applier's source binlog must still exist on the source.
fn by_binlog_file(
    mk: &impl Fn(Severity, String, Vec<String>) -> CheckResult,
    s: &ServerSnapshot,
    c: &ChannelStatus,
    p: &ServerSnapshot,
    grant: &str,
) -> CheckResult {
    let Some(list) = p.binlogs.as_ref() else {
        return match p.probe_errors.get(&Probe::BinaryLogs) {
            Some(e) if e.is_privilege() => {
                let mut r = mk(
                    Unknown,
                    format!("cannot list binlogs on {}: {e}", p.name),
                    vec![format!(
                        "GRANT {grant} ON *.* TO '<monitor user>'@'<host>';"
                    )],
                );
                r.missing_grant = Some(grant.to_string());
                r
            }
            _ => mk(
                Unknown,
                format!("binlog list of {} unknown", p.name),
                Vec::new(),
            ),
        };
    };
    let Some(file) = c.relay_source_log_file.as_deref() else {
        return mk(
            Unknown,
            "Relay_Source_Log_File not reported".into(),
            Vec::new(),
        );
    };
    if list.iter().any(|b| b.name == file) {
        return mk(Pass, format!("{file} still on {}", p.name), Vec::new());
    }
    match list.first() {
        Some(first) if file < first.name.as_str() => mk(
            Crit,
            format!(
                "{file} already purged on {} (oldest {})",
                p.name, first.name
            ),
            reclone_fix(s, c),
        ),
        _ => mk(
            Unknown,
            format!("{file} not in {}'s binlog list", p.name),
            Vec::new(),
        ),
    }
}

/// P9 for one replica.
fn errant_on(check: &Check, s: &ServerSnapshot, snaps: &[ServerSnapshot]) -> Option<CheckResult> {
    let chans: Vec<&ChannelStatus> = s.channels.iter().filter(|c| !c.group_replication).collect();
    if chans.is_empty() {
        return None;
    }
    let sources: Vec<&ServerSnapshot> = chans
        .iter()
        .filter_map(|c| source_of(s, c, snaps))
        .collect();
    let maria = s.info.as_ref()?.is_mariadb();
    let mk = |sev, why: String, fix: Vec<String>| Some(check.result(s, None, sev, why, fix));
    if maria {
        let own = s.var("server_id")?;
        let pos = MariaPos::parse(s.var("gtid_binlog_pos")?).ok()?;
        let local: Vec<String> = pos
            .0
            .iter()
            .filter(|(_, (srv, _))| srv.to_string() == own)
            .map(|(d, (srv, q))| format!("{d}-{srv}-{q}"))
            .collect();
        return if local.is_empty() {
            mk(
                Pass,
                "no GTIDs with this replica's own server_id in its binlog".into(),
                Vec::new(),
            )
        } else {
            mk(
                Warn,
                format!("local writes on the replica: {}", local.join(",")),
                vec!["-- investigate the local transactions; then set read_only = ON".into()],
            )
        };
    }
    if sources.len() != chans.len() || sources.iter().any(|p| !p.is_connected()) {
        return None;
    }
    let mut union = String::new();
    for p in &sources {
        union.push_str(p.var("gtid_executed")?);
        union.push(',');
    }
    let mine = GtidSet::parse(s.var("gtid_executed")?).ok()?;
    let theirs = GtidSet::parse(&union).ok()?;
    let extra = mine.subtract(&theirs);
    if extra.is_empty() {
        mk(
            Pass,
            "every executed GTID comes from a source".into(),
            Vec::new(),
        )
    } else {
        mk(Warn, format!("{} transactions not on any source: {extra}", extra.count()), vec!["-- investigate, then inject empty transactions on the source or re-clone; set super_read_only = ON".into()])
    }
}
