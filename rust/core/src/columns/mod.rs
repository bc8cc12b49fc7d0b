//! Messages kept column by column: the in-process store's truth, compact enough for millions.
//!
//! Each message is a **row**. Its text, id and encoded metadata sit back to back in one byte
//! arena (`[varint content len][varint id code][varint metadata len][content][id][metadata]`),
//! chunked so that it grows without copying (a copy would leave the old block as a hole the
//! allocator keeps: measured, it cost half the text again in RSS); timestamps,
//! importances, interned sessions and roles are fixed-width columns. Ids made of lowercase hex
//! (the generated ones) are stored as packed nibbles, half their size. Removal leaves a
//! tombstone (the session column set to [`GONE`]): rows never move, so a row index is stable.
//!
//! Rows are addressed by **key** (the store's never-reused integer). Keys normally equal row
//! indexes; a restore of a saved memory with gaps keeps a sorted key column instead.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use crate::error::{Error, Result};

pub mod ids;
#[cfg(test)]
mod tests;

/// The session column's mark of a removed row.
pub const GONE: u32 = u32::MAX;
/// The importance code of a message stored without one.
const NO_IMPORTANCE: u16 = u16::MAX;
/// The importance code of a value that is not a whole number of ten-thousandths.
const EXACT_IMPORTANCE: u16 = u16::MAX - 1;

/// The largest content, id or metadata (bytes) one message may hold (a record's offset in
/// its chunk is 32 bits).
pub const MAX_FIELD_BYTES: usize = (u32::MAX / 4) as usize;
/// Bytes per arena chunk.
const CHUNK: usize = 1 << 20;

/// One message to store (validated by the caller: non-empty role, session and id).
#[derive(Clone, Copy, Debug)]
pub struct NewRow<'a> {
    /// The message id (unique in the store).
    pub id: &'a str,
    /// The session it belongs to.
    pub session: &'a str,
    /// Who spoke.
    pub role: &'a str,
    /// The text.
    pub content: &'a str,
    /// UTC epoch seconds.
    pub timestamp: f64,
    /// Importance in [0, 1], if scored.
    pub importance: Option<f64>,
    /// The encoded metadata (empty: none); opaque to this module.
    pub meta: &'a [u8],
}

/// A stored message, borrowed from the columns; its id stays in stored form until asked for.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    id: (u64, &'a [u8]),
    /// The session's index (see [`Columns::session_name`]).
    pub session: u32,
    /// The role's index (see [`Columns::role_name`]).
    pub role: u32,
    /// The text.
    pub content: &'a str,
    /// UTC epoch seconds.
    pub timestamp: f64,
    /// Importance, if scored.
    pub importance: Option<f64>,
    /// The encoded metadata.
    pub meta: &'a [u8],
}

impl<'a> Row<'a> {
    /// The message id (decoded when it is stored packed).
    pub fn id(&self) -> std::borrow::Cow<'a, str> {
        decode_id(self.id.0, self.id.1)
    }

    /// Appends the message id to `out`: reading many rows then makes no allocation per row.
    pub fn push_id(&self, out: &mut String) {
        push_decoded_id(self.id.0, self.id.1, out);
    }
}

#[derive(Debug, Default)]
struct Session {
    name: String,
    /// Rows in insertion order (removed ones are skipped and swept now and then).
    rows: Vec<u32>,
    live: u32,
    /// The row with the latest (timestamp, id) so far: a row arriving before it makes the
    /// session unordered (listed sorted instead of in insertion order).
    newest: Option<u32>,
    unordered: bool,
    /// Position in the list of sessions (set when the session gains its first live row).
    stamp: u64,
}

