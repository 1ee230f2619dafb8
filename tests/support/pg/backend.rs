//! [`Backend`]: a client session a test opened on its [`Pg`](super::Pg) (running a
//! statement, idle in a transaction, waiting on a lock). Re-exported from `pg`.

use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::Client;

/// A client connection made by the test. Dropping it aborts the running query task and closes
/// the connection.
pub struct Backend {
    pub pid: i32,
    pub client: Arc<Client>,
    pub(super) task: Option<tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>>,
    pub(super) conn: tokio::task::JoinHandle<()>,
}

impl Backend {
    /// Waits for the running statement to end; returns its SQLSTATE (None = success or a
    /// closed connection without a code).
    pub async fn ended(&mut self, limit: Duration) -> Result<Option<String>, String> {
        let Some(task) = self.task.as_mut() else {
            return Err("no running statement".into());
        };
        match tokio::time::timeout(limit, task).await {
            Err(_) => Err(format!("statement of pid {} still running", self.pid)),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(r)) => {
                self.task = None;
                Ok(r.err().map(|e| {
                    e.code()
                        .map(|c| c.code().to_string())
                        .unwrap_or_else(|| format!("closed: {e}"))
                }))
            }
        }
    }

    /// Starts another statement on the same connection (same pid, new query_start).
    pub fn run(&mut self, sql: &str) {
        assert!(!self.is_running(), "pid {} is still busy", self.pid);
        let c2 = self.client.clone();
        let sql = sql.to_string();
        self.task = Some(tokio::spawn(async move {
            c2.simple_query(&sql).await.map(|_| ())
        }));
    }

    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        // closes the socket even while a statement is in flight
        self.conn.abort();
    }
}
