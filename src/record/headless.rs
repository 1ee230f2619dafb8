//! `stacktop record`: the configured sources run without a terminal and everything they send
//! is recorded, until SIGINT/SIGTERM (a systemd unit, a tmux pane nobody watches). Nothing is
//! drawn and no app state is kept: updates go straight to the recorder.

use super::codec::wanted;
use super::writer::{Recorder, RecorderOptions};
use crate::config::Config;
use crate::messages::UPDATE_CHANNEL;
use crate::signals::Signals;
use crate::wire::exit;

/// Records until a stopping signal; returns the exit code (128 + the signal, as every mode).
pub async fn run(cfg: &Config, signals: &mut Signals) -> i32 {
    let path = cfg.record.file();
    let shown = super::store::display_target(&path);
    // the sources first: with none configured, no recording is created
    let (tx, mut rx) = tokio::sync::mpsc::channel(UPDATE_CHANNEL);
    let (sources, errors) = crate::sources::Sources::start_configured(cfg, tx);
    for e in &errors {
        eprintln!("stacktop: {e}");
    }
    // kept to the end: dropping a command channel stops its collector
    let handles = sources.into_handles();
    if handles.is_empty() {
        eprintln!(
            "stacktop: nothing to record: configure a source ([pgtop] connection, \
             [[repl.servers]], [vlog] input) in the --config file"
        );
        return exit::USAGE;
    }
    // (their first updates wait in the channel meanwhile)
    let recorder = match Recorder::start(RecorderOptions::new(path.clone(), &cfg.record)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stacktop: {e}");
            return exit::RUNTIME;
        }
    };
    eprintln!("stacktop: recording to {shown}");
    let code = loop {
        tokio::select! {
            u = rx.recv() => match u {
                Some(u) if wanted(&u) => {
                    recorder.offer(chrono::Utc::now().timestamp_millis(), u);
                }
                Some(_) => {}
                None => break exit::RUNTIME,
            },
            stop = signals.recv() => break stop.exit_code(),
        }
    };
    drop(rx);
    drop(handles);
    let stats = recorder.finish();
    eprintln!("stacktop: recording {shown}: {}", stats.summary());
    code
}
