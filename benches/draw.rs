//! Time to draw one full screen with a 1,000-row table (the shell's per-frame cost).
//! `cargo bench --bench draw`

use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
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

criterion_group!(benches, bench);
criterion_main!(benches);
