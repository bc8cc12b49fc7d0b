//! Binding of `ferromem_core::compress`: one-shot functions on any bytes-like object, and the
//! `BlockStore` engine behind `CompressedMemory`. Every call does its work without the GIL.

use std::sync::{Mutex, MutexGuard};

use ferromem_core::compress::{self as core, BlockStore as CoreStore, Codec, OwnedRecord, Record};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::convert::{as_strs, byte_arg, str_items, ByteArg, Num, Text};
use crate::errors::{invalid, invalid_type, to_py};

fn codec(name: Text<'_>) -> PyResult<Codec> {
    name.0.parse().map_err(to_py)
}

fn optional_bytes<'py>(
    obj: Option<&Bound<'py, PyAny>>,
    arg: &str,
) -> PyResult<Option<ByteArg<'py>>> {
    obj.filter(|o| !o.is_none()).map(|o| byte_arg(o, arg)).transpose()
}

/// Compresses `data` into one standard zstd frame (with checksum) or zlib stream.
#[pyfunction]
#[pyo3(signature = (data, codec=Text("zstd"), level=Num(3), dictionary=None),
    text_signature = "(data, codec='zstd', level=3, dictionary=None)")]
fn compress<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    codec: Text<'_>,
    level: Num<i32>,
    dictionary: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (codec, level) = (self::codec(codec)?, level.0);
    let data = byte_arg(data, "data")?;
    let dictionary = optional_bytes(dictionary, "dictionary")?;
    let (data, dict) = (data.as_slice(), dictionary.as_ref().map(ByteArg::as_slice));
    let out = py.detach(|| core::compress(data, codec, level, dict)).map_err(to_py)?;
    Ok(PyBytes::new(py, &out))
}

/// Decompresses a zstd frame (or several) or a zlib stream.
#[pyfunction]
#[pyo3(signature = (data, codec=Text("zstd"), dictionary=None),
    text_signature = "(data, codec='zstd', dictionary=None)")]
fn decompress<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    codec: Text<'_>,
    dictionary: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let codec = self::codec(codec)?;
    let data = byte_arg(data, "data")?;
    let dictionary = optional_bytes(dictionary, "dictionary")?;
    let (data, dict) = (data.as_slice(), dictionary.as_ref().map(ByteArg::as_slice));
    let out = py.detach(|| core::decompress(data, codec, dict)).map_err(to_py)?;
    Ok(PyBytes::new(py, &out))
}

/// Trains a zstd dictionary of at most `size` bytes from sample messages.
#[pyfunction]
#[pyo3(signature = (samples, size=Num(16384)), text_signature = "(samples, size=16384)")]
fn train_dictionary<'py>(
    py: Python<'py>,
    samples: &Bound<'py, PyAny>,
    size: Num<usize>,
) -> PyResult<Bound<'py, PyBytes>> {
    let size = size.0;
    let not_seq = || invalid_type("samples must be a sequence of bytes-like objects");
    if samples.is_instance_of::<PyBytes>() || samples.is_instance_of::<pyo3::types::PyString>() {
        return Err(not_seq());
    }
    let items = samples
        .try_iter()
        .map_err(|_| not_seq())?
        .enumerate()
        .map(|(i, item)| byte_arg(&item?, &format!("samples[{i}]")))
        .collect::<PyResult<Vec<_>>>()?;
    let slices: Vec<&[u8]> = items.iter().map(ByteArg::as_slice).collect();
    let dict = py.detach(|| core::train_dictionary(&slices, size)).map_err(to_py)?;
    Ok(PyBytes::new(py, &dict))
}

/// The string columns of a block, kept alive so their UTF-8 can be read without the GIL.
struct Columns<'py>([Vec<Bound<'py, PyString>>; 4]);

impl<'py> Columns<'py> {
    fn new(
        ids: &Bound<'py, PyAny>,
        roles: &Bound<'py, PyAny>,
        contents: &Bound<'py, PyAny>,
        metadata: &Bound<'py, PyAny>,
    ) -> PyResult<Self> {
        Ok(Columns([
            str_items(ids, "ids")?,
            str_items(roles, "roles")?,
            str_items(contents, "contents")?,
            str_items(metadata, "metadata")?,
        ]))
    }

    fn strs(&self) -> PyResult<[Vec<&str>; 4]> {
        let [a, b, c, d] = &self.0;
        Ok([as_strs(a)?, as_strs(b)?, as_strs(c)?, as_strs(d)?])
    }
}

