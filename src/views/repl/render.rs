//! Drawing of the replication view, a pure function of [`ReplView`] state: the status table
//! (broken first, styled ok/warn/crit), the detail of the selected row (source, GTIDs,
//! relay log, last errors, lag sparkline), the audit pane of the selected server, and the
//! check-detail / copied-fixes pane on top.

use chrono::{DateTime, Local};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::rows::{self, key_channel, key_server};
use super::{Focus, Pane, ReplView};
use crate::repl::audit::{CheckResult, Severity};
use crate::theme::{Role, Theme};
use crate::widgets::scroll;
use crate::widgets::table::render_empty;

pub fn severity_role(s: Severity) -> Role {
    match s {
        Severity::Pass => Role::Ok,
        Severity::Info => Role::Muted,
        Severity::Unknown => Role::Info,
        Severity::Warn => Role::Warn,
        Severity::Crit => Role::Crit,
    }
}

pub fn render(v: &ReplView, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
    if v.snaps.is_empty() {
        render_empty(area, buf, theme, crate::views::View::empty_text(v));
        return;
    }
    // Nothing configured: which local server this is stays on screen (the notice passes).
    let area = match v.snaps.iter().find_map(|s| s.discovered.as_deref()) {
        Some(label) if area.height >= 4 => {
            let text = format!("{label} · [[repl.servers]] or --server to name servers");
            Paragraph::new(Line::from(Span::styled(text, theme.style(Role::Info))))
                .render(Rect::new(area.x, area.y, area.width, 1), buf);
            Rect::new(area.x, area.y + 1, area.width, area.height - 1)
        }
        _ => area,
    };
    let h = area.height;
    // The selected row's detail, wrapped: at least 6 rows (stable layout), at most half.
    let detail = if h >= 14 {
        server_rows(v, area.width, theme)
    } else {
        Vec::new()
    };
    let detail_h: u16 = if h >= 14 {
        u16::try_from(detail.len() + 1)
            .unwrap_or(u16::MAX)
            .clamp(6, h / 2)
    } else {
        0
    };
    let rows = v.core.table.visible_len() as u16 + 1;
    let room = h.saturating_sub(detail_h);
    let table_h = rows.min((room / 2).max(3)).min(room);
    let audit_h = h.saturating_sub(table_h + detail_h);
    let table_area = Rect::new(area.x, area.y, area.width, table_h);
    let detail_area = Rect::new(area.x, area.y + table_h, area.width, detail_h);
    let audit_area = Rect::new(area.x, area.y + table_h + detail_h, area.width, audit_h);
    // A down server's reason keeps its cause and countdown in the cell's width.
    let cols = &v.core.table.data.columns;
    let fixed: usize = cols.iter().map(|c| usize::from(c.width)).sum::<usize>() + cols.len() - 1;
    let reason_w = usize::from(area.width).saturating_sub(fixed);
    let fitted = super::down::fitted(&v.core.table, &v.snaps, reason_w, now.to_utc());
    fitted.as_ref().unwrap_or(&v.core.table).render(
        table_area,
        buf,
        theme,
        v.focus == Focus::Status,
    );
    if v.core.table.visible_len() == 0 {
        render_empty(table_area, buf, theme, "no row matches the filter");
    }
    if detail_h > 0 {
        render_detail(&detail, detail_area, buf, theme);
    }
    if audit_h >= 3 {
        render_audit(v, audit_area, buf, theme);
    }
    if let Some(p) = &v.pane {
        render_pane(v, p, area, buf, theme);
    }
}

