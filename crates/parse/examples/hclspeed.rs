//! Parses every `.tf` file under a directory N times and prints MB/s.
//! `cargo run --release -p rewind-parse --example hclspeed -- DIR [N]`
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).expect("usage: hclspeed DIR [N]");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let files: Vec<(String, String)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "tf"))
        .map(|e| {
            let p = e.path().display().to_string();
            let s = std::fs::read_to_string(e.path()).expect("read");
            (p, s)
        })
        .collect();
    let bytes: usize = files.iter().map(|(_, s)| s.len()).sum();
    let mut errors = 0;
    for (p, s) in &files {
        if let Err(e) = rewind_parse::hcl::parse_body(s) {
            errors += 1;
            let idx = rewind_parse::hcl::LineIndex::new(s);
            let (l, c) = idx.locate(e.offset);
            eprintln!("{p}:{l}:{c}: {}", e.message);
        }
    }
    let t = Instant::now();
    for _ in 0..n {
        for (_, s) in &files {
            let _ = rewind_parse::hcl::parse_body(s);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} files, {} bytes, {errors} errors; {:.1} MB/s (single thread)",
        files.len(),
        bytes,
        (bytes * n) as f64 / secs / 1e6
    );
}
