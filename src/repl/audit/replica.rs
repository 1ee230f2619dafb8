//! Replica-side crash-safety checks R0 and R1–R16 of the catalogue (R17 is cross-server, in
//! `cross`). Input: one replica's snapshot; output: `CheckResult`s pushed into the context.

use super::{Ctx, Severity};
use crate::repl::flavor::Version;
use crate::repl::snapshot::Probe;
use crate::repl::status::ChannelStatus;

use Severity::*;

fn async_channels<'a>(ctx: &Ctx<'a>) -> Vec<&'a ChannelStatus> {
    ctx.s
        .channels
        .iter()
        .filter(|c| !c.group_replication)
        .collect()
}

/// Every channel positions by GTID (MySQL auto-position / MariaDB Using_Gtid ≠ No).
fn all_gtid(ctx: &Ctx) -> bool {
    let ch = async_channels(ctx);
    !ch.is_empty()
        && ch.iter().all(|c| {
            c.auto_position == Some(true)
                || c.using_gtid
                    .as_deref()
                    .is_some_and(|u| !u.eq_ignore_ascii_case("no"))
        })
}

fn workers(ctx: &Ctx) -> f64 {
    ctx.s
        .var_any(&[
            "replica_parallel_workers",
            "slave_parallel_workers",
            "slave_parallel_threads",
        ])
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0.0)
}

