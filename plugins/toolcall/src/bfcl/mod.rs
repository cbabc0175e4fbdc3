//! `bfcl` mode: the Berkeley Function Calling Leaderboard's AST checker (bfcl-eval's
//! `ast_checker`) for Python, Java and JavaScript: 1 when the calls are valid for the function
//! docs and possible answers, 0 otherwise, with BFCL's `error_type`.
//!
//! Rules, in BFCL's order: the call count (exactly one for simple and multiple, the gold count
//! for parallel, matched order-free and greedily in gold order); the function name; required
//! parameters; no parameter outside the doc and the possible answer; types; values against the
//! possible answers (strings after BFCL's standardisation, lists elementwise and in order, dicts
//! key by key, others with Python's `==`); omitted parameters must be marked optional with `""`.
//!
//! Python types: `integer` → int, `float` → float with ints accepted, `boolean`, `string`,
//! `array`/`tuple` → list with one level of item types, `dict`; a value of the possible
//! answers' type is taken as a variable name. Java and JavaScript arguments are strings holding
//! the language's literal; BFCL's converters ([`java`], [`js`]) turn them into values first,
//! and a string that does not read as the declared type stays a string.

pub mod java;
pub mod js;
pub mod py;
pub mod pyre;

use std::borrow::Cow;
use std::collections::BTreeMap;

use gavel_plugin::serde_json::Value;

use crate::call::Call;
use crate::value::{python_eq, standardized_eq};

/// BFCL's verdict on one completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Whether the calls are valid.
    pub valid: bool,
    /// BFCL's error type, such as `value_error:string`, when not valid.
    pub error_type: Option<&'static str>,
    /// What was wrong.
    pub error: Option<String>,
}

impl Verdict {
    fn ok() -> Self {
        Self { valid: true, error_type: None, error: None }
    }

    fn fail(error_type: &'static str, error: impl Into<String>) -> Self {
        Self { valid: false, error_type: Some(error_type), error: Some(error.into()) }
    }
}

/// A BFCL test entry as the reference of a sample: `{"functions", "possible_answer",
/// "language"?, "category"?}`. Read into the few fields the checker uses, skipping the rest of
/// a function doc (descriptions, defaults, enums: most of its bytes).
#[derive(Debug, serde::Deserialize)]
pub struct Reference {
    /// The function docs the model was given.
    pub functions: Vec<FunctionDoc>,
    /// One `{name: {param: [allowed values]}}` per expected call.
    pub possible_answer: Vec<Value>,
    /// `python` (default), `java` or `javascript`.
    #[serde(default)]
    pub language: Option<String>,
    /// BFCL's test category (`simple`, `multiple`, `parallel`, `parallel_multiple`, ...).
    #[serde(default)]
    pub category: Option<String>,
}

/// The parts of a function doc BFCL's checker reads.
#[derive(Debug, serde::Deserialize)]
pub struct FunctionDoc {
    /// The function's name.
    pub name: String,
    /// Its parameters.
    #[serde(default)]
    pub parameters: Parameters,
}

/// A function's parameters: their docs by name, and which are required.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Parameters {
    /// Parameter docs by name.
    #[serde(default)]
    pub properties: BTreeMap<String, ParamDoc>,
    /// The names of the required parameters.
    #[serde(default)]
    pub required: Vec<String>,
}

/// One parameter's declared type (and its items' type, for collections).
#[derive(Debug, serde::Deserialize)]
pub struct ParamDoc {
    /// The declared type, in the language's vocabulary (`integer`, `ArrayList`, `Bigint`).
    #[serde(rename = "type", default)]
    pub ty: String,
    /// The items' doc, for collections.
    #[serde(default)]
    pub items: Option<ItemDoc>,
}

/// A collection's item type.
#[derive(Debug, serde::Deserialize)]
pub struct ItemDoc {
    /// The items' declared type.
    #[serde(rename = "type", default)]
    pub ty: Option<String>,
}

/// A Python type as BFCL's checker sees a JSON-decoded value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Str,
    Int,
    Float,
    Bool,
    List,
    Dict,
    Set,
    None,
}

fn ty(v: &Value) -> Ty {
    match v {
        Value::String(_) => Ty::Str,
        Value::Number(n) if n.is_f64() => Ty::Float,
        Value::Number(_) => Ty::Int,
        Value::Bool(_) => Ty::Bool,
        Value::Array(_) => Ty::List,
        Value::Object(_) => Ty::Dict,
        Value::Null => Ty::None,
    }
}

