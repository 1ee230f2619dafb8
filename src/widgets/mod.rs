//! What the views draw and read input with: the shared data table ([`table`], drawn by
//! [`grid`]), scrolling ([`scroll`]), the list cursor ([`selection`]) and the `:` command table
//! ([`commands`]) and the replay timeline ([`timeline`]). Widgets never see `App` or a view;
//! the screen that calls the views is [`crate::screen`].

pub mod commands;
pub mod grid;
pub mod scroll;
pub mod selection;
pub mod table;
pub mod timeline;
