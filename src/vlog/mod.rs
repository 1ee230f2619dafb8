//! vlogdump core (no drawing): parse `varnishlog` text of Varnish 2.1 → 7.x into one
//! [`Request`] per client request, filter it, keep the newest in a bounded [`ring::Ring`],
//! aggregate streaming statistics ([`stats::Stats`]) and format lines for export.
//!
//! Data flow: `collector` (reads stdin, a file, or a child run by `supervisor`, as set in
//! `input::SourceConfig`) → `pump` → `parser::Parser` (`detect` → `parse_v4` + `fold` |
//! `parse_v2`) → `msg::VlogEvent::Requests` over a bounded channel → `source` (the task: health,
//! notices, forwards as `Payload::Vlog`) → the view (`ring`, `stats`, `filter`, `format`).

pub mod batch;
pub mod builder;
pub mod collector;
pub mod detect;
pub mod filter;
pub mod fold;
pub mod format;
pub mod input;
pub mod instance;
pub mod msg;
pub mod parse_v2;
pub mod parse_v4;
pub mod parser;
pub mod pump;
pub mod request;
pub mod ring;
pub mod scan;
pub mod sketch;
pub mod source;
pub mod stats;
pub mod supervisor;
pub mod vsl;

pub use detect::Format;
pub use filter::Filter;
pub use input::SourceConfig;
pub use msg::{InputStatus, VlogEvent};
pub use parser::{parse_all, Parser};
pub use request::{Handling, Request, Timestamp, TsLabel};
pub use ring::Ring;
pub use stats::{Stats, StatsSnapshot};
