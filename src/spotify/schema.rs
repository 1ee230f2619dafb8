//! Table layout shared by both stores: the normalised chart row that every input format is
//! mapped to, the DDL per dialect (key `(country, list_date, pos)`, utf8mb4 + binary collation on
//! MySQL), the secondary indexes that are built after bulk loads, and helpers that validate
//! identifiers and extract the 22-character track id from a Spotify URL or URI.
//!
//! Data flow: `formats`/`parse` produce [`Row`]s → `store_sqlite`/`store_mysql` write them into
//! the table created from the DDL here → `questions` read it.

use anyhow::{bail, Result};

/// The normalised columns, in insert order.
pub const COLUMNS: [&str; 9] = [
    "country",
    "list_date",
    "pos",
    "track_id",
    "track",
    "artist",
    "artists",
    "streams",
    "source",
];

/// Longest track/artist name accepted (the MySQL column is `VARCHAR(512)`); longer values are
/// reported as bad rows rather than truncated.
pub const MAX_NAME_CHARS: usize = 512;
/// Longest `artists` list accepted (`VARCHAR(1024)`).
pub const MAX_ARTISTS_CHARS: usize = 1024;

/// Where a row came from (stored in `source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// spotifycharts.com regional download.
    SpotifyCharts = 1,
    /// Kaggle "Spotify's Worldwide Daily Song Ranking" `data.csv`.
    KaggleData = 2,
    /// Kaggle "Spotify Charts" `charts.csv`.
    KaggleCharts = 3,
    /// charts.spotify.com export.
    ChartsApi = 4,
}

/// One normalised chart row, borrowing from the parser's buffers (no allocation per row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    /// Lowercase ISO 3166-1 alpha-2 code or `global`.
    pub country: &'a str,
    /// `YYYY-MM-DD`, validated.
    pub list_date: &'a str,
    pub pos: u16,
    /// 22-character base62 id.
    pub track_id: &'a str,
    pub track: &'a str,
    /// Primary (first-listed) artist.
    pub artist: &'a str,
    /// Full artist list as published (`", "`-joined), or the artist when the source has no list.
    pub artists: &'a str,
    pub streams: Option<u32>,
    pub source: SourceKind,
}

/// An owned [`Row`], for tests, generators and expectations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnedRow {
    pub country: String,
    pub list_date: String,
    pub pos: u16,
    pub track_id: String,
    pub track: String,
    pub artist: String,
    pub artists: String,
    pub streams: Option<u32>,
    pub source: u8,
}

impl Row<'_> {
    pub fn to_owned_row(&self) -> OwnedRow {
        OwnedRow {
            country: self.country.to_string(),
            list_date: self.list_date.to_string(),
            pos: self.pos,
            track_id: self.track_id.to_string(),
            track: self.track.to_string(),
            artist: self.artist.to_string(),
            artists: self.artists.to_string(),
            streams: self.streams,
            source: self.source as u8,
        }
    }
}

/// SQL dialect of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Mysql,
}

/// Secondary indexes for the ready-made questions: `(name suffix, columns)`. Both stores
/// append the key `(country, list_date, pos)` to every secondary index entry, so these two
/// cover every question: `ix_artist` the artist lists, `ix_track` the track lists, the
/// distinct counts, the per-track name look-ups and (through the appended `pos`) the #1
/// questions. Each index costs about a second per million rows to build, so there are no more.
pub const INDEXES: [(&str, &str); 2] = [
    ("ix_artist", "artist, streams"),
    ("ix_track", "track_id, streams"),
];

/// Indexes earlier versions created; dropped before a bulk load and never rebuilt.
pub const OLD_INDEXES: [&str; 1] = ["ix_pos"];

/// Check a table or database name: ASCII letters, digits and `_`, 1..=64 characters, not
/// starting with a digit. Names are interpolated into SQL, so nothing else is allowed.
pub fn check_ident(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if !ok {
        bail!("invalid SQL identifier {name:?}: use letters, digits and '_' (max 64, not starting with a digit)");
    }
    Ok(())
}

