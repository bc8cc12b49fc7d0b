//! Every SIMD kernel set against the scalar reference, over random lengths and values.

use half::f16;
use proptest::prelude::*;

use super::distance::{Kernels, CODE_ALIGN, LANES};
use super::quant::{code_distance, encode_i8, CodeHeader, Query};
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
    fn half_float_kernels_agree_with_scalar(
        blocks in 1usize..40,
        seed in proptest::collection::vec(-4.0f32..4.0, 2 * 40 * LANES),
        s in 0.01f32..10.0,
    ) {
        let n = blocks * LANES;
        let q = &seed[..n];
        let h = halves(&seed[n..2 * n]);
        let scalar = Kernels::scalar();
        let mag: f32 = q.iter().map(|x| x.abs()).sum::<f32>() * (1.0 + s) * 4.0;
        for k in Kernels::available() {
            prop_assert!(close(k.dot_qh(q, &h), scalar.dot_qh(q, &h), mag), "{k:?} dot_qh n={n}");
            prop_assert!(close(k.l2_qh(q, s, &h), scalar.l2_qh(q, s, &h), mag * mag), "{k:?} l2_qh n={n}");
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