/// The detail of the selected status row (server, channel, GTIDs, errors, lag history),
/// wrapped at `width`.
fn server_rows(v: &ReplView, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let Some(row) = v.core.table.selected() else {
        return Vec::new();
    };
    let srv = key_server(&row.key);
    let Some(s) = v.server(srv) else {
        return Vec::new();
    };
    let chan = key_channel(&row.key).and_then(|n| s.channels.iter().find(|c| c.name == n));
    let chan = chan.or_else(|| {
        // The default channel's key part is "" (same as a whole-server row).
        s.channels.iter().find(|c| c.name.is_empty())
    });
    let mut lines: Vec<Para> = Vec::new();
    for (i, text) in rows::detail_lines(s, chan).into_iter().enumerate() {
        let role = if i == 0 {
            Role::Title
        } else if (text.starts_with("last ") && !text.ends_with(" -"))
            || text.starts_with("reconnecting")
        {
            Role::Crit
        } else {
            Role::Normal
        };
        lines.push((Line::from(Span::styled(text, theme.style(role))), 4));
    }
    if let Some(c) = chan {
        if let Some(h) = v.lag_history(&s.name, &c.name) {
            let spark = width.saturating_sub(40) as usize;
            let max = h.iter().flatten().fold(0.0_f64, |m, &x| m.max(x));
            lines.push((
                Line::from(vec![
                    Span::styled("lag history ", theme.style(Role::Muted)),
                    Span::styled(rows::sparkline(h, spark), theme.style(Role::Info)),
                    Span::styled(
                        format!("  {} samples, max {max:.0}s", h.len()),
                        theme.style(Role::Muted),
                    ),
                ]),
                4,
            ));
        }
    }
    scroll::wrap_all(lines, width)
}

fn render_detail(rows: &[Line<'static>], area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.style(Role::Border));
    let page = usize::from(block.inner(area).height);
    // Cut only when the screen is too small for all of it: say so.
    let block = match rows.len().checked_sub(page).filter(|&n| n > 0) {
        Some(n) => block.title_top(
            Line::styled(
                format!(" +{n} more line{} ", if n == 1 { "" } else { "s" }),
                theme.style(Role::Info),
            )
            .right_aligned(),
        ),
        None => block,
    };
    Paragraph::new(rows.iter().take(page).cloned().collect::<Vec<_>>())
        .block(block)
        .render(area, buf);
}

fn check_line(c: &CheckResult) -> String {
    let chan = c
        .channel
        .as_deref()
        .map(|n| format!("[{n}] "))
        .unwrap_or_default();
    format!(
        "{:<7} {:<4} {chan}{}: {}",
        c.severity.label(),
        c.id,
        c.title,
        c.why
    )
}

fn render_audit(v: &ReplView, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let srv = v.selected_server().unwrap_or("");
    let checks = v.checks(srv);
    let count = |sev| checks.iter().filter(|c| c.severity == sev).count();
    let title = format!(
        " audit {srv}: {} CRIT · {} WARN · {} UNKNOWN · {} PASS {}",
        count(Severity::Crit),
        count(Severity::Warn),
        count(Severity::Unknown),
        count(Severity::Pass),
        if v.focus == Focus::Audit {
            "· Enter detail · y copy fixes · Esc back "
        } else {
            "· a or Enter to browse · y copy fixes "
        }
    );
    let inner_h = area.height.saturating_sub(1) as usize;
    let offset = if v.focus == Focus::Audit {
        v.audit_cursor.first(checks.len(), inner_h, None)
    } else {
        0
    };
    let lines: Vec<Line> = checks
        .iter()
        .enumerate()
        .skip(offset)
        .take(inner_h)
        .map(|(i, c)| {
            let mut style = theme.style(severity_role(c.severity));
            if v.focus == Focus::Audit && v.audit_cursor == i {
                style = style.patch(theme.style(Role::Selected));
            }
            Line::from(Span::styled(check_line(c), style))
        })
        .collect();
    let border = if v.focus == Focus::Audit {
        Role::HintKey
    } else {
        Role::Border
    };
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(Span::styled(title, theme.style(Role::Header)))
                .border_style(theme.style(border)),
        )
        .render(area, buf);
}

