//! The on-disk envelope every ferromem file shares, and helpers to (de)serialise bodies.
//!
//! Layout: `magic (8) | version (u32 LE) | body length (u64 LE) | body | crc32 of all before (u32 LE)`.
//! Files are replaced atomically: written to a temp file beside the target, fsynced, renamed
//! over it, then the directory is fsynced, so a crash leaves either the old or the new file.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const HEADER_LEN: usize = 8 + 4 + 8;
const FOOTER_LEN: usize = 4;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// `body` wrapped in the envelope, in memory (for callers that keep snapshots elsewhere).
pub fn wrap(magic: &[u8; 8], version: u32, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len() + FOOTER_LEN);
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(body);
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// Wraps `body` in the envelope and writes it atomically to `path`.
pub fn write_atomic(path: &Path, magic: &[u8; 8], version: u32, body: &[u8]) -> Result<()> {
    replace_file(path, &wrap(magic, version, body))
}

/// Writes `bytes` to `path` through a temp file, fsync and rename.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("path {path:?} has no file name")))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, path).map_err(io_err(path))?;
        // Persist the rename itself; not every platform lets a directory be opened.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Reads `path`, checks magic, version, length and checksum, and returns the body.
pub fn read_checked(path: &Path, magic: &[u8; 8], version: u32) -> Result<Vec<u8>> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let body = unwrap(&bytes, magic, version).map_err(|e| at_path(e, path))?;
    Ok(body.to_vec())
}

/// Checks the envelope of `bytes` held in memory (magic, version, length, checksum) and returns
/// the body; damage is [`Error::CorruptData`] saying what is wrong.
pub fn unwrap<'a>(bytes: &'a [u8], magic: &[u8; 8], version: u32) -> Result<&'a [u8]> {
    let corrupt = |reason: String| Error::CorruptData(reason);
    if bytes.len() < HEADER_LEN + FOOTER_LEN {
        return Err(corrupt(format!("file is too short ({} bytes)", bytes.len())));
    }
    if &bytes[..8] != magic {
        return Err(corrupt(format!(
            "bad magic {:?}, expected {:?}",
            String::from_utf8_lossy(&bytes[..8]),
            String::from_utf8_lossy(magic)
        )));
    }
    let found_version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if found_version != version {
        return Err(corrupt(format!("unsupported version {found_version}, expected {version}")));
    }
    let body_len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    // A crafted length must not overflow: no real file is that long.
    let expected_len = body_len.checked_add((HEADER_LEN + FOOTER_LEN) as u64);
    if expected_len != Some(bytes.len() as u64) {
        let expected_len = expected_len.map_or("more than 2^64".to_string(), |n| n.to_string());
        return Err(corrupt(format!(
            "length mismatch: file has {} bytes, header says {expected_len}",
            bytes.len()
        )));
    }
    let split = bytes.len() - FOOTER_LEN;
    let stored = u32::from_le_bytes(bytes[split..].try_into().expect("4 bytes"));
    if crc32fast::hash(&bytes[..split]) != stored {
        return Err(corrupt("checksum mismatch".to_string()));
    }
    Ok(&bytes[HEADER_LEN..split])
}

/// A decoding error re-reported as [`Error::CorruptFile`] naming `path`.
pub fn at_path(e: Error, path: &Path) -> Error {
    Error::CorruptFile {
        path: path.to_path_buf(),
        reason: match e {
            Error::CorruptData(r) | Error::InvalidArgument(r) => r,
            other => other.to_string(),
        },
    }
}

/// Reads `path` with [`read_checked`] and decodes its body with `decode`; a body that does not
/// decode is reported as [`Error::CorruptFile`] naming the file, like any other damage.
pub fn load_checked<T>(
    path: &Path,
    magic: &[u8; 8],
    version: u32,
    decode: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    let body = read_checked(path, magic, version)?;
    decode(&body).map_err(|e| at_path(e, path))
}

