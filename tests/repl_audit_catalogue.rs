//! The audit catalogue against the recorded fixtures: every check is listed once with its
//! versions, severity and fix; and the whole audit output over every recorded fixture (MySQL
//! 5.7 / 8.0 / 8.4 captures, every MariaDB lab scenario, plus one variant per setting a check
//! reads) is compared with a reviewed golden file, so a check that stops running, or changes
//! one byte of its output, fails here. `STACKTOP_BLESS=1` rewrites the golden file (review the
//! diff before committing it).

#[path = "repl_common/mod.rs"]
mod common;

use common::*;
use std::collections::BTreeSet;

use stacktop::repl::audit::{self, catalogue, catalogue::CATALOGUE};
use stacktop::repl::capture::{parse_vertical, sections};
use stacktop::repl::snapshot::{build, Probe};
use stacktop::repl::{QueryError, RowExt, ServerRole, ServerSnapshot};

const GOLDEN: &str = "tests/fixtures/mysql/audit-golden.txt";

fn set_var(mut s: ServerSnapshot, name: &str, val: &str) -> ServerSnapshot {
    s.variables.insert(name.into(), val.into());
    s
}

/// A named set of servers audited together; a variant is recorded as its difference from
/// the scenario at index `base` (keeps the golden file small and the diffs readable).
struct Scenario {
    name: String,
    base: Option<usize>,
    snaps: Vec<ServerSnapshot>,
}

#[derive(Default)]
struct Scenarios(Vec<Scenario>);

impl Scenarios {
    /// Add a full scenario; returns its index.
    fn full(&mut self, name: impl Into<String>, snaps: Vec<ServerSnapshot>) -> usize {
        self.0.push(Scenario {
            name: name.into(),
            base: None,
            snaps,
        });
        self.0.len() - 1
    }
    fn variant(&mut self, base: usize, name: impl Into<String>, snaps: Vec<ServerSnapshot>) {
        self.0.push(Scenario {
            name: name.into(),
            base: Some(base),
            snaps,
        });
    }
}

/// One snapshot per (variable, value) a check reads, on top of `base`.
fn variants(base: &ServerSnapshot, edits: &[(&str, &str)]) -> Vec<(String, ServerSnapshot)> {
    edits
        .iter()
        .map(|(k, v)| (format!("{k}={v}"), set_var(base.clone(), k, v)))
        .collect()
}

const MYSQL_EDITS: &[(&str, &str)] = &[
    ("relay_log_info_repository", "TABLE"),
    ("relay_log_info_repository", "FILE"),
    ("master_info_repository", "TABLE"),
    ("master_info_repository", "FILE"),
    ("relay_log_recovery", "ON"),
    ("relay_log_recovery", "OFF"),
    ("gtid_mode", "ON"),
    ("gtid_mode", "OFF"),
    ("enforce_gtid_consistency", "OFF"),
    ("sync_master_info", "1"),
    ("sync_source_info", "0"),
    ("sync_relay_log_info", "0"),
    ("sync_relay_log", "1"),
    ("sync_relay_log", "0"),
    ("slave_parallel_workers", "4"),
    ("replica_parallel_workers", "8"),
    ("slave_preserve_commit_order", "OFF"),
    ("replica_preserve_commit_order", "OFF"),
    ("slave_parallel_type", "DATABASE"),
    ("log_bin", "ON"),
    ("log_bin", "OFF"),
    ("sync_binlog", "0"),
    ("innodb_flush_log_at_trx_commit", "2"),
    ("read_only", "OFF"),
    ("super_read_only", "OFF"),
    ("slave_skip_errors", "1062"),
    ("replica_skip_errors", "OFF"),
    ("relay_log_space_limit", "1000000"),
    ("relay_log_space_limit", "0"),
    ("slave_net_timeout", "3600"),
    ("replica_net_timeout", "120"),
    ("log_slave_updates", "OFF"),
    ("log_replica_updates", "OFF"),
    ("binlog_format", "STATEMENT"),
    ("binlog_format", "MIXED"),
    ("binlog_expire_logs_seconds", "86400"),
    ("binlog_expire_logs_seconds", "0"),
    ("expire_logs_days", "10"),
    ("binlog_expire_logs_auto_purge", "OFF"),
    ("binlog_space_limit", "1073741824"),
    ("binlog_space_limit", "107374182400"),
    ("rpl_semi_sync_source_enabled", "ON"),
    ("rpl_semi_sync_master_enabled", "OFF"),
    ("server_id", "0"),
    ("server_id", "1"),
];

