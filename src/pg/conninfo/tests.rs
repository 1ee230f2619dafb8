use super::*;
use std::collections::HashMap;

fn env_with(vars: &[(&str, &str)], home: Option<PathBuf>) -> Env {
    let m: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Env {
        vars: Box::new(move |k| m.get(k).cloned()),
        home,
        os_user: Some("osuser".into()),
    }
}

#[test]
fn key_value_with_quotes_and_escapes() {
    let p = parse_conninfo(r"host=db1 port = 5433 password='it''s' user='a b\'c' dbname=x\ y")
        .unwrap_err();
    // '' is not an escape in libpq: the first quote ends the value, then "s'" is garbage
    assert!(matches!(
        p,
        ConnInfoError::Syntax(_) | ConnInfoError::UnknownOption(_)
    ));
    let p = parse_conninfo(r"host=db1 port = 5433 user='a b\'c' dbname=x\ y").unwrap();
    assert_eq!(p.get("host"), Some("db1"));
    assert_eq!(p.get("port"), Some("5433"));
    assert_eq!(p.get("user"), Some("a b'c"));
    assert_eq!(p.get("dbname"), Some("x y"));
    assert!(matches!(
        parse_conninfo("hots=x"),
        Err(ConnInfoError::UnknownOption(k)) if k == "hots"
    ));
    assert!(parse_conninfo("host").is_err());
    assert!(parse_conninfo("user='abc").is_err());
}

#[test]
fn uri_forms() {
    let p = parse_conninfo(
        "postgresql://al%40ice:s%3Acret@h1:5433,[::1]:5434/orders?sslmode=verify-full&application_name=x",
    )
    .unwrap();
    assert_eq!(p.get("user"), Some("al@ice"));
    assert_eq!(p.get("password"), Some("s:cret"));
    assert_eq!(p.get("host"), Some("h1,::1"));
    assert_eq!(p.get("port"), Some("5433,5434"));
    assert_eq!(p.get("dbname"), Some("orders"));
    assert_eq!(p.get("sslmode"), Some("verify-full"));
    let p = parse_conninfo("postgres://%2Ftmp%2Fsock/db").unwrap();
    assert_eq!(p.get("host"), Some("/tmp/sock"));
    assert!(parse_conninfo("postgres://h/db?bogus=1").is_err());
    assert!(!format!("{p:?}").contains("cret"));
}

#[test]
fn uri_password_with_slash_at_colon_question_mark_stays_out_of_host_and_db() {
    for (uri, pw) in [
        ("postgres://app:pa/ss@db1:5433/orders", "pa/ss"),
        ("postgres://app:12/ss@db1:5433/orders", "12/ss"),
        (
            "postgresql://app:p@ss:w/rd@db1:5433/orders?sslmode=disable",
            "p@ss:w/rd",
        ),
        (
            "postgres://app:a?b@db1:5433/orders?application_name=me@home",
            "a?b",
        ),
    ] {
        let p = parse_conninfo(uri).unwrap();
        assert_eq!(p.get("password"), Some(pw), "{uri}");
        assert_eq!(p.get("host"), Some("db1"), "{uri}");
        assert_eq!(p.get("port"), Some("5433"), "{uri}");
        assert_eq!(p.get("dbname"), Some("orders"), "{uri}");
        let s = resolve(Some(uri), &ConnOverrides::default(), &env_with(&[], None)).unwrap();
        assert_eq!(server_label(&s), "db1:5433/orders");
    }
}

#[test]
fn errors_never_quote_the_password() {
    // an unquoted space: libpq would report the second word as an option or a missing `=`
    for ci in [
        "host=h password=hunter 2wo user=u",
        "host=h password=hunter 2wo=x",
        "host=h password = 'open",
    ] {
        let e = parse_conninfo(ci).unwrap_err().to_string();
        assert!(!e.contains("2wo") && !e.contains("open"), "{ci}: {e}");
    }
    let e = parse_conninfo("postgres://u:pw@h/db?password=a&zz9")
        .unwrap_err()
        .to_string();
    assert!(!e.contains("zz9"), "{e}");
    let e = parse_conninfo("host=h hots=x").unwrap_err().to_string();
    assert!(
        e.contains("hots"),
        "a keyword that is no secret is still named: {e}"
    );
    let p = parse_conninfo("host=h password=x1y2").unwrap();
    assert!(!format!("{p:?}").contains("x1y2"));
}

