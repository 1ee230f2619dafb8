//! Cancel / terminate on their own connection: a kill request never waits behind the
//! collector's refresh (a silent server can hold that for `query_timeout`). Each request opens
//! a short-lived connection, sends the guarded signal statements (`kill::signal`: pid,
//! backend_start and query_start must still match) and closes it, all within one client-side
//! time limit; no answer in time is a per-target error, never a hang. Every signal sent is
//! appended to the slow log (its own append handle: one `write` per line, like the collector's).

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;

use super::conninfo::ConnSpec;
use super::kill::{self, SignalKind, SignalOutcome, SignalResult, SignalTarget};
use super::options::CollectorOptions;
use super::slowlog::{Actor, SlowLog};
use super::tls;

/// Everything a kill needs, copied from the collector's options at start.
#[derive(Debug, Clone)]
pub struct Signaller {
    spec: ConnSpec,
    application_name: String,
    statement_timeout: Duration,
    /// connect + signal, all of it
    limit: Duration,
    read_only: bool,
    slow_log: Option<PathBuf>,
    server: String,
    who: Actor,
}

/// Results for targets that were not signalled, all with the same reason.
pub fn not_sent(kind: SignalKind, targets: &[SignalTarget], why: &str) -> Vec<SignalResult> {
    targets
        .iter()
        .map(|t| SignalResult {
            kind,
            target: t.clone(),
            outcome: SignalOutcome::Error(why.to_string()),
            at: Utc::now(),
        })
        .collect()
}

impl Signaller {
    pub fn new(o: &CollectorOptions) -> Self {
        Signaller {
            spec: o.spec.clone(),
            application_name: o.application_name.clone(),
            statement_timeout: o.statement_timeout,
            limit: o.connect_limit() + o.query_timeout,
            read_only: o.read_only,
            slow_log: o.slow_log.clone(),
            server: o.server.clone(),
            who: Actor::current(&o.spec.user),
        }
    }

    /// Signals `targets` (results in target order) and logs what was sent. Returns within
    /// the time limit; notices (slow-log write failures) come back for the status line.
    pub async fn signal(
        &self,
        kind: SignalKind,
        targets: Vec<SignalTarget>,
    ) -> (Vec<SignalResult>, Vec<String>) {
        if self.read_only {
            let results = targets
                .into_iter()
                .map(|target| SignalResult {
                    kind,
                    target,
                    outcome: SignalOutcome::ReadOnly,
                    at: Utc::now(),
                })
                .collect();
            return (results, Vec::new());
        }
        let work = async {
            let (client, task) =
                tls::connect(&self.spec, &self.application_name, self.statement_timeout)
                    .await
                    .map_err(|e| e.to_string())?;
            let r = kill::signal(&client, kind, &targets, false).await;
            task.abort();
            Ok::<_, String>(r)
        };
        let results = match tokio::time::timeout(self.limit, work).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => not_sent(kind, &targets, &e),
            Err(_) => not_sent(
                kind,
                &targets,
                &format!(
                    "no answer from the server within {} s (query_timeout): nothing is known to be signalled",
                    self.limit.as_secs_f64().ceil() as u64
                ),
            ),
        };
        let notices = self.log(&results);
        (results, notices)
    }

    fn log(&self, results: &[SignalResult]) -> Vec<String> {
        let mut notices = Vec::new();
        let Some(path) = &self.slow_log else {
            return notices;
        };
        let sent: Vec<&SignalResult> = results
            .iter()
            .filter(|r| !matches!(r.outcome, SignalOutcome::ReadOnly))
            .collect();
        if sent.is_empty() {
            return notices;
        }
        match SlowLog::open(path) {
            Ok(mut log) => {
                for r in sent {
                    if let Err(e) = log.log_signal(&self.server, &self.who, r) {
                        notices.push(format!("slow log write failed: {e}"));
                    }
                }
            }
            Err(e) => notices.push(format!("slow log write failed: {}: {e}", path.display())),
        }
        notices
    }
}
