//! Streaming compression for inputs too large to hold twice in memory: reader in, writer out,
//! producing the same standard frames as the one-shot functions.

use std::io::{self, Read, Write};

use flate2::{write::ZlibEncoder, Compress, Compression, Decompress, FlushDecompress, Status};
use zstd::zstd_safe::{CParameter, DParameter};

use super::codec::{Codec, ZSTD_WINDOW_LOG_MAX};
use crate::error::{Error, Result};

/// zstd reports its own failures as `Other`; those and malformed input are corrupt data, while
/// anything else came from the reader or the writer.
fn classify(e: io::Error, what: &str) -> Error {
    match e.kind() {
        io::ErrorKind::Other | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            Error::CorruptData(format!("{what}: {e}"))
        }
        _ => Error::Stream(e),
    }
}

/// Compresses everything `reader` yields into one frame written to `writer`; returns the
/// number of uncompressed bytes read.
pub fn compress_stream<R: Read, W: Write>(
    mut reader: R,
    writer: W,
    codec: Codec,
    level: i32,
    dictionary: Option<&[u8]>,
) -> Result<u64> {
    let level = codec.check_level(level)?;
    match codec {
        Codec::Zstd => {
            let mut enc = zstd::stream::write::Encoder::with_dictionary(
                writer,
                level,
                dictionary.unwrap_or(&[]),
            )
            .map_err(|e| Error::invalid(format!("dictionary is not usable by zstd: {e}")))?;
            enc.set_parameter(CParameter::ChecksumFlag(true)).map_err(Error::Stream)?;
            let n = io::copy(&mut reader, &mut enc).map_err(Error::Stream)?;
            enc.finish().map_err(Error::Stream)?;
            Ok(n)
        }
        Codec::Zlib => {
            let mut c = Compress::new(Compression::new(level as u32), true);
            if let Some(dict) = dictionary {
                c.set_dictionary(dict)
                    .map_err(|e| Error::invalid(format!("zlib dictionary: {e}")))?;
            }
            let mut enc = ZlibEncoder::new_with_compress(writer, c);
            let n = io::copy(&mut reader, &mut enc).map_err(Error::Stream)?;
            enc.finish().map_err(Error::Stream)?;
            Ok(n)
        }
    }
}

/// Decompresses a stream of `codec` from `reader` into `writer`; returns the bytes written.
///
/// zstd input may hold several concatenated frames; a zlib stream must end exactly at the end
/// of the input. Truncated or damaged input is [`Error::CorruptData`].
pub fn decompress_stream<R: Read, W: Write>(
    reader: R,
    mut writer: W,
    codec: Codec,
    dictionary: Option<&[u8]>,
) -> Result<u64> {
    match codec {
        Codec::Zstd => {
            let mut dec = zstd::stream::read::Decoder::with_dictionary(
                io::BufReader::new(reader),
                dictionary.unwrap_or(&[]),
            )
            .map_err(|e| Error::invalid(format!("dictionary is not usable by zstd: {e}")))?;
            dec.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
                .map_err(Error::Stream)?;
            io::copy(&mut dec, &mut writer).map_err(|e| classify(e, "zstd frame"))
        }
        Codec::Zlib => zlib_decompress_stream(reader, writer, dictionary),
    }
}

/// Bytes read or written per zlib step.
const ZLIB_CHUNK: usize = 64 * 1024;

fn read_some<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other.map_err(Error::Stream),
        }
    }
}

/// zlib decoding driven by hand, so that a preset dictionary can be supplied when the header
/// asks for it, truncation is an error rather than a short read, and trailing bytes are caught.
fn zlib_decompress_stream<R: Read, W: Write>(
    mut reader: R,
    mut writer: W,
    dictionary: Option<&[u8]>,
) -> Result<u64> {
    let corrupt = |msg: String| Error::CorruptData(format!("zlib stream: {msg}"));
    let mut d = Decompress::new(true);
    let mut input = vec![0u8; ZLIB_CHUNK];
    let mut out = vec![0u8; ZLIB_CHUNK];
    let (mut start, mut end, mut eof, mut dict_set) = (0, 0, false, false);
    loop {
        if start == end && !eof {
            start = 0;
            end = read_some(&mut reader, &mut input)?;
            eof = end == 0;
        }
        let flush = if eof { FlushDecompress::Finish } else { FlushDecompress::None };
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let result = d.decompress(&input[start..end], &mut out, flush);
        let consumed = (d.total_in() - in_before) as usize;
        let produced = (d.total_out() - out_before) as usize;
        start += consumed;
        writer.write_all(&out[..produced]).map_err(Error::Stream)?;
        match result {
            Ok(Status::StreamEnd) => {
                if start < end || read_some(&mut reader, &mut input[..1])? != 0 {
                    return Err(corrupt("trailing bytes after the stream".into()));
                }
                return Ok(d.total_out());
            }
            Ok(_) if eof && consumed == 0 && produced == 0 => {
                return Err(corrupt("truncated".into()));
            }
            Ok(_) => {}
            Err(e) => match (e.needs_dictionary(), dictionary) {
                (Some(_), Some(dict)) if !dict_set => {
                    d.set_dictionary(dict).map_err(|_| {
                        corrupt("wrong dictionary (Adler-32 does not match)".into())
                    })?;
                    dict_set = true;
                }
                (Some(adler), _) => {
                    return Err(corrupt(format!(
                        "needs a dictionary (Adler-32 {adler:#010x}); pass dictionary="
                    )));
                }
                _ => return Err(corrupt(e.to_string())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::{compress, decompress, train_dictionary};

    fn big() -> Vec<u8> {
        (0..50_000u32)
            .flat_map(|i| format!("turn {} says {}. ", i % 977, i % 13).into_bytes())
            .collect()
    }

    #[test]
    fn streams_round_trip_and_match_the_one_shot_decoder() {
        let data = big();
        let samples: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("turn {i} says {}. turn {} says", i % 13, i + 1).into_bytes())
            .collect();
        let dict = train_dictionary(&samples, 1024).unwrap();
        for codec in [Codec::Zstd, Codec::Zlib] {
            for d in [None, Some(dict.as_slice())] {
                let mut frame = Vec::new();
                let n = compress_stream(data.as_slice(), &mut frame, codec, 3, d).unwrap();
                assert_eq!(n, data.len() as u64);
                assert!(frame.len() < data.len() / 4);
                // A streamed zstd frame records no size: the one-shot decoder must still cope.
                assert_eq!(decompress(&frame, codec, d).unwrap(), data, "{codec}");
                let mut out = Vec::new();
                decompress_stream(frame.as_slice(), &mut out, codec, d).unwrap();
                assert_eq!(out, data);
                let mut cut = Vec::new();
                let e =
                    decompress_stream(&frame[..frame.len() - 3], &mut cut, codec, d).unwrap_err();
                assert!(matches!(e, Error::CorruptData(_)), "{codec}: {e}");
            }
        }
    }

    #[test]
    fn concatenated_zstd_frames_decode_as_one() {
        let mut frames = compress(b"first ", Codec::Zstd, 3, None).unwrap();
        frames.extend(compress(b"second", Codec::Zstd, 9, None).unwrap());
        assert_eq!(decompress(&frames, Codec::Zstd, None).unwrap(), b"first second");
    }

    #[test]
    fn stream_level_is_checked() {
        let e = compress_stream(&b"x"[..], Vec::new(), Codec::Zlib, 12, None).unwrap_err();
        assert!(e.to_string().contains("level"));
    }
}
