//! MariaDB 10.11 captures from the lab (tests/fixtures/mysql/mariadb/): healthy pair and every
//! scenario, through parsing → verdict → audit → report.

#[path = "repl_common/mod.rs"]
mod common;

use common::*;
use stacktop::repl::audit::{self, Severity};
use stacktop::repl::snapshot::{Probe, QueryError};
use stacktop::repl::{report, verdict, LagThresholds, LiveSeverity, ServerSnapshot, ThreadState};

fn find<'a>(
    r: &'a [audit::CheckResult],
    id: &str,
    server: &str,
    chan: Option<&str>,
) -> &'a audit::CheckResult {
    r.iter()
        .find(|c| {
            c.id == id && c.server == server && (chan.is_none() || c.channel.as_deref() == chan)
        })
        .unwrap_or_else(|| panic!("no {id} for {server} {chan:?} in {r:#?}"))
}

fn scenario(file: &str) -> ServerSnapshot {
    maria_replica(maria_rows(file, "scenario", true))
}

fn repaired(file: &str, needle: &str) -> ServerSnapshot {
    maria_replica(maria_rows(file, needle, true))
}

#[test]
fn healthy_pair_all_channels_running_and_audit_matches_settings() {
    let rep = maria_replica(healthy_rows());
    let pri = maria_primary("");
    assert_eq!(rep.channels.len(), 2);
    assert_eq!(rep.channels[0].name, "");
    assert_eq!(rep.channels[1].name, "src2");
    for c in &rep.channels {
        assert_eq!(c.io_running, ThreadState::Yes);
        assert_eq!(c.sql_running, ThreadState::Yes);
        assert_eq!(c.lag_seconds, Some(0));
        assert_eq!(c.using_gtid.as_deref(), Some("Slave_Pos"));
        assert_eq!(c.executed_gtid.as_deref(), Some("0-1-3,1-3-3"));
    }
    assert_eq!(rep.channels[1].source_port, Some(23308));
    assert_eq!(rep.channels[0].relay_log_space, Some(1572));
    let v = verdict::judge(&rep, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Ok, "{v:?}");

    let snaps = vec![pri, rep];
    let res = audit::run(&snaps);
    assert_eq!(find(&res, "R4", "replica", None).severity, Severity::Pass);
    assert_eq!(find(&res, "R6", "replica", None).severity, Severity::Pass);
    assert_eq!(
        find(&res, "R5", "replica", Some("src2")).severity,
        Severity::Pass
    );
    assert_eq!(find(&res, "R12", "replica", None).severity, Severity::Pass);
    assert_eq!(find(&res, "R7", "replica", None).severity, Severity::Info);
    assert_eq!(find(&res, "P2", "primary", None).severity, Severity::Pass);
    assert_eq!(find(&res, "P5", "primary", None).severity, Severity::Pass);
    assert_eq!(find(&res, "R17", "replica", None).severity, Severity::Pass);
    // default connection comes from the configured primary: binlogs all there
    assert_eq!(
        find(&res, "P7", "replica", Some("(default)")).severity,
        Severity::Pass
    );
    // src2's source (primary2) is not configured
    assert_eq!(
        find(&res, "P7", "replica", Some("src2")).severity,
        Severity::Info
    );
    // MariaDB has no *_info_repository: R1/R2 do not apply
    assert!(res.iter().all(|c| c.id != "R1" && c.id != "R2"));
    assert!(
        res.iter().all(|c| c.severity < Severity::Unknown),
        "{res:#?}"
    );

    let r = report::build(&snaps, &LagThresholds::default());
    let (line, code) = report::nagios(&r);
    assert_eq!(code, 0, "{line}");
    // only the replica replicates; the primary is counted apart
    assert!(
        line.starts_with("REPL OK - 1 of 2 servers replicating (1 not a replica)"),
        "{line}"
    );
    assert!(line.contains("replicating=1"), "{line}");
}

