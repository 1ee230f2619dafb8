//! Streaming reader for one chart CSV file: detects the layout (`formats::sniff`), then walks
//! the records with the `csv` crate, normalises each into a borrowed [`Row`] and hands it to a
//! callback. Bad rows are reported with file, line and reason and never abort the file;
//! file-level problems (HTML page, unknown header, no date/region) are returned as errors.
//!
//! Data flow: file → [`parse_file`] → callback (`store_*` bulk loaders) + [`ParseReport`].

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::csvlimit::{clip, limit_error, Bounded, CsvLimits, LimitError};
use super::formats::{
    chart_from_file_name, country_code_for_name, is_country_code, sniff, valid_date, Format, Layout,
};
use super::schema::{track_id_from, Row, MAX_ARTISTS_CHARS, MAX_NAME_CHARS};

/// Per-file choices (from the command line or the import dialog).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// Force a layout instead of detecting it from the header.
    pub format: Option<Format>,
    /// Region code for per-chart files whose name does not carry one.
    pub country: Option<String>,
    /// Chart date (`YYYY-MM-DD`) for per-chart files whose name does not carry one.
    pub date: Option<String>,
    /// Record size and field count limits.
    pub limits: CsvLimits,
}

/// A row that was not loaded, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub file: PathBuf,
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for BadRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.reason)
    }
}

/// Keep at most this many bad-row examples (all are counted).
pub const MAX_BAD_EXAMPLES: usize = 200;

/// Characters of a bad value quoted in a bad-row message.
const VALUE_CHARS: usize = 60;

/// Distinct "not top200" chart names counted separately; the rest are counted together.
const MAX_SKIP_KEYS: usize = 32;

/// What happened to the rows of one or more files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseReport {
    /// Rows handed to the callback.
    pub rows: u64,
    /// Rows deliberately not loaded (e.g. viral50 rows of charts.csv), by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Rows that could not be read, by reason (the reason without the value).
    pub bad_by_reason: BTreeMap<String, u64>,
    /// The first [`MAX_BAD_EXAMPLES`] bad rows in full.
    pub bad_examples: Vec<BadRow>,
    /// Total bad rows.
    pub bad: u64,
}

impl ParseReport {
    fn bad_row(&mut self, file: &Path, line: u64, kind: &str, detail: String) {
        self.bad += 1;
        *self.bad_by_reason.entry(kind.to_string()).or_insert(0) += 1;
        if self.bad_examples.len() < MAX_BAD_EXAMPLES {
            self.bad_examples.push(BadRow {
                file: file.to_path_buf(),
                line,
                reason: detail,
            });
        }
    }

    /// Count a row of another chart (viral50, …), keeping the set of reasons small.
    fn skip_chart(&mut self, chart: &str) {
        let key = format!("chart {:?} is not top200", clip(chart, 40));
        let key = if self.skipped.len() >= MAX_SKIP_KEYS && !self.skipped.contains_key(&key) {
            "other charts (not top200)".to_string()
        } else {
            key
        };
        *self.skipped.entry(key).or_insert(0) += 1;
    }

    /// Fold another report into this one.
    pub fn merge(&mut self, other: ParseReport) {
        self.rows += other.rows;
        self.bad += other.bad;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.bad_by_reason {
            *self.bad_by_reason.entry(k).or_insert(0) += v;
        }
        for b in other.bad_examples {
            if self.bad_examples.len() < MAX_BAD_EXAMPLES {
                self.bad_examples.push(b);
            }
        }
    }
}

