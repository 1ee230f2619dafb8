//! Ephemeral PostgreSQL for tests: initdb into a temp dir (0700) owned by the `postgres` OS
//! user, `postgres` started directly as a child (own process group, PID known) on a random free
//! port of 127.0.0.1 with its Unix socket in a 0700 dir, fsync off, optional TLS with a CA and a
//! server certificate generated at test time. `stop()`/`restart()` keep port and data; Drop
//! kills by PID. Helpers create roles and open client connections that sleep, idle in a
//! transaction, or wait on a lock.
//!
//! Nothing is open to other local users: every TCP (`host`) line of pg_hba is
//! `scram-sha-256`, `postgres` and every role made by [`Pg::create_role`] get the server's random
//! password ([`Pg::password`]), and the only `trust` line is for the Unix socket, whose dir only
//! `postgres` (and root) can enter. [`Pg::conninfo`] carries the password, so callers need
//! nothing else; pass it to child processes in a 0600 file or an environment variable, never on
//! a command line (other users can read those).
//!
//! Versions: [`Pg::start`] uses the newest Debian package under `/usr/lib/postgresql`;
//! [`Pg::start_major`] one of the pinned builds that `scripts/setup-test-deps.sh` puts in
//! [`majors_dir`] (PostgreSQL 10-18). [`MATRIX`] is the list the version-matrix tests run;
//! [`major_selected`] narrows it with `STACKTOP_PG_MAJORS=15,18`. [`Pg::shared_major`] is one
//! server per major per test binary, for tests that can share (distinct roles/databases).
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use super::proc::{self, ProcessGuard};

mod backend;
mod majors;
pub use backend::Backend;
pub use majors::*;

pub const MISSING: &str =
    "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install Debian package postgresql (bash scripts/setup-test-deps.sh)";

#[derive(Debug, Clone, Default)]
pub struct PgOpts {
    /// ssl=on with a generated CA + server certificate (CN/SAN localhost, 127.0.0.1)
    pub tls: bool,
    /// default 100
    pub max_connections: Option<u32>,
    /// extra postgresql.conf lines
    pub extra_conf: Vec<String>,
}

pub struct Pg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// PostgreSQL major of the binaries (from the data dir's PG_VERSION)
    major: u32,
    /// password of `postgres` and of every role made by [`Pg::create_role`]
    password: String,
    uid: u32,
    gid: u32,
    pub port: u16,
    /// the postmaster, in its own process group; Drop kills the group by PID
    guard: Option<ProcessGuard>,
}

fn postgres_ids() -> (u32, u32) {
    let name = std::ffi::CString::new("postgres").unwrap();
    // SAFETY: getpwnam returns a pointer to static storage or null; read immediately.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    assert!(!pw.is_null(), "no `postgres` OS user: {MISSING}");
    unsafe { ((*pw).pw_uid, (*pw).pw_gid) }
}

pub fn find_bin() -> PathBuf {
    if let Ok(p) = std::env::var("STACKTOP_PG_BIN") {
        return PathBuf::from(p);
    }
    // the newest /usr/lib/postgresql/*/bin (a `postgres` on PATH may be a wrapper without
    // initdb / pg_isready next to it)
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|x| x.1)
        .unwrap_or_else(|| panic!("{MISSING}"))
}

pub fn free_port() -> u16 {
    proc::free_port()
}

impl Pg {
    /// The newest Debian-packaged PostgreSQL (or `STACKTOP_PG_BIN`).
    pub fn start(opts: PgOpts) -> Pg {
        Self::start_in(find_bin(), opts)
    }

    /// Debian's PostgreSQL `major` from `/usr/lib/postgresql/<major>/bin` (for tests that need
    /// an extension only Debian packages, e.g. `postgresql-15-pg-wait-sampling`); panics
    /// naming the package when it is not installed.
    pub fn start_debian(major: u32, opts: PgOpts) -> Pg {
        let bin = PathBuf::from(format!("/usr/lib/postgresql/{major}/bin"));
        assert!(
            bin.join("postgres").exists() && bin.join("initdb").exists(),
            "PostgreSQL {major} not found in {}: install Debian package postgresql-{major} \
             (bash scripts/setup-test-deps.sh)",
            bin.display()
        );
        let pg = Self::start_in(bin, opts);
        assert_eq!(pg.major, major, "binaries in {}", pg.bin.display());
        pg
    }

    /// One of the pinned builds of PostgreSQL `major` (10-18) from [`majors_dir`].
    pub fn start_major(major: u32, opts: PgOpts) -> Pg {
        let pg = Self::start_in(find_major_bin(major), opts);
        assert_eq!(pg.major, major, "binaries in {}", pg.bin.display());
        pg
    }

