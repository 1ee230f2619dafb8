//! The four chart CSV layouts and how a file is recognised: the header (after an optional
//! UTF-8 BOM and the spotifycharts.com "Note that these figures…" line) decides the
//! [`Format`], columns are mapped by name, and HTML error pages saved as `.csv` are rejected.
//! Date and region of the per-chart formats come from the file name
//! (`regional-<cc>-daily-<YYYY-MM-DD>.csv`) unless given as options.
//!
//! Data flow: file head → [`sniff`] → [`Layout`] → `parse` reads the records with it.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use serde::{Deserialize, Serialize};

use super::schema::SourceKind;

/// An input layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Kaggle "Spotify's Worldwide Daily Song Ranking" `data.csv`:
    /// `Position,Track Name,Artist,Streams,URL,Date,Region`.
    Kaggle,
    /// Kaggle "Spotify Charts" `charts.csv`:
    /// `title,rank,date,artist,url,region,chart,trend,streams`.
    Charts,
    /// spotifycharts.com regional download: note line, `Position,"Track Name",Artist,Streams,URL`.
    Spotifycharts,
    /// charts.spotify.com export: BOM, `rank,uri,artist_names,track_name,…,streams`.
    Chartsapi,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Kaggle,
        Format::Charts,
        Format::Spotifycharts,
        Format::Chartsapi,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Kaggle => "kaggle",
            Format::Charts => "charts",
            Format::Spotifycharts => "spotifycharts",
            Format::Chartsapi => "chartsapi",
        }
    }

    pub fn source(self) -> SourceKind {
        match self {
            Format::Kaggle => SourceKind::KaggleData,
            Format::Charts => SourceKind::KaggleCharts,
            Format::Spotifycharts => SourceKind::SpotifyCharts,
            Format::Chartsapi => SourceKind::ChartsApi,
        }
    }

    /// The standard header of the format (lowercase), used for positional mapping when the
    /// format is forced and the header names do not match.
    fn standard_header(self) -> &'static [&'static str] {
        match self {
            Format::Kaggle => &[
                "position",
                "track name",
                "artist",
                "streams",
                "url",
                "date",
                "region",
            ],
            Format::Charts => &[
                "title", "rank", "date", "artist", "url", "region", "chart", "trend", "streams",
            ],
            Format::Spotifycharts => &["position", "track name", "artist", "streams", "url"],
            Format::Chartsapi => &[
                "rank",
                "uri",
                "artist_names",
                "track_name",
                "source",
                "peak_rank",
                "previous_rank",
                "days_on_chart",
                "streams",
            ],
        }
    }

    /// Column names per field: pos, track, artist, streams, url, date, region, chart.
    fn field_names(self) -> [Option<&'static str>; 8] {
        match self {
            Format::Kaggle => [
                Some("position"),
                Some("track name"),
                Some("artist"),
                Some("streams"),
                Some("url"),
                Some("date"),
                Some("region"),
                None,
            ],
            Format::Charts => [
                Some("rank"),
                Some("title"),
                Some("artist"),
                Some("streams"),
                Some("url"),
                Some("date"),
                Some("region"),
                Some("chart"),
            ],
            Format::Spotifycharts => [
                Some("position"),
                Some("track name"),
                Some("artist"),
                Some("streams"),
                Some("url"),
                None,
                None,
                None,
            ],
            Format::Chartsapi => [
                Some("rank"),
                Some("track_name"),
                Some("artist_names"),
                Some("streams"),
                Some("uri"),
                None,
                None,
                None,
            ],
        }
    }
}

impl std::str::FromStr for Format {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                anyhow!("unknown format {s:?} (kaggle, charts, spotifycharts, chartsapi)")
            })
    }
}

/// Column indexes of the fields the importer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    pub pos: usize,
    pub track: usize,
    pub artist: usize,
    pub streams: usize,
    pub url: usize,
    pub date: Option<usize>,
    pub region: Option<usize>,
    pub chart: Option<usize>,
}

/// What [`sniff`] found at the top of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub format: Format,
    pub columns: Columns,
    /// Bytes to skip before the header line (BOM and/or note line).
    pub skip_bytes: usize,
}

/// spotifycharts.com's leading note line starts like this.
pub const NOTE_PREFIX: &str = ",,,\"Note";

