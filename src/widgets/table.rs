//! The shared table component: columns, rows with a semantic role each, a stable selection
//! (by row key, so a refresh does not move the cursor to another row), sort by any column
//! in both directions, a text filter, and rendering that truncates to the width.
//! Views own a [`TableState`]; drawing reads it and never changes it.

use crate::theme::{Role, Theme};
use crate::widgets::selection::{key_id, Selection};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::grid::Grid;
use serde::Serialize;
use std::cmp::Ordering;

/// A column definition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Column {
    pub title: String,
    /// Preferred width in cells; 0 = take the remaining space.
    pub width: u16,
    /// Sort numerically by `TableRow::sort_keys` instead of text.
    pub numeric: bool,
}

impl Column {
    pub fn new(title: &str, width: u16) -> Self {
        Column {
            title: title.into(),
            width,
            numeric: false,
        }
    }
    pub fn numeric(title: &str, width: u16) -> Self {
        Column {
            title: title.into(),
            width,
            numeric: true,
        }
    }
}

/// One row: display cells, numeric sort keys for numeric columns, and its style role.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableRow {
    /// Identity that survives refreshes (a pid, a request id, a server name).
    pub key: String,
    pub cells: Vec<String>,
    #[serde(skip)]
    pub sort_keys: Vec<f64>,
    #[serde(skip)]
    pub role: Role,
}

impl TableRow {
    pub fn new(key: impl Into<String>, cells: Vec<String>, role: Role) -> Self {
        TableRow {
            key: key.into(),
            cells,
            sort_keys: Vec::new(),
            role,
        }
    }
    pub fn with_sort_keys(mut self, keys: Vec<f64>) -> Self {
        self.sort_keys = keys;
        self
    }
}

/// A snapshot of tabular data.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TableData {
    pub columns: Vec<Column>,
    pub rows: Vec<TableRow>,
}

/// Makes the cells of a row drawn ([`TableState::render_columns_with`]); `None`: its own.
pub type CellsOf<'a> = dyn Fn(&TableRow) -> Option<Vec<String>> + 'a;

/// Selection, sort and filter over a [`TableData`].
#[derive(Clone, Debug, Default)]
pub struct TableState {
    pub data: TableData,
    /// Indices into `data.rows` after filter and sort.
    visible: Vec<usize>,
    /// The cursor: a position in `visible`, kept on its row's key across refreshes.
    pub cursor: Selection<u64>,
    pub sort: Option<(usize, bool)>,
    pub filter: String,
    /// Body rows shown at the last draw (set by [`TableState::render_columns`] through a
    /// `Cell`, so the draw stays a function of `&self`); PageUp / PageDown move by it.
    pub page: std::cell::Cell<usize>,
}

impl TableState {
    pub fn set_data(&mut self, data: TableData) {
        self.data = data;
        self.recompute();
    }

    pub fn set_filter(&mut self, f: &str) {
        self.filter = f.to_string();
        self.recompute();
    }

    /// Sorts by the next column (`>`); wraps to "unsorted".
    pub fn sort_next(&mut self) {
        let n = self.data.columns.len();
        self.sort = match self.sort {
            None if n > 0 => Some((0, false)),
            Some((c, d)) if c + 1 < n => Some((c + 1, d)),
            _ => None,
        };
        self.recompute();
    }

    /// Reverses the sort direction (`<`).
    pub fn sort_reverse(&mut self) {
        self.sort = Some(match self.sort {
            Some((c, d)) => (c, !d),
            None => (0, true),
        });
        self.recompute();
    }

    pub fn sort_by(&mut self, col: usize, desc: bool) {
        self.sort = Some((col, desc));
        self.recompute();
    }