/// The message columns; see the module docs.
#[derive(Debug, Default)]
pub struct Columns {
    /// Chunks of records; a record never spans two (a big one gets a chunk of its own).
    arena: Vec<Vec<u8>>,
    starts: Vec<u64>,
    timestamps: Vec<f64>,
    /// Importance as ten-thousandths (what the scorer makes), or [`NO_IMPORTANCE`], or
    /// [`EXACT_IMPORTANCE`] for any other value, kept exactly in `exact`.
    importances: Vec<u16>,
    exact: HashMap<u32, f64>,
    sessions_col: Vec<u32>,
    roles_col: Vec<u32>,
    /// Row -> key when keys are not row indexes (after a restore with gaps); sorted.
    keys: Option<Vec<u64>>,
    by_id: HashTable<u32>,
    hasher: DefaultHashBuilder,
    sessions: Vec<Session>,
    session_ids: HashMap<String, u32>,
    order: BTreeMap<u64, u32>,
    next_stamp: u64,
    roles: Vec<String>,
    role_ids: HashMap<String, u32>,
    live: usize,
    next_key: u64,
}

// ------------------------------------------------------------------ the arena's encodings
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// Whether an id is stored as packed nibbles: lowercase hex of even length (64 at most).
fn packable(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len().is_multiple_of(2)
        && b.len() <= 64
        && b.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

fn nibble(c: u8) -> u8 {
    if c.is_ascii_digit() {
        c - b'0'
    } else {
        c - b'a' + 10
    }
}

/// The stored form of an id: its code (length << 1 | packed) and bytes.
/// Calls `f` with an id's stored form: its code (length << 1 | packed) and bytes (packed on
/// the stack: no allocation per lookup or write).
fn with_encoded_id<R>(id: &str, f: impl FnOnce(u64, &[u8]) -> R) -> R {
    if packable(id) {
        let mut buf = [0u8; 32];
        let n = id.len() / 2;
        for (out, pair) in buf.iter_mut().zip(id.as_bytes().chunks_exact(2)) {
            *out = nibble(pair[0]) << 4 | nibble(pair[1]);
        }
        f(((n as u64) << 1) | 1, &buf[..n])
    } else {
        f((id.len() as u64) << 1, id.as_bytes())
    }
}

/// Appends the text of a stored id to `out`.
fn push_decoded_id(code: u64, bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    if code & 1 == 1 {
        out.reserve(bytes.len() * 2);
        for b in bytes {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    } else {
        // Only ever written from a &str.
        out.push_str(std::str::from_utf8(bytes).unwrap_or(""));
    }
}

fn decode_id(code: u64, bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if code & 1 == 1 {
        let mut s = String::with_capacity(bytes.len() * 2);
        push_decoded_id(code, bytes, &mut s);
        std::borrow::Cow::Owned(s)
    } else {
        // Only ever written from a &str.
        std::borrow::Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or(""))
    }
}

/// Orders two stored ids as their texts order. Packed ids of one length order as their bytes
/// (lowercase hex digits sort as their values); anything else is compared decoded.
fn cmp_ids(a: (u64, &[u8]), b: (u64, &[u8])) -> Ordering {
    if a.0 == b.0 && a.0 & 1 == 1 {
        a.1.cmp(b.1)
    } else {
        decode_id(a.0, a.1).cmp(&decode_id(b.0, b.1))
    }
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Where a row's parts sit in the arena.
struct Span {
    content: (usize, usize),
    id_code: u64,
    id: (usize, usize),
    meta: (usize, usize),
}

impl Columns {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn span(&self, row: u32) -> (&[u8], Span) {
        let (chunk, pos) = locate(self.starts[row as usize]);
        let buf = &self.arena[chunk];
        let mut pos = pos;
        let clen = get_varint(buf, &mut pos) as usize;
        let id_code = get_varint(buf, &mut pos);
        let mlen = get_varint(buf, &mut pos) as usize;
        let content = (pos, pos + clen);
        let id = (content.1, content.1 + (id_code >> 1) as usize);
        (buf, Span { content, id_code, id, meta: (id.1, id.1 + mlen) })
    }

    fn id_bytes(&self, row: u32) -> (u64, &[u8]) {
        id_at(&self.arena, &self.starts, row)
    }

    fn hash_id(&self, code: u64, bytes: &[u8]) -> u64 {
        self.hasher.hash_one((code, bytes))
    }

    // ------------------------------------------------------------------ lookups
    /// The row under `key`, if it is stored and not removed.
    pub fn row_of(&self, key: u64) -> Option<u32> {
        let row = match &self.keys {
            None => (key < self.starts.len() as u64).then_some(key as u32)?,
            Some(keys) => keys.binary_search(&key).ok()? as u32,
        };
        (self.sessions_col[row as usize] != GONE).then_some(row)
    }

    /// The key of a row.
    pub fn key_of(&self, row: u32) -> u64 {
        self.keys.as_ref().map_or(u64::from(row), |k| k[row as usize])
    }

    /// The live row holding message `id`.
    pub fn find(&self, id: &str) -> Option<u32> {
        with_encoded_id(id, |code, bytes| {
            let hash = self.hash_id(code, bytes);
            self.by_id.find(hash, |&row| self.id_bytes(row) == (code, bytes)).copied()
        })
    }

    /// A row's fields (the row must be live or at least once stored).
    pub fn row(&self, row: u32) -> Row<'_> {
        let (buf, s) = self.span(row);
        let r = row as usize;
        let importance = match self.importances[r] {
            NO_IMPORTANCE => None,
            EXACT_IMPORTANCE => self.exact.get(&row).copied(),
            k => Some(f64::from(k) / 10_000.0),
        };
        Row {
            id: (s.id_code, &buf[s.id.0..s.id.1]),
            session: self.sessions_col[r],
            role: self.roles_col[r],
            // Only ever written from a &str.
            content: std::str::from_utf8(&buf[s.content.0..s.content.1]).unwrap_or(""),
            timestamp: self.timestamps[r],
            importance,
            meta: &buf[s.meta.0..s.meta.1],
        }
    }

    /// A session's name.
    pub fn session_name(&self, session: u32) -> &str {
        &self.sessions[session as usize].name
    }

    /// A role's name.
    pub fn role_name(&self, role: u32) -> &str {
        &self.roles[role as usize]
    }

    /// How many sessions and roles were ever interned (their indexes are below these).
    pub fn interned(&self) -> (usize, usize) {
        (self.sessions.len(), self.roles.len())
    }

    /// Live messages in the store.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no message is stored.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The key the next stored message gets.
    pub fn next_key(&self) -> u64 {
        self.next_key
    }

    /// The index of a session with live messages.
    pub fn session_index(&self, name: &str) -> Option<u32> {
        let &s = self.session_ids.get(name)?;
        (self.sessions[s as usize].live > 0).then_some(s)
    }

    /// Live messages in a session.
    pub fn session_len(&self, name: &str) -> usize {
        self.session_index(name).map_or(0, |s| self.sessions[s as usize].live as usize)
    }

    /// Sessions with live messages, in the order they (last) gained their first message.
    pub fn session_list(&self) -> Vec<u32> {
        self.order.values().copied().collect()
    }

    /// Orders two rows by (timestamp, id); the ids are looked at only on a tie.
    fn chrono_cmp(&self, a: u32, b: u32) -> Ordering {
        let (ta, tb) = (self.timestamps[a as usize], self.timestamps[b as usize]);
        ta.partial_cmp(&tb)
            .unwrap_or(Ordering::Equal)
            .then_with(|| cmp_ids(self.id_bytes(a), self.id_bytes(b)))
    }

    fn before(&self, a: u32, b: u32) -> bool {
        self.chrono_cmp(a, b).is_lt()
    }

    /// A session's live rows in chronological order (timestamp, then id).
    pub fn session_rows(&self, name: &str) -> Vec<u32> {
        let Some(s) = self.session_index(name) else { return Vec::new() };
        let session = &self.sessions[s as usize];
        let mut rows: Vec<u32> = session
            .rows
            .iter()
            .copied()
            .filter(|&r| self.sessions_col[r as usize] != GONE)
            .collect();
        if session.unordered {
            rows.sort_by(|&a, &b| self.chrono_cmp(a, b));
        }
        rows
    }

    /// A session's newest `n` live rows, newest first.
    pub fn newest_rows(&self, name: &str, n: usize) -> Vec<u32> {
        let Some(s) = self.session_index(name) else { return Vec::new() };
        let session = &self.sessions[s as usize];
        if session.unordered {
            let mut rows = self.session_rows(name);
            rows.reverse();
            rows.truncate(n);
            return rows;
        }
        let live = |&&r: &&u32| self.sessions_col[r as usize] != GONE;
        session.rows.iter().rev().filter(live).take(n).copied().collect()
    }

    /// A session's oldest `n` live rows, oldest first.
    pub fn oldest_rows(&self, name: &str, n: usize) -> Vec<u32> {
        let Some(s) = self.session_index(name) else { return Vec::new() };
        if self.sessions[s as usize].unordered {
            let mut rows = self.session_rows(name);
            rows.truncate(n);
            return rows;
        }
        let live = |&&r: &&u32| self.sessions_col[r as usize] != GONE;
        self.sessions[s as usize].rows.iter().filter(live).take(n).copied().collect()
    }

    /// Every live row, in key order.
    pub fn live_rows(&self) -> Vec<u32> {
        (0..self.starts.len() as u32).filter(|&r| self.sessions_col[r as usize] != GONE).collect()
    }

    // ------------------------------------------------------------------ writes
    fn intern(names: &mut Vec<String>, ids: &mut HashMap<String, u32>, name: &str) -> u32 {
        if let Some(&i) = ids.get(name) {
            return i;
        }
        let i = names.len() as u32;
        names.push(name.to_owned());
        ids.insert(name.to_owned(), i);
        i
    }

    /// Refuses rows that could not be stored (sizes beyond the columns' widths), before any
    /// write: `extra_rows` more rows holding `extra_bytes` more arena bytes.
    pub fn check_room(&self, rows: &[NewRow<'_>]) -> Result<()> {
        for (i, r) in rows.iter().enumerate() {
            for (name, len) in
                [("content", r.content.len()), ("id", r.id.len()), ("metadata", r.meta.len())]
            {
                if len > MAX_FIELD_BYTES {
                    return Err(Error::invalid(format!(
                        "messages[{i}]: {name} is {len} bytes, more than {MAX_FIELD_BYTES}"
                    )));
                }
            }
            if r.id.is_empty() || r.session.is_empty() || r.role.is_empty() {
                return Err(Error::invalid(format!(
                    "messages[{i}]: id, session and role must not be empty"
                )));
            }
            if !r.timestamp.is_finite() {
                return Err(Error::invalid(format!("messages[{i}]: timestamp must be finite")));
            }
            if let Some(x) = r.importance {
                if !(0.0..=1.0).contains(&x) {
                    return Err(Error::invalid(format!(
                        "messages[{i}]: importance must be in [0, 1], got {x}"
                    )));
                }
            }
        }
        // Row indexes and interned names are u32; GONE is reserved.
        if self.starts.len() + rows.len() >= GONE as usize - 1 {
            return Err(Error::invalid("the store is full (2^32 - 2 messages ever stored)"));
        }
        Ok(())
    }

    /// Appends one message under `key` (>= every key stored before); the caller checked it
    /// with [`check_room`](Self::check_room) and that its id is not stored.
    pub fn push(&mut self, key: u64, new: &NewRow<'_>) -> u32 {
        let row = self.starts.len() as u32;
        if self.keys.is_none() && key != u64::from(row) {
            self.keys = Some((0..u64::from(row)).collect());
        }
        if let Some(keys) = &mut self.keys {
            keys.push(key);
        }
        let hash = with_encoded_id(new.id, |code, id| {
            let size = varint_len(new.content.len() as u64)
                + varint_len(code)
                + varint_len(new.meta.len() as u64)
                + new.content.len()
                + id.len()
                + new.meta.len();
            let fits = self.arena.last().is_some_and(|c| c.capacity() - c.len() >= size);
            if !fits {
                self.arena.push(Vec::with_capacity(size.max(CHUNK)));
            }
            let chunk_index = self.arena.len() - 1;
            let chunk = &mut self.arena[chunk_index];
            self.starts.push((chunk_index as u64) << 32 | chunk.len() as u64);
            put_varint(chunk, new.content.len() as u64);
            put_varint(chunk, code);
            put_varint(chunk, new.meta.len() as u64);
            chunk.extend_from_slice(new.content.as_bytes());
            chunk.extend_from_slice(id);
            chunk.extend_from_slice(new.meta);
            self.hasher.hash_one((code, id))
        });
        self.timestamps.push(new.timestamp);
        let imp = match new.importance {
            None => NO_IMPORTANCE,
            Some(x) => {
                let k = (x * 10_000.0).round();
                if (0.0..=10_000.0).contains(&k) && k / 10_000.0 == x {
                    k as u16
                } else {
                    self.exact.insert(row, x);
                    EXACT_IMPORTANCE
                }
            }
        };
        self.importances.push(imp);
        let s = Self::intern_session(&mut self.sessions, &mut self.session_ids, new.session);
        self.sessions_col.push(s);
        let role = Self::intern(&mut self.roles, &mut self.role_ids, new.role);
        self.roles_col.push(role);
        let (arena, starts) = (&self.arena, &self.starts);
        let hasher = &self.hasher;
        self.by_id.insert_unique(hash, row, |&r| {
            let (c, b) = id_at(arena, starts, r);
            hasher.hash_one((c, b))
        });
        self.live += 1;
        self.next_key = self.next_key.max(key + 1);
        self.attach(s, row);
        row
    }

    fn intern_session(
        sessions: &mut Vec<Session>,
        ids: &mut HashMap<String, u32>,
        name: &str,
    ) -> u32 {
        if let Some(&i) = ids.get(name) {
            return i;
        }
        let i = sessions.len() as u32;
        sessions.push(Session { name: name.to_owned(), ..Session::default() });
        ids.insert(name.to_owned(), i);
        i
    }

    fn attach(&mut self, s: u32, row: u32) {
        let newest = self.sessions[s as usize].newest;
        let later = newest.is_none_or(|n| !self.before(row, n));
        let session = &mut self.sessions[s as usize];
        if session.live == 0 {
            session.stamp = self.next_stamp;
            self.order.insert(self.next_stamp, s);
            self.next_stamp += 1;
        }
        session.live += 1;
        session.rows.push(row);
        if later {
            session.newest = Some(row);
        } else {
            session.unordered = true;
        }
    }

    /// Removes the message under `key`; false when it is not stored.
    pub fn remove(&mut self, key: u64) -> bool {
        let Some(row) = self.row_of(key) else { return false };
        let s = self.sessions_col[row as usize];
        let (code, bytes) = self.id_bytes(row);
        let hash = self.hash_id(code, bytes);
        if let Ok(entry) = self.by_id.find_entry(hash, |&r| r == row) {
            entry.remove();
        }
        self.sessions_col[row as usize] = GONE;
        self.exact.remove(&row);
        self.live -= 1;
        let session = &mut self.sessions[s as usize];
        session.live -= 1;
        if session.live == 0 {
            self.order.remove(&session.stamp);
            *session = Session { name: std::mem::take(&mut session.name), ..Session::default() };
        } else if session.rows.len() > 64 && session.rows.len() > 2 * session.live as usize {
            let col = &self.sessions_col;
            session.rows.retain(|&r| col[r as usize] != GONE);
        }
        true
    }

    /// Bytes held (by capacity).
    pub fn memory_bytes(&self) -> usize {
        let names: usize =
            self.sessions.iter().map(|s| s.name.capacity() * 2 + s.rows.capacity() * 4 + 64).sum();
        self.arena.iter().map(Vec::capacity).sum::<usize>()
            + self.arena.capacity() * 24
            + self.starts.capacity() * 8
            + self.timestamps.capacity() * 8
            + self.importances.capacity() * 2
            + self.exact.capacity() * 16
            + self.sessions_col.capacity() * 4
            + self.roles_col.capacity() * 4
            + self.keys.as_ref().map_or(0, |k| k.capacity() * 8)
            + self.by_id.capacity() * 5
            + names
    }
}

/// The chunk and offset of a row's record.
fn locate(start: u64) -> (usize, usize) {
    ((start >> 32) as usize, (start & 0xFFFF_FFFF) as usize)
}

fn id_at<'a>(arena: &'a [Vec<u8>], starts: &[u64], row: u32) -> (u64, &'a [u8]) {
    let (chunk, mut pos) = locate(starts[row as usize]);
    let buf = &arena[chunk];
    let clen = get_varint(buf, &mut pos) as usize;
    let code = get_varint(buf, &mut pos);
    get_varint(buf, &mut pos);
    let at = pos + clen;
    (code, &buf[at..at + (code >> 1) as usize])
}
