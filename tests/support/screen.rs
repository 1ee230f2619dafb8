//! Reading what a view drew: render the whole App into a ratatui `TestBackend` and look at the
//! buffer as text. Included by the view tests with `#[path = "support/screen.rs"] mod screen;`
//! (no servers needed, so not through `mod support`).
#![allow(dead_code)]

use ratatui::buffer::Buffer;
use ratatui::{backend::TestBackend, Terminal};
use stacktop::app::App;

/// The full screen as the run loop would draw it, at `w`x`h`.
pub fn render(a: &App, w: u16, h: u16) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| stacktop::screen::draw(a, f)).expect("draw");
    term.backend().buffer().clone()
}

/// Row `y` as text.
pub fn line(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

/// Every row, joined with newlines (for assertion messages).
pub fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| line(buf, y))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (x, y) of the first cell of `needle` on screen; panics with the screen when absent.
pub fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let l = line(buf, y);
        if let Some(i) = l.find(needle) {
            let x = l[..i].chars().count() as u16;
            return (x, y);
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

/// `(first, last, total)` from a detail pane's "lines A-B of N" indicator, and its row.
pub fn indicator(buf: &Buffer) -> Option<((usize, usize, usize), u16)> {
    (0..buf.area.height).find_map(|y| {
        let l = line(buf, y);
        let at = l.find(" lines ")?;
        let mut it = l[at + 7..].split_whitespace();
        let (a, b) = it.next()?.split_once('-')?;
        (it.next()? == "of").then_some(())?;
        let n = it.next()?.parse().ok()?;
        Some(((a.parse().ok()?, b.parse().ok()?, n), y))
    })
}

/// Whether `word` is on screen whole: present, and not run into by letters or digits on either
/// side (a cut pid `3229`, a cut word `Connection ref…` do not count).
pub fn whole(buf: &Buffer, word: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    (0..buf.area.height).any(|y| {
        let l = line(buf, y);
        l.match_indices(word).any(|(i, _)| {
            !alnum(l[..i].chars().next_back()) && !alnum(l[i + word.len()..].chars().next())
        })
    })
}

/// Asserts every word is on screen whole; the message names the size and shows the screen.
pub fn assert_whole(buf: &Buffer, words: &[&str]) {
    for w in words {
        assert!(
            whole(buf, w),
            "{w:?} not whole at {}x{}:\n{}",
            buf.area.width,
            buf.area.height,
            text(buf)
        );
    }
}

/// The screen as plain text, trailing blanks of each row removed (for notes and messages).
pub fn plain(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| line(buf, y).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
