//! Test support for integration tests that need real servers. Include from a test crate with
//! `mod support;` (each file in tests/ is its own crate; unused helpers are fine).
//!
//! - `proc`    — ports, process guards (kill by PID/process group on Drop), bounded polling,
//!   temp dirs, "install Debian package X" failures, `hermetic_command` (run stacktop with
//!   no PG*/MYSQL_*/STACKTOP_*/XDG_*/HOME from the developer), random passwords. Used by
//!   every helper below.
//! - `mariadb` — ephemeral mariadbd and a GTID `ReplicationPair`.
//! - `varnish` — varnishd + an in-process HTTP backend.
//! - `pg`      — ephemeral PostgreSQL (run as the `postgres` OS user): the Debian one or any
//!   major 10-18 (`Pg::start_major`, `Pg::shared_major`, `pg_matrix!` for per-major tests),
//!   scram-sha-256 with a random password, TLS, roles.
//! - `webhook` — a local HTTP receiver for Slack-style webhook posts (ok / 500 / hang).
//! - `live`    — an App fed by a real collector, with bounded waits on its state.
//! - `pg_ui`   — the App fed by the real pgtop source, keys routed like the run loop.
//! - `replay`  — a live App recording itself, and an App fed a recording's decoded records up
//!   to an instant T (replayed screens and batch JSON against the live ones).
//! - `replay_cursor` — an App fed by the TUI replay's own time cursor (play, `:goto`).
//! - `replay_player` — the App and the replay source's threads, keys routed like the run loop.
//!
//! `screen.rs` (render the App into a TestBackend, read rows, find text, the detail-pane
//! indicator) needs no servers: view tests include it alone with `#[path]`.
//!
//! Missing server binaries: run `bash scripts/setup-test-deps.sh`.
#![allow(dead_code, unused_imports)]

pub mod live;
pub mod mariadb;
pub mod pg;
pub mod pg_ui;
pub mod proc;
pub mod replay;
pub mod replay_cursor;
pub mod replay_player;
pub mod varnish;
pub mod webhook;
