//! Replica-side checks R0–R9: where the replica keeps its position and how it gets it back
//! after a crash (metadata repositories and their engines, relay log recovery, GTID
//! positioning, the `sync_*` knobs). One function per catalogue row; R10–R16 are in
//! `replica_server`, R17 (cross-server) in `cross`.

use super::{ServerCheck, Severity};
use crate::repl::flavor::Version;
use crate::repl::snapshot::Probe;
use crate::repl::status::ChannelStatus;

use Severity::*;

pub(super) fn async_channels<'a>(ctx: &ServerCheck<'a>) -> Vec<&'a ChannelStatus> {
    ctx.s
        .channels
        .iter()
        .filter(|c| !c.group_replication)
        .collect()
}

/// Every channel positions by GTID (MySQL auto-position / MariaDB Using_Gtid ≠ No).
fn all_gtid(ctx: &ServerCheck) -> bool {
    let ch = async_channels(ctx);
    !ch.is_empty()
        && ch.iter().all(|c| {
            c.auto_position == Some(true)
                || c.using_gtid
                    .as_deref()
                    .is_some_and(|u| !u.eq_ignore_ascii_case("no"))
        })
}

pub(super) fn workers(ctx: &ServerCheck) -> f64 {
    ctx.s
        .var_any(&[
            "replica_parallel_workers",
            "slave_parallel_workers",
            "slave_parallel_threads",
        ])
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0.0)
}

/// The applier position is kept in files: always on MariaDB (master.info / relay-log.info),
/// on MySQL when `relay_log_info_repository` is reported and not TABLE.
fn file_repo(ctx: &ServerCheck) -> bool {
    !ctx.info.is_mysql_family()
        || ctx
            .var("relay_log_info_repository")
            .is_some_and(|v| !v.eq_ignore_ascii_case("TABLE"))
}

/// R0: the replica status statement could be read.
pub(super) fn status_readable(ctx: &mut ServerCheck) {
    let info = ctx.info;
    let Some(e) = ctx.s.probe_errors.get(&Probe::ReplicaStatus).cloned() else {
        return;
    };
    let why = format!("{} failed: {e}", info.replica_status_sql());
    if e.is_privilege() {
        ctx.unknown(why, info.status_grant());
    } else {
        ctx.report(Unknown, why, Vec::new());
    }
}

/// R1: MySQL applier metadata repository (the variable is removed in 8.3).
pub(super) fn applier_repository(ctx: &mut ServerCheck) {
    let info = ctx.info;
    let removed = info.version >= Version::new(8, 3, 0);
    match ctx.var("relay_log_info_repository") {
        None if removed => ctx.report(
            Pass,
            "relay_log_info_repository removed in 8.3: applier position always in InnoDB mysql.slave_relay_log_info".into(),
            Vec::new(),
        ),
        None => ctx.report(
            Unknown,
            "relay_log_info_repository not reported by SHOW GLOBAL VARIABLES".into(),
            Vec::new(),
        ),
        Some(v) if v.eq_ignore_ascii_case("TABLE") => ctx.report(
            Pass,
            "relay_log_info_repository=TABLE: position committed with the data".into(),
            Vec::new(),
        ),
        Some(v) => {
            let sev = if all_gtid(ctx) { Warn } else { Crit };
            let fix = if info.version >= Version::new(8, 0, 0) {
                ctx.cnf(&["# delete the relay_log_info_repository = FILE line (TABLE is the default since 8.0.2)"])
            } else {
                ctx.cnf(&["relay_log_info_repository = TABLE"])
            };
            ctx.report(
                sev,
                format!("relay_log_info_repository={v}: a crash can replay or skip a transaction"),
                fix,
            );
        }
    }
}

/// R2: MySQL connection metadata repository.
pub(super) fn connection_repository(ctx: &mut ServerCheck) {
    let Some(v) = ctx.var("master_info_repository") else {
        return;
    };
    if v.eq_ignore_ascii_case("TABLE") {
        ctx.report(Pass, "master_info_repository=TABLE".into(), Vec::new());
        return;
    }
    let sev = if ctx.var_bool("relay_log_recovery") == Some(true) {
        Info
    } else {
        Warn
    };
    let fix = if ctx.info.version >= Version::new(8, 0, 0) {
        ctx.cnf(&[
            "# delete the master_info_repository = FILE line (TABLE is the default since 8.0.2)",
        ])
    } else {
        ctx.cnf(&["master_info_repository = TABLE"])
    };
    ctx.report(
        sev,
        format!("master_info_repository={v}: not crash-consistent, keeps the replication password in a plain file"),
        fix,
    );
}

