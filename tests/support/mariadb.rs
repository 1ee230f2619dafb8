//! Ephemeral MariaDB servers for integration tests: one private `mariadbd` per [`MariaDb`]
//! (own temp datadir, unix socket in that dir, random free port on 127.0.0.1), and
//! [`ReplicationPair`] (in `mariadb/replication.rs`) = primary + replica with real GTID
//! replication.
//!
//! Data flow: test → `MariaDb::start` (mariadb-install-db, mariadbd via `proc::ProcessGuard`)
//! → the code under test connects with [`MariaDb::url`] (mysql_async) → the test checks
//! state with [`MariaDb::query`] / [`MariaDb::exec`].
//!
//! Details that matter:
//! - The server reads only `<tmp>/my.cnf` (`--defaults-file`, so /etc/mysql is ignored);
//!   `mariadb-install-db` runs with `--no-defaults`, once per mariadbd build: its datadir is
//!   kept as a template in `$CARGO_TARGET_TMPDIR` and copied for every server
//!   (`mariadb/template.rs`), so a server starts in well under a second.
//! - Running as root: mariadbd refuses root unless told; we pass `--user=root` (no chown
//!   needed). As another user the server runs as that user.
//! - Accounts (made by an `--init-file` that runs before the server accepts any connection,
//!   with `sql_log_bin=0`, never replicated): `root` with a random password per server
//!   ([`MariaDb::root_password`], in [`MariaDb::url`]) on every host it exists for (no empty
//!   password anywhere, anonymous accounts dropped); [`REPL_USER`]/[`REPL_PASSWORD`] with
//!   REPLICATION SLAVE; [`MONITOR_USER`]/[`MONITOR_PASSWORD`] with SLAVE MONITOR, BINLOG
//!   MONITOR, REPLICATION MASTER ADMIN, PROCESS and SELECT on mysql.* / performance_schema.*
//!   (a least-privileged monitor). `REPL_PASSWORD` and `MONITOR_PASSWORD` are random per test
//!   binary ([`TestPassword`]: prints, derefs to `&str`). The temp dir (socket, datadir,
//!   init file) is 0700 when running as root.
//! - Every node: log-bin, binlog_format=ROW, sync_binlog=1, innodb_flush_log_at_trx_commit=1,
//!   log_slave_updates, gtid_strict_mode, relay_log_recovery, small InnoDB sizes.
//! - SQL helpers are synchronous and safe to call from inside a tokio runtime (each call
//!   runs on a scoped thread with its own current-thread runtime and connection).
#![allow(dead_code)]

use super::proc::{self, ProcessGuard};
use mysql_async::prelude::Queryable;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod accounts;
mod replication;
mod template;
use accounts::init_sql;
pub use accounts::TestPassword;
pub use replication::ReplicationPair;

pub const REPL_USER: &str = "repl";
pub const REPL_PASSWORD: TestPassword = TestPassword(0);
pub const MONITOR_USER: &str = "monitor";
pub const MONITOR_PASSWORD: TestPassword = TestPassword(1);

/// How long to wait for a server to accept connections / for replication to converge.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a graceful stop may take before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(30);

/// Start-up options. `Default` = server_id 1, gtid_domain_id 0, no extra lines.
#[derive(Clone, Debug, Default)]
pub struct MariaDbOptions {
    /// Label used for the binlog base name and in messages ("" → "mariadb").
    pub name: String,
    /// `server-id` (0 → 1).
    pub server_id: u32,
    /// `gtid-domain-id`.
    pub gtid_domain_id: u32,
    /// Extra my.cnf lines appended to the `[mariadbd]` section, e.g. `"read-only=ON"`;
    /// later lines override earlier ones, so these win over the defaults above.
    pub cnf: Vec<String>,
}

impl MariaDbOptions {
    pub fn named(name: &str, server_id: u32, gtid_domain_id: u32) -> Self {
        MariaDbOptions {
            name: name.into(),
            server_id,
            gtid_domain_id,
            cnf: Vec::new(),
        }
    }
    /// Append one my.cnf line (builder style).
    pub fn cnf(mut self, line: &str) -> Self {
        self.cnf.push(line.into());
        self
    }
}