fn doc_type(name: &str) -> Option<Ty> {
    Some(match name {
        "string" | "any" => Ty::Str,
        "integer" => Ty::Int,
        "float" => Ty::Float,
        "boolean" => Ty::Bool,
        "array" | "tuple" => Ty::List,
        "dict" => Ty::Dict,
        _ => return None,
    })
}

fn is_optional_marker(v: &Value) -> bool {
    v.as_str() == Some("")
}

/// The type of the first possible answer that is not the optional marker `""`.
fn answer_type(options: &[Value]) -> Option<Ty> {
    options.iter().find(|o| !is_optional_marker(o)).map(ty)
}

/// A failure message from its pieces, each written straight into one string: in wasm,
/// `format!` costs several times as much (a dynamic call per piece, `{:?}` escaping one
/// character at a time), and a failing check writes one or more.
macro_rules! msg {
    ($($piece:expr),+ $(,)?) => {{
        let mut out = String::with_capacity(128);
        $( Piece::put(&$piece, &mut out); )+
        out
    }};
}

/// A part of a failure message.
trait Piece {
    fn put(&self, out: &mut String);
}

impl Piece for &str {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Piece for String {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

/// A name as `{:?}` writes it: in double quotes, escaped.
struct Quoted<'a>(&'a str);

impl Piece for Quoted<'_> {
    fn put(&self, out: &mut String) {
        if self.0.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') {
            out.push('"');
            out.push_str(self.0);
            out.push('"');
        } else {
            use std::fmt::Write;
            let _ = write!(out, "{:?}", self.0);
        }
    }
}

/// A JSON value as its compact text.
struct Json<'a>(&'a Value);

impl Piece for Json<'_> {
    fn put(&self, out: &mut String) {
        out.push_str(&gavel_plugin::serde_json::to_string(self.0).unwrap_or_default());
    }
}

/// Possible answers, written as the JSON list they came from (without copying them into one).
struct JsonList<'a>(&'a [Value]);

impl Piece for JsonList<'_> {
    fn put(&self, out: &mut String) {
        out.push('[');
        for (i, option) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            Json(option).put(out);
        }
        out.push(']');
    }
}

impl Piece for Ty {
    fn put(&self, out: &mut String) {
        out.push_str(match self {
            Ty::Str => "Str",
            Ty::Int => "Int",
            Ty::Float => "Float",
            Ty::Bool => "Bool",
            Ty::List => "List",
            Ty::Dict => "Dict",
            Ty::Set => "Set",
            Ty::None => "None",
        });
    }
}

/// BFCL's message for a value that is none of the possible answers.
fn not_one_of(param: &str, value: &Value, options: &[Value], tail: &str) -> String {
    msg![
        "Invalid value for parameter ",
        Quoted(param),
        ": ",
        Json(value),
        ". Expected one of ",
        JsonList(options),
        tail,
    ]
}

/// Python's `x in options`.
fn python_in(x: &Value, options: &[Value]) -> bool {
    options.iter().any(|o| python_eq(x, o))
}

/// The language of a BFCL test entry, which decides how arguments are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Arguments are JSON values, typed as Python sees them.
    Python,
    /// Arguments are strings holding Java literals.
    Java,
    /// Arguments are strings holding JavaScript literals.
    JavaScript,
}

impl Language {
    /// Reads BFCL's name for the language (`python`, `java`, `javascript`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "python" => Self::Python,
            "java" => Self::Java,
            "javascript" => Self::JavaScript,
            _ => return None,
        })
    }

    /// The Python type BFCL checks a parameter of this doc type against.
    fn python_type(self, name: &str) -> Option<Ty> {
        match self {
            Self::Python => doc_type(name),
            Self::Java => java::python_type(name),
            Self::JavaScript => js::python_type(name),
        }
    }
}