/// Read the head of `path` and detect its layout (also used to pre-check files).
pub fn detect(path: &Path, forced: Option<Format>) -> Result<Layout> {
    let mut f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut head = vec![0u8; 16 * 1024];
    let mut n = 0;
    while n < head.len() {
        let k = f.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    head.truncate(n);
    sniff(&head, forced).with_context(|| format!("{}", path.display()))
}

/// Parse one file. `on_row(row, byte_offset)` gets every good row; an error from it stops the
/// file (e.g. the import was cancelled or the database failed). Returns the file's report.
pub fn parse_file<F>(path: &Path, opts: &FileOptions, mut on_row: F) -> Result<ParseReport>
where
    F: FnMut(&Row<'_>, u64) -> Result<()>,
{
    let layout = detect(path, opts.format)?;
    let c = layout.columns;
    let (name_country, name_date) = chart_from_file_name(path);
    let fixed_country = match c.region {
        Some(_) => None,
        None => {
            let cc = opts
                .country
                .clone()
                .or(name_country)
                .ok_or_else(|| anyhow!("{}: no region: name the file regional-<cc>-daily-<YYYY-MM-DD>.csv or pass --country", path.display()))?
                .to_ascii_lowercase();
            if !is_country_code(&cc) {
                bail!(
                    "{}: region {cc:?} is not a two-letter code or 'global'",
                    path.display()
                );
            }
            Some(cc)
        }
    };
    let fixed_date = match c.date {
        Some(_) => None,
        None => {
            let d = opts
                .date
                .clone()
                .or(name_date)
                .ok_or_else(|| anyhow!("{}: no chart date: name the file regional-<cc>-daily-<YYYY-MM-DD>.csv or pass --date", path.display()))?;
            if !valid_date(&d) {
                bail!("{}: date {d:?} is not YYYY-MM-DD", path.display());
            }
            Some(d)
        }
    };
    let lines_skipped: u64 = {
        let mut f = File::open(path)?;
        let mut buf = vec![0u8; layout.skip_bytes];
        f.read_exact(&mut buf)?;
        buf.iter().filter(|&&b| b == b'\n').count() as u64
    };
    let mut file = File::open(path).with_context(|| format!("open {}", path.display()))?;
    file.seek(SeekFrom::Start(layout.skip_bytes as u64))?;
    let limits = opts.limits;
    let bounded = Bounded::new(file, limits.max_record_bytes, lines_skipped + 1);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(bounded);
    let header_fields = match rdr.byte_headers() {
        Ok(h) => h.len(),
        Err(e) => return Err(read_failure(path, e, lines_skipped)),
    };
    let format = layout.format;
    let source = format.source();
    let min_fields = [
        Some(c.pos),
        Some(c.track),
        Some(c.artist),
        Some(c.streams),
        Some(c.url),
        c.date,
        c.region,
        c.chart,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0)
        + 1;
    let mut report = ParseReport::default();
    let mut rec = csv::ByteRecord::new();
    let mut region_buf = String::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                if let csv::ErrorKind::Io(_) = e.kind() {
                    return Err(read_failure(path, e, lines_skipped));
                }
                let line = e.position().map(|p| p.line()).unwrap_or(0) + lines_skipped;
                report.bad_row(
                    path,
                    line,
                    "unreadable CSV record",
                    format!("unreadable CSV record: {}", clip(&e.to_string(), 200)),
                );
                continue;
            }
        }
        let pos_info = rec.position().cloned().unwrap_or_else(csv::Position::new);
        let line = pos_info.line() + lines_skipped;
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty()) {
            continue;
        }
        // A quoted field over several lines: in a chart file that is a stray `"` that swallowed
        // the rows up to the next one. Report the whole region, so no row goes missing unsaid.
        if rec.as_slice().contains(&b'\n') {
            let last = line + rec.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
            report.bad_row(
                path,
                line,
                "quoted field over several lines",
                format!(
                    "lines {line}-{last} not loaded: a quoted field opened on line {line} \
                     closes only on line {last} (a stray `\"`?)"
                ),
            );
            continue;
        }
        if rec.len() > header_fields || rec.len() > limits.max_fields {
            report.bad_row(
                path,
                line,
                "too many fields",
                format!(
                    "too many fields: {} (the header has {header_fields}, the limit is {})",
                    rec.len(),
                    limits.max_fields
                ),
            );
            continue;
        }
        if rec.len() < min_fields {
            report.bad_row(
                path,
                line,
                "too few fields",
                format!(
                    "too few fields: expected at least {min_fields}, found {}",
                    rec.len()
                ),
            );
            continue;
        }
        let field = |i: usize| -> std::result::Result<&str, String> {
            std::str::from_utf8(rec.get(i).unwrap_or_default())
                .map_err(|_| format!("field {} is not valid UTF-8", i + 1))
        };
        macro_rules! get {
            ($i:expr) => {
                match field($i) {
                    Ok(v) => v,
                    Err(msg) => {
                        report.bad_row(path, line, "invalid UTF-8", msg);
                        continue;
                    }
                }
            };
        }
        if let Some(ci) = c.chart {
            let chart = get!(ci).trim();
            if !chart.eq_ignore_ascii_case("top200") {
                report.skip_chart(chart);
                continue;
            }
        }
        let pos_s = get!(c.pos).trim();
        let pos = match pos_s.parse::<u16>() {
            Ok(p) if (1..=1000).contains(&p) => p,
            _ => {
                report.bad_row(
                    path,
                    line,
                    "bad position",
                    format!(
                        "position {:?} is not a number 1..1000",
                        clip(pos_s, VALUE_CHARS)
                    ),
                );
                continue;
            }
        };
        let url = get!(c.url);
        let Some(track_id) = track_id_from(url) else {
            report.bad_row(
                path,
                line,
                "no track id",
                format!("no Spotify track id in {:?}", clip(url, VALUE_CHARS)),
            );
            continue;
        };
        let streams_s = get!(c.streams).trim();
        let streams = if streams_s.is_empty() {
            None
        } else {
            match parse_streams(streams_s) {
                Some(s) => Some(s),
                None => {
                    report.bad_row(
                        path,
                        line,
                        "bad streams",
                        format!(
                            "streams {:?} is not a whole number 0..4294967295",
                            clip(streams_s, VALUE_CHARS)
                        ),
                    );
                    continue;
                }
            }
        };
        let list_date = match (&fixed_date, c.date) {
            (Some(d), _) => d.as_str(),
            (None, Some(i)) => {
                let d = get!(i).trim();
                if !valid_date(d) {
                    report.bad_row(
                        path,
                        line,
                        "bad date",
                        format!("date {:?} is not YYYY-MM-DD", clip(d, VALUE_CHARS)),
                    );
                    continue;
                }
                d
            }
            (None, None) => unreachable_date(),
        };
        let country: &str = match (&fixed_country, c.region) {
            (Some(cc), _) => cc.as_str(),
            (None, Some(i)) => {
                let r = get!(i).trim();
                region_buf.clear();
                region_buf.push_str(r);
                region_buf.make_ascii_lowercase();
                if format == Format::Charts || !is_country_code(&region_buf) {
                    match country_code_for_name(r) {
                        Some(code) => code,
                        None if is_country_code(&region_buf) => region_buf.as_str(),
                        None => {
                            report.bad_row(
                                path,
                                line,
                                "unknown region",
                                format!("unknown region {:?}", clip(r, VALUE_CHARS)),
                            );
                            continue;
                        }
                    }
                } else {
                    region_buf.as_str()
                }
            }
            (None, None) => unreachable_date(),
        };
        let track = get!(c.track);
        let artist_field = get!(c.artist);
        let (artist, artists) = match format {
            Format::Charts | Format::Chartsapi => (
                artist_field.split(", ").next().unwrap_or_default(),
                artist_field,
            ),
            Format::Kaggle | Format::Spotifycharts => (artist_field, artist_field),
        };
        if track.chars().count() > MAX_NAME_CHARS || artist.chars().count() > MAX_NAME_CHARS {
            report.bad_row(
                path,
                line,
                "name too long",
                format!("track or artist longer than {MAX_NAME_CHARS} characters"),
            );
            continue;
        }
        if artists.chars().count() > MAX_ARTISTS_CHARS {
            report.bad_row(
                path,
                line,
                "name too long",
                format!("artist list longer than {MAX_ARTISTS_CHARS} characters"),
            );
            continue;
        }
        let row = Row {
            country,
            list_date,
            pos,
            track_id,
            track,
            artist,
            artists,
            streams,
            source,
        };
        on_row(&row, pos_info.byte() + layout.skip_bytes as u64)?;
        report.rows += 1;
    }
    Ok(report)
}

