//! `BlockStore`: messages kept in compressed blocks of a few dozen, any one of which comes back
//! by id or key after decompressing only its own block.
//!
//! A block is one standard frame of the store's codec over a columnar body (see `body.rs`).
//! Each key (the caller's number for a message, e.g. its keyword-index id) maps to
//! `block << 8 | slot` (see `locations.rs`); ids map to keys through [`IdMap`]. A block that
//! fails to decode reports `CorruptData` naming itself, and only for its own messages.

use super::body::{check_body, decode_slot, encode, read_u32};
use super::codec::{Codec, Compressor, Decompressor};
use super::idmap::IdMap;
use super::locations::{location, Locations};
use crate::error::{Error, Result};

/// At most this many messages per block (the slot is 8 bits of a location).
pub const MAX_BLOCK_LEN: usize = 255;
/// Keys must be below this (it marks a key with no message).
const KEY_LIMIT: u64 = u32::MAX as u64;
/// Blocks are numbered below this (24 bits of a location).
const BLOCK_LIMIT: u32 = 1 << 24;
/// A block body (lengths are stored in 32 bits) holds less text than this.
const MAX_BODY_TEXT: usize = u32::MAX as usize - (1 << 16);
const CACHED_BLOCKS: usize = 4;

/// One message as the caller hands it in (borrowed).
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The caller's key, below `u32::MAX` (dense small integers keep the location table small).
    pub key: u64,
    /// The message id (unique in the store).
    pub id: &'a str,
    /// The message role.
    pub role: &'a str,
    /// The message text.
    pub content: &'a str,
    /// The message metadata, already serialised by the caller (e.g. JSON; empty for none).
    pub metadata: &'a str,
    /// UTC epoch seconds.
    pub timestamp: f64,
    /// Importance, NaN for none.
    pub importance: f64,
}

/// One message as decoded from a block.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedRecord {
    /// The caller's key.
    pub key: u64,
    /// The message id.
    pub id: String,
    /// The message role.
    pub role: String,
    /// The message text.
    pub content: String,
    /// The serialised metadata.
    pub metadata: String,
    /// UTC epoch seconds.
    pub timestamp: f64,
    /// Importance, NaN for none.
    pub importance: f64,
}

struct Block {
    frame: Box<[u8]>,
    level: i32,
    with_dictionary: bool,
    live: u16,
    raw_len: u32,
}

/// Compressed blocks of messages with an id map and a small cache of decoded blocks.
pub struct BlockStore {
    codec: Codec,
    level: i32,
    dictionary: Option<Vec<u8>>,
    compressor: Compressor,
    decompressor: Decompressor,
    plain_decompressor: Decompressor,
    blocks: Vec<Option<Block>>,
    locations: Locations,
    ids: IdMap,
    cache: Vec<(u32, Vec<u8>)>,
    raw_bytes: u64,
}

impl BlockStore {
    /// An empty store compressing with `codec` at `level`.
    pub fn new(codec: Codec, level: i32) -> Result<Self> {
        Ok(BlockStore {
            codec,
            level,
            dictionary: None,
            compressor: Compressor::new(codec, level, None)?,
            decompressor: Decompressor::new(codec, None)?,
            plain_decompressor: Decompressor::new(codec, None)?,
            blocks: Vec::new(),
            locations: Locations::default(),
            ids: IdMap::default(),
            cache: Vec::new(),
            raw_bytes: 0,
        })
    }

    /// The codec blocks are written with.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The level new blocks are written at.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// The dictionary new blocks use, if one was set.
    pub fn dictionary(&self) -> Option<&[u8]> {
        self.dictionary.as_deref()
    }

