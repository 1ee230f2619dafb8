//! `:` commands: every command is declared once in [`COMMANDS`] (name, aliases, argument
//! syntax, one-line help, the views it belongs to) and read by one parser, [`parse`]. The app
//! dispatches the global ones and hands the others, already parsed, to the active view
//! ([`crate::views::View::command`]); the `?` help and the unknown-command message list the
//! same table, so they cannot disagree with what runs. (A little over 500 lines: the table
//! is most of it; adding a command is one entry here and one match arm in its view.)

use std::time::Duration;

use crate::base::Dur;
use crate::wire::ViewKind;

/// What a command takes after its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSpec {
    /// Nothing (anything typed after the name is ignored, as before).
    None,
    /// A duration: `500ms`, `2s`, `1m30s`, or a number of seconds.
    Dur,
    /// A duration, or `off` / `0` / nothing for none.
    DurOrOff,
    /// A whole number in `min..=max`.
    Count { min: u64, max: u64 },
    /// Text, required.
    Text,
    /// Text, may be empty.
    OptText,
}

/// One `:` command.
#[derive(Clone, Copy, Debug)]
pub struct Command {
    /// The name dispatched on (views match on it).
    pub name: &'static str,
    /// Other spellings that run the same command.
    pub aliases: &'static [&'static str],
    /// How the argument is written in help, e.g. `DUR`, `[PATH]`, `FILE…`.
    pub syntax: &'static str,
    pub arg: ArgSpec,
    /// One line for `?`.
    pub help: &'static str,
    /// The names of the views that have it (`ViewKind::name`, as the `[keys]` scopes);
    /// empty = every view (the app runs it).
    pub views: &'static [&'static str],
}

/// A parsed argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    None,
    Dur(Duration),
    /// `off`, `0` or nothing for an [`ArgSpec::DurOrOff`].
    Off,
    N(u64),
    Text(String),
}

/// A command line that parsed: the command and its argument (`raw` is the text after the
/// name, words joined by one space).
#[derive(Clone, Debug)]
pub struct Invocation {
    pub cmd: &'static Command,
    pub arg: Arg,
    pub raw: String,
}

impl Invocation {
    pub fn name(&self) -> &'static str {
        self.cmd.name
    }

    /// The text argument (empty when there is none).
    pub fn text(&self) -> &str {
        match &self.arg {
            Arg::Text(t) => t,
            _ => "",
        }
    }
}

/// Why a command line did not parse.
#[derive(Clone, Debug, PartialEq)]
pub enum CommandError {
    /// No command of that name in this view. `elsewhere`: the views that do have it.
    Unknown {
        name: String,
        elsewhere: Vec<ViewKind>,
    },
    /// The argument does not fit: the message names the command, e.g. `:slow: expected …`.
    BadArg(String),
}

// the views, by name
const PG: &str = "pgtop";
const VL: &str = "vlog";
const SP: &str = "spotify";

const fn c(
    name: &'static str,
    aliases: &'static [&'static str],
    syntax: &'static str,
    arg: ArgSpec,
    help: &'static str,
    views: &'static [&'static str],
) -> Command {
    Command {
        name,
        aliases,
        syntax,
        arg,
        help,
        views,
    }
}

const ALL: &[&str] = &[];

/// The command table: [`BEFORE_TABS`], a command per tab ([`tab_commands`]), [`AFTER_TABS`].
/// View commands come first (they lead the help of their view).
pub static COMMANDS: std::sync::LazyLock<Vec<Command>> = std::sync::LazyLock::new(|| {
    BEFORE_TABS
        .iter()
        .copied()
        .chain(tab_commands())
        .chain(AFTER_TABS.iter().copied())
        .collect()
});

/// `:NAME` (and the tab's aliases) goes to a tab.
fn tab_commands() -> impl Iterator<Item = Command> {
    ViewKind::ALL.into_iter().map(|k| {
        let help: &'static str = format!("go to the {} view", k.title()).leak();
        c(k.name(), k.tab().aliases, "", ArgSpec::None, help, ALL)
    })
}

