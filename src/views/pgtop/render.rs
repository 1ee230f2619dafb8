//! Drawing of the pgtop view, a pure function of [`PgtopView`] state (no I/O, no clock: the
//! `now` argument and the snapshot's server time). Top to bottom: two header lines, a
//! "disconnected since" banner when the connection is down, then the session list (or the lock
//! tree), the detail pane under it when open, and the kill confirmation on top.

use chrono::{DateTime, Local};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::rows::{self, fmt_dur};
use super::{locks_draw, PgtopView};
use crate::pg::activity::ConnectionStatus;
use crate::pg::redact::one_line;
use crate::theme::{Role, Theme};
use crate::ui::scroll;
use crate::ui::table::render_empty;

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
        ConnectionStatus::Disconnected { .. } | ConnectionStatus::NoAnswer { .. }
    );
    let [head, ban, body] = Layout::vertical([
        Constraint::Length(2),
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
    header(v, head, buf, theme);
    if let Some(ban) = banner {
        banner_line(v, ban, buf, theme, now);
    }
    if v.waits.open {
        super::waits_pane::render(&v.waits, v.show_all, list, buf, theme);
    } else if v.locks {
        locks_draw::lock_tree(v, list, buf, theme);
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

/// "Slack failing since 12:03:04 (3 queued) · " while alerts cannot be delivered.
fn alert_span(v: &PgtopView, t: &Theme) -> Option<Span<'static>> {
    let text = v.alerts.as_ref()?.indicator()?;
    Some(Span::styled(format!("{text} · "), t.style(Role::Crit)))
}

fn header(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme) {
    if area.height > 1 {
        if let Some(s) = alert_span(v, t) {
            // shown even before the first data; the full second line overwrites it when there is data
            Line::from(s).render(Rect::new(area.x, area.y + 1, area.width, 1), buf);
        }
    }
    let Some(snap) = v.snap.as_ref() else {
        let msg = match &v.status {
            _ if v.core.health == crate::collect::SourceHealth::Idle => {
                " pgtop: no source started".into()
            }
            ConnectionStatus::Disconnected { error, .. } => format!(" not connected: {error}"),
            _ => " connecting to PostgreSQL…".into(),
        };
        Line::from(Span::styled(msg, t.style(Role::Muted))).render(area, buf);
        return;
    };
    let Some(h) = snap.header.as_ref() else {
        return;
    };
    let c = &h.counts;
    let name = if v.server.is_empty() {
        String::new()
    } else {
        format!("{} · ", v.server)
    };
    let role_txt = if h.in_recovery {
        "in recovery"
    } else {
        "primary"
    };
    let mut l1 = vec![
        Span::styled(
            format!("{name}PostgreSQL {}", h.server_version),
            t.style(Role::Title),
        ),
        Span::styled(
            format!(" · up {}", fmt_dur(h.uptime)),
            t.style(Role::Normal),
        ),
        Span::styled(
            format!(" · {role_txt}"),
            t.style(if h.in_recovery {
                Role::Warn
            } else {
                Role::Normal
            }),
        ),
        Span::styled(
            format!(
                " · sessions {}/{} (active {}, idle {}, idle in tx {}, other {})",
                c.total,
                h.max_connections,
                c.active,
                c.idle,
                c.idle_in_transaction + c.idle_in_transaction_aborted,
                c.other
            ),
            t.style(
                if h.max_connections > 0 && c.total * 10 >= h.max_connections as usize * 9 {
                    Role::Crit
                } else {
                    Role::Normal
                },
            ),
        ),
    ];
    l1.push(Span::styled(
        format!(" · TPS {}", h.tps.map_or("-".into(), |x| format!("{x:.1}"))),
        t.style(Role::Normal),
    ));
    l1.push(Span::styled(
        format!(
            " · cache hit {}",
            h.cache_hit_ratio
                .map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
        ),
        t.style(Role::Normal),
    ));
    Line::from(l1).render(Rect { height: 1, ..area }, buf);
    let longest = |x: Option<(i32, std::time::Duration)>| {
        x.map_or("-".into(), |(pid, d)| format!("{} (pid {pid})", fmt_dur(d)))
    };
    let health = match &v.status {
        ConnectionStatus::Connected { .. } => "connected",
        ConnectionStatus::Connecting => "connecting",
        ConnectionStatus::NoAnswer { .. } => "NO ANSWER",
        ConnectionStatus::Disconnected { .. } => "DISCONNECTED",
    };
    let th = &v.thresholds;
    let mut flags = Vec::new();
    if v.show_all {
        flags.push("all sessions");
    }
    if v.frozen() {
        flags.push("order frozen");
    }
    if v.locks {
        flags.push("lock tree");
    }
    let group = v.groups.flag();
    flags.extend(group.as_deref());
    let mut l2: Vec<Span> = alert_span(v, t).into_iter().collect();
    l2.extend([
        Span::styled(
            format!("longest query {}", longest(h.longest_query)),
            t.style(Role::Normal),
        ),
        Span::styled(
            format!(" · longest xact {}", longest(h.longest_transaction)),
            t.style(Role::Normal),
        ),
        Span::styled(
            format!(" · waiting {}", h.waiting),
            t.style(if h.waiting > 0 {
                Role::Warn
            } else {
                Role::Normal
            }),
        ),
        Span::styled(
            format!(" · {health}, refresh {}", fmt_dur(snap.refresh_interval)),
            t.style(Role::Muted),
        ),
        Span::styled(
            format!(
                " · slow ≥{} crit ≥{} idle tx ≥{} long tx ≥{} · by {}{}{}",
                fmt_dur(th.slow),
                fmt_dur(th.critical),
                fmt_dur(th.idle_in_transaction),
                fmt_dur(th.long_transaction),
                v.basis.label(),
                if flags.is_empty() { "" } else { " · " },
                flags.join(" · ")
            ),
            t.style(Role::Muted),
        ),
    ]);
    if area.height > 1 {
        Line::from(l2).render(Rect::new(area.x, area.y + 1, area.width, 1), buf);
    }
}

/// ` · last data 12:03:01, 42 s old`: the age of what the view last received.
fn last_data(v: &PgtopView, now: DateTime<Local>) -> String {
    v.last_data.map_or(" · no data yet".into(), |t| {
        let t = t.with_timezone(&Local);
        format!(
            " · last data {}, {} old",
            t.format("%H:%M:%S"),
            crate::collect::fmt_age(now.signed_duration_since(t))
        )
    })
}

fn banner_line(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme, now: DateTime<Local>) {
    let text = match &v.status {
        ConnectionStatus::Disconnected {
            since,
            error,
            attempts,
            next_attempt_in,
        } => format!(
            " DISCONNECTED since {}: {} · retry in {} (attempt {attempts}){} · rows cleared ",
            since.with_timezone(&Local).format("%H:%M:%S"),
            one_line(error, 200),
            fmt_dur(*next_attempt_in),
            last_data(v, now),
        ),
        ConnectionStatus::NoAnswer { waiting_since, .. } => {
            let since = waiting_since.with_timezone(&Local);
            format!(
                " NO ANSWER for {} (since {}){} · rows below are NOT current ",
                crate::collect::fmt_age(now.signed_duration_since(since)),
                since.format("%H:%M:%S"),
                last_data(v, now),
            )
        }
        _ => return,
    };
    Line::from(Span::styled(text, t.style(Role::FlashError))).render(area, buf);
}

fn session_list(v: &PgtopView, area: Rect, buf: &mut Buffer, t: &Theme) {
    let table = &v.core.table;
    if table.data.rows.is_empty() {
        let text = if matches!(v.status, ConnectionStatus::Disconnected { .. }) {
            "not connected: no current sessions to show"
        } else if v.core.health == crate::collect::SourceHealth::Idle && v.snap.is_none() {
            NO_SOURCE_HINT
        } else if v.snap.is_none() {
            "no sessions (waiting for PostgreSQL)"
        } else {
            crate::views::View::empty_text(v)
        };
        render_empty(area, buf, t, text);
        return;
    }
    let cols = if v.groups.on {
        super::groups::visible_columns(area.width)
    } else {
        rows::visible_columns(area.width)
    };
    table.render_columns(area, buf, t, true, Some(&cols));
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
        kv("lock", locks_draw::lock_text(s, now)),
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
