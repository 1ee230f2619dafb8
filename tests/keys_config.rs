//! `[keys]` in the config: a bad section is refused with file, line and key (`config check`
//! and start-up), a rebound key works in the app through the real keymap (the kill
//! confirmation too), `?` and `config show` list the user's keys, no `[keys]` leaves the
//! built-in keymap as it was, and the README's list of actions is the keymap's.

#[path = "support/pg_fixture.rs"]
mod pg_fixture;
#[path = "support/screen.rs"]
mod screen;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stacktop::app::App;
use stacktop::config::{self, ViewKind};
use stacktop::keymap::{Action, Keymap, KeysConfig};
use stacktop::messages::Effect;
use stacktop::messages::SourceCommand;
use stacktop::screen::help::{self, Entry};
use stacktop::theme::Theme;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config-check")
}

/// The binary with a hermetic environment (no PG*, MYSQL_*, STACKTOP_*, XDG_*, user HOME).
fn bin(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stacktop"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .current_dir(fixtures());
    c
}

/// The app with the config of `toml` (read as a `--config` file, as start-up does).
fn app_with(toml: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keys.toml");
    std::fs::write(&file, toml).unwrap();
    let opts = config::LoadOptions {
        files: vec![file],
        ..Default::default()
    };
    let cfg = config::load(&opts).unwrap().config;
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Pgtop);
    a.resize(160, 40);
    a
}

fn key(a: &mut App, code: KeyCode) -> Vec<Effect> {
    let mods = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    a.handle_key(KeyEvent::new(code, mods))
}

fn with_a_session(a: &mut App) {
    let s = pg_fixture::active(101, "postgres", "select pg_sleep(60)", 10);
    pg_fixture::feed(a, pg_fixture::snapshot(1, vec![s]));
}

fn signalled(e: &[Effect]) -> bool {
    e.iter().any(|e| {
        matches!(
            e,
            Effect::ToSource(
                ViewKind::Pgtop,
                SourceCommand::Pg(stacktop::pg::source::PgRequest::Signal { .. })
            )
        )
    })
}

const REBOUND: &str = r#"
[keys]
quit = ["x", "ctrl-c"]
pgtop.cancel_backend = "C"
pgtop.kill_slow = []
kill_confirm.yes = "o"
"#;

#[test]
fn config_check_names_file_line_and_key_of_every_keys_problem() {
    let home = tempfile::tempdir().unwrap();
    let o = bin(home.path())
        .args(["config", "check", "keys.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(2), "{stdout}");
    let text = std::fs::read_to_string(fixtures().join("keys.toml")).unwrap();
    let want: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .collect();
    let got: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("keys.toml:"))
        .collect();
    assert_eq!(got.len(), want.len(), "{stdout}");
    for (w, g) in want.iter().zip(&got) {
        assert!(g.starts_with(w), "wanted {w:?}, got {g:?}");
    }
}

#[test]
fn start_up_refuses_a_bad_keys_section_with_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[ui]\nfps = 5\n[keys]\nquit = [\"q\", \"ctrl-\"]\n",
            "bad.toml:4:14: key `keys.quit[1]`: bad value \"ctrl-\"",
        ),
        (
            "[keys]\npgtop.cancel = \"c\"\n",
            "bad.toml:2:7: key `keys.pgtop.cancel`: unknown field `cancel`",
        ),
        (
            "[keys]\npgtop.toggle_idle = \"k\"\n",
            "bad.toml:2:21: key `keys.pgtop.toggle_idle`: bad value \"k\": k in pgtop is bound to both toggle_idle and terminate_backend",
        ),
        (
            "[keys]\n\nquit = []\n",
            "bad.toml:3:8: key `keys.quit`: no key quits in pgtop, repl, vlog, spotify",
        ),
    ];
    for (toml, want) in cases {
        std::fs::write(dir.path().join("bad.toml"), toml).unwrap();
        let o = bin(home.path())
            .current_dir(dir.path())
            .args(["-c", "bad.toml", "config", "show"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(2), "{toml}: {stderr}");
        assert!(o.stdout.is_empty(), "nothing is shown: {stderr}");
        assert!(
            stderr.starts_with(&format!("stacktop: {want}")),
            "{toml}\nwanted {want:?}\ngot {stderr:?}"
        );
    }
}

#[test]
fn a_clash_between_two_files_names_the_file_that_made_it() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), "[keys]\nopen_filter = \"x\"\n").unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        "[ui]\nfps = 5\n[keys]\ntoggle_pause = \"x\"\n",
    )
    .unwrap();
    let o = bin(home.path())
        .current_dir(dir.path())
        .args([
            "-c", "a.toml", "-c", "b.toml", "--batch", "-n", "1", "vlog", "--file", "none",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "stacktop: b.toml:4:16: key `keys.toggle_pause`: bad value \"x\": x in global is bound to both"
        ),
        "{stderr}"
    );
}

#[test]
fn a_rebound_key_works_in_the_app_and_the_old_one_does_not() {
    let mut a = app_with(REBOUND);
    assert!(a.flash.is_none(), "{:?}", a.flash);
    with_a_session(&mut a);
    // `c` cancelled in pgtop; now it is unbound there (swallowed), `C` cancels
    key(&mut a, KeyCode::Char('c'));
    assert!(a.pgtop.dialog.is_none(), "c is not bound any more");
    key(&mut a, KeyCode::Char('K'));
    assert!(a.pgtop.dialog.is_none(), "kill_slow is unbound");
    key(&mut a, KeyCode::Char('C'));
    assert!(a.pgtop.dialog.is_some(), "C cancels");
    // the confirmation takes `o`, not `y`
    assert!(!signalled(&key(&mut a, KeyCode::Char('y'))));
    assert!(a.pgtop.dialog.is_some(), "y is swallowed");
    assert!(signalled(&key(&mut a, KeyCode::Char('o'))));
    key(&mut a, KeyCode::Esc);
    // quit is `x` and Ctrl-C, no longer `q`
    key(&mut a, KeyCode::Char('q'));
    assert!(!a.should_quit);
    let e = key(&mut a, KeyCode::Char('x'));
    assert!(a.should_quit && e.contains(&Effect::Quit));
    let mut a = app_with(REBOUND);
    a.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(a.should_quit);
}

