//! Drawing of the pgtop view, a pure function of [`PgtopView`] state (no I/O, no clock: the
//! `now` argument and the snapshot's server time). Top to bottom: two header lines, a
//! "disconnected since" banner when the connection is down, then the session list (or the lock
//! tree), the detail pane under it when open, and the kill confirmation on top.

use chrono::{DateTime, Local};
use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::rows::{self, fmt_dur};
use super::{header, locks_render, PgtopView};
use crate::base::fit;
use crate::pg::activity::{ConnState, Session};
use crate::theme::{Role, Theme};
use crate::widgets::scroll;
use crate::widgets::table::render_empty;

/// The one line an unstarted pgtop shows.
pub const NO_SOURCE_HINT: &str = "no PostgreSQL source: set [pgtop] conninfo or host (or run stacktop pgtop [CONNINFO]); Enter or :connect connects with the libpq defaults (PG* variables, ~/.pgpass)";

/// Where the parts of the view go.
struct Areas {
    head: Rect,
    banner: Option<Rect>,
    body: Rect,
    list: Rect,
    detail: Option<Rect>,
}

fn areas(v: &PgtopView, area: Rect) -> Areas {
    let banner = matches!(
        v.status,
        ConnState::Disconnected { .. } | ConnState::NoAnswer { .. }
    );
    let [head, ban, body] = Layout::vertical([
        Constraint::Length(header::height(v, area.width)),
        Constraint::Length(u16::from(banner)),
        Constraint::Fill(1),
    ])
    .areas(area);
    let (list, detail) = if v.detail.is_some() && body.height >= 8 {
        // The list gets what its rows need (header + rows, at least 4 lines), at most 45 %; the
        // detail pane takes the rest, so a short list leaves no empty rows above a cut-off query.
        let most = body.height * 45 / 100;
        let need = if v.locks {
            most
        } else {
            u16::try_from(v.core.table.visible_len() + 1).unwrap_or(u16::MAX)
        };
        let list_h = need.clamp(4.min(most), most);
        let [a, b] =
            Layout::vertical([Constraint::Length(list_h), Constraint::Fill(1)]).areas(body);
        (a, Some(b))
    } else {
        (body, None)
    };
    Areas {
        head,
        banner: banner.then_some(ban),
        body,
        list,
        detail,
    }
}

pub fn render(v: &PgtopView, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
    let Areas {
        head,
        banner,
        body,
        list,
        detail: detail_area,
    } = areas(v, area);
    header::render(v, head, buf, theme);
    if let Some(ban) = banner {
        banner_line(v, ban, buf, theme, now);
    }
    if v.waits.open {
        super::waits_pane::render(&v.waits, v.show_all, list, buf, theme);
    } else if v.locks {
        locks_render::lock_tree(v, list, buf, theme);
    } else {
        session_list(v, list, buf, theme);
    }
    if let Some(a) = detail_area {
        detail(v, a, buf, theme);
    }
    if v.dialog.is_some() {
        dialog(v, body, buf, theme, now);
    }
}

/// ` · last data 12:03:01, 42 s old`: the age of what the view last received; shortened to
/// ` · data 42 s old`, then left out (the state word before it stays) on a narrow screen.
fn last_data(v: &PgtopView, now: DateTime<Local>) -> fit::Part {
    match v.last_data {
        None => fit::Part::drop_at(" · no data yet", fit::rank::AGE),
        Some(t) => {
            let t = t.with_timezone(&Local);
            let age = crate::wire::fmt_age(now.signed_duration_since(t));
            fit::Part::keep(format!(" · last data {}, {age} old", t.format("%H:%M:%S")))
                .with(
                    fit::rank::DETAILS,
                    fit::Shrink::Alt(format!(" · data {age} old")),
                )
                .with(fit::rank::AGE, fit::Shrink::Drop)
        }
    }
}

/// ` · retry in 3.2s`: counted down from the source's next attempt (its health), or the
/// delay the collector reported when the view has no health for it.
fn retry_in(v: &PgtopView, fallback: std::time::Duration, now: DateTime<Local>) -> String {
    match &v.core.health {
        crate::wire::SourceHealth::Reconnecting {
            next_try: Some(at), ..
        } => match at.signed_duration_since(now).to_std() {
            Ok(d) if !d.is_zero() => format!(" · retry in {}", fmt_dur(d)),
            _ => " · retrying now".into(),
        },
        _ => format!(" · retry in {}", fmt_dur(fallback)),
    }
}

