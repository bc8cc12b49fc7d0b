//! Every SIMD kernel set against the scalar reference, over random lengths and values.

use half::f16;
use proptest::prelude::*;

use super::distance::{Kernels, CODE_ALIGN, LANES};
use super::quant::{code_distance, decode, encode_i8, encode_residual, CodeHeader, Query};
use super::Metric;

fn close(x: f32, y: f32, scale: f32) -> bool {
    (x - y).abs() <= 1e-4 * (1.0 + y.abs() + scale)
}

fn halves(v: &[f32]) -> Vec<u16> {
    v.iter().map(|x| f16::from_f32(*x).to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn reranking_kernels_agree_with_scalar(
        blocks in 1usize..40,
        q in proptest::collection::vec(-4.0f32..4.0, 40 * LANES),
        c in proptest::collection::vec(-127i8..=127, 40 * LANES),
        r in proptest::collection::vec(-0.5f32..0.5, 40 * LANES),
    ) {
        let n = blocks * LANES;
        let (q, c, r) = (&q[..n], &c[..n], halves(&r[..n]));
        let want = Kernels::scalar().dot_qcr(q, c, &r);
        let mag: f32 = q.iter().map(|x| x.abs()).sum::<f32>() * 128.0;
        for k in Kernels::available() {
            let got = k.dot_qcr(q, c, &r);
            prop_assert!(close(got, want, mag * 1e-3), "{k:?} dot_qcr n={n}: {got} vs {want}");
        }
    }

    #[test]
    fn int8_kernels_are_exact(
        blocks in 1usize..20,
        a in proptest::collection::vec(-127i8..=127, 20 * CODE_ALIGN),
        b in proptest::collection::vec(-127i8..=127, 20 * CODE_ALIGN),
    ) {
        let n = blocks * CODE_ALIGN;
        let want = Kernels::scalar().dot_i8(&a[..n], &b[..n]);
        for k in Kernels::available() {
            prop_assert_eq!(k.dot_i8(&a[..n], &b[..n]), want, "{:?} n={}", k, n);
        }
    }

    #[test]
    fn code_plus_residual_keeps_vectors_to_2_pow_minus_19(
        x in proptest::collection::vec(-3.0f32..3.0, 1..300),
    ) {
        let len = x.len().div_ceil(CODE_ALIGN) * CODE_ALIGN;
        let mut code = vec![0i8; len];
        let mut res = vec![0u16; len];
        let head = encode_i8(&x, &mut code);
        encode_residual(&x, &code, head, &mut res);
        let mut back = vec![0.0f32; x.len()];
        decode(&code, &res, head, &mut back);
        let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (a, b) in x.iter().zip(&back) {
            prop_assert!((a - b).abs() <= max * 2f32.powi(-19) + 1e-7, "{a} -> {b} (max {max})");
        }
    }

    #[test]
    fn every_code_is_its_value_rounded_to_the_nearest_step(
        x in proptest::collection::vec(-3.0f32..3.0, 1..300),
    ) {
        let mut code = vec![0i8; x.len().div_ceil(CODE_ALIGN) * CODE_ALIGN];
        let head = encode_i8(&x, &mut code);
        for (v, c) in x.iter().zip(&code) {
            let y = v / head.scale;
            prop_assert!((y - f32::from(*c)).abs() <= 0.5 + 1e-5, "{y} -> {c}");
        }
    }

    #[test]
    fn int8_codes_approximate_dot_products(
        x in proptest::collection::vec(-1.0f32..1.0, 1..300),
        y in proptest::collection::vec(-1.0f32..1.0, 300),
    ) {
        let n = x.len();
        let y = &y[..n];
        let len = n.div_ceil(CODE_ALIGN) * CODE_ALIGN;
        let (mut cx, mut cy) = (vec![0i8; len], vec![0i8; len]);
        let (hx, hy) = (encode_i8(&x, &mut cx), encode_i8(y, &mut cy));
        prop_assert!(cx.iter().chain(&cy).all(|c| *c != -128));
        let dot = Kernels::scalar().dot_i8(&cx, &cy);
        let got = 1.0 - code_distance(Metric::InnerProduct, dot, hx, hy);
        let want: f32 = x.iter().zip(y).map(|(a, b)| a * b).sum();
        // Each component is off by at most half a step of its vector's scale.
        let bound = (hx.scale * y.iter().map(|v| v.abs()).sum::<f32>()
            + hy.scale * x.iter().map(|v| v.abs()).sum::<f32>()) * 0.5 + 1e-4;
        prop_assert!((got - want).abs() <= bound, "{got} vs {want} (bound {bound})");
    }
}

#[test]
fn zero_vectors_have_zero_codes() {
    let mut c = vec![5i8; CODE_ALIGN];
    let h = encode_i8(&[0.0; 10], &mut c);
    assert_eq!(h, CodeHeader { scale: 0.0, norm2: 0.0 });
    assert!(c.iter().all(|v| *v == 0));
}

#[test]
fn a_prepared_query_is_normalised_under_cosine_and_padded() {
    let mut q = Query::default();
    q.prepare(&[3.0, 4.0], Metric::Cosine, LANES, CODE_ALIGN);
    assert_eq!(q.f.len(), LANES);
    assert!((q.f[0] - 0.6).abs() < 1e-6 && (q.f[1] - 0.8).abs() < 1e-6);
    assert_eq!((q.code[0], q.code[1], q.code.len()), (95, 127, CODE_ALIGN));
}

#[test]
fn detection_names_a_set_this_cpu_runs() {
    let k = Kernels::detect();
    assert!(Kernels::available().iter().any(|a| a.name() == k.name()));
    assert_eq!(Kernels::available().last().map(|k| k.name()), Some("scalar"));
}
