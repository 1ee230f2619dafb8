//! Drawing the spotify tab (pure: reads the view state, never changes it). Left: question
//! list, parameters, the selected question's SQL. Right: the SQL editor, a status line ("N
//! rows in set (0.16 sec)", running, refusal, import gauge), the result table and its chart
//! (horizontal bars for top-N answers, a line per country for per-day series).
//!
//! Data flow: `SpotifyView` → [`render`] → buffer.

use chrono::{DateTime, Local};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Gauge, Paragraph, Widget, Wrap};

use super::charts::{bars, block, line_chart, picked_track};
use super::{Focus, SpotifyView};
use crate::spotify::questions::{self, ChartHint};
use crate::theme::{Role, Theme};
use crate::widgets::table::render_empty;
use crate::wire::Level;

/// `now` is the app clock (advanced by its one-second tick), for the running query's time.
pub(super) fn render(
    v: &SpotifyView,
    area: Rect,
    buf: &mut Buffer,
    t: &Theme,
    now: DateTime<Local>,
) {
    let left_w = if area.width >= 100 { 42 } else { 34 }.min(area.width / 2);
    let [left, right] =
        Layout::horizontal([Constraint::Length(left_w), Constraint::Fill(1)]).areas(area);
    render_left(v, left, buf, t);
    let editor_h = if v.focus == Focus::Editor {
        (v.editor.lines.len() as u16 + 2).clamp(5, 12)
    } else {
        5
    };
    let [ed, status, results] = Layout::vertical([
        Constraint::Length(editor_h.min(right.height / 2)),
        Constraint::Length(1),
        Constraint::Fill(1),
    ])
    .areas(right);
    render_editor(v, ed, buf, t);
    render_status(v, status, buf, t, now);
    render_results(v, results, buf, t);
}

fn render_left(v: &SpotifyView, area: Rect, buf: &mut Buffer, t: &Theme) {
    let list_h = (v.list_len() as u16 + 2).min(area.height / 2);
    let [list, params, sql] = Layout::vertical([
        Constraint::Length(list_h),
        Constraint::Length(6),
        Constraint::Fill(1),
    ])
    .areas(area);
    // Question list, scrolled so the selection is visible.
    let inner_h = list_h.saturating_sub(2) as usize;
    let offset = v.selected.first(v.list_len(), inner_h, None);
    let qs = questions::list();
    let mut lines = Vec::new();
    for i in offset..v.list_len() {
        let (text, saved) = match qs.get(i) {
            Some(q) => (q.title.to_string(), false),
            None => match v.saved.get(i - qs.len()) {
                Some(s) => (format!("★ {}", s.name), true),
                None => continue,
            },
        };
        let mut style = t.style(if saved { Role::Info } else { Role::Normal });
        if v.selected == i {
            style = style.patch(t.style(Role::Selected));
        }
        lines.push(Line::from(Span::styled(text, style)));
    }
    Paragraph::new(lines)
        .block(block("questions", v.focus == Focus::Questions, t))
        .render(list, buf);
    // Parameters and their keys.
    let p = &v.params;
    let dates = match (p.from, p.to) {
        (None, None) => "all days".to_string(),
        (a, b) => format!(
            "{} .. {}",
            a.map_or("…".into(), |d| d.to_string()),
            b.map_or("…".into(), |d| d.to_string())
        ),
    };
    let pos = match (p.pos_min, p.pos_max) {
        (Some(a), Some(b)) if a == b => format!("{a}"),
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => "all".into(),
    };
    let uses = v.question().map(|q| q.uses);
    let param = |key: &str, name: &str, value: String, used: bool| {
        let role = if used { Role::Normal } else { Role::Muted };
        Line::from(vec![
            Span::styled(format!("{key:>2} "), t.style(Role::HintKey)),
            Span::styled(format!("{name:<10}"), t.style(Role::Muted)),
            Span::styled(value, t.style(role)),
        ])
    };
    let lines = vec![
        param(
            "c",
            "country",
            p.country
                .clone()
                .unwrap_or_else(|| format!("all ({} in data)", v.info.countries.len())),
            uses.is_none_or(|u| u.country),
        ),
        param("y", "dates", dates, uses.is_none_or(|u| u.dates)),
        param("n", "positions", pos, uses.is_none_or(|u| u.positions)),
        param(
            "l",
            "limit",
            p.limit.to_string(),
            uses.is_none_or(|u| u.limit),
        ),
    ];
    Paragraph::new(lines)
        .block(block("parameters", false, t))
        .render(params, buf);
    let (text, role) = match v.question_sql() {
        Ok(s) => (s, Role::Normal),
        Err(e) => (e, Role::Crit),
    };
    let desc = v.question().map(|q| q.description).unwrap_or("saved query");
    let mut lines = vec![Line::from(Span::styled(desc, t.style(Role::Muted)))];
    lines.extend(
        text.lines()
            .map(|l| Line::from(Span::styled(l.to_string(), t.style(role)))),
    );
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(block("SQL (E edits)", false, t))
        .render(sql, buf);
}

