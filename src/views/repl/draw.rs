//! Drawing of the replication view, a pure function of [`ReplView`] state: the status table
//! (broken first, styled ok/warn/crit), the detail of the selected row (source, GTIDs,
//! relay log, last errors, lag sparkline), the audit pane of the selected server, and the
//! check-detail / copied-fixes pane on top.

use chrono::{DateTime, Local};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::rows::{self, key_channel, key_server};
use super::{Focus, Pane, ReplView};
use crate::repl::audit::{CheckResult, Severity};
use crate::theme::{Role, Theme};
use crate::ui::table::render_empty;

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
    let _ = now;
    if v.snaps.is_empty() {
        render_empty(area, buf, theme, crate::views::View::empty_text(v));
        return;
    }
    let h = area.height;
    let detail_h: u16 = if h >= 14 { 6 } else { 0 };
    let rows = v.core.table.visible_len() as u16 + 1;
    let room = h.saturating_sub(detail_h);
    let table_h = rows.min((room / 2).max(3)).min(room);
    let audit_h = h.saturating_sub(table_h + detail_h);
    let table_area = Rect::new(area.x, area.y, area.width, table_h);
    let detail_area = Rect::new(area.x, area.y + table_h, area.width, detail_h);
    let audit_area = Rect::new(area.x, area.y + table_h + detail_h, area.width, audit_h);
    v.core
        .table
        .render(table_area, buf, theme, v.focus == Focus::Status);
    if v.core.table.visible_len() == 0 {
        render_empty(table_area, buf, theme, "no row matches the filter");
    }
    if detail_h > 0 {
        render_detail(v, detail_area, buf, theme);
    }
    if audit_h >= 3 {
        render_audit(v, audit_area, buf, theme);
    }
    if let Some(p) = &v.pane {
        render_pane(p, area, buf, theme);
    }
}

fn render_detail(v: &ReplView, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let Some(row) = v.core.table.selected() else {
        return;
    };
    let srv = key_server(&row.key);
    let Some(s) = v.server(srv) else {
        return;
    };
    let chan = key_channel(&row.key).and_then(|n| s.channels.iter().find(|c| c.name == n));
    let chan = chan.or_else(|| {
        // The default channel's key part is "" (same as a whole-server row).
        s.channels.iter().find(|c| c.name.is_empty())
    });
    let mut lines: Vec<Line> = Vec::new();
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
        lines.push(Line::from(Span::styled(text, theme.style(role))));
    }
    if let Some(c) = chan {
        if let Some(h) = v.lag_history(&s.name, &c.name) {
            let width = area.width.saturating_sub(40) as usize;
            let max = h.iter().flatten().fold(0.0_f64, |m, &x| m.max(x));
            lines.push(Line::from(vec![
                Span::styled("lag history ", theme.style(Role::Muted)),
                Span::styled(rows::sparkline(h, width), theme.style(Role::Info)),
                Span::styled(
                    format!("  {} samples, max {max:.0}s", h.len()),
                    theme.style(Role::Muted),
                ),
            ]));
        }
    }
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(theme.style(Role::Border)),
        )
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
    let offset = if v.focus == Focus::Audit && v.audit_cursor >= inner_h {
        v.audit_cursor + 1 - inner_h
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
            if v.focus == Focus::Audit && i == v.audit_cursor {
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

fn render_pane(p: &Pane, body: Rect, buf: &mut Buffer, theme: &Theme) {
    let (title, lines): (String, Vec<Line>) = match p {
        Pane::Check(c) => {
            let mut l = vec![
                Line::from(Span::styled(
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
                    theme.style(severity_role(c.severity)),
                )),
                Line::from(Span::styled(
                    format!("why: {}", c.why),
                    theme.style(Role::Overlay),
                )),
            ];
            if let Some(g) = &c.missing_grant {
                l.push(Line::from(Span::styled(
                    format!("missing grant: {g}"),
                    theme.style(Role::Warn),
                )));
            }
            if c.fix.is_empty() {
                l.push(Line::from(Span::styled(
                    "fix: nothing to change",
                    theme.style(Role::Muted),
                )));
            } else {
                l.push(Line::from(Span::styled("fix:", theme.style(Role::Header))));
                for f in &c.fix {
                    l.push(Line::from(Span::styled(
                        f.clone(),
                        theme.style(Role::Normal),
                    )));
                }
            }
            l.push(Line::from(Span::styled(
                "y copy these lines · Esc close",
                theme.style(Role::Hint),
            )));
            (format!(" {} {} ", c.id, c.title), l)
        }
        Pane::Fixes { server, lines } => {
            let mut l: Vec<Line> = lines
                .iter()
                .map(|f| {
                    let role = if f.starts_with('#') {
                        Role::Muted
                    } else {
                        Role::Normal
                    };
                    Line::from(Span::styled(f.clone(), theme.style(role)))
                })
                .collect();
            l.push(Line::from(Span::styled(
                "copied to the clipboard (OSC 52); select with the mouse if your terminal lacks it · Esc close",
                theme.style(Role::Hint),
            )));
            (format!(" fixes for {server} "), l)
        }
    };
    let w = body
        .width
        .saturating_sub(4)
        .min(110)
        .max(20.min(body.width));
    let h = (lines.len() as u16 + 2).min(body.height);
    let area = Rect::new(
        body.x + (body.width - w) / 2,
        body.y + (body.height - h) / 2,
        w,
        h,
    );
    Clear.render(area, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(theme.style(Role::Border)),
        )
        .style(theme.style(Role::Overlay))
        .render(area, buf);
}
