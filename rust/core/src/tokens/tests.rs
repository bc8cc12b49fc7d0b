use super::*;

const SAMPLES: &[&str] = &[
    "",
    "Hey Mel! Good to see you! How have you been?",
    "I'm here  now\n\n  indented\r\n\tTabbed 1234567 3.14159",
    "def f(x):\n    return {\"a\": [1, 2, 3]}  # comment\n",
    "你好，世界！今天天气很好。日本語のテキストも。",
    "नमस्ते, आप कैसे हैं? मैं ठीक हूँ।",
    "Emoji 🙂🙂 and flags 🇫🇷 and ZWJ 👩‍👩‍👧 families",
    "SGVsbG8gd29ybGQhIFRoaXMgaXMgYmFzZTY0Lg==",
    "Ünïcödé wörds, ÇAPITALS and mixedCase ſ K",
    "\u{a0}\u{2028}\u{85} odd   spaces\u{3000}",
];

fn decoded(ids: &[u32], encoding: Encoding) -> Vec<u8> {
    let t = Tokenizer::get(encoding).unwrap().unwrap();
    ids.iter().flat_map(|&id| t.vocab.token(id).unwrap().to_vec()).collect()
}

#[test]
fn names_round_trip_and_unknown_names_are_invalid_arguments() {
    for e in Encoding::ALL {
        assert_eq!(e.name().parse::<Encoding>().unwrap(), e);
    }
    let err = "gpt2".parse::<Encoding>().unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    assert!(err.to_string().contains("encoding"));
}

#[test]
fn known_token_ids() {
    // Ids as tiktoken gives them.
    assert_eq!(encode("hello world", Encoding::Cl100kBase).unwrap(), [15339, 1917]);
    assert_eq!(encode("hello world", Encoding::O200kBase).unwrap(), [24912, 2375]);
    assert!(encode("x", Encoding::Approx).is_err());
}

#[test]
fn tokens_decode_back_to_the_text_and_counts_agree() {
    for e in [Encoding::Cl100kBase, Encoding::O200kBase] {
        for text in SAMPLES {
            let ids = encode(text, e).unwrap();
            assert_eq!(decoded(&ids, e), text.as_bytes(), "{e} {text:?}");
            assert_eq!(count(text, e).unwrap(), ids.len(), "{e} {text:?}");
        }
        let many: Vec<String> =
            (0..500).map(|i| format!("{} #{i}", SAMPLES[i % SAMPLES.len()])).collect();
        let counts = count_many(&many, e).unwrap();
        for (text, n) in many.iter().zip(counts) {
            assert_eq!(n as usize, count(text, e).unwrap());
        }
    }
}

#[test]
fn approx_is_the_estimate() {
    assert_eq!(count("Hello world", Encoding::Approx).unwrap(), count_tokens("Hello world"));
    assert_eq!(count_many(&["a b", "c"], Encoding::Approx).unwrap(), [2, 1]);
}

#[test]
fn pathological_inputs_stay_linear_and_round_trip() {
    let base64: String = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0123456789+/".repeat(20_000);
    let spaces = " ".repeat(1 << 20);
    let cjk = "漢字かなカナ한국어".repeat(50_000);
    let digits = "7".repeat(1 << 20);
    for e in [Encoding::Cl100kBase, Encoding::O200kBase] {
        for text in [&base64, &spaces, &cjk, &digits] {
            let ids = encode(text, e).unwrap();
            assert_eq!(decoded(&ids, e), text.as_bytes());
        }
    }
}

#[test]
fn a_packed_piece_is_its_padded_bytes_and_length_even_with_nul_bytes() {
    let bytes: Vec<u8> = (0u8..20).map(|i| if i % 3 == 0 { 0 } else { b'a' + i }).collect();
    for n in 0..=bytes.len() {
        let kept = n.min(vocab::PACKED_MAX);
        let mut want = [0u8; 16];
        want[..kept].copy_from_slice(&bytes[..kept]);
        want[15] = kept as u8;
        assert_eq!(vocab::pack(&bytes[..n]), u128::from_le_bytes(want), "length {n}");
    }
    assert_ne!(vocab::pack(b"a"), vocab::pack(b"a\0"));
}

#[test]
fn counts_from_the_piece_cache_equal_fresh_counts() {
    // Enough distinct pieces to evict and refill cache slots many times over.
    let text: String = (0..40_000).map(|i| format!("w{i}x{} ", i * 7919 % 1000)).collect();
    for encoding in [Encoding::Cl100kBase, Encoding::O200kBase] {
        let first = count(&text, encoding).unwrap();
        let again = count(&text, encoding).unwrap();
        let ids = encode(&text, encoding).unwrap();
        assert_eq!((first, again), (ids.len(), ids.len()));
    }
}