const BEFORE_TABS: &[Command] = &[
    // pgtop
    c(
        "slow",
        &[],
        "DUR",
        ArgSpec::Dur,
        "mark queries running longer than DUR as slow (K cancels them)",
        &[PG],
    ),
    c(
        "critical",
        &["crit"],
        "DUR",
        ArgSpec::Dur,
        "mark queries running longer than DUR as critical",
        &[PG],
    ),
    c(
        "idle",
        &["idle_tx"],
        "DUR",
        ArgSpec::Dur,
        "mark sessions idle in transaction longer than DUR",
        &[PG],
    ),
    c(
        "long",
        &["long_tx"],
        "DUR",
        ArgSpec::Dur,
        "mark transactions older than DUR (statement young) as long transactions",
        &[PG],
    ),
    c(
        "min",
        &[],
        "DUR|off",
        ArgSpec::DurOrOff,
        "list only sessions running at least DUR (off: all)",
        &[PG],
    ),
    // vlog
    c(
        "save",
        &["w"],
        "[PATH]",
        ArgSpec::OptText,
        "save the filtered rows to PATH (default: a file named by the time)",
        &[VL],
    ),
    c(
        "search",
        &["find"],
        "RE",
        ArgSpec::OptText,
        "find rows matching RE (URL, client, status, backend); nothing clears",
        &[VL],
    ),
    c(
        "slow",
        &[],
        "DUR",
        ArgSpec::Dur,
        "mark requests slower than DUR as slow",
        &[VL],
    ),
    // spotify
    c(
        "import",
        &[],
        "FILE…",
        ArgSpec::OptText,
        "import chart CSV files into the store",
        &[SP],
    ),
    c(
        "export",
        &[],
        "[FILE]",
        ArgSpec::OptText,
        "export the whole result to CSV (.json: JSON)",
        &[SP],
    ),
    c(
        "country",
        &[],
        "CC|all",
        ArgSpec::OptText,
        "questions for one country (two-letter code, global) or all",
        &[SP],
    ),
    c(
        "year",
        &[],
        "YYYY",
        ArgSpec::Count { min: 1, max: 9998 },
        "questions over one calendar year",
        &[SP],
    ),
    c(
        "from",
        &[],
        "DATE|all",
        ArgSpec::OptText,
        "questions from this day on (YYYY-MM-DD)",
        &[SP],
    ),
    c(
        "to",
        &[],
        "DATE|all",
        ArgSpec::OptText,
        "questions up to this day (YYYY-MM-DD)",
        &[SP],
    ),
    c(
        "positions",
        &["pos"],
        "A-B|all",
        ArgSpec::OptText,
        "only chart positions A to B",
        &[SP],
    ),
    c(
        "limit",
        &[],
        "N",
        ArgSpec::Count {
            min: 1,
            max: 100_000,
        },
        "at most N result rows (1..100000)",
        &[SP],
    ),
    c(
        "track",
        &[],
        "ID|-",
        ArgSpec::OptText,
        "the track of the track-history question (-: picked for you)",
        &[SP],
    ),
    c(
        "sql",
        &[],
        "TEXT",
        ArgSpec::OptText,
        "run one read-only SQL statement (also put in the editor)",
        &[SP],
    ),
    c(
        "save",
        &[],
        "NAME",
        ArgSpec::OptText,
        "save the editor's SQL as a question named NAME",
        &[SP],
    ),
    // every view
    c(
        "goto",
        &["go"],
        "TIME",
        ArgSpec::Text,
        "replay: move the time cursor to TIME (03:12, 03:12:05, 2026-12-03 03:12)",
        ALL,
    ),
    c(
        "speed",
        &[],
        "1|10|60",
        ArgSpec::Count { min: 1, max: 60 },
        "replay: play at 1, 10 or 60 times real time",
        ALL,
    ),
    c(
        "filter",
        &["f"],
        "TEXT",
        ArgSpec::OptText,
        "set the filter (as typed at /; nothing clears it)",
        ALL,
    ),
    c(
        "refresh",
        &["interval", "s"],
        "DUR",
        ArgSpec::Dur,
        "refresh every DUR (at least 100ms)",
        ALL,
    ),
    c(
        "pause",
        &["resume"],
        "",
        ArgSpec::None,
        "pause / resume updates",
        ALL,
    ),
    c(
        "connect",
        &[],
        "",
        ArgSpec::None,
        "start this view's source with the config's settings",
        ALL,
    ),
    c(
        "theme",
        &[],
        "NAME",
        ArgSpec::Text,
        "switch the colour theme (builtin name or a file in themes/)",
        ALL,
    ),
];

