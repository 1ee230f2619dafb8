//! Primary-side checks P1–P6, P8 and P10 of the catalogue (P7 and P9 compare servers and live
//! in `cross`). One function per catalogue row; input: one server's snapshot, output:
//! `CheckResult`s pushed into the context.

use super::{ServerCheck, Severity};
use crate::repl::config::ServerRole;
use crate::repl::flavor::Version;
use crate::repl::snapshot::{parse_bool, ServerSnapshot};

use Severity::*;

/// Is this server a source for replication (configured, or seen to have replicas, or a
/// non-replica with binary logging on)?
pub(super) fn is_primary(s: &ServerSnapshot, has_replicas: bool) -> bool {
    match s.role {
        ServerRole::Primary => true,
        ServerRole::Replica => has_replicas,
        ServerRole::Auto => {
            has_replicas || (!s.is_replica() && s.var_bool("log_bin") == Some(true))
        }
    }
}

const TWO_WEEKS: f64 = 1_209_600.0;

fn binlog_on(ctx: &ServerCheck) -> bool {
    ctx.var_bool("log_bin") == Some(true)
}

/// P1: log_bin (CRIT when the server has, or is configured to have, replicas).
pub(super) fn binary_log(ctx: &mut ServerCheck) {
    match ctx.var_bool("log_bin") {
        Some(true) => ctx.report(Pass, "log_bin=ON".into(), Vec::new()),
        Some(false) => {
            let sev = if ctx.has_replicas || ctx.s.role == ServerRole::Primary {
                Crit
            } else {
                Info
            };
            let fix = ctx.cnf(&["log_bin = binlog", "# restart required"]);
            ctx.report(
                sev,
                "log_bin=OFF: no replication, no point-in-time recovery".into(),
                fix,
            );
        }
        None => ctx.report(Unknown, "log_bin not reported".into(), Vec::new()),
    }
}

/// P2: sync_binlog (with the binary log on).
pub(super) fn sync_binlog(ctx: &mut ServerCheck) {
    if !binlog_on(ctx) {
        return;
    }
    let Some(v) = ctx.var("sync_binlog") else {
        return;
    };
    if v.trim() == "1" {
        ctx.report(Pass, "sync_binlog=1".into(), Vec::new());
        return;
    }
    let note = if ctx.info.is_mariadb() && v.trim() == "0" {
        " (MariaDB default)"
    } else {
        ""
    };
    let fix = ctx.cnf_and_sql(&["sync_binlog = 1"], &["SET GLOBAL sync_binlog = 1;"]);
    ctx.report(
        Warn,
        format!("sync_binlog={v}{note}: a crash can lose binlog events replicas already applied"),
        fix,
    );
}

/// P3: innodb_flush_log_at_trx_commit.
pub(super) fn innodb_durability(ctx: &mut ServerCheck) {
    let Some(v) = ctx.var("innodb_flush_log_at_trx_commit") else {
        return;
    };
    if v.trim() == "1" {
        ctx.report(Pass, "innodb_flush_log_at_trx_commit=1".into(), Vec::new());
        return;
    }
    let fix = ctx.cnf_and_sql(
        &["innodb_flush_log_at_trx_commit = 1"],
        &["SET GLOBAL innodb_flush_log_at_trx_commit = 1;"],
    );
    ctx.report(Warn, format!("innodb_flush_log_at_trx_commit={v}: committed transactions can vanish on crash while replicas have them"), fix);
}

/// P4: binlog_format (with the binary log on).
pub(super) fn binlog_format(ctx: &mut ServerCheck) {
    if !binlog_on(ctx) {
        return;
    }
    let Some(v) = ctx.var("binlog_format") else {
        return;
    };
    let fix = ctx.cnf(&["binlog_format = ROW"]);
    match v.to_ascii_uppercase().as_str() {
        "ROW" => ctx.report(Pass, "binlog_format=ROW".into(), Vec::new()),
        "STATEMENT" => ctx.report(
            Warn,
            "binlog_format=STATEMENT: non-deterministic statements diverge replicas".into(),
            fix,
        ),
        _ => ctx.report(
            Info,
            format!("binlog_format={v}: row events are deterministic, prefer ROW"),
            fix,
        ),
    }
}

/// P5: time-based binlog retention (with the binary log on).
pub(super) fn time_retention(ctx: &mut ServerCheck) {
    if !binlog_on(ctx) {
        return;
    }
    let info = ctx.info;
    let (secs, name) = retention(ctx);
    let modern =
        info.mysql_at_least(Version::new(8, 0, 0)) || info.mariadb_at_least(Version::new(10, 6, 1));
    let fix = if modern {
        ctx.cnf_and_sql(
            &["binlog_expire_logs_seconds = 1209600"],
            &["SET GLOBAL binlog_expire_logs_seconds = 1209600;"],
        )
    } else {
        ctx.cnf_and_sql(
            &["expire_logs_days = 14"],
            &["SET GLOBAL expire_logs_days = 14;"],
        )
    };
    match secs {
        None => ctx.report(
            Unknown,
            "no binlog expiry variable reported".into(),
            Vec::new(),
        ),
        Some(s) if s <= 0.0 => ctx.report(
            Info,
            format!("{name}=0: binlogs never expire (watch disk space)"),
            Vec::new(),
        ),
        Some(s) if s < 7.0 * 86400.0 => ctx.report(
            Warn,
            format!(
                "binlogs kept {}: a replica down longer cannot resume (error 1236)",
                days(s)
            ),
            fix,
        ),
        Some(s) if s < TWO_WEEKS => ctx.report(
            Info,
            format!(
                "binlogs kept {}; two weeks survive a long replica outage",
                days(s)
            ),
            fix,
        ),
        Some(s) => ctx.report(Pass, format!("binlogs kept {}", days(s)), Vec::new()),
    }
}

