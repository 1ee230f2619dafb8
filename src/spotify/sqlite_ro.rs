//! The SQLite connection that runs questions and ad-hoc SQL, locked down in layers that each
//! stand on their own (defence in depth behind the `readonly` lexer and the `stmt.readonly()`
//! check in `store_sqlite`):
//!
//! 1. the file is opened with `SQLITE_OPEN_READ_ONLY`: no write reaches the main database;
//! 2. `PRAGMA query_only = ON`: SQLite refuses every statement that would write, on any
//!    database of the connection;
//! 3. an authorizer callback allows only reading (SELECT, reading columns, functions,
//!    recursive CTEs, the read transaction) and a list of read-only PRAGMAs; it denies every
//!    write, CREATE/DROP/ALTER, ATTACH/DETACH, PRAGMAs that set something (so `query_only`
//!    cannot be switched off) and the functions that touch files or load code
//!    (`load_extension`, `readfile`, `writefile`, `edit`, `fts3_tokenizer`);
//! 4. extension loading stays disabled (never enabled on this connection), defensive mode is
//!    on and the schema is not trusted (no functions with side effects run from views or
//!    triggers).
//!
//! Data flow: `store_sqlite::open_ro` → [`open`] → queries.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::config::DbConfig;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::{Connection, OpenFlags};

/// Which layers to apply. Production always uses [`Layers::ALL`]; the others exist so tests
/// can prove each layer alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    pub read_only_open: bool,
    pub query_only: bool,
    pub authorizer: bool,
}

impl Layers {
    pub const ALL: Layers = Layers {
        read_only_open: true,
        query_only: true,
        authorizer: true,
    };
}

/// Functions that read or write files, or load code; denied by the authorizer.
const DENIED_FUNCTIONS: &[&str] = &[
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
    "lsmode",
];

/// PRAGMAs that only report; they may be read (without a value to set).
const READ_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "collation_list",
    "function_list",
    "database_list",
    "compile_options",
    "page_count",
    "page_size",
    "freelist_count",
    "journal_mode",
    "query_only",
    "user_version",
    "schema_version",
    "encoding",
];

/// PRAGMAs whose argument names a table or index rather than setting a value.
const PRAGMAS_WITH_NAME_ARG: &[&str] = &[
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
];

/// The authorizer's decision for one action (a plain function so it can be tested alone).
pub fn authorize(ctx: &AuthContext<'_>) -> Authorization {
    match ctx.action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => {
            Authorization::Allow
        }
        // The store wraps each query in BEGIN … ROLLBACK (a read transaction).
        AuthAction::Transaction { .. } => Authorization::Allow,
        AuthAction::Function { function_name } => {
            if DENIED_FUNCTIONS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(function_name))
            {
                Authorization::Deny
            } else {
                Authorization::Allow
            }
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let name = pragma_name.to_ascii_lowercase();
            let reads = READ_PRAGMAS.contains(&name.as_str());
            let value_ok = pragma_value.is_none() || PRAGMAS_WITH_NAME_ARG.contains(&name.as_str());
            if reads && value_ok {
                Authorization::Allow
            } else {
                Authorization::Deny
            }
        }
        _ => Authorization::Deny,
    }
}

