//! stacktop binary: everything lives in the library so tests can drive it.
fn main() {
    std::process::exit(stacktop::run::main());
}
