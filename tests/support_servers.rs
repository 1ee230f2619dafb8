//! Smoke tests of the real-server test support (tests/support/): a MariaDB GTID pair,
//! varnishd + in-process backend, and that every process is gone (by PID) after drop.
//! Missing binaries fail with the Debian package to install (bash scripts/setup-test-deps.sh).

mod support;

use std::time::Duration;
use support::mariadb::{MariaDb, MariaDbOptions, ReplicationPair};
use support::proc::{self, pid_alive, ProcessGuard};
use support::varnish::Varnish;

fn assert_all_gone(pids: &[u32], what: &str) {
    for &pid in pids {
        assert!(!pid_alive(pid), "{what}: pid {pid} still alive after drop");
    }
}

#[test]
fn mariadb_pair_replicates_and_named_connection_breaks_alone() {
    let mut pair = ReplicationPair::start();
    let p = pair.primary();
    assert_eq!(p.query_one("SELECT @@server_id").as_deref(), Some("1"));
    assert_eq!(
        pair.replica().query_one("SELECT @@read_only").as_deref(),
        Some("1")
    );

    p.exec("CREATE DATABASE t; CREATE TABLE t.x (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t.x VALUES (1, 'hello')");
    pair.wait_replica_caught_up();
    assert_eq!(
        pair.replica()
            .query_one("SELECT v FROM t.x WHERE id = 1")
            .as_deref(),
        Some("hello")
    );
    let st = pair
        .replica()
        .slave_status("")
        .expect("default connection configured");
    assert_eq!(st.get("Using_Gtid"), Some("Slave_Pos"));
    assert_eq!(
        st.get("Master_Port"),
        Some(pair.primary().port().to_string().as_str())
    );

    // the monitor account can read replication status, and cannot write
    let monitor = pair.replica().monitor_url();
    let rows: Vec<mysql_async::Row> = tokio_block_on(async move {
        let mut c = mysql_async::Conn::new(mysql_async::Opts::from_url(&monitor).unwrap())
            .await
            .unwrap();
        use mysql_async::prelude::Queryable;
        let rows = c.query("SHOW ALL SLAVES STATUS").await.unwrap();
        assert!(
            c.query_drop("CREATE DATABASE nope").await.is_err(),
            "monitor must not have CREATE"
        );
        c.disconnect().await.unwrap();
        rows
    });
    assert_eq!(rows.len(), 1);

    // named connection from a third server; killing its source leaves the default healthy
    let src = pair.add_named_connection("src2");
    src.exec(
        "CREATE DATABASE s2; CREATE TABLE s2.y (id INT PRIMARY KEY); INSERT INTO s2.y VALUES (7)",
    );
    pair.wait_named_caught_up("src2");
    assert_eq!(
        pair.replica().query_one("SELECT id FROM s2.y").as_deref(),
        Some("7")
    );
    let pids = pair.pids();
    assert_eq!(pids.len(), 3);

    pair.named_source_mut("src2").kill_hard();
    proc::wait_until(
        "src2 IO thread to notice its dead source",
        Duration::from_secs(20),
        || {
            let st = pair.replica().slave_status("src2")?;
            (st.get("Slave_IO_Running") != Some("Yes")).then_some(())
        },
    );
    pair.primary().exec("INSERT INTO t.x VALUES (2, 'still')");
    pair.wait_replica_caught_up();
    assert_eq!(
        pair.replica()
            .query_one("SELECT COUNT(*) FROM t.x")
            .as_deref(),
        Some("2")
    );

    // restart after a crash keeps port and data
    let port = pair.primary().port();
    pair.primary_mut().kill_hard();
    pair.primary_mut().restart();
    assert_eq!(pair.primary().port(), port);
    assert_eq!(
        pair.primary()
            .query_one("SELECT COUNT(*) FROM t.x")
            .as_deref(),
        Some("2")
    );
    pair.primary()
        .exec("INSERT INTO t.x VALUES (3, 'after restart')");
    pair.wait_replica_caught_up();
    assert_eq!(
        pair.replica()
            .query_one("SELECT v FROM t.x WHERE id = 3")
            .as_deref(),
        Some("after restart")
    );

    let pids = pair.pids();
    drop(pair);
    assert_all_gone(&pids, "mariadb pair");
}

