//! BFCL's JavaScript type converter (`js_type_converter.py`): a JavaScript argument arrives
//! as the string of its literal (`"'GET'"`, `"42n"`, `"[1, 2]"`, `"{method: 'GET'}"`) and
//! becomes the value BFCL compares. Arrays and objects are read with BFCL's own regular
//! expressions, nesting limits included (an object ends at its first `}`).

use gavel_plugin::serde_json::{Map, Value};

use super::py::{self, Stop};
use super::pyre::{Re, chars, matches_at_start};

/// The types BFCL's `JS_TYPE_CONVERSION` knows, as the Python type it checks against.
pub(super) fn python_type(name: &str) -> Option<super::Ty> {
    use super::Ty;
    Some(match name {
        "String" | "any" => Ty::Str,
        "integer" | "Bigint" => Ty::Int,
        "float" => Ty::Float,
        "Boolean" => Ty::Bool,
        "dict" => Ty::Dict,
        "array" => Ty::List,
        _ => return None,
    })
}

fn quoted(value: &str) -> bool {
    (value.starts_with('"') && value.ends_with('"'))
        || (value.starts_with('\'') && value.ends_with('\''))
}

/// `js_type_converter(value, expected_type, nested_type)`.
pub fn convert(value: &str, expected: &str, nested: Option<&str>) -> Result<Value, Stop> {
    let string = || Ok(Value::String(value.to_owned()));
    match expected {
        "String" if quoted(value) => Ok(Value::String(py::inner(value).to_owned())),
        "String" | "any" => string(),
        "integer" if matches_at_start(r"^-?\d+$", value) => py::int_or_raise(value),
        "float" if matches_at_start(r"^-?\d+(\.\d+)?$", value) => py::float_or_raise(value),
        "Bigint" if matches_at_start(r"^-?\d+n$", value) => py::int_or_raise(py::drop_last(value)),
        "integer" | "float" | "Bigint" => string(),
        "Boolean" => match value {
            "true" | "false" => Ok(Value::Bool(value == "true")),
            _ => string(),
        },
        "dict" => object(value),
        "array" => array(value, nested),
        other => Err(Stop::Raises(format!("BFCL's JavaScript converter has no type {other:?}"))),
    }
}

/// `parse_js_collection(code, "array", nested_type)`; anything that raises inside leaves the
/// text as it was, as BFCL's `try`/`except` does.
fn array(code: &str, nested: Option<&str>) -> Result<Value, Stop> {
    let code = py::strip(code);
    let text = chars(code);
    let two_d = Re::cached(
        r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)",
        false,
    );
    let matched = two_d.match_at(&text, 0);
    if two_d.gave_up() {
        return Err(Stop::TooLarge(format!(
            "an array of more than {} rows",
            super::pyre::MAX_GROUP_REPEATS
        )));
    }
    if let Some(m) = matched {
        let whole = chars(&m.group(0).unwrap_or_default());
        let rows = Re::cached(r"\[(.*?)\]", false).find_all(&whole);
        return Ok(Value::Array(
            rows.iter()
                .enumerate()
                .map(|(i, row)| {
                    let row = row.group(1).unwrap_or_default();
                    let mut row = py::strip(&row);
                    if i == 0 && row.starts_with('[') {
                        row = &row[1..];
                    }
                    Value::Array(row.split(',').map(|e| untyped(py::strip(e))).collect())
                })
                .collect(),
        ));
    }
    let Some(m) = Re::cached(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)", false).match_at(&text, 0) else {
        return Ok(Value::String(code.to_owned()));
    };
    let items = m.group(1).or_else(|| m.group(2)).unwrap_or_default();
    let items = py::strip(&items);
    let elements: Vec<&str> =
        if items.is_empty() { Vec::new() } else { items.split(',').collect() };
    let Some(nested) = nested else {
        return Ok(Value::Array(elements.iter().map(|e| untyped(py::strip(e))).collect()));
    };
    let converted: Result<Vec<Value>, Stop> = elements
        .iter()
        .map(|e| {
            let e = py::strip(e);
            let hint = (e.starts_with('\'') || e.starts_with('"')).then_some("String");
            convert(e, nested, hint)
        })
        .collect();
    match converted {
        Ok(items) => Ok(Value::Array(items)),
        Err(stop @ Stop::TooLarge(_)) => Err(stop),
        // BFCL's bare `except:` catches what the element conversion raised; a number JSON
        // cannot hold matches no possible answer either way.
        Err(_) => Ok(Value::String(code.to_owned())),
    }
}

