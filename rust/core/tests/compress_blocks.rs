//! BlockStore: messages in compressed blocks, found by key and id, damage kept to one block.

use ferromem_core::compress::{train_dictionary, BlockStore, Codec, Record};
use ferromem_core::Error;

fn texts(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("{:012x}{:06x}abcdef", 1_700_000_000_000u64 + i as u64, i), sentence(i)))
        .collect()
}

/// Varied chat-like text, so that a dictionary has something to learn across blocks.
fn sentence(i: usize) -> String {
    const WORDS: [&str; 24] = [
        "Caroline",
        "Melanie",
        "support",
        "group",
        "painting",
        "yesterday",
        "kids",
        "camping",
        "adoption",
        "counseling",
        "beach",
        "pottery",
        "really",
        "amazing",
        "thanks",
        "family",
        "I",
        "we",
        "went",
        "love",
        "the",
        "to",
        "and",
        "so",
    ];
    let mut x = i as u64 * 2654435761 + 12345;
    (0..12)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            WORDS[(x >> 40) as usize % WORDS.len()]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn records(data: &[(String, String)], first_key: u64) -> Vec<Record<'_>> {
    data.iter()
        .enumerate()
        .map(|(i, (id, content))| Record {
            key: first_key + i as u64,
            id,
            role: if i % 2 == 0 { "user" } else { "assistant" },
            content,
            metadata: if i % 5 == 0 { "{\"topic\": \"art\"}" } else { "" },
            timestamp: 1_700_000_000.0 + i as f64,
            importance: if i % 3 == 0 { f64::NAN } else { 0.5 },
        })
        .collect()
}

#[test]
fn messages_come_back_by_key_and_id() {
    for codec in [Codec::Zstd, Codec::Zlib] {
        let data = texts(100);
        let mut store = BlockStore::new(codec, 3).unwrap();
        let recs = records(&data, 0);
        for chunk in recs.chunks(32) {
            store.add_block(chunk).unwrap();
        }
        assert_eq!(store.live_blocks(), 4);
        assert_eq!(store.len(), 100);
        for (i, r) in recs.iter().enumerate() {
            let (block, got) = store.get(i as u64).unwrap().unwrap();
            assert_eq!(block as usize, i / 32);
            assert_eq!(
                (got.id.as_str(), got.content.as_str(), got.role.as_str()),
                (r.id, r.content, r.role)
            );
            assert_eq!(got.metadata, r.metadata);
            assert_eq!(got.timestamp, r.timestamp);
            assert_eq!(got.importance.is_nan(), r.importance.is_nan());
            assert_eq!(store.get_id(r.id).unwrap().unwrap().1.key, got.key);
        }
        assert_eq!(store.get(1000).unwrap(), None);
        assert_eq!(store.get_id("nope").unwrap(), None);
        assert!(store.compressed_bytes() < store.raw_bytes() as usize / 2);
    }
}

#[test]
fn duplicate_ids_and_oversized_blocks_are_refused() {
    let data = texts(300);
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    let recs = records(&data, 0);
    assert!(matches!(store.add_block(&recs), Err(Error::InvalidArgument(_))));
    assert!(matches!(store.add_block(&[]), Err(Error::InvalidArgument(_))));
    store.add_block(&recs[..10]).unwrap();
    let e = store.add_block(&recs[5..6]).unwrap_err().to_string();
    assert!(e.contains("already stored"), "{e}");
    assert_eq!(store.len(), 10);
}

#[test]
fn removal_and_dropping_blocks() {
    let data = texts(64);
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    let recs = records(&data, 10);
    store.add_block(&recs[..32]).unwrap();
    store.add_block(&recs[32..]).unwrap();
    assert_eq!(store.remove_ids(&[recs[0].id, recs[1].id, "missing"]).unwrap(), vec![10, 11]);
    assert_eq!(store.get_id(recs[0].id).unwrap(), None);
    assert_eq!(store.block_records(0).unwrap().len(), 30);
    let keys = store.drop_block(1);
    assert_eq!(keys, (42..74).collect::<Vec<u64>>());
    assert_eq!(store.get_id(recs[40].id).unwrap(), None);
    assert_eq!(store.len(), 30);
    // Removing every message of a block frees it.
    let ids: Vec<&str> = recs[2..32].iter().map(|r| r.id).collect();
    assert_eq!(store.remove_ids(&ids).unwrap().len(), 30);
    assert_eq!(store.live_blocks(), 0);
    // An id that was removed can be stored again.
    store.add_block(&recs[..1]).unwrap();
    assert_eq!(store.get_id(recs[0].id).unwrap().unwrap().0, 2);
}

