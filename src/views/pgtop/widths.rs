//! Column widths of the pgtop list on a wide screen: [`super::rows::visible_columns`] decides
//! which columns fit by their base widths (so the 80-column drop order is unchanged); when the
//! query still has more than [`QUERY_ROOM`] cells, the columns whose text is longer than their
//! base width (`checkout-service` in a 12-cell application column) grow to it, up to
//! [`GROW_MAX`], the ones that are dropped last first.

use unicode_width::UnicodeWidthStr;

use super::rows::{DROP_ORDER, QUERY_COL};
use crate::widgets::table::{TableData, TableRow};

/// The display width of row `n`'s (`r`'s) cell in column `c` when it is longer than `want`
/// bytes (else anything ≤ `want`): the session list keeps no cell strings, so pgtop reads them
/// from the sessions.
pub type CellWidth<'a> = dyn Fn(usize, &TableRow, usize, usize) -> usize + 'a;

/// [`CellWidth`] of a table whose rows carry their cells.
pub fn own_cells(_n: usize, r: &TableRow, c: usize, want: usize) -> usize {
    match r.cells.get(c) {
        // a cell is never wider than its length in bytes: most need no width count
        Some(s) if s.len() > want => s.width(),
        _ => 0,
    }
}

/// The query keeps this many cells before another column grows into its room.
pub const QUERY_ROOM: u16 = 60;
/// A column grows to at most this many cells.
pub const GROW_MAX: u16 = 32;

/// The widths of `cols` (indexes into `data.columns`, as `visible_columns` gives them) at
/// `width` cells; the query's stays 0 (it takes the rest).
pub fn grown(data: &TableData, cols: &[usize], width: u16, cell: &CellWidth) -> Vec<u16> {
    let mut w: Vec<u16> = cols
        .iter()
        .map(|&c| data.columns.get(c).map_or(0, |x| x.width))
        .collect();
    let fixed: u16 = cols
        .iter()
        .zip(&w)
        .filter(|(c, _)| **c != QUERY_COL)
        .map(|(_, w)| w + 1)
        .sum();
    let room = if cols.contains(&QUERY_COL) {
        QUERY_ROOM
    } else {
        0
    };
    let mut spare = width.saturating_sub(fixed.saturating_add(room));
    for &c in DROP_ORDER.iter().rev() {
        if spare == 0 {
            break;
        }
        let Some(pos) = cols.iter().position(|&x| x == c) else {
            continue;
        };
        let base = w[pos];
        let cap = usize::from(GROW_MAX.min(base + spare));
        let mut want = usize::from(base);
        for (n, r) in data.rows.iter().enumerate() {
            if want >= cap {
                break;
            }
            want = want.max(cell(n, r, c, want));
        }
        let grow = u16::try_from(want.min(cap))
            .unwrap_or(base)
            .saturating_sub(base);
        w[pos] += grow;
        spare -= grow;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::super::rows::{visible_columns, COLUMNS};
    use super::*;
    use crate::theme::Role;
    use crate::widgets::table::{Column, TableRow};

    const BASE: [u16; 10] = [7, 10, 10, 15, 12, 14, 8, 12, 8, 0];
    const APP: usize = 4;

    fn data(app: &str) -> TableData {
        let mut cells: Vec<String> = COLUMNS.iter().map(|_| "x".to_string()).collect();
        cells[APP] = app.into();
        TableData {
            columns: COLUMNS
                .iter()
                .zip(BASE)
                .map(|(t, w)| Column::new(t, w))
                .collect(),
            rows: vec![TableRow::new("1", cells, Role::Normal)],
        }
    }

    #[test]
    fn a_long_application_name_shows_whole_on_a_wide_screen_only() {
        let d = data("checkout-service");
        let cols = visible_columns(&d.columns, 200);
        let w = grown(&d, &cols, 200, &own_cells);
        let app = cols.iter().position(|&c| c == APP).unwrap();
        assert_eq!(w[app], 16, "{w:?}");
        let fixed: u16 = w.iter().map(|x| x + 1).sum::<u16>() - 1;
        assert!(200 - fixed >= QUERY_ROOM, "the query keeps its room: {w:?}");
        // a short name: nothing grows
        let d2 = data("psql");
        assert_eq!(
            grown(&d2, &cols, 200, &own_cells),
            cols.iter().map(|&c| BASE[c]).collect::<Vec<_>>()
        );
        // narrower screens: the same columns as before, and no column grows while the query
        // has less than its room
        for width in 1..=140u16 {
            let cols = visible_columns(&d.columns, width);
            let w = grown(&d, &cols, width, &own_cells);
            let base: Vec<u16> = cols.iter().map(|&c| BASE[c]).collect();
            let fixed: u16 = base.iter().map(|x| x + 1).sum();
            if fixed + QUERY_ROOM >= width {
                assert_eq!(w, base, "width {width}");
            }
            assert!(
                w.iter().map(|x| x + 1).sum::<u16>() <= width.max(fixed),
                "width {width}: {w:?}"
            );
        }
    }

    #[test]
    fn growth_is_capped_and_counts_cells() {
        let d = data(&"a".repeat(100));
        let cols: Vec<usize> = (0..COLUMNS.len()).collect();
        let app = cols.iter().position(|&c| c == APP).unwrap();
        assert_eq!(grown(&d, &cols, 400, &own_cells)[app], GROW_MAX);
        let d = data("日本語のアプリケーション名"); // 13 chars, 26 cells
        assert_eq!(grown(&d, &cols, 400, &own_cells)[app], 26);
    }
}
