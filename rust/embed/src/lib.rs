//! ferromem-embed: sentence embedders in pure Rust, no Python and no network.
//!
//! [`SentenceEncoder`] runs a BERT-family sentence-transformers model directory
//! (`config.json`, `tokenizer.json`, `model.safetensors`, `modules.json`, `1_Pooling/`) and
//! gives the same vectors as sentence-transformers; [`StaticModel`] is the static tier
//! distilled from it. Errors are `ferromem_core::Error`: a missing file is `Io` and a damaged
//! one `CorruptFile`, each naming the file.
//!
//! The encoder lives in its own crate so that `cargo test -p ferromem-core` does not build the
//! tokenizer and tensor crates.

pub mod bert;
pub mod config;
pub mod encoder;
pub mod kernels;
pub mod static_model;
pub mod wordpiece;

pub use encoder::SentenceEncoder;
pub use static_model::StaticModel;
