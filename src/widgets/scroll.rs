//! A scrollable text pane, shared by the detail panes (pgtop `Enter`, the replication check
//! detail and copied fixes): lines are word-wrapped at the pane width here (so the number of
//! rows is known exactly, for clamping), [`Scroll`] keeps the first row shown and moves on the
//! `Scroll*` actions of the keymap's detail scope, and [`render`] draws the visible rows with a
//! "lines 10-30 of 84" indicator in the top border.
//!
//! Views keep a [`Scroll`] in their state and call [`Scroll::apply`] with the row count and
//! page height of the pane as it will be drawn (from the same layout and wrap functions their
//! render uses); drawing clamps again, so content that shrank between a key and a frame never
//! shows an empty page.

use crate::keymap::Action;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};
use unicode_width::UnicodeWidthChar;

/// The first row shown of a scrollable pane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scroll {
    offset: usize,
}

impl Scroll {
    /// The first row shown when `total` rows are shown `page` at a time: the stored position
    /// clamped so the last page is full.
    pub fn first(&self, total: usize, page: usize) -> usize {
        self.offset.min(max_first(total, page))
    }

    /// Moves on a scroll action (`ScrollUp`, `ScrollPageDown`, ...); clamps at both ends.
    /// Returns false for any other action.
    pub fn apply(&mut self, action: Action, total: usize, page: usize) -> bool {
        let max = max_first(total, page);
        // A page keeps one row of context, like less -z-1.
        let step = page.saturating_sub(1).max(1);
        let at = self.first(total, page);
        self.offset = match action {
            Action::ScrollUp => at.saturating_sub(1),
            Action::ScrollDown => at.saturating_add(1).min(max),
            Action::ScrollPageUp => at.saturating_sub(step),
            Action::ScrollPageDown => at.saturating_add(step).min(max),
            Action::ScrollTop => 0,
            Action::ScrollBottom => max,
            _ => return false,
        };
        true
    }
}

fn max_first(total: usize, page: usize) -> usize {
    total.saturating_sub(page.max(1))
}

/// `"lines 10-30 of 84"` (1-based, inclusive) when the rows do not fit the page, else `None`.
pub fn indicator(first: usize, page: usize, total: usize) -> Option<String> {
    if total <= page || page == 0 {
        return None;
    }
    let last = (first + page).min(total);
    Some(format!("lines {}-{last} of {total}", first + 1))
}

/// Word-wraps `line` at `width` columns. Continuation rows start with `indent` spaces (kept
/// only while at least half the width is left for text). Words longer than a row are cut
/// into pieces; tabs become four spaces and other control characters a space. Always returns
/// at least one row.
pub fn wrap(line: &Line<'_>, width: usize, indent: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent = if indent * 2 > width { 0 } else { indent };
    let styles: Vec<Style> = line
        .spans
        .iter()
        .map(|s| line.style.patch(s.style))
        .collect();
    // (char, display width, index into `styles`)
    let mut cells: Vec<(char, usize, usize)> = Vec::new();
    for (i, span) in line.spans.iter().enumerate() {
        for c in span.content.chars() {
            match c {
                '\t' => cells.extend(std::iter::repeat_n((' ', 1, i), 4)),
                c if c.is_control() => cells.push((' ', 1, i)),
                c => cells.push((c, c.width().unwrap_or(0), i)),
            }
        }
    }
    let mut rows: Vec<Vec<(char, usize, usize)>> = Vec::new();
    let mut cur: Vec<(char, usize, usize)> = Vec::new();
    let mut cur_w = 0;
    let room = |rows: &Vec<Vec<_>>| {
        if rows.is_empty() {
            width
        } else {
            width - indent
        }
    };
    let mut i = 0;
    while i < cells.len() {
        let space = cells[i].0 == ' ';
        let mut j = i;
        while j < cells.len() && (cells[j].0 == ' ') == space {
            j += 1;
        }
        let run_w: usize = cells[i..j].iter().map(|c| c.1).sum();
        let avail = room(&rows);
        if cur_w + run_w <= avail {
            cur.extend_from_slice(&cells[i..j]);
            cur_w += run_w;
            i = j;
            continue;
        }
        if space {
            // Break at the spaces; they do not start the next row.
            rows.push(trim_end(std::mem::take(&mut cur)));
            cur_w = 0;
            i = j;
            continue;
        }
        if cur_w > 0 && run_w <= width - indent {
            // The word fits on a row of its own.
            rows.push(trim_end(std::mem::take(&mut cur)));
            cur_w = 0;
            continue;
        }
        // Too long for any row: cut it, filling the current row first.
        for &cell in &cells[i..j] {
            if cur_w + cell.1 > room(&rows) && cur_w > 0 {
                rows.push(std::mem::take(&mut cur));
                cur_w = 0;
            }
            cur.push(cell);
            cur_w += cell.1;
        }
        i = j;
    }
    if !cur.is_empty() || rows.is_empty() {
        rows.push(cur);
    }
    rows.into_iter()
        .enumerate()
        .map(|(n, row)| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            if n > 0 && indent > 0 {
                spans.push(Span::raw(" ".repeat(indent)));
            }
            let mut text = String::new();
            let mut style_of = None;
            for (c, _, s) in row {
                if let Some(prev) = style_of.filter(|&p| p != s) {
                    spans.push(Span::styled(std::mem::take(&mut text), styles[prev]));
                }
                style_of = Some(s);
                text.push(c);
            }
            if let Some(s) = style_of {
                spans.push(Span::styled(text, styles[s]));
            }
            Line::from(spans)
        })
        .collect()
}

