//! MySQL 5.7 / 8.0 / 8.4 fixtures written from the official column lists: statement choice,
//! parsing by name (old and new column names), version-aware audit (8.4 without the SLAVE
//! statements and repository variables), cross-server checks.

#[path = "repl_common/mod.rs"]
mod common;

use common::*;
use stacktop::repl::audit::{self, CheckResult, Severity};
use stacktop::repl::{
    report, verdict, Flavor, LagThresholds, LiveSeverity, ServerRole, ThreadState, Version,
};

fn find<'a>(r: &'a [CheckResult], id: &str, server: &str, chan: Option<&str>) -> &'a CheckResult {
    r.iter()
        .find(|c| {
            c.id == id && c.server == server && (chan.is_none() || c.channel.as_deref() == chan)
        })
        .unwrap_or_else(|| panic!("no {id} for {server} {chan:?} in {r:#?}"))
}

const U1: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";

#[test]
fn mysql57_old_names_and_unsafe_defaults() {
    let s = mysql("mysql57-replica.txt", "r57", "db57:3306", ServerRole::Auto);
    let info = s.info.as_ref().unwrap();
    assert_eq!(info.flavor, Flavor::MySql);
    assert_eq!(info.version, Version::new(5, 7, 44));
    assert_eq!(info.replica_status_sql(), "SHOW SLAVE STATUS");
    assert_eq!(s.status_rows[0].len(), 57, "5.7 has 57 status columns");
    let c = &s.channels[0];
    assert_eq!(c.io_running, ThreadState::Yes);
    assert_eq!(c.lag_seconds, Some(0));
    assert_eq!(c.source_host.as_deref(), Some("10.0.0.1"));
    assert_eq!(c.source_uuid.as_deref(), Some(U1));
    assert_eq!(c.auto_position, Some(false));
    assert_eq!(c.relay_source_log_file.as_deref(), Some("mysql-bin.000042"));
    assert_eq!(c.backlog_bytes(), Some(0));
    assert_eq!(
        verdict::judge(&s, &LagThresholds::default()).level,
        LiveSeverity::Ok
    );

    let res = audit::run(std::slice::from_ref(&s));
    let r1 = find(&res, "R1", "r57", None);
    assert_eq!(r1.severity, Severity::Crit, "FILE repository without GTID");
    assert_eq!(
        r1.fix,
        vec!["[mysqld]", "relay_log_info_repository = TABLE"]
    );
    assert_eq!(find(&res, "R2", "r57", None).severity, Severity::Warn);
    assert!(
        res.iter().all(|r| r.id != "R3"),
        "FILE repository: table engines do not matter"
    );
    assert_eq!(find(&res, "R4", "r57", None).severity, Severity::Crit);
    assert_eq!(
        find(&res, "R12", "r57", None).severity,
        Severity::Warn,
        "super_read_only OFF"
    );
    assert_eq!(find(&res, "R10", "r57", None).severity, Severity::Pass);
    assert_eq!(find(&res, "P8", "r57", None).severity, Severity::Warn);
    assert_eq!(
        find(&res, "R7", "r57", None).severity,
        Severity::Warn,
        "FILE + no recovery + positions"
    );
    // T1: innodb_table_stats listed but unreadable → CRIT with ordered recovery steps
    let t1 = find(&res, "T1", "r57", None);
    assert_eq!(t1.severity, Severity::Crit);
    assert!(t1.why.contains("innodb_table_stats") && t1.why.contains("1146"));
    let pos = |needle: &str| {
        t1.fix
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {:?}", t1.fix))
    };
    assert!(pos("DROP TABLE") < pos("DISCARD TABLESPACE"));
    assert!(pos("DISCARD TABLESPACE") < pos("remove leftover"));
    assert!(pos("remove leftover") < pos("restart"));
    assert!(t1.fix.iter().any(|l| l.contains(".ibd and .frm")));
    assert!(t1.fix.iter().any(|l| l.contains("mysql_upgrade --force")));
    assert_eq!(res[0].severity, Severity::Crit, "worst first");
}

