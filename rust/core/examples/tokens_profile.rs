//! Counts the tokens of a text file (one text per line) repeatedly, one thread, and prints the
//! rate per encoding (profiling aid, e.g. under `perf record`):
//! `cargo run --profile bench-fast -p ferromem-core --example tokens_profile -- texts.txt [rounds]`.

use std::time::Instant;

use ferromem_core::tokens::{count, count_many, Encoding};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: tokens_profile TEXTS_FILE [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let data = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let texts: Vec<&str> = data.lines().collect();
    let only = std::env::var("TOK_ONLY").ok();
    for encoding in [Encoding::Approx, Encoding::Cl100kBase, Encoding::O200kBase] {
        if only.as_deref().is_some_and(|o| o != encoding.name()) {
            continue;
        }
        let _ = count("warm up", encoding);
        let start = Instant::now();
        let mut total = 0usize;
        for _ in 0..rounds {
            for text in &texts {
                total += count(text, encoding).unwrap_or(0);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let per_sec = (texts.len() * rounds) as f64 / secs;
        let start = Instant::now();
        for _ in 0..rounds {
            total += count_many(&texts, encoding).map_or(0, |c| c.len());
        }
        let batch = (texts.len() * rounds) as f64 / start.elapsed().as_secs_f64();
        println!(
            "{encoding:12} {per_sec:>10.0} texts/s one by one, {batch:>10.0} batched ({total})"
        );
    }
}