/// Checks the calls of a completion against BFCL's reference for one test entry.
pub fn check(
    functions: &[FunctionDoc],
    calls: &[Call],
    possible: &[Value],
    category: &str,
    language: Language,
) -> Verdict {
    let multiple = crate::text::contains(category, "multiple");
    if crate::text::contains(category, "parallel") {
        if calls.len() != possible.len() {
            return Verdict::fail(
                "parallel_function_checker_no_order:wrong_count",
                "Wrong number of functions.",
            );
        }
        let mut matched: Vec<usize> = Vec::new();
        for (i, answer) in possible.iter().enumerate() {
            let Some((name, _)) = answer.as_object().and_then(|o| o.iter().next()) else {
                return Verdict::fail(
                    "reference",
                    format!("possible_answer[{i}] is not {{name: {{...}}}}"),
                );
            };
            let doc = find_doc(functions, name);
            let mut found = false;
            let mut last = Verdict::ok();
            for (j, call) in calls.iter().enumerate() {
                if matched.contains(&j) {
                    continue;
                }
                last = simple(doc, call, answer, language);
                if last.valid {
                    matched.push(j);
                    found = true;
                    break;
                }
            }
            if !found {
                let why = last.error.unwrap_or_default();
                return Verdict::fail(
                    "parallel_function_checker_no_order:cannot_find_match",
                    msg![
                        "no call matches possible answer ",
                        i.to_string(),
                        " (",
                        name.as_str(),
                        "): ",
                        why
                    ],
                );
            }
        }
        return Verdict::ok();
    }
    if multiple {
        if calls.len() != possible.len() {
            return Verdict::fail(
                "multiple_function_checker:wrong_count",
                "Wrong number of functions.",
            );
        }
    } else if calls.len() != 1 {
        return Verdict::fail("simple_function_checker:wrong_count", "Wrong number of functions.");
    }
    let Some(answer) = possible.first() else {
        return Verdict::fail("reference", "possible_answer is empty");
    };
    let name = answer.as_object().and_then(|o| o.keys().next()).map(String::as_str).unwrap_or("");
    let doc = if multiple { find_doc(functions, name) } else { functions.first() };
    simple(doc, &calls[0], answer, language)
}

fn find_doc<'a>(functions: &'a [FunctionDoc], name: &str) -> Option<&'a FunctionDoc> {
    functions.iter().find(|f| f.name == name)
}

