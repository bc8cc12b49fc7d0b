//! Binding of `ferromem_core::summary`: the built-in extractive summariser.

use ferromem_core::importance::{default_scorer, ImportanceScorer};
use ferromem_core::summary;
use pyo3::prelude::*;

use crate::convert::{as_strs, str_items, Num};
use crate::errors::invalid;
use crate::importance::PyImportanceScorer;

/// The sentences of `texts` that best summarise them within `max_tokens`, in their original
/// order, as `(index of the text, sentence)` pairs. Computed without the GIL.
#[pyfunction]
#[pyo3(signature = (texts, max_tokens=Num(200), *, scorer=None),
    text_signature = "(texts, max_tokens=200, *, scorer=None)")]
fn summarize(
    py: Python<'_>,
    texts: &Bound<'_, PyAny>,
    max_tokens: Num<i64>,
    scorer: Option<PyRef<'_, PyImportanceScorer>>,
) -> PyResult<Vec<(usize, String)>> {
    let max_tokens = max_tokens.0;
    let budget = usize::try_from(max_tokens)
        .map_err(|_| invalid(format!("max_tokens must be >= 0, got {max_tokens}")))?;
    let items = str_items(texts, "texts")?;
    let strs = as_strs(&items)?;
    let scorer: &ImportanceScorer = match &scorer {
        Some(s) => &s.inner,
        None => default_scorer(),
    };
    let picked = py.detach(|| summary::summarize(&strs, budget, scorer));
    Ok(picked.into_iter().map(|s| (s.text, strs[s.text][s.start..s.end].to_owned())).collect())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(summarize, m)?)?;
    Ok(())
}
