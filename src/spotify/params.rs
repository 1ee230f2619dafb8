//! Parameters of the ready-made questions (country, date range, position range, limit,
//! track), validated before they are inlined as literals into the SQL (`questions`).

use anyhow::{bail, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::formats::is_country_code;

/// Parameters of a question. `to` is exclusive (`list_date < to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Params {
    /// Lowercase region code or `global`; `None` = all charts (streams questions then exclude
    /// `global`, which would double-count the country charts).
    pub country: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub pos_min: Option<u16>,
    pub pos_max: Option<u16>,
    pub limit: u32,
    /// Track for the per-day history; `None` = the track with most days at #1.
    pub track_id: Option<String>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            country: None,
            from: None,
            to: None,
            pos_min: None,
            pos_max: None,
            limit: 10,
            track_id: None,
        }
    }
}

impl Params {
    pub fn validate(&self) -> Result<()> {
        if let Some(c) = &self.country {
            if !is_country_code(c) {
                bail!("country {c:?} must be a lowercase two-letter code or 'global'");
            }
        }
        if let (Some(a), Some(b)) = (self.from, self.to) {
            if a >= b {
                bail!("date range is empty: from {a} is not before to {b}");
            }
        }
        for p in [self.pos_min, self.pos_max].into_iter().flatten() {
            if !(1..=1000).contains(&p) {
                bail!("position {p} is outside 1..1000");
            }
        }
        if let (Some(a), Some(b)) = (self.pos_min, self.pos_max) {
            if a > b {
                bail!("position range {a}..{b} is empty");
            }
        }
        if !(1..=100_000).contains(&self.limit) {
            bail!("limit {} is outside 1..100000", self.limit);
        }
        if let Some(t) = &self.track_id {
            if super::schema::track_id_from(t) != Some(t.as_str()) {
                bail!("track id {t:?} is not a 22-character Spotify id");
            }
        }
        Ok(())
    }
}

/// A usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

pub fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    Usage(e.to_string()).into()
}

/// `--positions 1-10` / `--positions 1`.
pub fn parse_positions(s: &str) -> Result<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let p = |x: &str| {
        x.trim()
            .parse::<u16>()
            .map_err(|_| usage(format!("positions: expected N or A-B, got {s:?}")))
    };
    Ok((p(a)?, p(b)?))
}
