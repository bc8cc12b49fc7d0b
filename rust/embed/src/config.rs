//! The files of a sentence-transformers model directory, read and checked: `config.json` (the
//! BERT shape), `modules.json` (which modules follow the transformer), `1_Pooling/config.json`
//! and `sentence_bert_config.json`. Every problem is an error naming the file.

use std::fs;
use std::path::{Path, PathBuf};

use ferromem_core::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Upper bound on every size read from `config.json`, so that a hostile file cannot ask for an
/// absurd allocation before the weights are checked against it.
const MAX_DIM: usize = 1 << 16;
/// Upper bound on `vocab_size`.
const MAX_VOCAB: usize = 1 << 21;

/// A file of the model directory that is damaged or describes something unsupported.
pub fn corrupt(path: &Path, reason: impl Into<String>) -> Error {
    Error::CorruptFile { path: path.to_path_buf(), reason: reason.into() }
}

/// Reads `path`; a missing or unreadable file is an I/O error naming it.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt(path, format!("invalid JSON: {e}")))
}

/// The activation of the feed-forward layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// GELU with the exact error function (`gelu`).
    Gelu,
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// `relu`.
    Relu,
}

#[derive(Deserialize)]
struct RawBertConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    #[serde(default = "default_act")]
    hidden_act: String,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// The shape of a BERT encoder, from `config.json`.
#[derive(Debug, Clone)]
pub struct BertConfig {
    /// Rows of the word-embedding table.
    pub vocab_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_layers: usize,
    /// Attention heads per layer (`hidden_size` is a multiple of it).
    pub num_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// The feed-forward activation.
    pub activation: Activation,
    /// Rows of the position-embedding table: the longest input the model takes.
    pub max_positions: usize,
    /// Rows of the token-type table (only type 0 is used).
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    pub layer_norm_eps: f32,
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let raw: RawBertConfig = read_json(path)?;
        let bad = |r: String| corrupt(path, r);
        match raw.model_type.as_deref() {
            None | Some("bert") => {}
            Some(other) => {
                return Err(bad(format!("model_type {other:?} is not supported (only \"bert\")")));
            }
        }
        if let Some(p) = raw.position_embedding_type.as_deref().filter(|p| *p != "absolute") {
            return Err(bad(format!("position_embedding_type {p:?} is not supported")));
        }
        for (name, v) in [
            ("vocab_size", raw.vocab_size),
            ("hidden_size", raw.hidden_size),
            ("num_hidden_layers", raw.num_hidden_layers),
            ("num_attention_heads", raw.num_attention_heads),
            ("intermediate_size", raw.intermediate_size),
            ("max_position_embeddings", raw.max_position_embeddings),
            ("type_vocab_size", raw.type_vocab_size),
        ] {
            let limit = if name == "vocab_size" { MAX_VOCAB } else { MAX_DIM };
            if v == 0 || v > limit {
                return Err(bad(format!("{name} = {v} is out of range")));
            }
        }
        if raw.num_hidden_layers > 256 {
            return Err(bad(format!(
                "num_hidden_layers = {} is out of range",
                raw.num_hidden_layers
            )));
        }
        if !raw.hidden_size.is_multiple_of(raw.num_attention_heads) {
            return Err(bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                raw.hidden_size, raw.num_attention_heads
            )));
        }
        let activation = match raw.hidden_act.as_str() {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => return Err(bad(format!("hidden_act {other:?} is not supported"))),
        };
        if !(raw.layer_norm_eps.is_finite() && raw.layer_norm_eps >= 0.0) {
            return Err(bad(format!("layer_norm_eps {} is not valid", raw.layer_norm_eps)));
        }
        Ok(Self {
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            num_layers: raw.num_hidden_layers,
            num_heads: raw.num_attention_heads,
            intermediate_size: raw.intermediate_size,
            activation,
            max_positions: raw.max_position_embeddings,
            type_vocab_size: raw.type_vocab_size,
            layer_norm_eps: raw.layer_norm_eps as f32,
        })
    }
}

/// How token vectors become one sentence vector (sentence-transformers' `Pooling`); when
/// several modes are on, their results are concatenated in sentence-transformers' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pooling {
    /// The `[CLS]` token's vector.
    pub cls: bool,
    /// The element-wise maximum over the tokens.
    pub max: bool,
    /// The mean over the tokens.
    pub mean: bool,
    /// The sum over the tokens divided by the square root of their number.
    pub mean_sqrt_len: bool,
}

impl Pooling {
    /// How many vectors of the hidden width the pooling concatenates.
    pub fn parts(&self) -> usize {
        [self.cls, self.max, self.mean, self.mean_sqrt_len].iter().filter(|b| **b).count()
    }
}

