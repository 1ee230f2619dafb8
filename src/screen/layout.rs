//! The screen's rows, which the app needs too (views page by the body's height): no
//! [`crate::app::App`] here.

use ratatui::layout::{Constraint, Layout, Rect};

/// The screen's rows: tab bar, the active view, the hint line, the status line.
pub fn screen_areas(area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the active view is drawn on a screen of `area`.
pub fn body_area(area: Rect) -> Rect {
    screen_areas(area)[1]
}
