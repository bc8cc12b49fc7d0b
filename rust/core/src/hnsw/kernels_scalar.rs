//! Portable kernels: the reference every SIMD set is tested against, and the fallback on CPUs
//! without one.

use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};

/// Residuals converted per step: the `half` crate converts a slice at a time (with F16C or
/// FP16 instructions where it finds them), far faster than one value at a time.
const STEP: usize = 16;

/// Calls `f` with each run of `STEP` residuals as `f32`, beside the matching runs of `q` and
/// the code.
#[inline(always)]
fn runs(q: &[f32], c: &[i8], r: &[u16], mut f: impl FnMut(&[f32], &[i8], &[f32])) {
    let mut buf = [0.0f32; STEP];
    for ((qc, cc), rc) in q.chunks(STEP).zip(c.chunks(STEP)).zip(r.chunks(STEP)) {
        let out = &mut buf[..rc.len()];
        rc.reinterpret_cast::<half::f16>().convert_to_f32_slice(out);
        f(qc, cc, out);
    }
}

/// `q . (c + r)`.
///
/// # Safety
/// Always safe; `unsafe` only to share the signature of the SIMD kernels.
pub unsafe fn dot_qcr(q: &[f32], c: &[i8], r: &[u16]) -> f32 {
    let mut sum = 0.0;
    runs(q, c, r, |q, c, r| {
        sum += q.iter().zip(c).zip(r).map(|((q, c), r)| q * (f32::from(*c) + r)).sum::<f32>()
    });
    sum
}

/// The exact dot product of two `i8` vectors.
///
/// # Safety
/// Always safe, as [`dot_qcr`].
pub unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum()
}
