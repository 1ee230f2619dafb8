//! The test accounts of every [`MariaDb`](super::MariaDb): the random per-binary passwords
//! ([`TestPassword`], behind `REPL_PASSWORD` / `MONITOR_PASSWORD`) and the `init-file` that
//! sets root's random password and creates the accounts before the server listens.

use super::super::proc;
use super::{esc, MONITOR_PASSWORD, MONITOR_USER, REPL_PASSWORD, REPL_USER};

/// A password made at random once per test binary (the first use draws it): `Display`,
/// `Deref<Target = str>`, `AsRef<str>`/`AsRef<OsStr>` and `Into<String>`, so it goes wherever
/// the fixed strings it replaces went (`format!("{MONITOR_PASSWORD}")`, `&MONITOR_PASSWORD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestPassword(pub(super) usize);

impl TestPassword {
    pub fn as_str(self) -> &'static str {
        static PW: [std::sync::OnceLock<String>; 2] =
            [std::sync::OnceLock::new(), std::sync::OnceLock::new()];
        PW[self.0].get_or_init(proc::random_password)
    }
}

impl std::ops::Deref for TestPassword {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for TestPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for TestPassword {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<std::ffi::OsStr> for TestPassword {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.as_str().as_ref()
    }
}

impl From<TestPassword> for String {
    fn from(p: TestPassword) -> String {
        p.as_str().to_string()
    }
}

impl PartialEq<&str> for TestPassword {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}

/// Run by mariadbd (`init-file`) at every start, before it accepts connections: root gets
/// `root_pw` wherever it exists, anonymous accounts go, the test accounts exist with their
/// random passwords. Idempotent (restarts run it again). Never binlogged.
pub(super) fn init_sql(root_pw: &str) -> String {
    let r = esc(root_pw);
    let repl = esc(&REPL_PASSWORD);
    let mon = esc(&MONITOR_PASSWORD);
    format!(
        "SET sql_log_bin=0;
ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY '{r}';
ALTER USER IF EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{r}';
ALTER USER IF EXISTS 'root'@'::1' IDENTIFIED BY '{r}';
DROP USER IF EXISTS ''@'localhost';
DROP USER IF EXISTS ''@'127.0.0.1';
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{r}';
GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS '{REPL_USER}'@'127.0.0.1' IDENTIFIED BY '{repl}';
ALTER USER '{REPL_USER}'@'127.0.0.1' IDENTIFIED BY '{repl}';
GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'127.0.0.1';
CREATE USER IF NOT EXISTS '{MONITOR_USER}'@'127.0.0.1' IDENTIFIED BY '{mon}';
ALTER USER '{MONITOR_USER}'@'127.0.0.1' IDENTIFIED BY '{mon}';
GRANT SLAVE MONITOR, BINLOG MONITOR, REPLICATION MASTER ADMIN, PROCESS ON *.* TO '{MONITOR_USER}'@'127.0.0.1';
GRANT SELECT ON mysql.* TO '{MONITOR_USER}'@'127.0.0.1';
GRANT SELECT ON performance_schema.* TO '{MONITOR_USER}'@'127.0.0.1';
FLUSH PRIVILEGES;
"
    )
}
