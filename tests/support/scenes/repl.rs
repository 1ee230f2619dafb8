//! Replication: a healthy MariaDB pair, the replica's SQL thread stopped on a duplicate key,
//! a third server down with its retry countdown, and the audit pane of the broken replica.

use crossterm::event::KeyCode;
use stacktop::app::App;
use stacktop::config::{Config, ViewKind};
use stacktop::messages::{Payload, Update};
use stacktop::repl::{ServerConfig, ServerRole, ServerSnapshot};
use stacktop::theme::Theme;

use super::{press, Scene};
use crate::common::{at, healthy_rows, maria_primary, maria_replica, maria_rows};

pub fn scenes() -> Vec<Scene> {
    vec![
        Scene {
            name: "repl-healthy",
            state: "replication, a healthy MariaDB primary and replica",
            build: |w, h| pair(w, h, healthy_rows()),
        },
        Scene {
            name: "repl-sql-error",
            state: "replication, the replica's SQL thread stopped on a duplicate key (1062)",
            build: |w, h| pair(w, h, sql_error()),
        },
        Scene {
            name: "repl-down",
            state: "replication, the healthy pair and replica-2 refusing connections, retry in 4 s",
            build: down,
        },
        Scene {
            name: "repl-audit",
            state: "replication, a on the broken replica: its audit pane",
            build: |w, h| {
                let mut a = pair(w, h, sql_error());
                press(&mut a, KeyCode::Char('a'));
                a
            },
        },
    ]
}

fn sql_error() -> Vec<stacktop::repl::Row> {
    maria_rows("scenario-sql-error.txt", "scenario", true)
}

fn app(w: u16, h: u16, names: &[&str]) -> App {
    let mut cfg = Config::default();
    for n in names {
        cfg.repl
            .servers
            .push(ServerConfig::tcp(n, "127.0.0.1", 3306));
    }
    let mut a = App::new(cfg, Theme::builtin_default(), ViewKind::Repl);
    a.resize(w, h);
    a.now = (at() + chrono::Duration::seconds(1)).with_timezone(&chrono::Local);
    a
}

fn feed(a: &mut App, s: ServerSnapshot) {
    a.apply(Update {
        view: ViewKind::Repl,
        payload: Payload::Repl(Box::new(s)),
    });
}

fn pair(w: u16, h: u16, replica: Vec<stacktop::repl::Row>) -> App {
    let mut a = app(w, h, &["primary", "replica"]);
    feed(&mut a, maria_primary(""));
    feed(&mut a, maria_replica(replica));
    a
}

const REFUSED: &str = "mysql://monitor@replica-2.prod.example.com:3306: Can't connect to MySQL server on 'replica-2.prod.example.com' (111 \"Connection refused\")";

fn down(w: u16, h: u16) -> App {
    let mut a = app(w, h, &["primary", "replica", "replica-2"]);
    feed(&mut a, maria_primary(""));
    feed(&mut a, maria_replica(healthy_rows()));
    let mut s = ServerSnapshot::unreachable(
        "replica-2",
        "replica-2.prod.example.com:3306",
        ServerRole::Auto,
        None,
        at() - chrono::Duration::seconds(30),
        REFUSED.into(),
    );
    s.next_try = Some(at() + chrono::Duration::seconds(5));
    s.taken_at = at();
    feed(&mut a, s);
    a
}
