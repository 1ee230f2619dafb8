//! EXPLAIN (`e`) of another session's query without lending it the operator's rights.
//!
//! Planning runs code: the planner constant-folds IMMUTABLE functions called with constant
//! arguments, so `EXPLAIN <their query>` as the operator runs *their* function as the operator.
//! So EXPLAIN here:
//!
//! 1. accepts only one plain SELECT/INSERT/UPDATE/DELETE/MERGE/VALUES/TABLE/WITH statement, as
//!    decided by the lexer ([`super::stmt::explainable`]): no leading `(` or `ANALYZE` that could
//!    become EXPLAIN options, no second statement; `$n` parameters need `EXPLAIN (GENERIC_PLAN)`
//!    (PostgreSQL 16+);
//! 2. opens its own short-lived connection to the session's database (never the refresh
//!    connection: a lock-waiting EXPLAIN cannot stall refreshes or make the collector join a lock
//!    queue), with the collector's connection options, TLS and password, `statement_timeout`
//!    and `lock_timeout` of a few seconds and a client-side deadline over the whole exchange;
//! 3. runs the plan as the session's role: stacktop's role must be that role or a member of it
//!    (a superuser's query needs a superuser or a member). `SET ROLE` alone is not a boundary —
//!    code running after it can `set_config('role', 'none', …)` back to the session user — so for
//!    another role the EXPLAIN runs inside a temporary `SECURITY DEFINER` function owned by that
//!    role, where the server refuses any change of `role` / `session_authorization`;
//! 4. inside a transaction made read-only before the statement is planned, rolled back.
//!
//! On a standby (no temporary functions) only the operator's own role's queries are explained.

use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::conninfo::ConnSpec;
use super::stmt::{explainable, Explainable};
use super::tls;

/// Time limits of one EXPLAIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExplainLimits {
    /// server side: waiting for a lock while planning
    pub lock_timeout: Duration,
    /// server side: each statement
    pub statement_timeout: Duration,
    /// client side: connect + all statements
    pub overall: Duration,
}

impl Default for ExplainLimits {
    fn default() -> Self {
        ExplainLimits {
            lock_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(4),
            overall: Duration::from_secs(10),
        }
    }
}

/// Runs EXPLAINs on their own connections (cheap to clone; one per collector).
#[derive(Debug, Clone)]
pub struct Explainer {
    spec: ConnSpec,
    application_name: String,
    pub limits: ExplainLimits,
}

/// The temporary wrapper: SECURITY DEFINER (owner = the session's role) makes the server refuse
/// `SET ROLE` / `set_config('role', …)` in anything it runs.
const SANDBOX: &str = "CREATE FUNCTION pg_temp.stacktop_explain(q pg_catalog.text) \
     RETURNS SETOF pg_catalog.text LANGUAGE plpgsql SECURITY DEFINER \
     AS $stacktop$ BEGIN RETURN QUERY EXECUTE q; END $stacktop$";

const PRECHECK: &str = "SELECT session_user::pg_catalog.text, me.rolsuper, r.rolname IS NOT NULL, \
     COALESCE(r.rolsuper, false), \
     COALESCE(pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER'), false), \
     pg_catalog.pg_is_in_recovery(), \
     pg_catalog.current_setting('server_version_num')::pg_catalog.int4 \
     FROM pg_catalog.pg_roles me LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1 \
     WHERE me.rolname = session_user";

