//! The replay timeline: one row across the top of the screen in `stacktop replay PATH`,
//! the recording from its first to its last record with a mark where something went wrong,
//! so the incident is found at a glance:
//!
//! ```text
//!  03:10:00 ───SS──LLL─┃───RR──5──── 03:20:00
//! ```
//!
//! `K` a cancel or terminate done (rare, and what an incident review looks for first), `L` a
//! lock wait, `X` a source disconnected, `R` replication at WARN or worse (lag, a
//! stopped thread, unreachable), `5` varnish 5xx answers, `S` a slow query (the most serious
//! of a cell's marks is shown), `─` nothing, `┃` the cursor. While the marks are still being
//! read the row ends with their progress.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use crate::theme::{Role, Theme};
use crate::wire::replay::{local, mark, ReplayStatus, TIMELINE_CELLS};

/// The cursor's cell.
pub const CURSOR: char = '┃';
/// A cell without marks.
pub const EMPTY: char = '─';

/// The glyph and colour of a cell's flags (the most serious first).
pub fn glyph(flags: u8) -> (char, Role) {
    [
        (mark::KILL, 'K', Role::Crit),
        (mark::LOCK, 'L', Role::Crit),
        (mark::DOWN, 'X', Role::Crit),
        (mark::REPL, 'R', Role::Warn),
        (mark::HTTP_5XX, '5', Role::Warn),
        (mark::SLOW, 'S', Role::Slow),
    ]
    .into_iter()
    .find(|(f, _, _)| flags & f != 0)
    .map_or((EMPTY, Role::Muted), |(_, c, r)| (c, r))
}

/// The marks merged into `width` cells (each the OR of the cells it covers).
pub fn cells(r: &ReplayStatus, width: usize) -> Vec<u8> {
    (0..width)
        .map(|c| {
            let from = c * TIMELINE_CELLS / width.max(1);
            let to = ((c + 1) * TIMELINE_CELLS / width.max(1)).max(from + 1);
            r.marks
                .get(from..to.min(r.marks.len()))
                .unwrap_or_default()
                .iter()
                .fold(0, |a, b| a | b)
        })
        .collect()
}

/// The status line's replay part: the recording's time at the cursor, and whether it plays.
pub fn status_text(r: &ReplayStatus) -> String {
    let state = if r.playing {
        format!("playing {}×", r.speed)
    } else {
        "paused".to_string()
    };
    format!("replay {} {state}", r.cursor().format("%Y-%m-%d %H:%M:%S"))
}

/// Draws the timeline row.
pub fn render(r: &ReplayStatus, area: Rect, buf: &mut Buffer, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    let fmt = |ms: i64| local(ms).format("%H:%M:%S").to_string();
    let left = format!(" {} ", fmt(r.first_ms));
    let mut right = format!(" {} ", fmt(r.last_ms));
    if r.scanned_pct < 100 {
        right.push_str(&format!("marks {}% ", r.scanned_pct));
    }
    let fixed = left.chars().count() + right.chars().count();
    let width = usize::from(area.width).saturating_sub(fixed);
    let mut spans = vec![Span::styled(left, theme.style(Role::Muted))];
    if width >= 4 {
        let cursor = r.cell_of(r.cursor_ms) * width / TIMELINE_CELLS;
        for (i, flags) in cells(r, width).into_iter().enumerate() {
            let (c, role) = if i == cursor {
                (CURSOR, Role::Selected)
            } else {
                glyph(flags)
            };
            spans.push(Span::styled(c.to_string(), theme.style(role)));
        }
    }
    spans.push(Span::styled(right, theme.style(Role::Muted)));
    Line::from(spans).render(area, buf);
}
