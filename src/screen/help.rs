//! The `?` overlay of the app: its text and layout are [`super::help_text`]'s (which the app
//! also asks for the scroll limits); this draws it.

use crate::app::App;
use crate::theme::Role;
use crate::wire::ViewKind;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::help_text::rows_and_page;
pub use super::help_text::{area, layout, Entry, Row, MAX_WIDTH};

/// The filter syntax of `view`, from the constant next to its parser.
pub fn filter_syntax(view: ViewKind) -> &'static [(&'static str, &'static str)] {
    crate::views::registry::tab(view).filter_syntax
}

/// Everything the help lists for the app's active view, in order.
pub fn entries(app: &App) -> Vec<Entry> {
    super::help_text::entries(app.active_view(), &app.keymap)
}

/// Draws the help over `body`.
pub fn render(app: &App, body: Rect, buf: &mut Buffer) {
    let t = &app.theme;
    let box_area = area(body);
    if box_area.width < 3 || box_area.height < 3 {
        Clear.render(box_area, buf);
        return;
    }
    let (rows, page) = rows_and_page(&entries(app), body);
    let n = u16::try_from(rows.len()).unwrap_or(u16::MAX);
    let max = n.saturating_sub(page);
    let first = app.help_scroll.min(max);
    let keyw = rows
        .iter()
        .filter_map(|r| match r {
            Row::Item(k, d) if !d.is_empty() => Some(k.chars().count()),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let lines: Vec<Line> = rows
        .into_iter()
        .skip(usize::from(first))
        .take(usize::from(page))
        .map(|r| match r {
            Row::Section(s) => Line::from(Span::styled(s, t.style(Role::Header))),
            Row::Item(k, d) => Line::from(vec![
                Span::styled(format!(" {k:>keyw$}  "), t.style(Role::HintKey)),
                Span::styled(d, t.style(Role::Overlay)),
            ]),
        })
        .collect();
    let title = if max > 0 {
        format!(
            " help: {} · {}-{} of {} · ↑↓ scroll, g/G ends, Esc closes ",
            app.active.title(),
            first + 1,
            (first + page).min(n),
            n
        )
    } else {
        format!(" help: {} (Esc or ? to close) ", app.active.title())
    };
    Clear.render(box_area, buf);
    Paragraph::new(lines)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .border_style(t.style(Role::Border)),
        )
        .style(t.style(Role::Overlay))
        .render(box_area, buf);
}
