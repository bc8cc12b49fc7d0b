//! Binding of `ferromem_core::tokens`.

use ferromem_core::tokens;
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use crate::convert::{as_strs, str_items};

/// Approximate number of cl100k_base tokens in `text`.
#[pyfunction]
fn count_tokens(py: Python<'_>, text: &str) -> usize {
    if text.len() < 4096 {
        return tokens::count_tokens(text);
    }
    py.detach(|| tokens::count_tokens(text))
}

/// Token counts of many texts as a `uint32` array, computed on all cores without the GIL.
#[pyfunction]
fn count_tokens_many<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let items = str_items(texts, "texts")?;
    let strs = as_strs(&items)?;
    let counts = py.detach(|| tokens::count_tokens_many(&strs));
    Ok(counts.into_pyarray(py))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(count_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(count_tokens_many, m)?)?;
    Ok(())
}
