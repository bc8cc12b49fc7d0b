//! Distance kernels over vectors stored as IEEE half floats with a per-vector scale.
//!
//! Stored vectors are `scale * h` where `h` is a half-float vector in `[-1, 1]`: half the bytes
//! of `f32` (so a 100k x 384 index fits in the last-level cache) with a relative error near
//! 2^-11, far below the gaps between neighbours. Queries stay `f32`. Every vector is padded
//! with zeros to a multiple of [`LANES`], so the kernels have no tails. The kernel set is chosen
//! once at run time: AVX-512, AVX2 + FMA + F16C, or portable scalar code.

use crate::error::{Error, Result};

/// Vectors are padded to a multiple of this many components.
pub const LANES: usize = 16;

/// How two vectors are compared; smaller distances are nearer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// `1 - cos(a, b)`; vectors are L2-normalised on the way in.
    Cosine,
    /// `1 - a.b` (as hnswlib's `ip`).
    InnerProduct,
    /// Squared Euclidean distance (as hnswlib's `l2`).
    L2,
}

impl Metric {
    /// Parses `"cosine"`, `"ip"` or `"l2"` (the names hnswlib uses).
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cosine" => Ok(Metric::Cosine),
            "ip" | "inner_product" | "dot" => Ok(Metric::InnerProduct),
            "l2" | "euclidean" => Ok(Metric::L2),
            _ => {
                Err(Error::invalid(format!("metric must be 'cosine', 'ip' or 'l2', got {name:?}")))
            }
        }
    }

    /// The canonical name of the metric.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::InnerProduct => "ip",
            Metric::L2 => "l2",
        }
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            Metric::Cosine => 0,
            Metric::InnerProduct => 1,
            Metric::L2 => 2,
        }
    }

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Metric::Cosine),
            1 => Some(Metric::InnerProduct),
            2 => Some(Metric::L2),
            _ => None,
        }
    }
}

/// Rounds `x` to the nearest half float (ties to even); out-of-range values become infinite.
pub fn f32_to_f16(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = b & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        if e < -10 {
            return sign;
        }
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let kept = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let half = 1 << (shift - 1);
        let round = rem > half || (rem == half && kept & 1 == 1);
        return sign | (kept + round as u32) as u16;
    }
    let h = ((e as u32) << 10) | (man >> 13);
    let rem = man & 0x1fff;
    // A carry out of the mantissa correctly bumps the exponent (to infinity at the top).
    let round = rem > 0x1000 || (rem == 0x1000 && h & 1 == 1);
    sign | (h + round as u32) as u16
}

/// The exact `f32` value of a half float.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    if exp == 0 {
        let v = man as f32 * (1.0 / 16_777_216.0);
        return if sign != 0 { -v } else { v };
    }
    if exp == 0x1f {
        return f32::from_bits(sign | 0x7f80_0000 | (man << 13));
    }
    f32::from_bits(sign | ((exp + 112) << 23) | (man << 13))
}

type DotQh = unsafe fn(&[f32], &[u16]) -> f32;
type DotHh = unsafe fn(&[u16], &[u16]) -> f32;
type L2Qh = unsafe fn(&[f32], f32, &[u16]) -> f32;
type L2Hh = unsafe fn(f32, &[u16], f32, &[u16]) -> f32;

