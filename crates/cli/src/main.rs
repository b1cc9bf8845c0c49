//! The `rewind` command line: arguments → options → engine → report.

mod alloc;
mod audit_cmd;
mod cli;
mod diff_cmd;
mod graph_cmd;
mod history_cmd;
mod inputs_args;
mod output;
mod plan_cmd;
mod report_cmd;
mod rollback_cmd;
mod snapshot_cmd;
mod store_cmds;
mod watch_cmd;

use std::process::ExitCode;

#[global_allocator]
static ALLOC: alloc::Mimalloc = alloc::Mimalloc;

fn main() -> ExitCode {
    ExitCode::from(run())
}

/// Parses the arguments, runs the command and prints its error; returns
/// the exit code ([`cli::EXIT_OK`], [`cli::EXIT_CHANGES`],
/// [`cli::EXIT_ERROR`]).
fn run() -> u8 {
    let args = match cli::parse() {
        Ok(a) => a,
        Err(code) => return code,
    };
    match args.command {
        cli::Command::Watch(_) => {}
        cli::Command::Snapshot { .. } => alloc::keep_freed_memory(alloc::SNAPSHOT_PURGE_DELAY_MS),
        cli::Command::Plan(_) => alloc::keep_freed_memory(alloc::PURGE_DELAY_MS),
        _ => alloc::keep_freed_memory(-1),
    }
    let out = output::Output::new(&args.global);
    let verbose = args.global.verbose;
    let started = std::time::Instant::now();
    let result = cli::run(args, &out);
    if verbose {
        output::to_stderr(&format!(
            "{} store requests, {:.3}s",
            rewind_odb::total_requests(),
            started.elapsed().as_secs_f64()
        ));
    }
    match result {
        Ok(code) => code,
        Err(e) => {
            out.error(&e);
            cli::EXIT_ERROR
        }
    }
}
