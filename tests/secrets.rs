//! Secrets never leave stacktop: a deterministic property test over generated conninfo and
//! URI strings (passwords with `'`, `\`, ` `, `=`, `/`, `@`, `:`, `%`, `?`, `&`, `#`) through
//! the masker, the parser + server label and the real binary's `config show`; the Nagios line
//! of a replica whose last SQL error quotes `IDENTIFIED BY '…'`; private file modes under
//! umask 022.

#[path = "repl_common/mod.rs"]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use stacktop::base::secrets::mask_in_string;
use stacktop::mask;
use stacktop::pg::conninfo::{self, ConnOverrides, Env};

/// xorshift64*: the same cases on every run; a failure names its seed and case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SPECIAL: &[char] = &['\'', '\\', ' ', '=', '/', '@', ':', '%', '?', '&', '#'];
const PLAIN: &str = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// 8–20 characters, at least two of them special, never starting with a space.
fn password(r: &mut Rng) -> String {
    let len = 8 + r.below(13);
    let mut p: Vec<char> = (0..len)
        .map(|_| {
            if r.below(3) == 0 {
                SPECIAL[r.below(SPECIAL.len())]
            } else {
                PLAIN.as_bytes()[r.below(PLAIN.len())] as char
            }
        })
        .collect();
    for _ in 0..2 {
        let i = 1 + r.below(len - 1);
        p[i] = SPECIAL[r.below(SPECIAL.len())];
    }
    p[0] = 'Q';
    p.into_iter().collect()
}

fn pct(s: &str, keep: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || keep.contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect()
}

fn spaces(r: &mut Rng) -> &'static str {
    ["", " ", "  ", "\t"][r.below(4)]
}

