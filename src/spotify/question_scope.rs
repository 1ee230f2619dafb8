//! The shared pieces of the ready-made questions' SQL ([`super::questions`]): `WHERE` clauses
//! for the parameters on the chart table or a monthly summary, the MySQL index hint, the
//! summary-table forms of a top-N and the name look-ups. Parameters are validated before a
//! scope is made; they are inlined as literals.

use chrono::{Datelike, NaiveDate};

use super::params::Params;
use super::schema::Dialect;
use super::summary::{TRACK, TRACK_ALL};

/// What a question's SQL is built for: the chart table, the SQL dialect and the (validated)
/// parameters, with the pieces the questions share (filters, hints, summary-table forms).
pub(super) struct QuestionScope<'a> {
    /// the chart table
    pub(super) t: &'a str,
    pub(super) d: Dialect,
    pub(super) p: &'a Params,
}

impl QuestionScope<'_> {
    /// `WHERE …` for the filters; `streams` excludes `global` when no country is chosen;
    /// `positions` applies the position range.
    pub(super) fn filters(&self, streams: bool, positions: bool, extra: &[&str]) -> String {
        self.filters_on("list_date", streams, positions, extra)
    }

    /// [`QuestionScope::filters`] with the date range on `date_col` (`month` in the monthly summaries).
    pub(super) fn filters_on(
        &self,
        date_col: &str,
        streams: bool,
        positions: bool,
        extra: &[&str],
    ) -> String {
        let mut c: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        match &self.p.country {
            Some(cc) => c.push(format!("country = '{cc}'")),
            None if streams => c.push("country <> 'global'".into()),
            None => {}
        }
        if let Some(d) = self.p.from {
            c.push(format!("{date_col} >= '{}'", d.format("%Y-%m-%d")));
        }
        if let Some(d) = self.p.to {
            c.push(format!("{date_col} < '{}'", d.format("%Y-%m-%d")));
        }
        if positions {
            if let Some(p) = self.p.pos_min {
                c.push(format!("pos >= {p}"));
            }
            if let Some(p) = self.p.pos_max {
                c.push(format!("pos <= {p}"));
            }
        }
        if c.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", c.join(" AND "))
        }
    }

    /// MySQL/MariaDB index hint for a whole-table aggregation: without a country the
    /// optimizer prefers a range scan of the primary key for `country <> 'global'` plus a
    /// temporary table (0.4–0.6 s on 1M rows) over the covering `index` (0.2 s). With a
    /// country the key range is the better plan, so no hint. SQLite picks well on its own.
    pub(super) fn hint(&self, index: &str) -> String {
        if self.d == Dialect::Mysql && self.p.country.is_none() {
            format!(" FORCE INDEX ({index})")
        } else {
            String::new()
        }
    }

    pub(super) fn limit(&self) -> u32 {
        self.p.limit
    }

    /// A summary table of the chart table (`summary::TRACK` …).
    pub(super) fn sum(&self, kind: &str) -> String {
        format!("{}{kind}", self.t)
    }

    /// `WHERE …` on a monthly summary table, or `None` when the parameters need the chart
    /// table: a position range (for questions that use it) or a date not on the 1st of a month.
    pub(super) fn monthly(&self, streams: bool, positions: bool) -> Option<String> {
        let on_first = |d: Option<NaiveDate>| d.is_none_or(|d| d.day() == 1);
        let pos = positions && (self.p.pos_min.is_some() || self.p.pos_max.is_some());
        (on_first(self.p.from) && on_first(self.p.to) && !pos)
            .then(|| self.filters_on("month", streams, false, &[]))
    }

    /// `WHERE …` on the all-countries summary (`summary::TRACK_ALL`) with `extra`, or `None`
    /// when a country is chosen or [`QuestionScope::monthly`] needs the chart table.
    pub(super) fn monthly_all(&self, extra: &[&str]) -> Option<String> {
        self.monthly(false, true)?;
        self.p
            .country
            .is_none()
            .then(|| self.filters_on("month", false, false, extra))
    }

    /// Name look-ups from a per-track summary (`TRACK` or `TRACK_ALL`, both indexed by track
    /// id; the minimum of the per-month minimums is the minimum over the chart table).
    pub(super) fn name_of_fast(&self, kind: &str, col: &str, alias: &str) -> String {
        format!(
            "(SELECT MIN(x.{col}) FROM {s} x WHERE x.track_id = g.track_id) AS {alias}",
            s = self.sum(kind)
        )
    }

    /// The fast form of a top-N of tracks: `agg` of the summary rows per track id, from the
    /// all-countries summary when no country is chosen, else from the per-country one.
    /// `streams`: without a country 'global' is left out (in the all-countries summary: the
    /// months with rows outside 'global'; a track charted only there is not in the answer).
    pub(super) fn top_tracks_fast(&self, agg: &str, value: &str, streams: bool) -> Option<String> {
        let local: &[&str] = if streams { &["local_rows > 0"] } else { &[] };
        let (kind, filter) = match self.monthly_all(local) {
            Some(f) => (TRACK_ALL, f),
            None => (TRACK, self.monthly(streams, true)?),
        };
        Some(format!(
            "SELECT g.track_id, {}, {}, g.{value}\n  FROM (SELECT track_id, {agg} AS {value}\n          FROM {}{filter}\n         GROUP BY track_id\n         ORDER BY {value} DESC, track_id\n         LIMIT {}) g\n ORDER BY g.{value} DESC, g.track_id",
            self.name_of_fast(kind, "track", "track"),
            self.name_of_fast(kind, "artist", "artist"),
            self.sum(kind),
            self.limit()
        ))
    }

    /// Name look-ups for a grouped track id (deterministic: MIN over the binary collation).
    pub(super) fn name_of(&self, col: &str, alias: &str) -> String {
        format!(
            "(SELECT MIN(x.{col}) FROM {t} x WHERE x.track_id = g.track_id) AS {alias}",
            t = self.t
        )
    }
}
