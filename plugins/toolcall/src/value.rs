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

fn kept(c: char) -> bool {
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
    if a.is_ascii() && b.is_ascii() {
        // The same steps on bytes, without the Unicode case tables.
        fn bytes(s: &str) -> impl Iterator<Item = u8> + '_ {
            s.bytes()
                .filter(|&c| kept(char::from(c)))
                .map(|c| if c == b'\'' { b'"' } else { c.to_ascii_lowercase() })
        }
        return bytes(a).eq(bytes(b));
    }
    standardized(a).eq(standardized(b))
}

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
        fn standardized_eq_is_standardize_then_eq(a in "[aA '\"._İẞé]{0,6}", b in "[aA '\"._i̇ßÉ]{0,6}") {
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