    /// Uses `dictionary` from now on and recompresses every readable block with it (a block
    /// that no longer decodes is left as it is, still reporting its damage). A store takes one
    /// dictionary for life, so that every block stays readable with what it holds.
    pub fn set_dictionary(&mut self, dictionary: Vec<u8>) -> Result<()> {
        if self.dictionary.is_some() {
            return Err(Error::invalid("dictionary is already set; a store keeps its first one"));
        }
        let compressor = Compressor::new(self.codec, self.level, Some(&dictionary))?;
        self.decompressor = Decompressor::new(self.codec, Some(&dictionary))?;
        self.compressor = compressor;
        self.dictionary = Some(dictionary);
        self.cache.clear();
        for b in 0..self.blocks.len() {
            let Some(block) = &self.blocks[b] else { continue };
            let level = block.level;
            if let Ok(body) = self.plain_decompressor.decompress(&block.frame) {
                self.rewrite(b as u32, &body, level)?;
            }
        }
        Ok(())
    }

    /// Uses `dictionary` from now on in place of the one set before (a larger one once the
    /// store has grown), recompressing every readable block with it at its own level. All or
    /// nothing: on an error nothing changes. A block that no longer decodes is left as it is
    /// and keeps reporting its damage.
    pub fn replace_dictionary(&mut self, dictionary: Vec<u8>) -> Result<()> {
        if self.dictionary.is_none() {
            return self.set_dictionary(dictionary);
        }
        let mut compressors: Vec<(i32, Compressor)> =
            vec![(self.level, Compressor::new(self.codec, self.level, Some(&dictionary))?)];
        let decompressor = Decompressor::new(self.codec, Some(&dictionary))?;
        let mut frames: Vec<(usize, Vec<u8>)> = Vec::new();
        for (b, block) in self.blocks.iter().enumerate() {
            let Some(block) = block else { continue };
            let d = if block.with_dictionary {
                &mut self.decompressor
            } else {
                &mut self.plain_decompressor
            };
            let Ok(body) = d.decompress(&block.frame) else { continue };
            let c = match compressors.iter().position(|(l, _)| *l == block.level) {
                Some(i) => i,
                None => {
                    let c = Compressor::new(self.codec, block.level, Some(&dictionary))?;
                    compressors.push((block.level, c));
                    compressors.len() - 1
                }
            };
            frames.push((b, compressors[c].1.compress(&body)?));
        }
        let (_, compressor) = compressors.swap_remove(0);
        self.compressor = compressor;
        self.decompressor = decompressor;
        self.dictionary = Some(dictionary);
        self.cache.clear();
        for (b, frame) in frames {
            if let Some(Some(block)) = self.blocks.get_mut(b) {
                block.frame = frame.into_boxed_slice();
                block.with_dictionary = true;
            }
        }
        Ok(())
    }

