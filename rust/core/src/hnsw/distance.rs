//! Distance kernels, chosen once per index for the CPU it runs on.
//!
//! Two representations of every stored vector meet here:
//! * an **int8 code** (a per-vector scale times `i8` components in `[-127, 127]`) that the graph
//!   is built and walked on: a quarter of the bytes of `f32` and integer dot products, which
//!   AVX-512 VNNI, AVX2 and NEON all do well;
//! * a **half-float copy** (IEEE binary16 times a per-vector scale) that the candidates of the
//!   walk are re-ranked on, so the distances a search returns are accurate to about 2^-11.
//!
//! Every vector is padded with zeros (half floats to a multiple of [`LANES`], codes to
//! [`CODE_ALIGN`] bytes), so the kernels have no tails. Sets: `avx512` (x86-64 with AVX-512 F,
//! BW and VNNI), `avx2` (x86-64 with AVX2, FMA and F16C), `neon` (every aarch64 CPU), and the
//! portable `scalar` set, which is the reference the others are tested against.

#[cfg(target_arch = "aarch64")]
use super::kernels_neon as neon;
use super::kernels_scalar as scalar;
#[cfg(target_arch = "x86_64")]
use super::kernels_x86 as x86;

/// Half-float vectors are padded to a multiple of this many components.
pub const LANES: usize = 16;
/// Codes are padded to a multiple of this many bytes (one cache line, one AVX-512 register).
pub const CODE_ALIGN: usize = 64;

type DotQh = unsafe fn(&[f32], &[u16]) -> f32;
type L2Qh = unsafe fn(&[f32], f32, &[u16]) -> f32;
type DotI8 = unsafe fn(&[i8], &[i8]) -> i32;

/// One set of kernels, chosen for the CPU at run time.
#[derive(Clone, Copy)]
pub struct Kernels {
    name: &'static str,
    dot_qh: DotQh,
    l2_qh: L2Qh,
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
        Kernels {
            name: "scalar",
            dot_qh: scalar::dot_qh,
            l2_qh: scalar::l2_qh,
            dot_i8: scalar::dot_i8,
        }
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
                out.push(x86::AVX512_F16);
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

    /// The kernel set's name: `"avx512"`, `"avx512-f16"`, `"avx2"`, `"neon"` or `"scalar"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    #[inline(always)]
    fn check(a: usize, b: usize, pad: usize) {
        assert!(a == b && a.is_multiple_of(pad), "kernel lengths {a} and {b} must match and be padded");
    }

    /// `q . h` for an `f32` query and a stored half vector of the same padded length.
    #[inline]
    pub fn dot_qh(&self, q: &[f32], h: &[u16]) -> f32 {
        Self::check(q.len(), h.len(), LANES);
        // SAFETY: lengths checked above; the set was chosen for a CPU that has its features.
        unsafe { (self.dot_qh)(q, h) }
    }

    /// `|q - s h|^2`.
    #[inline]
    pub fn l2_qh(&self, q: &[f32], s: f32, h: &[u16]) -> f32 {
        Self::check(q.len(), h.len(), LANES);
        // SAFETY: as in `dot_qh`.
        unsafe { (self.l2_qh)(q, s, h) }
    }

    /// The exact integer dot product of two codes of the same padded length.
    #[inline]
    pub fn dot_i8(&self, a: &[i8], b: &[i8]) -> i32 {
        Self::check(a.len(), b.len(), CODE_ALIGN);
        // SAFETY: as in `dot_qh`.
        unsafe { (self.dot_i8)(a, b) }
    }

    pub(super) const fn from_fns(name: &'static str, dot_qh: DotQh, l2_qh: L2Qh, dot_i8: DotI8) -> Self {
        Kernels { name, dot_qh, l2_qh, dot_i8 }
    }

    /// A set made of single kernels of other sets (benchmarks pick the fastest per kernel).
    pub fn mixed(name: &'static str, f16_from: Kernels, i8_from: Kernels) -> Self {
        Kernels { name, dot_qh: f16_from.dot_qh, l2_qh: f16_from.l2_qh, dot_i8: i8_from.dot_i8 }
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
