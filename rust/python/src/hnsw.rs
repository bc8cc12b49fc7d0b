//! Binding of `ferromem_core::hnsw`: `ferromem._core.HnswIndex`.

use std::path::PathBuf;
use std::sync::RwLock;

use ferromem_core::hnsw::{HnswIndex, Metric};
use numpy::ndarray::Array2;
use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString};

use crate::convert::{as_strs, byte_arg, type_name, Num, Text};
use crate::errors::{invalid, to_py};

static AS_F32: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A float32 C-contiguous view of `obj`: borrowed when it already is one, else converted once.
fn f32_array<'py>(obj: &Bound<'py, PyAny>, arg: &str) -> PyResult<PyReadonlyArrayDyn<'py, f32>> {
    if let Ok(a) = obj.cast::<PyArrayDyn<f32>>() {
        let ro = a.readonly();
        if ro.as_slice().is_ok() {
            return Ok(ro);
        }
    }
    let py = obj.py();
    let conv = AS_F32.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("numpy")?.getattr("ascontiguousarray")?.unbind())
    })?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("dtype", "float32")?;
    let converted = conv.bind(py).call((obj,), Some(&kwargs)).map_err(|e| {
        crate::errors::invalid_type(format!(
            "{arg} must be a numeric array convertible to float32, not {} ({e})",
            type_name(obj)
        ))
    })?;
    let arr = converted.cast_into::<PyArrayDyn<f32>>().map_err(|_| {
        crate::errors::invalid_type(format!("{arg} could not be converted to a float32 array"))
    })?;
    Ok(arr.readonly())
}

