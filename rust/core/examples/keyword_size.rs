//! Index size and search latency of the keyword index on a file of texts (one per line) and
//! a file of queries: `cargo run --release -p ferromem-core --example keyword_size TEXTS QUERIES`.
//! Prints held bytes per text byte, the snapshot's bytes, and search p50/p99 (plain BM25 and
//! with the neighbour weights the memories use).

use std::time::Instant;

use ferromem_core::keyword::{default_topics, KeywordIndex, Neighbours, Params};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((p / 100.0 * v.len() as f64) as usize).min(v.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let texts = std::fs::read_to_string(&args[1]).expect("texts");
    let queries = std::fs::read_to_string(&args[2]).expect("queries");
    let texts: Vec<&str> = texts.lines().collect();
    let queries: Vec<&str> = queries.lines().collect();
    let raw: usize = texts.iter().map(|t| t.len()).sum();
    let ids: Vec<u64> = (0..texts.len() as u64).collect();
    let mut idx = KeywordIndex::new(Params::default(), default_topics()).expect("index");
    let t0 = Instant::now();
    idx.add(&ids, &texts, None).expect("add");
    let secs = t0.elapsed().as_secs_f64();
    let held = idx.memory_bytes();
    idx.compact();
    let compacted = idx.memory_bytes();
    let path = std::env::temp_dir().join(format!("kw-size-{}.bin", std::process::id()));
    idx.save(&path).expect("save");
    let file = std::fs::metadata(&path).expect("meta").len();
    let _ = std::fs::remove_file(&path);
    println!(
        "{} texts, {raw} bytes; add {:.0} msg/s; held {held} ({:.3}x), compacted {compacted} \
         ({:.3}x), snapshot {file} ({:.3}x)",
        texts.len(),
        texts.len() as f64 / secs,
        held as f64 / raw as f64,
        compacted as f64 / raw as f64,
        file as f64 / raw as f64
    );
    let modes = [
        ("bm25", Neighbours::default()),
        ("bm25+neighbours(0.3,0.1)", Neighbours { previous: 0.3, next: 0.1 }),
    ];
    // KW_PLAIN_ONLY=N: only plain BM25, every query N times (for profiling).
    let repeat: usize =
        std::env::var("KW_PLAIN_ONLY").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let modes = if repeat > 0 { &modes[..1] } else { &modes[..] };
    let queries: Vec<&str> =
        queries.iter().cycle().take(queries.len() * repeat.max(1)).copied().collect();
    for &(name, w) in modes {
        for q in queries.iter().take(20) {
            let _ = idx.search_with(q, 10, None, w);
        }
        let mut lat: Vec<f64> = queries
            .iter()
            .map(|q| {
                let t = Instant::now();
                let _ = idx.search_with(q, 10, None, w);
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        println!("  {name}: p50 {:.3} ms p99 {:.3} ms", pct(&mut lat, 50.0), pct(&mut lat, 99.0));
    }
}
