//! The program: parse the command line, load and validate config and theme (all before the
//! terminal changes mode), start the collectors, then run the UI or batch mode. Core dumps
//! are off from the start, and both modes end the same way on SIGINT/SIGTERM/SIGHUP/SIGQUIT
//! (`crate::signals`: exit 128 + the signal), with every child process ended and reaped
//! (`crate::children::Reaper`).

use crate::app::App;
use crate::base::secrets;
use crate::cli::{Cli, Command, ConfigCommand};
use crate::config;
use crate::messages::UPDATE_CHANNEL;
use crate::wire::exit;
use clap::Parser;
use tokio::sync::mpsc;

/// Runs stacktop with the process arguments; returns the exit code.
pub fn main() -> i32 {
    crate::signals::disable_core_dumps();
    crate::panics::install_masking_printer();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    match &cli.command {
        Some(Command::Completions { shell }) => {
            crate::completions::completions(*shell);
            return exit::OK;
        }
        Some(Command::Config(ConfigCommand::Check { files })) => return check(files),
        _ => {}
    }
    let loaded = match config::load(&cli.load_options()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("stacktop: {e}");
            return exit::USAGE;
        }
    };
    for w in &loaded.warnings {
        eprintln!("stacktop: warning: {w}");
    }
    if let Some(Command::Config(ConfigCommand::Show)) = &cli.command {
        return show(&loaded.config);
    }
    let cfg = loaded.config;
    if let Some(Command::Spotify(crate::cli::SpotifyArgs {
        action: Some(action),
        ..
    })) = &cli.command
    {
        // `stacktop spotify import|ask|sql|questions`: no UI; `demo` loads, then opens the tab.
        let code = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt.block_on(crate::spotify::cli::run(
                action,
                &cfg.spotify,
                cfg.batch.json,
            )),
            Err(e) => {
                eprintln!("stacktop: cannot start the async runtime: {e}");
                exit::RUNTIME
            }
        };
        if code != exit::OK || !matches!(action, crate::cli::SpotifyAction::Demo(_)) {
            return code;
        }
    }
    // The same rules as `config check`, all reported at once.
    let user_themes = config::config_dir().map(|d| d.join("themes"));
    let invalid = config::check::validate(&cfg, user_themes.as_deref());
    for i in &invalid {
        match keys_problem_in_files(i, &loaded.files) {
            Some(e) => eprintln!("stacktop: {e}"),
            None => eprintln!("stacktop: {i}"),
        }
    }
    if !invalid.is_empty() {
        return exit::USAGE;
    }
    if let Some(Command::Replay(args)) = &cli.command {
        // listing a store's recordings prints, whether or not --batch was given
        if cfg.batch.enabled || args.list {
            return crate::replay::batch::run(args, cfg);
        }
    }
    if let Some(Command::Pgtop(a)) = &cli.command {
        if a.test_webhook {
            return test_webhook(&cfg.pgtop);
        }
    }
    let mut theme = match crate::theme::load(&cfg.ui.theme, user_themes.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("stacktop: theme: {e}");
            return exit::USAGE;
        }
    };
    if cfg.ui.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        theme = theme.without_colors();
    }
    let start = cli.view().unwrap_or(cfg.ui.start_view);
    // Dropped after the runtime (declared before it), also when the UI panics: kills and
    // reaps the children no collector waited for.
    let _reaper = crate::children::Reaper;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stacktop: cannot start the async runtime: {e}");
            return exit::RUNTIME;
        }
    };
    if let Some(Command::Replay(args)) = &cli.command {
        return crate::replay::tui::run(args, cfg, theme, &runtime);
    }
    if let Some(Command::Record(_)) = &cli.command {
        return runtime.block_on(async {
            let code = match crate::signals::Signals::new() {
                Ok(mut signals) => crate::record::headless::run(&cfg, &mut signals).await,
                Err(e) => {
                    eprintln!("stacktop: cannot install signal handlers: {e}");
                    exit::RUNTIME
                }
            };
            crate::children::kill_all();
            code
        });
    }
    if let Some(Command::Repl(args)) = &cli.command {
        if let Some(format) = args.check_format(cfg.batch.json) {
            let (out, code) = runtime.block_on(crate::repl::check::run(&cfg.repl, format));
            use std::io::Write;
            let mut stdout = std::io::stdout();
            let _ = stdout
                .write_all(out.as_bytes())
                .and_then(|_| stdout.flush());
            return code;
        }
    }
    let batch = cfg.batch.enabled;
    let mut cfg = cfg;
    if batch {
        // one refresh per printed snapshot
        if let Some(d) = cfg.batch.interval {
            let d = config::Dur(d.get().max(std::time::Duration::from_millis(100)));
            cfg.ui.refresh = d;
            cfg.pgtop.refresh = Some(d.get());
            cfg.repl.refresh = Some(d);
        }
    }
    let mut app = App::new(cfg, theme, start);
    for w in loaded.warnings {
        app.set_flash(crate::wire::Level::Warn, w);
    }
    runtime.block_on(async move {
        // Before anything is started: from here on a signal ends stacktop through its exit path.
        let mut signals = match crate::signals::Signals::new() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("stacktop: cannot install signal handlers: {e}");
                return exit::RUNTIME;
            }
        };
        let (tx, rx) = mpsc::channel(UPDATE_CHANNEL);
        // `--record` / `[record] enabled`: a tee to the flight recorder (the app reads first).
        // A live terminal run always has one: without --record it keeps only the last minutes
        // in memory, for the incident bundle key.
        let mut bundler = None;
        let rx = if app.config.record.enabled || !batch {
            let c = &app.config.record;
            let opts = if c.enabled {
                crate::record::writer::RecorderOptions::new(c.file(), c)
            } else {
                crate::record::writer::RecorderOptions::memory_only(c)
            };
            match crate::record::writer::Recorder::start(opts) {
                Ok(r) => {
                    bundler = Some(crate::record::bundle::Bundler::new(r.ring(), c));
                    std::sync::Arc::new(r).tee(rx, UPDATE_CHANNEL)
                }
                Err(e) => {
                    eprintln!("stacktop: {e}");
                    return exit::RUNTIME;
                }
            }
        } else {
            rx
        };
        // only what was asked for: the opened view and (UI) the configured ones
        let mut sources = crate::sources::Sources::start_for(&app.config, start, batch, tx);
        sources.bundler = bundler;
        let body = async move {
            if batch {
                if let Err(e) = sources.start(start) {
                    crate::tui::eprint_line(&format!("stacktop: {e}"));
                    return exit::RUNTIME;
                }
                // nothing starts later in batch mode: keep only the command channels, so the
                // update channel closes when the source's task ends (e.g. a missing file)
                let handles = sources.into_handles();
                let code = tokio::select! {
                    code = crate::batch::run(app, rx) => code,
                    stop = signals.recv() => stop.exit_code(),
                };
                drop(handles);
                code
            } else {
                match crate::tui::run(app, rx, sources, &mut signals).await {
                    Ok(end) => end.code(),
                    Err(e) => {
                        crate::tui::eprint_line(&format!("stacktop: {e}"));
                        exit::RUNTIME
                    }
                }
            }
        };
        // The children's process groups are killed on every way out, a panic included.
        use futures::FutureExt;
        let out = std::panic::AssertUnwindSafe(body).catch_unwind().await;
        crate::children::kill_all();
        out.unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// `stacktop pgtop --test-webhook`: one test message; 0 when the webhook answered 2xx.
