//! vlogdump core (no drawing): parse `varnishlog` text of Varnish 2.1 → 7.x into one
//! [`Request`] per client request, filter it, keep the newest in a bounded [`ring::Ring`],
//! aggregate streaming statistics ([`stats::Stats`]) and format lines for export.
//!
//! Data flow: `source` (spawned `varnishlog`, stdin or file) → `parser::Parser` (`detect` →
//! `parse_v4` + `fold` | `parse_v2`) → `VlogEvent::Requests` over a bounded channel → the view
//! (`ring`, `stats`, `filter`, `format`).

pub mod batch;
pub mod builder;
pub mod child;
pub mod collector;
pub mod detect;
pub mod filter;
pub mod fold;
pub mod format;
pub mod instance;
pub mod parse_v2;
pub mod parse_v4;
pub mod parser;
pub mod record;
pub mod ring;
pub mod scan;
pub mod sketch;
pub mod source;
pub mod stats;
pub mod vsl;

pub use detect::Format;
pub use filter::Filter;
pub use parser::{parse_all, Parser};
pub use record::{Handling, Request, Timestamp, TsLabel};
pub use ring::Ring;
pub use source::{SourceConfig, SourceStatus, VlogEvent};
pub use stats::{Stats, StatsSnapshot};