pub(super) fn check(ctx: &mut Ctx, has_replicas: bool) {
    let info = ctx.info;
    if let Some(e) = ctx.s.probe_errors.get(&Probe::ReplicaStatus).cloned() {
        let grant = info.status_grant();
        if e.is_privilege() {
            ctx.unknown(
                "R0",
                "replica status readable",
                format!("{} failed: {e}", info.replica_status_sql()),
                grant,
            );
        } else {
            ctx.push(
                "R0",
                Unknown,
                "replica status readable",
                format!("{} failed: {e}", info.replica_status_sql()),
                Vec::new(),
            );
        }
    }
    let mysql = info.is_mysql_family();
    let gtid = all_gtid(ctx);
    let recovery = ctx.var_bool("relay_log_recovery");
    let mut file_repo = !mysql; // MariaDB always keeps master.info / relay-log.info files

    // R1 / R2 / R3: MySQL repositories (removed in 8.3).
    if mysql {
        let removed = info.version >= Version::new(8, 3, 0);
        match ctx.var("relay_log_info_repository") {
            None if removed => ctx.push(
                "R1",
                Pass,
                "applier metadata repository",
                "relay_log_info_repository removed in 8.3: applier position always in InnoDB mysql.slave_relay_log_info".into(),
                Vec::new(),
            ),
            None => ctx.push(
                "R1",
                Unknown,
                "applier metadata repository",
                "relay_log_info_repository not reported by SHOW GLOBAL VARIABLES".into(),
                Vec::new(),
            ),
            Some(v) if v.eq_ignore_ascii_case("TABLE") => ctx.push(
                "R1",
                Pass,
                "applier metadata repository",
                "relay_log_info_repository=TABLE: position committed with the data".into(),
                Vec::new(),
            ),
            Some(v) => {
                file_repo = true;
                let sev = if gtid { Warn } else { Crit };
                let fix = if info.version >= Version::new(8, 0, 0) {
                    ctx.cnf(&["# delete the relay_log_info_repository = FILE line (TABLE is the default since 8.0.2)"])
                } else {
                    ctx.cnf(&["relay_log_info_repository = TABLE"])
                };
                ctx.push(
                    "R1",
                    sev,
                    "applier metadata repository",
                    format!("relay_log_info_repository={v}: a crash can replay or skip a transaction"),
                    fix,
                );
            }
        }
        match ctx.var("master_info_repository") {
            None => {}
            Some(v) if v.eq_ignore_ascii_case("TABLE") => ctx.push(
                "R2",
                Pass,
                "connection metadata repository",
                "master_info_repository=TABLE".into(),
                Vec::new(),
            ),
            Some(v) => {
                let sev = if recovery == Some(true) { Info } else { Warn };
                let fix = if info.version >= Version::new(8, 0, 0) {
                    ctx.cnf(&["# delete the master_info_repository = FILE line (TABLE is the default since 8.0.2)"])
                } else {
                    ctx.cnf(&["master_info_repository = TABLE"])
                };
                ctx.push(
                    "R2",
                    sev,
                    "connection metadata repository",
                    format!("master_info_repository={v}: not crash-consistent, keeps the replication password in a plain file"),
                    fix,
                );
            }
        }
        if info.version < Version::new(8, 0, 0)
            && ctx
                .var("relay_log_info_repository")
                .is_some_and(|v| v.eq_ignore_ascii_case("TABLE"))
        {
            check_repo_engines(ctx);
        }
    }

    // R4 relay_log_recovery
    let mta = workers(ctx) > 0.0;
    match recovery {
        Some(true) => ctx.push(
            "R4",
            Pass,
            "relay log recovery",
            "relay_log_recovery=ON: relay logs are discarded and re-fetched after a crash".into(),
            Vec::new(),
        ),
        Some(false) => {
            let maria_gtid = !mysql && gtid;
            let sev = if maria_gtid {
                Info
            } else if gtid || mta {
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
            ctx.push("R4", sev, "relay log recovery", why, fix);
        }
        None => ctx.push(
            "R4",
            Unknown,
            "relay log recovery",
            "relay_log_recovery not reported".into(),
            Vec::new(),
        ),
    }

    // R5 GTID positioning, per channel
    let gtid_mode_on = ctx
        .var("gtid_mode")
        .is_some_and(|v| v.eq_ignore_ascii_case("ON"));
    for c in async_channels(ctx) {
        let chan = c.display_name().to_string();
        if mysql {
            if !gtid_mode_on {
                continue;
            }
            match c.auto_position {
                Some(true) => ctx.push_chan(
                    "R5",
                    &chan,
                    Pass,
                    "GTID auto-position",
                    "Auto_Position=1".into(),
                    Vec::new(),
                ),
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
                    ctx.push_chan("R5", &chan, Warn, "GTID auto-position", "gtid_mode=ON but Auto_Position=0: position after a crash depends on file coordinates".into(), vec![stop, sql, start]);
                }
                None => ctx.push_chan(
                    "R5",
                    &chan,
                    Unknown,
                    "GTID auto-position",
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
                Some(u) if u.eq_ignore_ascii_case("slave_pos") => ctx.push_chan("R5", &chan, Pass, "GTID positioning", "Using_Gtid=Slave_Pos".into(), Vec::new()),
                Some(u) if u.eq_ignore_ascii_case("current_pos") => ctx.push_chan("R5", &chan, Info, "GTID positioning", "Using_Gtid=Current_Pos (deprecated 10.10): local transactions can break positioning".into(), fix),
                Some(u) => ctx.push_chan("R5", &chan, Warn, "GTID positioning", format!("Using_Gtid={u}: file/position replication, not crash-safe by GTID"), fix),
                None => ctx.push_chan("R5", &chan, Unknown, "GTID positioning", "Using_Gtid not reported".into(), Vec::new()),
            }
        }
    }

    // R6 MariaDB gtid_slave_pos engine
    if !mysql {
        let rows: Vec<_> = ctx
            .s
            .tables
            .iter()
            .filter(|t| t.table.starts_with("gtid_slave_pos"))
            .cloned()
            .collect();
        if rows.iter().all(|t| t.engine.is_none()) {
            ctx.unknown(
                "R6",
                "gtid_slave_pos engine",
                "information_schema shows no mysql.gtid_slave_pos row (hidden without privilege)"
                    .into(),
                "SELECT ON mysql.gtid_slave_pos",
            );
        } else {
            let bad: Vec<String> = rows
                .iter()
                .filter_map(|t| {
                    let e = t.engine.as_deref()?;
                    (!["innodb", "rocksdb", "tokudb"].contains(&e.to_ascii_lowercase().as_str()))
                        .then(|| format!("{}={e}", t.table))
                })
                .collect();
            if bad.is_empty() {
                ctx.push(
                    "R6",
                    Pass,
                    "gtid_slave_pos engine",
                    "mysql.gtid_slave_pos is transactional (InnoDB)".into(),
                    Vec::new(),
                );
            } else {
                ctx.push(
                    "R6",
                    Crit,
                    "gtid_slave_pos engine",
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
    }

    // R7 / R8 / R9 sync_* knobs: informational with safe repositories + recovery.
    let risky = file_repo && recovery != Some(true) && !gtid;
    let smi = info.var_name("sync_source_info", "sync_master_info");
    for (id, names, title) in [
        (
            "R7",
            [smi, "sync_master_info"],
            "sync_source_info / sync_master_info",
        ),
        (
            "R8",
            ["sync_relay_log_info", "sync_relay_log_info"],
            "sync_relay_log_info",
        ),
        ("R9", ["sync_relay_log", "sync_relay_log"], "sync_relay_log"),
    ] {
        let Some((name, v)) = ctx.s.var_any(&names) else {
            continue;
        };
        let line = format!("{name} = 1");
        if v.trim() == "1" {
            ctx.push(id, Pass, title, format!("{name}=1"), Vec::new());
        } else if risky && id != "R9" {
            let fix = ctx.cnf_and_sql(&[&line], &[&format!("SET GLOBAL {name} = 1;")]);
            ctx.push(id, Warn, title, format!("{name}={v} with file metadata, position-based replication and relay_log_recovery=OFF: position lost on crash"), fix);
        } else {
            ctx.push(id, Info, title, format!("{name}={v}: not needed with crash-safe metadata + relay_log_recovery (one fsync per event otherwise)"), Vec::new());
        }
    }

    // R10 parallel applier commit order (MySQL 5.7+)
    if mysql && info.version >= Version::new(5, 7, 0) {
        let w = workers(ctx);
        if w > 0.0 {
            let pco = ctx.s.var_any(&[
                "replica_preserve_commit_order",
                "slave_preserve_commit_order",
            ]);
            let typ = ctx
                .s
                .var_any(&["replica_parallel_type", "slave_parallel_type"]);
            let pco_on =
                pco.is_some_and(|(_, v)| crate::repl::snapshot::parse_bool(v) == Some(true));
            let typ_ok = typ.is_none_or(|(_, v)| v.eq_ignore_ascii_case("LOGICAL_CLOCK"));
            let pname = info.var_name(
                "replica_preserve_commit_order",
                "slave_preserve_commit_order",
            );
            if pco_on && typ_ok {
                ctx.push(
                    "R10",
                    Pass,
                    "parallel applier commit order",
                    format!("{w} workers, commit order preserved"),
                    Vec::new(),
                );
            } else {
                let tname = info.var_name("replica_parallel_type", "slave_parallel_type");
                let mut lines = vec![format!("{pname} = ON")];
                if !typ_ok {
                    lines.push(format!("{tname} = LOGICAL_CLOCK"));
                }
                let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
                let fix = ctx.cnf(&refs);
                ctx.push(
                    "R10",
                    Warn,
                    "parallel applier commit order",
                    format!("{w} workers without preserved commit order: gaps after a crash"),
                    fix,
                );
            }
        } else {
            ctx.push(
                "R10",
                Pass,
                "parallel applier commit order",
                "single-threaded applier".into(),
                Vec::new(),
            );
        }
    }

    // R11 replica binlog durability
    if ctx.var_bool("log_bin") == Some(true) {
        let sb = ctx.var("sync_binlog").unwrap_or("?").trim().to_string();
        let fl = ctx
            .var("innodb_flush_log_at_trx_commit")
            .unwrap_or("?")
            .trim()
            .to_string();
        if sb == "1" && fl == "1" {
            ctx.push(
                "R11",
                Pass,
                "replica binlog durability",
                "sync_binlog=1, innodb_flush_log_at_trx_commit=1".into(),
                Vec::new(),
            );
        } else {
            let fix = ctx.cnf_and_sql(
                &["sync_binlog = 1", "innodb_flush_log_at_trx_commit = 1"],
                &[
                    "SET GLOBAL sync_binlog = 1;",
                    "SET GLOBAL innodb_flush_log_at_trx_commit = 1;",
                ],
            );
            ctx.push("R11", Warn, "replica binlog durability", format!("log_bin=ON with sync_binlog={sb}, innodb_flush_log_at_trx_commit={fl}: binlog and InnoDB can diverge after a crash"), fix);
        }
    }

    // R12 read-only
    let ro = ctx.var_bool("read_only");
    let sro = ctx.var_bool("super_read_only");
    let has_sro = ctx.var("super_read_only").is_some();
    if ro == Some(true) && (!has_sro || sro == Some(true)) {
        ctx.push(
            "R12",
            Pass,
            "read-only replica",
            if has_sro {
                "read_only=ON, super_read_only=ON".into()
            } else {
                "read_only=ON".into()
            },
            Vec::new(),
        );
    } else if ro.is_none() {
        ctx.push(
            "R12",
            Unknown,
            "read-only replica",
            "read_only not reported".into(),
            Vec::new(),
        );
    } else {
        let (lines, sql): (Vec<&str>, Vec<&str>) = if has_sro {
            (
                vec!["read_only = ON", "super_read_only = ON"],
                vec!["SET GLOBAL super_read_only = ON;"],
            )
        } else {
            (vec!["read_only = ON"], vec!["SET GLOBAL read_only = ON;"])
        };
        let fix = ctx.cnf_and_sql(&lines, &sql);
        ctx.push(
            "R12",
            Warn,
            "read-only replica",
            format!(
                "read_only={}{}: local writes create errant transactions",
                ctx.var("read_only").unwrap_or("?"),
                if has_sro {
                    format!(
                        ", super_read_only={}",
                        ctx.var("super_read_only").unwrap_or("?")
                    )
                } else {
                    String::new()
                }
            ),
            fix,
        );
    }

    // R13 skip errors
    if let Some((name, v)) = ctx.s.var_any(&["replica_skip_errors", "slave_skip_errors"]) {
        if v.is_empty() || v.eq_ignore_ascii_case("OFF") {
            ctx.push(
                "R13",
                Pass,
                "skip errors",
                format!("{name}=OFF"),
                Vec::new(),
            );
        } else {
            let fix = ctx.cnf(&[&format!("# remove the {name} = {v} line, then restart")]);
            ctx.push(
                "R13",
                Crit,
                "skip errors",
                format!("{name}={v}: errors are skipped silently and data diverges"),
                fix,
            );
        }
    }

    // R14 relay_log_space_limit
    if let Some(v) = ctx.var("relay_log_space_limit") {
        if v.trim() == "0" {
            ctx.push(
                "R14",
                Pass,
                "relay log space limit",
                "relay_log_space_limit=0".into(),
                Vec::new(),
            );
        } else {
            let fix = ctx.cnf(&["relay_log_space_limit = 0"]);
            ctx.push("R14", Warn, "relay log space limit", format!("relay_log_space_limit={v}: the receiver stops early, newest transactions exist only on the source"), fix);
        }
    }

    // R15 net timeout / heartbeat
    if let Some((name, v)) = ctx.s.var_any(&["replica_net_timeout", "slave_net_timeout"]) {
        let secs: f64 = v.trim().parse().unwrap_or(0.0);
        if secs <= 60.0 {
            ctx.push(
                "R15",
                Pass,
                "source failure detection",
                format!("{name}={v}s"),
                Vec::new(),
            );
        } else {
            let sev = if secs >= 3600.0 { Warn } else { Info };
            let fix = ctx.cnf_and_sql(
                &[&format!("{name} = 60")],
                &[&format!("SET GLOBAL {name} = 60;")],
            );
            ctx.push(
                "R15",
                sev,
                "source failure detection",
                format!("{name}={v}s: a dead source is noticed late"),
                fix,
            );
        }
    }
    for c in async_channels(ctx) {
        if c.heartbeat_period == Some(0.0) {
            let chan = c.display_name().to_string();
            let q = format!("'{}'", c.name.replace('\'', "''"));
            ctx.push_chan(
                "R15",
                &chan,
                Info,
                "source failure detection",
                "Slave_heartbeat_period=0: no heartbeats, idle links look healthy".into(),
                vec![
                    format!("STOP SLAVE {q};"),
                    format!("CHANGE MASTER {q} TO MASTER_HEARTBEAT_PERIOD=5;"),
                    format!("START SLAVE {q};"),
                ],
            );
        }
    }

    // R16 log_replica_updates
    if let Some((name, v)) = ctx.s.var_any(&["log_replica_updates", "log_slave_updates"]) {
        if crate::repl::snapshot::parse_bool(v) == Some(true) {
            ctx.push(
                "R16",
                Pass,
                "log replica updates",
                format!("{name}=ON"),
                Vec::new(),
            );
        } else {
            let sev = if has_replicas { Warn } else { Info };
            let why = if has_replicas {
                format!("{name}=OFF while this replica has replicas: they miss its applied changes")
            } else {
                format!("{name}=OFF: this replica cannot be promoted or chained without a restart")
            };
            let fix = ctx.cnf(&[&format!("{name} = ON")]);
            ctx.push("R16", sev, "log replica updates", why, fix);
        }
    }
}

/// R3: engines of mysql.slave_* tables on MySQL 5.x.
fn check_repo_engines(ctx: &mut Ctx) {
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
            "R3",
            "metadata table engine",
            "information_schema lists no mysql.slave_* table (hidden without privilege)".into(),
            "SELECT ON mysql.slave_relay_log_info",
        );
        return;
    }
    let bad: Vec<String> = listed
        .iter()
        .filter(|t| {
            !t.engine
                .as_deref()
                .unwrap_or("")
                .eq_ignore_ascii_case("InnoDB")
        })
        .map(|t| format!("{}={}", t.table, t.engine.as_deref().unwrap_or("?")))
        .collect();
    if bad.is_empty() {
        ctx.push(
            "R3",
            Pass,
            "metadata table engine",
            "mysql.slave_* tables are InnoDB".into(),
            Vec::new(),
        );
    } else {
        let mut fix = vec!["STOP SLAVE;".to_string()];
        for t in &listed {
            if !t
                .engine
                .as_deref()
                .unwrap_or("")
                .eq_ignore_ascii_case("InnoDB")
            {
                fix.push(format!("ALTER TABLE mysql.{} ENGINE=InnoDB;", t.table));
            }
        }
        fix.push("START SLAVE;".into());
        ctx.push(
            "R3",
            Crit,
            "metadata table engine",
            format!(
                "{}: position not updated atomically with the data",
                bad.join(", ")
            ),
            fix,
        );
    }
}
