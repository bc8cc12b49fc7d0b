//! Binding of `ferromem_core::tokens`.

use ferromem_core::tokens::{self, Encoding};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::{as_strs, str_items, type_name, Text};
use crate::errors::{invalid_type, to_py};

/// Texts shorter than this are counted without releasing the GIL: releasing costs more.
const DETACH_BYTES: usize = 4096;

fn encoding_arg(encoding: &Bound<'_, PyAny>) -> PyResult<Encoding> {
    let name = encoding
        .cast::<PyString>()
        .map_err(|_| invalid_type(format!("encoding must be str, not {}", type_name(encoding))))?;
    name.extract::<Text<'_>>()?.0.parse().map_err(to_py)
}

/// Number of tokens in `text` under `encoding` ("approx", "cl100k_base" or "o200k_base").
#[pyfunction]
#[pyo3(signature = (text, *, encoding = None), text_signature = "(text, *, encoding='approx')")]
fn count_tokens(
    py: Python<'_>,
    text: Text<'_>,
    encoding: Option<&Bound<'_, PyAny>>,
) -> PyResult<usize> {
    let text = text.0;
    let encoding = encoding.map(encoding_arg).transpose()?.unwrap_or(Encoding::Approx);
    if text.len() < DETACH_BYTES {
        return tokens::count(text, encoding).map_err(to_py);
    }
    py.detach(|| tokens::count(text, encoding)).map_err(to_py)
}

/// Token counts of many texts as a `uint32` array, computed on all cores without the GIL.
#[pyfunction]
#[pyo3(signature = (texts, *, encoding = None), text_signature = "(texts, *, encoding='approx')")]
fn count_tokens_many<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    encoding: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let encoding = encoding.map(encoding_arg).transpose()?.unwrap_or(Encoding::Approx);
    let items = str_items(texts, "texts")?;
    let strs = as_strs(&items)?;
    let counts = py.detach(|| tokens::count_many(&strs, encoding)).map_err(to_py)?;
    Ok(counts.into_pyarray(py))
}

/// The token ids of `text` under an exact encoding, as tiktoken's `encode_ordinary` gives them.
#[pyfunction]
#[pyo3(signature = (text, *, encoding))]
fn encode_tokens<'py>(
    py: Python<'py>,
    text: Text<'_>,
    encoding: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let text = text.0;
    let encoding = encoding_arg(encoding)?;
    let ids = py.detach(|| tokens::encode(text, encoding)).map_err(to_py)?;
    Ok(ids.into_pyarray(py))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(count_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(count_tokens_many, m)?)?;
    m.add_function(wrap_pyfunction!(encode_tokens, m)?)?;
    Ok(())
}
