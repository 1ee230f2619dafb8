//! Drawing the vlogdump view (pure: reads [`VlogView`] and `now`, writes the buffer): the
//! three header lines (req/s, hit ratio, 5xx rate, p50/p90/p99 over 10 s and 1 min, status
//! mix, ring / dropped / malformed counters), one line per request for the visible window
//! only (read straight from the ring), the lower pane (top URLs by count and by p99, top
//! clients, per-backend errors), the detail pane and the find / save editor line.

use super::{EditorKind, VlogView};
use crate::theme::{Role, Theme};
use crate::vlog::stats::{StatsSnapshot, WindowStats};
use crate::vlog::Request;
use crate::widgets::scroll::{self, Scroll};
use crate::widgets::table::render_empty;
use chrono::{DateTime, Local};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Widget};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

const HEADER_LINES: u16 = 3;
const PANE_LINES: u16 = 12;

pub fn render(v: &VlogView, area: Rect, buf: &mut Buffer, theme: &Theme, now: DateTime<Local>) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let snap = v.stats.snapshot(v.stats_now(now));
    let (header, mut rest, editor) = split(v, area);
    render_header(v, &snap, header, buf, theme);
    if let Some(d) = &v.detail {
        render_detail(&d.request, &d.scroll, rest, buf, theme);
    } else {
        let pane =
            (v.pane && rest.height >= PANE_LINES + 8).then(|| take_bottom(&mut rest, PANE_LINES));
        render_rows(v, rest, buf, theme);
        if let Some(p) = pane {
            render_pane(&snap, p, buf, theme);
        }
    }
    if let (Some(ed), Some(r)) = (&v.editor, editor) {
        let label = match ed.kind {
            EditorKind::Find => "find (regex): ",
            EditorKind::Save => "save to (.json = JSON lines): ",
        };
        Line::from(vec![
            Span::styled(label, theme.style(Role::Prompt)),
            Span::styled(ed.input.clone(), theme.style(Role::Normal)),
            Span::styled("█", theme.style(Role::Prompt)),
            Span::styled("   Enter ok · Esc cancel", theme.style(Role::Hint)),
        ])
        .render(r, buf);
    }
}

/// The view's `area` as drawn: the header, the body (the rows, or the detail pane) and the
/// find / save line while an editor is open.
fn split(v: &VlogView, area: Rect) -> (Rect, Rect, Option<Rect>) {
    let mut rest = area;
    let header = take_top(&mut rest, HEADER_LINES);
    let editor = v.editor.as_ref().map(|_| take_bottom(&mut rest, 1));
    (header, rest, editor)
}

fn take_top(r: &mut Rect, h: u16) -> Rect {
    let h = h.min(r.height);
    let top = Rect::new(r.x, r.y, r.width, h);
    r.y += h;
    r.height -= h;
    top
}

fn take_bottom(r: &mut Rect, h: u16) -> Rect {
    let h = h.min(r.height);
    r.height -= h;
    Rect::new(r.x, r.y + r.height, r.width, h)
}