/// Zips the columns into records, refusing columns of different lengths.
fn records<'a>(
    keys: &[u64],
    strs: &'a [Vec<&'a str>; 4],
    timestamps: &[f64],
    importances: &[Option<f64>],
) -> PyResult<Vec<Record<'a>>> {
    let n = keys.len();
    let [ids, roles, contents, metadata] = strs;
    let lengths = [ids.len(), roles.len(), contents.len(), metadata.len(), timestamps.len()];
    if lengths.iter().chain([&importances.len()]).any(|&l| l != n) {
        return Err(invalid(format!(
            "keys, ids, roles, contents, metadata, timestamps and importances must have the \
             same length, got {n}, {lengths:?} and {}",
            importances.len()
        )));
    }
    Ok((0..n)
        .map(|i| Record {
            key: keys[i],
            id: ids[i],
            role: roles[i],
            content: contents[i],
            metadata: metadata[i],
            timestamp: timestamps[i],
            importance: importances[i].unwrap_or(f64::NAN),
        })
        .collect())
}

/// A decoded message: `(block, key, id, role, content, metadata, timestamp, importance)`.
type RecordTuple = (u32, u64, String, String, String, String, f64, Option<f64>);

fn record_tuple(block: u32, r: OwnedRecord) -> RecordTuple {
    let importance = (!r.importance.is_nan()).then_some(r.importance);
    (block, r.key, r.id, r.role, r.content, r.metadata, r.timestamp, importance)
}

/// Messages in compressed blocks of a few dozen; any one comes back by key or id after
/// decompressing only its block. The engine behind `CompressedMemory`.
#[pyclass(module = "ferromem._core")]
struct BlockStore {
    inner: Mutex<CoreStore>,
}

impl BlockStore {
    // Locked only inside `py.detach` closures or without detaching, so that a thread holding
    // the GIL never waits on a thread that needs the GIL back to release the lock.
    fn lock(&self) -> MutexGuard<'_, CoreStore> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl BlockStore {
    #[new]
    #[pyo3(signature = (codec=Text("zstd"), level=3), text_signature = "(codec='zstd', level=3)")]
    fn new(codec: Text<'_>, level: i32) -> PyResult<Self> {
        let store = CoreStore::new(self::codec(codec)?, level).map_err(to_py)?;
        Ok(BlockStore { inner: Mutex::new(store) })
    }

    /// The codec name.
    #[getter]
    fn codec(&self) -> String {
        self.lock().codec().to_string()
    }

    /// The level new blocks are written at.
    #[getter]
    fn level(&self) -> i32 {
        self.lock().level()
    }

