//! The spotify tab's rows: a [`ResultSet`] as the shared table (numeric columns sort
//! numerically), a chart guess, the store summary line and the batch JSON. No I/O.

use chrono::NaiveDate;

use crate::spotify::msg::StoreInfo;
use crate::spotify::questions::ChartHint;
use crate::spotify::results::{Cell, ResultSet};
use crate::theme::Role;
use crate::widgets::table::{Column, TableData, TableRow};

/// The result as a table snapshot: numeric columns sort numerically.
pub(super) fn table_data(rs: &ResultSet) -> TableData {
    let numeric: Vec<bool> = (0..rs.columns.len())
        .map(|c| {
            rs.rows
                .iter()
                .map(|r| &r[c])
                .find(|v| **v != Cell::Null)
                .is_some_and(|v| v.as_f64().is_some())
        })
        .collect();
    let columns = rs
        .columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let widest = rs
                .rows
                .iter()
                .take(200)
                .map(|r| r.get(i).map_or(0, |c| c.to_string().chars().count()))
                .max()
                .unwrap_or(0);
            let w = widest.max(name.chars().count() + 1).min(40) as u16;
            if numeric[i] {
                Column::numeric(name, w)
            } else {
                Column::new(name, w)
            }
        })
        .collect();
    let rows = rs
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            TableRow::new(
                i.to_string(),
                r.iter().map(|c| c.to_string()).collect(),
                Role::Normal,
            )
            .with_sort_keys(
                r.iter()
                    .map(|c| c.as_f64().unwrap_or(f64::NEG_INFINITY))
                    .collect(),
            )
        })
        .collect();
    TableData { columns, rows }
}

/// A chart for an ad-hoc result: a per-day line when there is a date column and a numeric
/// one, bars when there is a text label and a numeric value and at most 50 rows.
pub(super) fn guess_chart(rs: &ResultSet) -> ChartHint {
    let first = match rs.rows.first() {
        Some(r) => r,
        None => return ChartHint::None,
    };
    let is_date =
        |c: &Cell| matches!(c, Cell::Text(s) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok());
    let num = first.iter().rposition(|c| c.as_f64().is_some());
    let Some(num) = num else {
        return ChartHint::None;
    };
    // The hint names columns; only known names can be leaked as &'static str, so the
    // view looks columns up by position through these markers.
    if first.iter().position(is_date).is_some() {
        return ChartHint::Line {
            x: DATE_COL,
            y: VALUE_COL,
        };
    }
    let label = first.iter().position(|c| matches!(c, Cell::Text(_)));
    if label.is_some() && rs.rows.len() <= 50 && num < rs.columns.len() {
        return ChartHint::Bars {
            label: LABEL_COL,
            value: VALUE_COL,
        };
    }
    ChartHint::None
}

/// Markers for guessed charts: "the first date column", "the first text column", "the last
/// numeric column".
pub(super) const DATE_COL: &str = "\u{0}date";
pub(super) const LABEL_COL: &str = "\u{0}label";
pub(super) const VALUE_COL: &str = "\u{0}value";

/// Resolve a chart column name (or marker) to an index.
pub(super) fn chart_column(rs: &ResultSet, name: &str) -> Option<usize> {
    let first = rs.rows.first()?;
    match name {
        DATE_COL => first.iter().position(
            |c| matches!(c, Cell::Text(s) if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
        ),
        LABEL_COL => first.iter().position(|c| matches!(c, Cell::Text(_))),
        VALUE_COL => first.iter().rposition(|c| c.as_f64().is_some()),
        n => rs.column(n),
    }
}

/// Batch text without an answer: what the store holds.
pub(super) fn info_text(i: &StoreInfo) -> String {
    format!(
        "{} · table {} · {} chart rows · {} countries ({}) · {} .. {}\n",
        i.backend,
        i.table,
        i.rows,
        i.countries.len(),
        i.countries.join(" "),
        i.first_day.as_deref().unwrap_or("-"),
        i.last_day.as_deref().unwrap_or("-")
    )
}

/// Batch JSON: one object per row.
pub(super) fn json_rows(rs: &ResultSet) -> Vec<serde_json::Value> {
    rs.rows
        .iter()
        .map(|r| {
            let obj: serde_json::Map<String, serde_json::Value> = rs
                .columns
                .iter()
                .zip(r)
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            serde_json::Value::Object(obj)
        })
        .collect()
}