#[test]
fn mariadb_panicking_test_still_stops_server() {
    let pid = std::sync::Arc::new(std::sync::Mutex::new(None));
    let pid2 = pid.clone();
    let r = std::thread::spawn(move || {
        let db = MariaDb::start(MariaDbOptions::default().cnf("max-connections=20"));
        assert_eq!(
            db.query_one("SELECT @@max_connections").as_deref(),
            Some("20")
        );
        *pid2.lock().unwrap() = db.pid();
        panic!("simulated test failure");
    })
    .join();
    assert!(r.is_err(), "the inner test must have panicked");
    let pid = pid.lock().unwrap().expect("server had started");
    assert!(!pid_alive(pid), "mariadbd {pid} survived a panicking test");
}

#[test]
fn varnish_caches_and_logs() {
    let v = Varnish::start();
    let first = v.get("/static/a.css", &[("X-Request-Id", "smoke-1")]);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("X-Request-Id"), Some("smoke-1"));
    assert_eq!(first.header("X-Cache"), Some("MISS"));
    assert_eq!(first.text(), "static /static/a.css\n");
    let second = v.get("/static/a.css", &[("X-Request-Id", "smoke-2")]);
    assert_eq!(second.status, 200);
    // a hit carries two XIDs in X-Varnish (this request + the object's)
    let xv = second.header("X-Varnish").unwrap_or_default();
    assert_eq!(
        xv.split_whitespace().count(),
        2,
        "X-Varnish {xv:?} of a hit"
    );
    assert_eq!(second.header("X-Cache"), Some("HIT"));
    assert_eq!(
        v.backend()
            .requests()
            .iter()
            .filter(|r| *r == "/static/a.css")
            .count(),
        1
    );

    assert_eq!(v.get("/nocache/n1", &[]).header("X-Cache"), Some("PASS"));
    assert_eq!(v.get("/missing", &[]).status, 404);
    assert_eq!(v.get("/error", &[]).status, 500);
    let slow = v.get("/slow?ms=150", &[]);
    assert_eq!((slow.status, slow.text().as_str()), (200, "slow 150 ms\n"));

    let log = v.varnishlog_until(
        &[
            "-g",
            "request",
            "-q",
            "ReqHeader:X-Request-Id eq \"smoke-2\"",
        ],
        Duration::from_secs(10),
        |o| o.contains("smoke-2"),
    );
    assert!(
        log.contains("VCL_call       HIT"),
        "request log of the hit:\n{log}"
    );
    assert!(log.contains("ReqURL         /static/a.css"), "{log}");

    let pids = v.pids();
    assert!(
        pids.len() >= 2,
        "manager and cache child expected, got {pids:?}"
    );
    drop(v);
    assert_all_gone(&pids, "varnishd");
}

#[test]
fn process_guard_kills_whole_group() {
    let dir = proc::temp_dir("guard");
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "sleep 300 & sleep 300; wait"]);
    let g = ProcessGuard::spawn("sh", cmd, &dir.path().join("log"));
    let pgid = g.pid();
    let members = proc::wait_until("both sleeps to run", Duration::from_secs(5), || {
        let m = proc::group_pids(pgid);
        (m.len() >= 3).then_some(m)
    });
    drop(g);
    assert_all_gone(&members, "process group");
    assert!(!proc::group_alive(pgid));
}

#[test]
fn missing_binary_names_the_package() {
    let err =
        std::panic::catch_unwind(|| proc::require_binary("no-such-server-xyz", "no-such-package"))
            .expect_err("must panic");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("install Debian package no-such-package (bash scripts/setup-test-deps.sh)"),
        "{msg}"
    );
    assert!(proc::find_binary("sh").is_some());
}

fn tokio_block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The sync helpers must work from inside an async test (view tests are `#[tokio::test]`).
#[tokio::test]
async fn mariadb_helpers_work_inside_tokio_runtime() {
    use mysql_async::prelude::Queryable;
    let db = MariaDb::start(MariaDbOptions::named("async", 5, 0));
    db.exec("CREATE DATABASE a; CREATE TABLE a.t (id INT PRIMARY KEY)");
    let mut c = mysql_async::Conn::from_url(db.url()).await.unwrap();
    c.query_drop("INSERT INTO a.t VALUES (1), (2)")
        .await
        .unwrap();
    let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM a.t").await.unwrap();
    c.disconnect().await.unwrap();
    assert_eq!(n, Some(2));
    assert_eq!(db.query_one("SELECT @@server_id").as_deref(), Some("5"));
    let row = &db.query("SELECT @@log_bin AS lb, @@binlog_format AS bf, NULL AS z")[0];
    assert_eq!(
        (row.get("lb"), row.get("bf"), row.get("z")),
        (Some("1"), Some("ROW"), None)
    );
    assert!(db.try_exec("SELECT * FROM nope.nope").is_err());
}