/// One set of kernels, chosen for the CPU at run time.
#[derive(Clone, Copy)]
pub struct Kernels {
    name: &'static str,
    dot_qh: DotQh,
    dot_hh: DotHh,
    l2_qh: L2Qh,
    l2_hh: L2Hh,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Kernels {
    /// The fastest kernels this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return x86::AVX512;
            }
            if std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c")
            {
                return x86::AVX2;
            }
        }
        Self::scalar()
    }

    /// Portable kernels, used where no SIMD set is available (and to check the others).
    pub fn scalar() -> Self {
        Kernels {
            name: "scalar",
            dot_qh: scalar::dot_qh,
            dot_hh: scalar::dot_hh,
            l2_qh: scalar::l2_qh,
            l2_hh: scalar::l2_hh,
        }
    }

    /// Every kernel set this CPU can run, fastest first (for tests and benchmarks).
    pub fn available() -> Vec<Self> {
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                out.push(x86::AVX512);
            }
            if std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c")
            {
                out.push(x86::AVX2);
            }
        }
        out.push(Self::scalar());
        out
    }

    /// The kernel set's name: `"avx512"`, `"avx2"` or `"scalar"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    fn check(a: usize, b: usize) {
        assert!(
            a == b && a.is_multiple_of(LANES),
            "kernel lengths {a} and {b} must match and be padded"
        );
    }

    /// `q . h` for an `f32` query and a stored half vector of the same padded length.
    #[inline]
    pub fn dot_qh(&self, q: &[f32], h: &[u16]) -> f32 {
        Self::check(q.len(), h.len());
        // SAFETY: lengths checked above; the set was chosen for a CPU that has its features.
        unsafe { (self.dot_qh)(q, h) }
    }

    /// `a . b` for two stored half vectors.
    #[inline]
    pub fn dot_hh(&self, a: &[u16], b: &[u16]) -> f32 {
        Self::check(a.len(), b.len());
        // SAFETY: as in `dot_qh`.
        unsafe { (self.dot_hh)(a, b) }
    }

    /// `|q - s h|^2`.
    #[inline]
    pub fn l2_qh(&self, q: &[f32], s: f32, h: &[u16]) -> f32 {
        Self::check(q.len(), h.len());
        // SAFETY: as in `dot_qh`.
        unsafe { (self.l2_qh)(q, s, h) }
    }

    /// `|sa a - sb b|^2`.
    #[inline]
    pub fn l2_hh(&self, sa: f32, a: &[u16], sb: f32, b: &[u16]) -> f32 {
        Self::check(a.len(), b.len());
        // SAFETY: as in `dot_qh`.
        unsafe { (self.l2_hh)(sa, a, sb, b) }
    }
}

mod scalar {
    use super::f16_to_f32;

    pub unsafe fn dot_qh(q: &[f32], h: &[u16]) -> f32 {
        q.iter().zip(h).map(|(a, b)| a * f16_to_f32(*b)).sum()
    }
    pub unsafe fn dot_hh(a: &[u16], b: &[u16]) -> f32 {
        a.iter().zip(b).map(|(x, y)| f16_to_f32(*x) * f16_to_f32(*y)).sum()
    }
    pub unsafe fn l2_qh(q: &[f32], s: f32, h: &[u16]) -> f32 {
        q.iter()
            .zip(h)
            .map(|(a, b)| {
                let d = a - s * f16_to_f32(*b);
                d * d
            })
            .sum()
    }
    pub unsafe fn l2_hh(sa: f32, a: &[u16], sb: f32, b: &[u16]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| {
                let d = sa * f16_to_f32(*x) - sb * f16_to_f32(*y);
                d * d
            })
            .sum()
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Kernels;
    use std::arch::x86_64::*;

    pub const AVX512: Kernels = Kernels {
        name: "avx512",
        dot_qh: dot_qh_512,
        dot_hh: dot_hh_512,
        l2_qh: l2_qh_512,
        l2_hh: l2_hh_512,
    };