/// A pane line and the indent its wrapped rows hang at.
type Para = (Line<'static>, usize);

/// Rows that wrap hang under the text they continue.
fn hang(text: &str) -> usize {
    text.chars().take_while(|c| *c == ' ').count() + 2
}

/// The pane's title and lines (`style` gives each role its look).
fn pane_text(p: &Pane, style: &dyn Fn(Role) -> Style) -> (String, Vec<Para>) {
    let line = |text: String, role: Role, indent: usize| {
        (Line::from(Span::styled(text, style(role))), indent)
    };
    match p {
        Pane::Check(c) => {
            let mut l = vec![
                line(
                    format!(
                        "{} {} on {}{}",
                        c.severity.label(),
                        c.id,
                        c.server,
                        c.channel
                            .as_deref()
                            .map(|n| format!(" [{n}]"))
                            .unwrap_or_default()
                    ),
                    severity_role(c.severity),
                    2,
                ),
                line(format!("why: {}", c.why), Role::Overlay, 5),
            ];
            if let Some(g) = &c.missing_grant {
                l.push(line(format!("missing grant: {g}"), Role::Warn, 15));
            }
            if c.fix.is_empty() {
                l.push(line("fix: nothing to change".into(), Role::Muted, 2));
            } else {
                let parts = crate::repl::audit::fixes::split(&c.fix);
                if !parts.sql.is_empty() {
                    l.push(line("fix, SQL (mysql client):".into(), Role::Header, 2));
                    for f in &parts.sql {
                        l.push(line(f.clone(), Role::Normal, hang(f)));
                    }
                }
                if !parts.cnf.is_empty() {
                    l.push(line("fix, my.cnf (option file):".into(), Role::Header, 2));
                    let sec = parts.cnf_section.iter();
                    for f in sec.chain(parts.cnf.iter()) {
                        l.push(line(f.clone(), Role::Normal, hang(f)));
                    }
                }
            }
            l.push(line(
                "y copy these lines · j/k scroll · Esc close".into(),
                Role::Hint,
                2,
            ));
            (format!(" {} {} ", c.id, c.title), l)
        }
        Pane::Fixes { server, lines } => {
            let mut l: Vec<Para> = lines
                .iter()
                .map(|f| {
                    let role = if f.starts_with('#') {
                        Role::Muted
                    } else {
                        Role::Normal
                    };
                    line(f.clone(), role, hang(f))
                })
                .collect();
            l.push(line(
                "copied to the clipboard (OSC 52); select with the mouse if your terminal lacks it · Esc close"
                    .into(),
                Role::Hint,
                2,
            ));
            (format!(" fixes for {server} "), l)
        }
    }
}

/// The pane's area over `body`, its block and its wrapped rows.
fn pane_layout(
    p: &Pane,
    body: Rect,
    style: &dyn Fn(Role) -> Style,
) -> (Rect, Block<'static>, Vec<Line<'static>>) {
    let (title, lines) = pane_text(p, style);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(style(Role::Border));
    let w = body
        .width
        .saturating_sub(4)
        .min(110)
        .max(20.min(body.width));
    let rows = scroll::wrap_all(lines, w.saturating_sub(2));
    let h = u16::try_from(rows.len().saturating_add(2))
        .unwrap_or(u16::MAX)
        .min(body.height);
    let area = Rect::new(
        body.x + (body.width - w) / 2,
        body.y + (body.height - h) / 2,
        w,
        h,
    );
    (area, block, rows)
}

/// `(rows, page height)` of the open pane drawn over the view's `area`.
pub fn pane_geometry(v: &ReplView, area: Rect) -> Option<(usize, usize)> {
    let p = v.pane.as_ref()?;
    let (rect, block, rows) = pane_layout(p, area, &|_| Style::default());
    Some((rows.len(), usize::from(block.inner(rect).height)))
}

fn render_pane(v: &ReplView, p: &Pane, body: Rect, buf: &mut Buffer, theme: &Theme) {
    let (area, block, rows) = pane_layout(p, body, &|r| theme.style(r));
    Clear.render(area, buf);
    buf.set_style(area, theme.style(Role::Overlay));
    scroll::render(
        &rows,
        &v.pane_scroll,
        block,
        theme.style(Role::Info),
        area,
        buf,
    );
}
