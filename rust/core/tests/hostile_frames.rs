//! Crafted frames whose headers lie: a declared size must never be trusted, neither by the
//! one-shot decoder nor through a block of a `BlockStore` (issue 12, defect 1).

use ferromem_core::compress::{compress, decompress, BlockStore, Codec, Decompressor, Record};
use ferromem_core::Error;

/// A single-segment zstd frame that declares `declared` bytes of content but holds one raw
/// block of one byte (`A`): 17 bytes that once made the decoder reserve `declared` bytes.
fn lying_frame(declared: u64) -> Vec<u8> {
    let mut f = 0xFD2F_B528u32.to_le_bytes().to_vec();
    f.push(0xE0); // 8-byte content size, single segment, no checksum
    f.extend_from_slice(&declared.to_le_bytes());
    f.extend_from_slice(b"\x09\x00\x00A"); // last block, raw, 1 byte: 'A'
    f
}

const LIES: [u64; 7] = [0, 2, 1 << 20, 1 << 31, 1 << 40, 1 << 63, u64::MAX - 1];

#[test]
fn a_frame_that_declares_a_huge_size_is_corrupt_data() {
    for declared in LIES {
        let e = decompress(&lying_frame(declared), Codec::Zstd, None).unwrap_err();
        assert!(matches!(e, Error::CorruptData(_)), "declared {declared}: {e}");
        let mut d = Decompressor::new(Codec::Zstd, None).unwrap();
        let e = d.decompress(&lying_frame(declared)).unwrap_err();
        assert!(matches!(e, Error::CorruptData(_)), "declared {declared}: {e}");
    }
    // The honest version of the same frame still decodes.
    assert_eq!(decompress(&lying_frame(1), Codec::Zstd, None).unwrap(), b"A");
}

#[test]
fn a_lying_frame_in_a_block_is_reported_as_that_block_damaged() {
    let record = |key, id| Record {
        key,
        id,
        role: "user",
        content: "hello",
        metadata: "",
        timestamp: 1.0,
        importance: f64::NAN,
    };
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    store.add_block(&[record(0, "a")]).unwrap();
    store.add_block(&[record(1, "b")]).unwrap();
    for declared in LIES {
        store.replace_frame(0, lying_frame(declared)).unwrap();
        let e = store.get(0).unwrap_err();
        assert!(matches!(e, Error::CorruptData(_)), "declared {declared}: {e}");
        assert!(e.to_string().contains("block 0"), "{e}");
        assert!(store.get_id("a").is_err());
        assert!(store.block_records(0).is_err());
        assert_eq!(store.get_id("b").unwrap().unwrap().1.content, "hello");
    }
}

#[test]
fn a_frame_declaring_more_than_it_holds_after_real_data_is_corrupt() {
    let data = vec![b'x'; 10_000];
    let mut frame = compress(&data, Codec::Zstd, 3, None).unwrap();
    // Our frames carry a 2-byte content size at offset 5 for 256..=65791 bytes: claim more.
    assert_eq!(frame[4] & 0xC0, 0x40, "2-byte content size field");
    let claimed = 60_000u16 - 256;
    frame[5..7].copy_from_slice(&claimed.to_le_bytes());
    let e = decompress(&frame, Codec::Zstd, None).unwrap_err();
    assert!(matches!(e, Error::CorruptData(_)), "{e}");
}

/// A block whose frame decodes, but to messages that are not the ones the store placed there
/// (a frame restored from elsewhere): what it says must not index the store's tables.
#[test]
fn a_valid_frame_with_foreign_keys_is_damage_not_a_panic() {
    let record = |key, id| Record {
        key,
        id,
        role: "user",
        content: "hello",
        metadata: "",
        timestamp: 1.0,
        importance: f64::NAN,
    };
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    store.add_block(&[record(0, "a"), record(1, "b")]).unwrap();
    store.add_block(&[record(2, "c")]).unwrap();
    let mut elsewhere = BlockStore::new(Codec::Zstd, 3).unwrap();
    elsewhere.add_block(&[record(5_000_000, "a"), record(1, "b")]).unwrap();
    store.replace_frame(0, elsewhere.frame(0).unwrap().to_vec()).unwrap();
    let e = store.get_id("a").unwrap_err();
    assert!(matches!(e, Error::CorruptData(_)) && e.to_string().contains("block 0"), "{e}");
    assert!(matches!(store.remove_ids(&["a"]), Err(Error::CorruptData(_))));
    assert!(matches!(store.get(0), Err(Error::CorruptData(_))));
    // The other message of that block is still where the store put it.
    assert_eq!(store.get_id("b").unwrap().unwrap().1.key, 1);
    assert_eq!(store.remove_ids(&["c"]).unwrap(), vec![2]);
    assert_eq!(store.len(), 2);
}
