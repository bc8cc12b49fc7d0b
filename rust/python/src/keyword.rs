//! Binding of `ferromem_core::keyword`: `ferromem._core.KeywordIndex`.

use std::path::PathBuf;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use ferromem_core::keyword::{default_topics, KeywordIndex, Neighbours, Params, Scoring};
use ferromem_core::text::Analyzer;
use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString};

use crate::convert::{as_strs, str_items, type_name, Num, Text};
use crate::errors::{invalid, invalid_type, to_py};

/// Ids from a `uint64` array (no copy through Python objects) or any iterable of ints.
fn ids_arg(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Vec<u64>> {
    if let Ok(arr) = obj.cast::<PyArray1<u64>>() {
        let ro: PyReadonlyArray1<'_, u64> = arr.readonly();
        return Ok(ro.as_slice().map(|s| s.to_vec()).unwrap_or_else(|_| ro.as_array().to_vec()));
    }
    if obj.is_instance_of::<PyString>() {
        return Err(invalid_type(format!("{arg} must be a sequence of int, not str")));
    }
    let iter = obj.try_iter().map_err(|_| {
        invalid_type(format!("{arg} must be a sequence of int, not {}", type_name(obj)))
    })?;
    let mut out = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        let item = item?;
        match item.extract::<u64>() {
            Ok(v) => out.push(v),
            Err(_) if item.is_instance_of::<PyInt>() || item.hasattr("__index__")? => {
                return Err(invalid(format!("{arg}[{i}] must be in [0, 2**64), got {item}")));
            }
            Err(_) => {
                return Err(invalid_type(format!(
                    "{arg}[{i}] must be int, not {}",
                    type_name(&item)
                )));
            }
        }
    }
    Ok(out)
}

fn topics_arg(topics: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, Vec<String>)>> {
    let Some(obj) = topics else { return Ok(default_topics()) };
    let dict = obj.cast::<PyDict>().map_err(|_| {
        invalid_type(format!(
            "topics must be a dict of topic name -> list of keywords, not {}",
            type_name(obj)
        ))
    })?;
    let mut out = Vec::with_capacity(dict.len());
    for (name, words) in dict.iter() {
        let name: String = name.extract().map_err(|_| {
            invalid_type(format!("topics keys must be str, not {}", type_name(&name)))
        })?;
        let items = str_items(&words, &format!("topics[{name:?}]"))?;
        let words = as_strs(&items)?.into_iter().map(String::from).collect();
        out.push((name, words));
    }
    Ok(out)
}

/// `(ids, scores)` arrays, best first.
type Hits<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<f32>>);

/// An inverted index with BM25 (MaxScore top-k) or Jaccard scoring; see `_core.pyi`.
#[pyclass(module = "ferromem._core", name = "KeywordIndex")]
pub struct PyKeywordIndex {
    inner: RwLock<KeywordIndex>,
}

