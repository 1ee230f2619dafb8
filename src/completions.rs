//! Shell completion scripts (`stacktop completions SHELL`): clap's generator over the
//! command line of [`crate::cli`], with the option values a user picks from offered instead
//! of file names: `--theme` the shipped theme names and those in `~/.config/stacktop/themes`
//! (read when the script is generated), `--grouping` its three values.

use clap::CommandFactory;

use crate::cli::Cli;

/// Theme names for completion: the shipped ones, then the `NAME.toml` files of `user_dir`
/// (`~/.config/stacktop/themes`) whose names are plain (letters, digits, `-`, `_`), sorted.
pub fn theme_names(user_dir: Option<&std::path::Path>) -> Vec<String> {
    let mut names: Vec<String> = crate::theme::BUILTIN
        .iter()
        .map(|(n, _)| (*n).to_string())
        .collect();
    let mut user: Vec<String> = user_dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".toml")?;
            (!stem.is_empty() && crate::private_fs::safe_name(stem) == stem)
                .then(|| stem.to_string())
        })
        .filter(|n| !names.contains(n))
        .collect();
    user.sort();
    user.dedup();
    names.extend(user);
    names
}

/// The command for completion scripts: `--theme` offers the theme names (a file path still
/// works when typed), `--grouping` its values; neither completes file names.
pub fn completion_command(user_themes: Option<&std::path::Path>) -> clap::Command {
    // clap wants `'static` value names (no "string" feature): this command is built once per
    // `stacktop completions` run, so the few names are leaked on purpose.
    let names: Vec<&'static str> = theme_names(user_themes)
        .into_iter()
        .map(|n| &*Box::leak(n.into_boxed_str()))
        .collect();
    Cli::command().mut_arg("theme", |a| {
        a.value_parser(clap::builder::PossibleValuesParser::new(names))
    })
}

/// Writes shell completions to stdout.
pub fn completions(shell: clap_complete::Shell) {
    let themes = crate::config::config_dir().map(|d| d.join("themes"));
    let mut cmd = completion_command(themes.as_deref());
    clap_complete::generate(shell, &mut cmd, "stacktop", &mut std::io::stdout());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_names_are_the_shipped_ones_then_plain_user_files() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "ocean.toml",
            "light.toml",
            "a b.toml",
            "notes.txt",
            "dusk.toml",
        ] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        assert_eq!(
            theme_names(Some(dir.path())),
            ["default", "light", "mono", "dusk", "ocean"]
        );
        assert_eq!(theme_names(None), ["default", "light", "mono"]);
        assert_eq!(
            theme_names(Some(&dir.path().join("missing"))),
            ["default", "light", "mono"]
        );
    }
}