/// Recognise the layout from the first bytes of a file (a few KiB are enough).
/// `forced` skips detection (`--format`); columns are then still matched by name when the
/// header has the names, otherwise taken in the format's standard order.
pub fn sniff(head: &[u8], forced: Option<Format>) -> Result<Layout> {
    let mut skip = 0;
    if head.starts_with(b"\xEF\xBB\xBF") {
        skip = 3;
    }
    let rest = &head[skip..];
    let trimmed: Vec<u8> = rest
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(512)
        .map(|b| b.to_ascii_lowercase())
        .collect();
    if trimmed.starts_with(b"<!doctype")
        || trimmed.starts_with(b"<html")
        || contains(&trimmed, b"<html")
    {
        bail!("this is an HTML page, not a chart CSV (an error page saved as .csv?)");
    }
    if rest.is_empty() {
        bail!("empty file");
    }
    let line_end = |buf: &[u8]| buf.iter().position(|&b| b == b'\n').map(|i| i + 1);
    if rest.starts_with(NOTE_PREFIX.as_bytes()) {
        let n = line_end(rest).ok_or_else(|| anyhow!("only a note line, no header"))?;
        skip += n;
    }
    let rest = &head[skip..];
    let header_len = line_end(rest).unwrap_or(rest.len());
    let header_line = std::str::from_utf8(&rest[..header_len])
        .map_err(|_| anyhow!("header line is not UTF-8"))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(header_line.as_bytes());
    let header: Vec<String> = match rdr.records().next() {
        Some(Ok(rec)) => rec.iter().map(|f| f.trim().to_ascii_lowercase()).collect(),
        _ => bail!("no header line"),
    };
    let has = |n: &str| header.iter().any(|h| h == n);
    let format = match forced {
        Some(f) => f,
        None => {
            if has("region") && has("date") && has("position") && has("track name") {
                Format::Kaggle
            } else if has("title") && has("rank") && has("region") && has("chart") {
                Format::Charts
            } else if has("position") && has("track name") && has("url") {
                if !has("streams") {
                    bail!("viral 50 chart (no Streams column): only the daily top 200 is loaded");
                }
                Format::Spotifycharts
            } else if has("rank") && has("uri") && has("track_name") {
                if has("weeks_on_chart") {
                    bail!("weekly chart (weeks_on_chart): only daily charts are loaded");
                }
                if !has("streams") {
                    bail!(
                        "chart without a streams column (viral?): only the daily top 200 is loaded"
                    );
                }
                Format::Chartsapi
            } else {
                bail!(
                    "unrecognised header {:?}; use --format kaggle|charts|spotifycharts|chartsapi",
                    super::csvlimit::clip(&header.join(","), 200)
                )
            }
        }
    };
    let names = format.field_names();
    let by_name = |n: Option<&str>| n.and_then(|n| header.iter().position(|h| h == n));
    let std_hdr = format.standard_header();
    let positional = |n: Option<&str>| n.and_then(|n| std_hdr.iter().position(|h| *h == n));
    let all_named = names.iter().all(|n| n.is_none() || by_name(*n).is_some());
    let pick = |i: usize| -> Option<usize> {
        if all_named {
            by_name(names[i])
        } else {
            positional(names[i])
        }
    };
    let need = |i: usize| -> Result<usize> {
        pick(i).ok_or_else(|| anyhow!("column {:?} missing", names[i].unwrap_or("?")))
    };
    let columns = Columns {
        pos: need(0)?,
        track: need(1)?,
        artist: need(2)?,
        streams: need(3)?,
        url: need(4)?,
        date: pick(5),
        region: pick(6),
        chart: pick(7),
    };
    Ok(Layout {
        format,
        columns,
        skip_bytes: skip,
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Region code and date taken from a per-chart file name such as
/// `regional-us-daily-2018-07-20.csv`. Either part may be missing.
pub fn chart_from_file_name(path: &Path) -> (Option<String>, Option<String>) {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let parts: Vec<&str> = stem.split('-').collect();
    let mut country = None;
    let mut date = None;
    if let Some(i) = parts.iter().position(|p| *p == "daily" || *p == "weekly") {
        if i >= 1 && is_country_code(parts[i - 1]) {
            country = Some(parts[i - 1].to_string());
        }
        if parts.len() >= i + 4 {
            let d = format!("{}-{}-{}", parts[i + 1], parts[i + 2], parts[i + 3]);
            if valid_date(&d) {
                date = Some(d);
            }
        }
    }
    (country, date)
}

/// `true` for a lowercase two-letter code or `global`.
pub fn is_country_code(s: &str) -> bool {
    s == "global" || (s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase()))
}

/// `true` for a real calendar date written `YYYY-MM-DD`.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut v = 0u32;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        Some(v)
    };
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some() && y >= 1900
        }
        _ => false,
    }
}

/// English country name (as in Kaggle `charts.csv`) → lowercase ISO code.
pub fn country_code_for_name(name: &str) -> Option<&'static str> {
    let n = name.trim();
    COUNTRY_NAMES
        .iter()
        .find(|(_, full)| full.eq_ignore_ascii_case(n))
        .map(|(code, _)| *code)
}