const AFTER_TABS: &[Command] = &[
    c("help", &["h"], "", ArgSpec::None, "this help", ALL),
    c("quit", &["q", "exit"], "", ArgSpec::None, "quit", ALL),
];

impl Command {
    /// Whether the command exists in `view`.
    pub fn in_view(&self, view: ViewKind) -> bool {
        self.views.is_empty() || self.views.contains(&view.name())
    }

    /// Whether it is run by the app in every view (not by one view).
    pub fn is_global(&self) -> bool {
        self.views.is_empty()
    }

    fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }

    /// `:name SYNTAX`, as help shows it.
    pub fn usage(&self) -> String {
        if self.syntax.is_empty() {
            format!(":{}", self.name)
        } else {
            format!(":{} {}", self.name, self.syntax)
        }
    }
}

/// The commands of `view`: its own first, then those of every view.
pub fn for_view(view: ViewKind) -> impl Iterator<Item = &'static Command> {
    let own = COMMANDS
        .iter()
        .filter(move |c| c.views.contains(&view.name()));
    own.chain(COMMANDS.iter().filter(|c| c.is_global()))
}

/// The command `name` (or an alias) in `view`.
pub fn lookup(view: ViewKind, name: &str) -> Option<&'static Command> {
    let name = name.to_ascii_lowercase();
    for_view(view).find(|c| c.answers_to(&name))
}

/// Parses a command line typed at `:` in `view`. `Ok(None)` for an empty line.
pub fn parse(view: ViewKind, line: &str) -> Result<Option<Invocation>, CommandError> {
    let mut words = line.split_whitespace();
    let Some(name) = words.next() else {
        return Ok(None);
    };
    let raw = words.collect::<Vec<_>>().join(" ");
    let Some(cmd) = lookup(view, name) else {
        let lower = name.to_ascii_lowercase();
        let mut elsewhere: Vec<ViewKind> = COMMANDS
            .iter()
            .filter(|c| c.answers_to(&lower))
            .flat_map(|c| c.views.iter().filter_map(|n| ViewKind::parse(n)))
            .collect();
        elsewhere.dedup();
        return Err(CommandError::Unknown {
            name: name.to_string(),
            elsewhere,
        });
    };
    let arg = parse_arg(cmd, &raw).map_err(CommandError::BadArg)?;
    Ok(Some(Invocation { cmd, arg, raw }))
}

fn parse_arg(cmd: &Command, raw: &str) -> Result<Arg, String> {
    let bad = |why: String| format!(":{}: {why}", cmd.name);
    Ok(match cmd.arg {
        ArgSpec::None => Arg::None,
        ArgSpec::Dur if raw.is_empty() => return Err(bad("give a duration such as 2s".into())),
        ArgSpec::Dur => Arg::Dur(parse_dur(raw).map_err(bad)?),
        ArgSpec::DurOrOff => match raw.to_ascii_lowercase().as_str() {
            "" | "off" | "0" => Arg::Off,
            _ => Arg::Dur(parse_dur(raw).map_err(bad)?),
        },
        ArgSpec::Count { min, max } => match raw.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Arg::N(n),
            _ => {
                return Err(bad(format!(
                    "expected {} ({min}..{max}), got \"{raw}\"",
                    cmd.syntax
                )))
            }
        },
        ArgSpec::Text if raw.is_empty() => return Err(bad(format!("give {}", cmd.syntax))),
        ArgSpec::Text | ArgSpec::OptText => Arg::Text(raw.to_string()),
    })
}

