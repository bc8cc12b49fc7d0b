//! One-shot compression with zstd or zlib, reusable (de)compressors that keep a prepared
//! dictionary, and zstd dictionary training.

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;

use flate2::{Compress, Compression, FlushCompress, Status};
use zstd::zstd_safe::{CParameter, DParameter};

use crate::error::{Error, Result};

/// The smallest dictionary zstd can train (`ZDICT_DICTSIZE_MIN`).
pub const MIN_DICTIONARY_SIZE: usize = 256;
/// The largest dictionary we agree to train; larger ones stop paying for themselves on chat text.
const MAX_DICTIONARY_SIZE: usize = 1 << 24;
/// The largest window a frame may ask for: 2^27 bytes, zstd's own default (and the CLI's), and
/// the most any compression level uses without `--long`. A header asking for more could make
/// the decoder allocate gigabytes for a frame of a few bytes.
pub(crate) const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// A frame whose header declares at most this many bytes is decoded in one call into a buffer
/// of exactly that size; a header declaring more is not believed, and the frame is streamed
/// into a buffer that grows only as bytes really come out.
const TRUSTED_DECLARED_SIZE: usize = 1 << 20;
/// A declared size is also believed up to this multiple of the frame's own length: chat text
/// rarely compresses beyond 10x, so genuine large frames still decode in one call.
const TRUSTED_RATIO: usize = 64;
/// The most the streaming path reserves up front, whatever the input.
const MAX_RESERVATION: usize = 1 << 26;
/// Output grows by at least this much per zlib step, so large streams do not reallocate often.
const ZLIB_CHUNK: usize = 64 * 1024;

/// A compression format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Zstandard frames with content size and checksum (RFC 8878).
    Zstd,
    /// zlib streams (RFC 1950: deflate with an Adler-32 trailer).
    Zlib,
}

impl Codec {
    /// The levels this codec accepts: zstd 1..=22, zlib 0..=9 (0 stores without compressing).
    pub fn levels(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Codec::Zstd => 1..=22,
            Codec::Zlib => 0..=9,
        }
    }

    /// The level that trades speed for size best on chat text (what `level=None` would mean).
    pub fn max_level(self) -> i32 {
        *self.levels().end()
    }

    /// Checks that `level` is valid for this codec; the error names the argument.
    pub fn check_level(self, level: i32) -> Result<i32> {
        let range = self.levels();
        if range.contains(&level) {
            Ok(level)
        } else {
            Err(Error::invalid(format!(
                "level must be in {}..={} for {self}, got {level}",
                range.start(),
                range.end()
            )))
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Zstd => "zstd",
            Codec::Zlib => "zlib",
        })
    }
}

impl FromStr for Codec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "zstd" => Ok(Codec::Zstd),
            "zlib" => Ok(Codec::Zlib),
            other => Err(Error::invalid(format!("codec must be 'zstd' or 'zlib', got {other:?}"))),
        }
    }
}

fn zstd_err(context: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::CorruptData(format!("{context}: {e}"))
}

/// A reusable compressor: one codec, one level, an optional dictionary prepared once.
pub struct Compressor {
    codec: Codec,
    level: i32,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    zlib_dictionary: Option<Vec<u8>>,
}

impl Compressor {
    /// A compressor for `codec` at `level`, with `dictionary` if given (zstd: a trained or raw
    /// dictionary; zlib: a preset dictionary, at most the last 32 KiB of which is used).
    pub fn new(codec: Codec, level: i32, dictionary: Option<&[u8]>) -> Result<Self> {
        let level = codec.check_level(level)?;
        let mut this = Compressor { codec, level, zstd: None, zlib_dictionary: None };
        match codec {
            Codec::Zstd => {
                let dict = dictionary.unwrap_or(&[]);
                let mut c = zstd::bulk::Compressor::with_dictionary(level, dict).map_err(|e| {
                    Error::invalid(format!("dictionary is not usable by zstd: {e}"))
                })?;
                c.set_parameter(CParameter::ChecksumFlag(true))
                    .and_then(|_| c.set_parameter(CParameter::ContentSizeFlag(true)))
                    .map_err(|e| Error::invalid(format!("zstd parameters: {e}")))?;
                this.zstd = Some(c);
            }
            Codec::Zlib => this.zlib_dictionary = dictionary.map(<[u8]>::to_vec),
        }
        Ok(this)
    }