    /// Compresses `records` into a new block and returns its number.
    ///
    /// Ids must be new to the store and keys must be below `u32::MAX`; at most
    /// [`MAX_BLOCK_LEN`] records per block.
    pub fn add_block(&mut self, records: &[Record<'_>]) -> Result<u32> {
        self.check_new(records, 0)?;
        let block = u32::try_from(self.blocks.len())
            .ok()
            .filter(|&b| b < BLOCK_LIMIT)
            .ok_or_else(|| Error::invalid("the store is full (2^24 blocks)"))?;
        let body = encode(records);
        let frame = self.compressor.compress(&body)?;
        self.raw_bytes += body.len() as u64;
        self.blocks.push(Some(Block {
            frame: frame.into_boxed_slice(),
            level: self.level,
            with_dictionary: self.dictionary.is_some(),
            live: records.len() as u16,
            raw_len: body.len() as u32,
        }));
        self.place(block, records, 0, true);
        Ok(block)
    }

    /// Appends `records` to an existing `block` by rewriting it; returns how many messages it
    /// then holds. Its live messages keep their keys and ids; removed ones are gone for good.
    /// A damaged block is `CorruptData` and is left as it is.
    pub fn extend_block(&mut self, block: u32, records: &[Record<'_>]) -> Result<usize> {
        if !matches!(self.blocks.get(block as usize), Some(Some(_))) {
            return Err(Error::invalid(format!("block {block} does not exist")));
        }
        let old = self.block_records(block)?;
        self.check_new(records, old.len())?;
        let mut all: Vec<Record<'_>> = old
            .iter()
            .map(|r| Record {
                key: r.key,
                id: &r.id,
                role: &r.role,
                content: &r.content,
                metadata: &r.metadata,
                timestamp: r.timestamp,
                importance: r.importance,
            })
            .collect();
        all.extend_from_slice(records);
        let body = encode(&all);
        let frame = self.compressor.compress(&body)?;
        if let Some(Some(b)) = self.blocks.get_mut(block as usize) {
            self.raw_bytes = self.raw_bytes - u64::from(b.raw_len) + body.len() as u64;
            b.frame = frame.into_boxed_slice();
            b.level = self.level;
            b.with_dictionary = self.dictionary.is_some();
            b.live = all.len() as u16;
            b.raw_len = body.len() as u32;
        }
        self.cache.retain(|(c, _)| *c != block);
        let kept = old.len();
        self.place(block, &all[..kept], 0, false);
        self.place(block, records, kept, true);
        Ok(all.len())
    }

    /// Refuses records that would overflow a block already holding `held`, reuse a stored id
    /// or carry a key out of range.
    fn check_new(&mut self, records: &[Record<'_>], held: usize) -> Result<()> {
        if records.is_empty() || held + records.len() > MAX_BLOCK_LEN {
            return Err(Error::invalid(format!(
                "records must hold 1..={} messages, got {}",
                MAX_BLOCK_LEN - held,
                records.len()
            )));
        }
        for r in records {
            if r.key >= KEY_LIMIT {
                return Err(Error::invalid(format!("key must be < {KEY_LIMIT}, got {}", r.key)));
            }
            if self.live_location(r.key as u32).is_some() {
                return Err(Error::invalid(format!("key {} is already stored", r.key)));
            }
            // A hash hit may be another id's: confirm against its block before refusing (a
            // damaged block cannot confirm, and must not stop an unrelated write).
            if self.get_key_of(r.id).is_some() && matches!(self.get_id(r.id), Ok(Some(_))) {
                return Err(Error::invalid(format!("id {:?} is already stored", r.id)));
            }
        }
        let mut keys: Vec<u64> = records.iter().map(|r| r.key).collect();
        keys.sort_unstable();
        if let Some(k) = keys.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::invalid(format!("key {} appears twice in records", k[0])));
        }
        let mut ids: Vec<&str> = records.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::invalid(format!("id {:?} appears twice in records", w[0])));
        }
        let text: usize = records
            .iter()
            .map(|r| r.id.len() + r.role.len() + r.metadata.len() + r.content.len())
            .sum();
        if text >= MAX_BODY_TEXT {
            return Err(Error::invalid(format!(
                "records hold {text} bytes of text; a block holds less than {MAX_BODY_TEXT}"
            )));
        }
        Ok(())
    }

    /// Points the keys of `records` at their slots (from `first_slot`), entering their ids in
    /// the id map when they are `new` (not when a block is rewritten around them).
    fn place(&mut self, block: u32, records: &[Record<'_>], first_slot: usize, new: bool) {
        for (i, r) in records.iter().enumerate() {
            // `check_new` kept keys below u32::MAX.
            self.locations.set(r.key as u32, location(block, first_slot + i));
            if new {
                self.ids.insert(r.id, r.key as u32);
            }
        }
    }

    fn get_key_of(&self, id: &str) -> Option<u32> {
        self.ids.get(id).filter(|&k| self.live_location(k).is_some())
    }

    fn live_location(&self, key: u32) -> Option<u32> {
        let loc = self.locations.get(key)?;
        self.blocks.get((loc >> 8) as usize)?.as_ref().map(|_| loc)
    }

    /// The body of `block`, decoded (served from the cache when recently used).
    fn body(&mut self, block: u32) -> Result<&[u8]> {
        if let Some(i) = self.cache.iter().position(|(b, _)| *b == block) {
            let hit = self.cache.remove(i);
            self.cache.insert(0, hit);
            return Ok(&self.cache[0].1);
        }
        let Some(Some(b)) = self.blocks.get(block as usize) else {
            return Err(Error::invalid(format!("block {block} does not exist")));
        };
        let d =
            if b.with_dictionary { &mut self.decompressor } else { &mut self.plain_decompressor };
        let body = d.decompress(&b.frame).map_err(|e| damaged(block, &e.to_string()))?;
        check_body(&body).map_err(|e| damaged(block, &e))?;
        self.cache.truncate(CACHED_BLOCKS - 1);
        self.cache.insert(0, (block, body));
        Ok(&self.cache[0].1)
    }

    /// The message stored under `key`, with its block number; `None` if absent.
    pub fn get(&mut self, key: u64) -> Result<Option<(u32, OwnedRecord)>> {
        let Some(loc) = u32::try_from(key).ok().and_then(|k| self.live_location(k)) else {
            return Ok(None);
        };
        let (block, slot) = (loc >> 8, (loc & 0xFF) as usize);
        let body = self.body(block)?;
        let record = decode_slot(body, slot).map_err(|e| damaged(block, &e))?;
        // A frame that decodes may still not be the one the store wrote here (a frame restored
        // from elsewhere): its keys must not index the store's tables.
        if record.key != key {
            return Err(damaged(
                block,
                &format!("slot {slot} holds key {}, not {key}", record.key),
            ));
        }
        Ok(Some((block, record)))
    }

    /// The message with this `id`, with its block number; `None` if absent.
    pub fn get_id(&mut self, id: &str) -> Result<Option<(u32, OwnedRecord)>> {
        let Some(key) = self.get_key_of(id) else { return Ok(None) };
        Ok(self.get(u64::from(key))?.filter(|(_, r)| r.id == id))
    }

    /// The key of the message with this `id`, confirmed against the block; `None` if absent.
    pub fn key_of(&mut self, id: &str) -> Result<Option<u64>> {
        Ok(self.get_id(id)?.map(|(_, r)| r.key))
    }

    /// The live messages of `block`, in the order they were added.
    pub fn block_records(&mut self, block: u32) -> Result<Vec<OwnedRecord>> {
        if !matches!(self.blocks.get(block as usize), Some(Some(_))) {
            return Ok(Vec::new());
        }
        let body = self.body(block)?.to_vec();
        let n = read_u32(&body, 0).unwrap_or(0) as usize;
        let mut out = Vec::with_capacity(n);
        for slot in 0..n {
            let r = decode_slot(&body, slot).map_err(|e| damaged(block, &e))?;
            let key = u32::try_from(r.key).ok();
            if key.and_then(|k| self.locations.get(k)) == Some(location(block, slot)) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Removes the messages with these ids; returns the keys of those that were stored.
    pub fn remove_ids(&mut self, ids: &[&str]) -> Result<Vec<u64>> {
        let mut removed = Vec::new();
        for id in ids {
            let Some((block, r)) = self.get_id(id)? else { continue };
            // `get` checked that the key is the one looked up, so it is in range.
            self.ids.remove(id, r.key as u32);
            self.locations.clear(r.key as u32);
            removed.push(r.key);
            if let Some(Some(b)) = self.blocks.get_mut(block as usize) {
                b.live = b.live.saturating_sub(1);
                if b.live == 0 {
                    self.drop_block(block);
                }
            }
        }
        Ok(removed)
    }

    /// Drops a whole block and forgets its messages; returns the keys it held (none when the
    /// block no longer decodes: its ids then simply stop resolving).
    pub fn drop_block(&mut self, block: u32) -> Vec<u64> {
        let records = self.block_records(block).unwrap_or_default();
        for r in &records {
            // `block_records` kept only records whose key points back at their slot.
            self.ids.remove(&r.id, r.key as u32);
            self.locations.clear(r.key as u32);
        }
        if let Some(slot) = self.blocks.get_mut(block as usize) {
            if let Some(b) = slot.take() {
                self.raw_bytes = self.raw_bytes.saturating_sub(u64::from(b.raw_len));
            }
        }
        self.cache.retain(|(b, _)| *b != block);
        records.into_iter().map(|r| r.key).collect()
    }

    /// Recompresses `block` at `level` (e.g. the codec's maximum when memory runs short).
    pub fn recompress(&mut self, block: u32, level: i32) -> Result<()> {
        let level = self.codec.check_level(level)?;
        let body = self.body(block)?.to_vec();
        self.rewrite(block, &body, level)
    }

    fn rewrite(&mut self, block: u32, body: &[u8], level: i32) -> Result<()> {
        let frame = if level == self.level {
            self.compressor.compress(body)?
        } else {
            Compressor::new(self.codec, level, self.dictionary.as_deref())?.compress(body)?
        };
        if let Some(Some(b)) = self.blocks.get_mut(block as usize) {
            b.frame = frame.into_boxed_slice();
            b.level = level;
            b.with_dictionary = self.dictionary.is_some();
        }
        Ok(())
    }

    /// The level `block` is compressed at, if it exists.
    pub fn block_level(&self, block: u32) -> Option<i32> {
        self.blocks.get(block as usize)?.as_ref().map(|b| b.level)
    }

    /// The compressed frame of `block`, if it exists (for inspection and persistence).
    pub fn frame(&self, block: u32) -> Option<&[u8]> {
        self.blocks.get(block as usize)?.as_ref().map(|b| &*b.frame)
    }

    /// Replaces the frame of `block` (restoring a saved store; tests use it to simulate damage).
    pub fn replace_frame(&mut self, block: u32, frame: Vec<u8>) -> Result<()> {
        match self.blocks.get_mut(block as usize) {
            Some(Some(b)) => {
                b.frame = frame.into_boxed_slice();
                self.cache.retain(|(c, _)| *c != block);
                Ok(())
            }
            _ => Err(Error::invalid(format!("block {block} does not exist"))),
        }
    }

    /// Blocks that still hold messages.
    pub fn live_blocks(&self) -> usize {
        self.blocks.iter().filter(|b| b.is_some()).count()
    }

    /// Messages held in blocks.
    pub fn len(&self) -> usize {
        self.blocks.iter().flatten().map(|b| b.live as usize).sum()
    }

    /// Whether no message is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total size of the compressed frames.
    pub fn compressed_bytes(&self) -> usize {
        self.blocks.iter().flatten().map(|b| b.frame.len()).sum()
    }

    /// Uncompressed size of the live blocks' bodies (for the ratio).
    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Everything the store holds: frames, block table, locations, id map, dictionary, cache
    /// and the prepared (de)compression contexts' dictionary copies.
    pub fn memory_usage_bytes(&self) -> usize {
        let dict = self.dictionary.as_ref().map_or(0, |d| d.len());
        self.compressed_bytes()
            + self.blocks.capacity() * std::mem::size_of::<Option<Block>>()
            + self.locations.memory_usage_bytes()
            + self.ids.memory_usage_bytes()
            + self.cache.iter().map(|(_, b)| b.capacity() + 32).sum::<usize>()
            // The dictionary itself, plus the digested copies zstd keeps for each direction.
            + dict * 3
    }
}

fn damaged(block: u32, reason: &str) -> Error {
    Error::CorruptData(format!("block {block} is damaged: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_that_shares_a_hash_with_a_stored_one_is_not_found() {
        let (a, b) = super::super::idmap::colliding_ids();
        let record = |key, id| Record {
            key,
            id,
            role: "user",
            content: "hello",
            metadata: "",
            timestamp: 0.0,
            importance: f64::NAN,
        };
        let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
        store.add_block(&[record(0, &a)]).unwrap();
        assert_eq!(store.get_id(&b).unwrap(), None);
        store.add_block(&[record(1, &b)]).unwrap();
        assert_eq!(store.get_id(&a).unwrap().unwrap().1.key, 0);
        assert_eq!(store.get_id(&b).unwrap().unwrap().1.key, 1);
        assert_eq!(store.remove_ids(&[&b]).unwrap(), vec![1]);
        assert_eq!(store.get_id(&a).unwrap().unwrap().1.key, 0);
    }
}
