//! Binding of `ferromem_core::columns`: `ferromem._core.MessageColumns`, the in-process store's
//! truth, and the batched write path (validation, ids, importance, storing, keyword indexing
//! in one call, all or nothing).

use std::collections::{HashMap, HashSet};

use ferromem_core::columns::{ids, Columns, NewRow};
use ferromem_core::importance as imp;
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFloat, PyInt, PyList, PyString, PyType};
use pyo3::{ffi, intern};

use crate::convert::type_name;
use crate::errors::{invalid, invalid_type, to_py};
use crate::keyword::PyKeywordIndex;
use crate::meta;

/// The metadata bytes of a row whose dict is kept as a Python object (see `meta`).
const ODD: &[u8] = &[0xFF];
const DEFAULT_SESSION: &str = "default";
const FIELDS: [&str; 7] =
    ["content", "id", "importance", "metadata", "role", "session_id", "timestamp"];

static MESSAGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
/// Where each slot of a Message lives in the object (in the order `message` fills them), found
/// once by probing; None when probing fails (slots are then set through setattr).
static SLOT_OFFSETS: PyOnceLock<Option<[usize; 7]>> = PyOnceLock::new();

/// Sets each slot of a probe Message to a distinct object through object's setattr and finds
/// the pointer in the instance's memory: the slots' offsets, without the non-limited API's
/// member descriptors.
fn probe_offsets(ty: &Bound<'_, PyType>) -> Option<[usize; 7]> {
    let py = ty.py();
    let names = slot_names(py);
    let size: usize = ty.getattr("__basicsize__").ok()?.extract().ok()?;
    let word = std::mem::size_of::<*mut ffi::PyObject>();
    let head = std::mem::size_of::<ffi::PyObject>();
    if size < head + names.len() * word || size > 4096 {
        return None;
    }
    let markers: Vec<Bound<'_, PyAny>> =
        (0..names.len()).map(|_| PyDict::new(py).into_any()).collect();
    // SAFETY: reads within the instance's basic size, after its header, word-aligned.
    unsafe {
        let obj =
            Bound::from_owned_ptr_or_opt(py, ffi::PyType_GenericAlloc(ty.as_ptr().cast(), 0))?;
        let mut out = [0usize; 7];
        for (i, name) in names.iter().enumerate() {
            if ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), markers[i].as_ptr()) < 0 {
                ffi::PyErr_Clear();
                return None;
            }
        }
        for (i, marker) in markers.iter().enumerate() {
            let found: Vec<usize> = (head..size)
                .step_by(word)
                .filter(|&off| {
                    *obj.as_ptr().cast::<u8>().add(off).cast::<*mut ffi::PyObject>()
                        == marker.as_ptr()
                })
                .collect();
            if found.len() != 1 {
                return None;
            }
            out[i] = found[0];
        }
        Some(out)
    }
}

fn message_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    MESSAGE.import(py, "ferromem.message", "Message")
}

/// A name looked up (an id or a session): one that is not a valid `str` cannot be stored, so it
/// is simply not found (as a dict lookup would say), never an encoding error.
pub struct Lookup<'a>(Option<&'a str>);

impl<'a> FromPyObject<'a, '_> for Lookup<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, '_, PyAny>) -> PyResult<Self> {
        Ok(Lookup(<&'a str>::extract(obj).ok()))
    }
}

/// A string that is either borrowed from Python or made here (a generated id).
enum Str<'py> {
    Py(Bound<'py, PyString>),
    Own(String),
}

impl Str<'_> {
    fn as_str(&self) -> &str {
        match self {
            // Checked to be valid UTF-8 when parsed.
            Str::Py(s) => s.to_str().unwrap_or(""),
            Str::Own(s) => s,
        }
    }
}

/// One incoming message, validated.
struct Parsed<'py> {
    role: Bound<'py, PyString>,
    content: Bound<'py, PyString>,
    session: Option<Bound<'py, PyString>>,
    id: Option<Str<'py>>,
    metadata: Option<Bound<'py, PyDict>>,
    timestamp: f64,
    importance: Option<f64>,
}

