//! What a query text from `pg_stat_activity` is, decided by the [`sqllex`](super::sqllex) lexer
//! (never by asking the server, and never by substring search):
//!
//! - [`is_read_only_statement`]: may `K` with `only_select` treat it as a harmless read? Only a
//!   single SELECT / VALUES / TABLE / WITH / SHOW that cannot write or lock rows: no `INTO`, no
//!   `FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE`, no data-modifying CTE, and no call of a
//!   function outside [`SAFE_FUNCTIONS`] (`pg_terminate_backend(…)`, `nextval(…)`,
//!   `set_config(…)`, `lo_export(…)`, `dblink(…)` or any user function make it not a SELECT).
//!   When unsure (an unterminated literal, a string whose end depends on
//!   `standard_conforming_strings`, several statements), it is not a SELECT.
//! - [`explainable`]: may EXPLAIN run it? Only one plain SELECT / INSERT / UPDATE / DELETE /
//!   MERGE / VALUES / TABLE / WITH statement; nothing that could add EXPLAIN options (a leading
//!   `(`, `ANALYZE`, a comment before them), no second statement.

use super::sqllex::{lex, Kind, Token};

/// Built-in functions that only read and take no locks beyond what the query already takes.
/// Matched on the unquoted (case-folded) name, unqualified or `pg_catalog.`-qualified.
#[rustfmt::skip]
pub const SAFE_FUNCTIONS: &[&str] = &[
    // aggregates and window functions
    "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "json_agg", "jsonb_agg",
    "json_object_agg", "jsonb_object_agg", "bool_and", "bool_or", "every", "stddev", "stddev_pop",
    "stddev_samp", "variance", "var_pop", "var_samp", "percentile_cont", "percentile_disc", "mode",
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
    // conditionals and comparisons
    "coalesce", "nullif", "greatest", "least",
    // time
    "now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday",
    "date_trunc", "date_part", "extract", "age", "to_char", "to_date", "to_timestamp", "to_number",
    "make_date", "make_time", "make_timestamp", "make_timestamptz", "make_interval",
    "justify_days", "justify_hours", "justify_interval", "isfinite", "date_bin",
    // strings
    "lower", "upper", "initcap", "length", "char_length", "character_length", "octet_length",
    "bit_length", "substr", "substring", "position", "strpos", "trim", "btrim", "ltrim", "rtrim",
    "replace", "translate", "concat", "concat_ws", "left", "right", "lpad", "rpad", "split_part",
    "repeat", "reverse", "starts_with", "md5", "encode", "decode", "format", "quote_ident",
    "quote_literal", "quote_nullable", "regexp_replace", "regexp_match", "regexp_matches",
    "regexp_split_to_array", "regexp_split_to_table", "overlay", "ascii", "chr", "to_hex",
    "string_to_array", "array_to_string",
    // numbers
    "abs", "round", "trunc", "floor", "ceil", "ceiling", "mod", "power", "sqrt", "cbrt", "exp",
    "ln", "log", "log10", "sign", "div", "width_bucket", "random",
    // arrays, rows, json
    "array_length", "array_lower", "array_upper", "cardinality", "array_position",
    "array_positions", "array_remove", "array_append", "array_prepend", "array_cat", "unnest",
    "generate_series", "generate_subscripts", "row", "to_json", "to_jsonb", "json_build_object",
    "jsonb_build_object", "json_build_array", "jsonb_build_array", "jsonb_extract_path",
    "jsonb_extract_path_text", "json_extract_path", "json_extract_path_text",
    "jsonb_array_elements", "jsonb_array_elements_text", "json_array_elements", "jsonb_each",
    "jsonb_each_text", "json_each", "jsonb_object_keys", "jsonb_typeof", "jsonb_array_length",
    "jsonb_set", "jsonb_strip_nulls", "jsonb_pretty", "row_to_json",
    // harmless session/server information
    "pg_sleep", "version", "current_setting", "pg_backend_pid", "pg_postmaster_start_time",
    "pg_size_pretty", "pg_relation_size", "pg_total_relation_size", "pg_table_size",
    "pg_indexes_size", "pg_database_size", "pg_is_in_recovery", "pg_typeof", "format_type",
    "has_table_privilege", "inet_server_addr", "inet_client_addr",
];

/// Keywords that are followed by `(` without being a function call (subqueries, lists, type
/// modifiers, SQL-syntax functions handled like keywords).
#[rustfmt::skip]
const PAREN_KEYWORDS: &[&str] = &[
    "select", "from", "join", "lateral", "where", "and", "or", "not", "in", "exists", "any",
    "some", "all", "as", "on", "using", "values", "union", "intersect", "except", "over", "filter",
    "within", "partition", "by", "having", "limit", "offset", "fetch", "then", "else", "when",
    "case", "between", "like", "ilike", "similar", "escape", "is", "distinct", "materialized",
    "array", "cast", "with", "recursive", "returning", "set", "zone", "rows", "range", "groups",
    "preceding", "following", "order", "group", "window", "into", "only",
    // types with modifiers
    "numeric", "decimal", "varchar", "char", "character", "varying", "bit", "varbit", "time",
    "timestamp", "timestamptz", "interval", "float",
];

