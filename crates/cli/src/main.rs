//! The `rewind` command line.

mod cli;
mod diff_cmd;
mod graph_cmd;
mod output;
mod plan_cmd;
mod sides;
mod store_cmds;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::parse() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let out = output::Output::new(&args.global);
    match cli::run(args, &out) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            out.error(&e);
            ExitCode::from(1)
        }
    }
}
