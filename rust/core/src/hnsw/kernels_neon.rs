//! aarch64 kernels on NEON (Advanced SIMD), which every aarch64 CPU has.
//!
//! Half floats are widened with integer operations rather than `fcvtl`, whose intrinsics need
//! Rust's unstable `f16` type: shifting the magnitude bits into place and multiplying by 2^112
//! rebases the exponent and turns half subnormals into the right `f32` values in one step
//! (stored vectors are always finite, so the infinity encoding never occurs).

use super::distance::Kernels;
use std::arch::aarch64::*;

/// NEON kernels.
pub const NEON: Kernels = Kernels::from_fns("neon", dot_qcr, dot_i8);

/// Four half floats (as `u16`) widened to `f32`.
#[inline(always)]
unsafe fn widen(h: uint16x4_t) -> float32x4_t {
    let w = vmovl_u16(h);
    let sign = vshlq_n_u32::<16>(vandq_u32(w, vdupq_n_u32(0x8000)));
    let mag = vshlq_n_u32::<13>(vandq_u32(w, vdupq_n_u32(0x7fff)));
    let v = vmulq_f32(vreinterpretq_f32_u32(mag), vdupq_n_f32(f32::from_bits(0x7780_0000)));
    vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(v), sign))
}

#[target_feature(enable = "neon")]
unsafe fn dot_qcr(q: &[f32], c: &[i8], r: &[u16]) -> f32 {
    let (qp, cp, rp, n) = (q.as_ptr(), c.as_ptr(), r.as_ptr(), q.len());
    let mut a0 = vdupq_n_f32(0.0);
    let mut a1 = vdupq_n_f32(0.0);
    let mut a2 = vdupq_n_f32(0.0);
    let mut a3 = vdupq_n_f32(0.0);
    let mut i = 0;
    while i < n {
        let c16 = vmovl_s8(vld1_s8(cp.add(i)));
        let c0 = vcvtq_f32_s32(vmovl_s16(vget_low_s16(c16)));
        let c1 = vcvtq_f32_s32(vmovl_high_s16(c16));
        let rv = vld1q_u16(rp.add(i));
        let q0 = vld1q_f32(qp.add(i));
        let q1 = vld1q_f32(qp.add(i + 4));
        a0 = vfmaq_f32(a0, q0, c0);
        a1 = vfmaq_f32(a1, q1, c1);
        a2 = vfmaq_f32(a2, q0, widen(vget_low_u16(rv)));
        a3 = vfmaq_f32(a3, q1, widen(vget_high_u16(rv)));
        i += 8;
    }
    vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)))
}

/// Widening multiplies into `i16` (127 * 127 and even 128 * 128 fit), pairwise added into
/// `i32` accumulators.
#[target_feature(enable = "neon")]
unsafe fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let (ap, bp, n) = (a.as_ptr(), b.as_ptr(), a.len());
    let mut a0 = vdupq_n_s32(0);
    let mut a1 = vdupq_n_s32(0);
    let mut i = 0;
    while i < n {
        let x = vld1q_s8(ap.add(i));
        let y = vld1q_s8(bp.add(i));
        a0 = vpadalq_s16(a0, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
        a1 = vpadalq_s16(a1, vmull_high_s8(x, y));
        i += 16;
    }
    vaddvq_s32(vaddq_s32(a0, a1))
}
