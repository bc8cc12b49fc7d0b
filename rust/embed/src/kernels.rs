//! The numeric kernels of the encoder on plain row-major `f32` slices: the linear layer on
//! candle's matrix-multiply crate (`gemm`), layer norm, GELU and the attention of one head.

use rayon::prelude::*;

/// Rows at or above which the row-wise kernels split their work over the rayon pool; below it,
/// the cost of waking a thread exceeds the work.
const PARALLEL_ROWS: usize = 64;

/// `y (rows x n_out) = x (rows x n_in) . w^T + b`, with `w` in PyTorch's `(n_out, n_in)` layout.
/// The caller guarantees the slice lengths (checked by debug assertions).
pub fn linear(x: &[f32], rows: usize, w: &[f32], b: &[f32], n_in: usize, y: &mut [f32]) {
    let n_out = b.len();
    debug_assert_eq!(x.len(), rows * n_in);
    debug_assert_eq!(w.len(), n_out * n_in);
    debug_assert_eq!(y.len(), rows * n_out);
    if rows == 0 {
        return;
    }
    for row in y.chunks_exact_mut(n_out) {
        row.copy_from_slice(b);
    }
    let parallelism = if rayon::current_num_threads() > 1 {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the three slices hold exactly rows x n_out, rows x n_in and n_out x n_in values
    // (asserted above by the callers' shapes), and the strides below stay inside them:
    // dst and lhs are row-major; rhs(k, j) = w[j * n_in + k] reads w transposed in place.
    unsafe {
        gemm::gemm(
            rows,
            n_out,
            n_in,
            y.as_mut_ptr(),
            1,
            n_out as isize,
            true,
            x.as_ptr(),
            1,
            n_in as isize,
            w.as_ptr(),
            n_in as isize,
            1,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn for_rows(data: &mut [f32], width: usize, f: impl Fn(&mut [f32]) + Sync + Send) {
    if data.len() / width.max(1) >= PARALLEL_ROWS {
        data.par_chunks_mut(width * 16)
            .for_each(|block| block.chunks_exact_mut(width).for_each(&f));
    } else {
        data.chunks_exact_mut(width).for_each(f);
    }
}

/// `x = layer_norm(x + residual)` row by row (`residual` may be absent).
pub fn add_layer_norm(x: &mut [f32], residual: Option<&[f32]>, g: &[f32], b: &[f32], eps: f32) {
    let width = g.len();
    if let Some(r) = residual {
        x.iter_mut().zip(r).for_each(|(a, r)| *a += r);
    }
    for_rows(x, width, |row| {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(g).zip(b) {
            *v = (*v - mean) * inv * g + b;
        }
    });
}

/// The error function, to about 1e-7 absolute: the rational approximation Eigen and XLA use
/// for `float` (branch-free, so the GELU loop vectorises; exact `erff` made GELU as slow as
/// the matrix products).
#[inline]
pub fn erf(x: f32) -> f32 {
    // Plain multiply-adds, not `mul_add`: without FMA in the compile-time target features
    // `mul_add` becomes a call to the software `fmaf` (measured: 15% of all encoder time).
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    x * p / q
}

/// Dot product with eight independent partial sums, so the compiler can keep them in one
/// vector register (a single running sum would force strict sequential order).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The feed-forward activations, in place.
pub fn activate(x: &mut [f32], act: crate::config::Activation) {
    use crate::config::Activation;
    let f = move |chunk: &mut [f32]| match act {
        Activation::Gelu => chunk
            .iter_mut()
            .for_each(|v| *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2))),
        Activation::GeluTanh => chunk.iter_mut().for_each(|v| {
            let u = 0.797_884_6 * (*v + 0.044_715 * *v * *v * *v);
            *v = 0.5 * *v * (1.0 + u.tanh());
        }),
        Activation::Relu => chunk.iter_mut().for_each(|v| *v = v.max(0.0)),
    };
    if x.len() >= 1 << 15 {
        x.par_chunks_mut(1 << 13).for_each(f);
    } else {
        f(x);
    }
}

/// Softmax attention of one head over one sequence of `len` tokens.
///
/// `qkv` holds the sequence's rows of the fused projection (`3 * hidden` wide: queries, keys,
/// values); `head` picks the `dh`-wide slice of each. Writes the `len x dh` context to `out`.
pub fn attend(qkv: &[f32], len: usize, hidden: usize, head: usize, dh: usize, out: &mut [f32]) {
    let stride = 3 * hidden;
    let (qo, ko, vo) = (head * dh, hidden + head * dh, 2 * hidden + head * dh);
    let scale = 1.0 / (dh as f32).sqrt();
    let mut scores = vec![0.0f32; len];
    for i in 0..len {
        let q = &qkv[i * stride + qo..i * stride + qo + dh];
        let mut max = f32::NEG_INFINITY;
        for (j, s) in scores.iter_mut().enumerate() {
            let k = &qkv[j * stride + ko..j * stride + ko + dh];
            *s = dot(q, k) * scale;
            max = max.max(*s);
        }
        let mut sum = 0.0;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        let o = &mut out[i * dh..(i + 1) * dh];
        o.fill(0.0);
        for (j, s) in scores.iter().enumerate() {
            let v = &qkv[j * stride + vo..j * stride + vo + dh];
            let p = s * inv;
            o.iter_mut().zip(v).for_each(|(o, v)| *o += p * v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_reference_values() {
        // Values from Abramowitz & Stegun, table 7.1 (to 10 digits).
        for (x, want) in [
            (0.0f32, 0.0f64),
            (0.1, 0.112_462_916),
            (0.5, 0.520_499_878),
            (1.0, 0.842_700_793),
            (1.5, 0.966_105_146),
            (2.0, 0.995_322_265),
            (3.0, 0.999_977_910),
            (5.0, 1.0),
        ] {
            assert!((f64::from(erf(x)) - want).abs() < 2e-7, "erf({x}) = {} != {want}", erf(x));
            assert!((f64::from(erf(-x)) + want).abs() < 2e-7);
        }
    }

    #[test]
    fn linear_matches_a_naive_product() {
        let (rows, n_in, n_out) = (3, 5, 4);
        let x: Vec<f32> = (0..rows * n_in).map(|i| (i as f32 * 0.37).sin()).collect();
        let w: Vec<f32> = (0..n_out * n_in).map(|i| (i as f32 * 0.11).cos()).collect();
        let b: Vec<f32> = (0..n_out).map(|i| i as f32 * 0.5).collect();
        let mut y = vec![0.0; rows * n_out];
        linear(&x, rows, &w, &b, n_in, &mut y);
        for r in 0..rows {
            for o in 0..n_out {
                let want: f32 =
                    b[o] + (0..n_in).map(|k| x[r * n_in + k] * w[o * n_in + k]).sum::<f32>();
                assert!((y[r * n_out + o] - want).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn attention_of_one_token_returns_its_value() {
        let hidden = 4;
        let qkv: Vec<f32> = (0..3 * hidden).map(|i| i as f32).collect();
        let mut out = vec![0.0; 2];
        attend(&qkv, 1, hidden, 1, 2, &mut out);
        assert_eq!(out, vec![10.0, 11.0]);
    }
}
