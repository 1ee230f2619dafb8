//! Row filters: every vlogdump option (`only_hits`, `only_misses`, `only_slow`, `url_match`,
//! `only_status`, `req_headers_match`, `resp_headers_match`, `client_match`, `req_method`,
//! `show_req_headers`, `show_resp_headers`, in their `name=value` spellings) plus handling and
//! backend. Set from the CLI / config / the live edit line, applied by the view to each
//! [`Request`] with [`Filter::matches`] (cheap checks first, regexes last), and optionally
//! pushed down to `varnishlog -q` as a VSL query (`Filter::vsl_query`, in `vlog/vsl.rs`,
//! which uses this module; this one does not use it).

use std::fmt;

use regex::bytes::{Regex, RegexBuilder};

use super::request::{Handling, Request};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("unknown filter option `{0}` (try url=, status=, method=, client=, backend=, handling=, slow=, req_headers=, resp_headers=, only_hits=1, only_misses=1)")]
    UnknownOption(String),
    #[error("`{0}` is not name=value")]
    NotNameValue(String),
    #[error("bad regex for {name}: {msg}")]
    BadRegex { name: String, msg: String },
    #[error("bad value for {name}: `{value}`")]
    BadValue { name: String, value: String },
    #[error("bad value for {name}: `{value}`: {why}")]
    Refused {
        name: String,
        value: String,
        why: &'static str,
    },
    #[error("unbalanced quote in filter")]
    UnbalancedQuote,
}

/// A regex with optional `!` negation, matched on bytes.
#[derive(Debug, Clone)]
pub struct Pattern {
    re: Regex,
    negate: bool,
    src: String,
}

impl Pattern {
    /// `RE` or `!RE`. Header patterns use multi-line mode (`^`/`$` per header line).
    pub fn parse(name: &str, s: &str, multi_line: bool) -> Result<Pattern, FilterError> {
        let (negate, body) = match s.strip_prefix('!') {
            Some(b) => (true, b),
            None => (false, s),
        };
        let re = RegexBuilder::new(body)
            .multi_line(multi_line)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| FilterError::BadRegex {
                name: name.to_string(),
                msg: e.to_string(),
            })?;
        Ok(Pattern {
            re,
            negate,
            src: s.to_string(),
        })
    }

    #[inline]
    pub fn matches(&self, hay: &[u8]) -> bool {
        self.re.is_match(hay) != self.negate
    }

    pub fn is_negated(&self) -> bool {
        self.negate
    }

    /// The text as given (with its `!`).
    pub fn as_str(&self) -> &str {
        &self.src
    }

    pub(super) fn body(&self) -> &str {
        self.src.strip_prefix('!').unwrap_or(&self.src)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, o: &Self) -> bool {
        self.src == o.src && self.re.as_str() == o.re.as_str()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    Code(u16),
    /// `5xx` → 5.
    Class(u16),
    /// `-`: no status (pipes).
    Missing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StatusFilter {
    /// `503`, `5xx`, `4xx,503`, `!2xx`, `-`.
    Set {
        negate: bool,
        items: Vec<StatusItem>,
    },
    /// vlogdump's `only_status=RE`: regex over `"<status> <reason>"`.
    Regex(Pattern),
}

impl StatusFilter {
    pub fn parse(name: &str, v: &str) -> Result<StatusFilter, FilterError> {
        let (negate, body) = match v.strip_prefix('!') {
            Some(b) => (true, b),
            None => (false, v),
        };
        let mut items = Vec::new();
        let bad = |why: &'static str| FilterError::Refused {
            name: name.to_string(),
            value: v.to_string(),
            why,
        };
        // Codes, classes and `-` only: anything else is vlogdump's regex form.
        let shaped = body.split(',').map(str::trim).all(|p| {
            let b = p.as_bytes();
            p == "-"
                || (b.len() == 3
                    && b[0].is_ascii_digit()
                    && b[1..]
                        .iter()
                        .all(|c| c.is_ascii_digit() || c.eq_ignore_ascii_case(&b'x')))
        });
        if !shaped {
            return Ok(StatusFilter::Regex(Pattern::parse(name, v, false)?));
        }
        for part in body.split(',').map(str::trim) {
            let b = part.as_bytes();
            let item = match b {
                [b'-'] => StatusItem::Missing,
                [d @ b'1'..=b'5', x, y]
                    if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') =>
                {
                    StatusItem::Class((d - b'0') as u16)
                }
                [_, x, y] if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') => {
                    return Err(bad("status classes are 1xx to 5xx"))
                }
                [b'1'..=b'5', b'0'..=b'9', b'0'..=b'9'] => match part.parse() {
                    Ok(c) => StatusItem::Code(c),
                    Err(_) => return Err(bad("not a status code")),
                },
                _ => return Err(bad("status codes are 100 to 599, classes 1xx to 5xx")),
            };
            items.push(item);
        }
        Ok(StatusFilter::Set { negate, items })
    }

    #[inline]
    pub fn matches(&self, r: &Request) -> bool {
        match self {
            StatusFilter::Set { negate, items } => {
                let hit = items.iter().any(|i| match (i, r.status) {
                    (StatusItem::Code(c), Some(s)) => *c == s,
                    (StatusItem::Class(c), Some(s)) => s / 100 == *c,
                    (StatusItem::Missing, None) => true,
                    _ => false,
                });
                hit != *negate
            }
            StatusFilter::Regex(p) => {
                let mut buf = [0u8; 128];
                let line = status_line(r, &mut buf);
                p.matches(line)
            }
        }
    }

    fn source(&self) -> String {
        match self {
            StatusFilter::Regex(p) => p.as_str().to_string(),
            StatusFilter::Set { negate, items } => {
                let s: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        StatusItem::Code(c) => c.to_string(),
                        StatusItem::Class(c) => format!("{c}xx"),
                        StatusItem::Missing => "-".into(),
                    })
                    .collect();
                format!("{}{}", if *negate { "!" } else { "" }, s.join(","))
            }
        }
    }
}

