//! Times top-10 search per query on a corpus file (one text per line) and a query file, and
//! prints the percentiles and the slowest queries (profiling aid):
//! `cargo run --release -p ferromem-core --example search_profile -- texts.txt queries.txt`.

use std::time::Instant;

use ferromem_core::keyword::{KeywordIndex, Params};

fn read(path: Option<String>) -> String {
    let Some(path) = path else {
        eprintln!("usage: search_profile TEXTS_FILE QUERIES_FILE");
        std::process::exit(2);
    };
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let data = read(args.next());
    let queries = read(args.next());
    let texts: Vec<&str> = data.lines().collect();
    let ids: Vec<u64> = (0..texts.len() as u64).collect();
    let Ok(mut index) = KeywordIndex::new(Params::default(), vec![]) else { return };
    if index.add(&ids, &texts, None).is_err() {
        return;
    }
    let mut times: Vec<(f64, &str)> = Vec::new();
    for pass in 0..2 {
        for q in queries.lines() {
            let t0 = Instant::now();
            let hits = index.search(q, 10, None).map(|h| h.len()).unwrap_or(0);
            let ms = t0.elapsed().as_secs_f64() * 1000.0;
            if pass == 1 {
                times.push((ms, q));
            }
            std::hint::black_box(hits);
        }
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    let p = |x: f64| times[((times.len() as f64 * x) as usize).min(times.len() - 1)].0;
    println!(
        "{} docs, {} queries: p50 {:.3} ms p90 {:.3} ms p99 {:.3} ms",
        texts.len(),
        times.len(),
        p(0.5),
        p(0.9),
        p(0.99)
    );
    for (ms, q) in times.iter().rev().take(8) {
        println!("  {ms:.3} ms  {q}");
    }
}