#[test]
fn precedence_overrides_conninfo_env_defaults() {
    let env = env_with(
        &[
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGUSER", "envuser"),
            ("PGSSLMODE", "require"),
        ],
        None,
    );
    let ov = ConnOverrides {
        port: Some(7000),
        ..Default::default()
    };
    let s = resolve(Some("host=cihost dbname=cidb"), &ov, &env).unwrap();
    assert_eq!(s.hosts[0].host, "cihost");
    assert_eq!(s.hosts[0].port, 7000);
    assert_eq!(s.user, "envuser");
    assert_eq!(s.dbname, "cidb");
    assert_eq!(s.sslmode, SslMode::Require);
    let s = resolve(None, &ConnOverrides::default(), &env_with(&[], None)).unwrap();
    assert_eq!(s.user, "osuser");
    assert_eq!(s.dbname, "osuser");
    assert_eq!(s.hosts[0].port, 5432);
    assert_eq!(s.sslmode, SslMode::Prefer);
    assert!(resolve(Some("port=1,2"), &ConnOverrides::default(), &env).is_err());
    assert!(resolve(Some("sslmode=bogus"), &ConnOverrides::default(), &env).is_err());
}

#[test]
fn pgpass_requires_0600_and_matches_wildcards() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let pf = dir.path().join(".pgpass");
    std::fs::write(
        &pf,
        "# comment\nother:*:*:*:nope\ndbhost:5432:*:alice:pa\\:ss\n*:*:*:*:fallback\n",
    )
    .unwrap();
    std::fs::set_permissions(&pf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let env = env_with(&[], Some(dir.path().to_path_buf()));
    let ci = "host=dbhost user=alice dbname=orders";
    let s = resolve(Some(ci), &ConnOverrides::default(), &env).unwrap();
    assert!(s.password.is_none());
    assert!(s.warnings[0].contains("0600"), "{:?}", s.warnings);
    std::fs::set_permissions(&pf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = resolve(Some(ci), &ConnOverrides::default(), &env).unwrap();
    assert_eq!(s.password.as_ref().unwrap().expose(), "pa:ss");
    assert!(!format!("{s:?}").contains("pa:ss"));
    assert!(!s.to_string().contains("pa:ss"));
    let s = resolve(Some("host=x user=bob"), &ConnOverrides::default(), &env).unwrap();
    assert_eq!(s.password.unwrap().expose(), "fallback");
    // an explicit password wins over .pgpass
    let ov = ConnOverrides {
        password: Some(Secret::new("explicit")),
        ..Default::default()
    };
    let s = resolve(Some(ci), &ov, &env).unwrap();
    assert_eq!(s.password.unwrap().expose(), "explicit");
}

#[test]
fn service_file_fills_unset_keys() {
    let dir = tempfile::tempdir().unwrap();
    let sf = dir.path().join("svc.conf");
    std::fs::write(
        &sf,
        "[other]\nhost=nope\n\n[orders]\n# c\nhost=svchost\nport=6543\ndbname=orders\n",
    )
    .unwrap();
    let env = env_with(
        &[
            ("PGSERVICEFILE", sf.to_str().unwrap()),
            ("PGSYSCONFDIR", "/nonexistent"),
        ],
        None,
    );
    let s = resolve(
        Some("service=orders dbname=mine"),
        &ConnOverrides::default(),
        &env,
    )
    .unwrap();
    assert_eq!(s.hosts[0].host, "svchost");
    assert_eq!(s.hosts[0].port, 6543);
    assert_eq!(s.dbname, "mine");
    let e = resolve(Some("service=missing"), &ConnOverrides::default(), &env).unwrap_err();
    assert!(e.to_string().contains("missing"));
}