    /// One server of `major` for every test of this binary that asks (started by the first):
    /// tests sharing it keep to their own roles, databases and application names. Stopped by
    /// PID and its temp dir removed when the test binary exits.
    pub fn shared_major(major: u32) -> &'static Pg {
        static SERVERS: OnceLock<Mutex<HashMap<u32, &'static Pg>>> = OnceLock::new();
        let map = SERVERS.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(major).or_insert_with(|| {
            let pg: &'static Pg = Box::leak(Box::new(Self::start_major(major, PgOpts::default())));
            let pid = pg.pid();
            let dir = pg.dir.path().to_path_buf();
            proc::cleanup_at_exit(Box::new(move || {
                if let Some(pid) = pid {
                    proc::signal_group(pid, libc::SIGKILL);
                    let _ = proc::poll_until(Duration::from_secs(5), || {
                        (!proc::group_alive(pid)).then_some(())
                    });
                }
                let _ = fs::remove_dir_all(&dir);
            }));
            pg
        })
    }

    fn start_in(bin: PathBuf, opts: PgOpts) -> Pg {
        let (uid, gid) = postgres_ids();
        let dir = proc::temp_dir("pg");
        std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let port = free_port();
        let mut pg = Pg {
            dir,
            bin,
            major: 0,
            password: proc::random_password(),
            uid,
            gid,
            port,
            guard: None,
        };
        let data = pg.data_dir();
        // the superuser's password goes in through a 0600 file that only `postgres` reads
        let pwfile = pg.dir.path().join("pwfile");
        fs::write(&pwfile, format!("{}\n", pg.password)).unwrap();
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
        let mut initdb = pg.as_postgres(&pg.bin.join("initdb"));
        initdb
            .args(["-D", data.to_str().unwrap(), "-U", "postgres"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args([
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
            ])
            .args(["--no-sync", "--locale=C"]);
        let (status, out, err) = proc::run_bounded("initdb", initdb, Duration::from_secs(120));
        let _ = fs::remove_file(&pwfile);
        assert!(status.success(), "initdb failed: {out}{err}");
        pg.major = fs::read_to_string(data.join("PG_VERSION"))
            .ok()
            .and_then(|v| v.trim().split('.').next()?.parse().ok())
            .expect("PG_VERSION after initdb");
        let sock = pg.socket_dir();
        fs::create_dir(&sock).unwrap();
        std::os::unix::fs::chown(&sock, Some(uid), Some(gid)).unwrap();
        fs::set_permissions(&sock, fs::Permissions::from_mode(0o700)).unwrap();
        let mut conf = vec![
            "listen_addresses = '127.0.0.1'".to_string(),
            format!("port = {port}"),
            format!("unix_socket_directories = '{}'", sock.display()),
            "unix_socket_permissions = 0700".into(),
            "password_encryption = 'scram-sha-256'".into(),
            "fsync = off".into(),
            "synchronous_commit = off".into(),
            "full_page_writes = off".into(),
            "shared_buffers = 16MB".into(),
            "log_min_messages = warning".into(),
            format!("max_connections = {}", opts.max_connections.unwrap_or(100)),
        ];
        if pg.major >= 14 {
            conf.push("client_connection_check_interval = 1000".into());
        }
        if opts.tls {
            pg.make_certs();
            conf.push("ssl = on".into());
            conf.push("ssl_cert_file = 'server.crt'".into());
            conf.push("ssl_key_file = 'server.key'".into());
        }
        conf.extend(opts.extra_conf.iter().cloned());
        let mut text = fs::read_to_string(data.join("postgresql.conf")).unwrap();
        text.push_str("\n# stacktop tests\n");
        text.push_str(&conf.join("\n"));
        text.push('\n');
        fs::write(data.join("postgresql.conf"), text).unwrap();
        // socket: trust, but only `postgres` (and root) can enter its dir; TCP: passwords only
        fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\n\
             host all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        pg.spawn_postgres();
        pg
    }

    /// PostgreSQL major of this server (e.g. 15).
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The random password of `postgres` and of every role made by [`Pg::create_role`].
    pub fn password(&self) -> &str {
        &self.password
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// The test CA certificate (PEM) when started with `tls: true`.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    pub fn pid(&self) -> Option<u32> {
        self.guard.as_ref().map(|g| g.pid())
    }

    /// A command run as the `postgres` OS user (PostgreSQL refuses root).
    fn as_postgres(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(self.dir.path())
            .env_clear()
            .envs(proc::hermetic_env())
            .env("HOME", self.dir.path())
            .uid(self.uid)
            .gid(self.gid);
        c
    }

    fn make_certs(&self) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "stacktop test CA");
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let mut srv =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        srv.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        let srv_key = KeyPair::generate().unwrap();
        let srv_cert = srv.signed_by(&srv_key, &issuer).unwrap();
        fs::write(self.ca_path(), ca_cert.pem()).unwrap();
        let data = self.data_dir();
        for (name, body) in [
            ("server.crt", srv_cert.pem()),
            ("server.key", srv_key.serialize_pem()),
        ] {
            let p = data.join(name);
            fs::write(&p, body).unwrap();
            std::os::unix::fs::chown(&p, Some(self.uid), Some(self.gid)).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    fn spawn_postgres(&mut self) {
        let cmd = {
            let mut c = self.as_postgres(&self.bin.join("postgres"));
            c.args(["-D", self.data_dir().to_str().unwrap()]);
            c
        };
        self.guard = Some(ProcessGuard::spawn("postgres", cmd, &self.log_path()));
        self.wait_ready(Duration::from_secs(30));
    }

    /// Ready = the postmaster wrote "ready" into postmaster.pid (PostgreSQL 10+) and the port
    /// accepts TCP connections (the pinned builds have no pg_isready).
    fn wait_ready(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let pidfile = self.data_dir().join("postmaster.pid");
        loop {
            if let Some(st) = self.guard.as_mut().and_then(|g| g.try_status()) {
                panic!(
                    "postgres exited ({st}) during start-up:\n{}",
                    self.log_tail()
                );
            }
            let ready = fs::read_to_string(&pidfile)
                .map(|s| s.lines().nth(7).is_some_and(|l| l.trim() == "ready"))
                .unwrap_or(false);
            if ready
                && std::net::TcpStream::connect_timeout(
                    &([127, 0, 0, 1], self.port).into(),
                    Duration::from_secs(1),
                )
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres not ready after {limit:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_tail(&self) -> String {
        proc::tail(&self.log_path(), 30)
    }

    /// Fast shutdown (SIGINT: SIGTERM would wait for every client), then the guard's
    /// bounded stop (SIGKILL to the process group) if it is still there after 15 s.
    pub fn stop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        proc::signal_pid(guard.pid(), libc::SIGINT);
        let _ = proc::poll_until(Duration::from_secs(15), || guard.try_status());
        guard.kill_hard();
    }

    /// Stop and start again on the same port and data directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn_postgres();
    }

    /// key=value conninfo over TCP with the server's password (see [`Pg::password`]).
    pub fn conninfo(&self, user: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} password={} dbname=postgres sslmode=disable",
            self.port, self.password
        )
    }

    /// [`Pg::conninfo`] without the password (for tests that supply it another way).
    pub fn conninfo_nopw(&self, user: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=disable",
            self.port
        )
    }

    /// [`Pg::conninfo`] of `user` resolved as stacktop resolves it, hermetically: no PG*
    /// variables, no ~/.pgpass, OS user `root`.
    pub fn spec(&self, user: &str) -> stacktop::pg::conninfo::ConnSpec {
        let env = stacktop::pg::conninfo::Env {
            vars: Box::new(|_| None),
            home: None,
            os_user: Some("root".into()),
        };
        let overrides = stacktop::pg::conninfo::ConnOverrides::default();
        stacktop::pg::conninfo::resolve(Some(&self.conninfo(user)), &overrides, &env)
            .expect("the test server's conninfo resolves")
    }

    /// Collector options for [`Pg::spec`] of `user`: server label `test`, a refresh every
    /// `interval`; tests set the rest.
    pub fn collector_options(
        &self,
        user: &str,
        interval: Duration,
    ) -> stacktop::pg::collector::CollectorOptions {
        let mut o = stacktop::pg::collector::CollectorOptions::new(self.spec(user));
        o.server = "test".into();
        o.interval = interval;
        o
    }

    /// A plain (no TLS) client connection; the connection task is spawned on the current runtime.
    pub async fn client(&self, user: &str) -> Client {
        self.client_app(user, "stacktop-test").await
    }

    pub async fn client_app(&self, user: &str, app: &str) -> Client {
        self.client_with_task(user, app).await.0
    }

    async fn client_with_task(
        &self,
        user: &str,
        app: &str,
    ) -> (Client, tokio::task::JoinHandle<()>) {
        let mut cfg: tokio_postgres::Config = self.conninfo(user).parse().unwrap();
        cfg.application_name(app);
        let (client, conn) = cfg.connect(NoTls).await.unwrap();
        let task = tokio::spawn(async move {
            let _ = conn.await;
        });
        (client, task)
    }

    pub async fn admin(&self) -> Client {
        self.client("postgres").await
    }

    pub async fn create_role(&self, name: &str, kind: Role) {
        let pw = &self.password;
        let sql = match kind {
            Role::Superuser => format!("CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{pw}'"),
            Role::Monitor => {
                format!("CREATE ROLE {name} LOGIN PASSWORD '{pw}'; GRANT pg_monitor TO {name}")
            }
            Role::Plain => format!("CREATE ROLE {name} LOGIN PASSWORD '{pw}'"),
        };
        self.admin().await.batch_execute(&sql).await.unwrap();
    }

    /// A backend running `sql` (e.g. `SELECT pg_sleep(600)`) until it ends or is signalled.
    pub async fn running(&self, user: &str, app: &str, sql: &str) -> Backend {
        let (client, conn) = self.client_with_task(user, app).await;
        let client = Arc::new(client);
        let pid = backend_pid(&client).await;
        let c2 = client.clone();
        let owned = sql.to_string();
        let task = tokio::spawn(async move { c2.simple_query(&owned).await.map(|_| ()) });
        self.wait_running(pid, sql).await;
        Backend {
            pid,
            client,
            task: Some(task),
            conn,
        }
    }

    /// Until `pid` shows `sql` as its query (or is gone): the statement is sent by a task, and a
    /// refresh taken before the server sees it shows the backend's previous query
    /// (`SELECT pg_backend_pid()`), which tests looking at the row would then read.
    async fn wait_running(&self, pid: i32, sql: &str) {
        self.wait_until_with(
            "SELECT coalesce(bool_or(left(query, 1000) = left($2, 1000)), true) \
             FROM pg_stat_activity WHERE pid = $1",
            &[&pid, &sql],
            Duration::from_secs(15),
        )
        .await;
    }

    /// A backend left idle in transaction (BEGIN; SELECT 1).
    pub async fn idle_in_transaction(&self, user: &str, app: &str) -> Backend {
        let (client, conn) = self.client_with_task(user, app).await;
        let client = Arc::new(client);
        let pid = backend_pid(&client).await;
        client.batch_execute("BEGIN; SELECT 1").await.unwrap();
        Backend {
            pid,
            client,
            task: None,
            conn,
        }
    }

    /// (holder idle in transaction with an ACCESS EXCLUSIVE lock on `table`, waiter blocked on it).
    pub async fn lock_pair(&self, user: &str, table: &str) -> (Backend, Backend) {
        self.admin()
            .await
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table}(i int); GRANT ALL ON {table} TO PUBLIC"
            ))
            .await
            .unwrap();
        let holder = self.idle_in_transaction(user, "lock-holder").await;
        holder
            .client
            .batch_execute(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            .await
            .unwrap();
        let waiter = self
            .running(
                user,
                "lock-waiter",
                &format!("SELECT count(*) FROM {table}"),
            )
            .await;
        (holder, waiter)
    }

    /// Polls `sql` (one boolean) until true, panicking after `limit`.
    pub async fn wait_until(&self, sql: &str, limit: Duration) {
        self.wait_until_with(sql, &[], limit).await;
    }

    /// [`Pg::wait_until`] with parameters (`$1`…).
    pub async fn wait_until_with(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        limit: Duration,
    ) {
        let admin = self.admin().await;
        let deadline = Instant::now() + limit;
        loop {
            let rows = admin.query(sql, params).await.unwrap();
            if rows
                .iter()
                .any(|r| r.get::<_, Option<bool>>(0) == Some(true))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "condition not met within {limit:?}: {sql} {params:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `pg_terminate_backend` on each pid (as `postgres`): ends test sessions for good, also
    /// before PostgreSQL 14, where a backend in `pg_sleep` does not notice its client left.
    pub async fn terminate(&self, pids: &[i32]) {
        let a = self.admin().await;
        for pid in pids {
            a.execute("SELECT pg_terminate_backend($1)", &[pid])
                .await
                .unwrap();
        }
    }

    /// Is a backend with this pid still there?
    pub async fn pid_alive(&self, pid: i32) -> bool {
        let a = self.admin().await;
        let r = a
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .unwrap();
        r.get::<_, i64>(0) == 1
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Role {
    Superuser,
    /// member of pg_monitor, no signalling rights
    Monitor,
    Plain,
}

async fn backend_pid(c: &Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0)
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            // fast shutdown first; the guard's Drop SIGKILLs the group if it is not enough
            proc::signal_pid(guard.pid(), libc::SIGINT);
            let _ = proc::poll_until(Duration::from_secs(5), || guard.try_status());
        }
    }
}
