//! A compact, exact encoding of `Message.metadata` for the message columns (no pickle).
//!
//! Values of the exact types None, bool, int (64-bit), float, str, list, tuple and dict
//! (any encodable keys) are encoded; anything else (a datetime, a subclass, a huge int) makes
//! the whole dict "odd": the caller then keeps the Python dict itself, so every value comes
//! back exactly as given.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors::to_py;
use ferromem_core::Error;

const NONE: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const FLOAT: u8 = 4;
const STR: u8 = 5;
const LIST: u8 = 6;
const TUPLE: u8 = 7;
const DICT: u8 = 8;
/// Deeper values are kept as Python objects (Message refuses depth > 64 anyway).
const MAX_DEPTH: usize = 64;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Encodes a metadata dict: `Some(bytes)` (empty for an empty dict), or None when a value
/// has no exact encoding.
pub fn encode(meta: &Bound<'_, PyDict>) -> Option<Vec<u8>> {
    if meta.is_empty() {
        return Some(Vec::new());
    }
    let mut out = Vec::with_capacity(32);
    value(meta.as_any(), &mut out, 0).then_some(out)
}

fn value(v: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    if v.is_none() {
        out.push(NONE);
    } else if v.is_exact_instance_of::<PyBool>() {
        out.push(if v.is_truthy().unwrap_or(false) { TRUE } else { FALSE });
    } else if v.is_exact_instance_of::<PyInt>() {
        let Ok(i) = v.extract::<i64>() else { return false };
        out.push(INT);
        put_varint(out, ((i << 1) ^ (i >> 63)) as u64);
    } else if v.is_exact_instance_of::<PyFloat>() {
        let Ok(f) = v.extract::<f64>() else { return false };
        out.push(FLOAT);
        out.extend_from_slice(&f.to_le_bytes());
    } else if let Ok(s) = v.cast_exact::<PyString>() {
        let Ok(s) = s.to_str() else { return false };
        out.push(STR);
        put_varint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    } else if let Ok(l) = v.cast_exact::<PyList>() {
        out.push(LIST);
        put_varint(out, l.len() as u64);
        return l.iter().all(|x| value(&x, out, depth + 1));
    } else if let Ok(t) = v.cast_exact::<PyTuple>() {
        out.push(TUPLE);
        put_varint(out, t.len() as u64);
        return t.iter().all(|x| value(&x, out, depth + 1));
    } else if let Ok(d) = v.cast_exact::<PyDict>() {
        out.push(DICT);
        put_varint(out, d.len() as u64);
        return d.iter().all(|(k, x)| value(&k, out, depth + 1) && value(&x, out, depth + 1));
    } else {
        return false;
    }
    true
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn corrupt() -> PyErr {
    to_py(Error::CorruptData("message metadata does not decode".into()))
}

impl Reader<'_> {
    fn byte(&mut self) -> PyResult<u8> {
        let b = *self.buf.get(self.pos).ok_or_else(corrupt)?;
        self.pos += 1;
        Ok(b)
    }
    fn varint(&mut self) -> PyResult<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt())
    }
    fn take(&mut self, n: u64) -> PyResult<&[u8]> {
        let n = usize::try_from(n).map_err(|_| corrupt())?;
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(corrupt)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn count(&mut self) -> PyResult<usize> {
        // Every item takes at least one byte: a count beyond the bytes left is corrupt.
        let n = self.varint()?;
        usize::try_from(n).ok().filter(|&n| n <= self.buf.len() - self.pos).ok_or_else(corrupt)
    }

    fn value<'py>(&mut self, py: Python<'py>, depth: usize) -> PyResult<Bound<'py, PyAny>> {
        if depth > MAX_DEPTH + 1 {
            return Err(corrupt());
        }
        Ok(match self.byte()? {
            NONE => py.None().into_bound(py),
            FALSE => PyBool::new(py, false).to_owned().into_any(),
            TRUE => PyBool::new(py, true).to_owned().into_any(),
            INT => {
                let z = self.varint()?;
                (((z >> 1) as i64) ^ -((z & 1) as i64)).into_pyobject(py)?.into_any()
            }
            FLOAT => {
                let b: [u8; 8] = self.take(8)?.try_into().map_err(|_| corrupt())?;
                PyFloat::new(py, f64::from_le_bytes(b)).into_any()
            }
            STR => {
                let n = self.varint()?;
                let s = std::str::from_utf8(self.take(n)?).map_err(|_| corrupt())?;
                PyString::new(py, s).into_any()
            }
            LIST => {
                let n = self.count()?;
                let items =
                    (0..n).map(|_| self.value(py, depth + 1)).collect::<PyResult<Vec<_>>>()?;
                PyList::new(py, items)?.into_any()
            }
            TUPLE => {
                let n = self.count()?;
                let items =
                    (0..n).map(|_| self.value(py, depth + 1)).collect::<PyResult<Vec<_>>>()?;
                PyTuple::new(py, items)?.into_any()
            }
            DICT => {
                let n = self.count()?;
                let d = PyDict::new(py);
                for _ in 0..n {
                    let k = self.value(py, depth + 1)?;
                    let v = self.value(py, depth + 1)?;
                    d.set_item(k, v)?;
                }
                d.into_any()
            }
            _ => return Err(corrupt()),
        })
    }
}

/// Decodes what [`encode`] wrote (empty bytes: an empty dict).
pub fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyDict>> {
    if bytes.is_empty() {
        return Ok(PyDict::new(py));
    }
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.value(py, 0)?;
    if r.pos != bytes.len() {
        return Err(corrupt());
    }
    v.cast_into::<PyDict>().map_err(|_| corrupt())
}