/// Open `path` for queries with the given layers (production: [`Layers::ALL`]).
pub fn open(path: &Path, layers: Layers) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    flags |= if layers.read_only_open {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    // Not a URI: the path is always a plain file name.
    flags.remove(OpenFlags::SQLITE_OPEN_URI);
    let mut conn = Connection::open_with_flags(path, flags)
        .with_context(|| format!("open {} for queries", path.display()))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    // Memory-mapped reads: the per-track name look-ups jump around the table, and mapping
    // saves a copy per page (track lists on 1M rows: ~0.25 s → ~0.14 s).
    conn.execute_batch("PRAGMA mmap_size = 1073741824")?;
    if layers.query_only {
        conn.execute_batch("PRAGMA query_only = ON")?;
    }
    if layers.authorizer {
        // Installed last: the set-up PRAGMAs above would be denied.
        conn.authorizer(Some(|ctx: AuthContext<'_>| authorize(&ctx)))?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Layers = Layers {
        read_only_open: false,
        query_only: false,
        authorizer: false,
    };

    /// A database with one row, opened with `layers`.
    fn setup(layers: Layers) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let rw = Connection::open(&path).unwrap();
        rw.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        drop(rw);
        let conn = open(&path, layers).unwrap();
        (dir, conn)
    }

    fn rows(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// Statements that change something; none of the guarded connections may run them.
    const WRITES: &[&str] = &[
        "INSERT INTO t VALUES (2)",
        "DELETE FROM t",
        "UPDATE t SET a = 5",
        "CREATE TABLE u (b)",
        "DROP TABLE t",
    ];

    #[test]
    fn without_layers_the_writes_succeed() {
        // The control: the same statements on an unguarded connection do write, so the
        // refusals below come from the layer under test.
        let (_d, conn) = setup(NONE);
        conn.execute_batch("INSERT INTO t VALUES (2)").unwrap();
        assert_eq!(rows(&conn), 2);
        conn.execute_batch("PRAGMA query_only = OFF").unwrap();
        conn.execute_batch("PRAGMA journal_mode = DELETE").unwrap();
    }

    #[test]
    fn authorizer_denies_file_functions_by_name() {
        // `readfile`/`writefile` exist only when an extension (the shell's fileio) is loaded,
        // so the decision is checked directly.
        for f in [
            "writefile",
            "READFILE",
            "load_extension",
            "edit",
            "fts3_tokenizer",
        ] {
            let ctx = AuthContext {
                action: AuthAction::Function { function_name: f },
                database_name: None,
                accessor: None,
            };
            assert_eq!(authorize(&ctx), Authorization::Deny, "{f}");
        }
        let ctx = AuthContext {
            action: AuthAction::Function {
                function_name: "upper",
            },
            database_name: None,
            accessor: None,
        };
        assert_eq!(authorize(&ctx), Authorization::Allow);
    }

    #[test]
    fn read_only_open_alone_refuses_writes() {
        let (_d, conn) = setup(Layers {
            read_only_open: true,
            ..NONE
        });
        for w in WRITES {
            let e = conn.execute_batch(w).unwrap_err();
            assert!(e.to_string().contains("readonly"), "{w}: {e}");
        }
        assert_eq!(rows(&conn), 1);
    }

    #[test]
    fn query_only_alone_refuses_writes() {
        let (_d, conn) = setup(Layers {
            query_only: true,
            ..NONE
        });
        for w in WRITES {
            let e = conn.execute_batch(w).unwrap_err();
            assert!(e.to_string().contains("readonly"), "{w}: {e}");
        }
        assert_eq!(rows(&conn), 1);
    }

    #[test]
    fn authorizer_alone_refuses_writes_attach_pragmas_and_file_functions() {
        let (d, conn) = setup(Layers {
            authorizer: true,
            ..NONE
        });
        let other = d.path().join("other.sqlite3");
        let refused = [
            WRITES.to_vec(),
            vec![
                "PRAGMA query_only = OFF",
                "PRAGMA writable_schema = ON",
                "PRAGMA journal_mode = DELETE",
                "SELECT load_extension('/nonexistent')",
            ],
        ]
        .concat();
        for w in refused {
            let e = conn.execute_batch(w).unwrap_err();
            assert!(e.to_string().contains("not authorized"), "{w}: {e}");
        }
        let attach = format!("ATTACH DATABASE '{}' AS x", other.display());
        let e = conn.execute_batch(&attach).unwrap_err();
        assert!(e.to_string().contains("not authorized"), "{e}");
        assert!(!other.exists(), "ATTACH created no file");
        let e = conn
            .execute_batch(&format!("VACUUM INTO '{}'", other.display()))
            .unwrap_err();
        // SQLite runs VACUUM INTO as an ATTACH, which the authorizer denies.
        assert!(e.to_string().contains("authorization denied"), "{e}");
        assert!(!other.exists(), "VACUUM INTO wrote no file");
        assert_eq!(rows(&conn), 1);
        // Reads still work, including the read-only PRAGMAs and a recursive CTE.
        let n: i64 = conn
            .query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) \
                 SELECT SUM(x) + (SELECT COUNT(*) FROM pragma_table_info('t')) FROM c",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 16);
        conn.execute_batch("PRAGMA table_info(t); BEGIN; SELECT * FROM t; ROLLBACK")
            .unwrap();
    }

    #[test]
    fn production_connection_has_every_layer() {
        let (_d, conn) = setup(Layers::ALL);
        let only: i64 = conn
            .query_row("PRAGMA query_only", [], |r| r.get(0))
            .unwrap();
        assert_eq!(only, 1);
        assert!(conn.is_readonly(rusqlite::MAIN_DB).unwrap());
        let e = conn.execute_batch("PRAGMA query_only = OFF").unwrap_err();
        assert!(e.to_string().contains("not authorized"), "{e}");
    }
}