#[test]
fn a_damaged_block_reports_itself_and_spares_the_others() {
    let data = texts(64);
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    let recs = records(&data, 0);
    store.add_block(&recs[..32]).unwrap();
    store.add_block(&recs[32..]).unwrap();
    let mut frame = store.frame(0).unwrap().to_vec();
    let mid = frame.len() / 2;
    frame[mid] ^= 0xFF;
    store.replace_frame(0, frame).unwrap();
    let e = store.get(3).unwrap_err();
    assert!(matches!(e, Error::CorruptData(_)) && e.to_string().contains("block 0"), "{e}");
    assert!(store.block_records(0).is_err());
    assert_eq!(store.get(40).unwrap().unwrap().1.id, recs[40].id);
    assert_eq!(store.block_records(1).unwrap().len(), 32);
    // Dropping the damaged block still works; its ids stop resolving.
    assert!(store.drop_block(0).is_empty());
    assert_eq!(store.get(3).unwrap(), None);
}

#[test]
fn dictionary_and_recompression_keep_every_message() {
    let data = texts(400);
    let recs = records(&data, 0);
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    store.add_block(&recs[..32]).unwrap();
    let before = store.compressed_bytes();
    let samples: Vec<&[u8]> = recs.iter().map(|r| r.content.as_bytes()).collect();
    let dictionary = train_dictionary(&samples, 4096).unwrap();
    store.set_dictionary(dictionary.clone()).unwrap();
    let e = store.set_dictionary(dictionary).unwrap_err().to_string();
    assert!(e.contains("already set"), "{e}");
    let after = store.compressed_bytes();
    assert!(after < before, "recompressed with the dictionary: {before} -> {after}");
    for chunk in recs[32..].chunks(32) {
        store.add_block(chunk).unwrap();
    }
    store.recompress(1, 19).unwrap();
    assert_eq!(store.block_level(1), Some(19));
    assert!(store.recompress(1, 40).is_err());
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(store.get(i as u64).unwrap().unwrap().1.content, r.content);
    }
    assert!(store.memory_usage_bytes() > store.compressed_bytes());
}

#[test]
fn ids_of_different_lengths_and_unicode_round_trip() {
    let ids = ["a", "bb-é", "ccc", "üñï", "x".repeat(300).leak()];
    let contents = ["", "héllo wörld 🌍", "line\nbreak", "\0nul", "last"];
    let recs: Vec<Record<'_>> = ids
        .iter()
        .zip(contents)
        .enumerate()
        .map(|(i, (id, content))| Record {
            key: 1_000 + i as u64,
            id,
            role: "tool",
            content,
            metadata: "",
            timestamp: -1.5e9 + i as f64,
            importance: 1.0,
        })
        .collect();
    let mut store = BlockStore::new(Codec::Zstd, 1).unwrap();
    store.add_block(&recs).unwrap();
    let back = store.block_records(0).unwrap();
    for (r, b) in recs.iter().zip(&back) {
        assert_eq!(
            (r.id, r.content, r.timestamp, r.key),
            (b.id.as_str(), b.content.as_str(), b.timestamp, b.key)
        );
    }
    assert_eq!(store.get_id("üñï").unwrap().unwrap().1.content, "\0nul");
}

#[test]
fn extending_a_block_keeps_its_messages_and_drops_removed_ones() {
    let data = texts(40);
    let recs = records(&data, 0);
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    let b = store.add_block(&recs[..10]).unwrap();
    store.add_block(&recs[30..]).unwrap();
    assert_eq!(store.remove_ids(&[recs[2].id]).unwrap(), vec![2]);
    assert_eq!(store.extend_block(b, &recs[10..20]).unwrap(), 19);
    assert_eq!(store.len(), 29);
    for (i, r) in recs[..30].iter().enumerate().filter(|(i, _)| *i != 2 && *i < 20) {
        let (block, got) = store.get_id(r.id).unwrap().unwrap();
        assert_eq!((block, got.key, got.content.as_str()), (b, i as u64, r.content));
    }
    assert_eq!(store.get_id(recs[2].id).unwrap(), None);
    let e = store.extend_block(b, &recs[5..6]).unwrap_err().to_string();
    assert!(e.contains("already stored"), "{e}");
    assert!(store.extend_block(7, &recs[20..21]).is_err(), "no such block");
    let mut frame = store.frame(b).unwrap().to_vec();
    let mid = frame.len() / 2;
    frame[mid] ^= 0xFF;
    store.replace_frame(b, frame).unwrap();
    assert!(matches!(store.extend_block(b, &recs[20..21]), Err(Error::CorruptData(_))));
    assert_eq!(store.get_id(recs[20].id).unwrap(), None, "nothing was added");
}

