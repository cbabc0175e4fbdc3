//! BFCL's Java type converter (`java_type_converter.py`): a Java argument arrives as the
//! string of its literal (`"42L"`, `"3.5f"`, `"new int[]{1, 2}"`,
//! `"new HashMap<String, Object>() {{ put(\"k\", 1); }}"`) and becomes the value BFCL
//! compares. A string that does not look like the declared type stays a string, which
//! usually fails the type check afterwards, as in BFCL.

use gavel_plugin::serde_json::{Map, Value};

use super::py::{self, Stop};
use super::pyre::{Re, chars, matches_at_start};

/// The types BFCL's `JAVA_TYPE_CONVERSION` knows, as the Python type it checks against.
pub(super) fn python_type(name: &str) -> Option<super::Ty> {
    use super::Ty;
    Some(match name {
        "byte" | "short" | "integer" | "long" => Ty::Int,
        "float" | "double" => Ty::Float,
        "boolean" => Ty::Bool,
        "char" | "String" | "any" => Ty::Str,
        "Array" | "ArrayList" | "Queue" | "Stack" => Ty::List,
        "Set" => Ty::Set,
        "HashMap" | "Hashtable" => Ty::Dict,
        _ => return None,
    })
}

/// `re.sub(pattern, "", value)` for a pattern anchored at the end (one match at most).
fn drop_suffix(pattern: &'static str, value: &str) -> String {
    let text = chars(value);
    match Re::cached(pattern, false).search(&text) {
        Some(m) => text[..m.start()].iter().chain(&text[m.end()..]).collect(),
        None => value.to_owned(),
    }
}

const FLOAT: &str = r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$";
const LONG: &str = r"^-?\d+[lL]$";

/// `java_type_converter(value, expected_type, nested_type)`.
pub fn convert(value: &str, expected: &str, nested: Option<&str>) -> Result<Value, Stop> {
    let string = || Ok(Value::String(value.to_owned()));
    match expected {
        "byte" | "short" | "integer" => {
            if matches_at_start(r"^-?\d+$", value) {
                py::int_or_raise(value)
            } else {
                string()
            }
        }
        "float" => {
            if matches_at_start(FLOAT, value) {
                py::float_or_raise(&drop_suffix("[fF]$", value))
            } else {
                string()
            }
        }
        "double" => {
            if matches_at_start(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$", value) {
                py::float_or_raise(value)
            } else {
                string()
            }
        }
        "long" => {
            if matches_at_start(LONG, value) {
                py::int_or_raise(&drop_suffix("[lL]$", value))
            } else {
                string()
            }
        }
        "boolean" => match value {
            "true" | "false" => Ok(Value::Bool(value == "true")),
            _ => string(),
        },
        // BFCL's char pattern is `^\'.$\'`, which nothing matches: a char stays as written.
        "char" | "String" | "any" => string(),
        "ArrayList" => array_list(value, nested),
        "Array" => array(value, nested),
        "HashMap" => hash_map(value),
        "Set" | "Hashtable" | "Queue" | "Stack" => {
            Err(Stop::Raises(format!("BFCL's Java converter does not implement {expected}")))
        }
        other => Err(Stop::Raises(format!("BFCL's Java converter has no type {other:?}"))),
    }
}

/// One element of a collection: quotes dropped for `char`/`String` items (ArrayList only),
/// else converted to the item type, else parsed untyped.
fn element(text: &str, nested: Option<&str>, drop_quotes: bool) -> Result<Value, Stop> {
    match nested {
        Some("char" | "String") if drop_quotes => Ok(Value::String(py::inner(text).to_owned())),
        Some(nested) => convert(text, nested, None),
        None => untyped(text),
    }
}

