//! The command line as a configuration layer ([`Cli::overlay`], every flag with its config
//! key) and the options [`crate::config::load`] reads.

use super::{Cli, Command, ReplArgs};
use crate::config::{self, LoadOptions, ViewKind};

fn set(t: &mut toml::Table, path: &str, v: toml::Value) {
    let parts: Vec<String> = path.split('.').map(String::from).collect();
    config::load::set_path(t, &parts, v);
}

fn s(v: &str) -> toml::Value {
    toml::Value::String(v.to_string())
}

fn p(v: &std::path::Path) -> toml::Value {
    toml::Value::String(v.display().to_string())
}

impl Cli {
    /// The view to open on.
    pub fn view(&self) -> Option<ViewKind> {
        // a subcommand named for a view opens it (`stacktop vlog …`)
        let name = match self.command {
            Some(Command::Pgtop(_)) => "pgtop",
            Some(Command::Repl(_)) => "repl",
            Some(Command::Vlog(_)) => "vlog",
            Some(Command::Spotify(_)) => "spotify",
            _ => return None,
        };
        ViewKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The command-line layer of the configuration.
    pub fn overlay(&self) -> toml::Table {
        let mut t = toml::Table::new();
        let g = &self.global;
        if let Some(v) = &g.theme {
            set(&mut t, "ui.theme", s(v));
        }
        if let Some(v) = g.refresh {
            set(&mut t, "ui.refresh", s(&v.to_string()));
        }
        if let Some(v) = g.fps {
            set(&mut t, "ui.fps", toml::Value::Integer(i64::from(v)));
        }
        if g.read_only {
            set(&mut t, "ui.read_only", toml::Value::Boolean(true));
        }
        if g.no_color {
            set(&mut t, "ui.no_color", toml::Value::Boolean(true));
        }
        if g.batch {
            set(&mut t, "batch.enabled", toml::Value::Boolean(true));
        }
        if let Some(v) = g.count {
            set(
                &mut t,
                "batch.count",
                toml::Value::Integer(v.min(i64::MAX as u64) as i64),
            );
        }
        if let Some(v) = g.interval {
            set(&mut t, "batch.interval", s(&v.to_string()));
        }
        if g.json {
            set(&mut t, "batch.json", toml::Value::Boolean(true));
        }
        if let Some(v) = g.give_up_after {
            set(&mut t, "batch.give_up_after", s(&v.to_string()));
        }
        if let Some(path) = &g.record {
            set(&mut t, "record.enabled", toml::Value::Boolean(true));
            if let Some(path) = path {
                set(&mut t, "record.path", p(path));
            }
        }
        match &self.command {
            Some(Command::Pgtop(a)) => {
                let strs = [
                    ("pgtop.conninfo", &a.conninfo),
                    ("pgtop.host", &a.host),
                    ("pgtop.user", &a.user),
                    ("pgtop.dbname", &a.dbname),
                    ("pgtop.sslmode", &a.sslmode),
                    ("pgtop.password_env", &a.password_env),
                    ("pgtop.slack_webhook_env", &a.slack_webhook_env),
                ];
                for (k, v) in strs {
                    if let Some(v) = v {
                        set(&mut t, k, s(v));
                    }
                }
                if let Some(v) = a.port {
                    set(&mut t, "pgtop.port", toml::Value::Integer(i64::from(v)));
                }
                if let Some(v) = a.interval {
                    set(&mut t, "batch.interval", s(&v.to_string()));
                }
                let durs = [
                    ("pgtop.query_timeout", a.query_timeout),
                    ("pgtop.slow_threshold", a.slow_threshold),
                    ("pgtop.critical_threshold", a.critical_threshold),
                    (
                        "pgtop.idle_in_transaction_threshold",
                        a.idle_in_transaction_threshold,
                    ),
                    (
                        "pgtop.long_transaction_threshold",
                        a.long_transaction_threshold,
                    ),
                ];
                for (k, v) in durs {
                    if let Some(v) = v {
                        set(&mut t, k, s(&v.to_string()));
                    }
                }
                if let Some(v) = &a.slow_log {
                    set(&mut t, "pgtop.slow_log", p(v));
                }
                if let Some(v) = &a.sslrootcert {
                    set(&mut t, "pgtop.sslrootcert", p(v));
                }
            }
            Some(Command::Vlog(a)) => {
                set(&mut t, "ui.start_view", s("vlog"));
                match &a.file {
                    Some(v) if v.as_os_str() == "-" => {
                        set(&mut t, "vlog.stdin", toml::Value::Boolean(true))
                    }
                    Some(v) => set(&mut t, "vlog.file", p(v)),
                    None => {}
                }
                if a.follow {
                    set(&mut t, "vlog.follow", toml::Value::Boolean(true));
                }
                if let Some(v) = &a.instance {
                    set(&mut t, "vlog.instance", s(v));
                }
                if let Some(v) = &a.query {
                    set(&mut t, "vlog.query", s(v));
                }
                if let Some(v) = a.count {
                    set(
                        &mut t,
                        "batch.count",
                        toml::Value::Integer(v.min(i64::MAX as u64) as i64),
                    );
                }
                if let Some(v) = a.ring_size {
                    set(
                        &mut t,
                        "vlog.ring_size",
                        toml::Value::Integer(v.min(i64::MAX as usize) as i64),
                    );
                }
                if let Some(v) = a.slow {
                    set(&mut t, "vlog.slow", s(&v.to_string()));
                }
                if let Some(v) = &a.replay {
                    set(&mut t, "vlog.replay", p(v));
                }
                if let Some(v) = &a.grouping {
                    set(&mut t, "vlog.grouping", s(v));
                }
                if a.push_down {
                    set(&mut t, "vlog.push_down", toml::Value::Boolean(true));
                }
                if a.vlogdump_layout {
                    set(&mut t, "vlog.batch_layout", s("vlogdump"));
                }
                let mut words = Vec::new();
                for w in &a.filters {
                    if w == "-" {
                        set(&mut t, "vlog.stdin", toml::Value::Boolean(true));
                    } else {
                        words.push(s(w));
                    }
                }
                if !words.is_empty() {
                    set(&mut t, "vlog.filter", toml::Value::Array(words));
                }
            }
            Some(Command::Repl(a)) => a.overlay(&mut t),
            Some(Command::Record(a)) => {
                if let Some(path) = &a.path {
                    set(&mut t, "record.path", p(path));
                }
            }
            Some(Command::Spotify(a)) => {
                let strs = [
                    ("spotify.backend", &a.backend),
                    ("spotify.url", &a.url),
                    ("spotify.host", &a.host),
                    ("spotify.user", &a.user),
                    ("spotify.password_env", &a.password_env),
                    ("spotify.database", &a.database),
                    ("spotify.table", &a.table),
                ];
                for (k, v) in strs {
                    if let Some(v) = v {
                        set(&mut t, k, s(v));
                    }
                }
                if let Some(v) = a.port {
                    set(&mut t, "spotify.port", toml::Value::Integer(i64::from(v)));
                }
                if let Some(v) = &a.path {
                    set(&mut t, "spotify.path", p(v));
                }
                if let Some(v) = &a.data_dir {
                    set(&mut t, "spotify.data_dir", p(v));
                }
            }
            _ => {}
        }
        t
    }

    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            user_file: if self.global.no_user_config {
                None
            } else {
                config::config_dir().map(|d| d.join("config.toml"))
            },
            files: self.global.config.clone(),
            env: std::env::vars().collect(),
            cli: self.overlay(),
        }
    }
}

impl ReplArgs {
    fn overlay(&self, t: &mut toml::Table) {
        let durs = [
            ("repl.lag_warn", self.lag_warn),
            ("repl.lag_crit", self.lag_crit),
            ("repl.connecting_crit", self.connecting_crit),
            ("repl.reconnect_max", self.reconnect_max),
        ];
        for (k, v) in durs {
            if let Some(v) = v {
                set(t, k, s(&v.to_string()));
            }
        }
        if !self.servers.is_empty() {
            let list = self
                .servers
                .iter()
                .filter_map(|srv| {
                    let mut srv = srv.clone();
                    srv.password_env.clone_from(&self.password_env);
                    toml::Value::try_from(srv).ok()
                })
                .collect();
            set(t, "repl.servers", toml::Value::Array(list));
        }
    }

    /// The `--check` action and its format, if asked for.
    pub fn check_format(&self, json: bool) -> Option<crate::repl::check::CheckFormat> {
        use crate::repl::check::CheckFormat;
        self.check.then_some(if self.nagios {
            CheckFormat::Nagios
        } else if json {
            CheckFormat::Json
        } else {
            CheckFormat::Text
        })
    }
}
