//! Client CPU of one refresh of 10 servers: generic rows (as the collector hands them over)
//! → snapshot::build (parse by column name) → verdicts → audit (incl. cross-server checks)
//! → JSON report. Rows come from the recorded fixtures (MariaDB lab + MySQL 5.7/8.0/8.4).
//! Also the view's side (ingest + draw). Target: < 10 ms per refresh for 10 servers.
//! Run: `cargo bench --bench repl_refresh`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use stacktop::repl::capture::{fixture_refresh, parse_tabular, parse_vertical, section, sections};
use stacktop::repl::snapshot::{build, RawRefresh};
use stacktop::repl::{audit, flavor, report, verdict, LagThresholds, ServerInfo, ServerRole};

fn read(rel: &str) -> String {
    let p = format!("{}/tests/fixtures/mysql/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn clone_raw(r: &RawRefresh) -> RawRefresh {
    r.clone()
}

/// 10 servers' worth of recorded rows: (name, address, info, raw rows).
fn inputs() -> Vec<(String, String, ServerInfo, RawRefresh)> {
    let mut v = Vec::new();
    for (i, f) in [
        "mysql57-replica.txt",
        "mysql80-replica.txt",
        "mysql84-replica.txt",
        "mysql84-primary.txt",
    ]
    .iter()
    .enumerate()
    {
        let (info, raw) = fixture_refresh(&read(f)).unwrap();
        v.push((format!("m{i}"), format!("10.0.0.{i}:3306"), info, raw));
    }
    let maria = flavor::detect("10.11.19-MariaDB-0+deb12u1-log", "Debian 12").unwrap();
    let vt = read("mariadb/variables-and-tables.txt");
    let vs = sections(&vt);
    let vars = parse_tabular(section(&vs, "replica: crash-safety").unwrap());
    let engines = parse_tabular(section(&vs, "gtid_slave_pos* engines").unwrap());
    let healthy = read("mariadb/status-healthy.txt");
    let hs = sections(&healthy);
    let status = parse_vertical(section(&hs, "SHOW ALL SLAVES STATUS (vertical)").unwrap());
    for i in 0..5 {
        let mut raw = RawRefresh::empty();
        raw.status = Ok(status.clone());
        raw.variables = Ok(vars.clone());
        raw.engines = Ok(engines.clone());
        raw.table_probes = vec![("gtid_slave_pos".into(), Ok(()))];
        v.push((
            format!("maria{i}"),
            format!("127.0.0.1:{}", 24000 + i),
            maria.clone(),
            raw,
        ));
    }
    let mut raw = RawRefresh::empty();
    raw.variables = Ok(parse_tabular(
        section(&vs, "primary: durability variables").unwrap(),
    ));
    raw.binlogs = Some(Ok(parse_tabular(
        section(&vs, "primary: SHOW BINARY LOGS").unwrap(),
    )));
    raw.binlog_gtid_pos = Some(Ok(Some(String::new())));
    v.push(("primary".into(), "127.0.0.1:23306".into(), maria, raw));
    assert_eq!(v.len(), 10);
    v
}

fn refresh(inputs: &[(String, String, ServerInfo, RawRefresh)], t: &LagThresholds) -> usize {
    let now = Utc::now();
    let snaps: Vec<_> = inputs
        .iter()
        .map(|(n, a, i, r)| build(n, a, ServerRole::Auto, i.clone(), clone_raw(r), now))
        .collect();
    let verdicts = verdict::judge_all(&snaps, t);
    let checks = audit::run(&snaps);
    verdicts.len() + checks.len()
}

fn bench(c: &mut Criterion) {
    let inp = inputs();
    let t = LagThresholds::default();
    c.bench_function("repl refresh: build+verdict+audit, 10 servers", |b| {
        b.iter(|| black_box(refresh(black_box(&inp), &t)))
    });
    c.bench_function("repl refresh + JSON report, 10 servers", |b| {
        b.iter(|| {
            let now = Utc::now();
            let snaps: Vec<_> = inp
                .iter()
                .map(|(n, a, i, r)| build(n, a, ServerRole::Auto, i.clone(), clone_raw(r), now))
                .collect();
            black_box(report::json(&report::build(&snaps, &t)).len())
        })
    });
}

/// The UI side of one refresh: the view ingests the 10 snapshots (each re-judges and
/// re-audits every server, updates the lag history and rebuilds the rows) and draws once.
fn bench_view(c: &mut Criterion) {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use stacktop::views::View;
    let inp = inputs();
    let mut cfg = stacktop::config::ReplConfig::default();
    for (n, _, _, _) in &inp {
        cfg.servers
            .push(stacktop::repl::ServerConfig::tcp(n, "127.0.0.1", 3306));
    }
    let now = Utc::now();
    let snaps: Vec<_> = inp
        .iter()
        .map(|(n, a, i, r)| build(n, a, ServerRole::Auto, i.clone(), clone_raw(r), now))
        .collect();
    let theme = stacktop::theme::Theme::builtin_default();
    let mut view = stacktop::views::repl::ReplView::new(&cfg);
    let area = Rect::new(0, 0, 160, 50);
    let mut buf = Buffer::empty(area);
    c.bench_function("repl view: ingest 10 snapshots + draw 160x50", |b| {
        b.iter(|| {
            for s in &snaps {
                view.ingest(s.clone());
            }
            view.render(area, &mut buf, &theme, chrono::Local::now());
            black_box(view.core.table.visible_len())
        })
    });
}

criterion_group!(benches, bench, bench_view);
criterion_main!(benches);
