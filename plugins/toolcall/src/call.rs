//! A tool call, whatever dialect it was written in.

use gavel_plugin::serde_json::{Map, Value};

/// One call: a function name and its arguments by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function's name, as written (`math.sqrt`, `get_weather`).
    pub name: String,
    /// Arguments by name.
    pub args: Map<String, Value>,
}

impl Call {
    /// Reads `{"name": …, "arguments"|"parameters": {…} | "<json>"}`, an OpenAI
    /// `{"type": "function", "function": {…}}` item, or BFCL's decoded `{name: {args}}`.
    pub fn from_json(value: Value) -> Result<Self, String> {
        let Value::Object(mut obj) = value else {
            return Err(format!("a call must be a JSON object, got {}", kind(&value)));
        };
        if let Some(function) = obj.remove("function") {
            return Self::from_json(function);
        }
        if let Some(name) = obj.remove("name") {
            return Self::named(name, obj.remove("arguments").or_else(|| obj.remove("parameters")));
        }
        Self::decoded(obj)
    }

    /// BFCL's decoded form `{name: {arguments}}`, from the entries of an object that has no
    /// `name` or `function`: there must be exactly one, and its value an object.
    pub fn decoded(entries: impl IntoIterator<Item = (String, Value)>) -> Result<Self, String> {
        let mut entries = entries.into_iter();
        if let (Some((name, Value::Object(args))), None) = (entries.next(), entries.next()) {
            return Ok(Self { name, args });
        }
        Err("a call needs a \"name\" (or the {name: {arguments}} form)".into())
    }

    /// A call from the values of its `name` and its `arguments` (or `parameters`): an object,
    /// a string holding one, or null for none.
    pub fn named(name: Value, args: Option<Value>) -> Result<Self, String> {
        let Value::String(name) = name else {
            return Err(format!("a call's name must be a string, got {}", kind(&name)));
        };
        let args = match args {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(args)) => args,
            Some(Value::String(text)) => match gavel_plugin::serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(args)) => args,
                Ok(other) => {
                    return Err(format!(
                        "arguments of {name} decode to {}, not an object",
                        kind(&other)
                    ));
                }
                Err(e) => return Err(format!("arguments of {name} are not valid JSON: {e}")),
            },
            Some(other) => {
                return Err(format!("arguments of {name} must be an object, got {}", kind(&other)));
            }
        };
        Ok(Self { name, args })
    }
}

/// The JSON type of a value, for messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