    /// The codec this compressor writes.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// The level this compressor uses.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// Compresses `data` into one standard frame.
    pub fn compress(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        match &mut self.zstd {
            Some(c) => c.compress(data).map_err(|e| Error::invalid(format!("zstd: {e}"))),
            None => zlib_compress(data, self.level, self.zlib_dictionary.as_deref()),
        }
    }
}

fn zlib_compress(data: &[u8], level: i32, dictionary: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level as u32), true);
    if let Some(dict) = dictionary {
        c.set_dictionary(dict).map_err(|e| Error::invalid(format!("zlib dictionary: {e}")))?;
    }
    // Deflate never grows data by more than ~0.03% plus a few bytes per 16 KiB block.
    let mut out = Vec::with_capacity(data.len() + data.len() / 1000 + 64);
    loop {
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Finish)
            .map_err(|e| Error::invalid(format!("zlib: {e}")))?;
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => out.reserve(ZLIB_CHUNK.max(out.len() / 4)),
        }
    }
}

/// A reusable decompressor: one codec, an optional dictionary prepared once.
pub struct Decompressor {
    codec: Codec,
    zstd: Option<zstd::bulk::Decompressor<'static>>,
    dictionary: Option<Vec<u8>>,
}

impl Decompressor {
    /// A decompressor for `codec`, with the `dictionary` the frames were made with, if any.
    pub fn new(codec: Codec, dictionary: Option<&[u8]>) -> Result<Self> {
        let mut this = Decompressor { codec, zstd: None, dictionary: None };
        match codec {
            Codec::Zstd => {
                let mut d = zstd::bulk::Decompressor::with_dictionary(dictionary.unwrap_or(&[]))
                    .map_err(|e| {
                        Error::invalid(format!("dictionary is not usable by zstd: {e}"))
                    })?;
                d.set_parameter(DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
                    .map_err(|e| Error::invalid(format!("zstd parameters: {e}")))?;
                this.zstd = Some(d);
                // Kept for frames without a recorded size, which go through the streaming path.
                this.dictionary = dictionary.map(<[u8]>::to_vec);
            }
            Codec::Zlib => this.dictionary = dictionary.map(<[u8]>::to_vec),
        }
        Ok(this)
    }

    /// Decompresses one or more concatenated frames (zstd) or one stream (zlib).
    ///
    /// Truncated or corrupted input, a checksum mismatch, a missing or wrong dictionary, and
    /// trailing bytes after a zlib stream are all [`Error::CorruptData`].
    pub fn decompress(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        match self.codec {
            Codec::Zstd => self.zstd_decompress(data),
            Codec::Zlib => zlib_decompress(data, self.dictionary.as_deref()),
        }
    }

    fn zstd_decompress(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        if data.is_empty() {
            return Err(Error::CorruptData("zstd: empty input is not a frame".into()));
        }
        // Never trust a declared size: a 17-byte frame may claim 2^63 bytes.
        let declared = zstd::zstd_safe::get_frame_content_size(data)
            .ok()
            .flatten()
            .and_then(|size| usize::try_from(size).ok());
        let believable = |size: usize| {
            size <= TRUSTED_DECLARED_SIZE.max(data.len().saturating_mul(TRUSTED_RATIO))
        };
        match (&mut self.zstd, declared) {
            // One frame that records a believable size (all of ours): decode straight into place.
            (Some(d), Some(size)) if believable(size) && frame_len(data) == Some(data.len()) => {
                let mut out = Vec::with_capacity(size);
                d.decompress_to_buffer(data, &mut out).map_err(zstd_err("zstd frame"))?;
                if out.len() != size {
                    return Err(Error::CorruptData(format!(
                        "zstd frame: decoded {} bytes, header says {size}",
                        out.len()
                    )));
                }
                Ok(out)
            }
            // Several frames, frames from a streaming compressor, or a size too large to
            // believe: stream, growing as data really arrives (zstd still checks the size).
            _ => {
                let hint = declared.unwrap_or(0).min(data.len().saturating_mul(TRUSTED_RATIO));
                let mut out = Vec::with_capacity(hint.min(MAX_RESERVATION));
                crate::compress::stream::decompress_stream(
                    data,
                    &mut out,
                    Codec::Zstd,
                    self.dictionary.as_deref(),
                )?;
                Ok(out)
            }
        }
    }
}

/// The length of the first zstd frame in `data`, if it is a whole frame.
fn frame_len(data: &[u8]) -> Option<usize> {
    zstd::zstd_safe::find_frame_compressed_size(data).ok()
}

fn zlib_decompress(data: &[u8], dictionary: Option<&[u8]>) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).clamp(64, MAX_RESERVATION));
    super::stream::decompress_stream(data, &mut out, Codec::Zlib, dictionary)?;
    Ok(out)
}

