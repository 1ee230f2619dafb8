//! Ready-made questions from the write-up, corrected: they run under ONLY_FULL_GROUP_BY
//! (every non-grouped column is aggregated), group songs by `track_id` (never by title), use
//! date ranges instead of `YEAR()`/`strftime`, order with a tiebreaker so both backends return
//! the same rows, and use the "aggregate on the covering index, then look up names" form for
//! track-level lists. Parameters (country, date range, position range, limit, track) are
//! validated and inlined as literals, so the SQL shown to the user is exactly what runs.
//! Each question has two forms with the same answer: one on the chart table, and one on the
//! summary tables the import keeps up to date (`summary.rs`), used whenever the parameters
//! allow it (no position range, dates on the 1st of a month; the #1 questions always).
//!
//! Data flow: [`list`] → UI picker / `stacktop spotify ask` → [`Question::sql`] → store.

use anyhow::Result;

use super::question_scope::QuestionScope;
use super::schema::{check_ident, Dialect};
use super::summary::{ARTIST, ONES, TRACK, TRACK_ALL};

pub use super::params::Params;

/// What the UI can draw for a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartHint {
    None,
    /// Horizontal bars: label column, value column.
    Bars {
        label: &'static str,
        value: &'static str,
    },
    /// Per-day line: x column (dates), y column.
    Line {
        x: &'static str,
        y: &'static str,
    },
}

/// Which parameters a question honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uses {
    pub country: bool,
    pub dates: bool,
    pub positions: bool,
    pub limit: bool,
    pub track: bool,
}

const ALL_FILTERS: Uses = Uses {
    country: true,
    dates: true,
    positions: true,
    limit: false,
    track: false,
};
const ALL_FILTERS_LIMIT: Uses = Uses {
    limit: true,
    ..ALL_FILTERS
};

/// A ready-made question.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    /// Short id for `stacktop spotify ask <id>`.
    pub id: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub uses: Uses,
    pub chart: ChartHint,
    /// The SQL on the chart table (always possible).
    build: fn(&QuestionScope<'_>) -> String,
    /// The same answer from the summary tables (`summary.rs`), when the parameters allow it.
    fast: fn(&QuestionScope<'_>) -> Option<String>,
}

impl Question {
    /// The SQL for `table` and `params` (validated), as it will run: from the summary tables
    /// the import keeps up to date (`summary.rs`) when the parameters allow it, else from
    /// the chart table.
    pub fn sql(&self, table: &str, dialect: Dialect, params: &Params) -> Result<String> {
        check_ident(table)?;
        params.validate()?;
        let c = QuestionScope {
            t: table,
            d: dialect,
            p: params,
        };
        Ok((self.fast)(&c).unwrap_or_else(|| (self.build)(&c)))
    }

    /// The SQL on the chart table alone (what the summary form must equal; tests, benches).
    pub fn sql_raw(&self, table: &str, dialect: Dialect, params: &Params) -> Result<String> {
        check_ident(table)?;
        params.validate()?;
        Ok((self.build)(&QuestionScope {
            t: table,
            d: dialect,
            p: params,
        }))
    }
}

/// Find a question by id.
pub fn find(id: &str) -> Option<&'static Question> {
    list().iter().find(|q| q.id.eq_ignore_ascii_case(id))
}

/// All ready-made questions, in menu order.
pub fn list() -> &'static [Question] {
    &QUESTIONS
}

/// `track-history`: the chosen track's rows, or those of the track with the most days at #1
/// in the selection, picked from `ones` (the chart table with `pos = 1`, or the #1 summary).
/// The track's id and names are in every row, so the answer says which track it is.
fn track_history(c: &QuestionScope<'_>, ones: &str, at_1: &str) -> String {
    let track = match &c.p.track_id {
        Some(id) => format!("'{id}'"),
        None => {
            let extra: &[&str] = if at_1.is_empty() { &[] } else { &[at_1] };
            format!(
                "(SELECT track_id FROM {ones}{} GROUP BY track_id ORDER BY COUNT(*) DESC, track_id LIMIT 1)",
                c.filters(false, false, extra)
            )
        }
    };
    let cond = format!("track_id = {track}");
    format!(
        "SELECT list_date, country, pos, streams, track_id, track, artist\n  FROM {}{}\n ORDER BY list_date, country",
        c.t,
        c.filters(false, true, &[&cond])
    )
}

