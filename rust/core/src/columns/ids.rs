//! Message ids: 26 hex digits, 12 of milliseconds, 6 of a per-process sequence and 8 of a
//! random per-process tag (set by the caller, drawn again in a forked child). They sort by
//! creation time within a process. Atomics, not a lock: a lock held at fork time stays held.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::{SystemTime, UNIX_EPOCH};

static LAST_MS: AtomicU64 = AtomicU64::new(0);
static SEQUENCE: AtomicU64 = AtomicU64::new(0);
static TAG: AtomicU32 = AtomicU32::new(0);

/// Sets the process tag and restarts the sequence (at start-up and in a forked child).
pub fn reseed(tag: u32) {
    TAG.store(tag, SeqCst);
    SEQUENCE.store(0, SeqCst);
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Appends a new id to `out`; each sorts after every id made before it in this process.
pub fn push_new_id(out: &mut String) {
    let seq = SEQUENCE.fetch_add(1, SeqCst) & 0xFF_FFFF;
    let ms = now_ms().max(LAST_MS.load(SeqCst));
    // After 16M ids in one millisecond, move on to the next one: the order is kept.
    LAST_MS.fetch_max(if seq == 0xFF_FFFF { ms + 1 } else { ms }, SeqCst);
    push_hex(out, ms & 0xFFFF_FFFF_FFFF, 12);
    push_hex(out, seq, 6);
    push_hex(out, u64::from(TAG.load(SeqCst)), 8);
}

/// Appends the low `digits` hex digits of `v`, zero-padded (what `{:0Nx}` writes, without
/// the formatting machinery: ids are made once per message).
fn push_hex(out: &mut String, v: u64, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (4 * i)) & 15) as usize] as char);
    }
}

/// A new id.
pub fn new_id() -> String {
    let mut s = String::with_capacity(26);
    push_new_id(&mut s);
    s
}