/// R3: engines of the mysql.slave_* tables on MySQL 5.x with TABLE repositories.
pub(super) fn repository_engines(ctx: &mut ServerCheck) {
    if !ctx
        .var("relay_log_info_repository")
        .is_some_and(|v| v.eq_ignore_ascii_case("TABLE"))
    {
        return;
    }
    let wanted = [
        "slave_relay_log_info",
        "slave_master_info",
        "slave_worker_info",
    ];
    let listed: Vec<_> = ctx
        .s
        .tables
        .iter()
        .filter(|t| wanted.contains(&t.table.as_str()) && t.engine.is_some())
        .cloned()
        .collect();
    if listed.is_empty() {
        ctx.unknown(
            "information_schema lists no mysql.slave_* table (hidden without privilege)".into(),
            "SELECT ON mysql.slave_relay_log_info",
        );
        return;
    }
    let innodb = |e: Option<&str>| e.unwrap_or("").eq_ignore_ascii_case("InnoDB");
    let bad: Vec<String> = listed
        .iter()
        .filter(|t| !innodb(t.engine.as_deref()))
        .map(|t| format!("{}={}", t.table, t.engine.as_deref().unwrap_or("?")))
        .collect();
    if bad.is_empty() {
        ctx.report(Pass, "mysql.slave_* tables are InnoDB".into(), Vec::new());
        return;
    }
    let mut fix = vec!["STOP SLAVE;".to_string()];
    for t in listed.iter().filter(|t| !innodb(t.engine.as_deref())) {
        fix.push(format!("ALTER TABLE mysql.{} ENGINE=InnoDB;", t.table));
    }
    fix.push("START SLAVE;".into());
    ctx.report(
        Crit,
        format!(
            "{}: position not updated atomically with the data",
            bad.join(", ")
        ),
        fix,
    );
}

/// R4: relay_log_recovery.
pub(super) fn relay_log_recovery(ctx: &mut ServerCheck) {
    match ctx.var_bool("relay_log_recovery") {
        Some(true) => ctx.report(
            Pass,
            "relay_log_recovery=ON: relay logs are discarded and re-fetched after a crash".into(),
            Vec::new(),
        ),
        Some(false) => {
            let gtid = all_gtid(ctx);
            let maria_gtid = !ctx.info.is_mysql_family() && gtid;
            let sev = if maria_gtid {
                Info
            } else if gtid || workers(ctx) > 0.0 {
                Warn
            } else {
                Crit
            };
            let why = if maria_gtid {
                "relay_log_recovery=OFF; MariaDB GTID (Slave_Pos) re-fetches from the durable position anyway".to_string()
            } else {
                "relay_log_recovery=OFF: a relay log torn by a crash is reused".to_string()
            };
            let fix = ctx.cnf(&["relay_log_recovery = ON"]);
            ctx.report(sev, why, fix);
        }
        None => ctx.report(
            Unknown,
            "relay_log_recovery not reported".into(),
            Vec::new(),
        ),
    }
}

/// R5: GTID positioning, per channel (MySQL auto-position with gtid_mode=ON; MariaDB
/// Using_Gtid).
pub(super) fn gtid_positioning(ctx: &mut ServerCheck) {
    let info = ctx.info;
    let mysql = info.is_mysql_family();
    if mysql
        && !ctx
            .var("gtid_mode")
            .is_some_and(|v| v.eq_ignore_ascii_case("ON"))
    {
        return;
    }
    for c in async_channels(ctx) {
        let chan = c.display_name();
        if mysql {
            match c.auto_position {
                Some(true) => ctx.report_chan(chan, Pass, "Auto_Position=1".into(), Vec::new()),
                Some(false) => {
                    let for_ch = if c.name.is_empty() {
                        String::new()
                    } else {
                        format!(" FOR CHANNEL '{}'", c.name)
                    };
                    let sql = if info.mysql_at_least(Version::new(8, 0, 23)) {
                        format!("CHANGE REPLICATION SOURCE TO SOURCE_AUTO_POSITION=1{for_ch};")
                    } else {
                        format!("CHANGE MASTER TO MASTER_AUTO_POSITION=1{for_ch};")
                    };
                    let stop = info.stop_all_sql().to_string();
                    let start = info.start_all_sql().to_string();
                    ctx.report_chan(chan, Warn, "gtid_mode=ON but Auto_Position=0: position after a crash depends on file coordinates".into(), vec![stop, sql, start]);
                }
                None => ctx.report_chan(
                    chan,
                    Unknown,
                    "Auto_Position not reported".into(),
                    Vec::new(),
                ),
            }
        } else {
            let quoted = format!("'{}'", c.name.replace('\'', "''"));
            let fix = vec![
                format!("STOP SLAVE {quoted};"),
                format!("CHANGE MASTER {quoted} TO MASTER_USE_GTID=slave_pos;"),
                format!("START SLAVE {quoted};"),
            ];
            match c.using_gtid.as_deref() {
                Some(u) if u.eq_ignore_ascii_case("slave_pos") => ctx.report_chan(chan, Pass, "Using_Gtid=Slave_Pos".into(), Vec::new()),
                Some(u) if u.eq_ignore_ascii_case("current_pos") => ctx.report_chan(chan, Info, "Using_Gtid=Current_Pos (deprecated 10.10): local transactions can break positioning".into(), fix),
                Some(u) => ctx.report_chan(chan, Warn, format!("Using_Gtid={u}: file/position replication, not crash-safe by GTID"), fix),
                None => ctx.report_chan(chan, Unknown, "Using_Gtid not reported".into(), Vec::new()),
            }
        }
    }
}