/// One row of a result: (column name, value as text; `None` = SQL NULL).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SqlRow(pub Vec<(String, Option<String>)>);

impl SqlRow {
    /// Value of column `name` (case-sensitive); `None` if absent or NULL.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
    /// Value at position `i`; `None` if absent or NULL.
    pub fn at(&self, i: usize) -> Option<&str> {
        self.0.get(i).and_then(|(_, v)| v.as_deref())
    }
}

/// A private mariadbd. Dropping it stops the server (by PID) and deletes the datadir.
#[derive(Debug)]
pub struct MariaDb {
    name: String,
    port: u16,
    root_password: String,
    cnf: PathBuf,
    guard: Option<ProcessGuard>,
    dir: tempfile::TempDir, // dropped last (field order): server is stopped first
}

impl MariaDb {
    /// Initialise a datadir and start the server; returns once `SELECT 1` works over TCP.
    /// Panics (naming the Debian package) if mariadbd / mariadb-install-db are missing.
    pub fn start(opts: MariaDbOptions) -> MariaDb {
        proc::require_binary("mariadbd", "mariadb-server");
        let name = if opts.name.is_empty() {
            "mariadb".to_string()
        } else {
            opts.name.clone()
        };
        let dir = proc::temp_dir(&format!("mariadb-{name}"));
        let data = dir.path().join("data");
        let port = proc::free_port();
        let root = is_root();
        if root {
            // the server runs as root too: nobody else needs to enter (socket, data, init file)
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
                .expect("chmod mariadb dir");
        }

        template::fresh_datadir(&data, root);

        let root_password = proc::random_password();
        let init = dir.path().join("init.sql");
        fs::write(&init, init_sql(&root_password)).expect("write init.sql");
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&init, fs::Permissions::from_mode(0o600)).expect("chmod init");
        }
        let cnf = dir.path().join("my.cnf");
        let mut text = cnf_text(&opts, &name, dir.path(), port, root);
        text.push_str(&format!("init-file={}\n", init.display()));
        fs::write(&cnf, text).expect("write my.cnf");
        MariaDb::launched(MariaDb {
            name,
            port,
            root_password,
            cnf,
            guard: None,
            dir,
        })
    }

    fn launched(mut db: MariaDb) -> MariaDb {
        db.launch();
        db
    }

    /// root's random password on this server.
    pub fn root_password(&self) -> &str {
        &self.root_password
    }

    /// Spawn mariadbd with our my.cnf and wait until it answers.
    fn launch(&mut self) {
        let server = proc::require_binary("mariadbd", "mariadb-server");
        let _ = fs::remove_file(self.socket()); // stale after a crash
        let mut cmd = Command::new(server);
        cmd.arg(format!("--defaults-file={}", self.cnf.display()));
        let log = self.dir.path().join("stdout.log");
        self.guard = Some(ProcessGuard::spawn(
            &format!("mariadbd[{}]", self.name),
            cmd,
            &log,
        ));
        let what = format!(
            "mariadbd[{}] on 127.0.0.1:{} to accept connections",
            self.name, self.port
        );
        proc::wait_until(&what, SERVER_TIMEOUT, || {
            if let Some(g) = self.guard.as_mut() {
                if let Some(st) = g.try_status() {
                    panic!(
                        "mariadbd[{}] exited during start-up ({st}):\n{}",
                        self.name,
                        self.error_log_tail(30)
                    );
                }
            }
            self.try_query("SELECT 1").ok()
        });
    }

    /// TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// Unix socket path (inside the temp dir).
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("mysqld.sock")
    }
    /// mysql_async URL for root over TCP: `mysql://root:<password>@127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!(
            "mysql://root:{}@127.0.0.1:{}/",
            self.root_password, self.port
        )
    }
    /// mysql_async URL for the least-privileged monitor account (see module docs).
    pub fn monitor_url(&self) -> String {
        format!(
            "mysql://{MONITOR_USER}:{MONITOR_PASSWORD}@127.0.0.1:{}/",
            self.port
        )
    }
    /// The datadir.
    pub fn datadir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    /// The my.cnf this server reads (append lines, then [`MariaDb::restart`]).
    pub fn cnf_path(&self) -> &Path {
        &self.cnf
    }
    /// PID of the running mariadbd, `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        self.guard.as_ref().map(|g| g.pid())
    }
    /// Label given in the options.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Last `lines` lines of the server's error log (for assertion messages).
    pub fn error_log_tail(&self, lines: usize) -> String {
        proc::tail(&self.dir.path().join("error.log"), lines)
    }

    /// Graceful shutdown (SIGTERM by PID, SIGKILL after [`STOP_GRACE`]). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut g) = self.guard.take() {
            g.stop(STOP_GRACE);
        }
    }
    /// SIGKILL (crash / power-loss simulation); the datadir stays for [`MariaDb::restart`].
    pub fn kill_hard(&mut self) {
        if let Some(mut g) = self.guard.take() {
            g.kill_hard();
        }
    }
    /// Stop if running, then start again on the same port and datadir (crash recovery
    /// runs if it was killed). Returns once it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Run SQL (several `;`-separated statements allowed) as root; panics on error.
    pub fn exec(&self, sql: &str) {
        if let Err(e) = self.try_exec(sql) {
            panic!("mariadb[{}]: {e}\nSQL: {sql}", self.name);
        }
    }
    /// [`MariaDb::exec`] returning the server error as text.
    pub fn try_exec(&self, sql: &str) -> Result<(), String> {
        let opts = self.opts();
        let sql = sql.to_string();
        block_on(async move {
            let mut c = mysql_async::Conn::new(opts)
                .await
                .map_err(|e| e.to_string())?;
            let r = c.query_drop(sql).await.map_err(|e| e.to_string());
            let _ = c.disconnect().await;
            r
        })
    }
    /// Rows of a single-result-set query as root; panics on error.
    pub fn query(&self, sql: &str) -> Vec<SqlRow> {
        self.try_query(sql)
            .unwrap_or_else(|e| panic!("mariadb[{}]: {e}\nSQL: {sql}", self.name))
    }
    /// First column of the first row (`None` if no row or NULL); panics on error.
    pub fn query_one(&self, sql: &str) -> Option<String> {
        self.query(sql)
            .first()
            .and_then(|r| r.at(0).map(str::to_string))
    }
    /// [`MariaDb::query`] returning the error as text.
    pub fn try_query(&self, sql: &str) -> Result<Vec<SqlRow>, String> {
        let opts = self.opts();
        let sql = sql.to_string();
        block_on(async move {
            let mut c = mysql_async::Conn::new(opts)
                .await
                .map_err(|e| e.to_string())?;
            let rows: Result<Vec<mysql_async::Row>, _> = c.query(sql).await;
            let _ = c.disconnect().await;
            Ok(rows
                .map_err(|e| e.to_string())?
                .iter()
                .map(to_sql_row)
                .collect())
        })
    }
    /// `SHOW SLAVE '<connection>' STATUS` ("" = default connection); `None` if not configured.
    pub fn slave_status(&self, connection: &str) -> Option<SqlRow> {
        self.query(&format!("SHOW SLAVE '{}' STATUS", esc(connection)))
            .into_iter()
            .next()
    }

    fn opts(&self) -> mysql_async::Opts {
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some("root"))
            .pass(Some(self.root_password.clone()))
            .prefer_socket(false)
            .into()
    }

    /// Point this server's replication connection `connection` ("" = default) at `source`
    /// with GTID (`MASTER_USE_GTID=slave_pos`) and start it. Does not wait.
    pub fn replicate_from(&self, connection: &str, source: &MariaDb) {
        let c = esc(connection);
        self.exec(&format!(
            "CHANGE MASTER '{c}' TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, \
             MASTER_USER='{REPL_USER}', MASTER_PASSWORD='{REPL_PASSWORD}', \
             MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE '{c}';",
            source.port()
        ));
    }

    /// Wait until replication connection `connection` runs both threads and has applied
    /// everything in `source`'s binlog (`MASTER_GTID_WAIT` on `@@gtid_binlog_pos`).
    pub fn wait_caught_up(&self, connection: &str, source: &MariaDb) {
        let what = format!(
            "{} ('{connection}') to catch up with {}",
            self.name, source.name
        );
        let ok = proc::poll_until(SERVER_TIMEOUT, || {
            let st = self.slave_status(connection)?;
            let running = st.get("Slave_IO_Running") == Some("Yes")
                && st.get("Slave_SQL_Running") == Some("Yes");
            if !running {
                return None;
            }
            let want = source
                .query_one("SELECT @@gtid_binlog_pos")
                .unwrap_or_default();
            if want.is_empty() {
                return Some(());
            }
            let got = self.query_one(&format!("SELECT MASTER_GTID_WAIT('{}', 0.5)", esc(&want)));
            (got.as_deref() == Some("0")).then_some(())
        });
        if ok.is_none() {
            let st = self.slave_status(connection).unwrap_or_default();
            panic!(
                "timed out after {SERVER_TIMEOUT:?} waiting for {what}: IO={:?} SQL={:?} \
                 Last_IO_Error={:?} Last_SQL_Error={:?} Gtid_IO_Pos={:?}",
                st.get("Slave_IO_Running"),
                st.get("Slave_SQL_Running"),
                st.get("Last_IO_Error"),
                st.get("Last_SQL_Error"),
                st.get("Gtid_IO_Pos"),
            );
        }
    }
}