fn test_webhook(cfg: &config::PgtopConfig) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stacktop: cannot start the async runtime: {e}");
            return exit::RUNTIME;
        }
    };
    let env = crate::pg::conninfo::Env::system();
    match rt.block_on(crate::pg::source::test_webhook(cfg, &env)) {
        Ok(host) => {
            println!("test message sent to {host}");
            exit::OK
        }
        Err(e) => {
            eprintln!("stacktop: webhook test failed: {e}");
            exit::RUNTIME
        }
    }
}

/// `stacktop config check FILE...`: every problem of every file, exit 2 when there is one.
fn check(files: &[std::path::PathBuf]) -> i32 {
    let themes = config::config_dir().map(|d| d.join("themes"));
    let mut code = exit::OK;
    for f in files {
        let report = config::check::check_file(f, themes.as_deref());
        if report.problems.is_empty() {
            println!("{}: ok", f.display());
        } else {
            code = exit::USAGE;
            for e in &report.problems {
                println!("{e}");
            }
        }
        for w in report.warnings {
            println!("{}: warning: {w}", f.display());
        }
    }
    code
}

/// A `[keys]` problem of the merged layers (each file was fine alone), placed in the last
/// file that sets the key it blames.
fn keys_problem_in_files(
    inv: &config::check::Invalid,
    files: &[std::path::PathBuf],
) -> Option<config::ConfigError> {
    if !inv.key.starts_with("keys") {
        return None;
    }
    files.iter().rev().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        let e = config::check::locate(inv, &text, &f.display().to_string());
        e.line.is_some().then_some(e)
    })
}

fn show(cfg: &config::Config) -> i32 {
    let table = match toml::Table::try_from(cfg) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("stacktop: cannot print the configuration: {e}");
            return exit::RUNTIME;
        }
    };
    match toml::to_string_pretty(&secrets::mask_table(&table)) {
        Ok(s) => {
            print!("{s}");
            exit::OK
        }
        Err(e) => {
            eprintln!("stacktop: cannot print the configuration: {e}");
            exit::RUNTIME
        }
    }
}
