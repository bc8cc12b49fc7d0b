//! x86-64 kernels: AVX2 + FMA + F16C, and AVX-512 (F, BW, VNNI) for the int8 codes.
//!
//! Codes hold values in `[-127, 127]` (never -128), which the AVX2 kernel relies on: its
//! `maddubs` pairs then stay below `i16::MAX`.

use super::distance::Kernels;
use std::arch::x86_64::*;

/// AVX2 half-float kernels with the AVX-512 VNNI int8 kernel. The half-float kernels stay on
/// 256-bit registers: on the AMD Zen 4 host the 512-bit ones measured no faster (the
/// conversion is split in two halves there), see docs/results/hnsw.md.
pub const AVX512: Kernels = Kernels::from_fns("avx512", dot_qh_256, l2_qh_256, dot_i8_vnni);

/// AVX2 + FMA + F16C.
pub const AVX2: Kernels = Kernels::from_fns("avx2", dot_qh_256, l2_qh_256, dot_i8_256);

/// Half-float kernels on 512-bit registers (benchmarked against the 256-bit ones).
pub const AVX512_F16: Kernels = Kernels::from_fns("avx512-f16", dot_qh_512, l2_qh_512, dot_i8_vnni);

#[inline(always)]
unsafe fn half16(p: *const u16) -> __m512 {
    _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i))
}

#[target_feature(enable = "avx512f")]
unsafe fn dot_qh_512(q: &[f32], h: &[u16]) -> f32 {
    let (qp, hp, n) = (q.as_ptr(), h.as_ptr(), q.len());
    let mut a0 = _mm512_setzero_ps();
    let mut a1 = _mm512_setzero_ps();
    let mut i = 0;
    while i + 32 <= n {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qp.add(i)), half16(hp.add(i)), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(qp.add(i + 16)), half16(hp.add(i + 16)), a1);
        i += 32;
    }
    if i < n {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qp.add(i)), half16(hp.add(i)), a0);
    }
    _mm512_reduce_add_ps(_mm512_add_ps(a0, a1))
}

#[target_feature(enable = "avx512f")]
unsafe fn l2_qh_512(q: &[f32], s: f32, h: &[u16]) -> f32 {
    let (qp, hp, n) = (q.as_ptr(), h.as_ptr(), q.len());
    let sv = _mm512_set1_ps(s);
    let mut acc = _mm512_setzero_ps();
    let mut i = 0;
    while i < n {
        let d = _mm512_fnmadd_ps(sv, half16(hp.add(i)), _mm512_loadu_ps(qp.add(i)));
        acc = _mm512_fmadd_ps(d, d, acc);
        i += 16;
    }
    _mm512_reduce_add_ps(acc)
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
unsafe fn half8(p: *const u16) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
}

#[inline(always)]
unsafe fn sum256(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    _mm_cvtss_f32(s)
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_qh_256(q: &[f32], h: &[u16]) -> f32 {
    let (qp, hp, n) = (q.as_ptr(), h.as_ptr(), q.len());
    let mut a0 = _mm256_setzero_ps();
    let mut a1 = _mm256_setzero_ps();
    let mut i = 0;
    while i < n {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i)), half8(hp.add(i)), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qp.add(i + 8)), half8(hp.add(i + 8)), a1);
        i += 16;
    }
    sum256(_mm256_add_ps(a0, a1))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn l2_qh_256(q: &[f32], s: f32, h: &[u16]) -> f32 {
    let (qp, hp, n) = (q.as_ptr(), h.as_ptr(), q.len());
    let sv = _mm256_set1_ps(s);
    let mut a0 = _mm256_setzero_ps();
    let mut a1 = _mm256_setzero_ps();
    let mut i = 0;
    while i < n {
        let d0 = _mm256_fnmadd_ps(sv, half8(hp.add(i)), _mm256_loadu_ps(qp.add(i)));
        let d1 = _mm256_fnmadd_ps(sv, half8(hp.add(i + 8)), _mm256_loadu_ps(qp.add(i + 8)));
        a0 = _mm256_fmadd_ps(d0, d0, a0);
        a1 = _mm256_fmadd_ps(d1, d1, a1);
        i += 16;
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