#[test]
fn io_thread_stopped_is_crit_and_lag_unknown() {
    let rep = scenario("scenario-io-stop.txt");
    let c = &rep.channels[0];
    assert_eq!(c.io_running, ThreadState::No);
    assert_eq!(c.sql_running, ThreadState::Yes);
    assert_eq!(c.lag_seconds, None, "NULL lag must stay unknown, never 0");
    let v = verdict::judge(&rep, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Crit);
    assert!(v.reason.contains("IO thread stopped"), "{}", v.reason);

    let after = repaired("scenario-io-stop.txt", "after START SLAVE IO_THREAD");
    assert_eq!(
        verdict::judge(&after, &LagThresholds::default()).level,
        LiveSeverity::Ok
    );
}

#[test]
fn sql_error_shows_errno_and_text_everywhere() {
    let rep = scenario("scenario-sql-error.txt");
    let c = &rep.channels[0];
    assert_eq!(c.sql_running, ThreadState::No);
    let e = c.last_sql_error.as_ref().unwrap();
    assert_eq!(e.errno, 1062);
    assert!(e
        .message
        .contains("Duplicate entry '501' for key 'PRIMARY'"));
    assert_eq!(e.timestamp, None, "MariaDB has no error timestamp column");
    assert_eq!(c.retried_transactions, Some(1));
    let v = verdict::judge(&rep, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Crit);
    assert!(
        v.reason.contains("1062") && v.reason.contains("Duplicate entry"),
        "{}",
        v.reason
    );

    let snaps = vec![maria_primary(""), rep];
    let r = report::build(&snaps, &LagThresholds::default());
    let j: serde_json::Value = serde_json::from_str(&report::json(&r)).unwrap();
    assert_eq!(j["exit_code"], 2);
    assert_eq!(j["servers"][0]["name"], "replica", "broken first");
    assert_eq!(j["servers"][0]["verdict"]["level"], "CRIT");
    assert_eq!(
        j["servers"][0]["channels"][0]["last_sql_error"]["errno"],
        1062
    );
    let (line, code) = report::nagios(&r);
    assert_eq!(code, 2);
    assert!(
        line.starts_with(
            "REPL CRITICAL - 1 of 2 servers replicating (1 not a replica); replica CRIT: \
             channel (default): SQL thread error: 1062"
        ),
        "{line}"
    );
    assert!(!line.contains('\n'));
    assert!(report::text(&r).contains("SQL error 1062"));

    let fixed = repaired("scenario-sql-error.txt", "repair");
    assert_eq!(
        verdict::judge(&fixed, &LagThresholds::default()).level,
        LiveSeverity::Ok
    );
}

#[test]
fn primary_killed_is_connecting_with_2003_not_stopped() {
    let mut rep = scenario("scenario-primary-kill.txt");
    let c = &rep.channels[0];
    assert_eq!(c.io_running, ThreadState::Connecting);
    assert_eq!(c.last_io_error.as_ref().unwrap().errno, 2003);
    assert!(c
        .last_io_error
        .as_ref()
        .unwrap()
        .message
        .contains("Connection refused"));
    let t = LagThresholds::default();
    let v = verdict::judge(&rep, &t);
    assert_eq!(
        v.level,
        LiveSeverity::Warn,
        "fresh reconnect attempts are WARN: {v:?}"
    );
    assert!(v.reason.contains("connecting") && v.reason.contains("2003"));
    // Still connecting after the threshold (first seen by stacktop long ago) → CRIT.
    rep.channels[0].last_io_error.as_mut().unwrap().first_seen =
        Some(rep.taken_at - chrono::Duration::seconds(t.connecting_crit_seconds + 1));
    assert_eq!(verdict::judge(&rep, &t).level, LiveSeverity::Crit);

    let back = repaired("scenario-primary-kill.txt", "restart primary");
    assert_eq!(back.channels[0].io_running, ThreadState::Yes);
    assert_eq!(verdict::judge(&back, &t).level, LiveSeverity::Ok);
}

