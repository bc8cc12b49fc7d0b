//! Fuzz-style properties of every frame decoder: zstd and zlib frames (one-shot, reusable,
//! streaming, with and without a dictionary) and the blocks of a `BlockStore`. Arbitrary and
//! mutated input must give a result or `CorruptData`, never a panic or an abort.
//! `FERROMEM_FUZZ_CASES=N` runs more cases.

mod common;

use std::sync::OnceLock;

use common::{cases, mutate, mutations};
use ferromem_core::compress::{
    compress, compress_stream, decompress, decompress_stream, train_dictionary, BlockStore, Codec,
    Decompressor, Record,
};
use ferromem_core::Error;
use proptest::prelude::*;

fn dictionary() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        let samples: Vec<String> = (0..400)
            .map(|i| format!("Hey Mel, day {i}: the support group was {} again", i % 7))
            .collect();
        train_dictionary(&samples, 2048).expect("dictionary")
    })
}

fn text(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| format!("turn {} said {}. ", i % 97, i % 13).into_bytes()).collect()
}

/// A frame with the codec and dictionary it was made with.
type Frame = (Codec, Option<&'static [u8]>, Vec<u8>);

/// Valid frames of every kind the decoders accept.
fn frames() -> &'static [Frame] {
    static FRAMES: OnceLock<Vec<Frame>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let dict = Some(dictionary());
        let data = text(300);
        let mut out = Vec::new();
        for codec in [Codec::Zstd, Codec::Zlib] {
            for d in [None, dict] {
                out.push((codec, d, compress(&data, codec, 3, d).expect("frame")));
                let mut streamed = Vec::new();
                compress_stream(&data[..], &mut streamed, codec, 5, d).expect("stream");
                out.push((codec, d, streamed));
            }
        }
        let mut two = compress(b"first ", Codec::Zstd, 1, None).expect("frame");
        two.extend(compress(&data, Codec::Zstd, 9, None).expect("frame"));
        out.push((Codec::Zstd, None, two));
        out
    })
}

/// Decodes `bytes` every way there is; any failure must be `CorruptData`.
fn decode_every_way(codec: Codec, dict: Option<&[u8]>, bytes: &[u8]) {
    let one_shot = decompress(bytes, codec, dict);
    let mut d = Decompressor::new(codec, dict).expect("decompressor");
    let reused = d.decompress(bytes);
    let mut out = Vec::new();
    let streamed = decompress_stream(bytes, &mut out, codec, dict);
    for r in [one_shot.as_ref().map(|_| ()), reused.as_ref().map(|_| ())] {
        if let Err(e) = r {
            assert!(matches!(e, Error::CorruptData(_)), "{codec}: {e}");
        }
    }
    if let Err(e) = &streamed {
        assert!(matches!(e, Error::CorruptData(_)), "{codec} stream: {e}");
    }
    // The one-shot and reusable decoders agree on what a frame holds.
    if let (Ok(a), Ok(b)) = (&one_shot, &reused) {
        assert_eq!(a, b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(400)))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                   with_dict in any::<bool>()) {
        let dict = with_dict.then(dictionary);
        for codec in [Codec::Zstd, Codec::Zlib] {
            decode_every_way(codec, dict, &bytes);
        }
    }

    #[test]
    fn arbitrary_bytes_behind_a_zstd_magic_never_panic(
        descriptor in any::<u8>(),
        rest in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = 0xFD2F_B528u32.to_le_bytes().to_vec();
        bytes.push(descriptor);
        bytes.extend(rest);
        decode_every_way(Codec::Zstd, None, &bytes);
    }

    #[test]
    fn mutated_frames_never_panic(which in any::<prop::sample::Index>(), muts in mutations(6)) {
        let (codec, dict, frame) = which.get(frames());
        decode_every_way(*codec, *dict, &mutate(frame, &muts));
        // A frame read with the wrong dictionary (or none) is damage too.
        decode_every_way(*codec, if dict.is_some() { None } else { Some(dictionary()) }, frame);
    }
}