impl PyKeywordIndex {
    fn read(&self) -> RwLockReadGuard<'_, KeywordIndex> {
        // A panic cannot leave the index half-updated (updates validate first), so a
        // poisoned lock still guards a consistent index.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, KeywordIndex> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyKeywordIndex {
    #[new]
    #[pyo3(signature = (scoring = Text("bm25"), k1 = Num(1.2), b = Num(0.75), *, lowercase = true,
        fold_accents = true, stop_words = true, stem = true, topics = None),
        text_signature = "(scoring='bm25', k1=1.2, b=0.75, *, lowercase=True, fold_accents=True, \
            stop_words=True, stem=True, topics=None)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        scoring: Text<'_>,
        k1: Num<f64>,
        b: Num<f64>,
        lowercase: bool,
        fold_accents: bool,
        stop_words: bool,
        stem: bool,
        topics: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let params = Params {
            scoring: Scoring::parse(scoring.0).map_err(to_py)?,
            k1: k1.0 as f32,
            b: b.0 as f32,
            analyzer: Analyzer { lowercase, fold_accents, stop_words, stem },
        };
        let index = KeywordIndex::new(params, topics_arg(topics)?).map_err(to_py)?;
        Ok(PyKeywordIndex { inner: RwLock::new(index) })
    }

    /// Indexes `texts` under `ids` (new, distinct), each in `groups[i]` when given (one str
    /// puts them all in that group). On error nothing is added.
    #[pyo3(signature = (ids, texts, *, groups = None))]
    fn add(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        texts: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let ids = ids_arg(ids, "ids")?;
        let items = str_items(texts, "texts")?;
        let strs = as_strs(&items)?;
        let group_items;
        let group_strs: Option<Vec<&str>> = match groups {
            None => None,
            Some(g) if g.is_instance_of::<PyString>() => {
                let one: &str = g.extract::<Text<'_>>()?.0;
                Some(vec![one; ids.len()])
            }
            Some(g) => {
                group_items = str_items(g, "groups")?;
                Some(as_strs(&group_items)?)
            }
        };
        py.detach(|| self.write().add(&ids, &strs, group_strs.as_deref())).map_err(to_py)
    }

    /// Deletes `ids`; raises `UnknownIdError` naming any id not in the index (and then
    /// deletes nothing).
    fn remove(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = ids_arg(ids, "ids")?;
        py.detach(|| self.write().remove(&ids)).map_err(to_py)
    }

    fn __len__(&self) -> usize {
        self.read().len()
    }

    fn __contains__(&self, id: &Bound<'_, PyAny>) -> bool {
        id.extract::<u64>().is_ok_and(|id| self.read().contains(id))
    }

    /// The best `k` documents for `query`: `(ids uint64, scores float32)`, best first.
    /// With `group`, only that group's documents, at a cost that grows with the group.
    /// `neighbour_weights=(previous, next)`: each document also earns these shares of the
    /// scores of the documents before and after it in its group.
    #[pyo3(signature = (query, k = Num(10), *, group = None, neighbour_weights = (Num(0.0), Num(0.0))),
        text_signature = "(self, query, k=10, *, group=None, neighbour_weights=(0.0, 0.0))")]
    fn search<'py>(
        &self,
        py: Python<'py>,
        query: Text<'_>,
        k: Num<i64>,
        group: Option<Text<'_>>,
        neighbour_weights: (Num<f64>, Num<f64>),
    ) -> PyResult<Hits<'py>> {
        let (query, group, k) = (query.0, group.map(|g| g.0), k.0);
        let neighbour_weights = (neighbour_weights.0 .0, neighbour_weights.1 .0);
        if k <= 0 {
            return Err(invalid(format!("k must be >= 1, got {k}")));
        }
        let weights =
            Neighbours { previous: neighbour_weights.0 as f32, next: neighbour_weights.1 as f32 };
        let k = usize::try_from(k).unwrap_or(usize::MAX);
        let hits = py
            .detach(|| {
                let index = self.read();
                if !index.needs_cleaning(query) {
                    return index.search_with(query, k, group, weights);
                }
                drop(index);
                let mut index = self.write();
                index.clean_for(query);
                index.search_with(query, k, group, weights)
            })
            .map_err(to_py)?;
        let (ids, scores): (Vec<u64>, Vec<f32>) = hits.into_iter().unzip();
        Ok((ids.into_pyarray(py), scores.into_pyarray(py)))
    }

    /// Ids of the documents tagged with `topic`, in insertion order (optionally of one group).
    #[pyo3(signature = (topic, *, group = None))]
    fn topic_ids<'py>(
        &self,
        py: Python<'py>,
        topic: Text<'_>,
        group: Option<Text<'_>>,
    ) -> PyResult<Bound<'py, PyArray1<u64>>> {
        let (topic, group) = (topic.0, group.map(|g| g.0));
        let ids = self.read().topic_ids(topic, group).map_err(to_py)?;
        Ok(ids.into_pyarray(py))
    }

    /// The ids indexed just before and after `id` in its group (None at either end; both
    /// None when `id` is not indexed).
    fn neighbours(&self, id: Num<u64>) -> (Option<u64>, Option<u64>) {
        self.read().neighbours(id.0)
    }

    /// Live documents in `group`.
    fn group_len(&self, group: Text<'_>) -> usize {
        self.read().group_len(group.0)
    }

    /// The terms this index makes of `text` (as used for documents and queries).
    fn analyze(&self, text: Text<'_>) -> Vec<String> {
        self.read().params().analyzer.terms(text.0)
    }

    /// Purges deleted documents everywhere and releases spare capacity.
    fn compact(&self, py: Python<'_>) {
        py.detach(|| self.write().compact());
    }

    /// Bytes held by the index.
    fn memory_bytes(&self) -> usize {
        self.read().memory_bytes()
    }

    /// Writes the index to `path` (magic, version, checksum, atomic replace).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.read().save(&path)).map_err(to_py)
    }

    /// Reads an index written by `save`; a damaged file raises `CorruptFileError`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let index = py.detach(|| KeywordIndex::load(&path)).map_err(to_py)?;
        Ok(PyKeywordIndex { inner: RwLock::new(index) })
    }

    /// `"bm25"` or `"jaccard"`.
    #[getter]
    fn scoring(&self) -> &'static str {
        self.read().params().scoring.name()
    }

    /// BM25 `k1`.
    #[getter]
    fn k1(&self) -> f64 {
        self.read().params().k1 as f64
    }

    /// BM25 `b`.
    #[getter]
    fn b(&self) -> f64 {
        self.read().params().b as f64
    }

    /// Topic name -> keywords.
    #[getter]
    fn topics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (name, words) in self.read().topics() {
            out.set_item(name, words.clone())?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        let index = self.read();
        let p = index.params();
        format!(
            "KeywordIndex(scoring={:?}, k1={}, b={}, len={})",
            p.scoring.name(),
            p.k1,
            p.b,
            index.len()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyKeywordIndex>()
}
