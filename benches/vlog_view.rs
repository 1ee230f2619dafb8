//! The vlogdump view with a full ring (100k requests, the default): the cost of applying one
//! collector batch (2048 requests: statistics, filter, ring push, match index) and of drawing
//! one 160x50 frame (header statistics + only the visible rows read from the ring), with and
//! without a regex filter. Input: the Varnish 7.1 `-g request` capture, parsed once.
//!
//! Run: `cargo bench --bench vlog_view`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::theme::Theme;
use stacktop::vlog::{parse_all, Request, VlogEvent};

fn requests() -> Vec<Request> {
    let p = format!(
        "{}/tests/fixtures/varnish/varnish7-request.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"));
    parse_all(&data).0
}

fn full_app(base: &[Request], filter: &str) -> App {
    let mut app = App::new(Config::default(), Theme::builtin_default(), ViewKind::Vlog);
    if !filter.is_empty() {
        app.run_command(&format!("filter {filter}"));
    }
    let mut batch = Vec::new();
    for r in base.iter().cycle().take(100_000) {
        batch.push(r.clone());
        if batch.len() == 2048 {
            feed(&mut app, std::mem::take(&mut batch));
        }
    }
    feed(&mut app, batch);
    app
}

fn feed(app: &mut App, reqs: Vec<Request>) {
    app.apply(Update {
        view: ViewKind::Vlog,
        payload: Payload::Vlog(VlogEvent::Requests(reqs)),
    });
}

fn bench(c: &mut Criterion) {
    let base = requests();
    let batch: Vec<Request> = base.iter().cycle().take(2048).cloned().collect();
    let mut g = c.benchmark_group("vlog_view");
    g.sample_size(20);
    for (name, filter) in [("no_filter", ""), ("url_regex", "url=^/static/.*\\.css$")] {
        let mut app = full_app(&base, filter);
        g.throughput(Throughput::Elements(batch.len() as u64));
        g.bench_function(format!("apply_2048_{name}"), |b| {
            b.iter(|| feed(&mut app, batch.clone()))
        });
        g.throughput(Throughput::Elements(1));
        let area = Rect::new(0, 0, 160, 50);
        let mut buf = Buffer::empty(area);
        g.bench_function(format!("draw_frame_{name}"), |b| {
            b.iter(|| stacktop::screen::render(&app, area, &mut buf))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
