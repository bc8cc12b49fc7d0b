//! Maps `ferromem_core::Error` to the exception classes defined in `ferromem/errors.py`.

use ferromem_core::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

static INVALID_ARGUMENT: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CORRUPT_FILE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static CORRUPT_DATA: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UNKNOWN_IDS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static STORAGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn raise(py: Python<'_>, cell: &PyOnceLock<Py<PyType>>, name: &str, msg: String) -> PyErr {
    match cell.import(py, "ferromem.errors", name) {
        Ok(ty) => PyErr::from_type(ty.clone(), msg),
        Err(e) => e,
    }
}

/// Converts a core error into the matching `ferromem.errors` exception.
pub fn to_py(err: Error) -> PyErr {
    Python::attach(|py| {
        let msg = err.to_string();
        match err {
            Error::InvalidArgument(_) => raise(py, &INVALID_ARGUMENT, "InvalidArgumentError", msg),
            Error::CorruptFile { .. } => raise(py, &CORRUPT_FILE, "CorruptFileError", msg),
            Error::CorruptData(_) => raise(py, &CORRUPT_DATA, "CorruptDataError", msg),
            Error::UnknownIds(_) => raise(py, &UNKNOWN_IDS, "UnknownIdError", msg),
            Error::Io { .. } | Error::Stream(_) => raise(py, &STORAGE, "StorageError", msg),
        }
    })
}

/// Raises `InvalidArgumentError` (a `ValueError`) with `msg`.
pub fn invalid(msg: impl Into<String>) -> PyErr {
    to_py(Error::InvalidArgument(msg.into()))
}

static INVALID_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Raises `InvalidTypeError` (a `TypeError`) with `msg`.
pub fn invalid_type(msg: impl Into<String>) -> PyErr {
    Python::attach(|py| raise(py, &INVALID_TYPE, "InvalidTypeError", msg.into()))
}