/// Keywords that, anywhere in a statement, make it possibly writing (or not a query at all).
#[rustfmt::skip]
const WRITE_KEYWORDS: &[&str] = &[
    "insert", "update", "delete", "merge", "into", "copy", "call", "do", "execute", "create",
    "alter", "drop", "truncate", "grant", "revoke", "lock", "notify", "listen", "vacuum",
    "analyze", "analyse", "cluster", "reindex", "refresh", "prepare", "nextval", "setval",
];

/// Why a text is refused by [`check_single`], or its tokens without a trailing `;`.
fn check_single(sql: &str) -> Result<(Vec<Token>, usize), String> {
    let all: Vec<Token> = lex(sql).collect();
    if let Some(t) = all.iter().find(|t| t.unterminated) {
        return Err(format!(
            "it has an unterminated {} (the text may be truncated: track_activity_query_size)",
            match t.kind {
                Kind::LineComment | Kind::BlockComment => "comment",
                Kind::QuotedIdent => "quoted identifier",
                _ => "literal",
            }
        ));
    }
    let mut toks: Vec<Token> = all.into_iter().filter(|t| !t.is_trivia()).collect();
    let mut end = sql.len();
    if toks.last().is_some_and(|t| t.kind == Kind::Semicolon) {
        end = toks.pop().map_or(end, |t| t.start);
    }
    if toks.iter().any(|t| t.kind == Kind::Semicolon) {
        return Err("it holds more than one statement".into());
    }
    if toks.is_empty() {
        return Err("it is empty".into());
    }
    Ok((toks, end))
}

/// True for statements that only read and lock no rows (see the module docs). Conservative.
pub fn is_read_only_statement(sql: &str) -> bool {
    let Ok((toks, _)) = check_single(sql) else {
        return false;
    };
    if toks.iter().any(|t| t.ambiguous) {
        return false;
    }
    let first = toks.iter().find(|t| t.kind != Kind::LParen);
    let Some(first) = first else { return false };
    let kw = first.text(sql).to_ascii_lowercase();
    if first.kind != Kind::Ident
        || !matches!(kw.as_str(), "select" | "values" | "table" | "with" | "show")
    {
        return false;
    }
    let lower = |t: &Token| t.text(sql).to_ascii_lowercase();
    for (i, t) in toks.iter().enumerate() {
        if t.kind == Kind::Ident {
            let w = lower(t);
            if WRITE_KEYWORDS.contains(&w.as_str()) {
                return false;
            }
            // FOR UPDATE / FOR NO KEY UPDATE / FOR SHARE / FOR KEY SHARE
            if w == "for"
                && toks.get(i + 1).is_some_and(|n| {
                    ["update", "share", "no", "key"]
                        .iter()
                        .any(|k| n.is_keyword(sql, k))
                })
            {
                return false;
            }
        }
        if t.kind == Kind::LParen && i > 0 && !call_is_safe(sql, &toks, i - 1) {
            return false;
        }
    }
    true
}

/// Is `toks[name]` (just before a `(`) a keyword or an allow-listed built-in?
fn call_is_safe(sql: &str, toks: &[Token], name: usize) -> bool {
    let t = &toks[name];
    let qualified = name >= 2 && toks[name - 1].kind == Kind::Dot;
    match t.kind {
        Kind::Ident => {
            let w = t.text(sql).to_ascii_lowercase();
            if qualified {
                toks[name - 2].is_keyword(sql, "pg_catalog") && SAFE_FUNCTIONS.contains(&w.as_str())
            } else {
                PAREN_KEYWORDS.contains(&w.as_str()) || SAFE_FUNCTIONS.contains(&w.as_str())
            }
        }
        // a quoted name is exactly what it says: "count"(x) is count, "Count"(x) is not
        Kind::QuotedIdent => {
            let inner = t.text(sql).trim_matches('"');
            !qualified && SAFE_FUNCTIONS.contains(&inner)
        }
        // `((`, `= (`, `, (`, `[ (`: a parenthesised expression or subquery
        Kind::LParen | Kind::Other | Kind::Semicolon => true,
        // `1 (`, `'x' (`, `$1 (`, `) (`: not valid SQL calls; be conservative
        _ => false,
    }
}

/// A statement [`explainable`] accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explainable {
    /// the statement without a trailing `;` (and what follows it)
    pub statement: String,
    /// it uses `$n` parameters (needs `EXPLAIN (GENERIC_PLAN)`, PostgreSQL 16+)
    pub has_params: bool,
}

/// The statements EXPLAIN accepts (first keyword).
#[rustfmt::skip]
pub const EXPLAINABLE: &[&str] = &[
    "select", "insert", "update", "delete", "merge", "values", "table", "with",
];