#[derive(Deserialize)]
struct RawPooling {
    #[serde(default)]
    word_embedding_dimension: Option<usize>,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

#[derive(Deserialize)]
struct RawModule {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: String,
}

#[derive(Deserialize)]
struct RawSentenceConfig {
    #[serde(default)]
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
}

/// Everything a sentence-transformers directory says besides the weights and the tokenizer.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// The transformer's shape.
    pub bert: BertConfig,
    /// The pooling after the transformer.
    pub pooling: Pooling,
    /// Whether a `Normalize` module L2-normalises the pooled vector.
    pub normalize: bool,
    /// Longest input in tokens (`[CLS]` and `[SEP]` included); longer inputs are truncated.
    pub max_seq_length: usize,
    /// Whether sentence-transformers lower-cases the text before tokenizing.
    pub lowercase: bool,
    /// `config.json`.
    pub config_path: PathBuf,
    /// `tokenizer.json`.
    pub tokenizer_path: PathBuf,
    /// `model.safetensors`.
    pub weights_path: PathBuf,
}

const TRANSFORMER: &str = "sentence_transformers.models.Transformer";
const POOLING: &str = "sentence_transformers.models.Pooling";
const NORMALIZE: &str = "sentence_transformers.models.Normalize";

impl ModelConfig {
    /// Reads the configuration files of the model directory `dir`.
    ///
    /// Without `modules.json` the directory is taken as a transformer followed by
    /// `1_Pooling` (mean pooling when that is missing too), without normalisation.
    pub fn load(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        }
        let config_path = dir.join("config.json");
        let bert = BertConfig::load(&config_path)?;
        let modules_path = dir.join("modules.json");
        let (pooling_dir, normalize) = if modules_path.exists() {
            let modules: Vec<RawModule> = read_json(&modules_path)?;
            let mut pooling_dir = None;
            let mut normalize = false;
            for (i, m) in modules.iter().enumerate() {
                match m.kind.as_str() {
                    TRANSFORMER if i == 0 => {}
                    POOLING if i == 1 => pooling_dir = Some(dir.join(&m.path)),
                    NORMALIZE if i == modules.len() - 1 => normalize = true,
                    other => {
                        return Err(corrupt(
                            &modules_path,
                            format!(
                                "module {i} ({other}) is not supported: expected Transformer, \
                                 Pooling and an optional Normalize"
                            ),
                        ));
                    }
                }
            }
            if modules.first().map(|m| m.kind.as_str()) != Some(TRANSFORMER) {
                return Err(corrupt(&modules_path, "the first module is not a Transformer"));
            }
            (pooling_dir, normalize)
        } else {
            let p = dir.join("1_Pooling");
            (p.is_dir().then_some(p), false)
        };
        let pooling = match pooling_dir {
            Some(p) => Self::pooling(&p.join("config.json"), bert.hidden_size)?,
            None => Pooling { cls: false, max: false, mean: true, mean_sqrt_len: false },
        };
        let sbert_path = dir.join("sentence_bert_config.json");
        let (max_seq, lowercase) = if sbert_path.exists() {
            let raw: RawSentenceConfig = read_json(&sbert_path)?;
            (raw.max_seq_length, raw.do_lower_case)
        } else {
            (None, false)
        };
        let max_seq_length = max_seq.unwrap_or(bert.max_positions).min(bert.max_positions);
        if max_seq_length < 2 {
            return Err(corrupt(&sbert_path, format!("max_seq_length {max_seq_length} is < 2")));
        }
        Ok(Self {
            bert,
            pooling,
            normalize,
            max_seq_length,
            lowercase,
            config_path,
            tokenizer_path: dir.join("tokenizer.json"),
            weights_path: dir.join("model.safetensors"),
        })
    }

    fn pooling(path: &Path, hidden: usize) -> Result<Pooling> {
        let raw: RawPooling = read_json(path)?;
        if raw.pooling_mode_weightedmean_tokens || raw.pooling_mode_lasttoken {
            return Err(corrupt(path, "weighted-mean and last-token pooling are not supported"));
        }
        if let Some(d) = raw.word_embedding_dimension.filter(|d| *d != hidden) {
            return Err(corrupt(
                path,
                format!("word_embedding_dimension {d} differs from hidden_size {hidden}"),
            ));
        }
        let p = Pooling {
            cls: raw.pooling_mode_cls_token,
            max: raw.pooling_mode_max_tokens,
            mean: raw.pooling_mode_mean_tokens,
            mean_sqrt_len: raw.pooling_mode_mean_sqrt_len_tokens,
        };
        if p.parts() == 0 {
            return Err(corrupt(path, "no pooling mode is enabled"));
        }
        Ok(p)
    }

    /// Length of the sentence vector.
    pub fn dimension(&self) -> usize {
        self.pooling.parts() * self.bert.hidden_size
    }
}
