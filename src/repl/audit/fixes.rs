//! Fix text of the audit, kept apart by language: a check's `fix` lines mix my.cnf lines
//! (a `[mysqld]` / `[mariadbd]` section header, then `key = value` lines and `#` comments)
//! and SQL (`SET GLOBAL`, `CHANGE MASTER`, `GRANT`, `--` comments). [`split`] tells them apart
//! and [`grouped`] renders what `y` copies: one SQL block (each statement under a `--`
//! comment naming its check) then one my.cnf block (one section header, each check's lines
//! under a `#` comment), so nothing pasted into the `mysql` client is a my.cnf line and
//! nothing pasted into my.cnf is SQL. Pure text; no I/O.

use super::{CheckResult, Severity};

/// One check's fix, by language. `cnf_section` is the section header (`[mariadbd]`) when
/// there are my.cnf lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixParts {
    pub sql: Vec<String>,
    pub cnf_section: Option<String>,
    pub cnf: Vec<String>,
}

fn is_section(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('[') && t.ends_with(']') && t.len() > 2
}

/// A line that is SQL (or an SQL comment) even right after my.cnf lines.
fn is_sql(line: &str) -> bool {
    let t = line.trim();
    t.ends_with(';') || t.starts_with("--")
}

/// Splits a check's fix lines: after a section header, lines are my.cnf until an SQL
/// statement or `--` comment; every other line is SQL.
pub fn split(fix: &[String]) -> FixParts {
    let mut p = FixParts::default();
    let mut in_cnf = false;
    for l in fix {
        if is_section(l) {
            in_cnf = true;
            p.cnf_section.get_or_insert_with(|| l.trim().to_string());
        } else if in_cnf && !is_sql(l) {
            p.cnf.push(l.clone());
        } else {
            in_cnf = false;
            p.sql.push(l.clone());
        }
    }
    p
}

/// The copy text for `checks`: the SQL block first, then the my.cnf block, each with a
/// header comment; a check appears in a block only with lines of that language.
pub fn grouped(checks: &[&CheckResult]) -> Vec<String> {
    let parts: Vec<(&CheckResult, FixParts)> = checks.iter().map(|c| (*c, split(&c.fix))).collect();
    let mut out = Vec::new();
    if parts.iter().any(|(_, p)| !p.sql.is_empty()) {
        out.push("-- SQL: run in the mysql client".to_string());
        for (c, p) in parts.iter().filter(|(_, p)| !p.sql.is_empty()) {
            out.push(format!("-- {} {}: {}", c.id, c.title, one_line(&c.why)));
            out.extend(p.sql.iter().cloned());
        }
    }
    if parts.iter().any(|(_, p)| !p.cnf.is_empty()) {
        if !out.is_empty() {
            out.push(String::new());
        }
        out.push("# my.cnf: add to the server's option file (a restart applies it)".to_string());
        let mut section: Option<&str> = None;
        for (c, p) in parts.iter().filter(|(_, p)| !p.cnf.is_empty()) {
            let sec = p.cnf_section.as_deref().unwrap_or("[mysqld]");
            if section != Some(sec) {
                out.push(sec.to_string());
                section = Some(sec);
            }
            out.push(format!("# {} {}: {}", c.id, c.title, one_line(&c.why)));
            out.extend(p.cnf.iter().cloned());
        }
    }
    out
}

/// Server text in a comment stays on one line (a newline would end the comment).
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// The grouped fix lines of all WARN / CRIT results of one server (the `y` copy key).
pub fn for_server(results: &[CheckResult], server: &str) -> Vec<String> {
    let picked: Vec<&CheckResult> = results
        .iter()
        .filter(|r| r.server == server && r.severity >= Severity::Warn && !r.fix.is_empty())
        .collect();
    grouped(&picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, fix: &[&str]) -> CheckResult {
        CheckResult {
            id: id.into(),
            server: "s".into(),
            channel: None,
            severity: Severity::Warn,
            title: format!("title {id}"),
            why: format!("why {id}\nsecond"),
            fix: fix.iter().map(|s| s.to_string()).collect(),
            missing_grant: None,
        }
    }

    #[test]
    fn cnf_lines_and_sql_are_split() {
        let p = split(&[
            "[mariadbd]".into(),
            "sync_binlog = 1".into(),
            "# restart required".into(),
            "SET GLOBAL sync_binlog = 1;".into(),
        ]);
        assert_eq!(p.cnf_section.as_deref(), Some("[mariadbd]"));
        assert_eq!(p.cnf, vec!["sync_binlog = 1", "# restart required"]);
        assert_eq!(p.sql, vec!["SET GLOBAL sync_binlog = 1;"]);
        let p = split(&["STOP SLAVE;".into(), "-- then re-seed".into()]);
        assert!(p.cnf.is_empty() && p.cnf_section.is_none());
        assert_eq!(p.sql.len(), 2);
    }

    #[test]
    fn grouped_puts_all_sql_first_then_one_cnf_block() {
        let a = check(
            "P2",
            &[
                "[mariadbd]",
                "sync_binlog = 1",
                "SET GLOBAL sync_binlog = 1;",
            ],
        );
        let b = check("R3", &["STOP SLAVE;", "START SLAVE;"]);
        let c = check("R4", &["[mariadbd]", "relay_log_recovery = ON"]);
        let out = grouped(&[&a, &b, &c]);
        let text = out.join("\n");
        assert_eq!(
            text,
            "-- SQL: run in the mysql client\n\
             -- P2 title P2: why P2 second\n\
             SET GLOBAL sync_binlog = 1;\n\
             -- R3 title R3: why R3 second\n\
             STOP SLAVE;\n\
             START SLAVE;\n\
             \n\
             # my.cnf: add to the server's option file (a restart applies it)\n\
             [mariadbd]\n\
             # P2 title P2: why P2 second\n\
             sync_binlog = 1\n\
             # R4 title R4: why R4 second\n\
             relay_log_recovery = ON"
        );
        // the SQL block holds no my.cnf line, the my.cnf block no statement
        let blank = out.iter().position(String::is_empty).unwrap();
        assert!(out[..blank]
            .iter()
            .all(|l| l.ends_with(';') || l.starts_with("--")));
        assert!(out[blank + 1..].iter().all(|l| !l.ends_with(';')));
        // only my.cnf: no SQL header
        let only = grouped(&[&c]);
        assert_eq!(
            only[0],
            "# my.cnf: add to the server's option file (a restart applies it)"
        );
    }
}
