//! Literal redaction and truncation of query text for notifications: string, dollar-quoted,
//! bit/hex and numeric literals become `?`; identifiers, quoted identifiers, `$n` parameters and
//! comments are kept. Used by the Slack message builder (and available to the UI).

/// Replaces SQL literals with `?`.
pub fn redact_literals(sql: &str) -> String {
    let c: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_' || ch == '$';
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let prev = if i > 0 { Some(c[i - 1]) } else { None };
        match ch {
            '-' if c.get(i + 1) == Some(&'-') => {
                while i < c.len() && c[i] != '\n' {
                    out.push(c[i]);
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                out.push_str("/*");
                i += 2;
                while i < c.len() && !(c[i] == '*' && c.get(i + 1) == Some(&'/')) {
                    out.push(c[i]);
                    i += 1;
                }
                if i < c.len() {
                    out.push_str("*/");
                    i += 2;
                }
            }
            '"' => {
                out.push('"');
                i += 1;
                while i < c.len() {
                    out.push(c[i]);
                    i += 1;
                    if c[i - 1] == '"' {
                        if c.get(i) == Some(&'"') {
                            out.push('"');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            '\'' => {
                // drop a literal prefix like E'..', B'..', X'..', N'..'
                let mut chars: Vec<char> = out.chars().collect();
                if let Some(&p) = chars.last() {
                    let before = chars.len().checked_sub(2).map(|k| chars[k]);
                    if "EeBbXxNn".contains(p) && !before.is_some_and(ident) {
                        chars.pop();
                        out = chars.into_iter().collect();
                    }
                }
                let escapes = prev.is_some_and(|p| p == 'E' || p == 'e');
                i += 1;
                while i < c.len() {
                    if escapes && c[i] == '\\' {
                        i += 2;
                        continue;
                    }
                    if c[i] == '\'' {
                        if c.get(i + 1) == Some(&'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                out.push('?');
            }
            '$' if !prev.is_some_and(ident)
                && !c.get(i + 1).is_some_and(|d| d.is_ascii_digit()) =>
            {
                // dollar quote $tag$ ... $tag$
                let mut j = i + 1;
                while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                    j += 1;
                }
                if j < c.len() && c[j] == '$' {
                    let tag: String = c[i..=j].iter().collect();
                    let body: String = c[j + 1..].iter().collect();
                    match body.find(&tag) {
                        Some(end) => {
                            i = j + 1 + body[..end].chars().count() + tag.chars().count();
                        }
                        None => i = c.len(),
                    }
                    out.push('?');
                } else {
                    out.push(ch);
                    i += 1;
                }
            }
            d if d.is_ascii_digit() && !prev.is_some_and(ident) => {
                let mut j = i;
                while j < c.len()
                    && (c[j].is_ascii_alphanumeric()
                        || c[j] == '.'
                        || c[j] == '_'
                        || ((c[j] == '+' || c[j] == '-') && matches!(c[j - 1], 'e' | 'E')))
                {
                    j += 1;
                }
                out.push('?');
                i = j;
            }
            '.' if c.get(i + 1).is_some_and(|d| d.is_ascii_digit()) && !prev.is_some_and(ident) => {
                let mut j = i + 1;
                while j < c.len() && (c[j].is_ascii_alphanumeric() || c[j] == '.') {
                    j += 1;
                }
                out.push('?');
                i = j;
            }
            _ => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

/// Collapses whitespace and truncates to `max` characters (with `…`).
pub fn one_line(sql: &str, max: usize) -> String {
    let mut out = String::with_capacity(sql.len().min(max + 4));
    let mut n = 0;
    for w in sql.split_whitespace() {
        if n > 0 {
            out.push(' ');
            n += 1;
        }
        for ch in w.chars() {
            if n >= max {
                out.push('…');
                return out;
            }
            out.push(ch);
            n += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            redact_literals(
                "SELECT * FROM t1 WHERE a = 'x''y' AND b = 42 AND c = 1.5e-3 AND d = $1"
            ),
            "SELECT * FROM t1 WHERE a = ? AND b = ? AND c = ? AND d = $1"
        );
        assert_eq!(
            redact_literals("select E'a\\'b', X'ff', $$secret$$, $t$x$t$ from \"t 1\""),
            "select ?, ?, ?, ? from \"t 1\""
        );
        assert_eq!(
            redact_literals("select col2 /* 'keep' 3 */ -- 'c' 4\nfrom t"),
            "select col2 /* 'keep' 3 */ -- 'c' 4\nfrom t"
        );
        assert_eq!(redact_literals("select 'unterminated"), "select ?");
    }

    #[test]
    fn one_line_truncates() {
        assert_eq!(one_line("select\n   1,\t2", 100), "select 1, 2");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
