//! The two encodings of a vector (see [`super::distance`]): int8 codes for the graph walk and
//! half floats for re-ranking, and a query prepared in both forms.

use half::f16;
use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};

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

/// Writes the residual `x / s - c` of `x` against its code as half floats into `out` (padded
/// with zeros).
pub(super) fn encode_residual(x: &[f32], code: &[i8], head: CodeHeader, out: &mut [u16]) {
    let (head_out, tail) = out.split_at_mut(x.len());
    if head.scale == 0.0 {
        head_out.fill(0);
    } else {
        let inv = 1.0 / head.scale;
        let r: Vec<f32> = x.iter().zip(code).map(|(v, c)| v * inv - f32::from(*c)).collect();
        head_out.reinterpret_cast_mut::<f16>().convert_from_f32_slice(&r);
    }
    tail.fill(0);
}

/// Rebuilds a vector `s * (c + r)` from its code and residual into `out` (`out.len()` values).
pub(super) fn decode(code: &[i8], res: &[u16], head: CodeHeader, out: &mut [f32]) {
    res[..out.len()].reinterpret_cast::<f16>().convert_to_f32_slice(out);
    for (o, c) in out.iter_mut().zip(code) {
        *o = head.scale * (f32::from(*c) + *o);
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