/// A duration argument: `500ms`, `2s`, `1m30s`, or seconds (up to one year).
pub fn parse_dur(s: &str) -> Result<Duration, String> {
    s.parse::<Dur>().map(|d| d.get())
}

/// The message for a command line that did not parse in `view`.
pub fn error_text(view: ViewKind, e: &CommandError) -> String {
    match e {
        CommandError::BadArg(m) => m.clone(),
        CommandError::Unknown { name, elsewhere } => {
            let names: Vec<String> = for_view(view).map(|c| c.usage()).collect();
            let there = match elsewhere.as_slice() {
                [] => String::new(),
                v => format!(
                    " (a {} command)",
                    v.iter().map(|k| k.title()).collect::<Vec<_>>().join("/")
                ),
            };
            format!(
                "unknown command ':{name}'{there}; {} has {} · ? lists them",
                view.title(),
                names.join(" ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PG: ViewKind = ViewKind::Pgtop;
    const VL: ViewKind = ViewKind::Vlog;
    const SP: ViewKind = ViewKind::Spotify;

    fn inv(view: ViewKind, line: &str) -> Invocation {
        parse(view, line).unwrap().unwrap()
    }

    #[test]
    fn the_views_column_names_tabs() {
        for c in COMMANDS.iter() {
            for v in c.views {
                assert_eq!(
                    ViewKind::parse(v).map(|k| k.name()),
                    Some(*v),
                    ":{}",
                    c.name
                );
            }
        }
        for k in ViewKind::ALL {
            assert_eq!(lookup(k, k.name()).map(|c| c.name), Some(k.name()));
        }
    }

    #[test]
    fn names_and_aliases_are_unique_per_view() {
        for v in ViewKind::ALL {
            let mut seen = std::collections::HashSet::new();
            for c in for_view(v) {
                for n in std::iter::once(&c.name).chain(c.aliases) {
                    assert!(seen.insert(*n), "{n} twice in {v:?}");
                }
            }
        }
    }

    #[test]
    fn the_same_name_is_a_different_command_per_view() {
        assert_eq!(inv(PG, "slow 2s").cmd.views, &["pgtop"]);
        assert_eq!(inv(VL, "slow 2s").cmd.views, &["vlog"]);
        assert!(matches!(
            parse(ViewKind::Repl, "slow 2s"),
            Err(CommandError::Unknown { ref elsewhere, .. }) if elsewhere == &[PG, VL]
        ));
    }

    #[test]
    fn arguments_parse_with_clear_errors() {
        assert_eq!(inv(PG, "crit 1m").arg, Arg::Dur(Duration::from_secs(60)));
        assert_eq!(inv(PG, "crit 1m").name(), "critical");
        assert_eq!(inv(PG, "MIN off").arg, Arg::Off);
        assert_eq!(inv(PG, "min").arg, Arg::Off);
        assert_eq!(inv(SP, "limit 20").arg, Arg::N(20));
        assert_eq!(inv(VL, "w /tmp/a b").text(), "/tmp/a b");
        assert_eq!(inv(PG, "quit now").arg, Arg::None);
        assert!(parse(PG, "   ").unwrap().is_none());
        let err = |v, l| match parse(v, l) {
            Err(CommandError::BadArg(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(PG, "slow x").starts_with(":slow: expected a duration"));
        assert!(err(PG, "slow").contains("give a duration"));
        assert_eq!(
            err(SP, "limit 0"),
            ":limit: expected N (1..100000), got \"0\""
        );
        assert_eq!(err(PG, "theme"), ":theme: give NAME");
        assert!(err(PG, "refresh soon").starts_with(":refresh: expected a duration"));
    }

    #[test]
    fn unknown_names_list_the_views_commands() {
        let e = parse(PG, "import x").unwrap_err();
        let m = error_text(PG, &e);
        assert!(
            m.starts_with("unknown command ':import' (a spotify command)"),
            "{m}"
        );
        assert!(m.contains(":slow DUR") && m.contains(":min DUR|off"), "{m}");
        assert!(!m.contains(":limit"), "{m}");
    }
}
