//! `ferromem._core`: the thin PyO3 layer over `ferromem-core`.
//!
//! Each file converts Python arguments for one engine, releases the GIL around the work
//! (`py.detach`) and maps core errors through `errors::to_py`.

use pyo3::prelude::*;

mod columns;
mod compress;
mod convert;
mod embed;
mod errors;
mod hnsw;
mod importance;
mod keyword;
mod meta;
mod rows;
mod sentence;
mod summary;
mod tokens;

#[pymodule]
#[pyo3(name = "_core")]
fn ferromem_core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    tokens::register(m)?;
    hnsw::register(m)?;
    embed::register(m)?;
    importance::register(m)?;
    summary::register(m)?;
    compress::register(m)?;
    keyword::register(m)?;
    columns::register(m)?;
    rows::register(m)?;
    sentence::register(m)?;
    Ok(())
}
