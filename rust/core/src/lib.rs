//! ferromem-core: the pure-Rust engines behind ferromem.
//!
//! This crate knows nothing of Python. It takes `&str`, `&[u8]` and `&[f32]`, returns Rust
//! types, and reports failures through one error enum, [`Error`]. The binding crate
//! (`ferromem-python`) only converts, releases the GIL and maps errors.

pub mod columns;
pub mod compress;
pub mod embed;
pub mod error;
pub mod hnsw;
pub mod importance;
pub mod keyword;
pub mod rows;
pub mod snapshot;
pub mod stem;
pub mod summary;
pub mod text;
pub mod tokens;

pub use error::{Error, Result};
