//! Times parsing one state file: `cargo run --release -p rewind-parse --example statespeed -- FILE`.
fn main() {
    let path = std::env::args().nth(1).expect("usage: statespeed FILE");
    let bytes = std::fs::read(&path).expect("read");
    let t = std::time::Instant::now();
    let v: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    println!("serde_json::Value: {:.3}s", t.elapsed().as_secs_f64());
    drop(v);
    let t = std::time::Instant::now();
    let (_, nodes) = rewind_parse::state::parse_state(&path, &bytes).expect("state");
    println!(
        "parse_state: {:.3}s, {} instances, {:.0} MB/s",
        t.elapsed().as_secs_f64(),
        nodes.len(),
        bytes.len() as f64 / t.elapsed().as_secs_f64() / 1e6
    );
}
