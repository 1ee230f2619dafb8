//! Unit tests of the normaliser: tricky inputs, bounds, garbage.
use super::*;

fn n(s: &str) -> String {
    normalize(s)
}

#[test]
fn keywords_are_sorted_for_binary_search() {
    let mut k = KEYWORDS.to_vec();
    k.sort_unstable();
    assert_eq!(k, KEYWORDS);
}

#[test]
fn literals_become_placeholders() {
    assert_eq!(
        n("SELECT pg_sleep(12) /* k */ , 'lit'"),
        "select pg_sleep(?), ?"
    );
    assert_eq!(
        n("select pg_sleep(3.5),E'x\\'y'  -- c\n"),
        "select pg_sleep(?), ?"
    );
    assert_eq!(
        n("select $tag$ a ' b $$ $tag$, $$x$$, B'01', X'ff', U&'\\0041', n'x', 1e-3, .5, $1"),
        "select ?, ?, ?, ?, ?, ?, ?, ?, ?"
    );
    // booleans and null are keywords: kept
    assert_eq!(
        n("UPDATE t SET a = TRUE, b = null WHERE id = -42"),
        "update t set a = true, b = null where id = ?"
    );
    // a binary minus stays an operator
    assert_eq!(n("select a-1, (b) - 2, -x"), "select a - ?, (b) - ?, - x");
    assert_eq!(n("select -1, +2, f(-3)"), "select ?, ?, f(?)");
    assert_eq!(n("select 1::int, '{1}'::int[]"), "select ?::int, ?::int[]");
    assert_eq!(
        n("select t.* from \"T x\".\"Y\""),
        "select t.* from \"T x\".\"Y\""
    );
    assert_eq!(n("select count(*) from t;;"), "select count(*) from t");
}

#[test]
fn spacing_case_and_comments_do_not_matter() {
    let a = n("select a,b from T where x=1 and y<>'z'");
    let b = n("SELECT  a ,\n\tb FROM t /* c */ WHERE x = 2 AND y <> 'w' -- end");
    assert_eq!(a, b);
    assert_eq!(a, "select a, b from t where x = ? and y <> ?");
    assert_eq!(
        n("select 1 /* a /* nested */ 'q' */ from t"),
        "select ? from t"
    );
    assert_eq!(
        n("select 1 -- 'quote in a comment\nfrom t"),
        "select ? from t"
    );
    assert_eq!(n("select '/* not a comment */'"), "select ?");
}

#[test]
fn in_lists_arrays_and_values_collapse() {
    assert_eq!(
        n("select * from t where id in (1, 2, 3) and b IN ('x')"),
        "select * from t where id in (...) and b in (...)"
    );
    assert_eq!(
        n("select * from t where id in (1,2)"),
        n("select * from t where id in (7, 8, 9, 10, -11)")
    );
    assert_eq!(
        n("select * from t where (a, b) in ((1, 2), (3, 4))"),
        "select * from t where (a, b) in (...)"
    );
    assert_eq!(
        n("select * from t where c in ('a'::text, 'b'::text)"),
        "select * from t where c in (...)"
    );
    // a subquery or an expression list is kept
    assert_eq!(
        n("select * from t where id in (select id from u where v = 1)"),
        "select * from t where id in (select id from u where v = ?)"
    );
    assert_eq!(
        n("select * from t where id in (a, 1)"),
        "select * from t where id in (a, ?)"
    );
    assert_eq!(
        n("select * from t where id = any(array[1, 2, 3])"),
        "select * from t where id = any (array[...])"
    );
    assert_eq!(
        n("insert into t (a, b) values (1, 'x'), (2, 'y'), (3, now())"),
        "insert into t(a, b) values (?, ?)"
    );
    assert_eq!(
        n("INSERT INTO t VALUES (1, 'x')"),
        n("insert into t values (2, 'y'), (3, 'z')")
    );
    assert_eq!(
        n("insert into t values (1), (2) on conflict (a) do nothing"),
        "insert into t values (?) on conflict (a) do nothing"
    );
    assert_eq!(
        n("select * from (values (1, 2), (3, 4)) v(a, b)"),
        "select * from (values (?, ?)) v(a, b)"
    );
}

#[test]
fn unterminated_and_ambiguous_end_the_fingerprint() {
    assert_eq!(n("select 'abc"), "select ?");
    assert_eq!(n("select $t$ abc $t"), "select ?");
    assert_eq!(n("select 1 /* open 'x'"), "select ?");
    assert_eq!(n("select \"open ident"), "select ?");
    // with standard_conforming_strings off the literal would swallow the rest
    assert_eq!(n("select 'a\\', 'secret' from t"), "select ?");
    assert!(!n("select 'a\\', 'secret' from t").contains("secret"));
    // nested dollar quotes: an inner tag is text of the outer one
    assert_eq!(n("select $a$ x $b$ 'y' $b$ z $a$, 1"), "select ?, ?");
    assert_eq!(n("do $f$ begin perform $$x$$; end $f$"), "do ?");
    assert_eq!(n(""), "");
    assert_eq!(n("   -- only a comment"), "");
    assert_eq!(n(")))]]((("), ")))]](((");
}

#[test]
fn control_characters_and_non_ascii() {
    let s = n("select \"a\u{1b}[2J\" from caf\u{e9}\u{9b}x where \u{7} = 1");
    assert!(!s.chars().any(|c| c.is_control()), "{s:?}");
    assert!(s.contains("caf\u{e9}?x"), "{s:?}");
    assert_eq!(n("SELECT Café FROM T"), "select café from t");
}

#[test]
fn bounded_output() {
    let long = format!("select {} 1", "'x', ".repeat(50_000));
    let s = n(&long);
    assert!(s.ends_with(" …"), "cut: {}", &s[s.len() - 20..]);
    assert!(s.len() <= 2 * MAX_INPUT + 8, "{}", s.len());
    let deep = "(".repeat(100_000);
    assert!(n(&deep).len() <= MAX_INPUT + 8);
    let ops = "1+".repeat(100_000);
    assert!(n(&ops).len() <= 2 * MAX_INPUT + 8);
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Random byte soup from SQL-ish pieces: never panics, never keeps a literal.
#[test]
fn garbage_never_panics_and_never_leaks_a_literal() {
    let pieces = [
        "'", "\"", "$", "$$", "$t$", "--", "/*", "*/", "\\", "E'", "(", ")", "[", "]", ",", "in",
        "values", "array", " ", "\n", "-", "+", ":", "::", "1", "é", ";", "S3CR3T", "\u{1b}",
        "u&'", "x",
    ];
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    for case in 0..20_000 {
        let mut sql = String::new();
        for _ in 0..(r.next() % 30) {
            sql.push_str(pieces[(r.next() % pieces.len() as u64) as usize]);
        }
        let out = n(&sql);
        assert!(!out.chars().any(|c| c.is_control()), "case {case}: {sql:?}");
        assert!(out.len() <= 2 * sql.len() + 8, "case {case}: {sql:?}");
    }
    // a secret in a literal never shows
    for lit in [
        "'S3CR3T'",
        "E'S3CR3T'",
        "$$S3CR3T$$",
        "/* S3CR3T */",
        "'S3CR3T",
    ] {
        assert!(!n(&format!("select {lit}, 1")).contains("S3CR3T"), "{lit}");
    }
}
