//! The policy language's types and values.

use std::fmt;

/// A value's type, checked when a policy loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    /// One number per sample.
    Scalar,
    /// A predicate; counts as 0 or 1 wherever a number is expected.
    Bool,
    /// One score per reasoning step (a PRM's output).
    Steps,
    /// One score per ensemble member (or per reference response).
    Ensemble,
    /// Text: the sample's `task`, route keys.
    Text,
}

impl Type {
    /// Whether a value of this type may stand where `want` is expected (Bool as a number).
    pub fn fits(self, want: Type) -> bool {
        self == want || (self == Type::Bool && want == Type::Scalar)
    }

    /// Numbers: a scalar (or bool), steps or an ensemble.
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Scalar | Type::Bool | Type::Steps | Type::Ensemble)
    }

    /// Lists of numbers.
    pub fn is_list(self) -> bool {
        matches!(self, Type::Steps | Type::Ensemble)
    }

    /// The name used in policies and messages.
    pub fn name(self) -> &'static str {
        match self {
            Type::Scalar => "scalar",
            Type::Bool => "bool",
            Type::Steps => "steps",
            Type::Ensemble => "ensemble",
            Type::Text => "text",
        }
    }

    /// Reads a type name (`scalar`, `bool`, `steps`, `ensemble`).
    pub fn from_name(name: &str) -> Option<Type> {
        Some(match name {
            "scalar" => Type::Scalar,
            "bool" => Type::Bool,
            "steps" => Type::Steps,
            "ensemble" => Type::Ensemble,
            _ => return None,
        })
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value of one sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Scalar(f64),
    /// A predicate.
    Bool(bool),
    /// Step scores.
    Steps(Vec<f64>),
    /// Ensemble members' scores.
    Ensemble(Vec<f64>),
    /// Text.
    Text(String),
}

impl Value {
    /// The value's type.
    pub fn ty(&self) -> Type {
        match self {
            Value::Scalar(_) => Type::Scalar,
            Value::Bool(_) => Type::Bool,
            Value::Steps(_) => Type::Steps,
            Value::Ensemble(_) => Type::Ensemble,
            Value::Text(_) => Type::Text,
        }
    }

    /// The number of a scalar or bool (the type checker guarantees one where it is asked).
    pub fn scalar(&self) -> f64 {
        match self {
            Value::Scalar(x) => *x,
            Value::Bool(b) => f64::from(u8::from(*b)),
            other => unreachable!("type-checked as a scalar: {other:?}"),
        }
    }

    /// The truth of a bool.
    pub fn truth(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            other => unreachable!("type-checked as a bool: {other:?}"),
        }
    }

    /// The numbers of a list.
    pub fn list(&self) -> &[f64] {
        match self {
            Value::Steps(xs) | Value::Ensemble(xs) => xs,
            other => unreachable!("type-checked as a list: {other:?}"),
        }
    }

    /// A list of the same kind holding `xs`.
    pub fn with_list(&self, xs: Vec<f64>) -> Value {
        match self {
            Value::Ensemble(_) => Value::Ensemble(xs),
            _ => Value::Steps(xs),
        }
    }

    /// A number for the breakdown, when the value is one.
    pub fn as_component(&self) -> Option<f64> {
        match self {
            Value::Scalar(_) | Value::Bool(_) => Some(self.scalar()),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, xs: &[f64]| {
            let items: Vec<String> = xs.iter().map(f64::to_string).collect();
            write!(f, "[{}]", items.join(", "))
        };
        match self {
            Value::Scalar(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Steps(xs) | Value::Ensemble(xs) => list(f, xs),
            Value::Text(s) => write!(f, "{s:?}"),
        }
    }
}