    /// What [`TableState::set_filter`] accepts, for `?` (keep the two together).
    pub const FILTER_SYNTAX: &'static [(&'static str, &'static str)] = &[(
        "TEXT",
        "rows with TEXT in any column (case-insensitive, no regex)",
    )];

    fn recompute(&mut self) {
        let needle = self.filter.to_lowercase();
        let mut vis: Vec<usize> = (0..self.data.rows.len())
            .filter(|&i| {
                needle.is_empty()
                    || self.data.rows[i]
                        .cells
                        .iter()
                        .any(|c| c.to_lowercase().contains(&needle))
            })
            .collect();
        if let Some((col, desc)) = self.sort {
            let numeric = self.data.columns.get(col).is_some_and(|c| c.numeric);
            let rows = &self.data.rows;
            vis.sort_by(|&a, &b| {
                let ord = if numeric {
                    let ka = rows[a]
                        .sort_keys
                        .get(col)
                        .copied()
                        .unwrap_or(f64::NEG_INFINITY);
                    let kb = rows[b]
                        .sort_keys
                        .get(col)
                        .copied()
                        .unwrap_or(f64::NEG_INFINITY);
                    ka.partial_cmp(&kb).unwrap_or(Ordering::Equal)
                } else {
                    let ca = rows[a].cells.get(col).map(String::as_str).unwrap_or("");
                    let cb = rows[b].cells.get(col).map(String::as_str).unwrap_or("");
                    ca.cmp(cb)
                };
                if desc {
                    ord.reverse()
                } else {
                    ord
                }
            });
        }
        self.visible = vis;
        // Keep the cursor on the same row when it is still there.
        let (rows, visible) = (&self.data.rows, &self.visible);
        self.cursor.sync(
            visible.len(),
            |k| visible.iter().position(|&i| key_id(&rows[i].key) == k),
            |n| visible.get(n).map(|&i| key_id(&rows[i].key)),
        );
    }

    /// The cursor's key of the visible row `n`.
    fn key_at(&self) -> impl Fn(usize) -> Option<u64> + '_ {
        |n| self.visible.get(n).map(|&i| key_id(&self.data.rows[i].key))
    }

    pub fn visible_rows(&self) -> impl Iterator<Item = &TableRow> {
        self.visible.iter().filter_map(|&i| self.data.rows.get(i))
    }

    pub fn visible_len(&self) -> usize {
        self.visible.len()
    }

    pub fn selected(&self) -> Option<&TableRow> {
        self.visible
            .get(self.cursor.at())
            .and_then(|&i| self.data.rows.get(i))
    }

    pub fn move_by(&mut self, delta: isize) {
        let mut c = self.cursor;
        c.move_by(delta, self.visible.len(), self.key_at());
        self.cursor = c;
    }

    /// How far PageUp / PageDown move: the drawn page less one row of context (like
    /// less -z-1), at least one row (also before the first draw).
    pub fn page_step(&self) -> isize {
        self.page.get().saturating_sub(1).max(1) as isize
    }

    /// The next [`TableState::set_data`] starts on the first row, unless the selected row
    /// is in it.
    pub fn rewind(&mut self) {
        self.cursor.rewind();
    }

    pub fn top(&mut self) {
        let mut c = self.cursor;
        c.set(0, self.visible.len(), self.key_at());
        self.cursor = c;
    }

    pub fn bottom(&mut self) {
        let mut c = self.cursor;
        let n = self.visible.len();
        c.set(n.saturating_sub(1), n, self.key_at());
        self.cursor = c;
    }

    /// Renders the table into `area`, every column.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, show_cursor: bool) {
        self.render_columns(area, buf, theme, show_cursor, None, None);
    }

    /// Renders only the columns `only` (indexes into `data.columns`, in that order), e.g. the
    /// ones that fit a narrow screen; the sort mark stays on its column. `sized` gives each of
    /// them its width instead of the column's own (a wide screen's grown columns; 0 fills).
    /// Copies nothing.
    pub fn render_columns(
        &self,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        show_cursor: bool,
        only: Option<&[usize]>,
        sized: Option<&[u16]>,
    ) {
        self.render_columns_with(area, buf, theme, show_cursor, only, sized, None);
    }

    /// [`TableState::render_columns`] for a table whose rows may carry no cell strings: `cells`
    /// makes those of each row drawn (only the rows on screen), from the row (its key and
    /// role); where it (or `cells` itself) is `None`, the row's own cells are drawn.
    #[allow(clippy::too_many_arguments)]
    pub fn render_columns_with(
        &self,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        show_cursor: bool,
        only: Option<&[usize]>,
        sized: Option<&[u16]>,
        cells: Option<&CellsOf>,
    ) {
        if area.height == 0 {
            return;
        }
        let every: Vec<usize>;
        let cols: &[usize] = match only {
            Some(c) => c,
            None => {
                every = (0..self.data.columns.len()).collect();
                &every
            }
        };
        let titles: Vec<String> = cols
            .iter()
            .filter_map(|&i| {
                let c = self.data.columns.get(i)?;
                let mark = match self.sort {
                    Some((s, true)) if s == i => "▼",
                    Some((s, false)) if s == i => "▲",
                    _ => "",
                };
                Some(format!("{}{mark}", c.title))
            })
            .collect();
        let body_height = area.height.saturating_sub(1) as usize;
        self.page.set(body_height);
        let offset = if body_height == 0 {
            0
        } else {
            self.cursor.first(self.visible.len(), body_height, None)
        };
        let widths: Vec<Constraint> = cols
            .iter()
            .enumerate()
            .filter_map(|(n, &i)| {
                let own = self.data.columns.get(i)?.width;
                Some(sized.and_then(|s| s.get(n).copied()).unwrap_or(own))
            })
            .map(|w| {
                if w == 0 {
                    Constraint::Fill(1)
                } else {
                    Constraint::Length(w)
                }
            })
            .collect();
        let grid = Grid::new(area, buf, &widths, theme.style(Role::Normal));
        grid.row(
            buf,
            0,
            theme.style(Role::Header),
            titles.iter().map(String::as_str),
        );
        let rows = self
            .visible
            .iter()
            .enumerate()
            .skip(offset)
            .take(body_height);
        for (line, (pos, &i)) in rows.enumerate() {
            let Some(r) = self.data.rows.get(i) else {
                continue;
            };
            let mut style = theme.style(r.role);
            if show_cursor && self.cursor == pos {
                style = style.patch(theme.style(Role::Selected));
            }
            let y = line as u16 + 1;
            match cells.and_then(|make| make(r)) {
                Some(made) => grid.row(
                    buf,
                    y,
                    style,
                    cols.iter().filter_map(|&c| made.get(c)).map(String::as_str),
                ),
                None => grid.row(
                    buf,
                    y,
                    style,
                    cols.iter()
                        .filter_map(|&c| r.cells.get(c))
                        .map(String::as_str),
                ),
            }
        }
    }

    /// Plain text rendering for batch mode: header and rows, columns padded.
    pub fn to_text(&self) -> String {
        let cols = &self.data.columns;
        let mut widths: Vec<usize> = cols.iter().map(|c| c.title.chars().count()).collect();
        for r in self.visible_rows() {
            for (i, c) in r.cells.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let line = |cells: Vec<&str>| -> String {
            let n = cells.len();
            let mut s = String::new();
            for (i, c) in cells.into_iter().enumerate() {
                if i + 1 == n {
                    s.push_str(c);
                } else {
                    let pad = widths.get(i).copied().unwrap_or(0);
                    s.push_str(&format!("{c:<pad$} "));
                }
            }
            s.trim_end().to_string()
        };
        let mut out = line(cols.iter().map(|c| c.title.as_str()).collect());
        out.push('\n');
        for r in self.visible_rows() {
            out.push_str(&line(r.cells.iter().map(String::as_str).collect()));
            out.push('\n');
        }
        out
    }
}

