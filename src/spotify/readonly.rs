//! Guard for ad-hoc SQL from the editor and `stacktop spotify sql`: only one SELECT / WITH /
//! SHOW / EXPLAIN statement passes. A small lexer skips comments and quoted text per dialect
//! (so `-- DROP` in a comment or `'DELETE'` in a string is fine) and refuses multiple
//! statements, MySQL executable comments (`/*! … */`), `SELECT … INTO OUTFILE/@var`,
//! `FOR UPDATE` / `LOCK IN SHARE MODE`, data-changing CTEs and file-reading functions.
//! The stores additionally run the statement in a read-only transaction / connection.
//!
//! Data flow: editor text → [`check`] → store `run_query`.

use super::schema::Dialect;

/// Why a statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused (read-only explorer): {0}")]
pub struct Refused(pub String);

const ALLOWED_FIRST: [&str; 4] = ["SELECT", "WITH", "SHOW", "EXPLAIN"];

/// Words refused anywhere outside comments and quotes.
const FORBIDDEN: &[&str] = &[
    "INSERT",
    "UPDATE",
    "DELETE",
    "REPLACE",
    "MERGE",
    "UPSERT",
    "CREATE",
    "DROP",
    "ALTER",
    "TRUNCATE",
    "RENAME",
    "GRANT",
    "REVOKE",
    "CALL",
    "DO",
    "HANDLER",
    "LOAD",
    "LOCK",
    "UNLOCK",
    "ATTACH",
    "DETACH",
    "PRAGMA",
    "VACUUM",
    "REINDEX",
    "INTO",
    "OUTFILE",
    "DUMPFILE",
    "SHARE",
    "KILL",
    "SHUTDOWN",
    "FLUSH",
    "RESET",
    "PURGE",
    "INSTALL",
    "UNINSTALL",
    "LOAD_FILE",
    "PREPARE",
    "EXECUTE",
    "DEALLOCATE",
    "BINLOG",
    "CHANGE",
    "START",
    "STOP",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "BEGIN",
    "XA",
    "OPTIMIZE",
    "REPAIR",
    "CHECKSUM",
];

/// Words that are harmless string functions when directly followed by `(`.
const FUNCTION_OK: &[&str] = &["REPLACE", "INSERT"];

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Semi,
    LParen,
    Other,
}

fn lex(sql: &str, dialect: Dialect) -> Result<Vec<Tok>, Refused> {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let mysql = dialect == Dialect::Mysql;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            // MySQL needs whitespace (or end) after `--`; SQLite does not. Where MySQL would
            // read `--x` as two minus signs we lex it as code, which can only be stricter.
            let after = b.get(i + 2).copied();
            if !mysql || after.is_none_or(|a| a.is_ascii_whitespace() || a.is_ascii_control()) {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            } else {
                out.push(Tok::Other);
                i += 1;
            }
        } else if c == b'#' && mysql {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            if mysql && (b.get(i + 2) == Some(&b'!') || sql[i + 2..].starts_with("M!")) {
                return Err(Refused(
                    "MySQL executable comments /*! … */ are not allowed".into(),
                ));
            }
            let end = sql[i + 2..]
                .find("*/")
                .ok_or_else(|| Refused("unterminated /* comment".into()))?;
            i += 2 + end + 2;
        } else if c == b'\'' || c == b'"' || c == b'`' || (c == b'[' && !mysql) {
            let close = if c == b'[' { b']' } else { c };
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(Refused("unterminated quoted text".into())),
                    Some(&x) if x == close => {
                        if close != b']' && b.get(i + 1) == Some(&close) {
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(b'\\') if mysql && close != b'`' => {
                        // Whether `\'` ends the string depends on the server's
                        // NO_BACKSLASH_ESCAPES mode; refuse rather than guess.
                        return Err(Refused(
                            "backslashes inside quoted text are not allowed on MySQL".into(),
                        ));
                    }
                    Some(_) => i += 1,
                }
            }
            out.push(Tok::Other);
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let start = i;
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80)
            {
                i += 1;
            }
            out.push(Tok::Word(sql[start..i].to_ascii_uppercase()));
        } else if c == b';' {
            out.push(Tok::Semi);
            i += 1;
        } else if c == b'(' {
            out.push(Tok::LParen);
            i += 1;
        } else {
            out.push(Tok::Other);
            i += 1;
        }
    }
    Ok(out)
}

