//! stacktop: one ratatui shell, four views (pgtop, MySQL replication health, vlogdump,
//! Spotify top-200 explorer).
//!
//! Data flows one way:
//! ```text
//! collectors (tokio tasks, one per source) ──Update──► bounded mpsc ──► App::apply
//! crossterm keys ──► keymap ──► Action ──► App::handle_action ──► view state (+ Effects)
//! render tick (fps cap, only when dirty) ──► screen::draw(&App, frame)   (pure)
//! ```

// Config errors are built once, at start-up, and carry file/line/key/value for the user.
#![allow(clippy::result_large_err)]
// A panic in the UI is a bug: production code returns errors; `unwrap`/`expect` only in tests
// (or with an `#[allow]` naming why it cannot fail).
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod app;
pub mod base;
pub mod batch;
pub mod children;
pub mod cli;
pub mod completions;
pub mod config;
pub mod keymap;
pub mod mask;
pub mod messages;
pub mod panics;
pub mod pg;
pub mod private_fs;
pub mod record;
pub mod repl;
pub mod replay;
pub mod run;
pub mod screen;
pub mod signals;
pub mod sources;
pub mod spotify;
pub mod theme;
pub mod tui;
pub mod views;
pub mod vlog;
pub mod widgets;
pub mod wire;
