//! The bottom layer's primitives of configuration: errors with file/line/key
//! ([`error::ConfigError`]), durations as written in files ([`duration::Dur`]) and secrets
//! ([`secrets::Secret`]), and fitting one line of text into a width by priorities
//! ([`fit`]). Sources read their own config sections with these; `config` aggregates the
//! sections above the sources. Imports nothing of the crate but `mask`.

pub mod duration;
pub mod error;
pub mod fit;
pub mod secrets;

pub use duration::Dur;
pub use error::ConfigError;
