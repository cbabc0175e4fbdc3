//! Result dicts out: each record built as a dict field by field, as `Record::fields` lists
//! them (so the keys, their order and their values are those of the JSON the daemon writes).
//!
//! Keys, statuses, kinds and component names repeat in every record: each is made a Python
//! string once per call, interned, and shared by every dict that holds it, which saves
//! allocating and hashing them per record and makes the caller's `r["reward"]` an identity
//! match. Records of one call nearly always have the same keys, so each starts as a copy of
//! a template with those keys.

use gavel_core::{Field, Record};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyString};

/// Builds the result dicts of one call.
pub(crate) struct ResultDicts<'py> {
    py: Python<'py>,
    /// The names made so far; a few dozen at most in practice, and never more than `NAMES`.
    names: Vec<(String, Bound<'py, PyString>)>,
    /// The dict last built fresh and its keys. A record with the same keys starts as a copy
    /// of it: one allocation of the finished key table, where inserting the keys one by one
    /// grows the table at the sixth (+2% samples/s, the `math` plugin in process). Its values
    /// are all replaced.
    template: Option<(Vec<&'static str>, Bound<'py, PyDict>)>,
}

/// How many names a call keeps; past them (a scorer with unbounded component names) a name
/// is made afresh where it appears.
const NAMES: usize = 64;

impl<'py> ResultDicts<'py> {
    pub(crate) fn new(py: Python<'py>) -> Self {
        Self { py, names: Vec::new(), template: None }
    }

    /// The record as a dict.
    pub(crate) fn build(&mut self, record: Record<'_>) -> PyResult<Bound<'py, PyDict>> {
        let keys = record.fields().map(|(key, _)| key);
        let (dict, templated) = match &self.template {
            Some((known, template)) if keys.eq(known.iter().copied()) => (template.copy()?, true),
            _ => (PyDict::new(self.py), false),
        };
        for (key, field) in record.fields() {
            let key = self.name(key);
            match field {
                Field::Text(text) => dict.set_item(key, text)?,
                Field::Name(name) => dict.set_item(key, self.name(name))?,
                Field::Number(n) => dict.set_item(key, PyFloat::new(self.py, n))?,
                Field::Null => dict.set_item(key, self.py.None())?,
                Field::Components(components) => {
                    let map = PyDict::new(self.py);
                    for (name, value) in components {
                        map.set_item(self.name(name), PyFloat::new(self.py, *value))?;
                    }
                    dict.set_item(key, map)?
                }
            }
        }
        if !templated {
            self.template = Some((record.fields().map(|(key, _)| key).collect(), dict.copy()?));
        }
        Ok(dict)
    }

    /// `name` as an interned Python string, made once per call.
    fn name(&mut self, name: &str) -> Bound<'py, PyString> {
        if let Some((_, made)) = self.names.iter().find(|(known, _)| known == name) {
            return made.clone();
        }
        let made = PyString::intern(self.py, name);
        if self.names.len() < NAMES {
            self.names.push((name.to_owned(), made.clone()));
        }
        made
    }
}
