//! Times every distance kernel set this CPU runs on `n` stored 384-d vectors (512 by default,
//! which stay in L1/L2): `cargo run --release -p ferromem-core --example kernel_speed [dim] [n]`.

use std::time::Instant;

use ferromem_core::hnsw::distance::{CODE_ALIGN, LANES};
use ferromem_core::hnsw::Kernels;

fn main() {
    let dim: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(384);
    let (hs, cs) = (dim.div_ceil(LANES) * LANES, dim.div_ceil(CODE_ALIGN) * CODE_ALIGN);
    let n: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(512);
    let mut x = 0x1234_5678u32;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x % 2001) as f32 / 1000.0 - 1.0
    };
    let q: Vec<f32> = (0..hs).map(|_| rnd()).collect();
    let halves: Vec<u16> =
        (0..n * hs).map(|_| half::f16::from_f32(rnd() * 0.5).to_bits()).collect();
    let codes: Vec<i8> = (0..n * cs).map(|_| (rnd() * 127.0) as i8).collect();
    let qc: Vec<i8> = (0..cs).map(|_| (rnd() * 127.0) as i8).collect();
    println!("dim {dim}: ns per distance (best of 5), {n} stored vectors");
    for k in Kernels::available() {
        let mut best = [f64::INFINITY; 2];
        let mut sink = 0.0f32;
        for _ in 0..5 {
            for (j, slot) in best.iter_mut().enumerate() {
                let t = Instant::now();
                for r in 0..20 {
                    for i in 0..n {
                        let i = (i * 7 + r) % n;
                        sink += match j {
                            0 => k.dot_qcr(
                                &q,
                                &codes[i * cs..i * cs + hs],
                                &halves[i * hs..(i + 1) * hs],
                            ),
                            _ => k.dot_i8(&qc, &codes[i * cs..(i + 1) * cs]) as f32,
                        };
                    }
                }
                *slot = slot.min(t.elapsed().as_secs_f64() * 1e9 / (20 * n) as f64);
            }
        }
        println!(
            "{:>8}: re-rank (code + residual) {:6.1}  walk (int8) {:6.1}   ({sink:.0})",
            k.name(),
            best[0],
            best[1]
        );
    }
}
