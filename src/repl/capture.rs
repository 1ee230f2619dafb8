//! Turn `mysql` command-line client output (captures, fixtures) into generic [`Row`]s: the
//! vertical `\G` format and the tab-separated batch format, inside `===== title =====`
//! sections. Feeds the same `snapshot::build` as the live collector.
//! `NULL` text is read as SQL NULL.

use super::flavor::{detect, ServerInfo};
use super::snapshot::{QueryError, RawRefresh};
use super::{Row, RowExt};

/// Split a capture into `(title, body)` sections at `===== title =====` lines.
pub fn sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.len() > 10 && t.starts_with("=====") && t.ends_with("=====") {
            let title = t.trim_matches('=').trim().to_string();
            out.push((title, String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// The body of the first section whose title contains `needle`.
pub fn section<'a>(secs: &'a [(String, String)], needle: &str) -> Option<&'a str> {
    secs.iter()
        .find(|(t, _)| t.contains(needle))
        .map(|(_, b)| b.as_str())
}

fn value(v: &str) -> Option<String> {
    if v == "NULL" {
        None
    } else {
        Some(v.to_string())
    }
}

/// Parse vertical (`\G`) output. Rows start at `*** N. row ***` markers; captures that list
/// several rows without markers start a new row when a column name repeats. Lines without
/// `Name: ` (continuations of multi-line values such as GTID sets) extend the previous value.
pub fn parse_vertical(body: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    let mut cur: Row = Vec::new();
    for line in body.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with("***") && line.contains("row") {
            if !cur.is_empty() {
                rows.push(std::mem::take(&mut cur));
            }
            continue;
        }
        // A value ending in ',' (GTID set) continues on the next line.
        let continues = matches!(cur.last(), Some((_, Some(prev))) if prev.ends_with(','));
        let parsed = line
            .split_once(':')
            .filter(|_| !continues)
            .and_then(|(k, v)| {
                let k = k.trim();
                let ok = !k.is_empty()
                    && k.chars().all(|c| {
                        c.is_ascii_alphanumeric() || c == '_' || c == '(' || c == ')' || c == ' '
                    })
                    && !k.contains(' ');
                ok.then(|| (k.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()))
            });
        match parsed {
            Some((k, v)) => {
                if cur.iter().any(|(n, _)| *n == k) {
                    rows.push(std::mem::take(&mut cur));
                }
                cur.push((k, value(&v)));
            }
            None => {
                if let Some((_, Some(prev))) = cur.last_mut() {
                    prev.push('\n');
                    prev.push_str(line.trim());
                }
            }
        }
    }
    if !cur.is_empty() {
        rows.push(cur);
    }
    rows
}

/// Parse tab-separated batch output whose first line is the header.
pub fn parse_tabular(body: &str) -> Vec<Row> {
    let mut lines = body.lines().filter(|l| !l.is_empty());
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = header.split('\t').collect();
    lines
        .map(|l| {
            let vals: Vec<&str> = l.split('\t').collect();
            cols.iter()
                .enumerate()
                .map(|(i, c)| (c.to_string(), vals.get(i).and_then(|v| value(v))))
                .collect()
        })
        .collect()
}

