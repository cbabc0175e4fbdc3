//! Comparing argument values, with the documented coercions of `partial` mode and Python's
//! `==` for `toolrl` mode.

use gavel_plugin::serde_json::Value;

/// How loosely values compare.
#[derive(Debug, Clone, Copy)]
pub struct Coercions {
    /// `"5"` equals `5`, `"true"` equals `true`.
    pub strings_as_values: bool,
    /// Strings compare after lowercasing and dropping spaces and `.,/-_*^'"` (BFCL's
    /// standardisation): `"New York, NY"` equals `"newyork ny"`.
    pub loose_strings: bool,
}

/// Typed equality: numbers by value (`1` equals `1.0`), lists in order, objects key by key,
/// plus the chosen coercions.
pub fn equal(a: &Value, b: &Value, how: Coercions) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => {
            x == y || (how.loose_strings && standardized_eq(x, y))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q, how))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w, how)))
        }
        (Value::String(s), other) | (other, Value::String(s)) if how.strings_as_values => {
            match gavel_plugin::serde_json::from_str::<Value>(s.trim()) {
                Ok(parsed) if !parsed.is_string() => equal(&parsed, other, how),
                _ => false,
            }
        }
        _ => a == b,
    }
}

/// BFCL's string standardisation: without ` ,./-_*^`, `'` read as `"`, lowercase.
pub fn standardize(s: &str) -> String {
    standardized(s).collect()
}

const fn kept(c: char) -> bool {
    !matches!(c, ' ' | ',' | '.' | '/' | '-' | '_' | '*' | '^')
}

fn standardized(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(|&c| kept(c))
        .map(|c| if c == '\'' { '"' } else { c })
        .flat_map(char::to_lowercase)
}

/// `standardize(a) == standardize(b)`, without building either string.
pub fn standardized_eq(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // The same steps on ASCII bytes, through one table, without the Unicode case tables; the
    // first byte that is not ASCII hands both strings to the general path.
    let (a_bytes, b_bytes) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        let x = next_kept(a_bytes, &mut i);
        let y = next_kept(b_bytes, &mut j);
        match (x, y) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.is_ascii() && y.is_ascii() => {
                if ASCII_FOLD[usize::from(x)] != ASCII_FOLD[usize::from(y)] {
                    return false;
                }
            }
            (Some(x), None) | (None, Some(x)) if x.is_ascii() => return false,
            // A character that is not ASCII may still lowercase to ASCII (the Kelvin sign to
            // `k`): Unicode decides, from the start.
            _ => break,
        }
    }
    standardized(a).eq(standardized(b))
}

/// [`ASCII_FOLD`]'s mark for a byte that standardisation drops (not ASCII, so never a folded
/// byte).
const DROPPED: u8 = 0xff;

/// The next byte at or after `*at` that standardisation keeps (any byte that is not ASCII is
/// kept here, for the general path to judge), and moves `*at` past it.
fn next_kept(s: &[u8], at: &mut usize) -> Option<u8> {
    while let Some(&c) = s.get(*at) {
        *at += 1;
        if !c.is_ascii() || ASCII_FOLD[usize::from(c)] != DROPPED {
            return Some(c);
        }
    }
    None
}

/// Standardisation of an ASCII byte, [`standardized`]'s steps: lowercase, `'` as `"`, or
/// [`DROPPED`] where [`kept`] drops it.
const ASCII_FOLD: [u8; 128] = {
    let mut table = [DROPPED; 128];
    let mut c = 0;
    while c < 128 {
        let ch = c as u8;
        table[c] = match ch {
            _ if !kept(ch as char) => DROPPED,
            b'\'' => b'"',
            _ => ch.to_ascii_lowercase(),
        };
        c += 1;
    }
    table
};

/// Python's `==` on JSON-decoded values: `5 == 5.0`, `True == 1`, no string coercion.
pub fn python_eq(a: &Value, b: &Value) -> bool {
    let number = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| python_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| python_eq(v, w)))
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    const STRICT: Coercions = Coercions { strings_as_values: false, loose_strings: false };
    const LOOSE: Coercions = Coercions { strings_as_values: true, loose_strings: true };

    #[test]
    fn typed_comparison() {
        assert!(equal(&json!(1), &json!(1.0), STRICT));
        assert!(!equal(&json!("5"), &json!(5), STRICT));
        assert!(equal(&json!("5"), &json!(5), LOOSE));
        assert!(equal(&json!("true"), &json!(true), LOOSE));
        assert!(!equal(&json!([1, 2]), &json!([2, 1]), LOOSE));
        assert!(equal(&json!("New York, NY"), &json!("newyork ny"), LOOSE));
        assert!(standardized_eq("New York, NY", "newyork ny"));
        assert!(standardized_eq("it's", "IT\"S"));
        assert!(!standardized_eq("ab", "abc"));
        assert!(!equal(&json!({"a": 1}), &json!({"a": 1, "b": 2}), LOOSE));
    }

    proptest::proptest! {
        /// The comparison without strings agrees with comparing standardised strings, on ASCII
        /// and on characters whose lowercase is longer or not ASCII.
        #[test]
        fn standardized_eq_is_standardize_then_eq(a in "[aAkK '\"._İẞé\u{0}\u{212a}]{0,6}", b in "[aAkK '\"._i̇ßÉ\u{0}\u{212a}]{0,6}") {
            proptest::prop_assert_eq!(standardized_eq(&a, &b), standardize(&a) == standardize(&b));
            proptest::prop_assert!(standardized_eq(&a, &a.to_uppercase()) || !a.is_ascii());
        }
    }

    #[test]
    fn python_equality() {
        assert!(python_eq(&json!(5), &json!(5.0)));
        assert!(python_eq(&json!(true), &json!(1)));
        assert!(!python_eq(&json!("NYC"), &json!("nyc")));
    }
}