fn record<'a>(key: u64, id: &'a str, content: &'a str) -> Record<'a> {
    Record {
        key,
        id,
        role: if key.is_multiple_of(2) { "user" } else { "assistant" },
        content,
        metadata: if key.is_multiple_of(3) { "{\"k\":1}" } else { "" },
        timestamp: 1.7e9 + key as f64,
        importance: if key.is_multiple_of(4) { f64::NAN } else { 0.25 },
    }
}

struct Fixture {
    ids: Vec<String>,
    contents: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        ids: (0..60).map(|i| format!("{:024x}", 0x1234_5678_9000u64 + i)).collect(),
        contents: (0..60).map(|i| String::from_utf8(text(i % 9)).expect("utf-8")).collect(),
    })
}

/// Three blocks of 20 messages (keys 0..60); block 1 optionally written with a dictionary.
fn store(codec: Codec, with_dict: bool) -> BlockStore {
    let f = fixture();
    let recs: Vec<Record<'_>> =
        (0..60).map(|i| record(i as u64, &f.ids[i], &f.contents[i])).collect();
    let mut s = BlockStore::new(codec, 3).expect("store");
    s.add_block(&recs[..20]).expect("block");
    if with_dict {
        s.set_dictionary(dictionary().to_vec()).expect("dictionary");
    }
    s.add_block(&recs[20..40]).expect("block");
    s.add_block(&recs[40..]).expect("block");
    s
}

/// Every read and write on a store with one damaged block: errors are `CorruptData` naming
/// that block (or refusals), and the other blocks' messages come back intact.
fn exercise(mut s: BlockStore, damaged: u32) {
    let f = fixture();
    let in_damaged = |k: usize| k / 20 == damaged as usize;
    for k in 0..60usize {
        match s.get(k as u64) {
            Ok(Some((_, r))) => {
                assert!(in_damaged(k) || r.content == f.contents[k], "key {k}");
                assert_eq!(r.key, k as u64);
            }
            Ok(None) => assert!(in_damaged(k), "key {k} vanished"),
            Err(e) => {
                assert!(in_damaged(k), "key {k}: {e}");
                assert!(matches!(e, Error::CorruptData(_)), "{e}");
            }
        }
        let by_id = s.get_id(&f.ids[k]);
        assert!(in_damaged(k) || by_id.expect("intact").expect("present").1.key == k as u64);
    }
    let _ = s.block_records(damaged);
    let extra_id = "ffffffffffffffffffffffff".to_string();
    let _ = s.extend_block(damaged, &[record(100, &extra_id, "new")]);
    let _ = s.remove_ids(&[f.ids[damaged as usize * 20 + 3].as_str(), "nope"]);
    let _ = s.recompress(damaged, 19);
    let _ = s.memory_usage_bytes();
    let _ = s.drop_block(damaged);
    for k in (0..60).filter(|k| !in_damaged(*k)) {
        assert_eq!(s.get(k as u64).expect("intact").expect("present").1.content, f.contents[k]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(300)))]

    #[test]
    fn a_block_with_a_mutated_frame_is_damage_only_to_itself(
        zstd in any::<bool>(), with_dict in any::<bool>(), block in 0u32..3, muts in mutations(6),
    ) {
        let codec = if zstd { Codec::Zstd } else { Codec::Zlib };
        let mut s = store(codec, with_dict);
        let frame = s.frame(block).expect("frame").to_vec();
        s.replace_frame(block, mutate(&frame, &muts)).expect("replace");
        exercise(s, block);
    }

    /// The body behind a valid frame is what the store's own checks stand on: mutate it and
    /// compress it again, so the frame decodes and only the body is wrong.
    #[test]
    fn a_block_whose_valid_frame_holds_a_mutated_body_never_panics(
        block in 0u32..3, muts in mutations(8),
    ) {
        let mut s = store(Codec::Zstd, false);
        let body = decompress(s.frame(block).expect("frame"), Codec::Zstd, None).expect("body");
        let frame = compress(&mutate(&body, &muts), Codec::Zstd, 1, None).expect("frame");
        s.replace_frame(block, frame).expect("replace");
        exercise(s, block);
    }
}
