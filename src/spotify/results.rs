//! Query results independent of the backend: column names plus rows of typed [`Cell`]s, the
//! mysql-client style summary ("N rows in set (0.16 sec)"), client-side sorting, and export of
//! the full result to CSV and JSON.
//!
//! Data flow: `store_sqlite`/`store_mysql` decode driver values into [`Cell`]s → [`ResultSet`]
//! → runner events → UI table/charts or batch output.

use std::cmp::Ordering;
use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

/// One value. MySQL `DECIMAL` sums that are whole numbers become `Int`, dates become `Text`
/// (`YYYY-MM-DD`), so both backends give equal cells for equal data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    /// Numeric value for charts (`None` for text and NULL).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            Cell::Null | Cell::Text(_) => None,
        }
    }

    /// Total order used for sorting: NULL first, then numbers, then text.
    pub fn cmp_sort(&self, other: &Cell) -> Ordering {
        fn rank(c: &Cell) -> u8 {
            match c {
                Cell::Null => 0,
                Cell::Int(_) | Cell::Float(_) => 1,
                Cell::Text(_) => 2,
            }
        }
        match (self, other) {
            (Cell::Int(a), Cell::Int(b)) => a.cmp(b),
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            (a, b) if rank(a) == 1 && rank(b) == 1 => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                x.total_cmp(&y)
            }
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => write!(f, "{x}"),
            Cell::Text(s) => f.write_str(s),
        }
    }
}

/// A complete query result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Wall time of execute + fetch.
    #[serde(skip)]
    pub elapsed: Duration,
    /// `true` when rows beyond the store's row cap were not fetched.
    pub truncated: bool,
}

impl ResultSet {
    /// Like the mysql client: `1 row in set (0.16 sec)`, `10 rows in set (0.02 sec)`,
    /// `Empty set (0.00 sec)`; a capped result says `first 10000 rows only: more not fetched
    /// (spotify.max_rows) (…)`.
    pub fn summary(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        match self.rows.len() {
            n if self.truncated => {
                format!("first {n} rows only: more not fetched (spotify.max_rows) ({secs:.2} sec)")
            }
            0 => format!("Empty set ({secs:.2} sec)"),
            1 => format!("1 row in set ({secs:.2} sec)"),
            n => format!("{n} rows in set ({secs:.2} sec)"),
        }
    }

    /// Index of a column by name (case-insensitive).
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// Sort the rows by one column (stable; client side).
    pub fn sort_by_column(&mut self, col: usize, descending: bool) {
        if col >= self.columns.len() {
            return;
        }
        self.rows.sort_by(|a, b| {
            let o = a[col].cmp_sort(&b[col]);
            if descending {
                o.reverse()
            } else {
                o
            }
        });
    }

    /// Write every row as CSV with a header line (RFC 4180 quoting; NULL as an empty field).
    pub fn write_csv<W: Write>(&self, w: W) -> Result<()> {
        let mut wr = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(w);
        wr.write_record(&self.columns)?;
        let mut buf: Vec<String> = Vec::with_capacity(self.columns.len());
        for row in &self.rows {
            buf.clear();
            buf.extend(row.iter().map(|c| match c {
                Cell::Null => String::new(),
                other => other.to_string(),
            }));
            wr.write_record(&buf)?;
        }
        wr.flush()?;
        Ok(())
    }

    /// Write every row as a JSON array of objects keyed by column name (NULL → null).
    pub fn write_json<W: Write>(&self, mut w: W) -> Result<()> {
        w.write_all(b"[")?;
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(b"\n  ")?;
            let obj: serde_json::Map<String, serde_json::Value> = self
                .columns
                .iter()
                .zip(row)
                .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                .collect();
            serde_json::to_writer(&mut w, &obj)?;
        }
        w.write_all(if self.rows.is_empty() {
            b"]\n"
        } else {
            b"\n]\n"
        })?;
        Ok(())
    }

    /// Plain-text table like the mysql client (for batch mode), without the
    /// [`ResultSet::summary`] line: callers print that once, where it belongs.
    pub fn to_text_table(&self) -> String {
        use unicode_width::UnicodeWidthStr;
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.width()).collect();
        for r in &cells {
            for (i, c) in r.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(c.width());
                }
            }
        }
        let sep: String = {
            let mut s = String::from("+");
            for w in &widths {
                s.push_str(&"-".repeat(w + 2));
                s.push('+');
            }
            s.push('\n');
            s
        };
        let line = |vals: &[String], numeric: &[bool]| {
            let mut s = String::from("|");
            for (i, v) in vals.iter().enumerate() {
                let pad = widths[i].saturating_sub(v.width());
                if numeric.get(i).copied().unwrap_or(false) {
                    s.push_str(&format!(" {}{} |", " ".repeat(pad), v));
                } else {
                    s.push_str(&format!(" {}{} |", v, " ".repeat(pad)));
                }
            }
            s.push('\n');
            s
        };
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .all(|r| matches!(r.get(i), Some(Cell::Int(_) | Cell::Float(_) | Cell::Null)))
            })
            .collect();
        let mut out = String::new();
        if !self.columns.is_empty() {
            out.push_str(&sep);
            out.push_str(&line(&self.columns, &[]));
            out.push_str(&sep);
            for r in &cells {
                out.push_str(&line(r, &numeric));
            }
            out.push_str(&sep);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(n: usize) -> ResultSet {
        ResultSet {
            columns: vec!["artist".into(), "total".into()],
            rows: (0..n)
                .map(|i| vec![Cell::Text(format!("a,\"{i}\" 🔥")), Cell::Int(i as i64)])
                .collect(),
            elapsed: Duration::from_millis(160),
            truncated: false,
        }
    }

    #[test]
    fn summary_like_mysql() {
        assert_eq!(rs(0).summary(), "Empty set (0.16 sec)");
        assert_eq!(rs(1).summary(), "1 row in set (0.16 sec)");
        assert_eq!(rs(12).summary(), "12 rows in set (0.16 sec)");
        let capped = ResultSet {
            truncated: true,
            ..rs(12)
        };
        assert_eq!(
            capped.summary(),
            "first 12 rows only: more not fetched (spotify.max_rows) (0.16 sec)"
        );
    }

    #[test]
    fn csv_and_json_round_trip() {
        let r = rs(3);
        let mut out = Vec::new();
        r.write_csv(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("artist,total\n\"a,\"\"0\"\" 🔥\",0\n"),
            "{text}"
        );
        let mut rdr = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(rdr.records().count(), 3);
        let mut js = Vec::new();
        r.write_json(&mut js).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&js).unwrap();
        assert_eq!(v[2]["total"], 2);
        assert_eq!(v[1]["artist"], "a,\"1\" 🔥");
    }

    #[test]
    fn sorting() {
        let mut r = rs(5);
        r.sort_by_column(1, true);
        assert_eq!(r.rows[0][1], Cell::Int(4));
        r.sort_by_column(1, false);
        assert_eq!(r.rows[0][1], Cell::Int(0));
        // the summary line is the caller's to print, once
        assert!(!r.to_text_table().contains("rows in set"));
        assert!(r.to_text_table().contains("| a,\"4\" 🔥 |"));
    }
}
