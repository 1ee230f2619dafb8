//! The columns of a pgtop session, defined once: [`COLUMNS`] holds one [`SessionColumn`] per
//! column — its id, how the live list shows it (title, width, when it is left out on a narrow
//! screen, its cell and sort key), whether and how the batch text table shows it, and its keys
//! and values in batch JSON. The list (`views::pgtop::columns`), the text table
//! ([`super::batch::render_text`]) and the JSON object ([`super::batch::session_json`]) are all
//! made from it, so adding a column is one row of the table plus its accessor.
//!
//! The table is in `table.rs`, what a column is in `types.rs`, the list's arrays derived from
//! the table in `list.rs`, cell texts shared with other outputs in `cells.rs`.

mod cells;
mod list;
mod table;
mod types;

pub use cells::{blk, blocked_or_wait, fmt_dur, lock_json, state_short, wait};
pub use list::{DROP_LEN, DROP_ORDER, DURATION_COL, QUERY_COL, VIEW, VIEW_LEN};
pub use table::COLUMNS;
pub use types::{
    JsonValue, RowCtx, SessionColumn, SortBy, TextCell, TextColumn, TextWidth, ViewColumn,
    ViewText, Width,
};