/// `"<status> <reason>"` into a stack buffer (truncated reason).
fn status_line<'a>(r: &Request, buf: &'a mut [u8; 128]) -> &'a [u8] {
    use std::io::Write;
    let mut c = std::io::Cursor::new(&mut buf[..]);
    if let Some(s) = r.status {
        let _ = write!(c, "{s} ");
    }
    let _ = c.write_all(r.reason_bytes());
    let n = c.position() as usize;
    &buf[..n]
}

/// The active filter (all parts ANDed) plus vlogdump's display switches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub only_hits: bool,
    pub only_misses: bool,
    /// Keep requests whose total time is ≥ this many ms.
    pub slow_ms: Option<f64>,
    pub url: Option<Pattern>,
    pub status: Option<StatusFilter>,
    pub method: Option<Pattern>,
    pub client: Option<Pattern>,
    pub backend: Option<Pattern>,
    pub req_headers: Option<Pattern>,
    pub resp_headers: Option<Pattern>,
    /// Bit mask over [`Handling`] (bit = `handling as u16`); `None` = any.
    pub handling: Option<u16>,
    /// vlogdump `show_req_headers=1`: the text output dumps request headers.
    pub show_req_headers: bool,
    /// vlogdump `show_resp_headers=1`.
    pub show_resp_headers: bool,
}

fn parse_bool(name: &str, v: &str) -> Result<bool, FilterError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(FilterError::BadValue {
            name: name.into(),
            value: v.into(),
        }),
    }
}

fn parse_ms(name: &str, v: &str) -> Result<f64, FilterError> {
    let bad = || FilterError::BadValue {
        name: name.into(),
        value: v.into(),
    };
    let t = v.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (t, 1.0)
    };
    let x: f64 = num.trim().parse().map_err(|_| bad())?;
    if !x.is_finite() || x < 0.0 {
        return Err(bad());
    }
    Ok(x * scale)
}

/// Split a filter line into words, honouring `'…'` and `"…"` quotes.
fn split_words(s: &str) -> Result<Vec<String>, FilterError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err(FilterError::UnbalancedQuote);
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

impl Filter {
    /// Parse a live-edit line: `url=^/api status=5xx only_slow=500 'req_headers=Cookie: a b'`.
    pub fn parse(line: &str) -> Result<Filter, FilterError> {
        Filter::parse_args(&split_words(line)?)
    }

    /// Parse `name=value` arguments (vlogdump's awk spellings accepted; a lone `-v` is skipped,
    /// leading dashes on names are ignored).
    pub fn parse_args(args: &[String]) -> Result<Filter, FilterError> {
        let mut f = Filter::default();
        for a in args {
            if a == "-v" {
                continue;
            }
            f.set(a)?;
        }
        Ok(f)
    }

