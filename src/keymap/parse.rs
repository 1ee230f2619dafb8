//! How keys are written: parsed from `[keys]` (`q`, `ctrl-c`, `shift-tab`, `pgdn`, `f5`) and
//! named in `?`, hints and `config show` ([`key_name`], which parses back to the same key).

use crossterm::event::{KeyCode, KeyModifiers};

/// Modifiers that matter for matching (Shift is implied by an upper-case char).
pub fn normalize(code: KeyCode, mods: KeyModifiers) -> (KeyCode, KeyModifiers) {
    let mut m = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if let KeyCode::Char(_) = code {
        m.remove(KeyModifiers::SHIFT);
    }
    if code == KeyCode::BackTab {
        m.remove(KeyModifiers::SHIFT);
    }
    (code, m)
}

/// How a key is written in help and hints: `q`, `Ctrl-C`, `Tab`, `Shift-Tab`, `Enter`.
pub fn key_name(code: KeyCode, mods: KeyModifiers) -> String {
    let base = match code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => return "Shift-Tab".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    let alt = if mods.contains(KeyModifiers::ALT) {
        "Alt-"
    } else {
        ""
    };
    if mods.contains(KeyModifiers::CONTROL) && base.chars().count() == 1 {
        format!("Ctrl-{alt}{}", base.to_uppercase())
    } else if mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{alt}{base}")
    } else {
        format!("{alt}{base}")
    }
}

/// Parses a key as written in `[keys]`: one character (`q`, `K` is Shift-k, `?`, ` `), or a
/// name (`enter`, `esc`, `tab`, `space`, `backspace`, `delete`, `insert`, `up`, `down`,
/// `left`, `right`, `pgup`/`pageup`, `pgdn`/`pagedown`, `home`, `end`, `f1`…`f12`, the
/// arrows `↑↓←→`), after modifiers `ctrl-`, `alt-`, `shift-` (any case: `Ctrl-C` is
/// `ctrl-c`). Everything [`key_name`] writes parses back to the same key.
pub fn parse_key(text: &str) -> Result<(KeyCode, KeyModifiers), String> {
    let mut mods = KeyModifiers::NONE;
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let found = [
            ("ctrl-", KeyModifiers::CONTROL),
            ("alt-", KeyModifiers::ALT),
            ("shift-", KeyModifiers::SHIFT),
        ]
        .into_iter()
        .find(|(p, _)| lower.starts_with(p) && rest.len() > p.len());
        match found {
            Some((p, m)) => {
                mods |= m;
                rest = &rest[p.len()..];
            }
            None => break,
        }
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (None, _) => return Err("an empty key (write [] to unbind an action)".into()),
        (Some(c @ ('↑' | '↓' | '←' | '→')), None) => {
            named(&c.to_string()).unwrap_or(KeyCode::Char(c))
        }
        (Some(c), None) => KeyCode::Char(c),
        _ => named(&rest.to_ascii_lowercase()).ok_or_else(|| {
            format!(
                "`{rest}` is not a key: one character, or enter, esc, tab, space, backspace, \
                 delete, insert, up, down, left, right, pgup, pgdn, home, end, f1-f12, \
                 after ctrl-, alt-, shift-"
            )
        })?,
    };
    Ok(match code {
        KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => (KeyCode::BackTab, mods),
        KeyCode::BackTab => (KeyCode::BackTab, mods | KeyModifiers::SHIFT),
        // Terminals send Ctrl-c for Ctrl-C (and Ctrl-Shift-c is not told apart).
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => (
            KeyCode::Char(c.to_ascii_lowercase()),
            mods - KeyModifiers::SHIFT,
        ),
        KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) || c.is_uppercase() => {
            let up: Vec<char> = c.to_uppercase().collect();
            match up.as_slice() {
                [u] => (KeyCode::Char(*u), mods | KeyModifiers::SHIFT),
                _ => (KeyCode::Char(c), mods),
            }
        }
        other => (other, mods),
    })
}

fn named(name: &str) -> Option<KeyCode> {
    Some(match name {
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "up" | "↑" => KeyCode::Up,
        "down" | "↓" => KeyCode::Down,
        "left" | "←" => KeyCode::Left,
        "right" | "→" => KeyCode::Right,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        f => match f.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            Some(n @ 1..=12) => KeyCode::F(n),
            _ => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyModifiers as M;

    #[test]
    fn keys_parse_in_any_spelling() {
        let ok = |t: &str| parse_key(t).unwrap();
        assert_eq!(ok("q"), (KeyCode::Char('q'), M::NONE));
        assert_eq!(ok("ctrl-c"), (KeyCode::Char('c'), M::CONTROL));
        assert_eq!(ok("Ctrl-C"), (KeyCode::Char('c'), M::CONTROL));
        assert_eq!(ok("K"), (KeyCode::Char('K'), M::SHIFT));
        assert_eq!(ok("shift-k"), (KeyCode::Char('K'), M::SHIFT));
        assert_eq!(ok("shift-tab"), (KeyCode::BackTab, M::SHIFT));
        assert_eq!(ok("-"), (KeyCode::Char('-'), M::NONE));
        assert_eq!(ok("ctrl--"), (KeyCode::Char('-'), M::CONTROL));
        assert_eq!(ok("PgDn"), (KeyCode::PageDown, M::NONE));
        assert_eq!(ok("space"), (KeyCode::Char(' '), M::NONE));
        assert_eq!(ok("f5"), (KeyCode::F(5), M::NONE));
        assert_eq!(ok("alt-x"), (KeyCode::Char('x'), M::ALT));
        for bad in ["", "ctrl-", "hyper-x", "f13", "qq"] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn every_written_key_parses_back() {
        for bd in &super::super::Keymap::default().bindings {
            let name = key_name(bd.code, bd.mods);
            let (c, m) = parse_key(&name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(normalize(c, m), normalize(bd.code, bd.mods), "{name}");
        }
    }
}