static QUESTIONS: [Question; 10] = [
    Question {
        id: "rows",
        title: "Chart rows for a country and date range",
        description: "How many chart entries (e.g. US in 2017: from 2017-01-01 to 2018-01-01), and the first and last chart day.",
        uses: ALL_FILTERS,
        chart: ChartHint::None,
        build: |c| {
            format!(
                "SELECT COUNT(*) AS chart_rows, MIN(list_date) AS first_day, MAX(list_date) AS last_day\n  FROM {}{}",
                c.t,
                c.filters(false, true, &[])
            )
        },
        fast: |c| {
            Some(format!(
                "SELECT COALESCE(SUM(days), 0) AS chart_rows, MIN(first_day) AS first_day, MAX(last_day) AS last_day\n  FROM {}{}",
                c.sum(TRACK),
                c.monthly(false, true)?
            ))
        },
    },
    Question {
        id: "artists",
        title: "Distinct artists",
        description: "Number of different (primary) artists; names are compared exactly (binary collation).",
        uses: ALL_FILTERS,
        chart: ChartHint::None,
        build: |c| {
            format!(
                "SELECT COUNT(DISTINCT artist) AS artists\n  FROM {}{}",
                c.t,
                c.filters(false, true, &[])
            )
        },
        fast: |c| {
            Some(format!(
                "SELECT COUNT(DISTINCT artist) AS artists\n  FROM {}{}",
                c.sum(ARTIST),
                c.monthly(false, true)?
            ))
        },
    },
    Question {
        id: "tracks",
        title: "Distinct tracks",
        description: "Tracks are counted by Spotify track id (different songs may share a title).",
        uses: ALL_FILTERS,
        chart: ChartHint::None,
        build: |c| {
            format!(
                "SELECT COUNT(DISTINCT track_id) AS tracks\n  FROM {}{}",
                c.t,
                c.filters(false, true, &[])
            )
        },
        fast: |c| {
            Some(format!(
                "SELECT COUNT(DISTINCT track_id) AS tracks\n  FROM {}{}",
                c.sum(TRACK),
                c.monthly(false, true)?
            ))
        },
    },
    Question {
        id: "artist-entries",
        title: "Artists with the most chart entries",
        description: "One entry per chart row (country, day, position).",
        uses: ALL_FILTERS_LIMIT,
        chart: ChartHint::Bars { label: "artist", value: "entries" },
        build: |c| {
            format!(
                "SELECT artist, COUNT(*) AS entries\n  FROM {}{}{}\n GROUP BY artist\n ORDER BY entries DESC, artist\n LIMIT {}",
                c.t,
                c.hint("ix_artist"),
                c.filters(false, true, &[]),
                c.limit()
            )
        },
        fast: |c| {
            Some(format!(
                "SELECT artist, SUM(entries) AS entries\n  FROM {}{}\n GROUP BY artist\n ORDER BY entries DESC, artist\n LIMIT {}",
                c.sum(ARTIST),
                c.monthly(false, true)?,
                c.limit()
            ))
        },
    },
    Question {
        id: "artist-streams",
        title: "Artists with the most streams",
        description: "Sum of daily streams. Without a country the country charts are summed and 'global' is left out (it would count the same streams twice).",
        uses: ALL_FILTERS_LIMIT,
        chart: ChartHint::Bars { label: "artist", value: "total_streams" },
        build: |c| {
            format!(
                "SELECT artist, SUM(streams) AS total_streams\n  FROM {}{}{}\n GROUP BY artist\n ORDER BY total_streams DESC, artist\n LIMIT {}",
                c.t,
                c.hint("ix_artist"),
                c.filters(true, true, &[]),
                c.limit()
            )
        },
        fast: |c| {
            Some(format!(
                "SELECT artist, SUM(streams) AS total_streams\n  FROM {}{}\n GROUP BY artist\n ORDER BY total_streams DESC, artist\n LIMIT {}",
                c.sum(ARTIST),
                c.monthly(true, true)?,
                c.limit()
            ))
        },
    },
    Question {
        id: "track-streams",
        title: "Tracks with the most streams",
        description: "Grouped by track id (songs sharing a title stay apart); without a country 'global' is left out.",
        uses: ALL_FILTERS_LIMIT,
        chart: ChartHint::Bars { label: "track", value: "total_streams" },
        build: |c| {
            format!(
                "SELECT g.track_id, {}, {}, g.total_streams\n  FROM (SELECT track_id, SUM(streams) AS total_streams\n          FROM {}{}{}\n         GROUP BY track_id\n         ORDER BY total_streams DESC, track_id\n         LIMIT {}) g\n ORDER BY g.total_streams DESC, g.track_id",
                c.name_of("track", "track"),
                c.name_of("artist", "artist"),
                c.t,
                c.hint("ix_track"),
                c.filters(true, true, &[]),
                c.limit()
            )
        },
        fast: |c| c.top_tracks_fast("SUM(streams)", "total_streams", true),
    },
    Question {
        id: "track-days",
        title: "Tracks with the most days on the chart",
        description: "Chart days per track id; without a country every country's chart counts (chart-days).",
        uses: ALL_FILTERS_LIMIT,
        chart: ChartHint::Bars { label: "track", value: "days" },
        build: |c| {
            format!(
                "SELECT g.track_id, {}, {}, g.days\n  FROM (SELECT track_id, COUNT(*) AS days\n          FROM {}{}{}\n         GROUP BY track_id\n         ORDER BY days DESC, track_id\n         LIMIT {}) g\n ORDER BY g.days DESC, g.track_id",
                c.name_of("track", "track"),
                c.name_of("artist", "artist"),
                c.t,
                c.hint("ix_track"),
                c.filters(false, true, &[]),
                c.limit()
            )
        },
        fast: |c| c.top_tracks_fast("SUM(days)", "days", false),
    },
    Question {
        id: "number-ones",
        title: "Tracks with the most days at #1",
        description: "Days at position 1 per track id (the position range does not apply).",
        uses: Uses { positions: false, ..ALL_FILTERS_LIMIT },
        chart: ChartHint::Bars { label: "track", value: "days_at_1" },
        build: |c| {
            format!(
                "SELECT g.track_id, {}, {}, g.days_at_1\n  FROM (SELECT track_id, COUNT(*) AS days_at_1\n          FROM {}{}\n         GROUP BY track_id\n         ORDER BY days_at_1 DESC, track_id\n         LIMIT {}) g\n ORDER BY g.days_at_1 DESC, g.track_id",
                c.name_of("track", "track"),
                c.name_of("artist", "artist"),
                c.t,
                c.filters(false, false, &["pos = 1"]),
                c.limit()
            )
        },
        fast: |c| {
            Some(format!(
                "SELECT g.track_id, {}, {}, g.days_at_1\n  FROM (SELECT track_id, COUNT(*) AS days_at_1\n          FROM {}{}\n         GROUP BY track_id\n         ORDER BY days_at_1 DESC, track_id\n         LIMIT {}) g\n ORDER BY g.days_at_1 DESC, g.track_id",
                c.name_of_fast(TRACK_ALL, "track", "track"),
                c.name_of_fast(TRACK_ALL, "artist", "artist"),
                c.sum(ONES),
                c.filters(false, false, &[]),
                c.limit()
            ))
        },
    },
    Question {
        id: "streaks",
        title: "Longest runs at #1",
        description: "Consecutive chart days at #1 per track and country (window functions; a day missing from the data does not break a run).",
        uses: Uses { positions: false, ..ALL_FILTERS_LIMIT },
        chart: ChartHint::Bars { label: "track", value: "streak_days" },
        build: |c| {
            format!(
                "SELECT g.track_id, {}, g.country, g.streak_days, g.first_day, g.last_day\n  FROM (SELECT track_id, country, COUNT(*) AS streak_days,\n               MIN(list_date) AS first_day, MAX(list_date) AS last_day\n          FROM (SELECT track_id, country, list_date,\n                       ROW_NUMBER() OVER (PARTITION BY country ORDER BY list_date)\n                     - ROW_NUMBER() OVER (PARTITION BY country, track_id ORDER BY list_date) AS grp\n                  FROM {}{}) s\n         GROUP BY track_id, country, grp\n         ORDER BY streak_days DESC, first_day, country, track_id\n         LIMIT {}) g\n ORDER BY g.streak_days DESC, g.first_day, g.country, g.track_id",
                c.name_of("track", "track"),
                c.t,
                c.filters(false, false, &["pos = 1"]),
                c.limit()
            )
        },
        fast: |c| {
            Some(format!(
                "SELECT g.track_id, {}, g.country, g.streak_days, g.first_day, g.last_day\n  FROM (SELECT track_id, country, COUNT(*) AS streak_days,\n               MIN(list_date) AS first_day, MAX(list_date) AS last_day\n          FROM (SELECT track_id, country, list_date,\n                       ROW_NUMBER() OVER (PARTITION BY country ORDER BY list_date)\n                     - ROW_NUMBER() OVER (PARTITION BY country, track_id ORDER BY list_date) AS grp\n                  FROM {}{}) s\n         GROUP BY track_id, country, grp\n         ORDER BY streak_days DESC, first_day, country, track_id\n         LIMIT {}) g\n ORDER BY g.streak_days DESC, g.first_day, g.country, g.track_id",
                c.name_of_fast(TRACK_ALL, "track", "track"),
                c.sum(ONES),
                c.filters(false, false, &[]),
                c.limit()
            ))
        },
    },
    Question {
        id: "track-history",
        title: "A track's position and streams per day",
        description: "Per-day series for the line chart; without a track id, the track with the most days at #1 in the selection.",
        uses: Uses { track: true, limit: false, ..ALL_FILTERS },
        chart: ChartHint::Line { x: "list_date", y: "pos" },
        build: |c| track_history(c, c.t, "pos = 1"),
        fast: |c| Some(track_history(c, &c.sum(ONES), "")),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn renders_and_validates() {
        let q = find("artist-streams").unwrap();
        let p = Params {
            country: Some("us".into()),
            from: NaiveDate::from_ymd_opt(2017, 1, 1),
            to: NaiveDate::from_ymd_opt(2018, 1, 1),
            limit: 5,
            ..Default::default()
        };
        let sql = q.sql("top200", Dialect::Sqlite, &p).unwrap();
        assert!(sql.contains("country = 'us'"), "{sql}");
        // whole months: from the monthly summary
        assert!(sql.contains("FROM top200_sum_artist"), "{sql}");
        assert!(sql.contains("month >= '2017-01-01' AND month < '2018-01-01'"));
        assert!(sql.ends_with("LIMIT 5"));
        let raw = q.sql_raw("top200", Dialect::Sqlite, &p).unwrap();
        assert!(raw.contains("list_date >= '2017-01-01' AND list_date < '2018-01-01'"));
        assert!(raw.contains("FROM top200 "), "{raw}");
        // a day inside a month or a position range: the chart table
        let mid = Params {
            from: NaiveDate::from_ymd_opt(2017, 1, 15),
            ..p.clone()
        };
        assert_eq!(
            q.sql("top200", Dialect::Sqlite, &mid).unwrap(),
            q.sql_raw("top200", Dialect::Sqlite, &mid).unwrap()
        );
        let top10 = Params {
            pos_max: Some(10),
            ..p.clone()
        };
        assert!(!q
            .sql("top200", Dialect::Mysql, &top10)
            .unwrap()
            .contains("_sum_"));
        // the #1 questions read the #1 summary for any dates
        let ones = find("number-ones")
            .unwrap()
            .sql("top200", Dialect::Mysql, &mid)
            .unwrap();
        assert!(
            ones.contains(
                "FROM top200_sum_ones WHERE country = 'us' AND list_date >= '2017-01-15'"
            ),
            "{ones}"
        );
        let all = q
            .sql("top200", Dialect::Sqlite, &Params::default())
            .unwrap();
        assert!(all.contains("country <> 'global'"), "{all}");
        let bad = Params {
            country: Some("us' OR 1=1 --".into()),
            ..Default::default()
        };
        assert!(q.sql("top200", Dialect::Mysql, &bad).is_err());
        assert!(q.sql("top200 x", Dialect::Mysql, &p).is_err());
        assert!(list().len() >= 8);
        for q in list() {
            let s = q.sql("top200", Dialect::Mysql, &Params::default()).unwrap();
            assert!(!s.contains("GROUP BY 2") && !s.contains("YEAR("), "{s}");
            assert!(
                super::super::readonly::check(&s, Dialect::Mysql).is_ok(),
                "{s}"
            );
        }
    }
}