#[test]
fn binlog_purge_gives_1236_and_p7_crit() {
    let rep = scenario("scenario-binlog-purge.txt");
    let c = &rep.channels[0];
    assert_eq!(c.io_running, ThreadState::No);
    assert_eq!(c.last_io_error.as_ref().unwrap().errno, 1236);
    assert_eq!(
        verdict::judge(&rep, &LagThresholds::default()).level,
        LiveSeverity::Crit
    );
    let snaps = vec![maria_primary("0-1-410"), rep.clone()];
    let res = audit::run(&snaps);
    let p7 = find(&res, "P7", "replica", Some("(default)"));
    assert_eq!(p7.severity, Severity::Crit);
    assert!(p7.why.contains("1236"));
    assert!(p7.fix.iter().any(|f| f.contains("gtid_slave_pos")));

    // The direct position comparison finds it even before the IO thread hits 1236.
    let mut quiet = rep;
    quiet.channels[0].last_io_error = None;
    let res = audit::run(&[maria_primary("0-1-410"), quiet.clone()]);
    let p7 = find(&res, "P7", "replica", Some("(default)"));
    assert_eq!(p7.severity, Severity::Crit, "{p7:?}");
    assert!(p7.why.contains("domain 0: replica at 409"), "{}", p7.why);
    let res = audit::run(&[maria_primary("0-1-409"), quiet]);
    assert_eq!(
        find(&res, "P7", "replica", Some("(default)")).severity,
        Severity::Pass
    );
}

#[test]
fn sql_thread_stopped_cleanly_is_warn_and_delay_is_not_lag() {
    let stop = scenario("scenario-sql-stop.txt");
    let v = verdict::judge(&stop, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Warn);
    assert!(v.reason.contains("SQL thread stopped"));

    let delayed = scenario("scenario-delay.txt");
    let c = &delayed.channels[0];
    assert_eq!(c.lag_seconds, Some(3));
    assert_eq!(c.sql_delay, Some(4));
    assert_eq!(c.sql_remaining_delay, Some(2));
    assert_eq!(c.effective_lag(), Some(0.0));
    let tight = LagThresholds {
        warn_seconds: 1.0,
        crit_seconds: 2.0,
        ..LagThresholds::default()
    };
    assert_eq!(verdict::judge(&delayed, &tight).level, LiveSeverity::Ok);
}

#[test]
fn broken_named_connection_never_hides_behind_healthy_default() {
    // `SHOW SLAVE STATUS` shows only the default connection (what check_mysql saw) ...
    let default_only = maria_rows("status-healthy.txt", "SHOW SLAVE STATUS (default", true);
    assert_eq!(default_only.len(), 1);
    // ... the collector uses SHOW ALL SLAVES STATUS, so a broken src2 is judged.
    let mut rows = healthy_rows();
    set(&mut rows, "src2", "Slave_SQL_Running", Some("No"));
    set(&mut rows, "src2", "Last_SQL_Errno", Some("1062"));
    set(
        &mut rows,
        "src2",
        "Last_SQL_Error",
        Some("Could not execute Write_rows_v1 event on table lab2.t; Duplicate entry"),
    );
    set(&mut rows, "src2", "Seconds_Behind_Master", None);
    let rep = maria_replica(rows);
    let v = verdict::judge(&rep, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Crit);
    assert!(v.reason.starts_with("channel src2:"), "{}", v.reason);
    assert_eq!(v.channels[0].channel, "src2", "broken channel first");
    assert_eq!(v.channels[1].level, LiveSeverity::Ok);
    let r = report::build(&[maria_primary(""), rep], &LagThresholds::default());
    assert_eq!(report::nagios(&r).1, 2);
}