    /// The dictionary in use, or None.
    #[getter]
    fn dictionary<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.lock().dictionary().map(|d| PyBytes::new(py, d))
    }

    /// Uses `dictionary` for new blocks and recompresses the existing ones with it.
    fn set_dictionary(&self, py: Python<'_>, dictionary: &Bound<'_, PyAny>) -> PyResult<()> {
        let dict = byte_arg(dictionary, "dictionary")?.as_slice().to_vec();
        py.detach(|| self.lock().set_dictionary(dict)).map_err(to_py)
    }

    /// Uses `dictionary` in place of the one set before and recompresses every readable block
    /// with it (all or nothing).
    fn replace_dictionary(&self, py: Python<'_>, dictionary: &Bound<'_, PyAny>) -> PyResult<()> {
        let dict = byte_arg(dictionary, "dictionary")?.as_slice().to_vec();
        py.detach(|| self.lock().replace_dictionary(dict)).map_err(to_py)
    }

    /// Compresses one block of messages given column by column; returns its number.
    #[allow(clippy::too_many_arguments)]
    fn add_block(
        &self,
        py: Python<'_>,
        keys: Vec<u64>,
        ids: &Bound<'_, PyAny>,
        roles: &Bound<'_, PyAny>,
        contents: &Bound<'_, PyAny>,
        metadata: &Bound<'_, PyAny>,
        timestamps: Vec<f64>,
        importances: Vec<Option<f64>>,
    ) -> PyResult<u32> {
        let columns = Columns::new(ids, roles, contents, metadata)?;
        let strs = columns.strs()?;
        let records = records(&keys, &strs, &timestamps, &importances)?;
        py.detach(|| self.lock().add_block(&records)).map_err(to_py)
    }

    /// Appends messages (given as in `add_block`) to an existing block by rewriting it;
    /// returns how many messages the block then holds.
    #[allow(clippy::too_many_arguments)]
    fn extend_block(
        &self,
        py: Python<'_>,
        block: u32,
        keys: Vec<u64>,
        ids: &Bound<'_, PyAny>,
        roles: &Bound<'_, PyAny>,
        contents: &Bound<'_, PyAny>,
        metadata: &Bound<'_, PyAny>,
        timestamps: Vec<f64>,
        importances: Vec<Option<f64>>,
    ) -> PyResult<usize> {
        let columns = Columns::new(ids, roles, contents, metadata)?;
        let strs = columns.strs()?;
        let records = records(&keys, &strs, &timestamps, &importances)?;
        py.detach(|| self.lock().extend_block(block, &records)).map_err(to_py)
    }

    /// `(block, key, id, role, content, metadata, timestamp, importance)` of the message stored
    /// under `key`, or None.
    fn get(&self, py: Python<'_>, key: u64) -> PyResult<Option<RecordTuple>> {
        let found = py.detach(|| self.lock().get(key)).map_err(to_py)?;
        Ok(found.map(|(b, r)| record_tuple(b, r)))
    }

    /// The same tuple for the message with this id, or None.
    fn get_id(&self, py: Python<'_>, id: Text<'_>) -> PyResult<Option<RecordTuple>> {
        let id = id.0;
        let found = py.detach(|| self.lock().get_id(id)).map_err(to_py)?;
        Ok(found.map(|(b, r)| record_tuple(b, r)))
    }

    /// The live messages of `block` as tuples, in the order they were added.
    fn block_records(&self, py: Python<'_>, block: u32) -> PyResult<Vec<RecordTuple>> {
        let records = py.detach(|| self.lock().block_records(block)).map_err(to_py)?;
        Ok(records.into_iter().map(|r| record_tuple(block, r)).collect())
    }

    /// Removes the messages with these ids; returns the keys of those that were stored.
    fn remove_ids(&self, py: Python<'_>, ids: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
        let items = str_items(ids, "ids")?;
        let strs = as_strs(&items)?;
        py.detach(|| self.lock().remove_ids(&strs)).map_err(to_py)
    }

    /// Drops a block; returns the keys of the messages it held (none if it was damaged).
    fn drop_block(&self, py: Python<'_>, block: u32) -> Vec<u64> {
        py.detach(|| self.lock().drop_block(block))
    }

    /// Recompresses `block` at `level`.
    fn recompress(&self, py: Python<'_>, block: u32, level: i32) -> PyResult<()> {
        py.detach(|| self.lock().recompress(block, level)).map_err(to_py)
    }

    /// The level `block` is stored at, or None if it does not exist.
    fn block_level(&self, block: u32) -> Option<i32> {
        self.lock().block_level(block)
    }

    /// The compressed frame of `block`, or None.
    fn frame<'py>(&self, py: Python<'py>, block: u32) -> Option<Bound<'py, PyBytes>> {
        self.lock().frame(block).map(|f| PyBytes::new(py, f))
    }

    /// Replaces the frame of `block` (restoring a saved store, or simulating damage in tests).
    fn replace_frame(&self, block: u32, frame: &Bound<'_, PyAny>) -> PyResult<()> {
        let frame = byte_arg(frame, "frame")?.as_slice().to_vec();
        self.lock().replace_frame(block, frame).map_err(to_py)
    }

    /// Blocks that still hold messages.
    fn live_blocks(&self) -> usize {
        self.lock().live_blocks()
    }

    /// Total size of the compressed frames.
    fn compressed_bytes(&self) -> usize {
        self.lock().compressed_bytes()
    }

    /// Uncompressed size of the live blocks' bodies.
    fn raw_bytes(&self) -> u64 {
        self.lock().raw_bytes()
    }

    /// Everything the store holds, in bytes.
    fn memory_usage_bytes(&self) -> usize {
        self.lock().memory_usage_bytes()
    }

    fn __len__(&self) -> usize {
        self.lock().len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compress, m)?)?;
    m.add_function(wrap_pyfunction!(decompress, m)?)?;
    m.add_function(wrap_pyfunction!(train_dictionary, m)?)?;
    m.add_class::<BlockStore>()?;
    Ok(())
}
