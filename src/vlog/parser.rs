//! The streaming front end: byte chunks in (from a pipe, a file or memory), complete lines out
//! to the format parser chosen by `detect`, [`Request`]s appended to the caller's vector.
//! Partial lines are carried over between chunks in one reused buffer; no per-line allocation.

use super::detect::{detect_line, Format};
use super::parse_v2::V2Parser;
use super::parse_v4::V4Parser;
use super::record::Request;

/// Longest line kept when a line spans chunks; longer lines are cut (and counted).
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug)]
enum Inner {
    Undetected,
    V4(Box<V4Parser>),
    V2(Box<V2Parser>),
    Unsupported(Format),
}

/// Auto-detecting, streaming `varnishlog` text parser.
#[derive(Debug)]
pub struct Parser {
    inner: Inner,
    partial: Vec<u8>,
    lines: u64,
    long_lines: u64,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    pub fn new() -> Self {
        Parser {
            inner: Inner::Undetected,
            partial: Vec::new(),
            lines: 0,
            long_lines: 0,
        }
    }

    /// A parser fixed to one format (no sniffing).
    pub fn with_format(f: Format) -> Self {
        let mut p = Self::new();
        p.inner = make(f);
        p
    }

    /// The detected format, once known.
    pub fn format(&self) -> Option<Format> {
        match &self.inner {
            Inner::Undetected => None,
            Inner::V4(_) => Some(Format::V4),
            Inner::V2(_) => Some(Format::V2),
            Inner::Unsupported(f) => Some(*f),
        }
    }

    /// Lines consumed so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Malformed or truncated transactions / requests skipped so far.
    pub fn malformed(&self) -> u64 {
        match &self.inner {
            Inner::V4(p) => p.malformed,
            Inner::V2(p) => p.malformed,
            _ => 0,
        }
    }

    /// Lines that were not understood (garbage, unsupported format, cut long lines).
    pub fn garbage_lines(&self) -> u64 {
        self.long_lines
            + match &self.inner {
                Inner::V4(p) => p.garbage_lines,
                Inner::V2(p) => p.garbage_lines,
                Inner::Unsupported(_) => self.lines,
                Inner::Undetected => 0,
            }
    }

    /// Requests the folder emitted without their backend fetch or restart continuation.
    pub fn incomplete(&self) -> u64 {
        match &self.inner {
            Inner::V4(p) => p.folder().counters.incomplete,
            _ => 0,
        }
    }

    /// Feed a chunk of bytes; finished requests are appended to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Request>) {
        let mut rest = chunk;
        if !self.partial.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    let mut line = std::mem::take(&mut self.partial);
                    self.append_partial(&mut line, &rest[..i]);
                    self.line(&line, out);
                    line.clear();
                    self.partial = line;
                    rest = &rest[i + 1..];
                }
                None => {
                    let mut p = std::mem::take(&mut self.partial);
                    self.append_partial(&mut p, rest);
                    self.partial = p;
                    return;
                }
            }
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', rest) {
            self.line(&rest[start..nl], out);
            start = nl + 1;
        }
        let tail = &rest[start..];
        if !tail.is_empty() {
            let mut p = std::mem::take(&mut self.partial);
            self.append_partial(&mut p, tail);
            self.partial = p;
        }
    }

    fn append_partial(&mut self, buf: &mut Vec<u8>, more: &[u8]) {
        let room = MAX_LINE.saturating_sub(buf.len());
        if more.len() > room {
            self.long_lines += 1;
        }
        buf.extend_from_slice(&more[..more.len().min(room)]);
    }

    /// End of input: flush the last line and everything pending.
    pub fn finish(&mut self, out: &mut Vec<Request>) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, out);
        }
        match &mut self.inner {
            Inner::V4(p) => p.finish(out),
            Inner::V2(p) => p.finish(out),
            _ => {}
        }
    }

    /// Feed one complete line (without `\n`).
    #[inline]
    pub fn line(&mut self, line: &[u8], out: &mut Vec<Request>) {
        self.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match &mut self.inner {
            Inner::V4(p) => p.line(line, out),
            Inner::V2(p) => p.line(line, out),
            Inner::Unsupported(_) => {}
            Inner::Undetected => {
                if let Some(f) = detect_line(line) {
                    self.inner = make(f);
                    self.lines -= 1;
                    self.line(line, out);
                }
            }
        }
    }
}

fn make(f: Format) -> Inner {
    match f {
        Format::V4 => Inner::V4(Box::default()),
        Format::V2 => Inner::V2(Box::default()),
        Format::Raw => Inner::Unsupported(f),
    }
}

/// Parse a whole buffer (tests, batch mode). Returns the requests and the parser (for counters).
pub fn parse_all(data: &[u8]) -> (Vec<Request>, Parser) {
    let mut p = Parser::new();
    let mut out = Vec::new();
    p.feed(data, &mut out);
    p.finish(&mut out);
    (out, p)
}