#[test]
fn missing_grants_are_unknown_and_named() {
    let mut rep = maria_replica(healthy_rows());
    rep.channels.clear();
    rep.probe_errors.insert(
        Probe::ReplicaStatus,
        QueryError::new(Some(1227), "Access denied; you need (at least one of) the SUPER, SLAVE MONITOR privilege(s) for this operation"),
    );
    rep.tables.clear(); // information_schema hides gtid_slave_pos without a privilege
    let v = verdict::judge(&rep, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Warn);
    assert!(v.reason.contains("SLAVE MONITOR"), "{}", v.reason);
    let mut pri = maria_primary("");
    pri.binlogs = None;
    pri.oldest_binlog_gtid_pos = None;
    pri.probe_errors.insert(
        Probe::BinaryLogs,
        QueryError::new(Some(1227), "Access denied; you need BINLOG MONITOR"),
    );
    let res = audit::run(&[pri, rep]);
    let r0 = find(&res, "R0", "replica", None);
    assert_eq!(r0.severity, Severity::Unknown);
    assert_eq!(r0.missing_grant.as_deref(), Some("SLAVE MONITOR"));
    let r6 = find(&res, "R6", "replica", None);
    assert_eq!(r6.severity, Severity::Unknown);
    assert_eq!(
        r6.missing_grant.as_deref(),
        Some("SELECT ON mysql.gtid_slave_pos")
    );

    // With status readable but the primary's binlog list not: P7 UNKNOWN naming BINLOG MONITOR.
    let mut pri = maria_primary("");
    pri.binlogs = None;
    pri.oldest_binlog_gtid_pos = None;
    pri.probe_errors.insert(
        Probe::BinaryLogs,
        QueryError::new(Some(1227), "Access denied"),
    );
    let res = audit::run(&[pri, maria_replica(healthy_rows())]);
    let p7 = find(&res, "P7", "replica", Some("(default)"));
    assert_eq!(p7.severity, Severity::Unknown);
    assert_eq!(p7.missing_grant.as_deref(), Some("BINLOG MONITOR"));
}

#[test]
fn changing_a_setting_changes_the_audit() {
    let mut pri = maria_primary("");
    let before = audit::run(&[pri.clone(), maria_replica(healthy_rows())]);
    assert_eq!(
        find(&before, "P2", "primary", None).severity,
        Severity::Pass
    );
    pri.variables.insert("sync_binlog".into(), "0".into());
    let after = audit::run(&[pri, maria_replica(healthy_rows())]);
    let p2 = find(&after, "P2", "primary", None);
    assert_eq!(p2.severity, Severity::Warn);
    assert!(p2.why.contains("MariaDB default"));
    assert_eq!(p2.fix[0], "[mariadbd]");
    assert_eq!(p2.fix[1], "sync_binlog = 1");
    let fixes = audit::fixes_for(&after, "primary");
    assert!(fixes.iter().any(|l| l == "SET GLOBAL sync_binlog = 1;"));
}

#[test]
fn unreachable_server_is_crit_and_unaudited() {
    let down = ServerSnapshot::unreachable(
        "primary",
        "127.0.0.1:23306",
        stacktop::repl::ServerRole::Primary,
        Some(maria_info()),
        at() - chrono::Duration::seconds(30),
        "Connection refused".into(),
    );
    let v = verdict::judge(&down, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Crit);
    assert!(v.reason.contains("unreachable"));
    let res = audit::run(&[down, maria_replica(healthy_rows())]);
    assert_eq!(
        find(&res, "C0", "primary", None).severity,
        Severity::Unknown
    );
    assert_eq!(
        find(&res, "P7", "replica", Some("(default)")).severity,
        Severity::Unknown
    );
    let all = verdict::judge_all(
        &[
            maria_replica(healthy_rows()),
            ServerSnapshot::unreachable(
                "a",
                "x:1",
                stacktop::repl::ServerRole::Auto,
                None,
                at(),
                "e".into(),
            ),
        ],
        &LagThresholds::default(),
    );
    assert_eq!(all[0].server, "a", "broken servers sort first");
}

