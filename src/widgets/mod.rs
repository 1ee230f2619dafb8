//! What the views draw and read input with: the shared data table ([`table`]), scrolling
//! ([`scroll`]) and the `:` command table ([`commands`]). Widgets never see `App` or a view;
//! the screen that calls the views is [`crate::screen`].

pub mod commands;
pub mod scroll;
pub mod table;
