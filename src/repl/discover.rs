//! Local discovery: with no `[[repl.servers]]` and the replication source asked for
//! (`stacktop repl` without `--server`, `Enter` / `:connect` in the tab), the server to watch
//! is found the way the `mysql` client finds it, in order:
//! 1. `~/.my.cnf` `[client]`: `socket`, else `host` (not `localhost`) + `port`, else `port`
//!    alone on 127.0.0.1 (the `user` and `password` there are used by the collector; the
//!    password is never shown);
//! 2. the first default socket that exists ([`DEFAULT_SOCKETS`]);
//! 3. 127.0.0.1:3306.
//!
//! The user is the my.cnf `user`, else the OS user (see `collector::opts`). Pure apart from
//! reading `~/.my.cnf` and checking which socket paths exist.

use std::path::{Path, PathBuf};

use super::config::{parse_my_cnf_client, ServerConfig};

/// Where MariaDB / MySQL packages put the server socket, tried in this order.
pub const DEFAULT_SOCKETS: [&str; 3] = [
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/tmp/mysql.sock",
];

/// The server found and how, for the status line ("local server via … (from ~/.my.cnf)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Local {
    pub server: ServerConfig,
    pub how: String,
    /// The lasting label of the replication tab while nothing is configured, e.g.
    /// "discovered: socket /run/mysqld/mysqld.sock" or "discovered: 127.0.0.1:3307 (~/.my.cnf)".
    pub label: String,
}

/// "discovered: socket PATH" or "discovered: HOST:PORT", then `(from)` when not empty.
fn label(s: &ServerConfig, from: &str) -> String {
    let what = match &s.socket {
        Some(p) => format!("socket {}", p.display()),
        None => s.address(),
    };
    // a path from ~/.my.cnf goes on the screen: control characters become `?`
    let what: String = what
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if from.is_empty() {
        format!("discovered: {what}")
    } else {
        format!("discovered: {what} ({from})")
    }
}

/// Discovery with the process's home directory and the real default socket paths.
pub fn local() -> Local {
    let cnf = dirs::home_dir()
        .map(|h| h.join(".my.cnf"))
        .and_then(|p| std::fs::read_to_string(p).ok());
    let sockets: Vec<PathBuf> = DEFAULT_SOCKETS.iter().map(PathBuf::from).collect();
    local_from(cnf.as_deref(), &sockets, |p| p.exists())
}

/// Discovery from the text of `~/.my.cnf` (if any), the socket candidates and an existence
/// check (tests pass their own).
pub fn local_from(
    my_cnf: Option<&str>,
    sockets: &[PathBuf],
    exists: impl Fn(&Path) -> bool,
) -> Local {
    let get = |k: &str| {
        my_cnf
            .and_then(|t| parse_my_cnf_client(t, k))
            .filter(|v| !v.is_empty())
    };
    let mut s = ServerConfig::tcp("local", "127.0.0.1", 3306);
    s.host = None;
    let port = get("port").and_then(|p| p.trim().parse::<u16>().ok());
    let host = get("host").filter(|h| !h.eq_ignore_ascii_case("localhost"));
    let from_cnf = |s: &ServerConfig| Local {
        how: format!("local server via {} (from ~/.my.cnf)", s.address()),
        label: label(s, "~/.my.cnf"),
        server: s.clone(),
    };
    if let Some(sock) = get("socket") {
        s.socket = Some(PathBuf::from(sock));
        return from_cnf(&s);
    }
    if let Some(h) = host {
        s.host = Some(h);
        s.port = port.unwrap_or(3306);
        return from_cnf(&s);
    }
    if let Some(p) = port {
        s.host = Some("127.0.0.1".into());
        s.port = p;
        return from_cnf(&s);
    }
    if let Some(sock) = sockets.iter().find(|p| exists(p)) {
        s.socket = Some(sock.clone());
        return Local {
            how: format!("local server via {} (default socket)", sock.display()),
            label: label(&s, ""),
            server: s,
        };
    }
    s.host = Some("127.0.0.1".into());
    Local {
        how: "local server via 127.0.0.1:3306 (no ~/.my.cnf [client] host, port or socket; \
              no default socket)"
            .into(),
        label: label(&s, "default port"),
        server: s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socks() -> Vec<PathBuf> {
        DEFAULT_SOCKETS.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn my_cnf_first_then_default_socket_then_tcp() {
        let cnf = "[mysqld]\nsocket=/srv/wrong.sock\n[client]\nuser=monitor\npassword=s3cret\n\
                   socket=/srv/my.sock\n";
        let l = local_from(Some(cnf), &socks(), |_| true);
        assert_eq!(l.server.socket.as_deref(), Some(Path::new("/srv/my.sock")));
        assert_eq!(l.how, "local server via /srv/my.sock (from ~/.my.cnf)");
        assert_eq!(l.label, "discovered: socket /srv/my.sock (~/.my.cnf)");
        assert!(!format!("{l:?}").contains("s3cret"), "password never shown");

        let cnf = "[client]\nhost=127.0.0.1\nport=3307\n";
        let l = local_from(Some(cnf), &socks(), |_| true);
        assert_eq!(l.server.address(), "127.0.0.1:3307");
        assert!(l.how.ends_with("(from ~/.my.cnf)"), "{}", l.how);
        assert_eq!(l.label, "discovered: 127.0.0.1:3307 (~/.my.cnf)");

        // only a password in my.cnf: the second default socket that exists wins
        let l = local_from(Some("[client]\npassword=x\n"), &socks(), |p| {
            p == Path::new("/var/run/mysqld/mysqld.sock")
        });
        assert_eq!(l.server.address(), "/var/run/mysqld/mysqld.sock");
        assert_eq!(
            l.how,
            "local server via /var/run/mysqld/mysqld.sock (default socket)"
        );
        assert_eq!(l.label, "discovered: socket /var/run/mysqld/mysqld.sock");

        let l = local_from(
            Some("[client]\nsocket=/tmp/a\u{1b}[2Jb.sock\n"),
            &socks(),
            |_| true,
        );
        assert_eq!(l.label, "discovered: socket /tmp/a?[2Jb.sock (~/.my.cnf)");

        // host=localhost means the socket, as for the mysql client
        let l = local_from(Some("[client]\nhost=localhost\n"), &socks(), |p| {
            p == Path::new("/tmp/mysql.sock")
        });
        assert_eq!(l.server.address(), "/tmp/mysql.sock");

        let l = local_from(None, &socks(), |_| false);
        assert_eq!(l.server.address(), "127.0.0.1:3306");
        assert!(l.how.starts_with("local server via 127.0.0.1:3306"));
        assert_eq!(l.label, "discovered: 127.0.0.1:3306 (default port)");
        assert_eq!(l.server.name, "local");
        assert_eq!(l.server.user, None, "my.cnf user, else the OS user");
    }
}
