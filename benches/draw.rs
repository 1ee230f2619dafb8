//! Time to draw one full screen with a 1,000-row table (the shell's per-frame cost), and the
//! pgtop refresh without the server: a snapshot of 500 active sessions applied to the app and
//! the whole screen drawn at 200x50 (`pgtop_500_apply_draw_200x50`, the client-side part of
//! `benches/pgtop_refresh.sh`'s figure, which adds the collector's fetch and decoding).
//! `cargo bench --bench draw`

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::pg::activity::{PgSnapshot, Session, SessionState};
use stacktop::pg::collector::ConnState;
use stacktop::theme::{Role, Theme};
use stacktop::widgets::table::{Column, TableData, TableRow};

fn data(n: usize) -> TableData {
    let columns = vec![
        Column::numeric("pid", 7),
        Column::new("database", 10),
        Column::new("user", 10),
        Column::new("state", 8),
        Column::numeric("duration", 9),
        Column::new("query", 0),
    ];
    let rows = (0..n)
        .map(|i| {
            let role = if i % 10 == 0 {
                Role::Slow
            } else {
                Role::Normal
            };
            TableRow::new(
                i.to_string(),
                vec![
                    (10_000 + i).to_string(),
                    "orders".into(),
                    "app".into(),
                    "active".into(),
                    format!("{}.{}s", i / 10, i % 10),
                    format!(
                        "SELECT * FROM orders o JOIN lines l ON l.order_id = o.id WHERE o.id = {i}"
                    ),
                ],
                role,
            )
            .with_sort_keys(vec![(10_000 + i) as f64, 0.0, 0.0, 0.0, i as f64, 0.0])
        })
        .collect();
    TableData { columns, rows }
}

fn bench(c: &mut Criterion) {
    let mut app = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    app.view_mut(ViewKind::Pgtop)
        .core_mut()
        .set_table(data(1000));
    for (w, h) in [(80u16, 24u16), (200, 60)] {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        c.bench_function(&format!("draw_full_screen_1000_rows_{w}x{h}"), |b| {
            b.iter(|| {
                buf.reset();
                stacktop::screen::render(&app, area, &mut buf);
            })
        });
    }
    c.bench_function("apply_1000_row_snapshot", |b| {
        let d = data(1000);
        b.iter(|| {
            app.view_mut(ViewKind::Pgtop)
                .core_mut()
                .set_table(d.clone())
        })
    });
}

/// 500 active sessions in the shapes `benches/pgtop_refresh.sh` makes (pg_sleep, a few apps).
fn pg_snapshot(seq: u64) -> PgSnapshot {
    let now = chrono::Utc::now();
    let sessions: Vec<Session> = (0..500)
        .map(|i| {
            let mut s = Session::for_test(
                20_000 + i,
                SessionState::Active,
                &format!("SELECT pg_sleep(3600) /* bench client {i} */"),
            );
            s.usename = Some(format!("bench{}", i % 4));
            s.application_name = format!("pgbench-{}", i % 3);
            s.client_addr = Some(format!("10.0.{}.{}", i / 250, i % 250));
            s.backend_start = Some(now - chrono::Duration::seconds(600));
            s.query_start = Some(now - chrono::Duration::seconds(i64::from(i % 90)));
            s.xact_start = s.query_start;
            s.state_change = s.query_start;
            if i % 5 == 0 {
                s.wait_event_type = Some("Timeout".into());
                s.wait_event = Some("PgSleep".into());
            }
            s
        })
        .collect();
    let mut snap = PgSnapshot::status_only(
        seq,
        ConnState::Connected { since: now },
        std::time::Duration::from_secs(1),
    );
    snap.server_now = now;
    let mut h = stacktop::pg::activity::summarize(now, &sessions);
    h.server_version = "15.6".into();
    h.server_version_num = 150006;
    snap.header = Some(h);
    snap.sessions = sessions;
    snap
}

fn pgtop(c: &mut Criterion) {
    let mut app = App::new(Config::default(), Theme::builtin_default(), ViewKind::Pgtop);
    let area = Rect::new(0, 0, 200, 50);
    let mut buf = Buffer::empty(area);
    let snap = pg_snapshot(1);
    let mut seq = 1;
    c.bench_function("pgtop_500_apply_draw_200x50", |b| {
        b.iter(|| {
            seq += 1;
            let mut s = snap.clone();
            s.seq = seq;
            app.apply(Update {
                view: ViewKind::Pgtop,
                payload: Payload::Pg(s.into()),
            });
            buf.reset();
            stacktop::screen::render(&app, area, &mut buf);
        })
    });
}

criterion_group!(benches, bench, pgtop);
criterion_main!(benches);
