//! The row format of the SQLite store, sealed and opened in bulk.
//!
//! Every column of a row is covered by a CRC-32: the row's associated data (store id, key, id,
//! session, role, timestamp, importance, flags, unambiguously encoded) followed by each stored
//! part (text, metadata, vector) marked present or absent. This module computes exactly what
//! `python/ferromem/stores/sqlite_codec.py` computes (which keeps the encrypted mode), for the
//! plain and compressed modes, so that a batch costs a pass in Rust instead of Python per row.

use std::io::Read;

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use rayon::prelude::*;

use crate::error::{Error, Result};

/// Bit of `flags`: the text is zlib-compressed.
pub const COMPRESSED: u8 = 1;
/// Bit of `flags`: the parts are encrypted (never set by this module).
pub const ENCRYPTED: u8 = 2;
/// Texts shorter than this are stored plain: they do not shrink.
pub const MIN_COMPRESS_BYTES: usize = 96;
/// The largest text a compressed row may expand to (a crafted row cannot make us allocate more).
pub const MAX_TEXT_BYTES: u64 = 1 << 30;
const BATCH_IN_PARALLEL: usize = 512;

/// The columns of one row that are not sealed.
#[derive(Clone, Copy, Debug)]
pub struct RowHead<'a> {
    /// The row's key.
    pub key: i64,
    /// The message id.
    pub id: &'a str,
    /// The session as stored.
    pub session: &'a str,
    /// The role.
    pub role: &'a str,
    /// UTC epoch seconds.
    pub timestamp: f64,
    /// The importance, if any.
    pub importance: Option<f64>,
}

fn push_text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The associated data of a row.
pub fn row_ad(store_id: &[u8], head: &RowHead<'_>, flags: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        store_id.len() + 8 + 12 + head.id.len() + head.session.len() + head.role.len() + 18,
    );
    out.extend_from_slice(store_id);
    out.extend_from_slice(&head.key.to_le_bytes());
    push_text(&mut out, head.id);
    push_text(&mut out, head.session);
    push_text(&mut out, head.role);
    out.extend_from_slice(&head.timestamp.to_le_bytes());
    out.push(u8::from(head.importance.is_some()));
    out.extend_from_slice(&head.importance.unwrap_or(0.0).to_le_bytes());
    out.push(flags);
    out
}

/// The CRC-32 of a row: its associated data, then each part marked present (1) or absent (0).
pub fn row_check(ad: &[u8], parts: &[Option<&[u8]>]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(ad);
    for part in parts {
        match part {
            None => h.update(&[0]),
            Some(p) => {
                h.update(&[1]);
                h.update(p);
            }
        }
    }
    h.finalize()
}

/// One message to store: its head and the parts before sealing.
#[derive(Clone, Copy, Debug)]
pub struct RowIn<'a> {
    /// The unsealed columns.
    pub head: RowHead<'a>,
    /// The text.
    pub content: &'a str,
    /// The metadata as JSON.
    pub metadata: &'a str,
    /// The vector's bytes, if any.
    pub vector: Option<&'a [u8]>,
}

/// What is stored for a message: the text bytes, the flags and the row's CRC (metadata and
/// vector are stored as given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowOut {
    /// The (possibly compressed) text.
    pub body: Vec<u8>,
    /// [`COMPRESSED`] or 0.
    pub flags: u8,
    /// The CRC-32 over every column.
    pub crc: u32,
}

fn seal_one(store_id: &[u8], row: &RowIn<'_>, compress: bool) -> Result<RowOut> {
    let text = row.content.as_bytes();
    let (body, flags) = if compress && text.len() >= MIN_COMPRESS_BYTES {
        let mut enc = ZlibEncoder::new(Vec::with_capacity(text.len() / 2), Compression::new(6));
        std::io::Write::write_all(&mut enc, text).map_err(Error::Stream)?;
        let packed = enc.finish().map_err(Error::Stream)?;
        if packed.len() < text.len() {
            (packed, COMPRESSED)
        } else {
            (text.to_vec(), 0)
        }
    } else {
        (text.to_vec(), 0)
    };
    let ad = row_ad(store_id, &row.head, flags);
    let crc = row_check(&ad, &[Some(&body), Some(row.metadata.as_bytes()), row.vector]);
    Ok(RowOut { body, flags, crc })
}

/// Seals a batch of rows (on all cores when it is large).
pub fn seal_rows(store_id: &[u8], rows: &[RowIn<'_>], compress: bool) -> Result<Vec<RowOut>> {
    if rows.len() >= BATCH_IN_PARALLEL {
        rows.par_iter().map(|r| seal_one(store_id, r, compress)).collect()
    } else {
        rows.iter().map(|r| seal_one(store_id, r, compress)).collect()
    }
}

/// A stored row, as read back.
#[derive(Clone, Copy, Debug)]
pub struct RowStored<'a> {
    /// The unsealed columns.
    pub head: RowHead<'a>,
    /// The stored text bytes.
    pub body: &'a [u8],
    /// The stored flags.
    pub flags: i64,
    /// The stored metadata bytes.
    pub metadata: &'a [u8],
    /// The stored vector bytes.
    pub vector: Option<&'a [u8]>,
    /// The stored CRC.
    pub crc: i64,
}

