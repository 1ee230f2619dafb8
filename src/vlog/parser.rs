//! The streaming front end: byte chunks in (from a pipe, a file or memory), complete lines out
//! to the format parser chosen by `detect`, [`Request`]s appended to the caller's vector.
//! Partial lines are carried over between chunks in one reused buffer; no per-line allocation.

use super::detect::{detect_line, Format};
use super::parse_v2::V2Parser;
use super::parse_v4::V4Parser;
use super::request::Request;

/// Longest line parsed; a longer one is dropped whole (never parsed cut), counted, and the
/// transaction it belonged to is counted as malformed.
pub const MAX_LINE: usize = 1 << 20;

/// What a parser went through, for the end-of-input summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseSummary {
    pub lines: u64,
    /// Malformed or truncated transactions / request groups skipped.
    pub malformed: u64,
    /// Lines that were not understood.
    pub garbage_lines: u64,
    /// Lines of `MAX_LINE` bytes or more, dropped.
    pub long_lines: u64,
    /// Requests emitted without their backend fetch or restart continuation.
    pub incomplete: u64,
}

#[derive(Debug)]
enum Inner {
    Undetected,
    V4(Box<V4Parser>),
    V2(Box<V2Parser>),
    Unsupported(Format),
    /// Not text: a binary capture (`varnishlog -w`) or other binary data.
    Binary,
}

/// Auto-detecting, streaming `varnishlog` text parser.
#[derive(Debug)]
pub struct Parser {
    inner: Inner,
    partial: Vec<u8>,
    /// The line being carried over is already longer than `MAX_LINE` (it will be dropped).
    overflow: bool,
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
            overflow: false,
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
            Inner::Binary => None,
        }
    }

    /// The input is binary (a `varnishlog -w` capture or anything with NUL bytes).
    pub fn is_binary(&self) -> bool {
        matches!(self.inner, Inner::Binary)
    }

    /// Counters for the end-of-input summary.
    pub fn summary(&self) -> ParseSummary {
        ParseSummary {
            lines: self.lines,
            malformed: self.malformed(),
            garbage_lines: self.garbage_lines(),
            long_lines: self.long_lines,
            incomplete: self.incomplete(),
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
                Inner::Unsupported(_) | Inner::Binary => self.lines,
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
        if self.is_binary() {
            return;
        }
        if self.lines == 0 && self.partial.is_empty() && chunk.starts_with(b"VSL\0") {
            self.inner = Inner::Binary;
            return;
        }
        let mut rest = chunk;
        if !self.partial.is_empty() || self.overflow {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.append_partial(&rest[..i]);
                    let line = std::mem::take(&mut self.partial);
                    self.complete(&line, out);
                    self.partial = line;
                    self.partial.clear();
                    rest = &rest[i + 1..];
                }
                None => {
                    self.append_partial(rest);
                    return;
                }
            }
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', rest) {
            if nl - start >= MAX_LINE {
                self.long_line();
            } else {
                self.line(&rest[start..nl], out);
            }
            start = nl + 1;
        }
        self.append_partial(&rest[start..]);
    }

    /// A carried-over line is complete: parse it, or drop it when it overflowed.
    fn complete(&mut self, line: &[u8], out: &mut Vec<Request>) {
        if std::mem::take(&mut self.overflow) {
            self.long_line();
        } else {
            self.line(line, out);
        }
    }

    fn append_partial(&mut self, more: &[u8]) {
        if self.overflow || more.is_empty() {
            return;
        }
        if self.partial.len() + more.len() >= MAX_LINE {
            self.overflow = true;
            self.partial = Vec::new(); // give the memory back
        } else {
            self.partial.extend_from_slice(more);
        }
    }

    /// A line of `MAX_LINE` bytes or more: never parsed; its transaction is damaged.
    fn long_line(&mut self) {
        self.lines += 1;
        self.long_lines += 1;
        match &mut self.inner {
            Inner::V4(p) => p.taint(),
            Inner::V2(p) => p.taint(),
            _ => {}
        }
    }

    /// End of input: flush the last line and everything pending.
    pub fn finish(&mut self, out: &mut Vec<Request>) {
        if !self.partial.is_empty() || self.overflow {
            let line = std::mem::take(&mut self.partial);
            self.complete(&line, out);
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
            Inner::Unsupported(_) | Inner::Binary => {}
            Inner::Undetected => {
                if memchr::memchr(0, line).is_some() {
                    self.inner = Inner::Binary;
                } else if let Some(f) = detect_line(line) {
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