// ------------------------------------------------------------------ helpers

pub(super) fn join<T>(r: std::thread::Result<T>) -> T {
    r.unwrap_or_else(|e| std::panic::resume_unwind(e))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn cnf_text(o: &MariaDbOptions, name: &str, dir: &Path, port: u16, root: bool) -> String {
    let d = dir.display();
    let id = if o.server_id == 0 { 1 } else { o.server_id };
    let mut s = String::from("[mariadbd]\n");
    let lines = [
        format!("datadir={d}/data"),
        format!("socket={d}/mysqld.sock"),
        format!("pid-file={d}/mysqld.pid"),
        format!("log-error={d}/error.log"),
        format!("tmpdir={d}"),
        format!("port={port}"),
        "bind-address=127.0.0.1".into(),
        "skip-name-resolve".into(),
        format!("server-id={id}"),
        format!("gtid-domain-id={}", o.gtid_domain_id),
        "innodb-buffer-pool-size=32M".into(),
        "innodb-log-file-size=8M".into(),
        "max-connections=60".into(),
        format!("log-bin={name}-bin"),
        format!("relay-log={name}-relay-bin"),
        "binlog-format=ROW".into(),
        "sync-binlog=1".into(),
        "innodb-flush-log-at-trx-commit=1".into(),
        "log-slave-updates=ON".into(),
        "gtid-strict-mode=ON".into(),
        "relay-log-recovery=ON".into(),
        "slave-net-timeout=10".into(),
        "report-host=127.0.0.1".into(),
        format!("report-port={port}"),
    ];
    for l in lines.iter().chain(&o.cnf) {
        let _ = writeln!(s, "{l}");
    }
    if root {
        s.push_str("user=root\n");
    }
    s
}

pub(super) fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

fn to_sql_row(r: &mysql_async::Row) -> SqlRow {
    use mysql_async::Value;
    let cols = r.columns_ref();
    SqlRow(
        (0..r.len())
            .map(|i| {
                let v = match r.as_ref(i) {
                    None | Some(Value::NULL) => None,
                    Some(Value::Bytes(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                    Some(Value::Int(x)) => Some(x.to_string()),
                    Some(Value::UInt(x)) => Some(x.to_string()),
                    Some(Value::Float(x)) => Some(x.to_string()),
                    Some(Value::Double(x)) => Some(x.to_string()),
                    Some(other) => Some(other.as_sql(true).trim_matches('\'').to_string()),
                };
                (
                    cols.get(i)
                        .map(|c| c.name_str().into_owned())
                        .unwrap_or_default(),
                    v,
                )
            })
            .collect(),
    )
}

/// Run `fut` to completion on a scoped thread with its own current-thread runtime, bounded
/// by 30 s — usable from sync tests and from inside `#[tokio::test]` alike.
fn block_on<T: Send>(
    fut: impl std::future::Future<Output = Result<T, String>> + Send,
) -> Result<T, String> {
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                tokio::time::timeout(Duration::from_secs(30), fut)
                    .await
                    .map_err(|_| "query timed out after 30s".to_string())?
            })
        });
        join(h.join())
    })
}
