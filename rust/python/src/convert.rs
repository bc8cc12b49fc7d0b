//! Argument conversion shared by every engine's binding.

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyMemoryView, PyString};

use crate::errors::{invalid, invalid_type};

/// A `str` argument borrowed as UTF-8. Unlike `&str`, a value that is not a `str` raises
/// `InvalidTypeError` and a `str` with a lone surrogate `InvalidArgumentError` (pyo3 notes the
/// argument's name on either), so no builtin `TypeError` or `UnicodeEncodeError` escapes.
pub struct Text<'a>(pub &'a str);

impl<'a> FromPyObject<'a, '_> for Text<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, '_, PyAny>) -> PyResult<Self> {
        if !obj.is_instance_of::<PyString>() {
            return Err(invalid_type(format!("expected str, not {}", type_name(&obj))));
        }
        <&'a str>::extract(obj).map(Text).map_err(|_| invalid(NOT_UNICODE))
    }
}

const NOT_UNICODE: &str = "text must be valid Unicode (a lone surrogate cannot be encoded)";

/// Collects the items of a Python iterable of `str`, keeping them alive so that their UTF-8
/// can be borrowed (without copying) while the GIL is released.
pub fn str_items<'py>(seq: &Bound<'py, PyAny>, arg: &str) -> PyResult<Vec<Bound<'py, PyString>>> {
    if seq.is_instance_of::<PyString>() {
        return Err(invalid_type(format!("{arg} must be a sequence of str, not a single str")));
    }
    let iter = seq.try_iter().map_err(|_| {
        invalid_type(format!("{arg} must be a sequence of str, not {}", type_name(seq)))
    })?;
    let mut out = Vec::with_capacity(seq.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        let s = item.cast_into::<PyString>().map_err(|e| {
            invalid_type(format!("{arg}[{i}] must be str, not {}", type_name(&e.into_inner())))
        })?;
        out.push(s);
    }
    Ok(out)
}

/// Borrows the UTF-8 of each string collected by [`str_items`].
pub fn as_strs<'a>(items: &'a [Bound<'_, PyString>]) -> PyResult<Vec<&'a str>> {
    items
        .iter()
        .enumerate()
        .map(|(i, s)| s.to_str().map_err(|_| invalid(format!("item {i}: {NOT_UNICODE}"))))
        .collect()
}

/// The Python type name of `obj`, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// The bytes of a bytes-like argument: `bytes` are borrowed (immutable, so they may be read
/// without the GIL); any other buffer (bytearray, memoryview, numpy array, array.array) is
/// copied while the GIL is held, since its owner could change it once the GIL is released.
pub struct ByteArg<'py>(Bound<'py, PyBytes>);

impl ByteArg<'_> {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// Reads a bytes-like argument (anything with the buffer protocol); `str` and other objects
/// are a `TypeError` naming `arg`.
///
/// Other buffers are copied by `memoryview(obj).tobytes()` (one copy, in C order for strided
/// views too): the stable ABI of CPython 3.10, which the abi3 wheel targets, has no
/// `PyObject_GetBuffer` (it came to the limited API in 3.11), but it has memoryview.
pub fn byte_arg<'py>(obj: &Bound<'py, PyAny>, arg: &str) -> PyResult<ByteArg<'py>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(ByteArg(b.clone()));
    }
    let not_bytes = || {
        crate::errors::invalid_type(format!(
            "{arg} must be a bytes-like object, not {}",
            type_name(obj)
        ))
    };
    if obj.is_instance_of::<PyString>() {
        return Err(not_bytes());
    }
    let view = PyMemoryView::from(obj).map_err(|_| not_bytes())?;
    let copied = view.call_method0("tobytes")?.cast_into::<PyBytes>().map_err(|_| not_bytes())?;
    Ok(ByteArg(copied))
}

/// A numeric argument (`Num<f64>`, `Num<i64>`, ...). Unlike the bare type, a value that is not
/// a number raises `InvalidTypeError` and one out of the type's range `InvalidArgumentError`
/// (pyo3 notes the argument's name on either), so no builtin `TypeError` or `OverflowError`
/// escapes. `bool` is refused: `k=True` is a mistake, not 1.
#[derive(Clone, Copy)]
pub struct Num<T>(pub T);

impl<'a, 'py, T> FromPyObject<'a, 'py> for Num<T>
where
    T: FromPyObject<'a, 'py>,
    T::Error: Into<PyErr>,
{
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>() {
            return Err(invalid_type("expected a number, not bool"));
        }
        T::extract(obj).map(Num).map_err(|e| {
            let e: PyErr = e.into();
            if e.is_instance_of::<PyOverflowError>(obj.py()) {
                invalid(format!(
                    "{} is out of range",
                    obj.repr().map_or("?".into(), |r| r.to_string())
                ))
            } else {
                invalid_type(format!("expected a number, not {}", type_name(&obj)))
            }
        })
    }
}