/// Compresses `data` into one standard frame of `codec` at `level`, with `dictionary` if given.
pub fn compress(
    data: &[u8],
    codec: Codec,
    level: i32,
    dictionary: Option<&[u8]>,
) -> Result<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|cached| {
        let fresh = match cached {
            Some((key, _)) if key.matches(codec, level, dictionary) => None,
            _ => Some(Compressor::new(codec, level, dictionary)?),
        };
        if let Some(c) = fresh {
            *cached = Some((ContextKey::new(codec, level, dictionary), c));
        }
        match cached {
            Some((_, c)) => c.compress(data),
            None => unreachable!("just filled"),
        }
    })
}

/// Decompresses what [`compress`] (or any standard encoder of `codec`) produced.
pub fn decompress(data: &[u8], codec: Codec, dictionary: Option<&[u8]>) -> Result<Vec<u8>> {
    DECOMPRESSOR.with_borrow_mut(|cached| {
        let fresh = match cached {
            Some((key, _)) if key.matches(codec, 0, dictionary) => None,
            _ => Some(Decompressor::new(codec, dictionary)?),
        };
        if let Some(d) = fresh {
            *cached = Some((ContextKey::new(codec, 0, dictionary), d));
        }
        match cached {
            Some((_, d)) => d.decompress(data),
            None => unreachable!("just filled"),
        }
    })
}

/// What a cached context was prepared for. The dictionary is kept and compared byte for byte:
/// digesting a dictionary costs far more than comparing it, and a hash could collide.
struct ContextKey {
    codec: Codec,
    level: i32,
    dictionary: Option<Vec<u8>>,
}

impl ContextKey {
    fn new(codec: Codec, level: i32, dictionary: Option<&[u8]>) -> Self {
        ContextKey { codec, level, dictionary: dictionary.map(<[u8]>::to_vec) }
    }

    fn matches(&self, codec: Codec, level: i32, dictionary: Option<&[u8]>) -> bool {
        self.codec == codec && self.level == level && self.dictionary.as_deref() == dictionary
    }
}

thread_local! {
    // One-shot calls reuse the last context of their thread: a zstd context costs hundreds of
    // kilobytes to set up and a dictionary must be digested, both far slower than a small block.
    static COMPRESSOR: RefCell<Option<(ContextKey, Compressor)>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<(ContextKey, Decompressor)>> = const { RefCell::new(None) };
}

