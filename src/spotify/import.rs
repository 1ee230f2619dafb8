//! Import orchestration shared by both stores: options, progress events (rows/s, ETA), the
//! final [`Summary`] (loaded, new, updated, unchanged, duplicates, skipped and bad rows with
//! reasons, rejected files), and [`import_files`], the entry point the UI and CLI call.
//!
//! Data flow: files → [`walk_files`] (parse + progress, runs on a blocking thread inside the
//! store's loader) → store bulk load → [`Summary`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use tokio::sync::mpsc::UnboundedSender;

use super::csvlimit::{CsvLimits, LimitError};
use super::formats::Format;
use super::parse::{parse_file, BadRow, FileOptions, ParseReport};
use super::schema::Row;
use super::Store;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Force a format (`--format`).
    pub format: Option<Format>,
    /// Region for per-chart files whose name has none (`--country`).
    pub country: Option<String>,
    /// Chart date for per-chart files whose name has none (`--date`).
    pub date: Option<String>,
    /// Abort (and leave the table unchanged) on the first rejected file or bad row, instead
    /// of loading the good rows and reporting the rest.
    pub strict: bool,
    /// Set to cancel a running import; the table is left unchanged.
    pub cancel: Option<Arc<AtomicBool>>,
    /// MySQL only: skip `LOAD DATA LOCAL INFILE` and use batched INSERTs (the automatic
    /// fallback when the server refuses local infile; forcing it helps tests and benches).
    pub force_insert: bool,
    /// Record size and field count limits (1 MiB, 64 fields).
    pub limits: CsvLimits,
}

impl ImportOptions {
    fn file_options(&self) -> FileOptions {
        FileOptions {
            format: self.format,
            country: self.country.clone(),
            date: self.date.clone(),
            limits: self.limits,
        }
    }
}

/// Progress of a running import.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub file_index: usize,
    pub files: usize,
    pub file: PathBuf,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub rows: u64,
    pub bad: u64,
    pub rows_per_sec: f64,
    pub eta: Option<Duration>,
}

/// Events sent while importing.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportEvent {
    Progress(Progress),
    /// A whole file was not loaded (HTML page, unknown header, …).
    FileRejected {
        file: PathBuf,
        reason: String,
    },
    /// A named phase started ("loading", "merging", "building indexes").
    Phase(String),
}

/// Result of an import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub files: usize,
    pub rejected_files: Vec<(PathBuf, String)>,
    /// Good rows read from the files.
    pub rows_read: u64,
    /// Keys that were not in the table before.
    pub inserted: u64,
    /// Keys that existed with different values (last one read wins).
    pub updated: u64,
    /// Rows whose key was already present (in the table or earlier in this import):
    /// `rows_read - inserted`.
    pub duplicates: u64,
    /// Rows deliberately not loaded, by reason (e.g. viral50 rows).
    pub skipped: BTreeMap<String, u64>,
    pub bad: u64,
    pub bad_by_reason: BTreeMap<String, u64>,
    pub bad_examples: Vec<BadRow>,
    pub method: String,
    pub indexes_built: bool,
    /// Total wall time.
    pub elapsed: Duration,
    /// Part of `elapsed` spent building secondary indexes (and ANALYZE) after the load.
    pub index_time: Duration,
    /// Part of `elapsed` spent committing (SQLite: writing the last pages, syncing and, in WAL
    /// mode, the checkpoint); zero where not measured (MySQL).
    pub commit_time: Duration,
    /// Part of `elapsed` spent recomputing the summary tables (`summary.rs`) of the months the
    /// import touched.
    pub summary_time: Duration,
    pub table_rows: u64,
}

impl Summary {
    /// Rows read per second of total wall time.
    pub fn rows_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.rows_read as f64 / s
        } else {
            0.0
        }
    }

    /// Part of `elapsed` spent reading and writing rows: all but the index build, the
    /// summaries and the commit.
    pub fn load_time(&self) -> Duration {
        self.elapsed
            .saturating_sub(self.index_time)
            .saturating_sub(self.summary_time)
            .saturating_sub(self.commit_time)
    }

    /// Rows read per second of the load alone (without the index build and commit).
    pub fn load_rows_per_sec(&self) -> f64 {
        let s = self.load_time().as_secs_f64();
        if s > 0.0 {
            self.rows_read as f64 / s
        } else {
            0.0
        }
    }

    /// Where the time went: `load 1.10 s, indexes 1.20 s, summaries 0.40 s, commit 0.08 s`
    /// (summaries and commit only when measured).
    pub fn phases(&self) -> String {
        let mut s = format!(
            "load {:.2} s, indexes {:.2} s",
            self.load_time().as_secs_f64(),
            self.index_time.as_secs_f64()
        );
        if !self.summary_time.is_zero() {
            s.push_str(&format!(
                ", summaries {:.2} s",
                self.summary_time.as_secs_f64()
            ));
        }
        if !self.commit_time.is_zero() {
            s.push_str(&format!(", commit {:.2} s", self.commit_time.as_secs_f64()));
        }
        s
    }

    pub(crate) fn absorb(&mut self, report: ParseReport) {
        self.rows_read = report.rows;
        self.skipped = report.skipped;
        self.bad = report.bad;
        self.bad_by_reason = report.bad_by_reason;
        self.bad_examples = report.bad_examples;
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} rows read from {} file(s) in {:.2} s ({:.0} rows/s; {}; {}): {} new, {} updated, {} duplicates; table now {} rows",
            self.rows_read,
            self.files - self.rejected_files.len(),
            self.elapsed.as_secs_f64(),
            self.rows_per_sec(),
            self.phases(),
            self.method,
            self.inserted,
            self.updated,
            self.duplicates,
            self.table_rows
        )?;
        for (reason, n) in &self.skipped {
            writeln!(f, "skipped {n} rows: {reason}")?;
        }
        for (reason, n) in &self.bad_by_reason {
            writeln!(f, "bad rows ({reason}): {n}")?;
        }
        for b in self.bad_examples.iter().take(20) {
            writeln!(f, "  {b}")?;
        }
        for (file, reason) in &self.rejected_files {
            writeln!(f, "rejected {}: {reason}", file.display())?;
        }
        Ok(())
    }
}

