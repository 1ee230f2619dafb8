//! Query-text redaction and classification speed (`stacktop::pg::redact`, `stacktop::pg::stmt`):
//! a query with 30,000 string literals (the case that was quadratic: 20 s before the lexer,
//! measured with the old function built `rustc -O` on the same machine), a mixed text with
//! E-strings, dollar quotes, numbers and comments, and the `K` / EXPLAIN checks on the same
//! texts. All are one lexer pass, linear in the input.
//!
//! Figures (2026-12-03, shared 2-core machine, the same functions built `rustc -O` outside
//! cargo): 30k literals (300 KB) redact in 9 ms (was 19.9 s), 300k literals (3 MB) in 73 ms;
//! the mixed text (275 KB) in 14 ms; `redact_one_line(…, 200)` in 5 µs whatever the size.
//!
//! Run: `cargo bench --bench redact` (report: time per text, bytes/s).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use stacktop::pg::redact::{redact_literals, redact_one_line};
use stacktop::pg::stmt::{explainable, is_read_only_statement};

fn bench(c: &mut Criterion) {
    let plain = format!("select {} 1", "'secret', ".repeat(30_000));
    let mixed = format!(
        "select {} 1",
        "E'x\\'y', $t$a;b$t$, 42, 1.5e3 /* pw */, -- c\n 'it''s', ".repeat(5_000)
    );
    let mut g = c.benchmark_group("redact");
    g.sample_size(20);
    for (name, text) in [("30k_literals", &plain), ("mixed_30k_tokens", &mixed)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(format!("redact_literals/{name}"), |b| {
            b.iter(|| redact_literals(std::hint::black_box(text)).len())
        });
        g.bench_function(format!("redact_one_line_200/{name}"), |b| {
            b.iter(|| redact_one_line(std::hint::black_box(text), 200).len())
        });
        g.bench_function(format!("is_read_only_statement/{name}"), |b| {
            b.iter(|| is_read_only_statement(std::hint::black_box(text)))
        });
        g.bench_function(format!("explainable/{name}"), |b| {
            b.iter(|| explainable(std::hint::black_box(text)).is_ok())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
