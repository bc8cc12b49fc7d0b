//! x86-64 kernels: AVX2 + FMA + F16C, and AVX-512 (F, BW, VNNI) for the int8 codes.
//!
//! Codes hold values in `[-127, 127]` (never -128), which the AVX2 kernel relies on: its
//! `maddubs` pairs then stay below `i16::MAX`.

use super::distance::Kernels;
use std::arch::x86_64::*;

/// AVX-512 (F, BW, VNNI): 16 lanes per step for the re-ranking kernel, VNNI for the codes.
pub const AVX512: Kernels = Kernels::from_fns("avx512", dot_qcr_512, dot_i8_vnni);

/// AVX2 + FMA + F16C.
pub const AVX2: Kernels = Kernels::from_fns("avx2", dot_qcr_256, dot_i8_256);

#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn dot_qcr_512(q: &[f32], c: &[i8], r: &[u16]) -> f32 {
    let (qp, cp, rp, n) = (q.as_ptr(), c.as_ptr(), r.as_ptr(), q.len());
    let mut a0 = _mm512_setzero_ps();
    let mut a1 = _mm512_setzero_ps();
    let mut i = 0;
    while i < n {
        let code = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(cp.add(i) as *const _)));
        let res = _mm512_cvtph_ps(_mm256_loadu_si256(rp.add(i) as *const _));
        let qv = _mm512_loadu_ps(qp.add(i));
        a0 = _mm512_fmadd_ps(qv, code, a0);
        a1 = _mm512_fmadd_ps(qv, res, a1);
        i += 16;
    }
    _mm512_reduce_add_ps(_mm512_add_ps(a0, a1))
}

/// `sum((a + 128) * b) - sum(128 * b)`: VNNI multiplies unsigned by signed bytes, so `a` is
/// biased into `u8` by flipping its sign bit and the bias is taken off at the end.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn dot_i8_vnni(a: &[i8], b: &[i8]) -> i32 {
    let (ap, bp, n) = (a.as_ptr(), b.as_ptr(), a.len());
    let bias = _mm512_set1_epi8(-128);
    let mut acc = _mm512_setzero_si512();
    let mut corr = _mm512_setzero_si512();
    let mut i = 0;
    while i < n {
        let x = _mm512_loadu_si512(ap.add(i) as *const _);
        let y = _mm512_loadu_si512(bp.add(i) as *const _);
        acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(x, bias), y);
        corr = _mm512_dpbusd_epi32(corr, bias, y);
        i += 64;
    }
    _mm512_reduce_add_epi32(_mm512_sub_epi32(acc, corr))
}

#[inline(always)]
unsafe fn sum256(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_qcr_256(q: &[f32], c: &[i8], r: &[u16]) -> f32 {
    let (qp, cp, rp, n) = (q.as_ptr(), c.as_ptr(), r.as_ptr(), q.len());
    let mut a0 = _mm256_setzero_ps();
    let mut a1 = _mm256_setzero_ps();
    let mut i = 0;
    while i < n {
        let code = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(cp.add(i) as *const _)));
        let res = _mm256_cvtph_ps(_mm_loadu_si128(rp.add(i) as *const _));
        let qv = _mm256_loadu_ps(qp.add(i));
        a0 = _mm256_fmadd_ps(qv, code, a0);
        a1 = _mm256_fmadd_ps(qv, res, a1);
        i += 8;
    }
    sum256(_mm256_add_ps(a0, a1))
}

/// `maddubs(|a|, sign(b, a))` is `a * b` pairwise summed into `i16`, exact while no code is
/// -128 (two products of at most 127 * 127 each stay below `i16::MAX`).
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_256(a: &[i8], b: &[i8]) -> i32 {
    let (ap, bp, n) = (a.as_ptr(), b.as_ptr(), a.len());
    let ones = _mm256_set1_epi16(1);
    let mut a0 = _mm256_setzero_si256();
    let mut a1 = _mm256_setzero_si256();
    let mut i = 0;
    while i < n {
        let x0 = _mm256_loadu_si256(ap.add(i) as *const __m256i);
        let y0 = _mm256_loadu_si256(bp.add(i) as *const __m256i);
        let x1 = _mm256_loadu_si256(ap.add(i + 32) as *const __m256i);
        let y1 = _mm256_loadu_si256(bp.add(i + 32) as *const __m256i);
        let p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(x0), _mm256_sign_epi8(y0, x0));
        let p1 = _mm256_maddubs_epi16(_mm256_abs_epi8(x1), _mm256_sign_epi8(y1, x1));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(p0, ones));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(p1, ones));
        i += 64;
    }
    let s = _mm256_add_epi32(a0, a1);
    let s = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
    _mm_cvtsi128_si32(s)
}