/// Forms libpq (and stacktop's parser) read back as `pw`.
fn valid_forms(r: &mut Rng, pw: &str) -> Vec<String> {
    let quoted = pw.replace('\\', "\\\\").replace('\'', "\\'");
    let unquoted: String = pw
        .chars()
        .flat_map(|c| {
            let esc = matches!(c, ' ' | '\'' | '\\');
            esc.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect();
    let (a, b) = (spaces(r), spaces(r));
    let scheme = ["postgres", "postgresql"][r.below(2)];
    let key = ["password", "%70assword", "pass%77ord"][r.below(3)];
    vec![
        format!("host=db1 port=5433 password{a}={b}'{quoted}' dbname=orders user=app"),
        format!("host=db1 password{a}={b}{unquoted} port=5433 dbname=orders"),
        // userinfo: `/`, `@`, `:`, `'`, `\`, `=`, `&` raw; `%`, ` `, `#`, `?` encoded
        format!("{scheme}://app:{}@db1:5433/orders", pct(pw, "/@:'\\=&")),
        format!(
            "{scheme}://app:{}@db1:5433/orders?sslmode=disable",
            pct(pw, "/@:")
        ),
        format!(
            "{scheme}://app@db1:5433/orders?sslmode=disable&{key}={}",
            pct(pw, "")
        ),
    ]
}

/// Forms that are not valid URIs (raw `%`, `#`, `?`, ` ` in the userinfo; other schemes):
/// the masker must still hide the password.
fn raw_forms(pw: &str) -> Vec<String> {
    vec![
        format!("postgres://app:{pw}@db1:5433/orders"),
        format!("mysql://root:{pw}@127.0.0.1:3306/spotify"),
        format!("mariadb://root:{pw}@h/db?sslpassword=x"),
        format!("mysql://h/db?password={}&x=1", pct(pw, "")),
    ]
}

/// Whether `out` shows the password or any 5-character piece of it (a partial leak).
fn leaks(out: &str, pw: &str) -> bool {
    let c: Vec<char> = pw.chars().collect();
    c.windows(5.min(c.len()))
        .any(|w| out.contains(&w.iter().collect::<String>()))
}

fn no_env() -> Env {
    Env {
        vars: Box::new(|_| None),
        home: None,
        os_user: Some("osuser".into()),
    }
}

const SEED: u64 = 0x5EC2_E75A_11CE_0001;
const CASES: usize = 400;

#[test]
fn generated_passwords_never_leave_the_masker_or_the_label() {
    let mut r = Rng(SEED);
    for case in 0..CASES {
        let pw = password(&mut r);
        let valid = valid_forms(&mut r, &pw);
        for (i, s) in valid.iter().chain(raw_forms(&pw).iter()).enumerate() {
            let ctx = format!("case {case} form {i}: {s:?} (password {pw:?})");
            for out in [mask::conninfo(s), mask_in_string(s)] {
                assert!(!leaks(&out, &pw), "{ctx} → {out:?}");
            }
            // in free text a URI ends at whitespace: a raw space in one is beyond reach
            if i < valid.len() || !pw.contains(' ') {
                for out in [
                    mask::text(s),
                    mask::text(&format!("could not connect with {s} (timeout)")),
                ] {
                    assert!(!leaks(&out, &pw), "{ctx} → {out:?}");
                }
            }
            if i >= valid.len() {
                continue;
            }
            // the parser reads the password back (the generator writes what libpq reads) …
            let p = conninfo::parse_conninfo(s).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(p.get("password"), Some(pw.as_str()), "{ctx}");
            // … and the label shown on screen, in the slow log and in Slack is host:port/db
            let spec = conninfo::resolve(Some(s), &ConnOverrides::default(), &no_env()).unwrap();
            assert_eq!(conninfo::server_label(&spec), "db1:5433/orders", "{ctx}");
            assert!(!leaks(&format!("{spec:?} {spec}"), &pw), "{ctx}");
        }
    }
}

/// The real binary with a cleared environment and a temporary HOME / XDG dirs.
fn stacktop(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacktop"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run stacktop")
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[test]
fn config_show_never_prints_a_generated_password() {
    let home = tempfile::tempdir().unwrap();
    let mut r = Rng(SEED ^ 0xC0FF_EE00);
    for case in 0..12 {
        let pw = password(&mut r);
        let forms = valid_forms(&mut r, &pw);
        let conn = &forms[case % forms.len()];
        let url = &raw_forms(&pw)[1];
        let f = home.path().join(format!("c{case}.toml"));
        let text = format!(
            "[pgtop]\nconninfo = {}\nslack_webhook = {}\n\n[spotify]\nurl = {}\n\n\
             [vlog]\nargs = [{}]\n",
            toml_str(conn),
            toml_str(&format!(
                "https://hooks.slack.com/services/{}",
                pct(&pw, "")
            )),
            toml_str(url),
            toml_str(&format!("MYSQL_PWD={}", pct(&pw, ""))),
        );
        std::fs::write(&f, &text).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let f = f.to_str().unwrap();
        let o = stacktop(
            home.path(),
            &["--no-user-config", "--config", f, "config", "show"],
            &[("STACKTOP_PGTOP__PASSWORD", &pw)],
        );
        let (out, err) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        assert_eq!(o.status.code(), Some(0), "case {case}: {err}");
        assert!(out.contains("[pgtop]") && out.contains("********"), "{out}");
        for enc in [pw.clone(), pct(&pw, "")] {
            assert!(
                !out.contains(&enc) && !err.contains(&enc),
                "case {case} {pw:?}:\n{out}{err}"
            );
        }
    }
}

#[test]
fn environment_errors_never_echo_a_secret() {
    let home = tempfile::tempdir().unwrap();
    // numeric-looking password: accepted as a string, no error at all
    let o = stacktop(
        home.path(),
        &["--no-user-config", "config", "show"],
        &[("STACKTOP_PGTOP__PASSWORD", "123456")],
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("123456"));
    // a secret-named key that does not exist: the variable is named, its value is not
    let o = stacktop(
        home.path(),
        &["--no-user-config", "config", "show"],
        &[("STACKTOP_PGTOP__SSLPASSWORD", "hunter2-env")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("STACKTOP_PGTOP__SSLPASSWORD"), "{err}");
    assert!(!err.contains("hunter2-env"), "{err}");
    // a bad non-secret value holding a URI: named, its password masked
    let o = stacktop(
        home.path(),
        &["--no-user-config", "config", "show"],
        &[("STACKTOP_UI__FPS", "mysql://u:hunter3@h/")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("STACKTOP_UI__FPS") && !err.contains("hunter3"),
        "{err}"
    );
}

/// As MariaDB reports a replicated `CREATE USER` that failed on the replica (error 1396).
const IDENTIFIED_ERROR: &str = "Error 'Operation CREATE USER failed for 'app'@'%'' on query. \
     Default database: 'lab'. Query: 'CREATE USER 'app'@'%' IDENTIFIED BY 'Tr0ub4dor&3''";

#[test]
fn nagios_line_and_check_output_scrub_password_clauses() {
    use common::*;
    use stacktop::repl::{report, LagThresholds};
    let mut rows = maria_rows("scenario-sql-error.txt", "scenario", true);
    set(&mut rows, "", "Last_SQL_Errno", Some("1396"));
    set(&mut rows, "", "Last_SQL_Error", Some(IDENTIFIED_ERROR));
    set(&mut rows, "", "Last_Error", Some(IDENTIFIED_ERROR));
    let mut rep = maria_replica(rows);
    // scrubbed when the status row is parsed (what the view and batch mode show) …
    let e = rep.channels[0].last_sql_error.as_mut().unwrap();
    assert!(
        e.message.contains("IDENTIFIED BY ********"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("Tr0ub4dor"), "{}", e.message);
    // … and again on the way out, whatever the snapshot holds
    e.message = IDENTIFIED_ERROR.to_string();
    let r = report::build(&[maria_primary(""), rep], &LagThresholds::default());
    let (line, code) = report::nagios(&r);
    assert_eq!(code, 2);
    assert!(
        line.contains("1396") && line.contains("IDENTIFIED BY"),
        "{line}"
    );
    assert!(line.contains(" | servers=2"), "perfdata intact: {line}");
    for out in [line, report::text(&r), report::json(&r)] {
        assert!(!out.contains("Tr0ub4dor"), "{out}");
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn slow_log_and_saved_files_are_0600_in_0700_dirs_under_umask_022() {
    // SAFETY: umask() only sets this process's file-creation mask; 022 is the usual default
    // and the one under which a plain create would make 0644 files and 0755 directories.
    unsafe {
        libc::umask(0o022);
    }
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state/stacktop");
    let slow = state.join("pgtop-slow.jsonl");
    drop(stacktop::pg::slowlog::SlowLog::open(&slow).unwrap());
    assert_eq!(mode(&slow), 0o600);
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&tmp.path().join("state")), 0o700);
    // an existing log left world-readable is narrowed when opened
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(stacktop::pg::slowlog::SlowLog::open(&slow).unwrap());
    assert_eq!(mode(&slow), 0o600);
    // `w` in vlogdump: the run loop's file write
    let saved = tmp.path().join("saves/vlog-x.log");
    let u = stacktop::tui::write_file(
        stacktop::wire::ViewKind::Vlog,
        saved.clone(),
        b"GET /\n".to_vec(),
        "1 row".into(),
    )
    .await;
    assert!(format!("{u:?}").contains("saved 1 row"), "{u:?}");
    assert_eq!(mode(&saved), 0o600);
    assert_eq!(mode(saved.parent().unwrap()), 0o700);
    // the SQL history of the spotify editor
    let hist = tmp.path().join("data/stacktop/sql_history.json");
    stacktop::spotify::history::save(&hist, &["SELECT 1".into()]).unwrap();
    assert_eq!(mode(&hist), 0o600);
    assert_eq!(mode(hist.parent().unwrap()), 0o700);
}
