//! Process exit codes of every command (batch modes, checks, usage errors).

pub const OK: i32 = 0;
/// Runtime failure: a batch source stayed unreachable past `--give-up-after` (or was
/// unreachable at the last of `--count` snapshots), an I/O error.
pub const RUNTIME: i32 = 1;
/// Bad command line or configuration.
pub const USAGE: i32 = 2;
/// `repl --check` (text, `--json`, `--nagios`) uses the Nagios plugin codes instead:
/// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (a bad command line or config is still 2).
pub const CHECK_WARNING: i32 = 1;
pub const CHECK_CRITICAL: i32 = 2;
pub const CHECK_UNKNOWN: i32 = 3;
/// `pgtop --batch`: at least one active query is over `slow_threshold`.
pub const PG_SLOW: i32 = 3;
/// `pgtop --batch`: at least one active query is over `critical_threshold`.
pub const PG_CRITICAL: i32 = 4;
