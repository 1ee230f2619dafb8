//! The result charts of the spotify tab (pure drawing): horizontal bars for top-N answers,
//! drawn cell by cell so every bar is visible with its label and value, and a line per
//! country for per-day series, with rank #1 at the top and the track named in the title.
//!
//! Data flow: `render::render_results` → [`bars`] / [`line_chart`] → buffer.

use chrono::NaiveDate;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, LegendPosition, Widget};

use super::rows::chart_column;
use super::Answer;
use crate::spotify::results::Cell;
use crate::theme::{Role, Theme};

fn short_num(x: f64) -> String {
    let a = x.abs();
    if a >= 1e9 {
        format!("{:.1}G", x / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// Control characters of server text shown as `?` (names are data, not terminal input).
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `s` cut to `w` columns.
fn fit(s: &str, w: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(1);
        if used + cw > w {
            break;
        }
        used += cw;
        out.push(c);
    }
    out
}

/// One bar per row, drawn by hand so nothing hides a bar: `label ████ value`, the label in
/// its own column, the value after the bar (never over it), and every positive value at
/// least one cell long.
pub(super) fn bars(a: &Answer, label: &str, value: &str, area: Rect, buf: &mut Buffer, t: &Theme) {
    use unicode_width::UnicodeWidthStr;
    let rs = &a.result;
    let (Some(li), Some(vi)) = (chart_column(rs, label), chart_column(rs, value)) else {
        return;
    };
    let mut title = format!("{} by {}", rs.columns[vi], rs.columns[li]);
    let inner = block(&title, false, t).inner(area);
    let n = (inner.height as usize).min(rs.rows.len());
    if n < rs.rows.len() {
        // one bar per row: a short screen says how many did not fit
        title.push_str(&format!(" · {n} of {} shown", rs.rows.len()));
    }
    block(&title, false, t).render(area, buf);
    if n == 0 || inner.width < 4 {
        return;
    }
    let rows: Vec<(String, f64, String)> = rs.rows[..n]
        .iter()
        .map(|r| {
            let v = r[vi].as_f64().unwrap_or(0.0).max(0.0);
            (printable(&r[li].to_string()), v, short_num(v))
        })
        .collect();
    let width = inner.width as usize;
    let longest = rows.iter().map(|(l, _, _)| l.width()).max().unwrap_or(0);
    let label_w = longest.clamp(1, (width / 3).max(4));
    let value_w = rows.iter().map(|(_, _, s)| s.width()).max().unwrap_or(1);
    // label, space, bar, space, value
    let bar_w = width.saturating_sub(label_w + value_w + 2).max(1);
    let max = rows.iter().map(|(_, v, _)| *v).fold(0.0f64, f64::max);
    for (i, (name, v, text)) in rows.iter().enumerate() {
        let len = if *v > 0.0 && max > 0.0 {
            ((v / max * bar_w as f64).round() as usize).clamp(1, bar_w)
        } else {
            0
        };
        let line = Line::from(vec![
            Span::styled(
                format!("{:<label_w$} ", fit(name, label_w)),
                t.style(Role::Normal),
            ),
            Span::styled("█".repeat(len), t.style(Role::Info)),
            Span::styled(format!(" {text}"), t.style(Role::Header)),
        ]);
        let r = Rect::new(inner.x, inner.y + i as u16, inner.width, 1);
        line.render(r, buf);
    }
}

/// The track a per-day answer is about (`track — artist`), from its first row.
pub(super) fn picked_track(rs: &crate::spotify::results::ResultSet) -> Option<String> {
    let row = rs.rows.first()?;
    let get = |name: &str| {
        rs.column(name)
            .and_then(|i| row.get(i))
            .map(|c| printable(&c.to_string()))
    };
    let track = get("track")?;
    let artist = get("artist").unwrap_or_default();
    let id = get("track_id").unwrap_or_default();
    let name = if track.is_empty() { id } else { track };
    Some(if artist.is_empty() {
        name
    } else {
        format!("{name} — {artist}")
    })
}

/// A named line: (country, points).
pub(super) type Series = (String, Vec<(f64, f64)>);

/// One series per country (the six with the most days), points `(days since start, y)`;
/// positions are negated so that #1 is at the top. Also returns the number of countries.
pub(super) fn line_series(
    rs: &crate::spotify::results::ResultSet,
    xi: usize,
    yi: usize,
    rank: bool,
) -> Option<(NaiveDate, Vec<Series>, usize)> {
    let country = rs.column("country");
    let day = |c: &Cell| match c {
        Cell::Text(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
        _ => None,
    };
    let start = rs.rows.iter().filter_map(|r| day(&r[xi])).min()?;
    let mut all: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    for r in &rs.rows {
        let (Some(d), Some(val)) = (day(&r[xi]), r[yi].as_f64()) else {
            continue;
        };
        let key = country
            .map(|c| printable(&r[c].to_string()))
            .unwrap_or_default();
        let pts = all.entry(key).or_default();
        if pts.len() < 5000 {
            pts.push(((d - start).num_days() as f64, if rank { -val } else { val }));
        }
    }
    let total = all.len();
    let mut series: Vec<Series> = all.into_iter().collect();
    // most days first, then by name; keep six
    series.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    series.truncate(6);
    series.sort_by(|a, b| a.0.cmp(&b.0));
    Some((start, series, total))
}

pub(super) fn line_chart(a: &Answer, x: &str, y: &str, area: Rect, buf: &mut Buffer, t: &Theme) {
    let rs = &a.result;
    let (Some(xi), Some(yi)) = (chart_column(rs, x), chart_column(rs, y)) else {
        return;
    };
    // A chart position: #1 belongs at the top.
    let rank = rs.columns[yi].eq_ignore_ascii_case("pos");
    let Some((start, series, countries)) = line_series(rs, xi, yi, rank) else {
        return;
    };
    let pts = series.iter().flat_map(|(_, p)| p.iter());
    let (mut xmax, mut ymin, mut ymax) = (1.0f64, f64::MAX, f64::MIN);
    for (px, py) in pts {
        xmax = xmax.max(*px);
        ymin = ymin.min(*py);
        ymax = ymax.max(*py);
    }
    if ymin > ymax {
        return;
    }
    if ymin == ymax {
        if rank {
            ymin = ymax - 1.0;
        } else {
            ymax = ymin + 1.0;
        }
    }
    let roles = [
        Role::Info,
        Role::Ok,
        Role::Warn,
        Role::Crit,
        Role::Header,
        Role::Normal,
    ];
    let datasets: Vec<Dataset> = series
        .iter()
        .enumerate()
        .map(|(i, (name, p))| {
            Dataset::default()
                .name(name.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.style(roles[i % roles.len()]))
                .data(p)
        })
        .collect();
    let end = start + chrono::Duration::days(xmax as i64);
    let mut title = format!("{} per day", rs.columns[yi]);
    if let Some(track) = picked_track(rs) {
        title.push_str(&format!(" · {track}"));
    }
    if countries > series.len() {
        title.push_str(&format!(" · {} of {countries} countries", series.len()));
    }
    let labels = if rank {
        [format!("#{}", -ymin), format!("#{}", -ymax)]
    } else {
        [short_num(ymin), short_num(ymax)]
    };
    Chart::new(datasets)
        .block(block(&title, false, t))
        .x_axis(
            Axis::default()
                .bounds([0.0, xmax])
                .labels([start.to_string(), end.to_string()])
                .style(t.style(Role::Muted)),
        )
        .y_axis(
            Axis::default()
                .bounds([ymin, ymax])
                .labels(labels)
                .style(t.style(Role::Muted)),
        )
        .legend_position(Some(LegendPosition::BottomRight))
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 1)))
        .style(Style::default())
        .render(area, buf);
}

pub(super) fn block<'a>(title: &'a str, focused: bool, t: &Theme) -> Block<'a> {
    let role = if focused { Role::Title } else { Role::Border };
    Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(format!(" {title} "), t.style(role)))
        .border_style(t.style(role))
}
