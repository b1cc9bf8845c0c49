//! The `rewind` command line.

mod cli;
mod diff_cmd;
mod graph_cmd;
mod output;
mod plan_cmd;
mod sides;
mod store_cmds;

use std::process::ExitCode;

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match cli::parse() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let out = output::Output::new(&args.global);
    let verbose = args.global.verbose;
    let started = std::time::Instant::now();
    let result = cli::run(args, &out);
    if verbose {
        eprintln!(
            "{} store requests, {:.3}s",
            rewind_store::total_requests(),
            started.elapsed().as_secs_f64()
        );
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(&e);
            ExitCode::from(1)
        }
    }
}
