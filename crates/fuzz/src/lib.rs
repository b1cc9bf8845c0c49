//! `rewind-fuzz`: a mutation fuzzer for rewind's parsers that runs on
//! stable Rust, with no fuzzing engine to install.
//!
//! Inputs are mutations of real files (the repository's fixtures and a few
//! built-in seeds): HCL and JSON tokens, splices, deep nesting, truncation,
//! stray bytes. Each input goes through the parser of its kind (`.tf`,
//! `.tf.json`, `.tfvars`, `.tfvars.json`, state) and must not panic, must
//! fail with a line and column inside the input, and what parses must
//! survive the parse cache and the canonical printer unchanged
//! ([`target::exercise`]).
//!
//! The inputs run in a child process, so a hang, a stack overflow, an
//! abort or a runaway allocation is caught too: the parent watches the
//! child's progress and memory, and regenerates the failing input from the
//! seed and the iteration number (every iteration has its own random
//! stream, see [`input`]).
//!
//! ```text
//! rewind-fuzz run [--seconds 60] [--seed 1] [--corpus fixtures]... [--out fuzz-failures]
//! rewind-fuzz replay FILE...
//! rewind-fuzz oracle [--seconds 60] [--seed 1] [--corpus fixtures]... [--terraform terraform]
//! ```
//!
//! Limitations: mutations are not guided by coverage, so deep paths are
//! reached by the seeds and the token dictionary, not by feedback.

pub mod driver;
pub mod mutate;
pub mod oracle;
pub mod rng;
pub mod seeds;
pub mod target;

use rewind_parse::FileKind;

use crate::rng::Rng;
use crate::seeds::Seed;

/// Inputs never grow beyond this.
pub const MAX_INPUT: usize = 256 * 1024;

/// The input of one iteration: a seed, mutated by a generator that depends
/// only on `seed` and `iteration`.
pub fn input(seeds: &[Seed], seed: u64, iteration: u64) -> (FileKind, Vec<u8>) {
    let mut rng = Rng::for_iteration(seed, iteration);
    let base = rng.pick(seeds);
    let mut kind = base.kind;
    if rng.one_in(8) {
        // the wrong parser for the text: a tfvars parser reading a config...
        kind = rng.pick(seeds).kind;
    }
    let mut bytes = base.bytes.clone();
    let others: Vec<&[u8]> = (0..4).map(|_| rng.pick(seeds).bytes.as_slice()).collect();
    mutate::mutate(&mut bytes, &others, &mut rng, MAX_INPUT);
    (kind, bytes)
}
