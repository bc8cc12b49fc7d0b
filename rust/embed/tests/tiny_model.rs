//! The encoder and the static tier on a tiny BERT written by the test itself (deterministic
//! weights, a ten-word WordPiece vocabulary): loading, pooling, packing, truncation, and a
//! named error for each damaged file. The real model is checked against sentence-transformers'
//! vectors by the Python tests.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use ferromem_core::Error;
use ferromem_embed::{SentenceEncoder, StaticModel};

const H: usize = 8;
const I: usize = 16;
const VOCAB: usize = 10;
const POSITIONS: usize = 16;

fn config(layers: usize) -> String {
    format!(
        r#"{{"model_type": "bert", "vocab_size": {VOCAB}, "hidden_size": {H},
        "num_hidden_layers": {layers}, "num_attention_heads": 2, "intermediate_size": {I},
        "hidden_act": "gelu", "max_position_embeddings": {POSITIONS}, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12}}"#
    )
}

const TOKENIZER: &str = r###"{"version": "1.0", "truncation": null, "padding": null,
 "added_tokens": [
  {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
  {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
  {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
  {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
 "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
 "pre_tokenizer": {"type": "BertPreTokenizer"},
 "post_processor": {"type": "TemplateProcessing",
  "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
  "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
  "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
 "decoder": null,
 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "the": 6, "cat": 7, "##s": 8, "dog": 9}}}"###;

const MODULES: &str = r#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
 {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#;

fn tensor(shape: &[usize], seed: usize) -> Tensor {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| ((i * 7 + seed * 13) as f32 * 0.37).sin() * 0.5).collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

fn weights(layers: usize) -> HashMap<String, Tensor> {
    let mut w = HashMap::new();
    let mut seed = 0;
    let mut put = |name: String, shape: &[usize]| {
        seed += 1;
        w.insert(name, tensor(shape, seed));
    };
    put("embeddings.word_embeddings.weight".into(), &[VOCAB, H]);
    put("embeddings.position_embeddings.weight".into(), &[POSITIONS, H]);
    put("embeddings.token_type_embeddings.weight".into(), &[2, H]);
    put("embeddings.LayerNorm.weight".into(), &[H]);
    put("embeddings.LayerNorm.bias".into(), &[H]);
    for l in 0..layers {
        let p = format!("encoder.layer.{l}");
        for (name, o, i) in [
            ("attention.self.query", H, H),
            ("attention.self.key", H, H),
            ("attention.self.value", H, H),
            ("attention.output.dense", H, H),
            ("intermediate.dense", I, H),
            ("output.dense", H, I),
        ] {
            put(format!("{p}.{name}.weight"), &[o, i]);
            put(format!("{p}.{name}.bias"), &[o]);
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            put(format!("{p}.{name}.weight"), &[H]);
            put(format!("{p}.{name}.bias"), &[H]);
        }
    }
    w
}

fn model_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferromem-embed-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("1_Pooling")).unwrap();
    fs::write(dir.join("config.json"), config(2)).unwrap();
    fs::write(dir.join("tokenizer.json"), TOKENIZER).unwrap();
    fs::write(dir.join("modules.json"), MODULES).unwrap();
    fs::write(
        dir.join("1_Pooling/config.json"),
        format!(r#"{{"word_embedding_dimension": {H}, "pooling_mode_mean_tokens": true}}"#),
    )
    .unwrap();
    fs::write(dir.join("sentence_bert_config.json"), r#"{"max_seq_length": 6}"#).unwrap();
    candle_core::safetensors::save(&weights(2), dir.join("model.safetensors")).unwrap();
    dir
}

fn corrupt_file(err: Error) -> (PathBuf, String) {
    match err {
        Error::CorruptFile { path, reason } => (path, reason),
        other => panic!("expected CorruptFile, got {other:?}"),
    }
}

fn load_err(dir: &Path) -> Error {
    match SentenceEncoder::load(dir) {
        Ok(_) => panic!("{dir:?} loaded"),
        Err(e) => e,
    }
}

#[test]
fn embeds_normalised_vectors_the_same_alone_or_packed() {
    let enc = SentenceEncoder::load(&model_dir("ok")).unwrap();
    assert_eq!(enc.dimension(), H);
    assert_eq!(enc.max_seq_length(), 6);
    let texts = ["hello world", "the cats", "", "dog dog dog the", "zebra"];
    let all = enc.embed(&texts).unwrap();
    assert_eq!(all.len(), texts.len() * H);
    for (i, t) in texts.iter().enumerate() {
        let row = &all[i * H..(i + 1) * H];
        let norm: f32 = row.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{t}: norm {norm}");
        let alone = enc.embed(&[t]).unwrap();
        let diff = alone.iter().zip(row).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(diff < 1e-5, "{t}: {diff}");
    }
    assert_ne!(&all[..H], &all[H..2 * H]);
    assert!(enc.embed(&[]).unwrap().is_empty());
}

#[test]
fn long_texts_are_truncated_at_the_window() {
    let enc = SentenceEncoder::load(&model_dir("trunc")).unwrap();
    // max_seq_length 6: [CLS] + 4 words + [SEP].
    let long = "hello world the cat dog dog hello world ".repeat(10_000);
    let a = enc.embed(&[&long]).unwrap();
    let b = enc.embed(&["hello world the cat"]).unwrap();
    let diff = a.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff < 1e-6, "{diff}");
}

#[test]
fn every_damaged_file_is_named() {
    let cases: [(&str, &[u8], &str); 7] = [
        ("config.json", b"{", "JSON"),
        ("config.json", br#"{"vocab_size": 0}"#, "JSON"),
        ("tokenizer.json", b"{\"version\": ", "tokenizer"),
        ("modules.json", b"[{\"type\": \"sentence_transformers.models.Dense\"}]", "not supported"),
        ("1_Pooling/config.json", b"{}", "no pooling mode"),
        ("model.safetensors", b"\x02\x00\x00\x00\x00\x00\x00\x00{}", "missing"),
        ("model.safetensors", b"\xff\xff\xff\xff\xff\xff\xff\xff", "safetensors"),
    ];
    for (i, (file, bytes, reason)) in cases.iter().enumerate() {
        let dir = model_dir(&format!("bad{i}"));
        fs::write(dir.join(file), bytes).unwrap();
        let (path, why) = corrupt_file(load_err(&dir));
        assert!(path.ends_with(file), "{file}: error names {path:?}");
        assert!(why.contains(reason), "{file}: {why}");
    }
    // A truncated weights file, and weights that disagree with the config's shape.
    let dir = model_dir("trunc-weights");
    let w = fs::read(dir.join("model.safetensors")).unwrap();
    fs::write(dir.join("model.safetensors"), &w[..w.len() / 2]).unwrap();
    assert!(corrupt_file(load_err(&dir)).0.ends_with("model.safetensors"));
    let dir = model_dir("shape");
    fs::write(dir.join("config.json"), config(3)).unwrap();
    let (path, why) = corrupt_file(load_err(&dir));
    assert!(path.ends_with("model.safetensors") && why.contains("layer.2"), "{why}");
    // A missing file is an I/O error naming it.
    let dir = model_dir("missing");
    fs::remove_file(dir.join("tokenizer.json")).unwrap();
    assert!(matches!(load_err(&dir), Error::Io { path, .. } if path.ends_with("tokenizer.json")));
}

#[test]
fn static_model_round_trips_and_refuses_damage() {
    let dir = model_dir("static");
    let enc = SentenceEncoder::load(&dir).unwrap();
    let vectors = enc.token_vectors().unwrap();
    assert_eq!(vectors.len(), VOCAB * H);
    let tok = fs::read(dir.join("tokenizer.json")).unwrap();
    let model = StaticModel::new(tok, vectors.clone(), H, enc.fingerprint()).unwrap();
    let out = model.embed(&["hello cats", "", "zebra"]).unwrap();
    // "hello cats" = hello + cat + ##s, averaged and normalised.
    let mut want = vec![0.0f32; H];
    for id in [4usize, 7, 8] {
        want.iter_mut().zip(&vectors[id * H..(id + 1) * H]).for_each(|(w, v)| *w += v);
    }
    let norm = want.iter().map(|x| x * x).sum::<f32>().sqrt();
    want.iter_mut().for_each(|w| *w /= norm);
    assert!(out[..H].iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6));
    assert!(out[H..].iter().all(|x| *x == 0.0), "no known tokens: zero vector");

    let path = dir.join("m.static");
    model.save(&path).unwrap();
    let back = StaticModel::load(&path).unwrap();
    assert_eq!(back.source(), enc.fingerprint());
    assert_eq!(back.embed(&["hello cats"]).unwrap(), out[..H].to_vec());
    let bytes = fs::read(&path).unwrap();
    for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
        fs::write(&path, &bytes[..cut]).unwrap();
        assert!(corrupt_file(StaticModel::load(&path).err().unwrap()).0.ends_with("m.static"));
    }
    assert!(StaticModel::new(b"{}".to_vec(), vec![0.0; 8], H, 0).is_err());
    assert!(StaticModel::new(TOKENIZER.into(), vec![f32::NAN; VOCAB * H], H, 0).is_err());
    assert!(StaticModel::new(TOKENIZER.into(), vec![0.0; 7], H, 0).is_err());
}

#[test]
fn static_tokens_match_the_tokenizer_on_every_path() {
    // A vocabulary with punctuation, pieces and a word longer than WordPiece's limit.
    let long = "x".repeat(120);
    let vocab = format!(
        r###""dog": 9, "!": 10, ",": 11, "'": 12, "$": 13, "x": 14, "##x": 15, "a": 16, "##b": 17, "{long}": 18"###
    );
    let json = TOKENIZER.replace(r#""dog": 9"#, &vocab);
    let tok = tokenizers::Tokenizer::from_bytes(json.as_bytes()).unwrap();
    let model = StaticModel::new(json.into_bytes(), vec![0.5; 19 * H], H, 0).unwrap();
    let texts = [
        "Hello, World!",
        "hello\tworld\r\ncats\x07dog",
        "the\x0bcat\x0cdog\x1fthe\x7fcat\0dog",
        "[CLS] hello [SEP] [unk] a[UNK]b",
        "héllo wörld\u{a0}cats",
        "hellos cats!!!dogs abb ab a'b $5 #dog",
        &long,
        &"x".repeat(101),
        "",
        "   \t\n",
        "HELLO\u{3000}World \u{1F600} ",
    ];
    let got = model.tokenize(&texts).unwrap();
    for (text, ids) in texts.iter().zip(&got) {
        let want = tok.encode(*text, false).unwrap();
        assert_eq!(ids.as_slice(), want.get_ids(), "{text:?}");
    }
    assert_eq!(got[0], vec![4, 11, 5, 10]);
}
