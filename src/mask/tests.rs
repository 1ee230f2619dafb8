use super::*;

fn hidden(out: &str, secret: &str) {
    assert!(!out.contains(secret), "{secret:?} visible in {out:?}");
    assert!(out.contains(MASK), "nothing masked in {out:?}");
}

#[test]
fn secret_key_names() {
    for k in [
        "password",
        "PGPASSWORD",
        "sslpassword",
        "MASTER_PASSWORD",
        "passwd",
        "Pwd",
        "client_secret",
        "api-token",
        "slack_webhook",
        "--password",
        "\"password\"",
        "apikey",
        "pass",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in [
        "password_env",
        "password_command",
        "passfile",
        "user",
        "host",
        "dbname",
        "slack_webhook_env",
        "bypass_cache",
    ] {
        assert!(!is_secret_key(k), "{k}");
    }
}

#[test]
fn conninfo_spaces_quotes_escapes() {
    let out = conninfo("host=db password = hunter2 user=x");
    assert_eq!(out, "host=db password = ******** user=x");
    let out = conninfo("host=db password='two words' user=x");
    assert_eq!(out, "host=db password=******** user=x");
    let out = conninfo(r"password='it\'s a \\ test' dbname=d");
    assert_eq!(out, "password=******** dbname=d");
    let out = conninfo(r"password=pa\ ss host=h");
    assert_eq!(out, "password=******** host=h");
    // unterminated quote: the rest of the string is the secret
    assert_eq!(conninfo("password='abc def"), "password=********");
    // libpq skips spaces after `=`: the value is the next word
    assert_eq!(
        conninfo("password=   s3 host=h"),
        "password=   ******** host=h"
    );
    // a password with an unquoted space (invalid for libpq) is still hidden up to the next key
    let out = conninfo("host=h password=pa ss=x word user=u");
    assert_eq!(out, "host=h password=******** user=u");
    assert_eq!(
        conninfo("sslpassword=k1 host=h"),
        "sslpassword=******** host=h"
    );
    assert_eq!(conninfo("host=h user=u"), "host=h user=u");
}

#[test]
fn uri_userinfo_in_odd_places() {
    let cases = [
        ("postgres://app:hunter2@db:5432/x", "hunter2"),
        ("postgresql://app:pa/ss@db/x", "pa/ss"),
        ("mysql://root:p@ss:w0rd@127.0.0.1:3306/spotify", "p@ss:w0rd"),
        ("mariadb://u:a?b#c@h/db", "a?b#c"),
        ("postgres://u:%2Fpw%40x@h/db", "%2Fpw%40x"),
        ("postgres://:only@h", "only"),
    ];
    for (uri, pw) in cases {
        let out = conninfo(uri);
        hidden(&out, pw);
        assert!(
            out.starts_with(&uri[..uri.find("://").unwrap() + 3]),
            "{out}"
        );
    }
    assert_eq!(
        conninfo("postgres://app:hunter2@db:5432/x?sslmode=require"),
        "postgres://app:********@db:5432/x?sslmode=require"
    );
    assert_eq!(conninfo("postgres://app@db/x"), "postgres://app@db/x");
}

#[test]
fn uri_query_parameters() {
    assert_eq!(
        conninfo("postgres://db/x?password=s3cret&sslmode=require"),
        "postgres://db/x?password=********&sslmode=require"
    );
    assert_eq!(
        conninfo("postgresql://db/x?sslpassword=k&user=u"),
        "postgresql://db/x?sslpassword=********&user=u"
    );
    // percent-encoded key names
    hidden(&conninfo("postgres://db/x?%70assword=s3cret"), "s3cret");
    hidden(&conninfo("postgres://db/x?pass%77ord=s3cret&a=1"), "s3cret");
    // a raw `&` inside the value does not end it unless a `name=` follows
    hidden(
        &conninfo("postgres://db/x?password=a&b&sslmode=disable"),
        "a&b",
    );
    // an `@` in the query must not hide a password before it
    hidden(
        &conninfo("postgres://db/x?password=zz9&application_name=me@home"),
        "zz9",
    );
}

#[test]
fn free_text() {
    let out = text("connect failed for postgres://u:hunter2@h/db: timeout");
    assert_eq!(
        out,
        "connect failed for postgres://u:********@h/db: timeout"
    );
    hidden(&text("bad conninfo \"host=x password = 'a b'\""), "a b");
    hidden(&text("STACKTOP_PGTOP__PASSWORD=123456 rejected"), "123456");
    hidden(&text(r#"{"user":"x","password":"hunter2"}"#), "hunter2");
    hidden(&text("api_token: abc123"), "abc123");
    hidden(&text("env MYSQL_PWD=xyzzy mysql"), "xyzzy");
    hidden(
        &text("posting to https://hooks.slack.com/services/T0/B0/XXXX failed"),
        "T0/B0/XXXX",
    );
    // nothing secret: unchanged
    let plain = "FATAL: password authentication failed for user \"app\" (using password: YES)";
    assert_eq!(
        text("unexpected token } at line 3"),
        "unexpected token } at line 3"
    );
    assert!(text(plain).contains("password authentication failed"));
    assert_eq!(text("é ü ✓ host=h"), "é ü ✓ host=h");
}

#[test]
fn sql_password_clauses() {
    // as MariaDB puts a failed statement into Last_SQL_Error
    let err = "Error 'Operation CREATE USER failed for 'app'@'%'' on query. Default database: ''. \
               Query: 'CREATE USER 'app'@'%' IDENTIFIED BY 'Tr0ub4dor''";
    let out = text(err);
    hidden(&out, "Tr0ub4dor");
    assert!(
        out.starts_with("Error 'Operation CREATE USER failed"),
        "{out}"
    );
    for (sql, pw) in [
        (
            "GRANT ALL ON *.* TO 'u'@'%' IDENTIFIED BY PASSWORD '*ABCDEF0123'",
            "ABCDEF0123",
        ),
        (
            "ALTER USER u IDENTIFIED WITH mysql_native_password BY 'n3w'",
            "n3w",
        ),
        (
            "CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('s3cr3t')",
            "s3cr3t",
        ),
        ("SET PASSWORD FOR 'u'@'h' = PASSWORD('pw1x')", "pw1x"),
        ("SET PASSWORD = 'pw2y'", "pw2y"),
        ("select password('pw3z')", "pw3z"),
        (
            "CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='repl pw', MASTER_PORT=1",
            "repl pw",
        ),
        (
            "CHANGE REPLICATION SOURCE TO SOURCE_PASSWORD = \"sp\"",
            "\"sp\"",
        ),
        ("CHANGE MASTER TO PRIMARY_PASSWORD='pp9'", "pp9"),
        ("CREATE USER x IDENTIFIED BY 'it''s'", "it''s"),
        ("CREATE USER x IDENTIFIED BY 'a\\'b'", "a\\'b"),
    ] {
        hidden(&text(sql), pw);
    }
    // the statement ends at `;`: what follows stays readable
    let out = text("CREATE USER x IDENTIFIED BY 'p'; SELECT 'visible'");
    assert!(out.contains("'visible'"), "{out}");
}

#[test]
fn driver_errors_lose_the_secrets_of_their_source() {
    let url = "mysql://u:p%40ss%3Ax@h/db?password=zz%26y";
    let m = without_secrets_of("Invalid value `p@ss:x' for URL parameter; got zz&y", url);
    assert!(!m.contains("p@ss:x") && !m.contains("zz&y"), "{m}");
}

#[test]
fn labels_never_hold_the_password() {
    assert_eq!(
        uri_label("postgres://u:pa/ss@db:5433/orders?password=x").as_deref(),
        Some("db:5433/orders")
    );
    assert_eq!(uri_label("mysql://u:p@w@h").as_deref(), Some("h"));
    assert_eq!(uri_label("host=x"), None);
}

#[test]
fn spans_overlap_and_utf8() {
    assert_eq!(apply("abcdef", &[1..3, 2..4, 5..6]), "a********e********");
    let out = text("mot de passe: password=héllo✓ fin");
    assert_eq!(out, "mot de passe: password=******** fin");
}