fn array_list(value: &str, nested: Option<&str>) -> Result<Value, Stop> {
    let text = chars(value);
    if let Some(m) =
        Re::cached(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)", false).search(&text)
    {
        let items = m.group(1).unwrap_or_default();
        return items.split(',').map(|e| element(py::strip(e), nested, true)).collect();
    }
    let adds = Re::cached(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", true);
    if let Some(m) = adds.search(&text) {
        let body = chars(&m.group(1).unwrap_or_default());
        return Re::cached(r"add\((.+?)\)", false)
            .find_all(&body)
            .iter()
            .map(|add| element(py::strip(&add.group(1).unwrap_or_default()), nested, true))
            .collect();
    }
    if Re::cached(r"new\s+ArrayList<\w*>\(\)", false).search(&text).is_some() {
        return Ok(Value::Array(Vec::new()));
    }
    Ok(Value::String(value.to_owned()))
}

fn array(value: &str, nested: Option<&str>) -> Result<Value, Stop> {
    let text = chars(value);
    let Some(m) = Re::cached(r"new\s+\w+\[\]\s*\{(.*?)\}", false).search(&text) else {
        return Ok(Value::String(value.to_owned()));
    };
    let items = m.group(1).unwrap_or_default();
    items
        .split(',')
        .map(py::strip)
        .filter(|e| !e.is_empty())
        .map(|e| element(e, nested, false))
        .collect()
}

fn hash_map(value: &str) -> Result<Value, Stop> {
    let text = chars(value);
    let filled = Re::cached(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", true);
    if let Some(m) = filled.search(&text) {
        let mut map = Map::new();
        let body = m.group(1).unwrap_or_default();
        if !py::strip(&body).is_empty() {
            for put in Re::cached(r#"put\("(.*?)",\s*(.*?)\)"#, false).find_all(&chars(&body)) {
                let key = put.group(1).unwrap_or_default();
                map.insert(key, untyped(py::strip(&put.group(2).unwrap_or_default()))?);
            }
        }
        return Ok(Value::Object(map));
    }
    if Re::cached(r"new\s+HashMap<.*?>\s*\(\)", false).search(&text).is_some() {
        return Ok(Value::Object(Map::new()));
    }
    Ok(Value::String(value.to_owned()))
}

/// `parse_java_value`: a literal read without a declared type.
pub fn untyped(value: &str) -> Result<Value, Stop> {
    match value {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if value.starts_with('"') && value.ends_with('"') {
        return Ok(Value::String(py::inner(value).to_owned()));
    }
    if matches_at_start(LONG, value) {
        return py::int_or_raise(py::drop_last(value));
    }
    if matches_at_start(FLOAT, value) {
        return py::float_or_raise(&drop_suffix("[fF]$", value));
    }
    py::int(value)
        .or_else(|| py::float(value))
        .unwrap_or_else(|| Ok(Value::String(value.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    fn conv(value: &str, ty: &str, nested: Option<&str>) -> Value {
        convert(value, ty, nested).unwrap()
    }

    // Expected values are from BFCL's own `test_java_type_converter`.
    #[test]
    fn bfcl_examples() {
        assert_eq!(conv("true", "boolean", None), json!(true));
        assert_eq!(conv("-123", "integer", None), json!(-123));
        assert_eq!(conv("2.5f", "float", None), json!(2.5));
        assert_eq!(conv("3e-3F", "float", None), json!(3e-3));
        assert_eq!(conv("2.5e2", "double", None), json!(250.0));
        assert_eq!(conv("-9223372036854775808L", "long", None), json!(i64::MIN));
        assert_eq!(conv("123", "any", None), json!("123"));
        assert_eq!(conv("3.14", "float", None), json!("3.14"));
        assert_eq!(conv("new int[]{1, 2, 3}", "Array", None), json!([1, 2, 3]));
        assert_eq!(conv("new int[] { }", "Array", None), json!([]));
        assert_eq!(conv("new long[]{1L, 2, 3L}", "Array", Some("long")), json!([1, "2", 3]));
        assert_eq!(
            conv(r#"new ArrayList<>(Arrays.asList("a", "b"))"#, "ArrayList", Some("String")),
            json!(["a", "b"])
        );
        assert_eq!(
            conv("new ArrayList<Float>() {{ add(1.0f); add(2.0f); }}", "ArrayList", Some("float")),
            json!([1.0, 2.0])
        );
        assert_eq!(
            conv("new ArrayList<Character>() {{ add('a'); add('b'); }}", "ArrayList", Some("char")),
            json!(["a", "b"])
        );
        assert_eq!(conv("new ArrayList<>()", "ArrayList", None), json!([]));
        for empty in ["new HashMap<>()", "new HashMap<>() {}", "new HashMap<>() {{ }}"] {
            assert_eq!(conv(empty, "HashMap", None), json!({}), "{empty}");
        }
        assert_eq!(
            conv(
                r#"new HashMap<String, Object>() { { put("key1", 123); put("key2", "v 2"); } }"#,
                "HashMap",
                None
            ),
            json!({"key1": 123, "key2": "v 2"})
        );
        assert!(matches!(convert("x", "Set", None), Err(Stop::Raises(_))));
    }
}