/// The banner while the connection is down or not answering. It keeps, at any width from
/// 60 columns, the state, the error's cause and the retry countdown: the connection string
/// is shortened first, then the rest (see [`fit`]).
fn banner_line(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme, now: DateTime<Local>) {
    use fit::{rank, Part, Shrink};
    let parts = match &v.status {
        ConnState::Disconnected {
            since,
            error,
            attempts,
            next_attempt_in,
        } => {
            let mut p = vec![Part::keep(format!(
                " DISCONNECTED since {}: ",
                since.with_timezone(&Local).format("%H:%M:%S")
            ))
            .with(rank::SINCE, Shrink::Alt(" DISCONNECTED: ".into()))];
            p.extend(fit::error_parts(error));
            let retry = retry_in(v, *next_attempt_in, now);
            let short = retry.replace(" retry in ", " retry ");
            p.push(Part::keep(retry).with(rank::COUNTDOWN, Shrink::Alt(short)));
            p.push(Part::drop_at(
                format!(" (attempt {attempts})"),
                rank::EXTRAS,
            ));
            p.push(last_data(v, now));
            p.push(Part::drop_at(" · rows cleared ", rank::EXTRAS));
            p
        }
        ConnState::NoAnswer { waiting_since, .. } => {
            let since = waiting_since.with_timezone(&Local);
            vec![
                Part::keep(format!(
                    " NO ANSWER for {}",
                    crate::wire::fmt_age(now.signed_duration_since(since)),
                )),
                Part::drop_at(
                    format!(" (since {})", since.format("%H:%M:%S")),
                    rank::SINCE,
                ),
                last_data(v, now),
                Part::keep(" · rows below are NOT current "),
            ]
        }
        _ => return,
    };
    let text = fit::fit(parts, usize::from(area.width));
    Line::from(Span::styled(text, t.style(Role::FlashError))).render(area, buf);
}

fn session_list(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme) {
    let table = &v.core.table;
    if table.data.rows.is_empty() {
        let text = if matches!(v.status, ConnState::Disconnected { .. }) {
            "not connected: no current sessions to show"
        } else if v.core.health == crate::wire::SourceHealth::Idle && v.snap.is_none() {
            NO_SOURCE_HINT
        } else if v.snap.is_none() {
            "no sessions (waiting for PostgreSQL)"
        } else {
            crate::views::View::empty_text(v)
        };
        render_empty(area, buf, t, text);
        return;
    }
    if v.groups.on {
        let cols = super::groups::visible_columns(area.width);
        table.render_columns(area, buf, t, true, Some(&cols), None);
        return;
    }
    let cols = rows::visible_columns(&table.data.columns, area.width);
    // the session list keeps no cell strings (see `rows::table_without_cells`): the rows on
    // screen get theirs here, from the same snapshot and settings
    let now = v.server_now();
    let sessions = v.sessions();
    // a row's session by pid: the map is built once per draw, when a row first needs it
    let by_pid: std::cell::OnceCell<HashMap<i32, &Session, foldhash::fast::RandomState>> =
        std::cell::OnceCell::new();
    let session = |r: &crate::widgets::table::TableRow| -> Option<&Session> {
        let pid = r.key.parse::<i32>().ok()?;
        let map = by_pid.get_or_init(|| sessions.iter().map(|s| (s.pid, s)).collect());
        map.get(&pid).copied()
    };
    let cells = |r: &crate::widgets::table::TableRow| -> Option<Vec<String>> {
        if !r.cells.is_empty() {
            return None; // a table set as a whole (not from a snapshot) keeps its cells
        }
        let s = session(r)?;
        Some(rows::cells(s, now, v.basis, v.is_tagged(s), r.role))
    };
    // on a wide screen the columns with longer text take some of the query's room; their
    // text is read from the sessions, each row's found once (not once per column)
    let by_row: std::cell::OnceCell<Vec<Option<&Session>>> = std::cell::OnceCell::new();
    let width_of =
        |n: usize, r: &crate::widgets::table::TableRow, c: usize, want: usize| -> usize {
            if !r.cells.is_empty() {
                return super::widths::own_cells(n, r, c, want);
            }
            let row = by_row.get_or_init(|| table.data.rows.iter().map(&session).collect());
            match row
                .get(n)
                .copied()
                .flatten()
                .and_then(|s| rows::own_text(s, c))
            {
                Some(x) if x.len() > want => unicode_width::UnicodeWidthStr::width(x),
                _ => 0,
            }
        };
    let sized = super::widths::grown(&table.data, &cols, area.width, &width_of);
    table.render_columns_with(area, buf, t, true, Some(&cols), Some(&sized), Some(&cells));
}

fn detail_block(pid: i32, border: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::TOP)
        .title(format!(" pid {pid} (Enter/Esc closes, e explains) "))
        .border_style(border)
}

/// `(rows, page height)` of the detail pane drawn in the view's `area`, once wrapped; `None`
/// when no pane is drawn (closed, or the screen is too small).
pub fn detail_geometry(v: &PgtopView, area: Rect) -> Option<(usize, usize)> {
    let d = v.detail.as_ref()?;
    let pane = areas(v, area).detail?;
    let inner = detail_block(d.pid, Style::default()).inner(pane);
    let rows = detail_rows(v, inner.width, &|_| Style::default()).len();
    Some((rows, usize::from(inner.height)))
}

/// Rows that wrap hang under the text they continue.
fn hang(text: &str) -> usize {
    text.chars().take_while(|c| *c == ' ').count() + 2
}