fn trim_end(mut row: Vec<(char, usize, usize)>) -> Vec<(char, usize, usize)> {
    while row.last().is_some_and(|c| c.0 == ' ') {
        row.pop();
    }
    row
}

/// Wraps every `(line, continuation indent)` at `width`.
pub fn wrap_all<'a>(
    lines: impl IntoIterator<Item = (Line<'a>, usize)>,
    width: u16,
) -> Vec<Line<'static>> {
    lines
        .into_iter()
        .flat_map(|(l, indent)| wrap(&l, usize::from(width), indent))
        .collect()
}

/// Draws `block` over `area` and the rows of `rows` that `scroll` shows inside it, with the
/// position indicator right-aligned in the top border when the rows do not fit.
pub fn render(
    rows: &[Line<'static>],
    scroll: &Scroll,
    block: Block<'_>,
    indicator_style: Style,
    area: Rect,
    buf: &mut Buffer,
) {
    let page = usize::from(block.inner(area).height);
    let first = scroll.first(rows.len(), page);
    let block = match indicator(first, page, rows.len()) {
        Some(text) => {
            block.title_top(Line::styled(format!(" {text} "), indicator_style).right_aligned())
        }
        None => block,
    };
    let end = (first + page).min(rows.len());
    Paragraph::new(rows[first..end].to_vec())
        .block(block)
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Color;

    fn text(rows: &[Line]) -> Vec<String> {
        rows.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wraps_at_words_with_a_hanging_indent_and_cuts_long_words() {
        let l = Line::from("alpha beta gamma delta");
        assert_eq!(text(&wrap(&l, 11, 0)), ["alpha beta", "gamma delta"]);
        assert_eq!(text(&wrap(&l, 12, 2)), ["alpha beta", "  gamma", "  delta"]);
        let long = Line::from("x abcdefghijklmnop");
        assert_eq!(text(&wrap(&long, 6, 0)), ["x abcd", "efghij", "klmnop"]);
        assert_eq!(text(&wrap(&Line::from(""), 10, 0)), [""]);
        // leading indentation of the first row is kept (plan lines)
        assert_eq!(
            text(&wrap(&Line::from("  ->  Seq Scan on t"), 10, 4)),
            ["  ->  Seq", "    Scan", "    on t"]
        );
        assert_eq!(text(&wrap(&Line::from("a\tb"), 10, 0)), ["a    b"]);
    }

    #[test]
    fn wrapping_keeps_span_styles_and_every_row_fits() {
        let red = Style::default().fg(Color::Red);
        let l = Line::from(vec![
            Span::styled("key ", red),
            Span::raw("a value that goes on"),
        ]);
        let rows = wrap(&l, 10, 4);
        assert!(rows.iter().all(|r| r.width() <= 10), "{:?}", text(&rows));
        assert_eq!(rows[0].spans[0].style, red);
        assert_eq!(rows[0].to_string(), "key a");
        let wide = Line::from("日本語のテキスト");
        assert!(wrap(&wide, 5, 0).iter().all(|r| r.width() <= 5));
    }

    #[test]
    fn scroll_clamps_at_both_ends() {
        let mut s = Scroll::default();
        assert!(s.apply(Action::ScrollUp, 30, 10));
        assert_eq!(s.first(30, 10), 0);
        s.apply(Action::ScrollPageDown, 30, 10);
        assert_eq!(s.first(30, 10), 9);
        for _ in 0..50 {
            s.apply(Action::ScrollDown, 30, 10);
        }
        assert_eq!(s.first(30, 10), 20, "the last page stays full");
        s.apply(Action::ScrollUp, 30, 10);
        assert_eq!(s.first(30, 10), 19, "one key back, not fifty");
        s.apply(Action::ScrollTop, 30, 10);
        assert_eq!(s.first(30, 10), 0);
        s.apply(Action::ScrollBottom, 30, 10);
        assert_eq!(
            indicator(s.first(30, 10), 10, 30).as_deref(),
            Some("lines 21-30 of 30")
        );
        assert_eq!(s.first(12, 10), 2, "content shrank: clamped when drawn");
        assert_eq!(indicator(0, 10, 10), None);
        assert_eq!(indicator(0, 0, 10), None, "no room: nothing to point at");
        assert!(!s.apply(Action::Up, 30, 10));
    }
}