/// Build the raw rows of one refresh from a fixture in the standard layout: sections
/// `version` (tabular `@@version`, `@@version_comment`), the status statement (vertical;
/// title starts with `SHOW` and ends with `STATUS`), `SHOW GLOBAL VARIABLES`,
/// `SHOW GLOBAL STATUS`, `engines`, `probes` (`table`, `errno`, `message`; errno 0 = readable),
/// `SHOW BINARY LOGS`, `BINLOG_GTID_POS`, `SHOW REPLICAS` / `SHOW SLAVE HOSTS`, and
/// `error: <section>` (`code<TAB>message`) to make a query fail.
pub fn fixture_refresh(text: &str) -> Result<(ServerInfo, RawRefresh), String> {
    let secs = sections(text);
    let ver = parse_tabular(section(&secs, "version").ok_or("fixture has no version section")?);
    let first = ver.first().ok_or("version section is empty")?;
    let info = detect(
        first.get("@@version").unwrap_or(""),
        first.get("@@version_comment").unwrap_or(""),
    )
    .map_err(|e| e.to_string())?;
    let err_for = |name: &str| -> Option<QueryError> {
        let body = section(&secs, &format!("error: {name}"))?;
        let line = body.lines().find(|l| !l.trim().is_empty())?;
        let (code, msg) = line.split_once('\t').unwrap_or((line, ""));
        Some(QueryError::new(code.trim().parse().ok(), msg))
    };
    let rows = |title: &str, vertical: bool| -> Result<Vec<Row>, QueryError> {
        if let Some(e) = err_for(title) {
            return Err(e);
        }
        let body = secs
            .iter()
            .find(|(t, _)| t == title)
            .map(|(_, b)| b.as_str())
            .unwrap_or("");
        Ok(if vertical {
            parse_vertical(body)
        } else {
            parse_tabular(body)
        })
    };
    let status_title = secs
        .iter()
        .map(|(t, _)| t.as_str())
        .find(|t| t.starts_with("SHOW") && t.ends_with("STATUS") && !t.contains("GLOBAL"))
        .unwrap_or("status");
    let mut raw = RawRefresh::empty();
    raw.status = rows(status_title, true);
    raw.variables = rows("SHOW GLOBAL VARIABLES", false);
    raw.status_vars = rows("SHOW GLOBAL STATUS", false);
    raw.engines = rows("engines", false);
    if let Some(body) = section(&secs, "probes") {
        for r in parse_tabular(body) {
            let Some(t) = r.get("table") else { continue };
            let code: u16 = r.get("errno").and_then(|c| c.parse().ok()).unwrap_or(0);
            let res = if code == 0 {
                Ok(())
            } else {
                Err(QueryError::new(Some(code), r.get("message").unwrap_or("")))
            };
            raw.table_probes.push((t.to_string(), res));
        }
    }
    if secs.iter().any(|(t, _)| t == "SHOW BINARY LOGS") || err_for("SHOW BINARY LOGS").is_some() {
        raw.binlogs = Some(rows("SHOW BINARY LOGS", false));
    }
    if let Some(body) = section(&secs, "BINLOG_GTID_POS") {
        raw.binlog_gtid_pos = Some(Ok(Some(body.trim().to_string())));
    }
    for t in ["SHOW REPLICAS", "SHOW SLAVE HOSTS"] {
        if secs.iter().any(|(s, _)| s == t) {
            raw.replica_hosts = Some(rows(t, false));
        }
    }
    Ok((info, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertical_with_and_without_markers() {
        let with = "*************************** 1. row ***************************\n  A: 1\n  B: NULL\n*************************** 2. row ***************************\n  A: 2\n  B: \n";
        let rows = parse_vertical(with);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("B"), None);
        assert!(rows[0].has("B"));
        assert_eq!(rows[1].get("B"), Some(""));
        let without = "   Connection_name: \n  X: a: b\n   Connection_name: src2\n  X: c\n";
        let rows = parse_vertical(without);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("X"), Some("a: b"));
        assert_eq!(rows[1].get("Connection_name"), Some("src2"));
    }

    #[test]
    fn gtid_continuation_lines_join() {
        let v = " Executed_Gtid_Set: aaa:1-5,\nbbb:1-3\n Auto_Position: 1\n";
        let rows = parse_vertical(v);
        assert_eq!(rows[0].get("Executed_Gtid_Set"), Some("aaa:1-5,\nbbb:1-3"));
        assert_eq!(rows[0].get("Auto_Position"), Some("1"));
    }

    #[test]
    fn tabular_and_sections() {
        let t = "x\n===== vars =====\nVariable_name\tValue\nlog_bin\tON\nsync_binlog\t0\n===== other =====\n";
        let s = sections(t);
        assert_eq!(s.len(), 2);
        let rows = parse_tabular(section(&s, "vars").unwrap());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].get("Value"), Some("0"));
    }
}