fn render_editor(v: &SpotifyView, area: Rect, buf: &mut Buffer, t: &Theme) {
    let focused = v.focus == Focus::Editor;
    let title = if focused {
        "SQL editor · Ctrl-R/F5 run · Ctrl-X cancel · Ctrl-P/N history · Esc leave"
    } else {
        "SQL editor (e)"
    };
    let b = block(title, focused, t);
    let inner = b.inner(area);
    b.render(area, buf);
    if v.editor.is_empty() && !focused {
        Line::from(Span::styled(
            "e: write a read-only query (SELECT, WITH, SHOW, EXPLAIN)",
            t.style(Role::Muted),
        ))
        .render(inner, buf);
        return;
    }
    let h = inner.height as usize;
    let top = (v.editor.row + 1).saturating_sub(h);
    for (i, line) in v.editor.lines.iter().enumerate().skip(top).take(h) {
        let y = inner.y + (i - top) as u16;
        let r = Rect::new(inner.x, y, inner.width, 1);
        Line::from(Span::styled(line.clone(), t.style(Role::Normal))).render(r, buf);
        if focused && i == v.editor.row {
            let col: usize = line
                .chars()
                .take(v.editor.col)
                .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(1))
                .sum();
            let x = inner.x + (col as u16).min(inner.width.saturating_sub(1));
            if let Some(cell) = buf.cell_mut((x, y)) {
                cell.set_style(t.style(Role::Selected));
            }
        }
    }
}

