//! Binding of `ferromem_core::rows`: the SQLite store's rows sealed and opened in bulk.

use ferromem_core::rows::{self, RowHead, RowIn, RowStored};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use crate::convert::{as_strs, str_items};
use crate::errors::{invalid, to_py};

fn corrupt(msg: String) -> PyErr {
    to_py(ferromem_core::Error::CorruptData(msg))
}

/// The columns of each row to insert, in the store's column order: `(key, id, session, role,
/// body, flags, timestamp, importance, metadata, vector, crc32)`.
#[pyfunction]
#[pyo3(signature = (store_id, keys, ids, sessions, roles, contents, timestamps, importances,
                    metadata, vectors, *, compress))]
#[allow(clippy::too_many_arguments)]
fn seal_rows<'py>(
    py: Python<'py>,
    store_id: &[u8],
    keys: Vec<i64>,
    ids: &Bound<'py, PyAny>,
    sessions: &Bound<'py, PyAny>,
    roles: &Bound<'py, PyAny>,
    contents: &Bound<'py, PyAny>,
    timestamps: Vec<f64>,
    importances: Vec<Option<f64>>,
    metadata: &Bound<'py, PyAny>,
    vectors: Option<Vec<Option<Vec<u8>>>>,
    compress: bool,
) -> PyResult<Bound<'py, PyList>> {
    let ids = str_items(ids, "ids")?;
    let sessions = str_items(sessions, "sessions")?;
    let roles = str_items(roles, "roles")?;
    let contents = str_items(contents, "contents")?;
    let metadata = str_items(metadata, "metadata")?;
    let n = keys.len();
    let vectors = vectors.unwrap_or_else(|| vec![None; n]);
    for (name, len) in [
        ("ids", ids.len()),
        ("sessions", sessions.len()),
        ("roles", roles.len()),
        ("contents", contents.len()),
        ("timestamps", timestamps.len()),
        ("importances", importances.len()),
        ("metadata", metadata.len()),
        ("vectors", vectors.len()),
    ] {
        if len != n {
            return Err(invalid(format!("{name} has {len} items for {n} keys")));
        }
    }
    let (id_s, session_s, role_s, content_s, meta_s) = (
        as_strs(&ids)?,
        as_strs(&sessions)?,
        as_strs(&roles)?,
        as_strs(&contents)?,
        as_strs(&metadata)?,
    );
    let input: Vec<RowIn<'_>> = (0..n)
        .map(|i| RowIn {
            head: RowHead {
                key: keys[i],
                id: id_s[i],
                session: session_s[i],
                role: role_s[i],
                timestamp: timestamps[i],
                importance: importances[i],
            },
            content: content_s[i],
            metadata: meta_s[i],
            vector: vectors[i].as_deref(),
        })
        .collect();
    let sealed = py.detach(|| rows::seal_rows(store_id, &input, compress)).map_err(to_py)?;
    let out = PyList::empty(py);
    for (i, row) in sealed.into_iter().enumerate() {
        let vector = match &vectors[i] {
            Some(v) => PyBytes::new(py, v).into_any(),
            None => py.None().into_bound(py),
        };
        let items: [Bound<'py, PyAny>; 11] = [
            keys[i].into_pyobject(py)?.into_any(),
            ids[i].clone().into_any(),
            sessions[i].clone().into_any(),
            roles[i].clone().into_any(),
            PyBytes::new(py, &row.body).into_any(),
            row.flags.into_pyobject(py)?.into_any(),
            timestamps[i].into_pyobject(py)?.into_any(),
            importances[i].into_pyobject(py)?.into_any(),
            PyBytes::new(py, meta_s[i].as_bytes()).into_any(),
            vector,
            row.crc.into_pyobject(py)?.into_any(),
        ];
        out.append(PyTuple::new(py, items)?)?;
    }
    Ok(out)
}

/// One stored row's columns, borrowed.
struct Cols<'py> {
    key: i64,
    id: Bound<'py, PyString>,
    session: Bound<'py, PyString>,
    role: Bound<'py, PyString>,
    body: Bound<'py, PyBytes>,
    flags: i64,
    timestamp: f64,
    importance: Option<f64>,
    metadata: Bound<'py, PyBytes>,
    vector: Option<Bound<'py, PyBytes>>,
    crc: i64,
}

fn cols<'py>(row: &Bound<'py, PyAny>, i: usize) -> PyResult<Cols<'py>> {
    let t = row.cast::<PyTuple>().map_err(|_| corrupt(format!("row {i} is not a tuple")))?;
    if t.len() != 11 {
        return Err(corrupt(format!("row {i} has {} columns, not 11", t.len())));
    }
    let wrong = |what: &str| corrupt(format!("row {i}: the {what} column has the wrong type"));
    let vector = t.get_item(9)?;
    Ok(Cols {
        key: t.get_item(0)?.extract().map_err(|_| wrong("key"))?,
        id: t.get_item(1)?.cast_into().map_err(|_| wrong("id"))?,
        session: t.get_item(2)?.cast_into().map_err(|_| wrong("session"))?,
        role: t.get_item(3)?.cast_into().map_err(|_| wrong("role"))?,
        body: t.get_item(4)?.cast_into().map_err(|_| wrong("body"))?,
        flags: t.get_item(5)?.extract().map_err(|_| wrong("flags"))?,
        timestamp: t.get_item(6)?.extract().map_err(|_| wrong("timestamp"))?,
        importance: t.get_item(7)?.extract().map_err(|_| wrong("importance"))?,
        metadata: t.get_item(8)?.cast_into().map_err(|_| wrong("metadata"))?,
        vector: if vector.is_none() {
            None
        } else {
            Some(vector.cast_into().map_err(|_| wrong("vector"))?)
        },
        crc: t.get_item(10)?.extract().map_err(|_| wrong("crc32"))?,
    })
}

/// The text and metadata JSON of each stored row, after checking its CRC over every column;
/// `CorruptDataError` names the first damaged row.
#[pyfunction]
fn open_rows<'py>(
    py: Python<'py>,
    store_id: &[u8],
    rows: &Bound<'py, PyAny>,
) -> PyResult<Vec<(String, String)>> {
    let mut all = Vec::new();
    for (i, row) in rows.try_iter()?.enumerate() {
        all.push(cols(&row?, i)?);
    }
    let strs: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|c| -> PyResult<_> { Ok((c.id.to_str()?, c.session.to_str()?, c.role.to_str()?)) })
        .collect::<PyResult<_>>()?;
    let stored: Vec<RowStored<'_>> = all
        .iter()
        .zip(&strs)
        .map(|(c, (id, session, role))| RowStored {
            head: RowHead {
                key: c.key,
                id,
                session,
                role,
                timestamp: c.timestamp,
                importance: c.importance,
            },
            body: c.body.as_bytes(),
            flags: c.flags,
            metadata: c.metadata.as_bytes(),
            vector: c.vector.as_ref().map(|v| v.as_bytes()),
            crc: c.crc,
        })
        .collect();
    let opened = py.detach(|| rows::open_rows(store_id, &stored)).map_err(to_py)?;
    Ok(opened.into_iter().map(|r| (r.content, r.metadata)).collect())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(seal_rows, m)?)?;
    m.add_function(wrap_pyfunction!(open_rows, m)?)?;
    Ok(())
}