/// Ids as `u64`: a uint64 array is borrowed; int64 arrays and sequences of ints are checked.
fn id_vec(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Vec<u64>> {
    if let Ok(a) = obj.cast::<PyArrayDyn<u64>>() {
        let ro = a.readonly();
        if ro.ndim() != 1 {
            return Err(invalid(format!(
                "{arg} must be 1-dimensional, got shape {:?}",
                ro.shape()
            )));
        }
        return Ok(ro.as_array().iter().copied().collect());
    }
    if let Ok(a) = obj.cast::<PyArrayDyn<i64>>() {
        let ro = a.readonly();
        if ro.ndim() != 1 {
            return Err(invalid(format!(
                "{arg} must be 1-dimensional, got shape {:?}",
                ro.shape()
            )));
        }
        return ro
            .as_array()
            .iter()
            .map(|&x| u64::try_from(x).map_err(|_| invalid(format!("{arg} must be >= 0, got {x}"))))
            .collect();
    }
    if obj.is_instance_of::<pyo3::types::PyString>() || obj.is_instance_of::<pyo3::types::PyBytes>()
    {
        return Err(crate::errors::invalid_type(format!(
            "{arg} must be a sequence of non-negative ints, not {}",
            type_name(obj)
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        crate::errors::invalid_type(format!(
            "{arg} must be a sequence of non-negative ints, not {}",
            type_name(obj)
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item?;
        if item.is_instance_of::<pyo3::types::PyBool>()
            || item.is_instance_of::<pyo3::types::PyFloat>()
        {
            return Err(crate::errors::invalid_type(format!(
                "{arg}[{i}] must be an int, not {}",
                type_name(&item)
            )));
        }
        let v: u64 = item.extract().map_err(|e: PyErr| {
            if e.is_instance_of::<PyTypeError>(obj.py()) {
                crate::errors::invalid_type(format!(
                    "{arg}[{i}] must be an int, not {}",
                    type_name(&item)
                ))
            } else {
                invalid(format!("{arg}[{i}] must be an int in 0..2**64, got {item}"))
            }
        })?;
        out.push(v);
    }
    Ok(out)
}

/// A sequence of `str` (not a single `str`), each item checked.
fn str_list<'py>(obj: &Bound<'py, PyAny>, arg: &str) -> PyResult<Vec<Bound<'py, PyString>>> {
    crate::convert::str_items(obj, arg).map_err(|e| {
        if e.is_instance_of::<PyTypeError>(obj.py()) {
            crate::errors::invalid_type(e.value(obj.py()).to_string())
        } else {
            e
        }
    })
}

/// Rows of a `(n, dim)` or `(dim,)` array, checked against the index dimension.
fn rows_of(arr: &PyReadonlyArrayDyn<'_, f32>, dim: usize, arg: &str) -> PyResult<usize> {
    let shape = arr.shape();
    match *shape {
        [d] if d == dim => Ok(1),
        [n, d] if d == dim => Ok(n),
        _ => Err(invalid(format!(
            "{arg} must have shape (n, {dim}) or ({dim},) for this index (dim={dim}), got {shape:?}"
        ))),
    }
}

fn read(lock: &RwLock<HnswIndex>) -> std::sync::RwLockReadGuard<'_, HnswIndex> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write(lock: &RwLock<HnswIndex>) -> std::sync::RwLockWriteGuard<'_, HnswIndex> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

/// An HNSW index of uint64-keyed float32 vectors. Thread-safe; every call releases the GIL.
#[pyclass(module = "ferromem._core", name = "HnswIndex")]
pub struct PyHnswIndex {
    inner: RwLock<HnswIndex>,
}

fn usize_arg(v: i64, name: &str) -> PyResult<usize> {
    usize::try_from(v).map_err(|_| invalid(format!("{name} must be >= 1, got {v}")))
}

#[pymethods]
impl PyHnswIndex {
    #[new]
    #[pyo3(signature = (dim, metric = Text("cosine"), M = Num(16), ef_construction = Num(200), *, full_scan_bytes = None),
        text_signature = "(dim, metric='cosine', M=16, ef_construction=200, *, full_scan_bytes=None)")]
    #[allow(non_snake_case)]
    fn new(
        dim: Num<i64>,
        metric: Text<'_>,
        M: Num<i64>,
        ef_construction: Num<i64>,
        full_scan_bytes: Option<Num<i64>>,
    ) -> PyResult<Self> {
        let (dim, M, ef_construction) = (dim.0, M.0, ef_construction.0);
        let full_scan_bytes = full_scan_bytes.map(|b| b.0);
        let metric = Metric::parse(metric.0).map_err(to_py)?;
        let mut index = HnswIndex::new(
            usize_arg(dim, "dim")?,
            metric,
            usize_arg(M, "M")?,
            usize_arg(ef_construction, "ef_construction")?,
        )
        .map_err(to_py)?;
        if let Some(bytes) = full_scan_bytes {
            let bytes = usize::try_from(bytes)
                .map_err(|_| invalid(format!("full_scan_bytes must be >= 0, got {bytes}")))?;
            index.set_full_scan_bytes(bytes);
        }
        Ok(PyHnswIndex { inner: RwLock::new(index) })
    }

    /// Adds vectors under `ids`; an id already present is replaced (the last row wins within
    /// one call). `groups` gives each row's group (one str per row). On invalid input nothing
    /// is added.
    #[pyo3(signature = (ids, vectors, *, groups = None))]
    fn add(
        &self,
        py: Python<'_>,
        ids: &Bound<'_, PyAny>,
        vectors: &Bound<'_, PyAny>,
        groups: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let ids = id_vec(ids, "ids")?;
        let group_items = groups.map(|g| str_list(g, "groups")).transpose()?;
        let group_names = group_items.as_deref().map(as_strs).transpose()?;
        let arr = f32_array(vectors, "vectors")?;
        let dim = read(&self.inner).dim();
        let rows = rows_of(&arr, dim, "vectors")?;
        if rows != ids.len() {
            return Err(invalid(format!(
                "vectors has {rows} rows but ids has {} entries",
                ids.len()
            )));
        }
        let data = arr.as_slice().map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        py.detach(|| write(&self.inner).add_grouped(&ids, data, group_names.as_deref()))
            .map_err(to_py)
    }

    /// Removes `ids`; if any is absent nothing is removed and `UnknownIdError` names it.
    fn remove(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = id_vec(ids, "ids")?;
        py.detach(|| write(&self.inner).remove(&ids)).map_err(to_py)
    }

    /// The `k` nearest neighbours of each query: `(ids, distances)`, both `(m, k)`, nearest
    /// first. `allowed_ids` restricts results to those ids, `group` to one group and `groups`
    /// to a union of groups (rows with fewer matches are padded with id `2**64 - 1` and
    /// distance `inf`).
    #[pyo3(signature = (queries, k = Num(10), ef = None, *, allowed_ids = None, group = None, groups = None),
        text_signature = "(self, queries, k=10, ef=None, *, allowed_ids=None, group=None, groups=None)")]
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        queries: &Bound<'py, PyAny>,
        k: Num<i64>,
        ef: Option<Num<i64>>,
        allowed_ids: Option<&Bound<'py, PyAny>>,
        group: Option<&Bound<'py, PyAny>>,
        groups: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyArray2<u64>>, Bound<'py, PyArray2<f32>>)> {
        let scope_items = match (group, groups) {
            (Some(_), Some(_)) => {
                return Err(invalid("pass group or groups, not both"));
            }
            (Some(g), None) => Some(vec![g.cast::<PyString>().cloned().map_err(|_| {
                crate::errors::invalid_type(format!("group must be str, not {}", type_name(g)))
            })?]),
            (None, Some(g)) => Some(str_list(g, "groups")?),
            (None, None) => None,
        };
        let scope_names = scope_items.as_deref().map(as_strs).transpose()?;
        let (k, ef) = (k.0, ef.map(|e| e.0));
        let k = usize::try_from(k).map_err(|_| invalid(format!("k must be >= 1, got {k}")))?;
        let ef = ef
            .map(|e| usize::try_from(e).map_err(|_| invalid(format!("ef must be >= 1, got {e}"))))
            .transpose()?;
        let allowed = allowed_ids.map(|a| id_vec(a, "allowed_ids")).transpose()?;
        let arr = f32_array(queries, "queries")?;
        let dim = read(&self.inner).dim();
        let rows = rows_of(&arr, dim, "queries")?;
        let data = arr.as_slice().map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let (ids, dists) = py
            .detach(|| {
                let index = read(&self.inner);
                let filter = (allowed.is_some() || scope_names.is_some())
                    .then(|| index.scope(allowed.as_deref(), scope_names.as_deref()));
                index.search(data, rows, k, ef, filter.as_ref())
            })
            .map_err(to_py)?;
        let ids = Array2::from_shape_vec((rows, k), ids)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let dists = Array2::from_shape_vec((rows, k), dists)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok((ids.into_pyarray(py), dists.into_pyarray(py)))
    }

    /// Writes the index to `path` atomically (magic, version, CRC32), with `meta` (opaque
    /// bytes, at most 1 MiB) stored inside; `meta` becomes the `meta` property.
    #[pyo3(signature = (path, *, meta = None))]
    fn save(&self, py: Python<'_>, path: PathBuf, meta: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let meta = meta.map(|m| byte_arg(m, "meta")).transpose()?;
        let meta = meta.as_ref().map_or(&[][..], |m| m.as_slice());
        py.detach(|| read(&self.inner).save(&path, meta)).map_err(to_py)
    }

    /// Loads an index written by `save`; a damaged file raises `CorruptFileError`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let index = py.detach(|| HnswIndex::load(&path)).map_err(to_py)?;
        Ok(PyHnswIndex { inner: RwLock::new(index) })
    }

    /// The snapshot `save` would write, as bytes, with `meta` stored inside.
    #[pyo3(signature = (*, meta = None))]
    fn to_bytes<'py>(
        &self,
        py: Python<'py>,
        meta: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let meta = meta.map(|m| byte_arg(m, "meta")).transpose()?;
        let meta = meta.as_ref().map_or(&[][..], |m| m.as_slice());
        let bytes = py.detach(|| read(&self.inner).to_bytes(meta)).map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Loads an index from `to_bytes` output; damaged bytes raise `CorruptDataError`.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let data = byte_arg(data, "data")?;
        let bytes = data.as_slice();
        let index = py.detach(|| HnswIndex::from_bytes(bytes)).map_err(to_py)?;
        Ok(PyHnswIndex { inner: RwLock::new(index) })
    }

    /// The caller's bytes stored in the snapshot this index was loaded from or last written
    /// to (`b""` when none).
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &read(&self.inner).meta())
    }

    /// The stored vectors of `ids` as a float32 array `(len(ids), dim)` (de-quantised from the
    /// half-float copy; L2-normalised under cosine). Unknown ids raise `UnknownIdError`.
    fn get_vectors<'py>(
        &self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let ids = id_vec(ids, "ids")?;
        let (data, dim) = py
            .detach(|| {
                let index = read(&self.inner);
                index.get_vectors(&ids).map(|v| (v, index.dim()))
            })
            .map_err(to_py)?;
        let arr = Array2::from_shape_vec((ids.len(), dim), data)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        Ok(arr.into_pyarray(py))
    }

    /// Number of live vectors in group `group` (0 for an unknown group).
    fn group_len(&self, group: Text<'_>) -> usize {
        read(&self.inner).group_len(group.0)
    }

    /// The group of a live id (None when it is absent or was added without one).
    fn group_of(&self, id: u64) -> Option<String> {
        read(&self.inner).group_of(id).map(str::to_owned)
    }

    /// The live ids, as a uint64 array.
    fn ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        read(&self.inner).ids().into_pyarray(py)
    }

    /// Bytes held by the index (vectors, links and id maps).
    fn memory_usage_bytes(&self) -> usize {
        read(&self.inner).memory_usage_bytes()
    }

    /// Dimension of the vectors.
    #[getter]
    fn dim(&self) -> usize {
        read(&self.inner).dim()
    }

    /// The metric: `"cosine"`, `"ip"` or `"l2"`.
    #[getter]
    fn metric(&self) -> &'static str {
        read(&self.inner).metric().name()
    }

    /// Links per node on the upper levels.
    #[getter]
    #[allow(non_snake_case)]
    fn M(&self) -> usize {
        read(&self.inner).m()
    }

    /// Candidate list size while building.
    #[getter]
    fn ef_construction(&self) -> usize {
        read(&self.inner).ef_construction()
    }

    /// The distance kernels chosen for this CPU: `"avx512"`, `"avx2"` or `"scalar"`.
    #[getter]
    fn kernels(&self) -> &'static str {
        read(&self.inner).kernels().name()
    }

    fn __len__(&self) -> usize {
        read(&self.inner).len()
    }

    fn __contains__(&self, id: &Bound<'_, PyAny>) -> bool {
        id.extract::<u64>().is_ok_and(|id| read(&self.inner).contains(id))
    }

    fn __repr__(&self) -> String {
        let i = read(&self.inner);
        format!(
            "HnswIndex(dim={}, metric={:?}, M={}, ef_construction={}, len={})",
            i.dim(),
            i.metric().name(),
            i.m(),
            i.ef_construction(),
            i.len()
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHnswIndex>()
}