fn utf8(s: &Bound<'_, PyString>, what: &str) -> PyResult<()> {
    s.to_str().map(|_| ()).map_err(|_| invalid(format!("{what} is not valid Unicode text")))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The names of a `Message`'s slots, in the order of [`probe_offsets`].
fn slot_names(py: Python<'_>) -> [&Bound<'_, PyString>; 7] {
    [
        intern!(py, "role"),
        intern!(py, "content"),
        intern!(py, "session_id"),
        intern!(py, "metadata"),
        intern!(py, "timestamp"),
        intern!(py, "importance"),
        intern!(py, "id"),
    ]
}

/// A `Message`'s seven slots, in the order of [`probe_offsets`]: read straight from the
/// instance when it is exactly a `Message` whose slots are all set (an attribute look-up each
/// was most of parsing a batch), else through `getattr`, which also raises the exact error.
fn message_fields<'py>(
    m: &Bound<'py, PyAny>,
    ty: &Bound<'py, PyType>,
) -> PyResult<[Bound<'py, PyAny>; 7]> {
    let py = m.py();
    if let Some(offsets) = SLOT_OFFSETS.get_or_init(py, || probe_offsets(ty)) {
        if m.get_type().is(ty) {
            // SAFETY: `m` is an instance of exactly the probed type, so each offset is a slot
            // inside it holding either NULL (unset) or a strong reference, which is borrowed.
            let read = |off: usize| unsafe {
                let slot = *m.as_ptr().cast::<u8>().add(off).cast::<*mut ffi::PyObject>();
                Bound::from_borrowed_ptr_or_opt(py, slot)
            };
            let values = offsets.map(read);
            if values.iter().all(Option::is_some) {
                return Ok(values.map(|v| v.unwrap_or_else(|| py.None().into_bound(py))));
            }
        }
    }
    let mut out = Vec::with_capacity(7);
    for name in slot_names(py) {
        out.push(m.getattr(name).map_err(|e| {
            if e.is_instance_of::<PyAttributeError>(py) {
                invalid_type(format!("a Message without its {name} (not made by its constructor)"))
            } else {
                e
            }
        })?);
    }
    out.try_into().map_err(|_| invalid("a Message has seven fields"))
}

/// A message's fields read from a `Message` (already validated by its constructor); `ty` is
/// the `Message` type, looked up once by the caller.
fn from_message<'py>(m: &Bound<'py, PyAny>, ty: &Bound<'py, PyType>) -> PyResult<Parsed<'py>> {
    let [role, content, session, metadata, timestamp, importance, id] = message_fields(m, ty)?;
    let text = |v: Bound<'py, PyAny>, name: &str| -> PyResult<Bound<'py, PyString>> {
        let v = v.cast_into::<PyString>().map_err(|e| {
            invalid_type(format!("message {name} must be str, not {}", type_name(&e.into_inner())))
        })?;
        utf8(&v, name)?;
        Ok(v)
    };
    let role = text(role, "role")?;
    let content = text(content, "content")?;
    let session = text(session, "session_id")?;
    let id = if id.is_none() {
        None
    } else {
        let s = id.cast_into::<PyString>().map_err(|_| invalid("message id must be str"))?;
        utf8(&s, "id")?;
        Some(Str::Py(s))
    };
    let metadata =
        metadata.cast_into::<PyDict>().map_err(|_| invalid_type("metadata must be a dict"))?;
    let importance = if importance.is_none() { None } else { Some(importance.extract::<f64>()?) };
    let timestamp: f64 = timestamp.extract()?;
    Ok(Parsed {
        role,
        content,
        session: Some(session),
        id,
        metadata: (!metadata.is_empty()).then_some(metadata),
        timestamp,
        importance,
    })
}

