//! Compression: zstd and zlib in standard frames, trained zstd dictionaries, streaming, and the
//! compressed message blocks behind `CompressedMemory`.
//!
//! Every frame is a standard one: zstd frames carry their content size and a checksum (readable by
//! the `zstd` CLI and python-zstandard); zlib streams are RFC 1950 (readable by Python's `zlib`,
//! with `zdict=` when a dictionary was used).

mod blocks;
mod body;
mod codec;
mod idmap;
mod locations;
mod stream;

pub use blocks::{BlockStore, OwnedRecord, Record, MAX_BLOCK_LEN};
pub use codec::{
    compress, decompress, train_dictionary, Codec, Compressor, Decompressor, MIN_DICTIONARY_SIZE,
};
pub use idmap::IdMap;
pub use stream::{compress_stream, decompress_stream};
