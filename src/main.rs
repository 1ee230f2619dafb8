//! stacktop binary: everything lives in the library so tests can drive it.
#![deny(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    std::process::exit(stacktop::run::main());
}