const MARIA_EDITS: &[(&str, &str)] = &[
    ("relay_log_recovery", "OFF"),
    ("relay_log_recovery", "ON"),
    ("gtid_strict_mode", "OFF"),
    ("gtid_strict_mode", "ON"),
    ("sync_master_info", "0"),
    ("sync_relay_log_info", "1"),
    ("sync_binlog", "0"),
    ("log_bin", "OFF"),
    ("read_only", "OFF"),
    ("slave_skip_errors", "ALL"),
    ("slave_net_timeout", "600"),
    ("slave_parallel_threads", "4"),
    ("log_slave_updates", "OFF"),
    ("max_binlog_total_size", "1048576"),
    ("expire_logs_days", "3"),
    ("binlog_expire_logs_seconds", "0"),
    ("rpl_semi_sync_master_enabled", "ON"),
    ("server_id", "1"),
];

fn maria_scenarios(out: &mut Scenarios) {
    let mut files: Vec<_> = std::fs::read_dir(format!(
        "{}/tests/fixtures/mysql/mariadb",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture dir")
    .map(|e| {
        e.expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned()
    })
    .filter(|n| n.starts_with("scenario-") || n.starts_with("status-"))
    .collect();
    files.sort();
    for f in files {
        for (title, body) in sections(&read(&format!("mariadb/{f}"))) {
            let rows = parse_vertical(&body);
            if rows.is_empty() || !rows.iter().all(|r| r.has("Slave_IO_Running")) {
                continue;
            }
            let name = format!("mariadb {f} / {title}");
            let base = out.full(
                name.clone(),
                vec![maria_primary(""), maria_replica(rows.clone())],
            );
            out.variant(
                base,
                format!("{name} / oldest binlog after 0-1-410"),
                vec![maria_primary("0-1-410"), maria_replica(rows)],
            );
        }
    }
}

/// Every recorded fixture, named, as the list of servers the audit sees together.
fn scenarios() -> Scenarios {
    let mut out = Scenarios::default();
    let r57 = mysql("mysql57-replica.txt", "r57", "db57:3306", ServerRole::Auto);
    let r80 = mysql(
        "mysql80-replica.txt",
        "r80",
        "db80:3306",
        ServerRole::Replica,
    );
    let r84 = mysql(
        "mysql84-replica.txt",
        "r84",
        "db84-replica:3306",
        ServerRole::Auto,
    );
    let p84 = mysql(
        "mysql84-primary.txt",
        "p84",
        "db84-primary:3306",
        ServerRole::Auto,
    );
    let b57 = out.full("mysql57 replica", vec![r57.clone()]);
    let b80 = out.full("mysql80 replica", vec![r80.clone()]);
    let pair = out.full("mysql84 pair", vec![p84.clone(), r84.clone()]);
    let mut pri = p84.clone();
    pri.role = ServerRole::Primary;
    out.full("mysql84 primary alone", vec![pri]);
    let mut myisam = set_var(r57.clone(), "relay_log_info_repository", "TABLE");
    for t in &mut myisam.tables {
        if t.table == "slave_relay_log_info" {
            t.engine = Some("MyISAM".into());
        }
    }
    out.variant(b57, "mysql57 MyISAM relay info", vec![myisam]);
    let mut hidden = set_var(r57.clone(), "relay_log_info_repository", "TABLE");
    hidden.tables.clear();
    out.variant(b57, "mysql57 tables hidden", vec![hidden]);
    let b84 = out.full("mysql84 replica", vec![r84.clone()]);
    for (base, s, name) in [
        (b57, &r57, "mysql57"),
        (b80, &r80, "mysql80"),
        (b84, &r84, "mysql84"),
    ] {
        for (what, s) in variants(s, MYSQL_EDITS) {
            out.variant(base, format!("{name} replica {what}"), vec![s]);
        }
    }
    for (what, s) in variants(&p84, MYSQL_EDITS) {
        out.variant(
            pair,
            format!("mysql84 primary {what}"),
            vec![s, r84.clone()],
        );
    }
    for (what, s) in variants(&r84, &[("gtid_executed", "x"), ("gtid_purged", "")]) {
        out.variant(
            pair,
            format!("mysql84 pair, replica {what}"),
            vec![p84.clone(), s],
        );
    }
    let mut novars = r80.clone();
    novars.variables.clear();
    out.full("mysql80 no variables", vec![novars]);
    let text = read("mysql84-replica.txt").replace(
        "===== SHOW REPLICA STATUS =====",
        "===== error: SHOW REPLICA STATUS =====\n1227\tAccess denied\n===== SHOW REPLICA STATUS =====",
    );
    let (info, raw) = stacktop::repl::capture::fixture_refresh(&text).expect("fixture");
    let denied = build("r84", "x:1", ServerRole::Replica, info, raw, at());
    out.full("mysql84 status denied", vec![denied]);

    maria_scenarios(&mut out);
    let rep = maria_replica(healthy_rows());
    let pri = maria_primary("");
    let healthy = out.full("mariadb healthy pair", vec![pri.clone(), rep.clone()]);
    for (what, s) in variants(&rep, MARIA_EDITS) {
        out.variant(
            healthy,
            format!("mariadb replica {what}"),
            vec![pri.clone(), s],
        );
    }
    for (what, s) in variants(&pri, MARIA_EDITS) {
        out.variant(
            healthy,
            format!("mariadb primary {what}"),
            vec![s, rep.clone()],
        );
    }
    for (col, val) in [
        ("Using_Gtid", Some("No")),
        ("Using_Gtid", Some("Current_Pos")),
        ("Using_Gtid", None),
        ("Slave_heartbeat_period", Some("0.000")),
    ] {
        let mut rows = healthy_rows();
        set(&mut rows, "src2", col, val);
        let snaps = vec![pri.clone(), maria_replica(rows)];
        out.variant(healthy, format!("mariadb src2 {col}={val:?}"), snaps);
    }
    let mut myisam = rep.clone();
    for t in &mut myisam.tables {
        t.engine = Some("MyISAM".into());
    }
    out.variant(
        healthy,
        "mariadb gtid_slave_pos MyISAM",
        vec![pri.clone(), myisam],
    );
    let mut broken = rep.clone();
    for t in &mut broken.tables {
        t.error = Some(QueryError::new(Some(1146), "Table doesn't exist in engine"));
    }
    out.variant(
        healthy,
        "mariadb gtid_slave_pos unreadable",
        vec![pri.clone(), broken],
    );
    let mut denied = rep.clone();
    denied.channels.clear();
    denied.probe_errors.insert(
        Probe::ReplicaStatus,
        QueryError::new(Some(1227), "Access denied; you need SLAVE MONITOR"),
    );
    denied.tables.clear();
    let mut nolist = pri.clone();
    nolist.binlogs = None;
    nolist.oldest_binlog_gtid_pos = None;
    nolist.probe_errors.insert(
        Probe::BinaryLogs,
        QueryError::new(Some(1227), "Access denied"),
    );
    out.variant(
        healthy,
        "mariadb grants missing",
        vec![nolist.clone(), denied],
    );
    out.variant(
        healthy,
        "mariadb binlog list denied",
        vec![nolist, rep.clone()],
    );
    let down = ServerSnapshot::unreachable(
        "primary",
        "127.0.0.1:23306",
        ServerRole::Primary,
        Some(maria_info()),
        at(),
        "Connection refused".into(),
    );
    out.variant(healthy, "mariadb primary down", vec![down, rep.clone()]);
    let mut solo = set_var(pri.clone(), "log_bin", "OFF");
    solo.name = "solo".into();
    solo.binlogs = None;
    let alone = out.full("mariadb standalone", vec![solo.clone()]);
    solo.role = ServerRole::Primary;
    out.variant(alone, "mariadb standalone role=primary", vec![solo]);
    out
}

fn lines(snaps: &[ServerSnapshot]) -> Vec<String> {
    audit::run(snaps)
        .iter()
        .map(|r| serde_json::to_string(r).expect("json"))
        .collect()
}

/// Full scenarios in full; variants as `-` (lines of the base it lacks) and `+` (its own).
fn render(scen: &Scenarios) -> String {
    let full: Vec<Vec<String>> = scen.0.iter().map(|s| lines(&s.snaps)).collect();
    let mut out = String::new();
    for (i, s) in scen.0.iter().enumerate() {
        match s.base {
            None => {
                out.push_str(&format!("## {}\n", s.name));
                for l in &full[i] {
                    out.push_str(&format!("  {l}\n"));
                }
            }
            Some(b) => {
                out.push_str(&format!("## {} (against: {})\n", s.name, scen.0[b].name));
                let mut pool: Vec<&String> = full[b].iter().collect();
                let mut plus = Vec::new();
                for l in &full[i] {
                    match pool.iter().position(|p| *p == l) {
                        Some(k) => {
                            pool.remove(k);
                        }
                        None => plus.push(l),
                    }
                }
                for l in pool {
                    out.push_str(&format!("- {l}\n"));
                }
                for l in plus {
                    out.push_str(&format!("+ {l}\n"));
                }
            }
        }
    }
    out
}

/// The whole audit over every recorded fixture equals the reviewed golden file, byte for
/// byte: a check that is skipped, reordered or reworded fails here.
#[test]
fn audit_output_over_every_fixture_matches_the_golden_file() {
    let got = render(&scenarios());
    let path = format!("{}/{GOLDEN}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("STACKTOP_BLESS").is_some() {
        std::fs::write(&path, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).expect("golden file (STACKTOP_BLESS=1 writes it)");
    if got != want {
        let diff = got
            .lines()
            .zip(want.lines())
            .enumerate()
            .find(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| format!("line {}:\n got  {g}\n want {w}", i + 1))
            .unwrap_or_else(|| {
                format!(
                    "{} lines, want {}",
                    got.lines().count(),
                    want.lines().count()
                )
            });
        panic!("audit output differs from {GOLDEN}: {diff}");
    }
}

/// (letter, number): the order of ids in the catalogue and in the results (R2 before R10).
fn id_key(id: &str) -> (char, u32) {
    let mut ch = id.chars();
    let c = ch.next().expect("non-empty id");
    (c, ch.as_str().parse().expect("numeric id tail"))
}

/// The catalogue walk: every check has a unique id, a title, a fix text, a non-empty version
/// range, and exactly one line of the listing; the table is in id order.
#[test]
fn every_check_has_a_unique_id_fix_versions_and_a_listing_line() {
    let listing = catalogue::listing();
    assert_eq!(listing.len(), CATALOGUE.len());
    let mut seen = BTreeSet::new();
    for (i, c) in CATALOGUE.iter().enumerate() {
        assert!(seen.insert(c.id), "{} twice in the catalogue", c.id);
        assert!(!c.title.is_empty(), "{}: title", c.id);
        assert!(!c.fix.trim().is_empty(), "{}: fix text", c.id);
        assert!(!c.applies.is_empty(), "{}: no version applies", c.id);
        assert_eq!(
            catalogue::find(c.id).map(|f| f.id),
            Some(c.id),
            "find({})",
            c.id
        );
        let line = &listing[i];
        assert!(
            line.starts_with(&format!("{:<4} {}", c.id, c.title)),
            "{line}"
        );
        assert!(
            line.contains(c.fix) && line.contains(c.worst.label()),
            "{line}"
        );
        assert_eq!(
            listing
                .iter()
                .filter(|l| l.split(' ').next() == Some(c.id))
                .count(),
            1,
            "{} listed once",
            c.id
        );
    }
    // The ids are a contract (JSON, `--check`, users' notes): the documented set, no more, no
    // less, so removing a row is never silent.
    let mut want: Vec<String> = vec!["C0".into(), "T1".into()];
    want.extend((1..=10).map(|n| format!("P{n}")));
    want.extend((0..=17).map(|n| format!("R{n}")));
    let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    assert_eq!(seen, want, "catalogue ids");
    let keys: Vec<_> = CATALOGUE.iter().map(|c| id_key(c.id)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "catalogue in id order");
}

/// No check can be skipped silently: over the recorded fixtures every catalogue row reports
/// at least once, every result belongs to a row (same title, no worse than the row's worst
/// severity, on a flavor/version the row applies to), and nothing reports outside the table.
#[test]
fn every_check_reports_on_the_fixtures_and_only_as_catalogued() {
    let mut reported = BTreeSet::new();
    for sc in &scenarios().0 {
        for r in audit::run(&sc.snaps) {
            let row = catalogue::find(&r.id)
                .unwrap_or_else(|| panic!("{}: {} is not in the catalogue", sc.name, r.id));
            let s = sc
                .snaps
                .iter()
                .find(|s| s.name == r.server)
                .expect("result names an audited server");
            let titles = [
                Some(row.title),
                row.title_mariadb,
                (r.id == "C0").then_some("variables readable"),
            ];
            assert!(
                titles.contains(&Some(r.title.as_str())),
                "{}: {r:?}",
                sc.name
            );
            assert!(
                r.severity <= row.worst,
                "{}: {r:?} worse than {:?}",
                sc.name,
                row.worst
            );
            if let (Some(info), false) = (&s.info, r.id == "C0") {
                assert!(row.applies.contains(info), "{}: {r:?} on {info:?}", sc.name);
            }
            reported.insert(r.id);
        }
    }
    let all: BTreeSet<String> = CATALOGUE.iter().map(|c| c.id.to_string()).collect();
    let missing: Vec<_> = all.difference(&reported).collect();
    assert!(
        missing.is_empty(),
        "checks no fixture exercises: {missing:?}"
    );
}