/// Error returned when an import was cancelled (the table is unchanged).
#[derive(Debug, thiserror::Error)]
#[error("import cancelled; the table is unchanged")]
pub struct ImportCancelled;

/// Import chart files into `store`: one atomic load (all or nothing), indexes (re)built after
/// bulk loads, progress on `progress_tx`.
pub async fn import_files(
    store: &Store,
    files: &[PathBuf],
    opts: &ImportOptions,
    progress_tx: Option<UnboundedSender<ImportEvent>>,
) -> Result<Summary> {
    if files.is_empty() {
        return Err(anyhow!("no files to import"));
    }
    match store {
        Store::Sqlite(s) => s.import(files, opts, progress_tx).await,
        Store::Mysql(m) => m.import(files, opts, progress_tx).await,
    }
}

/// Parse every file in order, calling `on_row` for each good row and sending progress.
/// Rejected files are reported (or abort in strict mode). Used by the stores' loaders on a
/// blocking thread.
pub(crate) fn walk_files(
    files: &[PathBuf],
    opts: &ImportOptions,
    progress: Option<&UnboundedSender<ImportEvent>>,
    rejected: &mut Vec<(PathBuf, String)>,
    mut on_row: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<ParseReport> {
    let fopts = opts.file_options();
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .collect();
    let bytes_total: u64 = sizes.iter().sum();
    let start = Instant::now();
    let mut total = ParseReport::default();
    let mut bytes_before = 0u64;
    let mut last_sent = Instant::now();
    let cancel = opts.cancel.clone();
    for (i, file) in files.iter().enumerate() {
        let mut rows_in_file = 0u64;
        let rows_before = total.rows;
        let bad_before = total.bad;
        let res = parse_file(file, &fopts, |row, byte| {
            rows_in_file += 1;
            if rows_in_file.is_multiple_of(4096) {
                if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                    return Err(ImportCancelled.into());
                }
                if let Some(tx) = progress {
                    if last_sent.elapsed() >= Duration::from_millis(100) {
                        last_sent = Instant::now();
                        let _ = tx.send(ImportEvent::Progress(progress_of(
                            i,
                            files.len(),
                            file,
                            bytes_before + byte,
                            bytes_total,
                            rows_before + rows_in_file,
                            bad_before,
                            start,
                        )));
                    }
                }
            }
            on_row(row)
        });
        match res {
            Ok(report) => {
                if opts.strict && report.bad > 0 {
                    let first = report
                        .bad_examples
                        .first()
                        .map(|b| b.to_string())
                        .unwrap_or_default();
                    return Err(anyhow!(
                        "{} bad rows in {} (strict import, nothing loaded); first: {first}",
                        report.bad,
                        file.display()
                    ));
                }
                total.merge(report);
            }
            Err(e) if e.is::<ImportCancelled>() => return Err(e),
            // A record over the size limit: nothing after it could be read, so nothing loads.
            Err(e) if e.is::<LimitError>() => return Err(e),
            Err(e) if rows_in_file > 0 => return Err(e), // failed mid-file: database/IO error
            Err(e) => {
                if opts.strict {
                    return Err(e);
                }
                let reason = format!("{e:#}");
                if let Some(tx) = progress {
                    let _ = tx.send(ImportEvent::FileRejected {
                        file: file.clone(),
                        reason: reason.clone(),
                    });
                }
                rejected.push((file.clone(), reason));
            }
        }
        bytes_before += sizes[i];
        if let Some(tx) = progress {
            let _ = tx.send(ImportEvent::Progress(progress_of(
                i,
                files.len(),
                file,
                bytes_before,
                bytes_total,
                total.rows,
                total.bad,
                start,
            )));
        }
    }
    Ok(total)
}

#[allow(clippy::too_many_arguments)]
fn progress_of(
    file_index: usize,
    files: usize,
    file: &Path,
    bytes_done: u64,
    bytes_total: u64,
    rows: u64,
    bad: u64,
    start: Instant,
) -> Progress {
    let secs = start.elapsed().as_secs_f64().max(1e-6);
    let rate_bytes = bytes_done as f64 / secs;
    let eta = (rate_bytes > 0.0 && bytes_total >= bytes_done)
        .then(|| Duration::try_from_secs_f64((bytes_total - bytes_done) as f64 / rate_bytes).ok())
        .flatten();
    Progress {
        file_index,
        files,
        file: file.to_path_buf(),
        bytes_done,
        bytes_total,
        rows,
        bad,
        rows_per_sec: rows as f64 / secs,
        eta,
    }
}

/// Rough number of rows in `files` (about 60 bytes per chart row), used to decide whether to
/// drop secondary indexes during the load and rebuild them afterwards.
pub(crate) fn estimate_rows(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum::<u64>()
        / 60
}