    /// Apply one `name=value` (a bare flag name like `only_hits` means `=1`).
    pub fn set(&mut self, arg: &str) -> Result<(), FilterError> {
        let arg = arg.trim_start_matches('-');
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n.trim(), v),
            None => (arg.trim(), ""),
        };
        let name_l = name.to_ascii_lowercase().replace('-', "_");
        let opt = |p: Result<Pattern, FilterError>| p.map(Some);
        let regex_opt = matches!(
            name_l.as_str(),
            "url_match"
                | "url"
                | "req_method"
                | "method"
                | "client_match"
                | "client"
                | "backend"
                | "req_headers_match"
                | "req_headers"
                | "req_header"
                | "resp_headers_match"
                | "resp_headers"
                | "resp_header"
                | "only_status"
                | "status"
                | "handling"
        );
        if regex_opt && value.trim_start_matches('!').is_empty() && arg.contains('=') {
            return Err(FilterError::Refused {
                name: name.into(),
                value: value.into(),
                why: "empty (give a value, or leave the option out)",
            });
        }
        match name_l.as_str() {
            "only_hits" | "hits" => self.only_hits = parse_bool(name, value)?,
            "only_misses" | "misses" => self.only_misses = parse_bool(name, value)?,
            "show_req_headers" => self.show_req_headers = parse_bool(name, value)?,
            "show_resp_headers" => self.show_resp_headers = parse_bool(name, value)?,
            "only_slow" => {
                // vlogdump: `only_slow=1` means 1000 ms, other values are ms.
                let ms = parse_ms(name, value)?;
                self.slow_ms = Some(if value.trim() == "1" { 1000.0 } else { ms });
            }
            "slow" | "slow_ms" => self.slow_ms = Some(parse_ms(name, value)?),
            _ if value.is_empty() && !arg.contains('=') => {
                return Err(FilterError::NotNameValue(arg.to_string()))
            }
            "url_match" | "url" => self.url = opt(Pattern::parse(name, value, false))?,
            "req_method" | "method" => self.method = opt(Pattern::parse(name, value, false))?,
            "client_match" | "client" => self.client = opt(Pattern::parse(name, value, false))?,
            "backend" => self.backend = opt(Pattern::parse(name, value, false))?,
            "req_headers_match" | "req_headers" | "req_header" => {
                self.req_headers = opt(Pattern::parse(name, value, true))?
            }
            "resp_headers_match" | "resp_headers" | "resp_header" => {
                self.resp_headers = opt(Pattern::parse(name, value, true))?
            }
            "only_status" | "status" => self.status = Some(StatusFilter::parse(name, value)?),
            "handling" => {
                let (neg, body) = match value.strip_prefix('!') {
                    Some(b) => (true, b),
                    None => (false, value),
                };
                let mut mask = 0u16;
                for part in body.split(',').filter(|p| !p.trim().is_empty()) {
                    let h = Handling::from_name(part).ok_or_else(|| FilterError::BadValue {
                        name: name.into(),
                        value: part.into(),
                    })?;
                    mask |= 1 << (h as u16);
                }
                self.handling = Some(if neg { !mask & 0x1ff } else { mask });
            }
            _ => return Err(FilterError::UnknownOption(name.to_string())),
        }
        Ok(())
    }

    /// True when no part filters anything.
    pub fn is_empty(&self) -> bool {
        let display_only = Filter {
            show_req_headers: self.show_req_headers,
            show_resp_headers: self.show_resp_headers,
            ..Filter::default()
        };
        *self == display_only
    }

    /// Does the request pass? Cheap field tests first, regexes last.
    #[inline]
    pub fn matches(&self, r: &Request) -> bool {
        if let Some(mask) = self.handling {
            if mask & (1 << (r.handling as u16)) == 0 {
                return false;
            }
        }
        let hit = r.hit_record || r.handling.is_hit();
        // vlogdump's only_misses: MISS only (a PASS is not a miss).
        let miss = matches!(r.handling, Handling::Miss | Handling::HitForMiss);
        if (self.only_hits && !hit) || (self.only_misses && !miss) {
            return false;
        }
        if let Some(ms) = self.slow_ms {
            if r.total_ms < ms {
                return false;
            }
        }
        if let Some(s) = &self.status {
            if !s.matches(r) {
                return false;
            }
        }
        let pat = |p: &Option<Pattern>, hay: &[u8]| p.as_ref().is_none_or(|p| p.matches(hay));
        pat(&self.method, r.method_bytes())
            && pat(&self.client, r.client_ip_bytes())
            && pat(&self.backend, r.backend_bytes())
            && pat(&self.url, r.url_bytes())
            && pat(&self.req_headers, r.req_headers_block())
            && pat(&self.resp_headers, r.resp_headers_block())
    }
}

impl fmt::Display for Filter {
    /// Canonical `name=value` words (round-trips through [`Filter::parse`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = Vec::new();
        let mut push = |n: &str, v: &str| {
            let w = format!("{n}={v}");
            if w.contains(char::is_whitespace) || w.contains('"') {
                words.push(format!("'{w}'"));
            } else {
                words.push(w);
            }
        };
        if self.only_hits {
            push("only_hits", "1");
        }
        if self.only_misses {
            push("only_misses", "1");
        }
        if let Some(ms) = self.slow_ms {
            push("slow", &format!("{ms}"));
        }
        if let Some(h) = self.handling {
            let names: Vec<&str> = Handling::ALL
                .iter()
                .filter(|x| h & (1 << (**x as u16)) != 0)
                .map(|x| x.label())
                .collect();
            push("handling", &names.join(",").to_ascii_lowercase());
        }
        if let Some(s) = &self.status {
            push("status", &s.source());
        }
        for (n, p) in [
            ("url", &self.url),
            ("method", &self.method),
            ("client", &self.client),
            ("backend", &self.backend),
            ("req_headers", &self.req_headers),
            ("resp_headers", &self.resp_headers),
        ] {
            if let Some(p) = p {
                push(n, p.as_str());
            }
        }
        if self.show_req_headers {
            push("show_req_headers", "1");
        }
        if self.show_resp_headers {
            push("show_resp_headers", "1");
        }
        write!(f, "{}", words.join(" "))
    }
}
