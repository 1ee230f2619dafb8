//! The server-facing check of the SQL editor on MySQL/MariaDB: a second layer that does not
//! trust the `readonly` lexer and shares no code with it. It reads the raw text (strings and
//! comments included, so no quoting trick can hide a word from it) and refuses:
//!
//! - executable comments (`/*!`, `/*M!`), which the server runs as code, and optimizer hints
//!   (`/*+`), which could lift the time limit (`MAX_EXECUTION_TIME`);
//! - `OUTFILE`, `DUMPFILE`, `LOAD_FILE` anywhere;
//! - locking reads: the words `FOR` and `UPDATE`, `FOR` and `SHARE`, or `LOCK` and `SHARE`
//!   in the same text;
//! - a first word (after leading comments and `(`) other than SELECT, WITH, SHOW, EXPLAIN,
//!   DESCRIBE, DESC.
//!
//! It is deliberately blunt: a query whose text merely mentions one of these words (say in a
//! string) is refused too and has to be rephrased. The rest of the second layer is on the
//! server (see `editor.rs`): the statement is prepared (one statement only, whatever the
//! client flags), must return a result set, and runs in a read-only transaction with a time
//! limit and a row limit.
//!
//! Data flow: `editor::EditorConn::run` → [`check`] → prepare on the server.

use crate::spotify::readonly::Refused;

const FIRST_WORDS: &[&str] = &["SELECT", "WITH", "SHOW", "EXPLAIN", "DESCRIBE", "DESC"];
const ANYWHERE: &[&str] = &["OUTFILE", "DUMPFILE", "LOAD_FILE"];
const PAIRS: &[(&str, &str)] = &[("FOR", "UPDATE"), ("FOR", "SHARE"), ("LOCK", "SHARE")];

fn refused(why: &str) -> Refused {
    Refused(format!("{why} (server-side check)"))
}

/// Every word of the raw text, upper-cased: runs of letters, digits, `_` and `$`.
fn words(sql: &str) -> impl Iterator<Item = String> + '_ {
    sql.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
        .map(str::to_uppercase)
}

/// The first word of the statement after leading blanks, comments and `(`.
fn first_word(sql: &str) -> Option<String> {
    let mut s = sql;
    loop {
        s = s.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(rest) = s.strip_prefix("/*") {
            s = rest.split_once("*/")?.1;
        } else if s.starts_with("--") || s.starts_with('#') {
            s = s.split_once('\n')?.1;
        } else {
            break;
        }
    }
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    Some(s[..end].to_uppercase())
}

/// Accept or refuse the raw statement text (see the module docs).
pub fn check(sql: &str) -> Result<(), Refused> {
    if sql.contains("/*!") || sql.to_ascii_uppercase().contains("/*M!") {
        return Err(refused("executable comments /*! … */ are not allowed"));
    }
    if sql.contains("/*+") {
        return Err(refused("optimizer hints /*+ … */ are not allowed"));
    }
    match first_word(sql) {
        Some(w) if FIRST_WORDS.contains(&w.as_str()) => {}
        Some(w) if !w.is_empty() => {
            return Err(refused(&format!(
                "{} statements are not allowed; only SELECT, WITH, SHOW, EXPLAIN and DESCRIBE",
                super::super::csvlimit::clip(&w, 30)
            )))
        }
        _ => {
            return Err(refused(
                "the statement must start with SELECT, WITH, SHOW, EXPLAIN or DESCRIBE",
            ))
        }
    }
    let all: Vec<String> = words(sql).collect();
    let has = |w: &str| all.iter().any(|x| x == w);
    for w in ANYWHERE {
        if has(w) {
            return Err(refused(&format!("{w} is not allowed")));
        }
    }
    for (a, b) in PAIRS {
        if has(a) && has(b) {
            return Err(refused(&format!(
                "locking reads ({a} … {b}) are not allowed"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_plain_reads() {
        for sql in [
            "SELECT 1",
            "  /* note */ (SELECT artist FROM top200) UNION (SELECT 'x')",
            "-- c\nWITH t AS (SELECT 1) SELECT * FROM t",
            "SHOW TABLES",
            "explain select 1",
            "DESC top200",
            "SELECT * FROM top200 WHERE track = 'Into the Unknown'",
        ] {
            assert_eq!(check(sql), Ok(()), "{sql}");
        }
    }

    #[test]
    fn refuses_whatever_the_quoting() {
        for sql in [
            "SELECT 1 INTO OUTFILE '/tmp/x'",
            "SELECT 'a\\' INTO DUMPFILE '/tmp/x' -- '",
            "SELECT `load_file`('/etc/passwd')",
            "SELECT * FROM t FOR/**/UPDATE",
            "SELECT * FROM t LOCK IN SHARE MODE",
            "SELECT * FROM t FOR SHARE",
            "SELECT 1 /*!50000 , LOAD_FILE('/etc/passwd') */",
            "SELECT /*+ MAX_EXECUTION_TIME(100000000) */ SLEEP(1000)",
            "SET GLOBAL max_connections = 1",
            "CREATE TABLE x (a INT)",
            "OPTIMIZE TABLE top200",
            "/* SELECT */ DROP TABLE x",
            "/* unterminated SELECT 1",
            "",
            "((",
        ] {
            assert!(check(sql).is_err(), "should be refused: {sql}");
        }
    }
}