/// `"name"` with `"` doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn db_error(e: &tokio_postgres::Error, limits: &ExplainLimits) -> String {
    match e.as_db_error() {
        Some(d) if *d.code() == SqlState::LOCK_NOT_AVAILABLE => format!(
            "EXPLAIN waited {} s for a lock (lock_timeout) and gave up: a table of the query is locked",
            limits.lock_timeout.as_secs_f32()
        ),
        Some(d) if *d.code() == SqlState::QUERY_CANCELED => format!(
            "EXPLAIN took longer than {} s (statement_timeout) and was cancelled",
            limits.statement_timeout.as_secs_f32()
        ),
        Some(d) => format!("EXPLAIN failed: {}", d.message()),
        None => format!("EXPLAIN failed: {}", tls::error_chain(e)),
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Explainer {
    pub fn new(spec: ConnSpec, application_name: &str) -> Self {
        Explainer {
            spec,
            application_name: format!("{application_name} explain"),
            limits: ExplainLimits::default(),
        }
    }

    /// Plain EXPLAIN (never ANALYZE) of `query`, run by `usename` in `datname`. `Err` says why
    /// it was refused or what went wrong. Never waits longer than `limits.overall`.
    pub async fn explain(
        &self,
        query: &str,
        datname: Option<&str>,
        usename: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let stmt = explainable(query)?;
        let db = datname.ok_or("not explained: the session has no database")?;
        let role = usename.ok_or("not explained: the session's role is unknown")?;
        let overall = self.limits.overall;
        match tokio::time::timeout(overall, self.run(&stmt, db, role)).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "EXPLAIN gave no answer within {} s and was abandoned",
                overall.as_secs()
            )),
        }
    }

    async fn run(&self, stmt: &Explainable, db: &str, role: &str) -> Result<Vec<String>, String> {
        let mut spec = self.spec.clone();
        spec.dbname = db.to_string();
        let (client, task) =
            tls::connect(&spec, &self.application_name, self.limits.statement_timeout)
                .await
                .map_err(|e| format!("EXPLAIN connection: {e}"))?;
        // dropping this future (client-side deadline) closes the connection
        let _task = AbortOnDrop(task);
        let r = self.plan(&client, stmt, role).await;
        let _ = client.batch_execute("ROLLBACK").await;
        r
    }

    async fn plan(
        &self,
        client: &Client,
        stmt: &Explainable,
        role: &str,
    ) -> Result<Vec<String>, String> {
        let l = &self.limits;
        let row = client
            .query_one(PRECHECK, &[&role])
            .await
            .map_err(|e| db_error(&e, l))?;
        let me: String = row.get(0);
        let (me_super, exists, role_super, member): (bool, bool, bool, bool) =
            (row.get(1), row.get(2), row.get(3), row.get(4));
        let (standby, version): (bool, i32) = (row.get(5), row.get(6));
        if !exists {
            return Err(format!("not explained: role {role:?} no longer exists"));
        }
        if role_super && !me_super && !member {
            return Err(format!(
                "not explained: {role:?} is a superuser and stacktop's role {me:?} is neither a \
                 superuser nor a member of it"
            ));
        }
        if !member {
            return Err(format!(
                "not explained: stacktop's role {me:?} is not a member of {role:?}; EXPLAIN runs \
                 only with the rights of the query's author (GRANT {} TO {} allows it)",
                quote_ident(role),
                quote_ident(&me)
            ));
        }
        if stmt.has_params && version < 160000 {
            return Err(
                "not explained: it has parameters ($n); needs PostgreSQL 16 \
                        (EXPLAIN (GENERIC_PLAN))"
                    .into(),
            );
        }
        let sandbox = role != me;
        if sandbox && standby {
            return Err(format!(
                "not explained: on a standby stacktop cannot create the temporary function that \
                 confines {role:?}'s code to {role:?}'s rights; only queries of {me:?} are \
                 explained here"
            ));
        }
        let text = format!(
            "EXPLAIN {}{}",
            if stmt.has_params {
                "(GENERIC_PLAN) "
            } else {
                ""
            },
            stmt.statement
        );
        let mut setup = format!(
            "BEGIN; SET LOCAL lock_timeout = {}; SET LOCAL standard_conforming_strings = on; ",
            l.lock_timeout.as_millis().max(1)
        );
        if sandbox {
            let q = quote_ident(role);
            setup.push_str(&format!(
                "{SANDBOX}; ALTER FUNCTION pg_temp.stacktop_explain(pg_catalog.text) OWNER TO {q}; \
                 SET LOCAL ROLE {q}; "
            ));
        }
        setup.push_str("SET LOCAL transaction_read_only = on");
        client.batch_execute(&setup).await.map_err(|e| {
            let m = db_error(&e, l);
            if sandbox {
                format!("{m} (setting up the sandbox as {role:?})")
            } else {
                m
            }
        })?;
        let lines: Vec<String> = if sandbox {
            client
                .query("SELECT * FROM pg_temp.stacktop_explain($1)", &[&text])
                .await
                .map_err(|e| db_error(&e, l))?
                .iter()
                .map(|r| r.get(0))
                .collect()
        } else if stmt.has_params {
            // parameters stay unbound for GENERIC_PLAN: the simple protocol; the lexer has
            // checked that this is one statement, and the server lexes it the same way
            // (standard_conforming_strings on)
            client
                .simple_query(&text)
                .await
                .map_err(|e| db_error(&e, l))?
                .iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                    _ => None,
                })
                .collect()
        } else {
            // extended protocol: one statement only
            client
                .query(&text, &[])
                .await
                .map_err(|e| db_error(&e, l))?
                .iter()
                .map(|r| r.get(0))
                .collect()
        };
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("app"), "\"app\"");
        assert_eq!(
            quote_ident("x\"; RESET ROLE; --"),
            "\"x\"\"; RESET ROLE; --\""
        );
    }
}