#[test]
fn mysql57_myisam_repository_table_is_crit() {
    let mut s = mysql("mysql57-replica.txt", "r57", "db57:3306", ServerRole::Auto);
    s.variables
        .insert("relay_log_info_repository".into(), "TABLE".into());
    for t in &mut s.tables {
        if t.table == "slave_relay_log_info" {
            t.engine = Some("MyISAM".into());
        }
    }
    let res = audit::run(&[s]);
    let r3 = find(&res, "R3", "r57", None);
    assert_eq!(r3.severity, Severity::Crit);
    assert!(r3
        .fix
        .contains(&"ALTER TABLE mysql.slave_relay_log_info ENGINE=InnoDB;".to_string()));
    assert_eq!(r3.fix.first().map(String::as_str), Some("STOP SLAVE;"));
}

#[test]
fn mysql80_multi_source_channel_error_with_timestamp() {
    let s = mysql(
        "mysql80-replica.txt",
        "r80",
        "db80:3306",
        ServerRole::Replica,
    );
    let info = s.info.as_ref().unwrap();
    assert_eq!(info.replica_status_sql(), "SHOW REPLICA STATUS");
    assert_eq!(s.status_rows[0].len(), 60, "8.0.22+ has 60 status columns");
    assert_eq!(s.channels.len(), 2);
    let b = s.channels.iter().find(|c| c.name == "src_b").unwrap();
    assert_eq!(b.sql_running, ThreadState::No);
    let e = b.last_sql_error.as_ref().unwrap();
    assert_eq!(e.errno, 1062);
    assert_eq!(e.timestamp.as_deref(), Some("240611 09:14:07"));
    assert_eq!(b.lag_seconds, None);
    let d = &s.channels[0];
    assert_eq!(
        d.executed_gtid.as_deref(),
        Some(
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-1042,5d4e8a10-1111-11ee-8f00-0242ac110002:1-77"
        ),
        "multi-line GTID set joined"
    );
    let v = verdict::judge(&s, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Crit);
    assert!(
        v.reason
            .starts_with("channel src_b: SQL thread error: 1062"),
        "{}",
        v.reason
    );

    let res = audit::run(&[s]);
    for id in ["R1", "R2", "R4", "R10", "R12", "R13", "R14", "R16", "P8"] {
        assert_eq!(find(&res, id, "r80", None).severity, Severity::Pass, "{id}");
    }
    assert_eq!(
        find(&res, "R5", "r80", Some("src_b")).severity,
        Severity::Pass
    );
    assert_eq!(
        find(&res, "R7", "r80", None).why.split('=').next(),
        Some("sync_source_info")
    );
    assert!(res.iter().all(|r| r.id != "R3"), "R3 only applies to 5.x");
    // Sources are not configured: P7 says so instead of guessing.
    assert_eq!(
        find(&res, "P7", "r80", Some("src_b")).severity,
        Severity::Info
    );
}

#[test]
fn mysql80_group_replication_channel_is_not_judged() {
    let mut s = mysql(
        "mysql80-replica.txt",
        "r80",
        "db80:3306",
        ServerRole::Replica,
    );
    let mut gr = s.status_rows[0].clone();
    for (k, v) in gr.iter_mut() {
        match k.as_str() {
            "Channel_Name" => *v = Some("group_replication_applier".into()),
            "Replica_IO_Running" => *v = Some("No".into()),
            _ => {}
        }
    }
    s.channels
        .push(stacktop::repl::ChannelStatus::from_row(&gr));
    s.channels.retain(|c| c.name != "src_b");
    assert!(s.channels.iter().any(|c| c.group_replication));
    assert_eq!(
        verdict::judge(&s, &LagThresholds::default()).level,
        LiveSeverity::Ok
    );
}

