//! The two encodings of a vector (see [`super::distance`]): int8 codes for the graph walk and
//! half floats for re-ranking, and a query prepared in both forms.

use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
use half::f16;

use super::Metric;

/// Largest code magnitude: -128 is never produced, so that codes are symmetric and the AVX2
/// kernel's pairwise `i16` sums cannot saturate.
pub const CODE_MAX: f32 = 127.0;

/// A vector quantised to `i8`: `value ~ scale * code`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct CodeHeader {
    /// `max |x| / 127`.
    pub scale: f32,
    /// `|x|^2` of the original vector (used by L2).
    pub norm2: f32,
}

/// Writes the int8 code of `x` into `out` (padded with zeros) and returns its header.
pub(super) fn encode_i8(x: &[f32], out: &mut [i8]) -> CodeHeader {
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let norm2 = x.iter().map(|v| v * v).sum::<f32>();
    if max == 0.0 {
        out.fill(0);
        return CodeHeader { scale: 0.0, norm2 };
    }
    let inv = CODE_MAX / max;
    for (o, v) in out.iter_mut().zip(x) {
        *o = (v * inv).round().clamp(-CODE_MAX, CODE_MAX) as i8;
    }
    out[x.len()..].fill(0);
    CodeHeader { scale: max / CODE_MAX, norm2 }
}

/// Writes `x / divisor` as half floats into `out` (padded with zeros).
pub(super) fn encode_f16(x: &[f32], divisor: f32, out: &mut [u16]) {
    let inv = 1.0 / divisor;
    let scaled: Vec<f32> = x.iter().map(|v| v * inv).collect();
    let (head, tail) = out.split_at_mut(x.len());
    head.reinterpret_cast_mut::<f16>().convert_from_f32_slice(&scaled);
    tail.fill(0);
}

/// Reads half floats back as `f32`, times `scale`.
pub(super) fn decode_f16(h: &[u16], scale: f32, out: &mut [f32]) {
    h.reinterpret_cast::<f16>().convert_to_f32_slice(out);
    if scale != 1.0 {
        out.iter_mut().for_each(|v| *v *= scale);
    }
}

/// The distance of two codes from their dot product and headers.
#[inline(always)]
pub(super) fn code_distance(metric: Metric, dot: i32, a: CodeHeader, b: CodeHeader) -> f32 {
    let ip = a.scale * b.scale * dot as f32;
    match metric {
        Metric::Cosine | Metric::InnerProduct => 1.0 - ip,
        Metric::L2 => a.norm2 + b.norm2 - 2.0 * ip,
    }
}

/// A query in both forms: `f32` (normalised under cosine, padded) for re-ranking and an int8
/// code for the walk.
#[derive(Debug, Default)]
pub(super) struct Query {
    pub f: Vec<f32>,
    pub code: Vec<i8>,
    pub head: CodeHeader,
}

impl Query {
    /// Prepares `row` for an index of `metric` with half-float stride `stride` and code length
    /// `code_len`.
    pub fn prepare(&mut self, row: &[f32], metric: Metric, stride: usize, code_len: usize) {
        self.f.clear();
        self.f.extend_from_slice(row);
        self.f.resize(stride, 0.0);
        if metric == Metric::Cosine {
            let norm = self.f.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
            if norm > 0.0 {
                let inv = (1.0 / norm) as f32;
                self.f.iter_mut().for_each(|x| *x *= inv);
            }
        }
        self.code.clear();
        self.code.resize(code_len, 0);
        self.head = encode_i8(&self.f[..row.len()], &mut self.code);
    }
}
