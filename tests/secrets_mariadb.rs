//! A REAL replica error quoting a password: a `CREATE USER … IDENTIFIED BY '…'` that fails
//! on the replica (the user already exists there, created with `sql_log_bin=0`) stops its SQL
//! thread with error 1396 and the statement in `Last_SQL_Error`. The real binary's
//! `repl --check --nagios` and `--json`, run with a cleared environment, must show the error
//! but neither the password nor the hash the binlog may carry instead.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::mariadb::{ReplicationPair, MONITOR_PASSWORD, MONITOR_USER};
use support::proc::wait_until;

const SECRET: &str = "Tr0ub4dor&3-live";

fn check(cfg: &std::path::Path, home: &std::path::Path, format: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stacktop"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .args(["--no-user-config", "--config"])
        .arg(cfg)
        .args(["repl", "--check", format])
        .stdin(Stdio::null())
        .output()
        .expect("run stacktop")
}

#[test]
fn replica_error_with_identified_by_is_scrubbed_in_check_output() {
    let pair = ReplicationPair::start();
    let hash = pair
        .primary()
        .query_one(&format!("SELECT PASSWORD('{SECRET}')"))
        .expect("password hash");
    pair.replica()
        .exec("SET sql_log_bin=0; CREATE USER 'app'@'%' IDENTIFIED BY 'other'; SET sql_log_bin=1");
    pair.primary()
        .exec(&format!("CREATE USER 'app'@'%' IDENTIFIED BY '{SECRET}'"));
    let raw = wait_until("replica SQL error 1396", Duration::from_secs(30), || {
        let s = pair.replica().slave_status("")?;
        (s.get("Last_SQL_Errno") == Some("1396"))
            .then(|| s.get("Last_SQL_Error").unwrap_or("").to_string())
    });
    assert!(
        raw.contains("IDENTIFIED") && (raw.contains(SECRET) || raw.contains(&hash)),
        "the server's own text carries the secret: {raw}"
    );

    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("repl.toml");
    let mut text = String::new();
    for (name, db) in [("primary", pair.primary()), ("replica", pair.replica())] {
        text.push_str(&format!(
            "[[repl.servers]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\n\
             user = \"{MONITOR_USER}\"\npassword_command = \"printf %s {MONITOR_PASSWORD}\"\n\n",
            db.port()
        ));
    }
    std::fs::write(&cfg, text).unwrap();
    let o = check(&cfg, home.path(), "--nagios");
    let line = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(2), "{line}");
    assert!(
        line.contains("1396") && line.contains("IDENTIFIED"),
        "{line}"
    );
    let o = check(&cfg, home.path(), "--json");
    let json = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(json.contains("1396"), "{json}");
    for out in [&line, &json] {
        assert!(!out.contains(SECRET) && !out.contains(&hash[1..]), "{out}");
    }
}