/// R6: MariaDB mysql.gtid_slave_pos must be transactional.
pub(super) fn gtid_slave_pos_engine(ctx: &mut ServerCheck) {
    let rows: Vec<_> = ctx
        .s
        .tables
        .iter()
        .filter(|t| t.table.starts_with("gtid_slave_pos"))
        .cloned()
        .collect();
    if rows.iter().all(|t| t.engine.is_none()) {
        ctx.unknown(
            "information_schema shows no mysql.gtid_slave_pos row (hidden without privilege)"
                .into(),
            "SELECT ON mysql.gtid_slave_pos",
        );
        return;
    }
    let bad: Vec<String> = rows
        .iter()
        .filter_map(|t| {
            let e = t.engine.as_deref()?;
            (!["innodb", "rocksdb", "tokudb"].contains(&e.to_ascii_lowercase().as_str()))
                .then(|| format!("{}={e}", t.table))
        })
        .collect();
    if bad.is_empty() {
        ctx.report(
            Pass,
            "mysql.gtid_slave_pos is transactional (InnoDB)".into(),
            Vec::new(),
        );
    } else {
        ctx.report(
            Crit,
            format!(
                "{} is not transactional: stored GTID can disagree with data after a crash",
                bad.join(", ")
            ),
            vec![
                "STOP ALL SLAVES;".into(),
                "ALTER TABLE mysql.gtid_slave_pos ENGINE=InnoDB;".into(),
                "START ALL SLAVES;".into(),
            ],
        );
    }
}

/// R7: sync_source_info / sync_master_info.
pub(super) fn sync_source_info(ctx: &mut ServerCheck) {
    let smi = ctx.info.var_name("sync_source_info", "sync_master_info");
    sync_knob(ctx, [smi, "sync_master_info"], true);
}

/// R8: sync_relay_log_info.
pub(super) fn sync_relay_log_info(ctx: &mut ServerCheck) {
    sync_knob(ctx, ["sync_relay_log_info"; 2], true);
}

/// R9: sync_relay_log (never more than INFO).
pub(super) fn sync_relay_log(ctx: &mut ServerCheck) {
    sync_knob(ctx, ["sync_relay_log"; 2], false);
}

/// The `sync_*` knobs: informational with crash-safe repositories + recovery; WARN (when
/// `may_warn`) with file metadata, position-based replication and relay_log_recovery=OFF.
fn sync_knob(ctx: &mut ServerCheck, names: [&str; 2], may_warn: bool) {
    let Some((name, v)) = ctx.s.var_any(&names) else {
        return;
    };
    let risky =
        file_repo(ctx) && ctx.var_bool("relay_log_recovery") != Some(true) && !all_gtid(ctx);
    if v.trim() == "1" {
        ctx.report(Pass, format!("{name}=1"), Vec::new());
    } else if risky && may_warn {
        let line = format!("{name} = 1");
        let fix = ctx.cnf_and_sql(&[&line], &[&format!("SET GLOBAL {name} = 1;")]);
        ctx.report(Warn, format!("{name}={v} with file metadata, position-based replication and relay_log_recovery=OFF: position lost on crash"), fix);
    } else {
        ctx.report(Info, format!("{name}={v}: not needed with crash-safe metadata + relay_log_recovery (one fsync per event otherwise)"), Vec::new());
    }
}
