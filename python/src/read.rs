//! Sample dicts in: plain ones read straight from the dict, anything else through
//! `json.dumps` and `gavel-core`'s JSON reader, so its verdict and its error message are the
//! daemon's to the letter.

use std::borrow::Cow;
use std::sync::OnceLock;

use gavel_core::batch::Entry;
use gavel_core::{Outcome, Reference, Sample};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
use pyo3::{ffi, intern};

/// Each element's GRPO group, where it names one as a string (any other group makes the
/// sample invalid, outside every group).
pub(crate) fn group_keys(samples: &Bound<'_, PyList>) -> Vec<Option<String>> {
    samples.iter().map(|item| group_key(&item)).collect()
}

fn group_key(item: &Bound<'_, PyAny>) -> Option<String> {
    let dict = item.downcast::<PyDict>().ok()?;
    let group = dict.get_item(intern!(item.py(), "group")).ok()??;
    Some(utf8(group.downcast::<PyString>().ok()?)?.into_owned())
}

/// The `i`th element of a batch as a sample, or the `invalid` outcome it gets instead.
pub(crate) fn read_entry(i: usize, item: &Bound<'_, PyAny>) -> Entry {
    if let Some(sample) = plain_sample(item) {
        return Ok(sample);
    }
    let invalid = |id: Option<String>, message: String| {
        (id.unwrap_or_else(|| format!("#{i}")), Outcome::invalid(format!("sample {i}: {message}")))
    };
    let text = json_dumps(item.py()).and_then(|dumps| dumps.call1((item,))?.extract::<String>());
    match text {
        Ok(text) => Sample::from_json_line(&text).map_err(|e| invalid(e.id, e.message)),
        Err(e) => Err(invalid(None, format!("not JSON: {e}"))),
    }
}

/// A dict with only a sample's keys, string fields and a string or integer id, read as it is;
/// `None` for anything else (the JSON reader then judges it).
///
/// The keys are looked up rather than iterated: a lookup by an interned key hashes nothing and
/// decodes nothing, and a dict with a key besides these has more entries than were found.
fn plain_sample<'py>(item: &Bound<'py, PyAny>) -> Option<Sample> {
    let py = item.py();
    let dict = item.downcast::<PyDict>().ok()?;
    let mut found = 0;
    let mut get = |key: &Bound<'py, PyString>| {
        let value = dict.get_item(key).ok().flatten();
        found += usize::from(value.is_some());
        value
    };
    let text =
        |value: &Bound<'_, PyAny>| Some(utf8(value.downcast::<PyString>().ok()?)?.into_owned());
    let optional = |value: Option<Bound<'_, PyAny>>| match value {
        Some(value) if !value.is_none() => text(&value).map(Some),
        _ => Some(None),
    };
    let id = get(intern!(py, "id"))?;
    let id = if id.is_instance_of::<PyBool>() {
        return None;
    } else if id.is_instance_of::<PyInt>() {
        id.extract::<i64>().ok()?.to_string()
    } else {
        text(&id)?
    };
    let mut sample = Sample::new(id, text(&get(intern!(py, "completion"))?)?);
    if let Some(prompt) = get(intern!(py, "prompt")) {
        sample.prompt = text(&prompt)?;
    }
    sample.task = optional(get(intern!(py, "task")))?;
    sample.group = optional(get(intern!(py, "group")))?;
    if let Some(reference) = get(intern!(py, "reference")).filter(|r| !r.is_none()) {
        let mut json = Vec::new();
        write_json(&reference, 0, &mut json)?;
        sample.reference = Reference::from_json(String::from_utf8(json).ok()?).ok()?;
    }
    // `meta` is the trainer's, not the scorer's: allowed, counted, not read.
    get(intern!(py, "meta"));
    (found == dict.len()).then_some(sample)
}

/// Writes `value` as JSON when it holds only what `json.dumps` writes as the same JSON value:
/// dicts with string keys, lists, strings, integers, finite floats, booleans and `None`, of
/// their exact types. `None` for anything else (the caller then goes through `json.dumps`).
fn write_json(value: &Bound<'_, PyAny>, depth: usize, out: &mut Vec<u8>) -> Option<()> {
    let string = |s: &Bound<'_, PyAny>, out: &mut Vec<u8>| {
        serde_json::to_writer(out, utf8(s.downcast_exact::<PyString>().ok()?)?.as_ref()).ok()
    };
    if depth > 32 {
        return None;
    } else if value.is_none() {
        out.extend_from_slice(b"null");
    } else if let Ok(b) = value.downcast_exact::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
    } else if value.is_exact_instance_of::<PyString>() {
        string(value, out)?;
    } else if value.is_exact_instance_of::<PyInt>() {
        serde_json::to_writer(&mut *out, &value.extract::<i64>().ok()?).ok()?;
    } else if let Ok(f) = value.downcast_exact::<PyFloat>() {
        serde_json::to_writer(&mut *out, &serde_json::Number::from_f64(f.value())?).ok()?;
    } else if let Ok(dict) = value.downcast_exact::<PyDict>() {
        out.push(b'{');
        for (i, (key, value)) in dict.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(&key, out)?;
            out.push(b':');
            write_json(&value, depth + 1, out)?;
        }
        out.push(b'}');
    } else if let Ok(list) = value.downcast_exact::<PyList>() {
        out.push(b'[');
        for (i, value) in list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json(&value, depth + 1, out)?;
        }
        out.push(b']');
    } else {
        return None;
    }
    Some(())
}

/// A `str`'s text; `None` when it has none (a lone surrogate).
///
/// On Python 3.10 and later the UTF-8 that CPython keeps beside a string (for an ASCII string,
/// its own bytes) is borrowed; earlier, the stable ABI only offers a copy into a new `bytes`.
fn utf8<'a>(s: &'a Bound<'_, PyString>) -> Option<Cow<'a, str>> {
    static BORROWABLE: OnceLock<bool> = OnceLock::new();
    if !*BORROWABLE.get_or_init(|| s.py().version_info() >= (3, 10)) {
        return s.to_cow().ok();
    }
    let mut len: ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live `str` and the GIL is held. The buffer returned belongs to the
    // string, which outlives `'a`, and CPython never changes it: strings are immutable.
    let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut len) };
    if data.is_null() {
        PyErr::take(s.py());
        return None;
    }
    // SAFETY: CPython returns `len` bytes of UTF-8 at `data` (a string that has none, with
    // lone surrogates, is the error above), so it needs no second validation here.
    Some(Cow::Borrowed(unsafe {
        std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast::<u8>(), len as usize))
    }))
}

// Part of the stable ABI since Python 3.10 (`utf8` calls it on 3.10 and later only); pyo3
// declares it only for builds that target 3.10 at least.
unsafe extern "C" {
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut ffi::PyObject,
        size: *mut ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

/// Python's `json.dumps`.
fn json_dumps(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static DUMPS: GILOnceCell<Py<PyAny>> = GILOnceCell::new();
    Ok(DUMPS
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("json")?.getattr("dumps")?.unbind()))?
        .bind(py))
}