/// A one-line message in the middle of an empty table area.
pub fn render_empty(area: Rect, buf: &mut Buffer, theme: &Theme, text: &str) {
    if area.height < 2 {
        return;
    }
    let line = Line::from(Span::styled(text.to_string(), theme.style(Role::Muted)));
    let y = area.y + area.height / 2;
    let r = Rect::new(area.x + 2, y, area.width.saturating_sub(4), 1);
    line.style(Style::default()).render(r, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> TableData {
        TableData {
            columns: vec![Column::new("name", 10), Column::numeric("n", 5)],
            rows: vec![
                TableRow::new("a", vec!["alpha".into(), "3".into()], Role::Normal)
                    .with_sort_keys(vec![0.0, 3.0]),
                TableRow::new("b", vec!["beta".into(), "10".into()], Role::Slow)
                    .with_sort_keys(vec![0.0, 10.0]),
                TableRow::new("c", vec!["gamma".into(), "1".into()], Role::Normal)
                    .with_sort_keys(vec![0.0, 1.0]),
            ],
        }
    }

    #[test]
    fn numeric_sort_and_stable_selection() {
        let mut t = TableState::default();
        t.set_data(data());
        t.move_by(1);
        assert_eq!(t.selected().unwrap().key, "b");
        t.sort_by(1, true);
        assert_eq!(
            t.visible_rows().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        assert_eq!(
            t.selected().unwrap().key,
            "b",
            "cursor follows the row, not the position"
        );
        t.set_data(data());
        assert_eq!(t.selected().unwrap().key, "b");
    }

    #[test]
    fn render_columns_draws_only_the_chosen_columns_with_the_sort_mark_on_its_own() {
        let mut t = TableState::default();
        t.set_data(data());
        t.sort_by(1, true);
        let theme = Theme::builtin_default();
        let area = Rect::new(0, 0, 20, 4);
        let line = |b: &Buffer, y: u16| -> String {
            (0..area.width)
                .map(|x| b[(x, y)].symbol())
                .collect::<String>()
        };
        let mut only_n = Buffer::empty(area);
        t.render_columns(area, &mut only_n, &theme, false, Some(&[1]), None);
        assert!(line(&only_n, 0).starts_with("n▼"), "{:?}", line(&only_n, 0));
        assert!(line(&only_n, 1).starts_with("10"), "{:?}", line(&only_n, 1));
        assert!(!line(&only_n, 1).contains("beta"));
        let mut only_name = Buffer::empty(area);
        t.render_columns(area, &mut only_name, &theme, false, Some(&[0]), None);
        assert_eq!(
            line(&only_name, 0).trim_end(),
            "name",
            "no mark on an unsorted column"
        );
        assert!(line(&only_name, 1).starts_with("beta"));
        // out-of-range indexes are skipped, not a panic
        t.render_columns(area, &mut only_name, &theme, false, Some(&[7, 0]), None);
    }

    #[test]
    fn filter_matches_any_cell() {
        let mut t = TableState::default();
        t.set_data(data());
        t.set_filter("GAM");
        assert_eq!(t.visible_len(), 1);
        assert!(t.to_text().contains("gamma"));
        assert!(!t.to_text().contains("alpha"));
    }
}
