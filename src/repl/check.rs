//! `stacktop repl --check`: one refresh of every configured server (connect, read, disconnect
//! via [`super::collector::collect_once`]), then the verdicts and the audit printed as text,
//! JSON (`--json`) or one Nagios line (`--nagios`). The exit code is the report's: 0 OK,
//! 1 WARNING, 2 CRITICAL, 3 UNKNOWN — also for text and JSON, so cron can act on it.

use super::report;
use crate::config::ReplConfig;

/// Output format of `--check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    Text,
    Json,
    Nagios,
}

/// Exit code when nothing can be checked (no servers configured): Nagios UNKNOWN.
pub const NOTHING_TO_CHECK: i32 = 3;

/// Runs the check and returns what to print on stdout and the exit code.
pub async fn run(cfg: &ReplConfig, format: CheckFormat) -> (String, i32) {
    if cfg.servers.is_empty() {
        let msg = "no servers configured: add [[repl.servers]] to a config file or pass \
                   --server NAME=HOST:PORT";
        return match format {
            CheckFormat::Nagios => (format!("REPL UNKNOWN - {msg}\n"), NOTHING_TO_CHECK),
            CheckFormat::Json => (
                format!(
                    "{}\n",
                    serde_json::json!({ "status": "UNKNOWN", "exit_code": NOTHING_TO_CHECK, "error": msg })
                ),
                NOTHING_TO_CHECK,
            ),
            CheckFormat::Text => (
                format!("replication check: UNKNOWN\n{msg}\n"),
                NOTHING_TO_CHECK,
            ),
        };
    }
    let snaps = super::collector::collect_once(&cfg.servers).await;
    let r = report::build(&snaps, &cfg.thresholds());
    match format {
        CheckFormat::Text => (report::text(&r), r.exit_code),
        CheckFormat::Json => (report::json(&r) + "\n", r.exit_code),
        CheckFormat::Nagios => {
            let (line, code) = report::nagios(&r);
            (line + "\n", code)
        }
    }
}