/// BFCL's `simple_function_checker`.
fn simple(doc: Option<&FunctionDoc>, call: &Call, answer: &Value, language: Language) -> Verdict {
    let Some(doc) = doc else {
        return Verdict::fail("reference", "no function doc for the possible answer");
    };
    let Some(possible) =
        answer.as_object().and_then(|o| o.values().next()).and_then(Value::as_object)
    else {
        return Verdict::fail("reference", "possible answer is not {name: {param: [options]}}");
    };
    let name = &*doc.name;
    let params = &doc.parameters.properties;
    if call.name != name {
        return Verdict::fail(
            "simple_function_checker:wrong_func_name",
            msg![
                "Function name ",
                Quoted(name),
                " not found in model output (got ",
                Quoted(&call.name),
                ")."
            ],
        );
    }
    for param in &doc.parameters.required {
        if !call.args.contains_key(param) {
            return Verdict::fail(
                "simple_function_checker:missing_required",
                msg!["Missing required parameter: ", Quoted(param), "."],
            );
        }
    }
    for (param, value) in &call.args {
        let (Some(detail), Some(options)) =
            (params.get(param.as_str()), possible.get(param).and_then(Value::as_array))
        else {
            return Verdict::fail(
                "simple_function_checker:unexpected_param",
                msg!["Unexpected parameter: ", Quoted(param), "."],
            );
        };
        let type_name = &*detail.ty;
        let Some(expected) = language.python_type(type_name) else {
            return Verdict::fail("reference", format!("unknown parameter type {type_name:?}"));
        };
        let nested_name = match (language, type_name) {
            (Language::Python, "array" | "tuple")
            | (Language::Java, "Array" | "ArrayList")
            | (Language::JavaScript, "array") => {
                let name = detail.items.as_ref().and_then(|items| items.ty.as_deref());
                match (language, name) {
                    (Language::Python, _) => name,
                    (_, Some(name)) if language.python_type(name).is_some() => Some(name),
                    _ => {
                        return Verdict::fail(
                            "reference",
                            format!("parameter {param:?} has no known item type"),
                        );
                    }
                }
            }
            _ => None,
        };
        let nested = nested_name.and_then(|name| language.python_type(name));
        let value = match language {
            // Python converts an int to float where a float is expected.
            Language::Python => match value {
                Value::Number(n) if type_name == "float" && !n.is_f64() => n
                    .as_f64()
                    .and_then(gavel_plugin::serde_json::Number::from_f64)
                    .map_or(Cow::Borrowed(value), |n| Cow::Owned(Value::Number(n))),
                _ => Cow::Borrowed(value),
            },
            Language::Java | Language::JavaScript => {
                let (error_type, language_name) = if language == Language::Java {
                    ("type_error:java", "Java")
                } else {
                    ("type_error:js", "JavaScript")
                };
                let Value::String(text) = value else {
                    return Verdict::fail(
                        error_type,
                        msg![
                            "Incorrect type for parameter ",
                            Quoted(param),
                            ". Expected type String (a ",
                            language_name,
                            " literal), got ",
                            Json(value),
                            ".",
                        ],
                    );
                };
                let converted = if language == Language::Java {
                    java::convert(text, type_name, nested_name)
                } else {
                    js::convert(text, type_name, nested_name)
                };
                match converted {
                    Ok(value) => Cow::Owned(value),
                    Err(py::Stop::Raises(why)) => {
                        return Verdict::fail(
                            "checker_exception",
                            format!("BFCL's checker raises on parameter {param:?}: {why}"),
                        );
                    }
                    Err(py::Stop::TooLarge(why)) => {
                        return Verdict::fail(
                            "too_large",
                            format!("parameter {param:?} is too large to check: {why}"),
                        );
                    }
                    Err(py::Stop::Unrepresentable(why)) => {
                        return Verdict::fail(
                            "value_error:others",
                            format!("Invalid value for parameter {param:?}: {why}"),
                        );
                    }
                }
            }
        };
        let typed = type_check(param, &value, options, type_name, expected, nested);
        let is_variable = match typed {
            Ok(is_variable) => is_variable,
            Err(verdict) => return verdict,
        };
        if !is_variable {
            let checked = match (expected, nested) {
                (Ty::Dict, _) => Some(dict_check(param, &value, options)),
                (Ty::List, Some(Ty::Dict)) => Some(list_dict_check(&value, options)),
                (Ty::Str, _) => Some(string_check(param, &value, options)),
                (Ty::List, _) => Some(list_check(param, &value, options)),
                _ => None,
            };
            if let Some(verdict) = checked {
                if !verdict.valid {
                    return verdict;
                }
                continue;
            }
        }
        if !python_in(&value, options) {
            return Verdict::fail("value_error:others", not_one_of(param, &value, options, "."));
        }
    }
    for (param, options) in possible {
        let optional = options.as_array().is_some_and(|o| o.iter().any(is_optional_marker));
        if !call.args.contains_key(param) && !optional {
            return Verdict::fail(
                "simple_function_checker:missing_optional",
                msg![
                    "Optional parameter ",
                    Quoted(param),
                    " not provided and not marked as optional."
                ],
            );
        }
    }
    Verdict::ok()
}

/// BFCL's `type_checker`: `Ok(is_variable)` or the type error.
fn type_check(
    param: &str,
    value: &Value,
    options: &[Value],
    type_name: &str,
    expected: Ty,
    nested: Option<Ty>,
) -> Result<bool, Verdict> {
    let options_type = answer_type(options);
    let is_variable = options_type.is_some_and(|t| t != expected);
    if ty(value) == expected {
        let Some(inner) = nested else { return Ok(is_variable) };
        for option in options {
            let mut fits = true;
            if let (Value::Array(option_items), Value::Array(items)) = (option, value) {
                fits = items
                    .iter()
                    .all(|item| type_check(param, item, option_items, "", inner, None).is_ok());
            }
            if fits {
                return Ok(is_variable);
            }
        }
        return Err(Verdict::fail(
            "type_error:nested",
            msg![
                "Nested type checking failed for parameter ",
                Quoted(param),
                ". Expected outer type ",
                type_name,
                " with inner type ",
                inner,
                ". Parameter value: ",
                Json(value),
                ".",
            ],
        ));
    }
    if options_type == Some(ty(value)) {
        return Ok(true);
    }
    Err(Verdict::fail(
        "type_error:simple",
        msg![
            "Incorrect type for parameter ",
            Quoted(param),
            ". Expected type ",
            type_name,
            ", got ",
            ty(value),
            ". Parameter value: ",
            Json(value),
            ".",
        ],
    ))
}