/// SQLite DDL for `table` (a `WITHOUT ROWID` table clustered on the key).
pub fn sqlite_create_table(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (
  country   TEXT    NOT NULL,
  list_date TEXT    NOT NULL,
  pos       INTEGER NOT NULL,
  track_id  TEXT    NOT NULL,
  track     TEXT    NOT NULL DEFAULT '',
  artist    TEXT    NOT NULL DEFAULT '',
  artists   TEXT    NOT NULL DEFAULT '',
  streams   INTEGER NULL,
  source    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (country, list_date, pos)
) WITHOUT ROWID"
    )
}

/// MySQL/MariaDB DDL for `table`. `name_collation` is a binary utf8mb4 collation
/// (see [`mysql_binary_collation`]), so distinct names never collapse.
pub fn mysql_create_table(table: &str, name_collation: &str, temporary: bool) -> String {
    let temp = if temporary { "TEMPORARY " } else { "" };
    format!(
        "CREATE {temp}TABLE IF NOT EXISTS {table} (
  country   VARCHAR(8) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  list_date DATE NOT NULL,
  pos       SMALLINT UNSIGNED NOT NULL,
  track_id  CHAR(22) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  track     VARCHAR(512) CHARACTER SET utf8mb4 COLLATE {name_collation} NOT NULL DEFAULT '',
  artist    VARCHAR(512) CHARACTER SET utf8mb4 COLLATE {name_collation} NOT NULL DEFAULT '',
  artists   VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE {name_collation} NOT NULL DEFAULT '',
  streams   INT UNSIGNED NULL,
  source    TINYINT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (country, list_date, pos)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={name_collation}"
    )
}

/// The binary utf8mb4 collation to use for a server `VERSION()` string. MariaDB's
/// `utf8mb4_bin` is PAD SPACE (`'a' = 'a '`), so prefer the NO PAD variants when they exist:
/// `utf8mb4_nopad_bin` (MariaDB ≥ 10.2) and `utf8mb4_0900_bin` (MySQL ≥ 8.0.17).
pub fn mysql_binary_collation(version: &str) -> &'static str {
    if version.to_ascii_lowercase().contains("mariadb") {
        return "utf8mb4_nopad_bin";
    }
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let patch: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    if (major, minor, patch) >= (8, 0, 17) {
        "utf8mb4_0900_bin"
    } else {
        "utf8mb4_bin"
    }
}

/// Extract the 22-character base62 track id from `https://open.spotify.com/track/<id>[?…]`,
/// `spotify:track:<id>` or a bare id.
pub fn track_id_from(url_or_uri: &str) -> Option<&str> {
    let s = url_or_uri.trim();
    let tail = if let Some(rest) = s.strip_prefix("spotify:track:") {
        rest
    } else if let Some(i) = s.find("/track/") {
        &s[i + "/track/".len()..]
    } else {
        s
    };
    let id = tail.split(['?', '#', '/']).next().unwrap_or("");
    if id.len() == 22 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Some(id)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_ids() {
        let id = "0bAkKNCQfWkexHFn7fIKns";
        assert_eq!(
            track_id_from("https://open.spotify.com/track/0bAkKNCQfWkexHFn7fIKns"),
            Some(id)
        );
        assert_eq!(
            track_id_from("https://open.spotify.com/track/0bAkKNCQfWkexHFn7fIKns?si=abc"),
            Some(id)
        );
        assert_eq!(
            track_id_from("spotify:track:0bAkKNCQfWkexHFn7fIKns"),
            Some(id)
        );
        assert_eq!(track_id_from(id), Some(id));
        assert_eq!(track_id_from("https://open.spotify.com/track/short"), None);
        assert_eq!(track_id_from(""), None);
    }

    #[test]
    fn idents_and_collations() {
        assert!(check_ident("top200").is_ok());
        assert!(check_ident("top200; DROP").is_err());
        assert!(check_ident("9x").is_err());
        assert!(check_ident("").is_err());
        assert_eq!(
            mysql_binary_collation("10.11.6-MariaDB-0+deb12u1"),
            "utf8mb4_nopad_bin"
        );
        assert_eq!(mysql_binary_collation("8.0.36"), "utf8mb4_0900_bin");
        assert_eq!(mysql_binary_collation("5.7.44-log"), "utf8mb4_bin");
    }
}
