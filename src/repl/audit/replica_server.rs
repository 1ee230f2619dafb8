//! Replica-side checks R10–R16: how the replica server behaves around replication (parallel
//! applier commit order, its own binlog durability, read-only, skipped errors, relay log
//! space, failure detection, log_replica_updates). One function per catalogue row.

use super::replica::{async_channels, workers};
use super::{ServerCheck, Severity};
use crate::repl::snapshot::parse_bool;

use Severity::*;

/// R10: parallel applier commit order (MySQL 5.7+).
pub(super) fn commit_order(ctx: &mut ServerCheck) {
    let info = ctx.info;
    let w = workers(ctx);
    if w <= 0.0 {
        ctx.report(Pass, "single-threaded applier".into(), Vec::new());
        return;
    }
    let pco = ctx.s.var_any(&[
        "replica_preserve_commit_order",
        "slave_preserve_commit_order",
    ]);
    let typ = ctx
        .s
        .var_any(&["replica_parallel_type", "slave_parallel_type"]);
    let pco_on = pco.is_some_and(|(_, v)| parse_bool(v) == Some(true));
    let typ_ok = typ.is_none_or(|(_, v)| v.eq_ignore_ascii_case("LOGICAL_CLOCK"));
    if pco_on && typ_ok {
        ctx.report(
            Pass,
            format!("{w} workers, commit order preserved"),
            Vec::new(),
        );
        return;
    }
    let pname = info.var_name(
        "replica_preserve_commit_order",
        "slave_preserve_commit_order",
    );
    let tname = info.var_name("replica_parallel_type", "slave_parallel_type");
    let mut lines = vec![format!("{pname} = ON")];
    if !typ_ok {
        lines.push(format!("{tname} = LOGICAL_CLOCK"));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let fix = ctx.cnf(&refs);
    ctx.report(
        Warn,
        format!("{w} workers without preserved commit order: gaps after a crash"),
        fix,
    );
}

/// R11: the replica's own binlog durability (when it writes one).
pub(super) fn binlog_durability(ctx: &mut ServerCheck) {
    if ctx.var_bool("log_bin") != Some(true) {
        return;
    }
    let sb = ctx.var("sync_binlog").unwrap_or("?").trim().to_string();
    let fl = ctx
        .var("innodb_flush_log_at_trx_commit")
        .unwrap_or("?")
        .trim()
        .to_string();
    if sb == "1" && fl == "1" {
        ctx.report(
            Pass,
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
        ctx.report(Warn, format!("log_bin=ON with sync_binlog={sb}, innodb_flush_log_at_trx_commit={fl}: binlog and InnoDB can diverge after a crash"), fix);
    }
}

/// R12: read_only (and super_read_only where the server has it).
pub(super) fn read_only(ctx: &mut ServerCheck) {
    let ro = ctx.var_bool("read_only");
    let sro = ctx.var_bool("super_read_only");
    let has_sro = ctx.var("super_read_only").is_some();
    if ro == Some(true) && (!has_sro || sro == Some(true)) {
        let why = if has_sro {
            "read_only=ON, super_read_only=ON"
        } else {
            "read_only=ON"
        };
        ctx.report(Pass, why.into(), Vec::new());
        return;
    }
    if ro.is_none() {
        ctx.report(Unknown, "read_only not reported".into(), Vec::new());
        return;
    }
    let (lines, sql): (Vec<&str>, Vec<&str>) = if has_sro {
        (
            vec!["read_only = ON", "super_read_only = ON"],
            vec!["SET GLOBAL super_read_only = ON;"],
        )
    } else {
        (vec!["read_only = ON"], vec!["SET GLOBAL read_only = ON;"])
    };
    let fix = ctx.cnf_and_sql(&lines, &sql);
    let sro_text = if has_sro {
        format!(
            ", super_read_only={}",
            ctx.var("super_read_only").unwrap_or("?")
        )
    } else {
        String::new()
    };
    ctx.report(
        Warn,
        format!(
            "read_only={}{sro_text}: local writes create errant transactions",
            ctx.var("read_only").unwrap_or("?"),
        ),
        fix,
    );
}

/// R13: replica_skip_errors / slave_skip_errors.
pub(super) fn skip_errors(ctx: &mut ServerCheck) {
    let Some((name, v)) = ctx.s.var_any(&["replica_skip_errors", "slave_skip_errors"]) else {
        return;
    };
    if v.is_empty() || v.eq_ignore_ascii_case("OFF") {
        ctx.report(Pass, format!("{name}=OFF"), Vec::new());
    } else {
        let fix = ctx.cnf(&[&format!("# remove the {name} = {v} line, then restart")]);
        ctx.report(
            Crit,
            format!("{name}={v}: errors are skipped silently and data diverges"),
            fix,
        );
    }
}

/// R14: relay_log_space_limit.
pub(super) fn relay_log_space_limit(ctx: &mut ServerCheck) {
    let Some(v) = ctx.var("relay_log_space_limit") else {
        return;
    };
    if v.trim() == "0" {
        ctx.report(Pass, "relay_log_space_limit=0".into(), Vec::new());
    } else {
        let fix = ctx.cnf(&["relay_log_space_limit = 0"]);
        ctx.report(Warn, format!("relay_log_space_limit={v}: the receiver stops early, newest transactions exist only on the source"), fix);
    }
}

/// R15: how soon a dead source is noticed: the net timeout, and per channel the heartbeat.
pub(super) fn failure_detection(ctx: &mut ServerCheck) {
    if let Some((name, v)) = ctx.s.var_any(&["replica_net_timeout", "slave_net_timeout"]) {
        let secs: f64 = v.trim().parse().unwrap_or(0.0);
        if secs <= 60.0 {
            ctx.report(Pass, format!("{name}={v}s"), Vec::new());
        } else {
            let sev = if secs >= 3600.0 { Warn } else { Info };
            let fix = ctx.cnf_and_sql(
                &[&format!("{name} = 60")],
                &[&format!("SET GLOBAL {name} = 60;")],
            );
            ctx.report(
                sev,
                format!("{name}={v}s: a dead source is noticed late"),
                fix,
            );
        }
    }
    for c in async_channels(ctx) {
        if c.heartbeat_period == Some(0.0) {
            let q = format!("'{}'", c.name.replace('\'', "''"));
            ctx.report_chan(
                c.display_name(),
                Info,
                "Slave_heartbeat_period=0: no heartbeats, idle links look healthy".into(),
                vec![
                    format!("STOP SLAVE {q};"),
                    format!("CHANGE MASTER {q} TO MASTER_HEARTBEAT_PERIOD=5;"),
                    format!("START SLAVE {q};"),
                ],
            );
        }
    }
}

/// R16: log_replica_updates / log_slave_updates (WARN when this replica has replicas).
pub(super) fn log_replica_updates(ctx: &mut ServerCheck) {
    let Some((name, v)) = ctx.s.var_any(&["log_replica_updates", "log_slave_updates"]) else {
        return;
    };
    if parse_bool(v) == Some(true) {
        ctx.report(Pass, format!("{name}=ON"), Vec::new());
        return;
    }
    let has_replicas = ctx.has_replicas;
    let sev = if has_replicas { Warn } else { Info };
    let why = if has_replicas {
        format!("{name}=OFF while this replica has replicas: they miss its applied changes")
    } else {
        format!("{name}=OFF: this replica cannot be promoted or chained without a restart")
    };
    let fix = ctx.cnf(&[&format!("{name} = ON")]);
    ctx.report(sev, why, fix);
}
