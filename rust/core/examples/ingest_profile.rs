//! Times the stages of keyword ingestion on a file of texts, one per line (profiling aid):
//! `cargo run --release -p ferromem-core --example ingest_profile -- texts.txt`.

use std::time::Instant;

use ferromem_core::keyword::{default_topics, KeywordIndex, Params};
use ferromem_core::text::Analyzer;

/// CPU seconds this process has used (user + system), from /proc; wall time lies on a
/// machine shared with other work.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: ingest_profile TEXTS_FILE");
        std::process::exit(2);
    };
    let data = match std::fs::read_to_string(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let texts: Vec<&str> = data.lines().collect();
    let n = texts.len() as f64;
    for (name, analyzer) in [
        ("analyze default", Analyzer::default()),
        ("analyze no stem", Analyzer { stem: false, ..Analyzer::default() }),
        (
            "analyze no stem/stop",
            Analyzer { stem: false, stop_words: false, ..Analyzer::default() },
        ),
    ] {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        let mut buf = String::new();
        let mut count = 0usize;
        for t in &texts {
            analyzer.for_each_term(t, &mut buf, |_| count += 1);
        }
        let dt = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - c0;
        println!(
            "{name}: {:.0} msg/s one thread, {:.0} per CPU second ({count} terms)",
            n / dt,
            n / cpu
        );
    }
    for topics in [default_topics(), vec![]] {
        let label = if topics.is_empty() { "no topics" } else { "topics" };
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            let Ok(pool) = pool else { return };
            let ids: Vec<u64> = (0..texts.len() as u64).collect();
            // Best of three rounds: a round's first touch of fresh pages swings single runs.
            let mut best = (f64::MAX, f64::MAX);
            for _ in 0..3 {
                let (t0, c0) = (Instant::now(), cpu_seconds());
                let idx = pool.install(|| {
                    let mut idx = KeywordIndex::new(Params::default(), topics.clone())?;
                    idx.add(&ids, &texts, None)?;
                    Ok::<_, ferromem_core::Error>(idx)
                });
                let dt = t0.elapsed().as_secs_f64();
                let cpu = cpu_seconds() - c0;
                if idx.is_ok() {
                    best = (best.0.min(dt), best.1.min(cpu));
                }
            }
            println!(
                "add, {label}, {threads} threads: {:.0} msg/s, {:.0} per CPU second (best of 3)",
                n / best.0,
                n / best.1
            );
        }
    }
}
