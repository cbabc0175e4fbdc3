//! The Python built-ins BFCL's type converters lean on (`int()`, `float()`, `str.strip()`,
//! slicing), with their exact behaviour on the strings a model can send.

use gavel_plugin::serde_json::{Number, Value};

/// Why a conversion produced no value.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// BFCL's checker raises here (an unsupported type, `int("12L\n"[:-1])`); BFCL records
    /// such a case as a checker exception, which is not valid.
    Raises(String),
    /// A number JSON cannot hold (`nan`, `inf`, an integer beyond 64 bits): no possible
    /// answer (JSON) equals it, so the value is wrong wherever it stands.
    Unrepresentable(String),
    /// Too large to read the way BFCL does within gavel's bounds (a 2-D array of more than
    /// [`super::pyre::MAX_GROUP_REPEATS`] rows): the sample is invalid, not scored.
    TooLarge(String),
}

/// Python's `str.isspace()` for one character.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// `s.strip()`.
pub fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// `s.strip(chars)`.
pub fn strip_chars<'s>(s: &'s str, chars: &[char]) -> &'s str {
    s.trim_matches(|c| chars.contains(&c))
}

/// `s[1:-1]`, by characters.
pub fn inner(s: &str) -> &str {
    let mut it = s.char_indices();
    let start = it.next().map_or(s.len(), |(_, c)| c.len_utf8());
    let end = s.char_indices().next_back().map_or(0, |(i, _)| i);
    if start <= end { &s[start..end] } else { "" }
}

/// `s[:-1]`, by characters.
pub fn drop_last(s: &str) -> &str {
    s.char_indices().next_back().map_or("", |(i, _)| &s[..i])
}

/// Python's digit grouping: `_` only between two digits.
fn digits_ok(body: &str) -> bool {
    let b = body.as_bytes();
    !b.is_empty()
        && b.iter().enumerate().all(|(i, &c)| {
            c.is_ascii_digit()
                || (c == b'_'
                    && i > 0
                    && b[i - 1].is_ascii_digit()
                    && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        })
}

/// `int(s)` on a str: `None` where Python raises `ValueError`.
pub fn int(s: &str) -> Option<Result<Value, Stop>> {
    let t = strip(s);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    if !digits_ok(body) {
        return None;
    }
    let clean: String = t.chars().filter(|&c| c != '_' && c != '+').collect();
    Some(match clean.parse::<i64>() {
        Ok(n) => Ok(Value::from(n)),
        Err(_) => match clean.parse::<u64>() {
            Ok(n) => Ok(Value::from(n)),
            Err(_) => Err(Stop::Unrepresentable(format!("the integer {t} is beyond 64 bits"))),
        },
    })
}

/// `float(s)` on a str: `None` where Python raises `ValueError`.
pub fn float(s: &str) -> Option<Result<Value, Stop>> {
    let t = strip(s);
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let lower = body.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special {
        let (mantissa, exponent) = match lower.find('e') {
            Some(at) => (&lower[..at], Some(&lower[at + 1..])),
            None => (lower.as_str(), None),
        };
        let (whole, fraction) = match mantissa.find('.') {
            Some(at) => (&mantissa[..at], Some(&mantissa[at + 1..])),
            None => (mantissa, None),
        };
        let part_ok = |p: &str| p.is_empty() || digits_ok(p);
        let has_digits = !whole.is_empty() || fraction.is_some_and(|f| !f.is_empty());
        let exponent_ok =
            exponent.is_none_or(|e| digits_ok(e.strip_prefix(['+', '-']).unwrap_or(e)));
        if !(has_digits && part_ok(whole) && fraction.is_none_or(part_ok) && exponent_ok) {
            return None;
        }
    }
    let clean: String = t.chars().filter(|&c| c != '_').collect();
    let x: f64 = clean.parse().ok()?;
    Some(Number::from_f64(x).map(Value::Number).ok_or_else(|| {
        Stop::Unrepresentable(format!("float({t:?}) is {x}, which JSON cannot hold"))
    }))
}

/// `int(text)` where Python's raising is BFCL's crash ([`Stop::Raises`]).
pub fn int_or_raise(text: &str) -> Result<Value, Stop> {
    int(text).unwrap_or_else(|| Err(Stop::Raises(format!("int({text:?}) raises ValueError"))))
}

/// `float(text)` where Python's raising is BFCL's crash ([`Stop::Raises`]).
pub fn float_or_raise(text: &str) -> Result<Value, Stop> {
    float(text).unwrap_or_else(|| Err(Stop::Raises(format!("float({text:?}) raises ValueError"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    #[test]
    fn builtins_as_python() {
        assert_eq!(int(" -12 ").unwrap().unwrap(), json!(-12));
        assert_eq!(int("1_000").unwrap().unwrap(), json!(1000));
        assert!(int("1__0").is_none());
        assert!(int("12L").is_none());
        assert!(int("").is_none());
        assert!(matches!(int("99999999999999999999999"), Some(Err(Stop::Unrepresentable(_)))));
        assert_eq!(float("1.5e3").unwrap().unwrap(), json!(1500.0));
        assert_eq!(float(".5").unwrap().unwrap(), json!(0.5));
        assert_eq!(float("5.").unwrap().unwrap(), json!(5.0));
        assert!(float("1e").is_none());
        assert!(float(".").is_none());
        assert!(float("3.5f").is_none());
        assert!(matches!(float("nan"), Some(Err(Stop::Unrepresentable(_)))));
        assert!(matches!(float("-Infinity"), Some(Err(Stop::Unrepresentable(_)))));
        assert_eq!(inner("'a'"), "a");
        assert_eq!(inner("'"), "");
        assert_eq!(inner("é£ü"), "£");
        assert_eq!(drop_last("12L"), "12");
        assert_eq!(strip_chars("'\"x\"'", &['\'', '"']), "x");
    }
}
