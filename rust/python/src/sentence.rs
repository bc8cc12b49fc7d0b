//! Binding of `ferromem_embed`: the local sentence encoder and its static tier.

use std::borrow::Cow;
use std::path::PathBuf;

use ferromem_embed::{SentenceEncoder as Encoder, StaticModel as Static};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::{type_name, Num};
use crate::errors::{invalid_type, to_py};

/// The items of `texts`, which must be a sequence of `str` (an `InvalidTypeError` naming the
/// first other item otherwise).
fn text_items<'py>(texts: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyString>>> {
    if texts.is_instance_of::<PyString>() {
        return Err(invalid_type("texts must be a sequence of str, not a single str"));
    }
    let iter = texts.try_iter().map_err(|_| {
        invalid_type(format!("texts must be a sequence of str, not {}", type_name(texts)))
    })?;
    let mut out = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item?;
        let s = item.cast_into::<PyString>().map_err(|e| {
            invalid_type(format!("texts[{i}] must be str, not {}", type_name(&e.into_inner())))
        })?;
        out.push(s);
    }
    Ok(out)
}

/// UTF-8 of each item, borrowed when possible; lone surrogates (which UTF-8 cannot hold)
/// become U+FFFD, as the documentation of `LocalEmbedder` says.
fn utf8<'a>(items: &'a [Bound<'_, PyString>]) -> Vec<Cow<'a, str>> {
    items
        .iter()
        .map(|s| s.to_cow().unwrap_or_else(|_| Cow::Owned(s.to_string_lossy().into_owned())))
        .collect()
}

fn matrix(
    py: Python<'_>,
    flat: Vec<f32>,
    rows: usize,
    cols: usize,
) -> PyResult<Bound<'_, PyArray2<f32>>> {
    let arr = Array2::from_shape_vec((rows, cols), flat)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(arr.into_pyarray(py))
}

/// A sentence-transformers model directory run in Rust (BERT family; see `LocalEmbedder`).
#[pyclass(module = "ferromem._core", frozen)]
pub struct SentenceEncoder {
    inner: Encoder,
}

#[pymethods]
impl SentenceEncoder {
    /// Loads the model directory at `path`.
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| Encoder::load(&path)).map_err(to_py)?;
        Ok(Self { inner })
    }

    /// Length of the sentence vectors.
    #[getter]
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    /// Longest input in tokens; longer texts are truncated.
    #[getter]
    fn max_seq_length(&self) -> usize {
        self.inner.max_seq_length()
    }

    /// crc32 of `config.json` and the weights.
    #[getter]
    fn fingerprint(&self) -> u32 {
        self.inner.fingerprint()
    }

    /// Embeds `texts` into a float32 array `(len(texts), dimension)`.
    fn embed<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let items = text_items(texts)?;
        let strs = utf8(&items);
        let refs: Vec<&str> = strs.iter().map(|s| s.as_ref()).collect();
        let flat = py.detach(|| self.inner.embed(&refs)).map_err(to_py)?;
        matrix(py, flat, refs.len(), self.inner.dimension())
    }

    /// Every vocabulary token's vector (`[CLS] token [SEP]`, mean-pooled):
    /// `(vocab_size, hidden_size)`, the input of a static distillation.
    fn token_vectors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let flat = py.detach(|| self.inner.token_vectors()).map_err(to_py)?;
        let h = self.inner.config().bert.hidden_size;
        matrix(py, flat, self.inner.config().bert.vocab_size, h)
    }
}

/// Static token vectors and their tokenizer (see `StaticEmbedder`).
#[pyclass(module = "ferromem._core", frozen)]
pub struct StaticModel {
    inner: Static,
}

#[pymethods]
impl StaticModel {
    /// A model from a `tokenizer.json` file and a `(vocab, dim)` float32 matrix of token
    /// vectors; `source` is the fingerprint of the model they came from.
    #[new]
    #[pyo3(signature = (tokenizer_path, vectors, *, source = Num(0)),
        text_signature = "(tokenizer_path, vectors, *, source=0)")]
    fn new(
        py: Python<'_>,
        tokenizer_path: PathBuf,
        vectors: PyReadonlyArray2<'_, f32>,
        source: Num<u32>,
    ) -> PyResult<Self> {
        let source = source.0;
        let dim = vectors.as_array().ncols();
        let flat = vectors.as_array().iter().copied().collect::<Vec<f32>>();
        let inner = py
            .detach(|| {
                let json = std::fs::read(&tokenizer_path).map_err(|e| {
                    ferromem_core::Error::Io { path: tokenizer_path.clone(), source: e }
                })?;
                Static::new(json, flat, dim, source)
            })
            .map_err(to_py)?;
        Ok(Self { inner })
    }

    /// Reads a model written by `save`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = py.detach(|| Static::load(&path)).map_err(to_py)?;
        Ok(Self { inner })
    }

    /// Writes the model to `path` atomically.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(to_py)
    }

    /// Length of the vectors.
    #[getter]
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    /// Fingerprint of the model it was distilled from.
    #[getter]
    fn source(&self) -> u32 {
        self.inner.source()
    }

    /// Embeds `texts` into a float32 array `(len(texts), dimension)`.
    fn embed<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let items = text_items(texts)?;
        let strs = utf8(&items);
        let refs: Vec<&str> = strs.iter().map(|s| s.as_ref()).collect();
        let flat = py.detach(|| self.inner.embed(&refs)).map_err(to_py)?;
        matrix(py, flat, refs.len(), self.inner.dimension())
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SentenceEncoder>()?;
    m.add_class::<StaticModel>()
}