#[test]
fn a_far_key_costs_a_page_not_a_table_reaching_it() {
    let data = texts(3);
    let mut recs = records(&data, 0);
    recs[1].key = 300_000_000;
    recs[2].key = u64::from(u32::MAX) - 1;
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    store.add_block(&recs).unwrap();
    assert!(store.memory_usage_bytes() < 4 << 20, "{} bytes", store.memory_usage_bytes());
    for r in &recs {
        assert_eq!(store.get(r.key).unwrap().unwrap().1.id, r.id);
    }
    let mut over = records(&data[..1], u64::from(u32::MAX));
    over[0].id = "other";
    let e = store.add_block(&over).unwrap_err().to_string();
    assert!(e.contains("key must be <"), "{e}");
}

#[test]
fn a_key_or_id_used_twice_is_refused_and_nothing_is_lost() {
    let data = texts(4);
    let recs = records(&data, 0);
    let mut store = BlockStore::new(Codec::Zstd, 3).unwrap();
    store.add_block(&recs[..2]).unwrap();
    // Same key as a stored message, new id: once silently took the key over.
    let mut again = recs[2];
    again.key = 1;
    let e = store.add_block(&[again]).unwrap_err().to_string();
    assert!(e.contains("key 1 is already stored"), "{e}");
    // Twice in one batch.
    let mut twin = recs[3];
    twin.key = recs[2].key;
    let e = store.add_block(&[recs[2], twin]).unwrap_err().to_string();
    assert!(e.contains("appears twice"), "{e}");
    let mut twin = recs[3];
    twin.id = recs[2].id;
    let e = store.add_block(&[recs[2], twin]).unwrap_err().to_string();
    assert!(e.contains("appears twice"), "{e}");
    assert_eq!(store.len(), 2);
    for r in &recs[..2] {
        assert_eq!(store.get_id(r.id).unwrap().unwrap().1.key, r.key);
    }
    assert_eq!(store.get_id(recs[2].id).unwrap(), None);
}

#[test]
fn a_replaced_dictionary_keeps_every_message_and_level_and_damage() {
    for codec in [Codec::Zstd, Codec::Zlib] {
        let data = texts(600);
        let recs = records(&data, 0);
        let mut store = BlockStore::new(codec, 3).unwrap();
        for chunk in recs[..320].chunks(32) {
            store.add_block(chunk).unwrap();
        }
        let samples: Vec<&[u8]> = recs.iter().map(|r| r.content.as_bytes()).collect();
        let small = train_dictionary(&samples[..320], 512).unwrap();
        let large = train_dictionary(&samples, 8192).unwrap();
        // Before any dictionary, replacing is setting.
        store.replace_dictionary(small.clone()).unwrap();
        assert_eq!(store.dictionary(), Some(&small[..]));
        for chunk in recs[320..].chunks(32) {
            store.add_block(chunk).unwrap();
        }
        store.recompress(2, codec.max_level().min(19)).unwrap();
        let level = store.block_level(2);
        let damaged = store.frame(4).unwrap().to_vec();
        let mut broken = damaged.clone();
        let mid = broken.len() / 2;
        broken[mid] ^= 0x55;
        store.replace_frame(4, broken.clone()).unwrap();
        assert!(store.get(4 * 32).is_err(), "{codec}: damaged before");
        store.replace_dictionary(large.clone()).unwrap();
        assert_eq!(store.dictionary(), Some(&large[..]));
        assert_eq!(store.block_level(2), level, "{codec}: a block keeps its level");
        assert_eq!(store.frame(4), Some(&broken[..]), "{codec}: a damaged block is left as it is");
        assert!(store.get(4 * 32).is_err(), "{codec}: and still reports its damage");
        for (i, r) in recs.iter().enumerate() {
            if (128..160).contains(&i) {
                continue;
            }
            assert_eq!(store.get(i as u64).unwrap().unwrap().1.content, r.content, "{codec} {i}");
        }
        let fresh: Vec<(String, String)> =
            texts(40).into_iter().map(|(id, t)| (format!("new-{id}"), t)).collect();
        let more = records(&fresh, 1000);
        store.add_block(&more[..32]).unwrap();
        assert_eq!(store.get(1000).unwrap().unwrap().1.content, more[0].content);
    }
}