/// The common dict without metadata, read here; None when anything calls for `Message`'s own
/// checks and conversions (which then also raise the exact error).
fn from_plain_dict<'py>(d: &Bound<'py, PyDict>) -> Option<Parsed<'py>> {
    let py = d.py();
    if d.len() > FIELDS.len() {
        return None;
    }
    let mut parsed = Parsed {
        role: PyString::new(py, ""),
        content: PyString::new(py, ""),
        session: None,
        id: None,
        metadata: None,
        timestamp: f64::NAN,
        importance: None,
    };
    let (mut has_role, mut has_content) = (false, false);
    for (k, v) in d.iter() {
        let k = k.cast_into::<PyString>().ok()?;
        let k = k.to_str().ok()?;
        let s = || v.cast_exact::<PyString>().ok().filter(|s| s.to_str().is_ok()).cloned();
        match k {
            "role" => {
                parsed.role = s().filter(|s| s.to_str().is_ok_and(|t| !t.is_empty()))?;
                has_role = true;
            }
            "content" => {
                parsed.content = s()?;
                has_content = true;
            }
            "session_id" if v.is_none() => {}
            "session_id" => {
                parsed.session = s().filter(|s| s.to_str().is_ok_and(|t| !t.is_empty()))
            }
            "id" if v.is_none() => {}
            "id" => {
                parsed.id = Some(Str::Py(s().filter(|s| s.to_str().is_ok_and(|t| !t.is_empty()))?))
            }
            "metadata" if v.is_none() => {}
            "metadata" => {
                if !v.cast_exact::<PyDict>().ok()?.is_empty() {
                    return None;
                }
            }
            "timestamp" if v.is_none() => {}
            "timestamp" => {
                let t = if v.is_exact_instance_of::<PyFloat>() {
                    v.extract::<f64>().ok()?
                } else if v.is_exact_instance_of::<PyInt>() {
                    v.extract::<i64>().ok()? as f64
                } else {
                    return None;
                };
                parsed.timestamp = Some(t).filter(|t| t.is_finite())?;
            }
            "importance" if v.is_none() => {}
            "importance" => {
                let x = if v.is_exact_instance_of::<PyFloat>() || v.is_exact_instance_of::<PyInt>()
                {
                    v.extract::<f64>().ok()?
                } else {
                    return None;
                };
                parsed.importance = Some(Some(x).filter(|x| (0.0..=1.0).contains(x))?);
            }
            _ => return None,
        }
    }
    (has_role && has_content).then_some(parsed)
}

fn parse<'py>(item: &Bound<'py, PyAny>, i: usize) -> PyResult<Parsed<'py>> {
    let py = item.py();
    let message = message_type(py)?;
    if item.is_instance(message)? {
        return from_message(item, message);
    }
    if let Ok(d) = item.cast_exact::<PyDict>() {
        if let Some(mut p) = from_plain_dict(d) {
            if p.timestamp.is_nan() {
                p.timestamp = now();
            }
            return Ok(p);
        }
    }
    if item
        .is_instance(&py.import(intern!(py, "collections.abc"))?.getattr(intern!(py, "Mapping"))?)?
    {
        return from_message(&message.call_method1(intern!(py, "from_dict"), (item,))?, message);
    }
    Err(invalid_type(format!("messages[{i}] must be a Message or a dict, not {}", type_name(item))))
}

fn repr(s: &str) -> String {
    Python::attach(|py| {
        PyString::new(py, s).repr().map_or_else(|_| format!("'{s}'"), |r| r.to_string())
    })
}

/// Rounds like `numpy.round(x, 4)`: the batched scores are float32, rounded back.
fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round_ties_even() / 10_000.0
}

/// Messages in columns; see `_core.pyi`.
#[pyclass(module = "ferromem._core", name = "MessageColumns")]
pub struct PyColumns {
    inner: Columns,
    sessions: Vec<Py<PyString>>,
    roles: Vec<Py<PyString>>,
    /// Metadata dicts with values the codec cannot hold exactly, by key.
    odd: HashMap<u64, Py<PyDict>>,
}

