//! Portable kernels: the reference every SIMD set is tested against, and the fallback on CPUs
//! without one.

use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};

/// Components converted per step: the `half` crate converts a slice at a time (with F16C or
/// FP16 instructions where it finds them), far faster than one value at a time.
const STEP: usize = 16;

/// Calls `f` with each run of `STEP` half floats as `f32`, beside the matching run of `q`.
#[inline(always)]
fn runs(q: &[f32], hs: &[u16], mut f: impl FnMut(&[f32], &[f32])) {
    let mut buf = [0.0f32; STEP];
    for (qc, hc) in q.chunks(STEP).zip(hs.chunks(STEP)) {
        let out = &mut buf[..hc.len()];
        hc.reinterpret_cast::<half::f16>().convert_to_f32_slice(out);
        f(qc, out);
    }
}

/// `q . h`.
///
/// # Safety
/// Always safe; `unsafe` only to share the signature of the SIMD kernels.
pub unsafe fn dot_qh(q: &[f32], hs: &[u16]) -> f32 {
    let mut sum = 0.0;
    runs(q, hs, |a, b| sum += a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>());
    sum
}

/// `|q - s h|^2`.
///
/// # Safety
/// Always safe, as [`dot_qh`].
pub unsafe fn l2_qh(q: &[f32], s: f32, hs: &[u16]) -> f32 {
    let mut sum = 0.0;
    runs(q, hs, |a, b| {
        sum += a
            .iter()
            .zip(b)
            .map(|(x, y)| {
                let d = x - s * y;
                d * d
            })
            .sum::<f32>()
    });
    sum
}

/// The exact dot product of two `i8` vectors.
///
/// # Safety
/// Always safe, as [`dot_qh`].
pub unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum()
}