#[test]
fn help_hints_and_config_show_list_the_users_keys() {
    let mut a = app_with(REBOUND);
    let item = |a: &App, desc: &str| {
        help::entries(a).into_iter().find_map(|e| match e {
            Entry::Item(k, d) if d == desc => Some(k),
            _ => None,
        })
    };
    assert_eq!(
        item(&a, "cancel the selected (or tagged) queries").as_deref(),
        Some("C")
    );
    assert_eq!(item(&a, "yes: send the signal").as_deref(), Some("o"));
    assert_eq!(item(&a, "quit").as_deref(), Some("x Ctrl-C"));
    assert_eq!(item(&a, "kill every query over the slow threshold"), None);
    // as drawn
    key(&mut a, KeyCode::Char('?'));
    let screen = screen::text(&screen::render(&a, 160, 40));
    let row = screen
        .lines()
        .find(|l| l.contains("cancel the selected (or tagged) queries"))
        .unwrap_or_default();
    assert!(
        row.trim_start_matches([' ', '│']).starts_with("C  "),
        "{row}\n{screen}"
    );
    // the hint line
    let hints = a.keymap.hints(ViewKind::Pgtop, false, false);
    assert!(hints.contains(&("C".to_string(), "cancel")), "{hints:?}");
    assert!(hints.contains(&("x".to_string(), "quit")), "{hints:?}");
    assert!(!hints.iter().any(|(_, d)| *d == "kill slow"), "{hints:?}");
    // config show: the effective keymap, the user's keys in it
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k.toml"), REBOUND).unwrap();
    let o = bin(home.path())
        .current_dir(dir.path())
        .args(["--no-user-config", "-c", "k.toml", "config", "show"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{shown}");
    let shown_cfg: toml::Table = toml::from_str(&shown).unwrap();
    let keys = &shown_cfg["keys"];
    assert_eq!(
        keys["quit"],
        toml::Value::try_from(["x", "Ctrl-C"]).unwrap()
    );
    assert_eq!(
        keys["pgtop"]["cancel_backend"],
        toml::Value::try_from(["C"]).unwrap()
    );
    assert_eq!(keys["pgtop"]["kill_slow"], toml::Value::Array(vec![]));
    assert_eq!(
        keys["kill_confirm"]["yes"],
        toml::Value::try_from(["o"]).unwrap()
    );
    assert_eq!(keys["toggle_help"], toml::Value::try_from(["?"]).unwrap());
    // and what it shows reads back as the same keymap
    let again: KeysConfig = keys.clone().try_into().unwrap();
    let direct: KeysConfig = toml::from_str::<toml::Table>(REBOUND).unwrap()["keys"]
        .clone()
        .try_into()
        .unwrap();
    assert_eq!(
        format!("{:?}", Keymap::with_keys(&again).unwrap().bindings),
        format!("{:?}", Keymap::with_keys(&direct).unwrap().bindings)
    );
}

#[test]
fn without_keys_the_built_in_keymap_is_unchanged() {
    let a = app_with("[ui]\nfps = 5\n");
    assert_eq!(
        format!("{:?}", a.keymap.bindings),
        format!("{:?}", Keymap::default().bindings)
    );
    let mut a = app_with("[ui]\nfps = 5\n");
    let lookup = |a: &App, v, c, m| a.keymap.lookup(v, &KeyEvent::new(c, m));
    let none = KeyModifiers::NONE;
    assert_eq!(
        lookup(&a, ViewKind::Pgtop, KeyCode::Char('k'), none),
        Some(Action::TerminateBackend)
    );
    assert_eq!(
        lookup(&a, ViewKind::Vlog, KeyCode::Char('k'), none),
        Some(Action::Up)
    );
    assert_eq!(
        lookup(&a, ViewKind::Spotify, KeyCode::Char('c'), none),
        Some(Action::NextCountry)
    );
    assert_eq!(
        lookup(
            &a,
            ViewKind::Repl,
            KeyCode::Char('c'),
            KeyModifiers::CONTROL
        ),
        Some(Action::Quit)
    );
    with_a_session(&mut a);
    key(&mut a, KeyCode::Char('c'));
    assert!(signalled(&key(&mut a, KeyCode::Char('y'))));
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('?'));
    assert!(a.help);
    key(&mut a, KeyCode::Char('?'));
    key(&mut a, KeyCode::Char('q'));
    assert!(a.should_quit);
}

#[test]
fn the_readme_lists_every_action_with_its_default_keys() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let begin = "<!-- keys: generated by stacktop::keymap::user::reference() -->\n";
    let end = "<!-- keys: end -->";
    let start = readme.find(begin).expect("the README's keys marker") + begin.len();
    let stop = start + readme[start..].find(end).expect("the end marker");
    let want = stacktop::keymap::user::reference();
    assert!(
        readme[start..stop] == want,
        "README.md's list of actions is out of date; it should read:\n{want}"
    );
}