impl PyColumns {
    /// Interned names made since the last call get their Python strings.
    fn note_names(&mut self, py: Python<'_>) {
        let (s, r) = self.inner.interned();
        for i in self.sessions.len()..s {
            self.sessions.push(PyString::new(py, self.inner.session_name(i as u32)).unbind());
        }
        for i in self.roles.len()..r {
            self.roles.push(PyString::new(py, self.inner.role_name(i as u32)).unbind());
        }
    }

    /// What making messages needs, looked up once per call rather than once per message.
    fn maker<'py>(&self, py: Python<'py>) -> PyResult<Maker<'py>> {
        let ty = message_type(py)?;
        let offsets = *SLOT_OFFSETS.get_or_init(py, || probe_offsets(ty));
        let names = slot_names(py);
        Ok(Maker { py, ty, offsets, names, id: std::cell::RefCell::new(String::with_capacity(64)) })
    }

    fn make_all<'py>(&self, py: Python<'py>, rows: &[u32]) -> PyResult<Bound<'py, PyList>> {
        let maker = self.maker(py)?;
        let items = rows.iter().map(|&r| maker.make(self, r)).collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    fn keys(&self, rows: &[u32]) -> Vec<u64> {
        rows.iter().map(|&r| self.inner.key_of(r)).collect()
    }
}

/// Makes `Message` objects from rows (see [`PyColumns::maker`]).
struct Maker<'py> {
    py: Python<'py>,
    ty: &'py Bound<'py, PyType>,
    offsets: Option<[usize; 7]>,
    names: [&'py Bound<'py, PyString>; 7],
    /// The id's text, reused from one message to the next.
    id: std::cell::RefCell<String>,
}

impl<'py> Maker<'py> {
    fn make(&self, cols: &PyColumns, row: u32) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        let r = cols.inner.row(row);
        let meta = if r.meta == ODD {
            match cols.odd.get(&cols.inner.key_of(row)) {
                Some(d) => d.bind(py).copy()?,
                None => PyDict::new(py),
            }
        } else {
            meta::decode(py, r.meta)?
        };
        let importance = match r.importance {
            Some(x) => PyFloat::new(py, x).into_any(),
            None => py.None().into_bound(py),
        };
        let id = {
            let mut buf = self.id.borrow_mut();
            buf.clear();
            r.push_id(&mut buf);
            PyString::new(py, &buf)
        };
        let values: [Bound<'py, PyAny>; 7] = [
            cols.roles[r.role as usize].bind(py).clone().into_any(),
            PyString::new(py, r.content).into_any(),
            cols.sessions[r.session as usize].bind(py).clone().into_any(),
            meta.into_any(),
            PyFloat::new(py, r.timestamp).into_any(),
            importance,
            id.into_any(),
        ];
        // SAFETY: a fresh, zeroed instance of Message; each slot is written once, either at the
        // offset the probe found holding exactly what GenericSetAttr stored there, or through
        // object's own setattr (Message.__setattr__ refuses every write: messages are
        // immutable, so their slots are filled as `object.__setattr__` does in Python).
        unsafe {
            let obj = ffi::PyType_GenericAlloc(self.ty.as_ptr().cast(), 0);
            let obj = Bound::from_owned_ptr_or_err(py, obj)?;
            for (i, value) in values.into_iter().enumerate() {
                match self.offsets {
                    Some(off) => {
                        let slot =
                            obj.as_ptr().cast::<u8>().add(off[i]).cast::<*mut ffi::PyObject>();
                        *slot = value.into_ptr();
                    }
                    None => {
                        let name = self.names[i];
                        if ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr())
                            < 0
                        {
                            return Err(PyErr::fetch(py));
                        }
                    }
                }
            }
            Ok(obj)
        }
    }
}