#[test]
fn mysql84_without_slave_statements_or_repository_variables() {
    let rep = mysql(
        "mysql84-replica.txt",
        "r84",
        "db84-replica:3306",
        ServerRole::Auto,
    );
    let pri = mysql(
        "mysql84-primary.txt",
        "p84",
        "db84-primary:3306",
        ServerRole::Auto,
    );
    let info = rep.info.as_ref().unwrap();
    assert_eq!(info.replica_status_sql(), "SHOW REPLICA STATUS");
    assert_eq!(info.binlog_status_sql(), "SHOW BINARY LOG STATUS");
    assert_eq!(info.replica_hosts_sql(), "SHOW REPLICAS");
    assert!(rep.var("relay_log_info_repository").is_none());
    assert!(pri.channels.is_empty());
    assert_eq!(pri.binlogs.as_ref().unwrap().len(), 3);
    assert_eq!(pri.replica_hosts.as_ref().unwrap()[0].server_id, Some(12));

    let snaps = vec![pri.clone(), rep.clone()];
    let res = audit::run(&snaps);
    let r1 = find(&res, "R1", "r84", None);
    assert_eq!(r1.severity, Severity::Pass);
    assert!(r1.why.contains("removed in 8.3"));
    assert!(res.iter().all(|r| r.id != "R2"));
    assert_eq!(find(&res, "R7", "r84", None).why, "sync_source_info=10000: not needed with crash-safe metadata + relay_log_recovery (one fsync per event otherwise)");
    assert_eq!(
        find(&res, "R15", "r84", None).why,
        "replica_net_timeout=60s"
    );
    assert_eq!(
        find(&res, "P7", "r84", Some("(default)")).severity,
        Severity::Pass
    );
    assert_eq!(find(&res, "P9", "r84", None).severity, Severity::Pass);
    assert_eq!(find(&res, "R17", "p84", None).severity, Severity::Pass);
    for id in ["P1", "P2", "P3", "P4", "P5"] {
        assert_eq!(find(&res, id, "p84", None).severity, Severity::Pass, "{id}");
    }
    let r = report::build(&snaps, &LagThresholds::default());
    assert_eq!(r.exit_code, 0, "{}", report::text(&r));

    // The primary purged GTIDs the replica never executed → P7 CRIT with the missing set.
    let mut behind = rep.clone();
    behind
        .variables
        .insert("gtid_executed".into(), format!("{U1}:1-400"));
    let res = audit::run(&[pri.clone(), behind]);
    let p7 = find(&res, "P7", "r84", Some("(default)"));
    assert_eq!(p7.severity, Severity::Crit);
    assert!(p7.why.contains(&format!("{U1}:401-500")), "{}", p7.why);

    // Errant transaction on the replica → P9 WARN.
    let mut errant = rep.clone();
    errant.variables.insert(
        "gtid_executed".into(),
        format!("{U1}:1-1042,c0ffee00-8404-11ef-9a00-0242ac110004:1-2"),
    );
    let res = audit::run(&[pri.clone(), errant]);
    assert_eq!(find(&res, "P9", "r84", None).severity, Severity::Warn);

    // Duplicate server_id across the configured servers → R17 CRIT on both.
    let mut dup = rep;
    dup.variables.insert("server_id".into(), "1".into());
    let res = audit::run(&[pri, dup]);
    assert_eq!(find(&res, "R17", "r84", None).severity, Severity::Crit);
    assert_eq!(find(&res, "R17", "p84", None).severity, Severity::Crit);
}

#[test]
fn mysql84_retention_and_durability_rules_follow_the_values() {
    let mut pri = mysql(
        "mysql84-primary.txt",
        "p84",
        "db84-primary:3306",
        ServerRole::Primary,
    );
    pri.variables
        .insert("binlog_expire_logs_seconds".into(), "86400".into());
    pri.variables
        .insert("innodb_flush_log_at_trx_commit".into(), "2".into());
    pri.variables
        .insert("binlog_format".into(), "STATEMENT".into());
    let res = audit::run(&[pri]);
    let p5 = find(&res, "P5", "p84", None);
    assert_eq!(p5.severity, Severity::Warn);
    assert_eq!(p5.fix[1], "binlog_expire_logs_seconds = 1209600");
    assert_eq!(find(&res, "P3", "p84", None).severity, Severity::Warn);
    assert_eq!(find(&res, "P4", "p84", None).severity, Severity::Warn);
}

#[test]
fn status_privilege_error_on_mysql_names_replication_client() {
    let text = read("mysql84-replica.txt").replace(
        "===== SHOW REPLICA STATUS =====",
        "===== error: SHOW REPLICA STATUS =====\n1227\tAccess denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s) for this operation\n===== SHOW REPLICA STATUS =====",
    );
    let (info, raw) = stacktop::repl::capture::fixture_refresh(&text).unwrap();
    let s = stacktop::repl::snapshot::build("r84", "x:1", ServerRole::Replica, info, raw, at());
    let res = audit::run(&[s]);
    let r0 = find(&res, "R0", "r84", None);
    assert_eq!(r0.missing_grant.as_deref(), Some("REPLICATION CLIENT"));
    let r = report::build(
        &[mysql(
            "mysql84-replica.txt",
            "ok",
            "y:1",
            ServerRole::Replica,
        )],
        &LagThresholds::default(),
    );
    assert_eq!(report::nagios(&r).1, 0);
}
