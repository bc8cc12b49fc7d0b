//! Binding of `ferromem_core::embed`: the hashing embedder.

use ferromem_core::embed;
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::convert::{as_strs, str_items, Num};
use crate::errors::{invalid, to_py};

/// Embeds `texts` with word, word-bigram and character n-gram feature hashing into an
/// L2-normalised float32 array of shape `(len(texts), dim)`; texts without words embed to zeros.
#[pyfunction]
#[pyo3(signature = (texts, dim = Num(1024)), text_signature = "(texts, dim=1024)")]
fn hash_embed<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
    dim: Num<i64>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let dim = dim.0;
    let dim = usize::try_from(dim).map_err(|_| invalid(format!("dim must be >= 1, got {dim}")))?;
    let items = str_items(texts, "texts")?;
    let strs = as_strs(&items)?;
    let rows = strs.len();
    let flat = py.detach(|| embed::hash_embed(&strs, dim)).map_err(to_py)?;
    let arr = Array2::from_shape_vec((rows, dim), flat)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(arr.into_pyarray(py))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hash_embed, m)?)
}