/// What `ingest` did: the ids (one per message, skipped ones too), the keys (None where a
/// message was skipped) and the keys removed (replaced messages).
type Ingested<'py> = (Bound<'py, PyList>, Vec<Option<u64>>, Vec<u64>);

#[pymethods]
impl PyColumns {
    #[new]
    fn new() -> Self {
        PyColumns {
            inner: Columns::new(),
            sessions: Vec::new(),
            roles: Vec::new(),
            odd: HashMap::new(),
        }
    }

    /// Validates and stores `messages` (Message objects or dicts) in one all-or-nothing write;
    /// see `_core.pyi`.
    #[pyo3(signature = (messages, *, target = None, on_conflict = "error", score = true,
        keys = None, index = None, index_roles = true))]
    #[allow(clippy::too_many_arguments)]
    fn ingest<'py>(
        &mut self,
        py: Python<'py>,
        messages: &Bound<'py, PyAny>,
        target: Option<&str>,
        on_conflict: &str,
        score: bool,
        keys: Option<Vec<u64>>,
        index: Option<&Bound<'py, PyKeywordIndex>>,
        index_roles: bool,
    ) -> PyResult<Ingested<'py>> {
        if !matches!(on_conflict, "error" | "replace" | "skip") {
            return Err(invalid(format!(
                "on_conflict must be error, replace or skip, got {on_conflict:?}"
            )));
        }
        // Parse and validate everything before any write.
        let mut batch: Vec<Parsed<'py>> = Vec::with_capacity(messages.len().unwrap_or(0));
        for (i, item) in messages.try_iter()?.enumerate() {
            batch.push(parse(&item?, i)?);
        }
        if let Some(k) = &keys {
            if k.len() != batch.len() {
                return Err(invalid("keys and messages differ in length"));
            }
            if k.windows(2).any(|w| w[0] >= w[1])
                || k.first().is_some_and(|&f| f < self.inner.next_key())
            {
                return Err(invalid(format!(
                    "restored keys must ascend from at least {} (a key or id is already stored)",
                    self.inner.next_key()
                )));
            }
        }
        let target_str = target.map(|t| PyString::new(py, t));
        for p in &mut batch {
            let own = p.session.as_ref().map_or(DEFAULT_SESSION, |s| s.to_str().unwrap_or(""));
            if let Some(t) = &target_str {
                if own != t.to_str()? {
                    if own != DEFAULT_SESSION {
                        return Err(invalid(format!(
                            "message session_id {} differs from the target session {}; \
                             pass session_id=ALL_SESSIONS to keep each message's own session",
                            repr(own),
                            repr(t.to_str()?)
                        )));
                    }
                    p.session = Some(t.clone());
                }
            } else if p.session.is_none() {
                p.session = Some(PyString::new(py, DEFAULT_SESSION));
            }
        }
        if batch.len() > 1 {
            let mut seen: HashSet<&str> = HashSet::with_capacity(batch.len());
            for p in &batch {
                if let Some(id) = &p.id {
                    if !seen.insert(id.as_str()) {
                        return Err(invalid(format!(
                            "message id {} appears twice in one batch",
                            repr(id.as_str())
                        )));
                    }
                }
            }
        }
        for p in &mut batch {
            if p.id.is_none() {
                p.id = Some(Str::Own(ids::new_id()));
            }
        }
        // Conflicts with stored ids.
        let mut keep = vec![true; batch.len()];
        let mut replace: Vec<u64> = Vec::new();
        for (i, p) in batch.iter().enumerate() {
            let Some(id) = &p.id else { continue };
            if let Some(row) = self.inner.find(id.as_str()) {
                match on_conflict {
                    "error" => {
                        return Err(invalid(format!(
                            "message id {} is already stored",
                            repr(id.as_str())
                        )))
                    }
                    "skip" => keep[i] = false,
                    _ => replace.push(self.inner.key_of(row)),
                }
            }
        }
        let metas: Vec<Option<Vec<u8>>> = batch
            .iter()
            .map(|p| p.metadata.as_ref().map_or(Some(Vec::new()), meta::encode))
            .collect();
        let mut rows: Vec<NewRow<'_>> = batch
            .iter()
            .zip(&metas)
            .map(|(p, m)| NewRow {
                id: p.id.as_ref().map_or("", |s| s.as_str()),
                session: p.session.as_ref().map_or("", |s| s.to_str().unwrap_or("")),
                role: p.role.to_str().unwrap_or(""),
                content: p.content.to_str().unwrap_or(""),
                timestamp: p.timestamp,
                importance: p.importance,
                meta: m.as_deref().unwrap_or(ODD),
            })
            .collect();
        self.inner.check_room(&rows).map_err(to_py)?;
        let mut next = self.inner.next_key();
        let new_keys: Vec<Option<u64>> = (0..rows.len())
            .map(|i| {
                keep[i].then(|| match &keys {
                    Some(k) => k[i],
                    None => {
                        next += 1;
                        next - 1
                    }
                })
            })
            .collect();
        // Importance of the unscored (one text: the exact f64 scorer; more: the batched one),
        // computed while the index takes the batch: both spread over the cores, and the
        // index's sequential merge leaves one idle.
        let unscored: Vec<usize> = if score {
            (0..rows.len()).filter(|&i| rows[i].importance.is_none()).collect()
        } else {
            Vec::new()
        };
        let score_texts = || -> Vec<f64> {
            let texts: Vec<&str> = unscored.iter().map(|&i| rows[i].content).collect();
            match texts.len() {
                0 => Vec::new(),
                1 => vec![imp::importance(texts[0])],
                _ => imp::importance_many(&texts).into_iter().map(round4).collect(),
            }
        };
        let scores = match index {
            // One message (a single add) is scored faster than the GIL is released and taken.
            None if unscored.len() <= 1 => score_texts(),
            None => py.detach(score_texts),
            Some(index) => {
                let guard = index.borrow();
                let index: &PyKeywordIndex = &guard;
                let kept: Vec<usize> = (0..rows.len()).filter(|&i| keep[i]).collect();
                let ids: Vec<u64> = kept.iter().filter_map(|&i| new_keys[i]).collect();
                let texts: Vec<String> = kept
                    .iter()
                    .map(|&i| {
                        if index_roles {
                            format!("{} {}", rows[i].role, rows[i].content)
                        } else {
                            rows[i].content.to_owned()
                        }
                    })
                    .collect();
                let strs: Vec<&str> = texts.iter().map(String::as_str).collect();
                let groups: Vec<&str> = kept.iter().map(|&i| rows[i].session).collect();
                let add = || {
                    let mut w = index.write();
                    w.add(&ids, &strs, Some(&groups))?;
                    let present: Vec<u64> =
                        replace.iter().copied().filter(|&k| w.contains(k)).collect();
                    if present.is_empty() {
                        Ok(())
                    } else {
                        w.remove(&present)
                    }
                };
                let (scores, added) = py.detach(|| rayon::join(score_texts, add));
                added.map_err(to_py)?;
                scores
            }
        };
        for (&i, s) in unscored.iter().zip(scores) {
            rows[i].importance = Some(s);
        }
        // The write itself (nothing below can fail).
        let mut removed = Vec::with_capacity(replace.len());
        for k in replace {
            if self.inner.remove(k) {
                self.odd.remove(&k);
                removed.push(k);
            }
        }
        for (i, row) in rows.iter().enumerate() {
            if let Some(key) = new_keys[i] {
                self.inner.push(key, row);
                if metas[i].is_none() {
                    if let Some(d) = &batch[i].metadata {
                        self.odd.insert(key, d.copy()?.unbind());
                    }
                }
            }
        }
        self.note_names(py);
        let ids = batch
            .iter()
            .map(|p| match &p.id {
                Some(Str::Py(s)) => s.clone(),
                Some(Str::Own(s)) => PyString::new(py, s),
                None => PyString::new(py, ""),
            })
            .collect::<Vec<_>>();
        Ok((PyList::new(py, ids)?, new_keys, removed))
    }

    /// The messages under `keys` (None for a key not stored).
    fn get<'py>(&self, py: Python<'py>, keys: Vec<u64>) -> PyResult<Bound<'py, PyList>> {
        let maker = self.maker(py)?;
        let items = keys
            .iter()
            .map(|&k| match self.inner.row_of(k) {
                Some(r) => maker.make(self, r),
                None => Ok(py.None().into_bound(py)),
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// The key of each id (None when not stored).
    fn keys_of(&self, ids: &Bound<'_, PyAny>) -> PyResult<Vec<Option<u64>>> {
        let mut out = Vec::with_capacity(ids.len().unwrap_or(0));
        for id in ids.try_iter()? {
            let id = id?;
            let found = id.extract::<Lookup<'_>>()?.0.and_then(|id| self.inner.find(id));
            out.push(found.map(|r| self.inner.key_of(r)));
        }
        Ok(out)
    }

    /// Removes `keys` (absent ones ignored); returns those that were there.
    fn remove(&mut self, keys: Vec<u64>) -> Vec<u64> {
        let mut out = Vec::new();
        for k in keys {
            if self.inner.remove(k) {
                self.odd.remove(&k);
                out.push(k);
            }
        }
        out
    }

    /// A session's keys in chronological order.
    fn session_keys(&self, session_id: Lookup<'_>) -> Vec<u64> {
        self.keys(&self.inner.session_rows(session_id.0.unwrap_or("")))
    }

    /// A session's messages in chronological order.
    fn messages<'py>(
        &self,
        py: Python<'py>,
        session_id: Lookup<'_>,
    ) -> PyResult<Bound<'py, PyList>> {
        self.make_all(py, &self.inner.session_rows(session_id.0.unwrap_or("")))
    }

    /// A session's newest `n` messages, newest first.
    fn newest<'py>(
        &self,
        py: Python<'py>,
        session_id: Lookup<'_>,
        n: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        self.make_all(py, &self.inner.newest_rows(session_id.0.unwrap_or(""), n))
    }

    /// The keys of a session's oldest `n` messages.
    fn oldest_keys(&self, session_id: Lookup<'_>, n: usize) -> Vec<u64> {
        self.keys(&self.inner.oldest_rows(session_id.0.unwrap_or(""), n))
    }

    /// Sessions holding messages, in the order they gained their first one.
    fn sessions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let names = self
            .inner
            .session_list()
            .into_iter()
            .map(|s| self.sessions[s as usize].bind(py).clone());
        PyList::new(py, names)
    }

    /// Messages in a session, or in the store.
    #[pyo3(signature = (session_id = None))]
    fn count(&self, session_id: Option<Lookup<'_>>) -> usize {
        session_id.map_or(self.inner.len(), |s| s.0.map_or(0, |s| self.inner.session_len(s)))
    }

    /// Every key and message, in key order.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<(Vec<u64>, Bound<'py, PyList>)> {
        let rows = self.inner.live_rows();
        Ok((self.keys(&rows), self.make_all(py, &rows)?))
    }

    /// Bytes held (by capacity), Python dicts of odd metadata aside.
    fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

/// A new message id (see `ferromem.message.new_message_id`).
#[pyfunction]
fn new_message_id() -> String {
    ids::new_id()
}

/// Sets the process tag of new ids and restarts their sequence (a forked child draws anew).
#[pyfunction]
fn reseed_message_ids(tag: u32) {
    ids::reseed(tag);
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyColumns>()?;
    m.add_function(wrap_pyfunction!(new_message_id, m)?)?;
    m.add_function(wrap_pyfunction!(reseed_message_ids, m)?)?;
    Ok(())
}
