//! The vlog view's actions: search (`f`, `n`/`N`, `:search`), the find / save
//! one-line editors, the detail pane's keys, and saving the filtered rows (`w`, `:save`) as
//! text or JSON lines. The view only renders the rows ([`VlogView::save_bytes`], bounded by
//! the ring); the file is written by the run loop ([`Effect::WriteFile`]), whose outcome
//! comes back as a flash.

use super::{parse_filter, EditorKind, VlogView};
use crate::config::VlogLayout;
use crate::keymap::Action;
use crate::messages::{Effect, SourceCommand};
use crate::views::Ctx;
use crate::vlog::format::{compact_line, json_line, text_block};
use crate::vlog::Request;
use crate::wire::{Level, ViewKind};
use chrono::{DateTime, Local};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use regex::bytes::{Regex, RegexBuilder};
use std::path::{Path, PathBuf};

impl VlogView {
    /// Search from the selection towards older (`back`) or newer rows; wraps around.
    pub(super) fn find(&mut self, back: bool, ctx: &mut Ctx) {
        let Some(re) = self.search.clone() else {
            ctx.flash(Level::Info, "no search: press f to search");
            return;
        };
        let n = self.shown_len();
        if n == 0 {
            return;
        }
        let cur = self.selected_index().unwrap_or(n);
        for step in 1..=n {
            let i = if back {
                (cur + n * 2 - step) % n
            } else {
                (cur + step) % n
            };
            let hit = self
                .matches
                .get(i)
                .and_then(|&s| self.request_at(s))
                .is_some_and(|r| search_matches(&re, r));
            if hit {
                self.move_to_index(Some(i));
                return;
            }
        }
        ctx.flash(
            Level::Warn,
            format!("no row matches '{}'", self.search_text),
        );
    }

    pub(super) fn set_search(&mut self, text: &str, ctx: &mut Ctx) {
        if text.is_empty() {
            self.search = None;
            self.search_text.clear();
            return;
        }
        match RegexBuilder::new(text)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
        {
            Ok(re) => {
                self.search = Some(re);
                self.search_text = text.to_string();
                self.find(true, ctx);
            }
            Err(e) => ctx.flash(Level::Error, format!("search: {e}")),
        }
    }

    /// Default file for `w`: `<save_dir or $XDG_STATE_HOME/stacktop>/vlog-YYYYmmdd-HHMMSS.log`.
    pub fn default_save_path(&self, now: DateTime<Local>) -> PathBuf {
        let dir = self
            .save_dir
            .clone()
            .or_else(crate::private_fs::state_dir)
            .unwrap_or_else(std::env::temp_dir);
        dir.join(format!("vlog-{}.log", now.format("%Y%m%d-%H%M%S")))
    }

    /// One output line (or block) for a request in the configured text layout, or JSON.
    pub fn line(&self, r: &Request, json: bool) -> String {
        if json {
            return json_line(r);
        }
        match self.layout {
            VlogLayout::Compact => compact_line(r),
            VlogLayout::Vlogdump => {
                let mut b = text_block(
                    r,
                    self.filter.show_req_headers,
                    self.filter.show_resp_headers,
                );
                b.pop(); // the caller adds the newline
                b
            }
        }
    }

