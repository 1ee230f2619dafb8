//! Bounds on CSV input: a reader wrapper that follows the CSV quoting rules of the `csv` crate
//! (a `"` opens a quoted field only at the start of a field; `""` inside one is a quote) and
//! stops with a [`LimitError`] as soon as one record grows past
//! [`CsvLimits::max_record_bytes`], before the `csv` crate has buffered it. A stray `"` that
//! opens a field nobody closes therefore costs at most one record's worth of memory, and the
//! error names the line where that field began. [`clip`] shortens values quoted in messages.
//!
//! Data flow: file → [`Bounded`] → `csv::Reader` (`parse::parse_file`).

use std::io::{self, Read};

/// Limits applied to every CSV record of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvLimits {
    /// Bytes in one record (quoted newlines included); a longer one stops the import.
    pub max_record_bytes: usize,
    /// Fields in one record; a row with more is a bad row.
    pub max_fields: usize,
}

impl Default for CsvLimits {
    fn default() -> Self {
        CsvLimits {
            max_record_bytes: 1 << 20,
            max_fields: 64,
        }
    }
}

/// A record over [`CsvLimits::max_record_bytes`]. Stops the import (nothing is loaded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct LimitError {
    /// The file (empty inside the reader; set by the parser).
    pub file: std::path::PathBuf,
    /// Line (1-based, counted from the start of the file) where the record began.
    pub line: u64,
    /// Line where the still-open quoted field began, if the record is inside one.
    pub open_quote_line: Option<u64>,
    pub limit: usize,
}

impl LimitError {
    fn describe(&self) -> String {
        let size = human_bytes(self.limit);
        // `file:line: …` like the bad-row reports; the line is where the trouble began.
        let at = |line: u64| {
            if self.file.as_os_str().is_empty() {
                format!("line {line}")
            } else {
                format!("{}:{line}", self.file.display())
            }
        };
        match self.open_quote_line {
            Some(q) => format!(
                "{}: a quoted field opened on line {q} is still open after {size} \
                 (a stray `\"`?); the import stopped and nothing was loaded",
                at(q)
            ),
            None => format!(
                "{}: record longer than {size} (the limit); the import stopped and \
                 nothing was loaded",
                at(self.line)
            ),
        }
    }
}

fn human_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StartField,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: `""` (an escaped quote) or the closing quote.
    QuoteInQuoted,
}

/// Wraps the file read by the CSV parser; fails the read that would take a record past the
/// limit. `first_line` is the line number of the first byte it sees.
pub struct Bounded<R> {
    inner: R,
    limit: usize,
    state: State,
    /// Bytes of the current record so far.
    len: usize,
    line: u64,
    record_line: u64,
    quote_line: u64,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R, limit: usize, first_line: u64) -> Self {
        Bounded {
            inner,
            limit: limit.max(1),
            state: State::StartField,
            len: 0,
            line: first_line,
            record_line: first_line,
            quote_line: first_line,
        }
    }

    fn scan(&mut self, chunk: &[u8]) -> Result<(), LimitError> {
        for &b in chunk {
            self.len += 1;
            let end_of_record = match (self.state, b) {
                (State::Quoted, b'"') => {
                    self.state = State::QuoteInQuoted;
                    false
                }
                (State::Quoted, _) => false,
                (State::StartField, b'"') => {
                    self.state = State::Quoted;
                    self.quote_line = self.line;
                    false
                }
                (State::QuoteInQuoted, b'"') => {
                    self.state = State::Quoted;
                    false
                }
                (_, b',') => {
                    self.state = State::StartField;
                    false
                }
                (_, b'\n' | b'\r') => {
                    self.state = State::StartField;
                    true
                }
                _ => {
                    self.state = State::Unquoted;
                    false
                }
            };
            if b == b'\n' {
                self.line += 1;
            }
            if end_of_record {
                self.len = 0;
                self.record_line = self.line;
            } else if self.len > self.limit {
                return Err(LimitError {
                    file: Default::default(),
                    line: self.record_line,
                    open_quote_line: (self.state == State::Quoted).then_some(self.quote_line),
                    limit: self.limit,
                });
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]).map_err(io::Error::other)?;
        Ok(n)
    }
}

/// The [`LimitError`] inside a `csv` read error, if that is what it is.
pub fn limit_error(e: &csv::Error) -> Option<&LimitError> {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.get_ref().and_then(|x| x.downcast_ref::<LimitError>()),
        _ => None,
    }
}

/// At most `max` characters of `s` for an error message, with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], limit: usize) -> Result<(), LimitError> {
        let mut r = Bounded::new(input, limit, 1);
        let mut sink = Vec::new();
        // Small reads, like a real file, so the limit trips mid-stream.
        let mut buf = [0u8; 7];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => sink.extend_from_slice(&buf[..n]),
                Err(e) => {
                    return Err(e
                        .get_ref()
                        .and_then(|x| x.downcast_ref::<LimitError>())
                        .cloned()
                        .expect("a LimitError"))
                }
            }
        }
    }

    #[test]
    fn records_under_the_limit_pass() {
        let csv = b"a,b,c\n1,\"x,\"\"y\"\"\",3\r\n2,5\" single,3\n";
        assert_eq!(read_all(csv, 20), Ok(()));
        // A quote in the middle of an unquoted field is literal: the newline ends the record.
        assert_eq!(read_all(b"1,12\" vinyl,x\n2,y,z\n", 16), Ok(()));
    }

    #[test]
    fn long_line_trips_with_its_line() {
        let mut csv = b"h\nok\nok\n".to_vec();
        csv.extend(std::iter::repeat_n(b'x', 100));
        let e = read_all(&csv, 50).unwrap_err();
        assert_eq!((e.line, e.open_quote_line), (4, None));
        assert!(e
            .to_string()
            .contains("line 4: record longer than 50 bytes"));
    }

    #[test]
    fn stray_quote_names_the_line_where_the_field_opened() {
        let mut csv = b"h\n1,a,b\n2,\"stray,b\n".to_vec();
        for i in 0..100 {
            csv.extend(format!("{i},a,b\n").as_bytes());
        }
        let e = read_all(&csv, 200).unwrap_err();
        assert_eq!((e.line, e.open_quote_line), (3, Some(3)));
        assert!(
            e.to_string()
                .contains("line 3: a quoted field opened on line 3"),
            "{e}"
        );
    }

    #[test]
    fn clip_cuts_on_characters() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("ééééé", 2), "éé…");
    }
}