/// ISO code → English name, covering the Kaggle 2017 regions and the later charts.csv ones.
pub const COUNTRY_NAMES: &[(&str, &str)] = &[
    ("global", "Global"),
    ("us", "United States"),
    ("gb", "United Kingdom"),
    ("mx", "Mexico"),
    ("br", "Brazil"),
    ("de", "Germany"),
    ("es", "Spain"),
    ("ar", "Argentina"),
    ("nl", "Netherlands"),
    ("se", "Sweden"),
    ("fr", "France"),
    ("it", "Italy"),
    ("au", "Australia"),
    ("ca", "Canada"),
    ("cl", "Chile"),
    ("co", "Colombia"),
    ("pe", "Peru"),
    ("ph", "Philippines"),
    ("id", "Indonesia"),
    ("no", "Norway"),
    ("dk", "Denmark"),
    ("fi", "Finland"),
    ("pl", "Poland"),
    ("tr", "Turkey"),
    ("jp", "Japan"),
    ("tw", "Taiwan"),
    ("my", "Malaysia"),
    ("sg", "Singapore"),
    ("hk", "Hong Kong"),
    ("nz", "New Zealand"),
    ("be", "Belgium"),
    ("ch", "Switzerland"),
    ("at", "Austria"),
    ("ie", "Ireland"),
    ("pt", "Portugal"),
    ("cz", "Czech Republic"),
    ("hu", "Hungary"),
    ("sk", "Slovakia"),
    ("gr", "Greece"),
    ("ec", "Ecuador"),
    ("cr", "Costa Rica"),
    ("gt", "Guatemala"),
    ("hn", "Honduras"),
    ("sv", "El Salvador"),
    ("pa", "Panama"),
    ("py", "Paraguay"),
    ("uy", "Uruguay"),
    ("bo", "Bolivia"),
    ("do", "Dominican Republic"),
    ("ee", "Estonia"),
    ("lv", "Latvia"),
    ("lt", "Lithuania"),
    ("is", "Iceland"),
    ("lu", "Luxembourg"),
    ("ad", "Andorra"),
    ("bg", "Bulgaria"),
    ("ro", "Romania"),
    ("in", "India"),
    ("il", "Israel"),
    ("eg", "Egypt"),
    ("kr", "South Korea"),
    ("ru", "Russia"),
    ("ua", "Ukraine"),
    ("vn", "Vietnam"),
    ("th", "Thailand"),
    ("za", "South Africa"),
    ("sa", "Saudi Arabia"),
    ("ae", "United Arab Emirates"),
    ("ma", "Morocco"),
    ("ni", "Nicaragua"),
    ("cy", "Cyprus"),
    ("mt", "Malta"),
    ("by", "Belarus"),
    ("kz", "Kazakhstan"),
    ("ve", "Venezuela"),
    ("pk", "Pakistan"),
    ("ng", "Nigeria"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format() {
        let k = sniff(
            b"Position,Track Name,Artist,Streams,URL,Date,Region\n1,a",
            None,
        )
        .unwrap();
        assert_eq!(k.format, Format::Kaggle);
        assert_eq!(k.columns.region, Some(6));
        let c = sniff(
            b"title,rank,date,artist,url,region,chart,trend,streams\n",
            None,
        )
        .unwrap();
        assert_eq!(c.format, Format::Charts);
        assert_eq!(c.columns.pos, 1);
        let note =
            format!("{NOTE_PREFIX} that these\",\nPosition,\"Track Name\",Artist,Streams,URL\n");
        let s = sniff(note.as_bytes(), None).unwrap();
        assert_eq!(s.format, Format::Spotifycharts);
        assert_eq!(s.skip_bytes, note.find("Position").unwrap());
        let a = sniff(
            "\u{feff}rank,uri,artist_names,track_name,source,peak_rank,previous_rank,days_on_chart,streams\n"
                .as_bytes(),
            None,
        )
        .unwrap();
        assert_eq!(a.format, Format::Chartsapi);
        assert_eq!(a.skip_bytes, 3);
        assert_eq!(a.columns.url, 1);
    }

    #[test]
    fn rejects_html_viral_weekly_and_unknown() {
        let e = sniff(b"<!DOCTYPE html>\n<html><div class=chart-error>", None).unwrap_err();
        assert!(e.to_string().contains("HTML"), "{e}");
        assert!(sniff(b"Position,\"Track Name\",Artist,URL\n", None).is_err());
        assert!(sniff(
            b"rank,uri,artist_names,track_name,source,peak_rank,previous_rank,weeks_on_chart,streams\n",
            None
        )
        .is_err());
        assert!(sniff(b"a,b,c\n", None).is_err());
        // forced format maps positionally when names differ
        let f = sniff(b"a,b,c,d,e,f,g\n", Some(Format::Kaggle)).unwrap();
        assert_eq!(f.columns.region, Some(6));
    }

    #[test]
    fn file_names_and_countries() {
        let (c, d) = chart_from_file_name(Path::new("/x/regional-us-daily-2018-07-20.csv"));
        assert_eq!(
            (c.as_deref(), d.as_deref()),
            (Some("us"), Some("2018-07-20"))
        );
        let (c, d) = chart_from_file_name(Path::new("chart.csv"));
        assert_eq!((c, d), (None, None));
        assert_eq!(country_code_for_name("United States"), Some("us"));
        assert_eq!(country_code_for_name("global"), Some("global"));
        assert_eq!(country_code_for_name("Atlantis"), None);
        assert!(valid_date("2017-02-28"));
        assert!(!valid_date("2017-02-30"));
        assert!(!valid_date("2017/02/01"));
    }
}