/// Trains a zstd dictionary of at most `size` bytes from `samples` (typical messages).
///
/// zstd needs a few dozen samples and, for a good dictionary, about 100x `size` bytes of them;
/// too little material is an [`Error::InvalidArgument`] naming `samples`.
pub fn train_dictionary<S: AsRef<[u8]>>(samples: &[S], size: usize) -> Result<Vec<u8>> {
    if !(MIN_DICTIONARY_SIZE..=MAX_DICTIONARY_SIZE).contains(&size) {
        return Err(Error::invalid(format!(
            "size must be in {MIN_DICTIONARY_SIZE}..={MAX_DICTIONARY_SIZE}, got {size}"
        )));
    }
    if samples.len() < 8 {
        return Err(Error::invalid(format!(
            "samples must hold at least 8 items to train a dictionary, got {}",
            samples.len()
        )));
    }
    zstd::dict::from_samples(samples, size).map_err(|e| {
        let total: usize = samples.iter().map(|s| s.as_ref().len()).sum();
        Error::invalid(format!(
            "samples ({} items, {total} bytes) are not enough to train a {size}-byte dictionary: {e}",
            samples.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Vec<u8> {
        let words =
            ["memory", "agent", "zstd", "compress", "the", "a", "of", "message", "Caroline"];
        let mut out = Vec::new();
        let mut x: u64 = 42;
        while out.len() < n {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            out.extend_from_slice(words[(x >> 33) as usize % words.len()].as_bytes());
            out.push(b' ');
        }
        out.truncate(n);
        out
    }

    fn samples() -> Vec<Vec<u8>> {
        (0..400)
            .map(|i| {
                format!("Hey Mel, session {i}: I went to the LGBTQ support group yesterday {i}")
                    .into_bytes()
            })
            .collect()
    }

    #[test]
    fn round_trips_every_codec_and_level() {
        for codec in [Codec::Zstd, Codec::Zlib] {
            for level in codec.levels().step_by(3) {
                for n in [0, 1, 100, 70_000] {
                    let data = text(n);
                    let frame = compress(&data, codec, level, None).unwrap();
                    assert_eq!(decompress(&frame, codec, None).unwrap(), data, "{codec} {level}");
                }
            }
        }
    }

    #[test]
    fn zstd_frames_carry_checksum_and_size() {
        let frame = compress(b"hello hello hello", Codec::Zstd, 3, None).unwrap();
        assert_eq!(&frame[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
        let descriptor = frame[4];
        assert_ne!(descriptor & 0b100, 0, "checksum flag");
        assert_eq!(zstd::zstd_safe::get_frame_content_size(&frame).unwrap(), Some(17));
    }

    #[test]
    fn zlib_streams_have_the_standard_header() {
        let frame = compress(b"hello", Codec::Zlib, 6, None).unwrap();
        assert_eq!(frame[0] & 0x0F, 8, "deflate method");
        assert_eq!((u16::from(frame[0]) << 8 | u16::from(frame[1])) % 31, 0);
    }

    #[test]
    fn bad_codec_and_levels_name_the_argument() {
        let e = "lz4".parse::<Codec>().unwrap_err().to_string();
        assert!(e.contains("codec") && e.contains("lz4"), "{e}");
        for (codec, level) in
            [(Codec::Zstd, 0), (Codec::Zstd, 23), (Codec::Zlib, -1), (Codec::Zlib, 10)]
        {
            let e = compress(b"x", codec, level, None).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)) && e.to_string().contains("level"));
        }
    }

    #[test]
    fn truncated_and_corrupted_frames_are_corrupt_data() {
        let data = text(10_000);
        for codec in [Codec::Zstd, Codec::Zlib] {
            let frame = compress(&data, codec, 3, None).unwrap();
            for cut in [0, 1, 5, frame.len() / 2, frame.len() - 1] {
                let e = decompress(&frame[..cut], codec, None).unwrap_err();
                assert!(matches!(e, Error::CorruptData(_)), "{codec} cut {cut}: {e}");
            }
            let mut flipped = frame.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0x55;
            let e = decompress(&flipped, codec, None).unwrap_err();
            assert!(matches!(e, Error::CorruptData(_)), "{codec} flipped: {e}");
            let mut trailing = frame.clone();
            trailing.extend_from_slice(b"junk");
            assert!(decompress(&trailing, codec, None).is_err(), "{codec} trailing");
        }
    }

    #[test]
    fn dictionaries_round_trip_and_wrong_ones_fail() {
        let samples = samples();
        let dict = train_dictionary(&samples, 2048).unwrap();
        assert!(dict.len() <= 2048 && dict.len() >= MIN_DICTIONARY_SIZE);
        let other = train_dictionary(
            &(0..400)
                .map(|i| format!("{{\"k\": {i}, \"v\": [1, 2, 3], \"x\": {}}}", i * 7))
                .collect::<Vec<_>>(),
            1024,
        )
        .unwrap();
        let msg = b"Hey Mel, session 7: I went to the LGBTQ support group yesterday 7";
        for codec in [Codec::Zstd, Codec::Zlib] {
            let frame = compress(msg, codec, 3, Some(&dict)).unwrap();
            assert_eq!(decompress(&frame, codec, Some(&dict)).unwrap(), msg);
            let missing = decompress(&frame, codec, None).unwrap_err();
            assert!(matches!(missing, Error::CorruptData(_)), "{codec}: {missing}");
            let wrong = decompress(&frame, codec, Some(&other)).unwrap_err();
            assert!(matches!(wrong, Error::CorruptData(_)), "{codec}: {wrong}");
        }
        let plain = compress(msg, Codec::Zstd, 3, None).unwrap();
        let with_dict = compress(msg, Codec::Zstd, 3, Some(&dict)).unwrap();
        assert!(with_dict.len() < plain.len() / 2, "{} vs {}", with_dict.len(), plain.len());
    }

    #[test]
    fn training_refuses_too_little_material() {
        assert!(matches!(train_dictionary(&[b"abc"; 3], 1024), Err(Error::InvalidArgument(_))));
        let e = train_dictionary(&samples(), 10).unwrap_err().to_string();
        assert!(e.contains("size"), "{e}");
        let e = train_dictionary(&[b""; 20], 100_000).unwrap_err().to_string();
        assert!(e.contains("samples"), "{e}");
    }

    #[test]
    fn cached_contexts_follow_codec_level_and_dictionary() {
        let a = train_dictionary(&samples(), 1024).unwrap();
        let mut b = a.clone();
        let last = b.len() - 1;
        b[last] ^= 1; // same length, one byte apart: must not be mistaken for `a`
        let msg = b"Hey Mel, session 3: I went to the LGBTQ support group yesterday 3";
        for (codec, level, dict) in [
            (Codec::Zstd, 3, Some(&a)),
            (Codec::Zstd, 3, None),
            (Codec::Zstd, 19, Some(&a)),
            (Codec::Zlib, 6, Some(&a)),
            (Codec::Zstd, 3, Some(&b)),
        ] {
            let frame = compress(msg, codec, level, dict.map(Vec::as_slice)).unwrap();
            let plain = compress(msg, codec, level, None).unwrap();
            assert_eq!(decompress(&frame, codec, dict.map(Vec::as_slice)).unwrap(), msg);
            assert_eq!(decompress(&plain, codec, None).unwrap(), msg);
        }
        let with_b = compress(msg, Codec::Zstd, 3, Some(&b)).unwrap();
        assert_eq!(decompress(&with_b, Codec::Zstd, Some(&b)).unwrap(), msg);
    }

    #[test]
    fn reusable_compressor_matches_one_shot() {
        let dict = train_dictionary(&samples(), 2048).unwrap();
        let mut c = Compressor::new(Codec::Zstd, 5, Some(&dict)).unwrap();
        let mut d = Decompressor::new(Codec::Zstd, Some(&dict)).unwrap();
        for s in samples().iter().take(50) {
            let frame = c.compress(s).unwrap();
            assert_eq!(&d.decompress(&frame).unwrap(), s);
        }
        assert_eq!((c.codec(), c.level()), (Codec::Zstd, 5));
    }
}
