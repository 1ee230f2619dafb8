//! One row of the audit catalogue ([`super::catalogue`]): what a check is (id, title, the
//! servers, flavors and versions it applies to, its worst severity, its fix text, the function
//! that runs it). The check functions take their row (`&Check`) to label their results; the
//! catalogue names the functions — the row type lives here so neither imports the other.

use super::{CheckResult, ServerCheck, Severity};
use crate::repl::flavor::{ServerInfo, Version};
use crate::repl::snapshot::ServerSnapshot;

/// Versions `from ≤ v < until` of one flavor family (`until: None` = no upper bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    pub from: Version,
    pub until: Option<Version>,
}

impl Versions {
    pub fn contains(&self, v: Version) -> bool {
        v >= self.from && self.until.is_none_or(|u| v < u)
    }

    /// Holds at least one version.
    pub fn is_empty(&self) -> bool {
        self.until.is_some_and(|u| u <= self.from)
    }

    fn label(&self) -> String {
        match (self.from == Version::new(0, 0, 0), self.until) {
            (true, None) => "all".into(),
            (true, Some(u)) => format!("< {u}"),
            (false, None) => format!("{}+", self.from),
            (false, Some(u)) => format!("{} – < {u}", self.from),
        }
    }
}

/// The flavors and versions a check applies to; `None` = not on that flavor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applies {
    /// MySQL and Percona Server (one replication code base).
    pub mysql: Option<Versions>,
    pub mariadb: Option<Versions>,
}

const ANY: Versions = Versions {
    from: Version::new(0, 0, 0),
    until: None,
};
/// Every flavor, every version.
pub const ALL: Applies = Applies {
    mysql: Some(ANY),
    mariadb: Some(ANY),
};
pub(super) const MYSQL: Applies = Applies {
    mysql: Some(ANY),
    mariadb: None,
};
pub(super) const MARIADB: Applies = Applies {
    mysql: None,
    mariadb: Some(ANY),
};

impl Applies {
    pub fn contains(&self, info: &ServerInfo) -> bool {
        let range = if info.is_mariadb() {
            self.mariadb
        } else {
            self.mysql
        };
        range.is_some_and(|r| r.contains(info.version))
    }

    /// Applies to at least one version of one flavor.
    pub fn is_empty(&self) -> bool {
        [self.mysql, self.mariadb]
            .iter()
            .all(|r| r.is_none_or(|r| r.is_empty()))
    }

    /// `MySQL 5.7.0+ · MariaDB —`
    pub fn label(&self) -> String {
        let one = |r: Option<Versions>| r.map(|r| r.label()).unwrap_or_else(|| "—".into());
        format!("MySQL {} · MariaDB {}", one(self.mysql), one(self.mariadb))
    }
}

/// Which audited servers a per-server check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Replicas, and servers whose replica status could not be read.
    Replica,
    /// Sources of replication (see `primary::is_primary`).
    Primary,
    /// Replicas and sources.
    Replication,
    /// Every audited server.
    Every,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Replica => "replica",
            Side::Primary => "primary",
            Side::Replication => "replica+primary",
            Side::Every => "every server",
        }
    }
}

/// How a check runs (crate-private: the functions take the audit's private context).
#[derive(Clone, Copy)]
pub(crate) enum Run {
    /// The audit's own precondition (server reachable, variables readable), checked by
    /// `audit::run` before any other row; when it fails no other per-server check runs.
    Precondition,
    /// Over one server's snapshot, on the servers of its side and flavor/version.
    Server(Side, fn(&mut ServerCheck)),
    /// Over all configured servers together; appends to each server's result list.
    Cross(fn(&Check, &[ServerSnapshot], &mut [Vec<CheckResult>])),
}

/// One row of the catalogue.
#[derive(Clone, Copy)]
pub struct Check {
    /// Stable id (`R4`): shown, in JSON, in `--check` output.
    pub id: &'static str,
    pub title: &'static str,
    /// The title on MariaDB, where the check reads other settings under another name.
    pub title_mariadb: Option<&'static str>,
    pub applies: Applies,
    /// The worst severity the check reports.
    pub worst: Severity,
    /// What the fix is: the my.cnf line or SQL (the result carries the exact lines for the
    /// server's flavor and version).
    pub fix: &'static str,
    pub(crate) run: Run,
}

impl Check {
    /// The title results of this check carry on `info`'s flavor.
    pub fn title_for(&self, info: Option<&ServerInfo>) -> &'static str {
        match (self.title_mariadb, info.is_some_and(|i| i.is_mariadb())) {
            (Some(t), true) => t,
            _ => self.title,
        }
    }

    /// A result of this check.
    pub fn result(
        &self,
        s: &ServerSnapshot,
        channel: Option<String>,
        severity: Severity,
        why: String,
        fix: Vec<String>,
    ) -> CheckResult {
        CheckResult {
            id: self.id.into(),
            server: s.name.clone(),
            channel,
            severity,
            title: self.title_for(s.info.as_ref()).into(),
            why,
            fix,
            missing_grant: None,
        }
    }

    /// The side label of the listing: `replica`, `cross-server`, …
    pub fn side_label(&self) -> &'static str {
        match self.run {
            Run::Precondition => "precondition",
            Run::Server(side, _) => side.label(),
            Run::Cross(_) => "cross-server",
        }
    }
}

pub(super) const fn row(
    id: &'static str,
    title: &'static str,
    applies: Applies,
    worst: Severity,
    fix: &'static str,
    run: Run,
) -> Check {
    Check {
        id,
        title,
        title_mariadb: None,
        applies,
        worst,
        fix,
        run,
    }
}

pub(super) const fn mysql_from(v: Version) -> Applies {
    Applies {
        mysql: Some(Versions {
            from: v,
            until: None,
        }),
        mariadb: None,
    }
}

pub(super) const fn mysql_before(v: Version) -> Applies {
    Applies {
        mysql: Some(Versions {
            from: Version::new(0, 0, 0),
            until: Some(v),
        }),
        mariadb: None,
    }
}
