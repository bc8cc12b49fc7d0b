//! Argument conversion shared by every engine's binding.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

/// Collects the items of a Python iterable of `str`, keeping them alive so that their UTF-8
/// can be borrowed (without copying) while the GIL is released.
pub fn str_items<'py>(seq: &Bound<'py, PyAny>, arg: &str) -> PyResult<Vec<Bound<'py, PyString>>> {
    if seq.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{arg} must be a sequence of str, not a single str"
        )));
    }
    let iter = seq.try_iter().map_err(|_| {
        PyTypeError::new_err(format!("{arg} must be a sequence of str, not {}", type_name(seq)))
    })?;
    let mut out = Vec::with_capacity(seq.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        let s = item.cast_into::<PyString>().map_err(|e| {
            PyTypeError::new_err(format!(
                "{arg}[{i}] must be str, not {}",
                type_name(&e.into_inner())
            ))
        })?;
        out.push(s);
    }
    Ok(out)
}

/// Borrows the UTF-8 of each string collected by [`str_items`].
pub fn as_strs<'a>(items: &'a [Bound<'_, PyString>]) -> PyResult<Vec<&'a str>> {
    items.iter().map(|s| s.to_str()).collect()
}

/// The Python type name of `obj`, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}