/// Appends little-endian values to a byte buffer.
#[derive(Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// Appends a `u32`.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a `u64`.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends an `f32`.
    pub fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a length-prefixed byte string.
    pub fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(v);
    }
    /// Appends a length-prefixed slice of `u32`.
    pub fn u32s(&mut self, v: &[u32]) {
        self.u64(v.len() as u64);
        for x in v {
            self.u32(*x);
        }
    }
    /// Appends a length-prefixed slice of `f32`.
    pub fn f32s(&mut self, v: &[f32]) {
        self.u64(v.len() as u64);
        for x in v {
            self.f32(*x);
        }
    }
}

/// Reads little-endian values back, failing with [`Error::CorruptData`] past the end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end =
            self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| {
                Error::CorruptData(format!("truncated body at byte {}", self.pos))
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    /// Reads a `u32`.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    /// Reads a `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    /// Reads an `f32`.
    pub fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    /// Reads a length, refusing one larger than the bytes left (`unit` bytes per item).
    pub fn len(&mut self, unit: usize) -> Result<usize> {
        let n = self.u64()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(unit as u64) > left {
            return Err(Error::CorruptData(format!("length {n} exceeds the {left} bytes left")));
        }
        Ok(n as usize)
    }
    /// Reads a length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len(1)?;
        self.take(n)
    }
    /// Reads a length-prefixed slice of `u32`.
    pub fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len(4)?;
        let raw = self.take(n * 4)?;
        Ok(raw.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4"))).collect())
    }
    /// Reads a length-prefixed slice of `f32`.
    pub fn f32s(&mut self) -> Result<Vec<f32>> {
        let n = self.len(4)?;
        let raw = self.take(n * 4)?;
        Ok(raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))).collect())
    }
    /// True when every byte has been read.
    pub fn is_done(&self) -> bool {
        self.pos == self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"FMTEST\0\x01";

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ferromem-snap-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn round_trip_and_every_single_byte_flip_is_caught() {
        let path = tmp("rt.bin");
        write_atomic(&path, MAGIC, 3, b"hello body").unwrap();
        assert_eq!(read_checked(&path, MAGIC, 3).unwrap(), b"hello body");
        let good = fs::read(&path).unwrap();
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            fs::write(&path, &bad).unwrap();
            assert!(read_checked(&path, MAGIC, 3).is_err(), "flip at byte {i} went unnoticed");
        }
        fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(matches!(read_checked(&path, MAGIC, 3), Err(Error::CorruptFile { .. })));
    }

    #[test]
    fn a_crafted_body_length_is_refused_without_overflow() {
        // Found by the reliability suite: a body length near u64::MAX overflowed the expected
        // file length (a panic in debug builds, a wrapped comparison in release).
        let path = tmp("len.bin");
        write_atomic(&path, MAGIC, 3, b"hello body").unwrap();
        let mut bad = fs::read(&path).unwrap();
        for len in [u64::MAX, u64::MAX - 10, u64::MAX - 23] {
            bad[12..20].copy_from_slice(&len.to_le_bytes());
            assert!(unwrap(&bad, MAGIC, 3).is_err());
        }
    }

    #[test]
    fn wrong_version_is_named() {
        let path = tmp("ver.bin");
        write_atomic(&path, MAGIC, 2, b"x").unwrap();
        let err = read_checked(&path, MAGIC, 3).unwrap_err().to_string();
        assert!(err.contains("version 2"), "{err}");
    }

    #[test]
    fn reader_refuses_lengths_past_the_end() {
        let mut w = Writer::default();
        w.u64(u64::MAX);
        assert!(Reader::new(&w.buf).bytes().is_err());
        let mut w = Writer::default();
        w.u32s(&[1, 2, 3]);
        w.f32s(&[0.5]);
        w.bytes(b"ab");
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.u32s().unwrap(), vec![1, 2, 3]);
        assert_eq!(r.f32s().unwrap(), vec![0.5]);
        assert_eq!(r.bytes().unwrap(), b"ab");
        assert!(r.is_done());
    }
}
