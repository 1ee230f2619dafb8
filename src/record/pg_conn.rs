//! The PostgreSQL store's connection ([`super::pg_store`] writes through it, [`super::pg_reader`]
//! reads): libpq's conninfo resolved as pgtop resolves its own, a one-thread runtime of its own
//! (the store's callers are threads, not tasks), every call bounded by [`CALL_TIMEOUT`], and
//! messages that name the server without any secret of the target.

use std::future::Future;
use std::time::Duration;

use tokio_postgres::Client;

use crate::pg::conninfo::{self, ConnOverrides, ConnSpec, Env};

/// Upper bound of every call to the server (the connect step has libpq's `connect_timeout`,
/// default [`CONNECT_TIMEOUT`], doubled by [`crate::pg::tls::connect`]).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// `connect_timeout` when the target gives none.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
pub(super) const APP_NAME: &str = "stacktop recorder";

const SCHEMA: &str = "
    CREATE SCHEMA IF NOT EXISTS stacktop;
    CREATE TABLE IF NOT EXISTS stacktop.recordings(
        id bigserial PRIMARY KEY,
        label text NOT NULL,
        host text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        format text NOT NULL);
    CREATE TABLE IF NOT EXISTS stacktop.records(
        recording bigint NOT NULL,
        id bigint NOT NULL,
        ts_ms bigint NOT NULL,
        view text NOT NULL,
        kind text NOT NULL,
        keyframe boolean NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (recording, id));
    CREATE INDEX IF NOT EXISTS records_ts ON stacktop.records(recording, ts_ms);
    CREATE INDEX IF NOT EXISTS records_key ON stacktop.records(recording, kind, ts_ms)
        WHERE keyframe;
    CREATE INDEX IF NOT EXISTS records_age ON stacktop.records(ts_ms);";

/// An environment without libpq variables, home directory (`.pgpass`, service file) or OS
/// user: only the target itself counts (tests, whose own environment must not leak in).
pub fn bare_env() -> Env {
    Env {
        vars: Box::new(|_| None),
        home: None,
        os_user: Some("stacktop".into()),
    }
}

pub(super) fn resolve(uri: &str, env: &Env) -> Result<ConnSpec, String> {
    let mut spec = conninfo::resolve(Some(uri), &ConnOverrides::default(), env)
        .map_err(|e| format!("recording {}: {e}", crate::mask::conninfo(uri)))?;
    spec.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
    Ok(spec)
}

/// `host:port/dbname` of a PostgreSQL target, or the URI masked when it does not parse.
pub fn display_target(uri: &str) -> String {
    match resolve(uri, &Env::system()) {
        Ok(spec) => format!("postgres {}", conninfo::server_label(&spec)),
        Err(_) => crate::mask::conninfo(uri),
    }
}

/// A connection and the runtime its calls run on.
pub(super) struct Conn {
    /// `None` only while dropping (see the `Drop` below)
    rt: Option<tokio::runtime::Runtime>,
    pub(super) spec: ConnSpec,
    pub(super) uri: String,
    /// `postgres host:port/dbname`, for messages
    pub(super) name: String,
    pub(super) client: Option<Client>,
}

impl Conn {
    pub(super) fn new(uri: &str, env: &Env) -> Result<Conn, String> {
        let spec = resolve(uri, env)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("recording: cannot start a runtime: {e}"))?;
        Ok(Conn {
            rt: Some(rt),
            name: format!("postgres {}", conninfo::server_label(&spec)),
            spec,
            uri: uri.to_string(),
            client: None,
        })
    }

    /// Runs `f` to completion on the store's runtime, from any thread (inside another
    /// runtime, e.g. the TUI's, on a helper thread: a runtime cannot block inside another).
    pub(super) fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(rt) = &self.rt else {
            unreachable!("the runtime is taken only by drop")
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return rt.block_on(f);
        }
        std::thread::scope(|s| match s.spawn(|| rt.block_on(f)).join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        })
    }

    /// A message about this server, without any secret of the target.
    pub(super) fn msg(&self, what: &str, detail: &str) -> String {
        let mut m = crate::mask::without_secrets_of(
            &format!("recording {}: {what}: {detail}", self.name),
            &self.uri,
        );
        if let Some(p) = self.spec.password.as_ref().map(|p| p.expose()) {
            if !p.is_empty() {
                m = m.replace(p, crate::mask::MASK);
            }
        }
        m
    }

    pub(super) fn connect(&mut self) -> Result<(), String> {
        self.client = None;
        let spec = &self.spec;
        let r = self.block(async { crate::pg::tls::connect(spec, APP_NAME, CALL_TIMEOUT).await });
        match r {
            Ok((client, _driver)) => {
                self.client = Some(client);
                Ok(())
            }
            Err(e) => Err(self.msg("cannot connect", &e.to_string())),
        }
    }

    /// One call with the client, bounded by [`CALL_TIMEOUT`].
    pub(super) fn call<'a, T, F, Fut>(&'a self, what: &str, f: F) -> Result<T, String>
    where
        T: Send,
        F: FnOnce(&'a Client) -> Fut + Send,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'a,
    {
        let Some(client) = &self.client else {
            return Err(self.msg(what, "not connected"));
        };
        match self.block(async { tokio::time::timeout(CALL_TIMEOUT, f(client)).await }) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.msg(what, &crate::pg::tls::error_chain(&e))),
            Err(_) => Err(self.msg(
                what,
                &format!("no answer within {} s", CALL_TIMEOUT.as_secs()),
            )),
        }
    }

    /// Creates the tables when they are missing.
    pub(super) fn ensure_schema(&self) -> Result<(), String> {
        let there: bool = self.call("reading the schema", |c| async move {
            let r = c
                .query_one(
                    "SELECT to_regclass('stacktop.records') IS NOT NULL
                        AND to_regclass('stacktop.recordings') IS NOT NULL",
                    &[],
                )
                .await?;
            r.try_get(0)
        })?;
        if there {
            return Ok(());
        }
        let sql = format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('stacktop.recorder')); {SCHEMA} COMMIT;"
        );
        self.call("creating the stacktop schema", |c| async move {
            c.batch_execute(&sql).await
        })
    }
}

/// A runtime dropped inside another runtime's context panics (a reader dropped by a task):
/// its shutdown is left to the background, which never blocks.
impl Drop for Conn {
    fn drop(&mut self) {
        self.client = None;
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
