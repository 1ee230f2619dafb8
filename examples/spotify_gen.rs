//! Writes a deterministic Kaggle-format chart file (`data.csv`) for benchmarks:
//! 20 regions × DAYS days × 200 positions (DAYS = 250 → 1,000,000 rows).
//!
//! Usage: `cargo run --release --example spotify_gen -- OUT.csv [DAYS]`

use stacktop::spotify::generate::{Dataset, GenConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: spotify_gen OUT.csv [DAYS]");
        std::process::exit(2);
    };
    let days = match args.next().map(|d| d.parse::<usize>()) {
        None => 250,
        Some(Ok(d)) if d > 0 => d,
        Some(_) => {
            eprintln!("spotify_gen: DAYS must be a positive number");
            std::process::exit(2);
        }
    };
    let ds = Dataset::generate(&GenConfig {
        days,
        ..Default::default()
    });
    if let Err(e) = ds.write_kaggle(std::path::Path::new(&out)) {
        eprintln!("spotify_gen: {e:#}");
        std::process::exit(1);
    }
    println!("{}", ds.entries.len());
}