/// May EXPLAIN run this text? `Err` says why not.
pub fn explainable(sql: &str) -> Result<Explainable, String> {
    let (toks, end) = check_single(sql).map_err(|e| format!("not explained: {e}"))?;
    let first = &toks[0];
    if first.kind == Kind::LParen {
        return Err("not explained: it starts with '(' (could add EXPLAIN options)".into());
    }
    let kw = first.text(sql).to_ascii_lowercase();
    if first.kind != Kind::Ident || !EXPLAINABLE.contains(&kw.as_str()) {
        let shown: String = first.text(sql).chars().take(20).collect();
        return Err(format!(
            "not explained: only a single SELECT/INSERT/UPDATE/DELETE/MERGE/VALUES/TABLE/WITH \
             statement is, this one starts with {shown:?}"
        ));
    }
    let has_params = toks.iter().any(|t| t.kind == Kind::Param);
    Ok(Explainable {
        statement: sql[..end].trim().to_string(),
        has_params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_statements() {
        for q in [
            "  /* x */ SELECT 1",
            "-- c\n(select 1)",
            "WITH a AS (SELECT 1) SELECT * FROM a",
            "select pg_sleep(60)",
            "select count(*), coalesce(max(x), 0) from t where y in (select z from u)",
            "SELECT pg_catalog.now(), \"count\"(1) FROM t;",
            "values (1), (2)",
            "table t",
            "show work_mem",
            "select 'insert into x' as q, $$ for update $$ from t -- delete\n",
            "select * from t where a = any ($1) order by (b) limit (3)",
            "select substring(x for 2), extract(epoch from now()) from t",
            "select x::numeric(10,2), cast(y as varchar(3)) from t",
        ] {
            assert!(is_read_only_statement(q), "{q}");
        }
    }

    #[test]
    fn statements_that_write_lock_or_call_unknown_functions() {
        for q in [
            "select * into t2 from t",
            "SELECT * FROM t FOR UPDATE",
            "select * from t for no key update",
            "select * from t for share",
            "select * from t FOR KEY SHARE skip locked",
            "select pg_terminate_backend(pid) from pg_stat_activity",
            "select pg_catalog.pg_terminate_backend(42)",
            "select \"pg_terminate_backend\"(42)",
            "select nextval('s')",
            "select set_config('role', 'x', false)",
            "select pg_advisory_lock(1)",
            "select lo_export(1, '/tmp/x')",
            "select * from dblink('host=x', 'delete from t') as t(a int)",
            "select my_func(1)",
            "select public.count(1)",
            "select \"Count\"(1)",
            "WITH a AS (DELETE FROM t RETURNING *) SELECT * FROM a",
            "with a as (insert into t values (1) returning *) select * from a",
            "UPDATE t SET x = 1",
            "vacuum full",
            "select 1; delete from t",
            "select 'unterminated",
            "select 'a\\', pg_terminate_backend(1) --'",
            "explain analyze delete from t",
            "(((",
            "",
            "select 1 /* open",
        ] {
            assert!(!is_read_only_statement(q), "{q}");
        }
    }

    #[test]
    fn explainable_statements() {
        let e = explainable("/* app */ SELECT * FROM t WHERE a = 'x;y' ;  -- done").unwrap();
        assert_eq!(e.statement, "/* app */ SELECT * FROM t WHERE a = 'x;y'");
        assert!(!e.has_params);
        let e = explainable("update t set a = $1 where b = $2").unwrap();
        assert!(e.has_params);
        assert!(!explainable("select '$1', $$ $2 $$").unwrap().has_params);
        for q in [
            "insert into t values (1)",
            "delete from t",
            "merge into t using u on true when matched then do nothing",
            "values (1)",
            "table t",
            "with a as (select 1) select * from a",
        ] {
            assert!(explainable(q).is_ok(), "{q}");
        }
    }

    #[test]
    fn explain_refusals() {
        for (q, why) in [
            ("(ANALYZE) SELECT 1", "starts with '('"),
            ("(analyze, buffers) delete from t", "starts with '('"),
            ("/**/ANALYZE select 1", "starts with \"ANALYZE\""),
            ("analyse select 1", "starts with \"analyse\""),
            ("ANALYZE VERBOSE t", "starts with"),
            ("verbose select 1", "starts with"),
            ("explain select 1", "starts with"),
            ("select 1; select 2", "more than one statement"),
            ("select 1;;", "more than one statement"),
            ("select 1; -- x\n drop table t", "more than one statement"),
            ("select 'x", "unterminated literal"),
            ("select 1 /* x", "unterminated comment"),
            ("   ", "empty"),
            ("-- only a comment", "empty"),
            ("vacuum", "starts with"),
            ("\"select\" 1", "starts with"),
            ("COPY t TO '/tmp/x'", "starts with"),
            ("$$x$$ select 1", "starts with"),
        ] {
            let e = explainable(q).expect_err(q);
            assert!(e.contains(why), "{q}: {e}");
        }
    }
}