/// How long a query has been running: `0.4 s`, `12.0 s`, `2m 05s`.
fn elapsed_text(since: DateTime<Local>, now: DateTime<Local>) -> String {
    // The clock ticks once a second and the start was taken between ticks: never negative.
    let ms = (now - since).num_milliseconds().max(0);
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        let secs = ms / 1000;
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

fn render_status(v: &SpotifyView, area: Rect, buf: &mut Buffer, t: &Theme, now: DateTime<Local>) {
    if let Some(imp) = &v.import {
        let (ratio, label) = match &imp.progress {
            Some(p) => (
                if p.bytes_total > 0 {
                    (p.bytes_done as f64 / p.bytes_total as f64).clamp(0.0, 1.0)
                } else {
                    0.0
                },
                format!(
                    "importing ({}): {} rows · {:.0} rows/s · ETA {} · x cancels",
                    imp.phase,
                    p.rows,
                    p.rows_per_sec,
                    p.eta.map_or("?".into(), |d| format!("{}s", d.as_secs()))
                ),
            ),
            None => (0.0, format!("importing ({}) · x cancels", imp.phase)),
        };
        Gauge::default()
            .ratio(ratio)
            .label(label)
            .gauge_style(t.style(Role::Info))
            .render(area, buf);
        return;
    }
    let line = if let Some(r) = &v.running {
        Line::from(Span::styled(
            format!(
                "running {} … {} ({} to cancel)",
                r.label,
                elapsed_text(r.started, now),
                if v.focus == Focus::Editor {
                    "Ctrl-X"
                } else {
                    "x"
                }
            ),
            t.style(Role::Warn),
        ))
    } else if let Some((level, text)) = &v.message {
        let role = match level {
            Level::Info => Role::Info,
            Level::Warn => Role::Warn,
            Level::Error => Role::Crit,
        };
        Line::from(Span::styled(text.clone(), t.style(role)))
    } else if let Some(a) = &v.answer {
        let mut spans = vec![
            Span::styled(a.result.summary(), t.style(Role::Ok)),
            Span::styled(format!("  · {}", a.label), t.style(Role::Muted)),
        ];
        // Which track a per-day answer is about (picked by the question when none was set).
        if let (ChartHint::Line { .. }, Some(track)) = (a.chart, picked_track(&a.result)) {
            spans.push(Span::styled(format!(" · {track}"), t.style(Role::Info)));
        }
        Line::from(spans)
    } else {
        Line::from(Span::styled(
            format!(
                "{} · {} chart rows{}",
                v.info.backend,
                v.info.rows,
                if v.info.rows == 0 {
                    " · no charts: stacktop spotify demo, or :import FILE…"
                } else {
                    ""
                }
            ),
            t.style(Role::Muted),
        ))
    };
    line.render(area, buf);
}

fn render_results(v: &SpotifyView, area: Rect, buf: &mut Buffer, t: &Theme) {
    let focused = v.focus == Focus::Results;
    let b = block("result (→ focus, > < sort, w export, b chart)", focused, t);
    let inner = b.inner(area);
    b.render(area, buf);
    let Some(a) = &v.answer else {
        if v.info.rows == 0 && v.running.is_none() && v.import.is_none() {
            // An empty store: how to get charts, in one line (wrapped when narrow).
            let hint = Line::from(vec![
                Span::styled("No charts yet: ", t.style(Role::Warn)),
                Span::styled("stacktop spotify demo", t.style(Role::HintKey)),
                Span::styled(" loads sample charts; ", t.style(Role::Muted)),
                Span::styled(":import FILE…", t.style(Role::HintKey)),
                Span::styled(" (or ", t.style(Role::Muted)),
                Span::styled("stacktop spotify import FILE…", t.style(Role::HintKey)),
                Span::styled(") loads chart CSVs", t.style(Role::Muted)),
            ]);
            let y = inner.y + inner.height.saturating_sub(1) / 3;
            let r = Rect::new(
                inner.x + 1,
                y,
                inner.width.saturating_sub(2),
                inner.bottom() - y,
            );
            Paragraph::new(hint)
                .wrap(Wrap { trim: true })
                .render(r, buf);
            return;
        }
        render_empty(inner, buf, t, "choose a question and press Enter");
        return;
    };
    let chart = if v.hide_chart {
        ChartHint::None
    } else {
        a.chart
    };
    let (table_area, chart_area) = match chart {
        ChartHint::None => (inner, None),
        _ if inner.width >= 90 => {
            let [l, r] =
                Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(inner);
            (l, Some(r))
        }
        _ => {
            // Room for every bar of a top-N answer when the pane is tall enough.
            let h = match chart {
                ChartHint::Bars { .. } => (a.result.rows.len() as u16 + 2)
                    .min(inner.height / 2)
                    .max(10),
                _ => 10,
            };
            let [u, d] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(h)]).areas(inner);
            (u, Some(d))
        }
    };
    if a.result.rows.is_empty() {
        render_empty(table_area, buf, t, "Empty set");
    } else {
        v.core.table.render(table_area, buf, t, focused);
        if v.core.table.visible_len() == 0 {
            render_empty(table_area, buf, t, "no row matches the filter");
        }
    }
    if let Some(ca) = chart_area {
        match chart {
            ChartHint::Bars { label, value } => bars(a, label, value, ca, buf, t),
            ChartHint::Line { x, y } => line_chart(a, x, y, ca, buf, t),
            ChartHint::None => {}
        }
    }
}
