//! stacktop: one ratatui shell, four views (pgtop, MySQL replication health, vlogdump,
//! Spotify top-200 explorer).
//!
//! Data flows one way:
//! ```text
//! collectors (tokio tasks, one per source) ──Update──► bounded mpsc ──► App::apply
//! crossterm keys ──► keymap ──► Action ──► App::handle_action ──► view state (+ Effects)
//! render tick (fps cap, only when dirty) ──► ui::draw(&App, frame)   (pure)
//! ```

// Config errors are built once, at start-up, and carry file/line/key/value for the user.
#![allow(clippy::result_large_err)]

pub mod app;
pub mod batch;
pub mod children;
pub mod cli;
pub mod collect;
pub mod completions;
pub mod config;
pub mod keymap;
pub mod mask;
pub mod panics;
pub mod pg;
pub mod private_fs;
pub mod record;
pub mod repl;
pub mod replay;
pub mod run;
pub mod signals;
pub mod sources;
pub mod spotify;
pub mod theme;
pub mod tui;
pub mod ui;
pub mod views;
pub mod vlog;
