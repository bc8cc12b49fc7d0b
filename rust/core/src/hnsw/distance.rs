//! Distance kernels, chosen once per index for the CPU it runs on.
//!
//! Every stored vector `x` is kept as `x = s * (c + r)`:
//! * an **int8 code** `c` (components in `[-127, 127]`, `s = max |x| / 127`) that the graph is
//!   built and walked on: a quarter of the bytes of `f32`, and integer dot products, which
//!   AVX-512 VNNI, AVX2 and NEON all do well;
//! * a **half-float residual** `r = x / s - c` (in `[-0.5, 0.5]`) that the walk's candidates are
//!   re-ranked on together with the code. The residual's own rounding error is at most 2^-12,
//!   so `x` is kept to about 2^-19 of its largest component: near-ties at the k-th place come
//!   out as exact float32 search orders them, which plain half floats (2^-11 of each
//!   component) would not.
//!
//! Every vector is padded with zeros (residuals to a multiple of [`LANES`], codes to
//! [`CODE_ALIGN`] bytes), so the kernels have no tails. Sets: `avx512` (x86-64 with AVX-512 F,
//! BW and VNNI), `avx2` (x86-64 with AVX2, FMA and F16C), `neon` (every aarch64 CPU), and the
//! portable `scalar` set, which is the reference the others are tested against.

#[cfg(target_arch = "aarch64")]
use super::kernels_neon as neon;
use super::kernels_scalar as scalar;
#[cfg(target_arch = "x86_64")]
use super::kernels_x86 as x86;

/// Residuals (and prepared queries) are padded to a multiple of this many components.
pub const LANES: usize = 16;
/// Codes are padded to a multiple of this many bytes (one cache line, one AVX-512 register).
pub const CODE_ALIGN: usize = 64;

type DotQcr = unsafe fn(&[f32], &[i8], &[u16]) -> f32;
type DotI8 = unsafe fn(&[i8], &[i8]) -> i32;

/// One set of kernels, chosen for the CPU at run time.
#[derive(Clone, Copy)]
pub struct Kernels {
    name: &'static str,
    dot_qcr: DotQcr,
    dot_i8: DotI8,
}

impl std::fmt::Debug for Kernels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Kernels {
    /// The fastest kernels this CPU supports (the first of [`Kernels::available`]).
    pub fn detect() -> Self {
        Self::available()[0]
    }

    /// Portable kernels, used where no SIMD set is available (and to check the others).
    pub fn scalar() -> Self {
        Kernels { name: "scalar", dot_qcr: scalar::dot_qcr, dot_i8: scalar::dot_i8 }
    }

    /// Every kernel set this CPU can run, fastest first (for tests and benchmarks).
    pub fn available() -> Vec<Self> {
        #[allow(unused_mut)]
        let mut out = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::is_x86_feature_detected!("avx2")
                && std::is_x86_feature_detected!("fma")
                && std::is_x86_feature_detected!("f16c");
            let vnni = std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512vnni");
            if avx2 && vnni {
                out.push(x86::AVX512);
            }
            if avx2 {
                out.push(x86::AVX2);
            }
        }
        #[cfg(target_arch = "aarch64")]
        out.push(neon::NEON);
        out.push(Self::scalar());
        out
    }

    /// The kernel set's name: `"avx512"`, `"avx2"`, `"neon"` or `"scalar"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    #[inline(always)]
    fn check(a: usize, b: usize, pad: usize) {
        assert!(
            a == b && a.is_multiple_of(pad),
            "kernel lengths {a} and {b} must match and be padded"
        );
    }

    /// `q . (c + r)` for an `f32` query, a code and a half-float residual, all of the same
    /// padded length (a code is passed cut to the residual's length).
    #[inline]
    pub fn dot_qcr(&self, q: &[f32], c: &[i8], r: &[u16]) -> f32 {
        Self::check(q.len(), r.len(), LANES);
        Self::check(c.len(), r.len(), LANES);
        // SAFETY: lengths checked above; the set was chosen for a CPU that has its features.
        unsafe { (self.dot_qcr)(q, c, r) }
    }

    /// The exact integer dot product of two codes of the same padded length.
    #[inline]
    pub fn dot_i8(&self, a: &[i8], b: &[i8]) -> i32 {
        Self::check(a.len(), b.len(), CODE_ALIGN);
        // SAFETY: as in `dot_qcr`.
        unsafe { (self.dot_i8)(a, b) }
    }

    pub(super) const fn from_fns(name: &'static str, dot_qcr: DotQcr, dot_i8: DotI8) -> Self {
        Kernels { name, dot_qcr, dot_i8 }
    }
}

/// Hints the CPU to fetch `bytes` bytes at `ptr` into cache (a no-op where unsupported).
#[inline(always)]
pub fn prefetch<T>(ptr: *const T, bytes: usize) {
    let p = ptr as *const i8;
    let mut off = 0;
    while off < bytes {
        prefetch_line(p.wrapping_add(off));
        off += 64;
    }
}

#[inline(always)]
fn prefetch_line(p: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching never faults, even on an invalid address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: as above: `prfm` is a hint and never faults.
    unsafe {
        std::arch::asm!("prfm pldl1keep, [{0}]", in(reg) p, options(nostack, readonly, preserves_flags))
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = p;
}
