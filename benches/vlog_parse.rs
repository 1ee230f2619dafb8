//! Parsing throughput of `stacktop::vlog::Parser` on one core, in varnishlog lines per second
//! (criterion `Throughput::Elements` = lines). Inputs: the Varnish 7.1 capture rendered with
//! `-g request` and `-g vxid`, and the synthetic 2.1 default / `-o` samples, each repeated to
//! several MB of text, fed in 64 KiB chunks like a pipe read.
//!
//! Run: `cargo bench --bench vlog_parse` (report: lines/s = "elem/s").

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use stacktop::vlog::Parser;

fn load(name: &str, copies: usize) -> (Vec<u8>, u64) {
    let p = format!(
        "{}/tests/fixtures/varnish/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let one = std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"));
    let mut data = Vec::with_capacity(one.len() * copies);
    for _ in 0..copies {
        data.extend_from_slice(&one);
    }
    let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
    (data, lines)
}

fn parse(data: &[u8]) -> usize {
    let mut p = Parser::new();
    let mut out = Vec::with_capacity(4096);
    let mut n = 0;
    for chunk in data.chunks(64 * 1024) {
        p.feed(chunk, &mut out);
        n += out.len();
        out.clear();
    }
    p.finish(&mut out);
    n + out.len()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("vlog_parse");
    g.sample_size(10);
    for (name, copies) in [
        ("varnish7-request.log", 20),
        ("varnish7-vxid.log", 20),
        ("varnish21.log", 40),
        ("varnish21-o.log", 80),
    ] {
        let (data, lines) = load(name, copies);
        g.throughput(Throughput::Elements(lines));
        g.bench_function(name, |b| b.iter(|| std::hint::black_box(parse(&data))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
