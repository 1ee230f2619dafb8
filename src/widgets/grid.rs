//! A table drawn straight into the buffer: the same cells as ratatui's `Table` (columns laid out
//! by ratatui's `Layout` with the same constraints, `Flex::Start` and one column of spacing; the
//! table's style over its area, each row's style over its line, each cell's text from the
//! column's left edge, cut at its width), without building a `Row`/`Cell`/`Text` per cell and
//! without the per-grapheme work for plain ASCII text, which is what almost every cell of a list
//! holds. Any other text goes through ratatui's own `Text` rendering, so wide, combining and
//! control characters are drawn exactly as `Table` draws them (`tests::same_as_table` compares the
//! two on such cells).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Text;
use ratatui::widgets::Widget;

/// The column layout of one table area (one line each: line 0 is the header).
pub struct Grid {
    area: Rect,
    /// (x, width) of each column, absolute
    columns: Vec<(u16, u16)>,
}

impl Grid {
    /// Lays the columns out over `area` and sets `style` on the whole area (as `Table` does).
    pub fn new(area: Rect, buf: &mut Buffer, widths: &[Constraint], style: Style) -> Grid {
        let area = area.intersection(buf.area);
        buf.set_style(area, style);
        let columns = Layout::horizontal(widths.iter().copied())
            .flex(Flex::Start)
            .spacing(1)
            .split(Rect::new(area.x, area.y, area.width, 1))
            .iter()
            .map(|r| (r.x, r.width))
            .collect();
        Grid { area, columns }
    }

    /// Draws line `line` of the area (0 = header): `style` over the whole line, then each
    /// text in its column. Lines below the area are ignored.
    pub fn row<'a>(
        &self,
        buf: &mut Buffer,
        line: u16,
        style: Style,
        texts: impl IntoIterator<Item = &'a str>,
    ) {
        if line >= self.area.height {
            return;
        }
        let y = self.area.y + line;
        buf.set_style(Rect::new(self.area.x, y, self.area.width, 1), style);
        for (&(x, w), text) in self.columns.iter().zip(texts) {
            // never past the area (the layout keeps columns inside it; this makes sure)
            let w = w.min(self.area.right().saturating_sub(x));
            put(buf, x, y, w, text);
        }
    }
}

/// `text` at (x, y), cut at `w` cells.
fn put(buf: &mut Buffer, x: u16, y: u16, w: u16, text: &str) {
    if w == 0 || text.is_empty() {
        return;
    }
    let bytes = text.as_bytes();
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        let start = buf.index_of(x, y);
        let n = bytes.len().min(usize::from(w));
        for (cell, &b) in buf.content[start..start + n].iter_mut().zip(bytes) {
            cell.set_char(char::from(b));
        }
    } else {
        Text::from(text).render(Rect::new(x, y, w, 1), buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Modifier};
    use ratatui::widgets::{Row, Table};

    fn both(area: Rect, widths: &[Constraint], rows: &[(Style, Vec<&str>)]) -> (Buffer, Buffer) {
        let normal = Style::default().fg(Color::White);
        let mut a = Buffer::empty(Rect::new(0, 0, 40, 8));
        let grid = Grid::new(area, &mut a, widths, normal);
        for (n, (style, cells)) in rows.iter().enumerate() {
            grid.row(&mut a, n as u16, *style, cells.iter().copied());
        }
        let mut b = Buffer::empty(Rect::new(0, 0, 40, 8));
        let header = Row::new(rows[0].1.clone()).style(rows[0].0);
        let body = rows[1..].iter().map(|(s, c)| Row::new(c.clone()).style(*s));
        Table::new(body, widths.to_vec())
            .header(header)
            .column_spacing(1)
            .style(normal)
            .render(area, &mut b);
        (a, b)
    }

    #[test]
    fn same_as_table() {
        let widths = [
            Constraint::Length(5),
            Constraint::Length(3),
            Constraint::Fill(1),
        ];
        let yellow = Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD);
        let rows = [
            (
                Style::default().bg(Color::Blue),
                vec!["pid▼", "db", "query"],
            ),
            (
                yellow,
                vec!["12345678", "postgres", "select 1 from a_long_table"],
            ),
            (Style::default(), vec!["7", "", "select '日本語' -- ok"]),
            (
                Style::default(),
                vec!["x\u{301}y", "a\tb", "e\u{0}\u{1b}[31m"],
            ),
            (Style::default(), vec!["", "ab"]),
        ];
        for area in [
            Rect::new(0, 0, 40, 8),
            Rect::new(2, 1, 20, 4),
            Rect::new(0, 0, 9, 8),
            Rect::new(0, 0, 40, 2),
        ] {
            let (a, b) = both(area, &widths, &rows[..rows.len().min(area.height as usize)]);
            assert_eq!(a, b, "area {area:?}");
        }
    }
}