/// `parse_js_collection(code, "dict")`.
fn object(code: &str) -> Result<Value, Stop> {
    let code = py::strip(code);
    if code == "{}" {
        return Ok(Value::Object(Map::new()));
    }
    let text = chars(code);
    let Some(m) = Re::cached(r"\{(.*?)\}", false).match_at(&text, 0) else {
        return Ok(Value::String(code.to_owned()));
    };
    let content = chars(&m.group(1).unwrap_or_default());
    let mut map = Map::new();
    for pair in Re::cached(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)", false).find_all(&content) {
        let key = pair.group(1).unwrap_or_default();
        let key = py::strip_chars(py::strip(&key), &['\'', '"']);
        let value = pair.group(2).unwrap_or_default();
        let value = py::strip(&value);
        let parsed = if value.starts_with('[') && value.ends_with(']') {
            array(value, None)?
        } else if value.starts_with('{') && value.ends_with('}') {
            object(value)?
        } else {
            untyped(py::strip_chars(value, &['\'', '"']))
        };
        map.insert(key.to_owned(), parsed);
    }
    Ok(Value::Object(map))
}

/// `parse_js_value`: a literal read without a declared type. A number JSON cannot hold stays
/// text here; no possible answer holds it either way.
fn untyped(value: &str) -> Value {
    let value = py::strip(value);
    match value {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ if quoted(value) => Value::String(py::inner(value).to_owned()),
        _ => py::int(value)
            .or_else(|| py::float(value))
            .and_then(Result::ok)
            .unwrap_or_else(|| Value::String(value.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    fn conv(value: &str, ty: &str, nested: Option<&str>) -> Value {
        convert(value, ty, nested).unwrap()
    }

    // Expected values are from BFCL's own `test_js_type_converter*` functions.
    #[test]
    fn bfcl_examples() {
        assert_eq!(conv("123n", "Bigint", None), json!(123));
        assert_eq!(conv("'abc'", "String", None), json!("abc"));
        assert_eq!(conv("2.5", "float", None), json!(2.5));
        assert_eq!(conv("123.45", "integer", None), json!("123.45"));
        assert_eq!(conv("[1, 'two', true]", "array", None), json!([1, "two", true]));
        assert_eq!(conv("new Array(4n, 5n, 6n)", "array", Some("Bigint")), json!([4, 5, 6]));
        assert_eq!(
            conv(r#"["hello", "world"]"#, "array", Some("String")),
            json!(["hello", "world"])
        );
        assert_eq!(
            conv(" [ [ 1, 2 ], [ 3,   4], [5, 6]]", "array", Some("array")),
            json!([[1, 2], [3, 4], [5, 6]])
        );
        assert_eq!(conv("{}", "dict", None), json!({}));
        let rows = vec!["[1]"; 2_000].join(", ");
        assert!(matches!(
            convert(&format!("[{rows}]"), "array", Some("array")),
            Err(Stop::TooLarge(_))
        ));
        assert_eq!(
            conv("{'key1': 123, 'key2': 'value', 'key3': false}", "dict", None),
            json!({"key1": 123, "key2": "value", "key3": false})
        );
        assert_eq!(
            conv(
                r#"{"initialState": initialStateObject, "middlewares": ["loggerMiddleware"], "enhancers": ["applyMiddleware", "myMiddleWare"]}"#,
                "dict",
                None
            ),
            json!({"initialState": "initialStateObject", "middlewares": ["loggerMiddleware"],
                   "enhancers": ["applyMiddleware", "myMiddleWare"]})
        );
    }
}