/// Equality after standardising the two values when they are strings (BFCL standardises the
/// top level of a value only, so nested strings compare exactly); no allocation.
fn std_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => standardized_eq(x, y),
        _ => python_eq(a, b),
    }
}

fn string_check(param: &str, value: &Value, options: &[Value]) -> Verdict {
    let got = value.as_str().unwrap_or_default();
    if options.iter().filter_map(Value::as_str).any(|o| standardized_eq(o, got)) {
        return Verdict::ok();
    }
    Verdict::fail("value_error:string", not_one_of(param, value, options, ". Case insensitive."))
}

fn list_check(param: &str, value: &Value, options: &[Value]) -> Verdict {
    let Value::Array(items) = value else {
        return Verdict::fail("value_error:list/tuple", "not a list");
    };
    let hit = options.iter().any(|option| match option {
        Value::Array(o) => items.len() == o.len() && items.iter().zip(o).all(|(a, b)| std_eq(a, b)),
        // BFCL iterates a string option's characters, so `""` (optional) matches `[]`.
        Value::String(chars) => {
            items.len() == chars.chars().count()
                && items.iter().zip(chars.chars()).all(|(item, c)| {
                    item.as_str().is_some_and(|x| standardized_eq(x, c.encode_utf8(&mut [0; 4])))
                })
        }
        _ => false,
    });
    if hit {
        return Verdict::ok();
    }
    Verdict::fail("value_error:list/tuple", not_one_of(param, value, options, "."))
}

fn dict_check(param: &str, value: &Value, options: &[Value]) -> Verdict {
    let Value::Object(model) = value else {
        return Verdict::fail("dict_checker:unclear", "not a dict");
    };
    let mut last = None;
    for option in options {
        if is_optional_marker(option) {
            continue;
        }
        let Some(answer) = option.as_object() else { continue };
        let mut verdict = Verdict::ok();
        for (key, v) in model {
            let allowed: Cow<[Value]> = match answer.get(key) {
                None => {
                    verdict = Verdict::fail(
                        "value_error:dict_key",
                        msg!["Unexpected dict key parameter: '", key.as_str(), "'."],
                    );
                    break;
                }
                Some(Value::Array(allowed)) => Cow::Borrowed(allowed),
                // BFCL iterates whatever stands there: a string's characters are each allowed
                // (a quirk of possible answers that hold a bare string).
                Some(Value::String(allowed)) => {
                    Cow::Owned(allowed.chars().map(|c| Value::String(c.to_string())).collect())
                }
                Some(Value::Object(allowed)) if allowed.is_empty() => Cow::Owned(Vec::new()),
                Some(other) => {
                    return Verdict::fail(
                        "checker_exception",
                        format!("BFCL's checker raises on the possible answer {other} of '{key}'"),
                    );
                }
            };
            if !allowed.iter().any(|a| std_eq(v, a)) {
                verdict = Verdict::fail(
                    "value_error:dict_value",
                    msg!["Invalid value for parameter '", key.as_str(), "': ", Json(v), "."],
                );
                break;
            }
        }
        if verdict.valid {
            for (key, allowed) in answer {
                // Python's `"" in allowed`: true of every string.
                let optional = match allowed {
                    Value::Array(a) => a.iter().any(is_optional_marker),
                    Value::String(_) => true,
                    Value::Object(o) => o.contains_key(""),
                    _ => false,
                };
                if !model.contains_key(key) && !optional {
                    verdict = Verdict::fail(
                        "value_error:dict_key",
                        msg!["Missing dict key parameter: '", key.as_str(), "'."],
                    );
                    break;
                }
            }
        }
        if verdict.valid {
            return verdict;
        }
        last = Some(verdict);
    }
    last.unwrap_or_else(|| {
        Verdict::fail("dict_checker:unclear", format!("no possible answer for {param:?}"))
    })
}

