//! The one error type of the core; the binding maps each variant to a Python exception.

use std::path::PathBuf;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument is out of its domain; the message names the argument.
    #[error("{0}")]
    InvalidArgument(String),
    /// A file exists but is not a valid ferromem file (bad magic, version, checksum or body).
    #[error("{path}: {reason}")]
    CorruptFile {
        /// The file that failed to load.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Compressed or serialised bytes that do not decode.
    #[error("corrupt data: {0}")]
    CorruptData(String),
    /// An operating-system I/O failure, with the path it concerned.
    #[error("{path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A reader or writer handed to a streaming function failed.
    #[error("stream: {0}")]
    Stream(#[source] std::io::Error),
    /// Ids that were asked for but are not in the index.
    #[error("unknown ids: {0:?}")]
    UnknownIds(Vec<u64>),
}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
}
