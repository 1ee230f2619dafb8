//! The live list's columns as fixed arrays, computed at compile time from [`COLUMNS`]: the
//! list columns in order ([`VIEW`], a list column index is an index there), the narrow-screen
//! drop order, and where the duration and query columns are.

use super::table::COLUMNS;
use super::types::{SortBy, ViewColumn, ViewText, Width};

/// How many list columns [`COLUMNS`] has.
pub const VIEW_LEN: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < COLUMNS.len() {
        if COLUMNS[i].view.is_some() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The list's columns, in order (a list column index is an index here).
pub const VIEW: [ViewColumn; VIEW_LEN] = {
    let mut out = [PLACEHOLDER; VIEW_LEN];
    let (mut i, mut j) = (0, 0);
    while i < COLUMNS.len() {
        if let Some(v) = COLUMNS[i].view {
            out[j] = v;
            j += 1;
        }
        i += 1;
    }
    out
};

const PLACEHOLDER: ViewColumn = ViewColumn {
    title: "",
    width: Width::Rest,
    drop: None,
    numeric: false,
    text: ViewText::Made {
        cell: |_, _| String::new(),
        key: SortBy::Pid,
    },
};

/// How many list columns can be left out on a narrow screen.
pub const DROP_LEN: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < VIEW_LEN {
        if VIEW[i].drop.is_some() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// List columns left out when the screen is narrow, first to last (by their `drop`).
pub const DROP_ORDER: [usize; DROP_LEN] = {
    let mut out = [0; DROP_LEN];
    let mut n = 0;
    let mut rank = 1u8;
    while n < DROP_LEN {
        let mut i = 0;
        while i < VIEW_LEN {
            if let Some(d) = VIEW[i].drop {
                if d == rank {
                    out[n] = i;
                    n += 1;
                }
            }
            i += 1;
        }
        rank += 1;
    }
    out
};

/// The index of the list column sorted by duration (the default sort, descending).
pub const DURATION_COL: usize = {
    let mut i = 0;
    while !matches!(
        VIEW[i].text,
        ViewText::Made {
            key: SortBy::Duration,
            ..
        }
    ) {
        i += 1;
    }
    i
};

/// The index of the list column that takes the rest of the width (the query).
pub const QUERY_COL: usize = {
    let mut i = 0;
    while !matches!(VIEW[i].width, Width::Rest) {
        i += 1;
    }
    i
};