pub fn fmt_ms(ms: Option<f64>) -> String {
    match ms {
        None => "-".into(),
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn window_line<'a>(label: &str, w: &WindowStats, theme: &Theme) -> Line<'a> {
    let e5 = w.rate_5xx.unwrap_or(0.0) > 0.0;
    Line::from(vec![
        Span::styled(format!(" {label:<4}"), theme.style(Role::Header)),
        Span::styled(
            format!("{:>8.1} req/s  hit {:>6}  ", w.req_per_s, pct(w.hit_ratio)),
            theme.style(Role::Normal),
        ),
        Span::styled(
            format!("5xx {:>6}", pct(w.rate_5xx)),
            theme.style(if e5 { Role::Crit } else { Role::Normal }),
        ),
        Span::styled(
            format!(
                "  p50 {}  p90 {}  p99 {} ms  ({} req)",
                fmt_ms(w.p50_ms),
                fmt_ms(w.p90_ms),
                fmt_ms(w.p99_ms),
                w.requests
            ),
            theme.style(Role::Normal),
        ),
    ])
}

fn render_header(v: &VlogView, s: &StatsSnapshot, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut lines = vec![
        window_line("10s", &s.last_10s, theme),
        window_line("1m", &s.last_1m, theme),
    ];
    let mix: Vec<String> = s
        .status_mix
        .iter()
        .take(8)
        .map(|(st, c)| match st {
            Some(st) => format!("{st}×{c}"),
            None => format!("-×{c}"),
        })
        .collect();
    let warn = |bad: bool| theme.style(if bad { Role::Warn } else { Role::Muted });
    lines.push(Line::from(vec![
        Span::styled(" mix ", theme.style(Role::Header)),
        Span::styled(format!("{}  ", mix.join(" ")), theme.style(Role::Normal)),
        Span::styled(
            format!("│ ring {}/{} ", v.ring.len(), v.ring.capacity()),
            theme.style(Role::Muted),
        ),
        Span::styled(
            format!("dropped {} ", v.ring.dropped()),
            warn(v.ring.dropped() > 0),
        ),
        Span::styled(format!("malformed {} ", v.malformed), warn(v.malformed > 0)),
        Span::styled(
            format!("restarts {}", v.failed_restarts()),
            warn(v.failed_restarts() > 0),
        ),
    ]));
    let mut extra: Vec<Span> = Vec::new();
    if v.is_preview() {
        extra.push(Span::styled(
            format!(" │ preview: {} (Enter keeps it) ", v.filter_text()),
            theme.style(Role::Warn),
        ));
    }
    if let Some(e) = v.preview_error() {
        extra.push(Span::styled(
            format!(" │ not applied: {e} "),
            theme.style(Role::Crit),
        ));
    }
    if let Some(p) = v
        .program
        .as_deref()
        .and_then(|c| c.split_whitespace().next())
    {
        let name = std::path::Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        extra.push(Span::styled(format!(" │ {name}"), theme.style(Role::Muted)));
    }
    if let Some(last) = lines.last_mut() {
        last.spans.extend(extra);
    }
    for (i, l) in lines.into_iter().enumerate() {
        if (i as u16) < area.height {
            l.render(Rect::new(area.x, area.y + i as u16, area.width, 1), buf);
        }
    }
}

/// `s` cut or padded to exactly `w` cells.
pub fn fit(s: &str, w: usize, right: bool) -> String {
    let mut out = String::new();
    let mut used = 0;
    let total = s.width();
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw > w || (total > w && used + cw + 1 > w && w > 0) {
            if total > w && used < w {
                out.push('…');
                used += 1;
            }
            break;
        }
        out.push(c);
        used += cw;
    }
    let pad = " ".repeat(w.saturating_sub(used));
    if right {
        format!("{pad}{out}")
    } else {
        out + &pad
    }
}

/// Local wall-clock time of a request start, `HH:MM:SS.mmm`.
pub fn clock(t: f64) -> String {
    if t <= 0.0 || !t.is_finite() {
        return "-".into();
    }
    let secs = t.floor() as i64;
    let nanos = ((t - t.floor()) * 1e9) as u32;
    DateTime::from_timestamp(secs, nanos.min(999_999_999))
        .map(|d| d.with_timezone(&Local).format("%H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Column titles and widths for a given width (0 = the URL takes the rest); narrow
/// terminals lose protocol, reason, bytes and backend first.
fn columns(width: u16) -> Vec<(&'static str, usize, bool)> {
    let mut c = vec![
        ("time", 12, false),
        ("client", 15, false),
        ("method", 7, false),
        ("url", 0, false),
    ];
    let wide = width >= 130;
    let mid = width >= 100;
    if wide {
        c.push(("proto", 8, false));
    }
    c.push(("handling", 12, false));
    c.push(("st", 3, true));
    if wide {
        c.push(("reason", if width >= 180 { 22 } else { 14 }, false));
    }
    c.push(("ms", 9, true));
    if mid {
        c.push(("bytes", 8, true));
        c.push(("backend", 12, false));
    }
    c
}

/// The cells of one request, in the order of [`columns`].
pub fn cells(r: &Request, width: u16) -> Vec<String> {
    columns(width)
        .iter()
        .map(|(name, _, _)| match *name {
            "time" => clock(r.start),
            "client" => r.client_ip().into_owned(),
            "method" => r.method().into_owned(),
            "url" => r.url().into_owned(),
            "proto" => r.protocol().into_owned(),
            "handling" => r.handling.label().to_string(),
            "st" => r.status.map_or("-".into(), |s| s.to_string()),
            "reason" => r.reason().into_owned(),
            "ms" => format!("{:.1}", r.total_ms),
            "bytes" => r.bytes.to_string(),
            _ => r.backend().map_or("-".into(), |b| b.into_owned()),
        })
        .collect()
}

fn row_line(cells: &[String], cols: &[(&str, usize, bool)], width: u16) -> String {
    let fixed: usize = cols.iter().map(|c| c.1).sum::<usize>() + cols.len() - 1;
    let url_w = (width as usize).saturating_sub(fixed).max(8);
    let parts: Vec<String> = cols
        .iter()
        .zip(cells)
        .map(|((_, w, right), s)| fit(s, if *w == 0 { url_w } else { *w }, *right))
        .collect();
    parts.join(" ")
}

/// The role of a row: 5xx is critical, slow is slow.
pub fn row_role(v: &VlogView, r: &Request) -> Role {
    if r.status_class() == 5 {
        Role::Crit
    } else if r.total_ms >= v.slow_ms {
        Role::Slow
    } else {
        Role::Normal
    }
}

fn render_rows(v: &VlogView, area: Rect, buf: &mut Buffer, theme: &Theme) {
    if area.height < 2 {
        return;
    }
    let cols = columns(area.width);
    let titles: Vec<String> = cols.iter().map(|c| c.0.to_string()).collect();
    Line::from(Span::styled(
        row_line(&titles, &cols, area.width),
        theme.style(Role::Header),
    ))
    .render(Rect::new(area.x, area.y, area.width, 1), buf);
    let body = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    v.page.set(body.height);
    if v.ring.is_empty() {
        let msg = if v.finished {
            "no requests in the input"
        } else if v.core.health == crate::wire::SourceHealth::Idle {
            v.hint.as_deref().unwrap_or(
                "no varnishlog source: start `stacktop vlog -n NAME` or set [vlog] instance / file",
            )
        } else {
            "no requests yet (waiting for varnishlog)"
        };
        render_empty(body, buf, theme, msg);
        return;
    }
    let (start, end) = v.window(body.height as usize);
    if start == end {
        render_empty(body, buf, theme, "no request matches the filter");
        return;
    }
    let sel = v.selected_index();
    for (y, i) in (start..end).enumerate() {
        let Some(r) = v.matches.get(i).and_then(|&s| v.request_at(s)) else {
            continue;
        };
        let mut style = theme.style(row_role(v, r));
        if sel == Some(i) {
            style = style.patch(theme.style(Role::Selected));
        }
        let text = row_line(&cells(r, area.width), &cols, area.width);
        Line::from(Span::styled(text, style))
            .render(Rect::new(body.x, body.y + y as u16, body.width, 1), buf);
    }
}

fn render_pane(s: &StatsSnapshot, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let w = area.width / 4;
    let n = area.height.saturating_sub(2) as usize;
    let urls: Vec<String> = s
        .top_urls
        .iter()
        .take(n)
        .map(|e| format!("{:>6} {}", e.count, e.key))
        .collect();
    let slow: Vec<String> = s
        .slow_urls
        .iter()
        .take(n)
        .map(|e| format!("{:>7} {}", fmt_ms(e.p99_ms), e.key))
        .collect();
    let clients: Vec<String> = s
        .top_clients
        .iter()
        .take(n)
        .map(|e| format!("{:>6} {}", e.count, e.key))
        .collect();
    let backends: Vec<String> = s
        .backends
        .iter()
        .take(n)
        .map(|b| {
            let last = b.last_error.as_deref().unwrap_or("");
            format!(
                "{} {} req, {} 5xx, {} fetch errors {last}",
                b.name, b.requests, b.errors_5xx, b.fetch_errors
            )
        })
        .collect();
    let boxes = [
        ("top URLs (count)", urls),
        ("slowest URLs (p99 ms)", slow),
        ("top clients", clients),
        ("backends (errors)", backends),
    ];
    for (i, (title, lines)) in boxes.into_iter().enumerate() {
        let x = area.x + w * i as u16;
        let bw = if i == 3 { area.width - w * 3 } else { w };
        let r = Rect::new(x, area.y, bw, area.height);
        let block = Block::default()
            .borders(Borders::TOP)
            .title(format!(" {title} "))
            .border_style(theme.style(Role::Border));
        let inner = block.inner(r);
        block.render(r, buf);
        for (y, l) in lines.iter().enumerate() {
            if y as u16 >= inner.height {
                break;
            }
            let text = fit(l, inner.width.saturating_sub(1) as usize, false);
            Line::from(Span::styled(text, theme.style(Role::Normal)))
                .render(Rect::new(inner.x, inner.y + y as u16, inner.width, 1), buf);
        }
    }
}

/// The full record as text lines (also used by tests).
pub fn detail_lines(r: &Request) -> Vec<String> {
    let mut l = vec![
        format!(
            "vxid {}  {}  client {}",
            r.vxid,
            crate::vlog::format::iso_time(r.start),
            r.client_ip()
        ),
        format!("{} {} {}", r.method(), r.url(), r.protocol()),
        format!(
            "→ {} {}  {}  total {:.3} ms  ttfb {}  bytes {}  restarts {}  esi {}",
            r.status.map_or("-".into(), |s| s.to_string()),
            r.reason(),
            r.handling.label(),
            r.total_ms,
            r.ttfb_ms.map_or("-".into(), |t| format!("{t:.3} ms")),
            r.bytes,
            r.restarts,
            r.esi
        ),
        format!(
            "backend {}  status {}  time {}  fetch error: {}",
            r.backend().as_deref().unwrap_or("-"),
            r.backend_status.map_or("-".into(), |s| s.to_string()),
            r.backend_ms.map_or("-".into(), |t| format!("{t:.3} ms")),
            r.fetch_error().as_deref().unwrap_or("-")
        ),
    ];
    if let Some(n) = r.note() {
        l.push(format!("note: {n}"));
    }
    if !r.has_detail() {
        l.push(String::new());
        l.push(
            "(headers and timestamps dropped: only the newest requests of the ring keep them)"
                .into(),
        );
        return l;
    }
    l.push(String::new());
    l.push("── request headers".into());
    l.extend(
        r.req_headers()
            .map(|h| format!("  {}", String::from_utf8_lossy(h))),
    );
    l.push("── response headers".into());
    l.extend(
        r.resp_headers()
            .map(|h| format!("  {}", String::from_utf8_lossy(h))),
    );
    l.push("── timestamps (since start)".into());
    l.extend(r.timestamps().iter().map(|t| {
        format!(
            "  {:<7} {:<12} +{:.3} ms",
            if t.backend { "backend" } else { "client" },
            t.label.name(),
            t.offset as f64 * 1000.0
        )
    }));
    l
}

fn detail_block(border: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .title(" request (↑↓ scroll, Esc closes) ")
        .border_style(border)
}

/// `(rows, page height)` of the open detail pane drawn over the view's `area` (lines are
/// cut at the pane's width, not wrapped).
pub fn detail_geometry(v: &VlogView, area: Rect) -> Option<(usize, usize)> {
    let d = v.detail.as_ref()?;
    let (_, body, _) = split(v, area);
    let page = detail_block(Style::default()).inner(body).height;
    Some((detail_lines(&d.request).len(), usize::from(page)))
}

fn render_detail(r: &Request, scroll: &Scroll, area: Rect, buf: &mut Buffer, theme: &Theme) {
    Clear.render(area, buf);
    buf.set_style(area, theme.style(Role::Overlay));
    let rows: Vec<Line<'static>> = detail_lines(r)
        .into_iter()
        .map(|s| Line::from(Span::styled(s, theme.style(Role::Overlay))))
        .collect();
    let block = detail_block(theme.style(Role::Border));
    scroll::render(&rows, scroll, block, theme.style(Role::Info), area, buf);
}
