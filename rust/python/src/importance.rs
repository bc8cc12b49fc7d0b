//! Binding of `ferromem_core::importance`: the default scorer's functions and the configurable
//! `ImportanceScorer` class.

use ferromem_core::importance::{self as core, Keywords, Weights};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping};

use crate::convert::{as_strs, str_items, type_name, Num, Text};
use crate::errors::{invalid, invalid_type, to_py};

/// Importance of `text` in [0, 1] with the default weights and phrase lists.
#[pyfunction]
fn importance(py: Python<'_>, text: Text<'_>) -> f64 {
    let text = text.0;
    if text.len() < 4096 {
        return core::importance(text);
    }
    py.detach(|| core::importance(text))
}

/// Importance of many texts as a `float32` array, computed on all cores without the GIL.
#[pyfunction]
fn importance_many<'py>(
    py: Python<'py>,
    texts: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let items = str_items(texts, "texts")?;
    let strs = as_strs(&items)?;
    let scores = py.detach(|| core::importance_many(&strs));
    Ok(scores.into_pyarray(py))
}

/// An importance scorer with its own weights and phrase lists.
///
/// `weights` maps weight names to floats and overrides the defaults one by one; `keywords` maps
/// a category (`emphasis`, `self_facts`, `plans`, `dates`, `fillers`) to the phrases that replace
/// its default list. Phrases match case-insensitively as whole words; a trailing `*` matches
/// any word ending.
#[pyclass(module = "ferromem._core", name = "ImportanceScorer", frozen)]
pub struct PyImportanceScorer {
    pub(crate) inner: core::ImportanceScorer,
}

fn as_mapping<'py>(obj: &Bound<'py, PyAny>, arg: &str) -> PyResult<Bound<'py, PyMapping>> {
    obj.cast::<PyMapping>()
        .cloned()
        .map_err(|_| invalid_type(format!("{arg} must be a dict, not {}", type_name(obj))))
}

fn word_count(value: i64, arg: &str) -> PyResult<usize> {
    usize::try_from(value).map_err(|_| invalid(format!("{arg} must be >= 0, got {value}")))
}

#[pymethods]
impl PyImportanceScorer {
    #[new]
    #[pyo3(signature = (weights=None, keywords=None, *, long_text_words=Num(20), short_text_words=Num(3)),
        text_signature = "(weights=None, keywords=None, *, long_text_words=20, short_text_words=3)")]
    fn new(
        weights: Option<&Bound<'_, PyAny>>,
        keywords: Option<&Bound<'_, PyAny>>,
        long_text_words: Num<i64>,
        short_text_words: Num<i64>,
    ) -> PyResult<Self> {
        let (long_text_words, short_text_words) = (long_text_words.0, short_text_words.0);
        let mut w = Weights::default();
        if let Some(obj) = weights {
            for item in as_mapping(obj, "weights")?.items()?.iter() {
                let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let name: String = key.extract().map_err(|_| {
                    invalid_type(format!("weights keys must be str, not {}", type_name(&key)))
                })?;
                if value.is_instance_of::<pyo3::types::PyBool>() {
                    return Err(invalid_type(format!(
                        "weights[{name:?}] must be a float, not bool"
                    )));
                }
                let v: f64 = value.extract().map_err(|_| {
                    invalid_type(format!(
                        "weights[{name:?}] must be a float, not {}",
                        type_name(&value)
                    ))
                })?;
                w.set(&name, v).map_err(to_py)?;
            }
        }
        let mut k = Keywords::default();
        if let Some(obj) = keywords {
            for item in as_mapping(obj, "keywords")?.items()?.iter() {
                let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
                let name: String = key.extract().map_err(|_| {
                    invalid_type(format!("keywords keys must be str, not {}", type_name(&key)))
                })?;
                let items = str_items(&value, &format!("keywords[{name:?}]"))?;
                let phrases = as_strs(&items)?.into_iter().map(str::to_owned).collect();
                k.set(&name, phrases).map_err(to_py)?;
            }
        }
        let long = word_count(long_text_words, "long_text_words")?;
        let short = word_count(short_text_words, "short_text_words")?;
        let inner = core::ImportanceScorer::new(w, k, long, short).map_err(to_py)?;
        Ok(PyImportanceScorer { inner })
    }

    /// Importance of `text` in [0, 1].
    fn score(&self, py: Python<'_>, text: Text<'_>) -> f64 {
        let text = text.0;
        if text.len() < 4096 {
            return self.inner.score(text);
        }
        py.detach(|| self.inner.score(text))
    }

    /// Importance of many texts as a `float32` array, computed on all cores without the GIL.
    fn score_many<'py>(
        &self,
        py: Python<'py>,
        texts: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f32>>> {
        let items = str_items(texts, "texts")?;
        let strs = as_strs(&items)?;
        let scores = py.detach(|| self.inner.score_many(&strs));
        Ok(scores.into_pyarray(py))
    }

    /// The weights in use, by name.
    #[getter]
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for name in Weights::NAMES {
            out.set_item(name, self.inner.weights().get(name))?;
        }
        Ok(out)
    }

    /// The phrase lists in use, by category.
    #[getter]
    fn keywords<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for category in core::Category::ALL {
            out.set_item(category.name(), PyList::new(py, self.inner.keywords().get(category))?)?;
        }
        Ok(out)
    }

    /// Words above which a turn counts as long.
    #[getter]
    fn long_text_words(&self) -> usize {
        self.inner.long_text_words()
    }

    /// Words up to which a turn with a filler phrase counts as an acknowledgement.
    #[getter]
    fn short_text_words(&self) -> usize {
        self.inner.short_text_words()
    }

    fn __repr__(&self) -> String {
        format!(
            "ImportanceScorer(long_text_words={}, short_text_words={})",
            self.inner.long_text_words(),
            self.inner.short_text_words()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(importance, m)?)?;
    m.add_function(wrap_pyfunction!(importance_many, m)?)?;
    m.add_class::<PyImportanceScorer>()?;
    Ok(())
}
