//! The SQL editor of the spotify tab: multi-line text with a cursor, history (Ctrl-P/Ctrl-N,
//! or ↑/↓ on the first/last line; kept in the data dir by the collector, see
//! `spotify::history`) and the keys that run or cancel a query. Pure state: key
//! handling returns an [`EditorOutcome`] and the view decides what to send.
//!
//! Data flow: `SpotifyView::modal_key` → [`Editor::key`] → outcome → view → runner request.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::spotify::history;

/// What a key did in the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditorOutcome {
    /// Text or cursor changed (or nothing happened).
    Edited,
    /// Run the text (Ctrl-R, F5, Ctrl-Enter).
    Run,
    /// Cancel the running query (Ctrl-X).
    Cancel,
    /// Leave the editor (Esc).
    Leave,
    /// Ctrl-C: does not quit from inside the editor.
    CtrlC,
}

/// Multi-line text, cursor (line, char column) and history.
#[derive(Debug, Clone)]
pub struct Editor {
    pub lines: Vec<String>,
    pub row: usize,
    /// Column in chars.
    pub col: usize,
    pub history: Vec<String>,
    /// Position while browsing the history (`None` = editing new text).
    hist_pos: Option<usize>,
    /// The text being edited before browsing the history started.
    draft: Option<String>,
}

impl Default for Editor {
    fn default() -> Self {
        Editor {
            lines: vec![String::new()],
            row: 0,
            col: 0,
            history: Vec::new(),
            hist_pos: None,
            draft: None,
        }
    }
}

fn byte_at(s: &str, col: usize) -> usize {
    s.char_indices().nth(col).map_or(s.len(), |(i, _)| i)
}

impl Editor {
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    /// Replace the text; the cursor goes to the end.
    pub fn set_text(&mut self, text: &str) {
        self.lines = text.split('\n').map(str::to_string).collect();
        if self.lines.is_empty() {
            self.lines.push(String::new());
        }
        self.row = self.lines.len() - 1;
        self.col = self.lines[self.row].chars().count();
        self.hist_pos = None;
        self.draft = None;
    }

    /// Remember `sql` (rules in [`history::push`]); returns whether the history changed.
    pub fn push_history(&mut self, sql: &str) -> bool {
        self.hist_pos = None;
        self.draft = None;
        history::push(&mut self.history, sql)
    }

    /// Put the history saved by earlier sessions before this session's statements.
    pub fn load_history(&mut self, saved: Vec<String>) {
        self.history = history::merge(saved, &self.history);
        self.hist_pos = None;
        self.draft = None;
    }

    fn line_len(&self) -> usize {
        self.lines[self.row].chars().count()
    }

    pub(super) fn history_prev(&mut self) {
        if self.history.is_empty() {
            return;
        }
        let pos = match self.hist_pos {
            None => {
                self.draft = Some(self.text());
                self.history.len() - 1
            }
            Some(0) => 0,
            Some(p) => p - 1,
        };
        self.show_history(Some(pos));
    }

    pub(super) fn history_next(&mut self) {
        match self.hist_pos {
            None => {}
            Some(p) if p + 1 < self.history.len() => self.show_history(Some(p + 1)),
            Some(_) => {
                let draft = self.draft.take().unwrap_or_default();
                self.show_history(None);
                self.set_text(&draft);
            }
        }
    }

    fn show_history(&mut self, pos: Option<usize>) {
        if let Some(p) = pos {
            let text = self.history[p].clone();
            let draft = self.draft.take();
            self.set_text(&text);
            self.draft = draft;
        }
        self.hist_pos = pos;
    }

    fn insert(&mut self, c: char) {
        let b = byte_at(&self.lines[self.row], self.col);
        self.lines[self.row].insert(b, c);
        self.col += 1;
    }

    fn newline(&mut self) {
        let b = byte_at(&self.lines[self.row], self.col);
        let rest = self.lines[self.row].split_off(b);
        self.lines.insert(self.row + 1, rest);
        self.row += 1;
        self.col = 0;
    }

    fn backspace(&mut self) {
        if self.col > 0 {
            let b = byte_at(&self.lines[self.row], self.col - 1);
            self.lines[self.row].remove(b);
            self.col -= 1;
        } else if self.row > 0 {
            let line = self.lines.remove(self.row);
            self.row -= 1;
            self.col = self.line_len();
            self.lines[self.row].push_str(&line);
        }
    }

    fn delete(&mut self) {
        if self.col < self.line_len() {
            let b = byte_at(&self.lines[self.row], self.col);
            self.lines[self.row].remove(b);
        } else if self.row + 1 < self.lines.len() {
            let next = self.lines.remove(self.row + 1);
            self.lines[self.row].push_str(&next);
        }
    }