#[test]
fn collector_keeps_first_seen_of_an_error_across_refreshes() {
    let mut seen = std::collections::HashMap::new();
    let mut first = scenario("scenario-primary-kill.txt");
    stacktop::repl::collector::stamp_first_seen(&mut first, &mut seen);
    let t0 = first.channels[0]
        .last_io_error
        .as_ref()
        .unwrap()
        .first_seen
        .unwrap();
    assert_eq!(t0, first.taken_at);
    let mut later = scenario("scenario-primary-kill.txt");
    later.taken_at = first.taken_at + chrono::Duration::seconds(400);
    stacktop::repl::collector::stamp_first_seen(&mut later, &mut seen);
    assert_eq!(
        later.channels[0].last_io_error.as_ref().unwrap().first_seen,
        Some(t0)
    );
    assert_eq!(
        verdict::judge(&later, &LagThresholds::default()).level,
        LiveSeverity::Crit
    );
    // Error gone → forgotten, so a new outage starts a new clock.
    let mut ok = repaired("scenario-primary-kill.txt", "restart primary");
    stacktop::repl::collector::stamp_first_seen(&mut ok, &mut seen);
    assert!(seen.is_empty());
}

/// A server that replicates nothing and has no binary log is never a plain OK: WARN "not
/// replicating, no binary log"; with `role = "primary"` the audit's CRIT (P1) is the row's
/// verdict too; `--nagios` says "0 of 1 servers replicating".
#[test]
fn standalone_without_binlog_is_not_ok_and_the_row_follows_the_audit() {
    let mut s = maria_primary("");
    s.name = "solo".into();
    s.variables.insert("log_bin".into(), "OFF".into());
    s.binlogs = None;
    let v = verdict::judge(&s, &LagThresholds::default());
    assert_eq!(v.level, LiveSeverity::Warn, "{v:?}");
    assert!(
        v.reason.starts_with("not replicating, no binary log"),
        "{v:?}"
    );
    let r = report::build(std::slice::from_ref(&s), &LagThresholds::default());
    let (line, code) = report::nagios(&r);
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("REPL WARNING - 0 of 1 servers replicating (1 not a replica)"),
        "{line}"
    );
    assert!(line.contains("replicating=0"), "{line}");

    // role = primary: the audit says CRIT (P1), so the row cannot say OK / WARN
    s.role = stacktop::repl::ServerRole::Primary;
    let checks = audit::run(std::slice::from_ref(&s));
    assert_eq!(find(&checks, "P1", "solo", None).severity, Severity::Crit);
    let row = verdict::with_audit(verdict::judge(&s, &LagThresholds::default()), &checks);
    assert_eq!(row.level, LiveSeverity::Crit, "{row:?}");
    assert!(row.reason.contains("audit CRIT P1"), "{row:?}");
    let r = report::build(std::slice::from_ref(&s), &LagThresholds::default());
    assert_eq!(r.servers[0].verdict.level, LiveSeverity::Crit);
    assert_eq!(report::nagios(&r).1, 2);
}

/// Credentials, not reachability: an unset password variable or access denied is UNKNOWN
/// (exit 3), a refused connection stays CRITICAL "unreachable".
#[test]
fn login_failures_are_unknown_not_unreachable() {
    let down = |err: &str| {
        ServerSnapshot::unreachable(
            "replica",
            "127.0.0.1:23307",
            stacktop::repl::ServerRole::Auto,
            None,
            at(),
            err.into(),
        )
    };
    for err in [
        "password: environment variable MONPW is not set",
        "ERROR 1045: Access denied for user 'monitor'@'localhost' (using password: YES)",
    ] {
        let s = down(err);
        let v = verdict::judge(&s, &LagThresholds::default());
        assert_eq!(v.level, LiveSeverity::Unknown, "{err}: {v:?}");
        assert!(v.reason.starts_with("cannot log in"), "{v:?}");
        let (line, code) = report::nagios(&report::build(&[s], &LagThresholds::default()));
        assert_eq!(code, 3, "{line}");
        assert!(line.starts_with("REPL UNKNOWN - 0 of 1"), "{line}");
        assert!(!line.contains("unreachable for"), "{line}");
    }
    let s = down("Connection refused (os error 111)");
    assert_eq!(
        verdict::judge(&s, &LagThresholds::default()).level,
        LiveSeverity::Crit
    );
}
