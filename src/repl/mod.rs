//! MySQL / MariaDB / Percona replication health: the non-UI core of the second tab.
//!
//! Data flow:
//! `config` (what to watch) → `collector` (mysql_async, one connection per server; every refresh
//! turns result sets into generic [`Row`]s) → `snapshot::build` (pure: rows → [`ServerSnapshot`],
//! using `flavor` to pick statements and `status` to parse rows by column name) → `verdict`
//! (per-server OK/WARN/CRIT) and `audit` (crash-safety catalogue R1–R17 / P1–P10) → `report`
//! (batch `--check` output, run by `check`). `source` wires the collectors into the shell's
//! update channel for the UI. `capture` turns `mysql` client captures into the same [`Row`]s, so
//! recorded fixtures and live servers go through exactly the same parsing code.
//!
//! Nothing in here draws: no ratatui.

pub mod audit;
pub mod capture;
pub mod check;
pub mod collector;
pub mod config;
pub mod discover;
pub mod flavor;
pub mod gtid;
pub mod report;
pub mod snapshot;
pub mod source;
pub mod status;
pub mod verdict;

pub use audit::{CheckResult, Severity};
pub use config::{ServerConfig, ServerRole, TlsConfig};
pub use flavor::{Flavor, ServerInfo, Version};
pub use snapshot::{ConnState, QueryError, ServerSnapshot};
pub use status::{ChannelStatus, ThreadState};
pub use verdict::{LagThresholds, LiveSeverity, ServerVerdict};

/// One result row, flavor-neutral: column name and value (`None` = SQL NULL), in server order.
pub type Row = Vec<(String, Option<String>)>;

/// Column lookup helpers on a [`Row`]. An absent column and a NULL value both read as `None`.
pub trait RowExt {
    /// The value of the first column named `name` (exact, then ASCII case-insensitive).
    fn get(&self, name: &str) -> Option<&str>;
    /// The first present, non-NULL column among `names` (e.g. new name, then old name).
    fn get_any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }
    /// True when a column with this name exists (even if NULL).
    fn has(&self, name: &str) -> bool;
}

impl RowExt for Row {
    fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k == name)
            .or_else(|| self.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_deref())
    }
    fn has(&self, name: &str) -> bool {
        self.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }
}

/// Build a [`Row`] from string pairs (tests, fixtures, benches). `"NULL"` is not special here.
pub fn row_from<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Row {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect()
}