    /// Handle one key.
    pub fn key(&mut self, key: &KeyEvent) -> EditorOutcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return EditorOutcome::Leave,
            KeyCode::F(5) => return EditorOutcome::Run,
            KeyCode::Enter if ctrl => return EditorOutcome::Run,
            KeyCode::Char('r' | 'j') if ctrl => return EditorOutcome::Run,
            KeyCode::Char('x') if ctrl => return EditorOutcome::Cancel,
            KeyCode::Char('c') if ctrl => return EditorOutcome::CtrlC,
            KeyCode::Char('p') if ctrl => self.history_prev(),
            KeyCode::Char('n') if ctrl => self.history_next(),
            KeyCode::Char('l') if ctrl => self.set_text(""),
            KeyCode::Char('a') if ctrl => self.col = 0,
            KeyCode::Char('e') if ctrl => self.col = self.line_len(),
            KeyCode::Char(_) if ctrl => {}
            KeyCode::Char(c) => self.insert(c),
            KeyCode::Tab => {
                self.insert(' ');
                self.insert(' ');
            }
            KeyCode::Enter => self.newline(),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left if self.col > 0 => self.col -= 1,
            KeyCode::Left if self.row > 0 => {
                self.row -= 1;
                self.col = self.line_len();
            }
            KeyCode::Right if self.col < self.line_len() => self.col += 1,
            KeyCode::Right if self.row + 1 < self.lines.len() => {
                self.row += 1;
                self.col = 0;
            }
            KeyCode::Up if self.row == 0 => self.history_prev(),
            KeyCode::Up => {
                self.row -= 1;
                self.col = self.col.min(self.line_len());
            }
            KeyCode::Down if self.row + 1 >= self.lines.len() => self.history_next(),
            KeyCode::Down => {
                self.row += 1;
                self.col = self.col.min(self.line_len());
            }
            KeyCode::Home => self.col = 0,
            KeyCode::End => self.col = self.line_len(),
            _ => {}
        }
        EditorOutcome::Edited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn typ(e: &mut Editor, s: &str) {
        for c in s.chars() {
            if c == '\n' {
                e.key(&k(KeyCode::Enter));
            } else {
                e.key(&k(KeyCode::Char(c)));
            }
        }
    }

    #[test]
    fn multi_line_editing_with_unicode() {
        let mut e = Editor::default();
        typ(&mut e, "SELECT 'é🔥'\nFROM t");
        assert_eq!(e.text(), "SELECT 'é🔥'\nFROM t");
        e.key(&k(KeyCode::Up));
        e.key(&k(KeyCode::End));
        e.key(&k(KeyCode::Left));
        e.key(&k(KeyCode::Backspace));
        assert_eq!(e.lines[0], "SELECT 'é'");
        e.key(&k(KeyCode::Home));
        e.key(&k(KeyCode::Backspace));
        assert_eq!(e.lines[0], "SELECT 'é'", "nothing before the first line");
        e.key(&k(KeyCode::Down));
        e.key(&k(KeyCode::Home));
        e.key(&k(KeyCode::Backspace));
        assert_eq!(e.text(), "SELECT 'é'FROM t");
        assert_eq!(e.key(&ctrl('r')), EditorOutcome::Run);
        assert_eq!(e.key(&k(KeyCode::F(5))), EditorOutcome::Run);
        assert_eq!(
            e.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::CONTROL)),
            EditorOutcome::Run
        );
        assert_eq!(e.key(&ctrl('x')), EditorOutcome::Cancel);
        assert_eq!(e.key(&k(KeyCode::Esc)), EditorOutcome::Leave);
    }

    #[test]
    fn history_with_ctrl_p_n_and_arrows_at_the_edges() {
        let mut e = Editor::default();
        e.push_history("SELECT 1");
        e.push_history("SELECT 2");
        e.push_history("SELECT 2");
        assert_eq!(e.history.len(), 2);
        typ(&mut e, "draft");
        e.key(&ctrl('p'));
        assert_eq!(e.text(), "SELECT 2");
        e.key(&k(KeyCode::Up));
        assert_eq!(e.text(), "SELECT 1");
        e.key(&k(KeyCode::Up));
        assert_eq!(e.text(), "SELECT 1", "stays at the oldest");
        e.key(&ctrl('n'));
        assert_eq!(e.text(), "SELECT 2");
        e.key(&k(KeyCode::Down));
        assert_eq!(e.text(), "draft", "back to the draft");
    }
}
