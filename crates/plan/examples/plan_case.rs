//! Prints rewind's plan for one oracle case directory (current/, target/,
//! current.tfstate), for debugging: `cargo run -p rewind-plan --example plan_case -- DIR`.
use std::path::Path;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: plan_case DIR");
    let dir = Path::new(&dir);
    let mut cur = rewind_parse::load(&dir.join("current"), &rewind_parse::Options::default())
        .expect("current")
        .model;
    if let Ok(bytes) = std::fs::read(dir.join("current.tfstate")) {
        let (info, inst) =
            rewind_parse::state::parse_state("current.tfstate", &bytes).expect("state");
        cur.state = Some(info);
        cur.instances = inst;
    }
    let tgt = rewind_parse::load(&dir.join("target"), &rewind_parse::Options::default())
        .expect("target")
        .model;
    match rewind_plan::plan(&cur, &tgt, &rewind_plan::Options::default()) {
        Ok(p) => {
            for c in &p.changes {
                let acts: Vec<&str> = c.actions.iter().map(|a| a.as_str()).collect();
                println!("{} {:?} {:?}", c.address, acts, c.action_reason);
                for r in &c.reasons {
                    println!("    {r}");
                }
            }
            for s in &p.steps {
                println!(
                    "{:>3} w{} {} {}{} after {:?}",
                    s.index,
                    s.wave,
                    s.operation.as_str(),
                    s.address,
                    if s.deposed { " (deposed)" } else { "" },
                    s.after
                );
            }
        }
        Err(e) => println!("error: {e}"),
    }
}