/// A read error of the CSV reader: a record over the size limit (with the line where it, or
/// its open quoted field, began) or an I/O error.
fn read_failure(path: &Path, e: csv::Error, lines_skipped: u64) -> anyhow::Error {
    if let Some(le) = limit_error(&e) {
        return LimitError {
            file: path.to_path_buf(),
            ..le.clone()
        }
        .into();
    }
    let line = e.position().map(|p| p.line()).unwrap_or(0) + lines_skipped;
    anyhow!("{}:{line}: read error: {e}", path.display())
}

// The layout always has either a fixed value or a column for date and region (checked above),
// so this is never reached; kept as a plain value to avoid a panic path.
fn unreachable_date() -> &'static str {
    "1970-01-01"
}

/// `253019`, `253019.0` → 253019; anything fractional, negative or too big → `None`.
pub fn parse_streams(s: &str) -> Option<u32> {
    if let Ok(v) = s.parse::<u32>() {
        return Some(v);
    }
    let f: f64 = s.parse().ok()?;
    if f.is_finite() && f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) {
        Some(f as u32)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams() {
        assert_eq!(parse_streams("253019"), Some(253019));
        assert_eq!(parse_streams("253019.0"), Some(253019));
        assert_eq!(parse_streams("1.5"), None);
        assert_eq!(parse_streams("-3"), None);
        assert_eq!(parse_streams("1,000"), None);
        assert_eq!(parse_streams("99999999999"), None);
    }
}
