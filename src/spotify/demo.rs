//! `stacktop spotify demo`: a synthetic sample chart set (the deterministic generator of
//! `gen`: 20 regions × N days × 200 positions, names with accents, CJK, emoji and quotes)
//! written to a private temporary directory, imported into the configured store like any
//! chart file, then removed; `run::main` then opens the tab. A store that already holds charts
//! is left alone (the sample would mix with them).
//!
//! Data flow: [`run`] → `generate::Dataset` → temp `data.csv` → `import_files` → store.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context, Result};

use super::generate::{Dataset, GenConfig};
use super::import::{import_files, ImportOptions};
use super::open;
use super::params::usage;
use super::results::Cell;
use super::SpotifyConfig;
use crate::wire::exit;

/// Most days `--days` accepts (10 years: 14.6M rows).
pub const MAX_DAYS: u32 = 3650;

/// Generate and import the sample; returns the exit code (0: the tab may open).
pub async fn run(days: u32, cfg: &SpotifyConfig) -> Result<i32> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(usage(format!("--days {days} is outside 1..{MAX_DAYS}")));
    }
    let store = open(cfg).await?;
    // A MySQL table that does not exist yet (no import so far) is simply empty.
    let held = store
        .run_query(&format!("SELECT COUNT(*) FROM {}", store.table()))
        .await
        .ok()
        .and_then(|rs| {
            rs.rows
                .first()
                .and_then(|r| r.first().and_then(Cell::as_f64))
        })
        .unwrap_or(0.0) as u64;
    if held > 0 {
        eprintln!(
            "stacktop spotify demo: the store already holds {held} chart rows; no sample data \
             added (it would mix with them). Opening the tab."
        );
        return Ok(exit::OK);
    }
    let start = Instant::now();
    let gen = GenConfig {
        days: days as usize,
        ..Default::default()
    };
    let dir = TempDir::new()?;
    let file = dir.0.join("spotify-demo-data.csv");
    let (f, g) = (file.clone(), gen.clone());
    let rows = tokio::task::spawn_blocking(move || -> Result<usize> {
        let ds = Dataset::generate(&g);
        ds.write_kaggle(&f)
            .with_context(|| format!("write {}", f.display()))?;
        Ok(ds.entries.len())
    })
    .await
    .map_err(|e| anyhow!("generator task failed: {e}"))??;
    let summary = import_files(
        &store,
        std::slice::from_ref(&file),
        &ImportOptions::default(),
        None,
    )
    .await?;
    drop(dir);
    eprintln!(
        "stacktop spotify demo: {rows} synthetic chart rows ({} regions × {days} days × {} \
         positions from {}) loaded in {:.1} s; table now {} rows. Your own charts: \
         stacktop spotify import FILE…",
        gen.regions,
        gen.positions,
        gen.start,
        start.elapsed().as_secs_f64(),
        summary.table_rows
    );
    Ok(exit::OK)
}

/// A directory only we can use (created new, 0700), removed with what it holds when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!("stacktop-demo-{}-{nanos}", std::process::id()));
        // Fails if the name exists: never a directory someone prepared for us. 0700 (the
        // umask can only narrow it).
        std::fs::DirBuilder::new()
            .mode(crate::private_fs::DIR_MODE)
            .create(&dir)
            .with_context(|| format!("create {}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