    /// The shown (filtered) rows as the file `path` should hold them: JSON lines for
    /// `.json`/`.jsonl`/`.ndjson`, text otherwise. Returns the bytes and the row count.
    pub fn save_bytes(&self, path: &Path) -> (Vec<u8>, usize) {
        let json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "json" | "jsonl" | "ndjson"));
        let mut out = Vec::new();
        let mut n = 0;
        for r in self.shown() {
            out.extend_from_slice(self.line(r, json).as_bytes());
            out.push(b'\n');
            n += 1;
        }
        (out, n)
    }

    /// Asks the run loop to write the shown rows to `path` (`~/` expanded).
    pub(super) fn save_to(&mut self, path: &str, ctx: &mut Ctx) {
        let path = expand_home(path.trim());
        let (bytes, n) = self.save_bytes(&path);
        let what = format!("{n} rows");
        ctx.flash(Level::Info, format!("saving {what} to {}…", path.display()));
        ctx.effects.push(Effect::WriteFile {
            view: ViewKind::Vlog,
            path,
            bytes,
            what,
        });
    }

    /// A key on the find / save line: `action` is what the keymap binds to it there
    /// ([`crate::keymap::Modal::VlogEditor`]); other keys are typed.
    pub(super) fn editor_key(&mut self, key: &KeyEvent, action: Option<Action>, ctx: &mut Ctx) {
        let Some(ed) = self.editor.as_mut() else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match (action, key.code) {
            (Some(Action::No), _) => self.editor = None,
            (Some(Action::ClearInput), _) => ed.input.clear(),
            (Some(Action::Yes), _) => {
                if let Some(ed) = self.editor.take() {
                    match ed.kind {
                        EditorKind::Find => self.set_search(ed.input.trim(), ctx),
                        EditorKind::Save if ed.input.trim().is_empty() => {
                            ctx.flash(Level::Warn, "save: no file name given")
                        }
                        EditorKind::Save => self.save_to(&ed.input, ctx),
                    }
                }
            }
            (_, KeyCode::Backspace) => {
                ed.input.pop();
            }
            (_, KeyCode::Char(c)) if !ctrl => ed.input.push(c),
            _ => {}
        }
    }

    /// The request detail ([`crate::keymap::Modal::VlogDetail`]); false for keys it does
    /// not bind (they go on to the view).
    /// Scrolling is the shared [`crate::widgets::scroll::Scroll`] over the pane as the next
    /// frame draws it in `area` (the view's area).
    pub(super) fn detail_key(&mut self, action: Option<Action>, area: Rect) -> bool {
        let Some(action) = action else {
            return false;
        };
        if action == Action::Back && self.detail.is_some() {
            self.detail = None;
            return true;
        }
        let Some((rows, page)) = super::render::detail_geometry(self, area) else {
            return false;
        };
        match self.detail.as_mut() {
            Some(d) => d.scroll.apply(action, rows, page),
            None => false,
        }
    }
}

/// Search haystacks: URL, client, method, status + reason, backend, handling.
fn search_matches(re: &Regex, r: &Request) -> bool {
    if re.is_match(r.url_bytes())
        || re.is_match(r.client_ip_bytes())
        || re.is_match(r.method_bytes())
        || re.is_match(r.backend_bytes())
        || re.is_match(r.reason_bytes())
        || re.is_match(r.handling.label().as_bytes())
    {
        return true;
    }
    r.status
        .is_some_and(|s| re.is_match(s.to_string().as_bytes()))
}

fn expand_home(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => dirs::home_dir().map_or_else(|| PathBuf::from(p), |h| h.join(rest)),
        None => PathBuf::from(p),
    }
}

impl VlogView {
    /// `/` typed (or `:filter`): a preview; a value that does not parse shows the committed
    /// filter again (the reason is shown in the header).
    pub(super) fn preview_filter(&mut self, text: &str) {
        match parse_filter(text) {
            Ok(f) => {
                self.preview_error = None;
                self.filter = f;
                self.filter_text = text.trim().to_string();
                self.recompute();
            }
            Err(e) => {
                self.preview_error = Some(e.to_string());
                if self.is_preview() {
                    self.filter = self.committed.clone();
                    self.filter_text = self.committed_text.clone();
                    self.recompute();
                }
                // Shown in the header while typed; `Enter` says it is refused.
            }
        }
    }

    /// `Enter`, `:filter`, `Esc`: the preview becomes the committed filter, or is refused.
    pub(super) fn commit(&mut self, ctx: &mut Ctx) {
        if let Some(e) = self.preview_error.take() {
            let keep = if self.committed_text.is_empty() {
                "no filter".to_string()
            } else {
                format!("'{}'", self.committed_text)
            };
            ctx.flash(Level::Error, format!("filter refused: {e}; keeping {keep}"));
            return;
        }
        self.committed = self.filter.clone();
        self.committed_text = self.filter_text.clone();
        // The client-side filter stays the authority; the query only thins the stream (the
        // source restarts only if it changed, and only a live varnishlog does).
        if self.push_down {
            let q = self.filter.vsl_query();
            ctx.effects.push(Effect::ToSource(
                ViewKind::Vlog,
                SourceCommand::VlogQuery(q),
            ));
        }
    }
}