fn list_dict_check(value: &Value, options: &[Value]) -> Verdict {
    let Value::Array(items) = value else {
        return Verdict::fail("list_dict_checker:unclear", "not a list");
    };
    let mut last = Verdict::fail("list_dict_checker:unclear", "no possible answer");
    for option in options {
        let Value::Array(answers) = option else { continue };
        if items.len() != answers.len() {
            last = Verdict::fail(
                "value_error:list_dict_count",
                "Wrong number of dictionaries in the list.",
            );
            continue;
        }
        let mut all = true;
        for (item, answer) in items.iter().zip(answers) {
            last = dict_check("", item, std::slice::from_ref(answer));
            if !last.valid {
                all = false;
                break;
            }
        }
        if all {
            return Verdict::ok();
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use gavel_plugin::serde_json::json;

    fn doc() -> FunctionDoc {
        gavel_plugin::serde_json::from_str(
            r#"{"name": "calc_area", "description": "Area.", "parameters": {"type": "dict", "properties": {
            "base": {"type": "integer", "description": "The base."}, "height": {"type": "float"},
            "unit": {"type": "string", "enum": ["cm", "m"]},
            "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["base", "height"]}}"#,
        )
        .unwrap()
    }

    fn answer() -> Value {
        json!({"calc_area": {"base": [10], "height": [5.0], "unit": ["cm", ""], "tags": [["a", "b"], ""]}})
    }

    fn verdict(text: &str) -> Verdict {
        let calls = crate::parse::calls(text).unwrap();
        check(&[doc()], &calls, &[answer()], "simple", Language::Python)
    }

    #[test]
    fn bfcl_rules() {
        assert!(verdict("[calc_area(base=10, height=5)]").valid, "int accepted for float");
        assert_eq!(
            verdict("[calc_area(base=10.0, height=5)]").error_type,
            Some("type_error:simple")
        );
        assert!(
            verdict("[calc_area(base=10, height=5.0, unit='CM')]").valid,
            "strings standardised"
        );
        assert_eq!(
            verdict("[calc_area(base=10, height=5.0, unit='m')]").error_type,
            Some("value_error:string")
        );
        assert_eq!(
            verdict("[calc_area(base=10)]").error_type,
            Some("simple_function_checker:missing_required")
        );
        assert_eq!(
            verdict("[calc_area(base=10, height=5.0, color='red')]").error_type,
            Some("simple_function_checker:unexpected_param")
        );
        assert_eq!(
            verdict("[calc_area(base=11, height=5.0)]").error_type,
            Some("value_error:others")
        );
        assert_eq!(
            verdict("[calc_area(base=10, height=5.0, tags=['b', 'a'])]").error_type,
            Some("value_error:list/tuple")
        );
        assert!(verdict("[calc_area(base=10, height=5.0, tags=['A', 'b'])]").valid);
        assert_eq!(
            verdict("[area(base=10, height=5.0)]").error_type,
            Some("simple_function_checker:wrong_func_name")
        );
        assert_eq!(
            verdict("[calc_area(base=10, height=5.0), calc_area(base=10, height=5.0)]").error_type,
            Some("simple_function_checker:wrong_count")
        );
    }

    #[test]
    fn possible_answers_are_written_as_json() {
        let options = [json!("a"), json!([1, 2.5]), json!({"k": null}), json!("")];
        assert_eq!(msg![JsonList(&options)], Value::Array(options.to_vec()).to_string());
        assert_eq!(msg![JsonList(&[])], "[]");
        for value in [json!("a\"b"), json!({"k": [1, 2.5, null, "é\n"]}), json!(-0.0)] {
            assert_eq!(msg![Json(&value)], value.to_string());
        }
        for name in [
            "plain_name",
            "",
            "a b~",
            "q\"uote",
            "back\\slash",
            "new\nline",
            "é",
            "\u{301}",
            "\u{7f}",
        ] {
            assert_eq!(msg![Quoted(name)], format!("{name:?}"), "{name:?}");
        }
        for ty in [Ty::Str, Ty::Int, Ty::Float, Ty::Bool, Ty::List, Ty::Dict, Ty::Set, Ty::None] {
            assert_eq!(msg![ty], format!("{ty:?}"));
        }
    }

    #[test]
    fn parallel_is_order_free() {
        let possible = [
            json!({"calc_area": {"base": [1], "height": [2.0]}}),
            json!({"calc_area": {"base": [3], "height": [4.0]}}),
        ];
        let calls =
            crate::parse::calls("[calc_area(base=3, height=4.0), calc_area(base=1, height=2.0)]")
                .unwrap();
        assert!(check(&[doc()], &calls, &possible, "parallel", Language::Python).valid);
        let calls = crate::parse::calls("[calc_area(base=3, height=4.0)]").unwrap();
        assert_eq!(
            check(&[doc()], &calls, &possible, "parallel", Language::Python).error_type,
            Some("parallel_function_checker_no_order:wrong_count")
        );
    }
}