/// P6: size-based binlog purging (Percona binlog_space_limit, MariaDB max_binlog_total_size).
pub(super) fn size_retention(ctx: &mut ServerCheck) {
    if !binlog_on(ctx) {
        return;
    }
    for name in ["binlog_space_limit", "max_binlog_total_size"] {
        let Some(v) = ctx.var(name) else {
            continue;
        };
        let n: f64 = v.trim().parse().unwrap_or(0.0);
        if n > 0.0 {
            let sev = if n < 10.0 * 1024.0 * 1024.0 * 1024.0 {
                Warn
            } else {
                Info
            };
            let fix = ctx.cnf(&[&format!("{name} = 0")]);
            ctx.report(
                sev,
                format!(
                    "{name}={v}: old binlogs are purged by size even if a replica still needs them"
                ),
                fix,
            );
        } else {
            ctx.report(Pass, format!("{name}=0"), Vec::new());
        }
    }
}

/// P10: semi-sync enabled but fallen back to async (with the binary log on).
pub(super) fn semi_sync(ctx: &mut ServerCheck) {
    if !binlog_on(ctx) {
        return;
    }
    let Some((name, v)) = ctx.s.var_any(&[
        "rpl_semi_sync_source_enabled",
        "rpl_semi_sync_master_enabled",
    ]) else {
        return;
    };
    if parse_bool(v) != Some(true) {
        return;
    }
    let status = ctx
        .s
        .status_vars
        .get("Rpl_semi_sync_source_status")
        .or_else(|| ctx.s.status_vars.get("Rpl_semi_sync_master_status"))
        .map(String::as_str);
    match status.and_then(parse_bool) {
        Some(true) => ctx.report(Pass, format!("{name}=ON and active"), Vec::new()),
        Some(false) => ctx.report(
            Warn,
            format!("{name}=ON but status OFF: silently fell back to async"),
            Vec::new(),
        ),
        None => ctx.report(
            Unknown,
            "semi-sync status counter not reported".into(),
            Vec::new(),
        ),
    }
}

/// Effective time-based retention in seconds and the variable it came from.
fn retention(ctx: &ServerCheck) -> (Option<f64>, &'static str) {
    let num = |n: &str| ctx.var(n).and_then(|v| v.trim().parse::<f64>().ok());
    if ctx.var_bool("binlog_expire_logs_auto_purge") == Some(false) {
        return (Some(0.0), "binlog_expire_logs_auto_purge");
    }
    let secs = num("binlog_expire_logs_seconds");
    let days = num("expire_logs_days");
    match (secs, days) {
        (Some(s), _) if s > 0.0 => (Some(s), "binlog_expire_logs_seconds"),
        (_, Some(d)) if d > 0.0 => (Some(d * 86400.0), "expire_logs_days"),
        (Some(s), _) => (Some(s), "binlog_expire_logs_seconds"),
        (None, Some(d)) => (Some(d), "expire_logs_days"),
        (None, None) => (None, "binlog_expire_logs_seconds"),
    }
}

fn days(s: f64) -> String {
    let d = s / 86400.0;
    if d >= 1.0 {
        format!("{d:.1} days")
    } else {
        format!("{:.1} hours", s / 3600.0)
    }
}

/// P8: GTID configuration, on replicas and primaries.
pub(super) fn gtid_config(ctx: &mut ServerCheck) {
    if ctx.info.is_mysql_family() {
        let (Some(mode), consistency) = (ctx.var("gtid_mode"), ctx.var("enforce_gtid_consistency"))
        else {
            return;
        };
        let ok = mode.eq_ignore_ascii_case("ON")
            && consistency.is_some_and(|c| c.eq_ignore_ascii_case("ON"));
        if ok {
            ctx.report(
                Pass,
                "gtid_mode=ON, enforce_gtid_consistency=ON".into(),
                Vec::new(),
            );
        } else {
            let fix = ctx.cnf(&["gtid_mode = ON", "enforce_gtid_consistency = ON"]);
            ctx.report(Warn, format!("gtid_mode={mode}, enforce_gtid_consistency={}: no auto-positioning or errant-transaction detection", consistency.unwrap_or("?")), fix);
        }
    } else if let Some(v) = ctx.var("gtid_strict_mode") {
        if parse_bool(v) == Some(true) {
            ctx.report(Pass, "gtid_strict_mode=ON".into(), Vec::new());
        } else {
            let fix = ctx.cnf_and_sql(
                &["gtid_strict_mode = ON"],
                &["SET GLOBAL gtid_strict_mode = ON;"],
            );
            ctx.report(
                Warn,
                "gtid_strict_mode=OFF: out-of-order or duplicate GTIDs are accepted".into(),
                fix,
            );
        }
    }
}
