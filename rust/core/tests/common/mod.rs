//! Shared by the fuzz-style tests: a byte mutator driven by proptest, so that a failing case
//! shrinks to the fewest, smallest mutations of a valid input.

#![allow(dead_code)] // each test binary uses its own part

use proptest::prelude::*;

/// One change to a byte string; positions wrap around its length.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// Flips one bit.
    Flip(usize, u8),
    /// Sets one byte.
    Set(usize, u8),
    /// Overwrites 4 bytes with a little-endian `u32` (lengths, counts, offsets).
    Word(usize, u32),
    /// Overwrites 8 bytes with a little-endian `u64`.
    Long(usize, u64),
    /// Cuts the input at a position.
    Truncate(usize),
    /// Removes up to `n` bytes at a position.
    Delete(usize, usize),
    /// Inserts bytes at a position.
    Insert(usize, Vec<u8>),
    /// Copies up to `n` bytes from one position over another (swapped blocks, repeats).
    Copy(usize, usize, usize),
}

/// Values that make parsers take their edge branches.
fn interesting_u32() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(255),
        Just(256),
        Just(0x7FFF_FFFF),
        Just(0x8000_0000),
        Just(u32::MAX - 1),
        Just(u32::MAX),
        any::<u32>(),
        0u32..64,
    ]
}

fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::from(u32::MAX)),
        Just(1 << 40),
        Just(1 << 63),
        Just(u64::MAX),
        any::<u64>(),
        0u64..64,
    ]
}

/// A strategy for one mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(p, v)| Mutation::Set(p, v)),
        3 => (any::<usize>(), interesting_u32()).prop_map(|(p, v)| Mutation::Word(p, v)),
        2 => (any::<usize>(), interesting_u64()).prop_map(|(p, v)| Mutation::Long(p, v)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Mutation::Delete(p, n)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        1 => (any::<usize>(), any::<usize>(), 1usize..256)
            .prop_map(|(a, b, n)| Mutation::Copy(a, b, n)),
    ]
}

/// Up to `max` mutations.
pub fn mutations(max: usize) -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(), 1..=max)
}

/// Applies `muts` to a copy of `input`.
pub fn mutate(input: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = input.to_vec();
    for m in muts {
        let len = b.len();
        let at = |p: usize| if len == 0 { 0 } else { p % len };
        match m {
            Mutation::Flip(p, bit) if len > 0 => b[at(*p)] ^= 1 << bit,
            Mutation::Set(p, v) if len > 0 => b[at(*p)] = *v,
            Mutation::Word(p, v) if len >= 4 => {
                let p = at(*p).min(len - 4);
                b[p..p + 4].copy_from_slice(&v.to_le_bytes());
            }
            Mutation::Long(p, v) if len >= 8 => {
                let p = at(*p).min(len - 8);
                b[p..p + 8].copy_from_slice(&v.to_le_bytes());
            }
            Mutation::Truncate(p) => b.truncate(at(*p)),
            Mutation::Delete(p, n) if len > 0 => {
                let p = at(*p);
                b.drain(p..(p + n).min(len));
            }
            Mutation::Insert(p, bytes) => {
                let p = at(*p);
                b.splice(p..p, bytes.iter().copied());
            }
            Mutation::Copy(from, to, n) if len > 0 => {
                let (from, to) = (at(*from), at(*to));
                let n = (*n).min(len - from).min(len - to);
                b.copy_within(from..from + n, to);
            }
            _ => {}
        }
    }
    b
}

/// Cases per property: `FERROMEM_FUZZ_CASES` (default `default`), so that a longer local run
/// is one variable away and `cargo test` stays quick.
pub fn cases(default: u32) -> u32 {
    std::env::var("FERROMEM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A scratch directory private to this test process.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferromem-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}