/// Accept or refuse one statement. On success returns the statement without trailing `;`.
pub fn check(sql: &str, dialect: Dialect) -> Result<String, Refused> {
    let toks = lex(sql, dialect)?;
    // Trailing semicolons are fine; any other `;` separates statements.
    let last_code = toks.iter().rposition(|t| *t != Tok::Semi);
    let Some(last_code) = last_code else {
        return Err(Refused("empty statement".into()));
    };
    if toks[..=last_code].contains(&Tok::Semi) {
        return Err(Refused("only one statement at a time".into()));
    }
    let first = toks.iter().find(|t| **t != Tok::LParen);
    match first {
        Some(Tok::Word(w)) if ALLOWED_FIRST.contains(&w.as_str()) => {}
        Some(Tok::Word(w)) => {
            return Err(Refused(format!(
                "{w} statements are not allowed; only SELECT, WITH, SHOW and EXPLAIN"
            )))
        }
        _ => {
            return Err(Refused(
                "statement must start with SELECT, WITH, SHOW or EXPLAIN".into(),
            ))
        }
    }
    if dialect == Dialect::Sqlite && matches!(first, Some(Tok::Word(w)) if w == "SHOW") {
        return Err(Refused(
            "SHOW is MySQL-only; use SELECT … FROM sqlite_schema".into(),
        ));
    }
    for (k, t) in toks.iter().enumerate() {
        if let Tok::Word(w) = t {
            if FORBIDDEN.contains(&w.as_str()) {
                let is_call = toks.get(k + 1) == Some(&Tok::LParen);
                if is_call && FUNCTION_OK.contains(&w.as_str()) {
                    continue;
                }
                return Err(Refused(format!("{w} is not allowed in a read-only query")));
            }
        }
    }
    // Strip trailing semicolons (and whatever comments follow them).
    let mut s = sql.trim_end().to_string();
    while s.ends_with(';') {
        s.pop();
        s = s.trim_end().to_string();
    }
    if toks.last() == Some(&Tok::Semi) {
        // A trailing `; -- note` leaves the comment after the `;`: cut at the last `;`.
        if let Some(p) = s.rfind(';') {
            if lex(&s[p + 1..], dialect)
                .map(|t| t.is_empty())
                .unwrap_or(false)
            {
                s.truncate(p);
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dialect::*;

    fn ok(sql: &str, d: Dialect) {
        assert!(
            check(sql, d).is_ok(),
            "should pass on {d:?}: {sql}: {:?}",
            check(sql, d)
        );
    }
    fn no(sql: &str, d: Dialect) {
        assert!(check(sql, d).is_err(), "should be refused on {d:?}: {sql}");
    }

    #[test]
    fn allows_reads() {
        for d in [Sqlite, Mysql] {
            ok("SELECT 1", d);
            ok(
                "  select * from top200 where artist = 'DROP TABLE x; DELETE' ;",
                d,
            );
            ok("WITH t AS (SELECT 1 AS a) SELECT a FROM t", d);
            ok("EXPLAIN SELECT 1", d);
            ok("SELECT REPLACE(track, 'a', 'b') FROM top200", d);
            ok("-- comment: DELETE FROM x;\nSELECT 1", d);
            ok("/* update */ SELECT 1 /* ; */", d);
            ok("(SELECT 1) UNION (SELECT 2)", d);
            ok("SELECT 'it''s' AS x;", d);
        }
        ok("SHOW TABLES", Mysql);
        ok("SELECT 1 # note; DROP", Mysql);
        ok("SELECT [pos] FROM top200", Sqlite);
    }

    #[test]
    fn refuses_writes_and_tricks() {
        for d in [Sqlite, Mysql] {
            no("DELETE FROM top200", d);
            no("SELECT 1; DROP TABLE top200", d);
            no("SELECT 1;; SELECT 2", d);
            no("WITH x AS (SELECT 1) DELETE FROM top200", d);
            no("WITH x AS (SELECT 1) UPDATE top200 SET pos = 1", d);
            no("SELECT * FROM top200 FOR UPDATE", d);
            no("SELECT * INTO OUTFILE '/tmp/x' FROM top200", d);
            no("SELECT * FROM top200 INTO @a", d);
            no("SELECT * FROM top200 LOCK IN SHARE MODE", d);
            no("EXPLAIN ANALYZE DELETE FROM top200", d);
            no("SELECT 'unterminated", d);
            no("/* unterminated SELECT 1", d);
            no("", d);
            no(" ; ", d);
            no("PRAGMA writable_schema = 1", d);
            no("INSERT INTO top200 SELECT * FROM top200", d);
            no("REPLACE INTO top200 VALUES (1)", d);
        }
        no("SELECT LOAD_FILE('/etc/passwd')", Mysql);
        no("SELECT 1 /*! ; DROP TABLE top200 */", Mysql);
        no("SELECT 1 /*M!100000 ; DROP TABLE top200 */", Mysql);
        // `#` is not a comment on MySQL's side of a quote trick
        no("SELECT 'a\\' ; DROP TABLE t; -- '", Mysql);
        // `--x` is not a comment on MySQL: the `;` after it is a second statement
        no("SELECT 1 --1; DROP TABLE t", Mysql);
        no("SHOW TABLES", Sqlite);
        no("ATTACH DATABASE '/tmp/x' AS x", Sqlite);
    }

    #[test]
    fn strips_trailing_semicolon() {
        assert_eq!(check("SELECT 1 ;  ", Sqlite).unwrap(), "SELECT 1");
        assert_eq!(check("SELECT 1; -- done", Mysql).unwrap(), "SELECT 1");
    }
}