/// The detail pane's text wrapped at `width` (`style` gives each role its look).
fn detail_rows(v: &PgtopView, width: u16, style: &dyn Fn(Role) -> Style) -> Vec<Line<'static>> {
    let Some(d) = v.detail.as_ref() else {
        return Vec::new();
    };
    let s = &d.last;
    let now = v.server_now();
    let ts = |x: Option<chrono::DateTime<chrono::Utc>>| {
        x.map_or("-".to_string(), |x| {
            let ago = (now - x).to_std().map(fmt_dur).unwrap_or_default();
            format!(
                "{} ({ago} ago)",
                x.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S")
            )
        })
    };
    // values wrap under the value column
    let kv = |k: &str, val: String| {
        (
            Line::from(vec![
                Span::styled(format!("{k:>15} "), style(Role::Header)),
                Span::styled(val, style(Role::Normal)),
            ]),
            16,
        )
    };
    let plain = |text: String, role: Role| {
        let indent = hang(&text);
        (Line::from(Span::styled(text, style(role))), indent)
    };
    let blocked_by_this: Vec<String> = v
        .sessions()
        .iter()
        .filter(|x| x.blocking_pids.contains(&s.pid))
        .map(|x| x.pid.to_string())
        .collect();
    let pids = |v: &[i32]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut lines = vec![
        kv(
            "session",
            format!(
                "pid {} · {} · db {} · user {} · app {} · client {}",
                s.pid,
                s.backend_type.as_deref().unwrap_or("?"),
                s.datname.as_deref().unwrap_or("-"),
                s.usename.as_deref().unwrap_or("-"),
                s.application_name,
                s.client_display()
            ),
        ),
        kv(
            "state",
            format!(
                "{}{}",
                s.state.as_str(),
                if d.ended { " · SESSION ENDED" } else { "" }
            ),
        ),
        kv("wait event", {
            let w = rows::wait(s);
            if w.is_empty() {
                "-".into()
            } else {
                w
            }
        }),
        kv("blocked by", pids(&s.blocking_pids)),
        kv("lock", locks_render::lock_text(s, now)),
        kv(
            "blocking",
            if blocked_by_this.is_empty() {
                "-".into()
            } else {
                blocked_by_this.join(", ")
            },
        ),
    ];
    // the query before the timings: at 80x24 it shows without scrolling
    lines.push(plain("query:".into(), Role::Header));
    for l in s.query.lines() {
        lines.push(plain(l.to_string(), Role::Normal));
    }
    lines.extend([
        kv("backend start", ts(s.backend_start)),
        kv("xact start", ts(s.xact_start)),
        kv("query start", ts(s.query_start)),
        kv("state change", ts(s.state_change)),
    ]);
    if let Some(l) = s.leader_pid {
        lines.push(kv("parallel leader", l.to_string()));
    }
    if let Some(q) = s.query_id {
        lines.push(kv("query id", q.to_string()));
    }
    match &d.explain {
        None => lines.push(plain(
            "e: EXPLAIN (plain, never ANALYZE; as the session's role, read-only)".into(),
            Role::Hint,
        )),
        Some(None) => lines.push(plain(
            "EXPLAIN: waiting… (own connection, as the session's role)".into(),
            Role::Info,
        )),
        Some(Some(Ok(plan))) => {
            lines.push(plain("EXPLAIN:".into(), Role::Header));
            for p in plan {
                lines.push(plain(p.clone(), Role::Normal));
            }
        }
        Some(Some(Err(e))) => lines.push(plain(e.clone(), Role::Warn)),
    }
    scroll::wrap_all(lines, width)
}

fn detail(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme) {
    let Some(d) = v.detail.as_ref() else { return };
    let block = detail_block(d.pid, t.style(Role::Border));
    let rows = detail_rows(v, block.inner(area).width, &|r| t.style(r));
    Clear.render(area, buf);
    scroll::render(&rows, &d.scroll, block, t.style(Role::Info), area, buf);
}

fn dialog(v: &PgtopView, body: Rect, buf: &mut Buffer, t: &Theme, now: DateTime<Local>) {
    let Some(d) = v.dialog.as_ref() else { return };
    let lines = d.lines(now.with_timezone(&chrono::Utc));
    if body.width < 4 || body.height < 3 {
        return;
    }
    let w = body.width.saturating_sub(4).clamp(1, 110);
    let h = (lines.len() as u16 + 2).min(body.height);
    let area = Rect::new(
        body.x + (body.width - w) / 2,
        body.y + (body.height - h) / 2,
        w,
        h,
    );
    Clear.render(area, buf);
    let text: Vec<Line> = lines
        .into_iter()
        .map(|(role, s)| Line::from(Span::styled(s, t.style(role))))
        .collect();
    Paragraph::new(text)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" confirm ")
                .border_style(t.style(Role::Crit)),
        )
        .style(t.style(Role::Overlay))
        .render(area, buf);
}