/// MariaDB takes no one in unasked: root without its random password, root over the socket as
/// another user, and the old fixed test passwords are all refused; the real ones work.
#[tokio::test]
async fn mariadb_accounts_need_their_random_passwords() {
    use support::mariadb::{MONITOR_PASSWORD, MONITOR_USER, REPL_PASSWORD, REPL_USER};
    let db = MariaDb::start(MariaDbOptions::named("locked", 7, 0));
    let try_login = |user: &str, pw: &str| {
        let opts: mysql_async::Opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(db.port())
            .user(Some(user))
            .pass(Some(pw))
            .prefer_socket(false)
            .into();
        async move {
            let r = mysql_async::Conn::new(opts).await;
            if let Ok(c) = r {
                let _ = c.disconnect().await;
                return Ok(());
            }
            r.map(|_| ()).map_err(|e| e.to_string())
        }
    };
    for (user, pw) in [
        ("root", ""),
        ("root", "root"),
        (MONITOR_USER, "monitor-pw"),
        (REPL_USER, "repl-pw"),
        ("", ""),
    ] {
        let e = try_login(user, pw).await.unwrap_err();
        assert!(
            e.contains("1045"),
            "{user:?}/{pw:?} let in or odd error: {e}"
        );
    }
    try_login("root", db.root_password()).await.unwrap();
    try_login(MONITOR_USER, &MONITOR_PASSWORD).await.unwrap();
    try_login(REPL_USER, &REPL_PASSWORD).await.unwrap();
    assert_eq!(MONITOR_PASSWORD.len(), 32);
    assert_ne!(MONITOR_PASSWORD.as_str(), REPL_PASSWORD.as_str());
    // the socket, data dir and init file (root's password) are in a dir only root enters
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(db.socket().parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mariadb dir mode {mode:o}");
}

/// A stacktop process started through `hermetic_command` sees none of the developer's
/// PG*/MYSQL_*/STACKTOP_*/XDG_*/HOME variables. Runs itself again as a child with such
/// variables set (the parent's env cannot be changed safely in a threaded test).
#[test]
fn hermetic_command_clears_the_developers_environment() {
    const CHILD: &str = "STACKTOP_HERMETIC_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let out = proc::hermetic_command("/usr/bin/env").output().unwrap();
        print!("{}", String::from_utf8_lossy(&out.stdout));
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hermetic_command_clears_the_developers_environment",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("PGHOST", "leak-pghost")
        .env("PGPASSWORD", "leak-pgpassword")
        .env("MYSQL_PWD", "leak-mysql")
        .env("STACKTOP_SLACK_WEBHOOK", "https://hooks.invalid/leak")
        .env("STACKTOP_PGTOP__CONNINFO", "host=leak")
        .env("XDG_CONFIG_HOME", "/leak/config")
        .env("HOME", "/leak/home")
        .output()
        .unwrap();
    let env = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{env}");
    assert!(env.contains("HOME=/"), "child ran env: {env}");
    assert!(!env.contains("leak"), "leaked into the child: {env}");
    for line in env.lines() {
        let name = line.split('=').next().unwrap_or("");
        if name == "PGHOST" {
            assert!(line.ends_with("/no-postgres-here"), "{line}");
            continue;
        }
        assert!(
            !(name.starts_with("PG") || name.starts_with("MYSQL") || name.starts_with("STACKTOP_")),
            "{line}"
        );
    }
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k} in {env}"))
            .to_string()
    };
    let home = var("HOME");
    assert!(home.contains("stacktop-home-"), "{home}");
    assert_eq!(var("XDG_CONFIG_HOME"), format!("{home}/.config"));
    assert_eq!(var("XDG_STATE_HOME"), format!("{home}/.local/state"));
}