    pub const AVX2: Kernels = Kernels {
        name: "avx2",
        dot_qh: dot_qh_256,
        dot_hh: dot_hh_256,
        l2_qh: l2_qh_256,
        l2_hh: l2_hh_256,
    };

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
    unsafe fn dot_hh_512(a: &[u16], b: &[u16]) -> f32 {
        let (ap, bp, n) = (a.as_ptr(), b.as_ptr(), a.len());
        let mut a0 = _mm512_setzero_ps();
        let mut a1 = _mm512_setzero_ps();
        let mut i = 0;
        while i + 32 <= n {
            a0 = _mm512_fmadd_ps(half16(ap.add(i)), half16(bp.add(i)), a0);
            a1 = _mm512_fmadd_ps(half16(ap.add(i + 16)), half16(bp.add(i + 16)), a1);
            i += 32;
        }
        if i < n {
            a0 = _mm512_fmadd_ps(half16(ap.add(i)), half16(bp.add(i)), a0);
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

    #[target_feature(enable = "avx512f")]
    unsafe fn l2_hh_512(sa: f32, a: &[u16], sb: f32, b: &[u16]) -> f32 {
        let (ap, bp, n) = (a.as_ptr(), b.as_ptr(), a.len());
        let (va, vb) = (_mm512_set1_ps(sa), _mm512_set1_ps(sb));
        let mut acc = _mm512_setzero_ps();
        let mut i = 0;
        while i < n {
            let y = _mm512_mul_ps(vb, half16(bp.add(i)));
            let d = _mm512_fmsub_ps(va, half16(ap.add(i)), y);
            acc = _mm512_fmadd_ps(d, d, acc);
            i += 16;
        }
        _mm512_reduce_add_ps(acc)
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
    unsafe fn dot_hh_256(a: &[u16], b: &[u16]) -> f32 {
        let (ap, bp, n) = (a.as_ptr(), b.as_ptr(), a.len());
        let mut a0 = _mm256_setzero_ps();
        let mut a1 = _mm256_setzero_ps();
        let mut i = 0;
        while i < n {
            a0 = _mm256_fmadd_ps(half8(ap.add(i)), half8(bp.add(i)), a0);
            a1 = _mm256_fmadd_ps(half8(ap.add(i + 8)), half8(bp.add(i + 8)), a1);
            i += 16;
        }
        sum256(_mm256_add_ps(a0, a1))
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn l2_qh_256(q: &[f32], s: f32, h: &[u16]) -> f32 {
        let (qp, hp, n) = (q.as_ptr(), h.as_ptr(), q.len());
        let sv = _mm256_set1_ps(s);
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i < n {
            let d = _mm256_fnmadd_ps(sv, half8(hp.add(i)), _mm256_loadu_ps(qp.add(i)));
            acc = _mm256_fmadd_ps(d, d, acc);
            i += 8;
        }
        sum256(acc)
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn l2_hh_256(sa: f32, a: &[u16], sb: f32, b: &[u16]) -> f32 {
        let (ap, bp, n) = (a.as_ptr(), b.as_ptr(), a.len());
        let (va, vb) = (_mm256_set1_ps(sa), _mm256_set1_ps(sb));
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i < n {
            let y = _mm256_mul_ps(vb, half8(bp.add(i)));
            let d = _mm256_fmsub_ps(va, half8(ap.add(i)), y);
            acc = _mm256_fmadd_ps(d, d, acc);
            i += 8;
        }
        sum256(acc)
    }
}

/// Hints the CPU to fetch `bytes` bytes at `ptr` into cache (a no-op off x86-64).
#[inline(always)]
pub fn prefetch<T>(ptr: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = ptr as *const i8;
        let mut off = 0;
        while off < bytes {
            // SAFETY: prefetching never faults, even on an invalid address.
            unsafe {
                std::arch::x86_64::_mm_prefetch(p.wrapping_add(off), std::arch::x86_64::_MM_HINT_T0)
            };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (ptr, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    #[test]
    fn half_conversion_round_trips_and_rounds_to_nearest() {
        for h in 0..=u16::MAX {
            let x = f16_to_f32(h);
            if x.is_nan() {
                continue;
            }
            assert_eq!(f32_to_f16(x), h, "half {h:#x} = {x}");
        }
        let mut seed = 7;
        for _ in 0..10_000 {
            let x = lcg(&mut seed) * 3.0;
            let back = f16_to_f32(f32_to_f16(x));
            assert!((back - x).abs() <= x.abs() * 4.9e-4 + 6e-8, "{x} -> {back}");
        }
        assert_eq!(f32_to_f16(1e6), 0x7c00);
        assert_eq!(f16_to_f32(f32_to_f16(1e-9)), 0.0);
    }

    #[test]
    fn every_kernel_set_agrees_with_scalar() {
        let scalar = Kernels::scalar();
        let mut seed = 11;
        for dim in [16, 32, 48, 384, 400] {
            let q: Vec<f32> = (0..dim).map(|_| lcg(&mut seed)).collect();
            let a: Vec<u16> = (0..dim).map(|_| f32_to_f16(lcg(&mut seed))).collect();
            let b: Vec<u16> = (0..dim).map(|_| f32_to_f16(lcg(&mut seed))).collect();
            for k in Kernels::available() {
                let close = |x: f32, y: f32| (x - y).abs() <= 1e-4 * (1.0 + y.abs());
                assert!(close(k.dot_qh(&q, &a), scalar.dot_qh(&q, &a)), "{k:?} dot_qh {dim}");
                assert!(close(k.dot_hh(&a, &b), scalar.dot_hh(&a, &b)), "{k:?} dot_hh {dim}");
                assert!(close(k.l2_qh(&q, 0.7, &a), scalar.l2_qh(&q, 0.7, &a)), "{k:?} l2_qh");
                assert!(
                    close(k.l2_hh(0.5, &a, 2.0, &b), scalar.l2_hh(0.5, &a, 2.0, &b)),
                    "{k:?} l2_hh"
                );
            }
        }
    }

    #[test]
    fn metric_names_parse_and_unknown_is_named() {
        assert_eq!(Metric::parse("cosine").unwrap(), Metric::Cosine);
        assert_eq!(Metric::parse("ip").unwrap().name(), "ip");
        let err = Metric::parse("hamming").unwrap_err().to_string();
        assert!(err.contains("metric"), "{err}");
    }
}
