//! End-to-end throughput of the collector: spawns a command through `vlog::collector` (as the
//! view does), and consumes its events into a Ring + Stats, like the view's state. Reports
//! requests/s and lines/s of the whole pipeline, so it can be compared with the producer alone
//! (e.g. `varnishlog -r capture.bin -g request > /dev/null`).
//!
//! Run: `cargo run --release --example vlog_pipeline -- cat big.log`
//!      `cargo run --release --example vlog_pipeline -- varnishlog -g request -r capture.bin`

use std::time::Instant;

use stacktop::vlog::{collector, InputStatus, SourceConfig, VlogEvent};
use stacktop::vlog::{Ring, Stats};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: vlog_pipeline PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let start = Instant::now();
    let h = collector::spawn(SourceConfig::command(program, rest.to_vec(), false), tx);
    let mut ring = Ring::default();
    let mut stats = Stats::new();
    let (mut n, mut malformed) = (0u64, 0u64);
    while let Some(ev) = rx.recv().await {
        match ev {
            VlogEvent::Requests(batch) => {
                for r in batch {
                    stats.observe(&r, r.start);
                    ring.push(r);
                    n += 1;
                }
            }
            VlogEvent::Malformed(m) => malformed += m,
            VlogEvent::Stderr(s) => eprintln!("stderr: {s}"),
            VlogEvent::Status(InputStatus::Finished) => break,
            VlogEvent::Status(s) => eprintln!("status: {s:?}"),
            VlogEvent::Summary(_) | VlogEvent::Hint(_) | VlogEvent::Replace(_) => {}
        }
    }
    let secs = start.elapsed().as_secs_f64();
    h.abort();
    println!(
        "{n} requests in {secs:.2} s = {:.0} k req/s; malformed {malformed}; ring {} (dropped {})",
        n as f64 / secs / 1e3,
        ring.len(),
        ring.dropped()
    );
}