/// A row's text and metadata once checked and opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowOpened {
    /// The text.
    pub content: String,
    /// The metadata JSON.
    pub metadata: String,
}

fn damaged(row: &RowStored<'_>, what: &str) -> Error {
    Error::CorruptData(format!("message {:?} (key {}) {what}", row.head.id, row.head.key))
}

fn open_one(store_id: &[u8], row: &RowStored<'_>) -> Result<RowOpened> {
    let flags = u8::try_from(row.flags).map_err(|_| damaged(row, "has impossible flags"))?;
    if flags & !COMPRESSED != 0 {
        return Err(damaged(row, "has flags this store cannot open (encrypted?)"));
    }
    let ad = row_ad(store_id, &row.head, flags);
    let crc = row_check(&ad, &[Some(row.body), Some(row.metadata), row.vector]);
    if i64::from(crc) != row.crc {
        return Err(damaged(row, "fails its checksum (damaged or changed)"));
    }
    let text = if flags & COMPRESSED != 0 {
        let mut out = Vec::new();
        ZlibDecoder::new(row.body)
            .take(MAX_TEXT_BYTES + 1)
            .read_to_end(&mut out)
            .map_err(|e| damaged(row, &format!("does not decompress: {e}")))?;
        if out.len() as u64 > MAX_TEXT_BYTES {
            return Err(damaged(row, "expands beyond 1 GiB"));
        }
        out
    } else {
        row.body.to_vec()
    };
    let content =
        String::from_utf8(text).map_err(|_| damaged(row, "has a text that is not UTF-8"))?;
    let metadata = String::from_utf8(row.metadata.to_vec())
        .map_err(|_| damaged(row, "has metadata that is not UTF-8"))?;
    Ok(RowOpened { content, metadata })
}

/// Checks and opens a batch of rows (on all cores when it is large); the first damaged row is
/// reported, naming its id and key.
pub fn open_rows(store_id: &[u8], rows: &[RowStored<'_>]) -> Result<Vec<RowOpened>> {
    if rows.len() >= BATCH_IN_PARALLEL {
        rows.par_iter().map(|r| open_one(store_id, r)).collect()
    } else {
        rows.iter().map(|r| open_one(store_id, r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(key: i64) -> RowHead<'static> {
        RowHead {
            key,
            id: "m1",
            session: "s",
            role: "user",
            timestamp: 1.5,
            importance: Some(0.25),
        }
    }

    #[test]
    fn sealed_rows_open_and_any_change_is_caught() {
        let long = "hello world ".repeat(40);
        let rows: Vec<RowIn<'_>> = [false, true]
            .iter()
            .map(|_| RowIn { head: head(7), content: &long, metadata: "{}", vector: Some(&[1, 2]) })
            .collect();
        for compress in [false, true] {
            let sealed = seal_rows(b"0123456789abcdef", &rows, compress).unwrap();
            assert_eq!(sealed[0].flags, u8::from(compress));
            let stored = RowStored {
                head: head(7),
                body: &sealed[0].body,
                flags: i64::from(sealed[0].flags),
                metadata: b"{}",
                vector: Some(&[1, 2]),
                crc: i64::from(sealed[0].crc),
            };
            let opened = open_rows(b"0123456789abcdef", &[stored]).unwrap();
            assert_eq!(opened[0].content, long);
            for changed in [
                RowStored { head: head(8), ..stored },
                RowStored { head: RowHead { session: "t", ..head(7) }, ..stored },
                RowStored { head: RowHead { importance: None, ..head(7) }, ..stored },
                RowStored { metadata: b"{\"a\":1}", ..stored },
                RowStored { vector: None, ..stored },
                RowStored { crc: stored.crc ^ 1, ..stored },
                RowStored { flags: 2, ..stored },
                RowStored { flags: 1 << 40, ..stored },
            ] {
                assert!(open_rows(b"0123456789abcdef", &[changed]).is_err());
            }
        }
    }

    #[test]
    fn a_crafted_compressed_row_cannot_blow_up() {
        let bomb = {
            let mut enc = ZlibEncoder::new(Vec::new(), Compression::new(9));
            std::io::Write::write_all(&mut enc, &vec![b'a'; 4 << 20]).unwrap();
            enc.finish().unwrap()
        };
        let ad = row_ad(b"id", &head(1), COMPRESSED);
        let crc = row_check(&ad, &[Some(&bomb), Some(b"{}"), None]);
        let row = RowStored {
            head: head(1),
            body: &bomb,
            flags: 1,
            metadata: b"{}",
            vector: None,
            crc: i64::from(crc),
        };
        // A 4 MiB expansion is fine (under the cap); garbage is an error, not a panic.
        assert_eq!(open_rows(b"id", &[row]).unwrap()[0].content.len(), 4 << 20);
        let junk = RowStored { body: b"\x78\x9c\xff\xff", ..row };
        let ad = row_ad(b"id", &head(1), COMPRESSED);
        let crc = row_check(&ad, &[Some(junk.body), Some(b"{}"), None]);
        assert!(open_rows(b"id", &[RowStored { crc: i64::from(crc), ..junk }]).is_err());
    }
}
