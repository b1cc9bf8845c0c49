//! The allocator: mimalloc, told to keep the memory a command frees.
//!
//! By default mimalloc gives freed pages back to the kernel after a delay
//! ("purging"), and a command that then allocates again faults them in
//! and has the kernel zero them once more. A plan or snapshot of 100k
//! resources frees and reallocates hundreds of MB between its phases:
//! with purging, 2-5 s of its processor time was the kernel's (measured
//! with `MIMALLOC_PURGE_DELAY=-1` in the environment: 0.9-1.0 s of
//! system time instead of 1.9-5.5 s, the same peak memory, with
//! `bench/plan-dirs.sh 100000`). A command ends within
//! seconds and returns everything at exit, so it keeps its pages;
//! `watch`, which runs for days, keeps mimalloc's default.
//!
//! `snapshot` and `plan` are the exceptions: their loads free the parse
//! results of the configuration (a few hundred MB at 100k resources) once
//! the module tree is built, and what they allocate after that
//! (references, the sensitivity pass, the objects written, the planner's
//! values) does not fit the holes left. Returned after 100 ms instead of
//! kept, they lower a cold snapshot's peak at 100k resources from 798-806
//! MB to 711-715 MB at no measurable cost in processor time (5.2-5.9 s
//! user + system either way; bench/results/2026-12-01-cold-snapshot.md;
//! a delay of 0 lowers it 13 MB more for 0.4 s more), and a plan's
//! between two directories of 100k resources from 942-956 MB to 862-886
//! MB, with 7.8-9.3 s of processor time either way (4 interleaved runs
//! each, bench/results/2026-12-01-plan-memory-s26.md). `snapshot` now
//! returns it after 10 ms ([`SNAPSHOT_PURGE_DELAY_MS`]).
//!
//! Nor does such a command have mimalloc collect its heap when it exits:
//! by default mimalloc's exit handler visits every page the main thread
//! holds to free what it can (for a library unloaded from a process that
//! lives on), which after a plan of 100k resources was about 1% of the
//! processor time, all of it at the end of the wall time. The kernel
//! takes the memory back whole when the process ends.

/// mimalloc's `mi_option_purge_delay` (the 16th entry of `mi_option_e`
/// in mimalloc.h, versions 2 and 3; libmimalloc-sys does not name it):
/// milliseconds before freed memory is returned, -1 for never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc's `mi_option_destroy_on_exit` (the 23rd entry of
/// `mi_option_e`, versions 2 and 3; libmimalloc-sys does not name it):
/// above 1, mimalloc's exit handler returns at once (mimalloc 3's
/// `_mi_auto_process_done`), so nothing is collected or freed at exit.
const MI_OPTION_DESTROY_ON_EXIT: libmimalloc_sys::mi_option_t = 22;

/// The purge delay of `plan` (milliseconds; see the module's
/// documentation).
pub const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// The purge delay of `snapshot` (milliseconds): shorter than `plan`'s,
/// as what a cold snapshot frees on its parsing threads (the
/// configuration's parse results) and on the model's encoding threads
/// is otherwise still resident while it writes the model. At 100k
/// resources: peak 577-583 MB against 593-594 MB with 100 ms, 5.3-5.7 s
/// of processor time either way (3 interleaved runs each;
/// bench/results/2026-12-01-cold-snapshot.md, session 27).
pub const SNAPSHOT_PURGE_DELAY_MS: std::ffi::c_long = 10;

/// Keeps freed memory in the process until it exits (`purge_delay_ms`
/// -1; or returns it after that many milliseconds), unless the user set
/// `MIMALLOC_PURGE_DELAY` themselves, which wins, and leaves it to the
/// kernel at exit (unless the user set `MIMALLOC_DESTROY_ON_EXIT`).
/// Call it before starting any thread.
pub fn keep_freed_memory(purge_delay_ms: std::ffi::c_long) {
    let purge = std::env::var_os("MIMALLOC_PURGE_DELAY").is_none();
    let at_exit = std::env::var_os("MIMALLOC_DESTROY_ON_EXIT").is_none();
    // The workspace's one `unsafe` outside tests (its lints deny it
    // elsewhere).
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option
    // table and takes no pointer. It is called once, from `main` right
    // after the arguments are parsed, before the process starts any other
    // thread, so no allocation on another thread reads the table while
    // it is written.
    unsafe {
        if purge {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, purge_delay_ms);
        }
        if at_exit {
            libmimalloc_sys::mi_option_set(MI_OPTION_DESTROY_ON_EXIT, 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MI_OPTION_DESTROY_ON_EXIT, MI_OPTION_PURGE_DELAY};

    /// Reads an option back from mimalloc.
    fn option(o: libmimalloc_sys::mi_option_t) -> std::ffi::c_long {
        #[allow(unsafe_code)]
        // SAFETY: reads an integer from mimalloc's option table.
        unsafe {
            libmimalloc_sys::mi_option_get(o)
        }
    }

    /// Both options in one test: `keep_freed_memory` sets them for the
    /// whole process, and `cargo test` runs a binary's tests on threads of
    /// one process, so a second test reading a default would race with it.
    #[test]
    fn the_options_are_set_to_keep_freed_memory_and_skip_the_collection_at_exit() {
        let purge = std::env::var("MIMALLOC_PURGE_DELAY").ok();
        let exit = std::env::var("MIMALLOC_DESTROY_ON_EXIT").ok();
        match &exit {
            // the user's setting wins (and shows that the index is the
            // option mimalloc reads from MIMALLOC_DESTROY_ON_EXIT)
            Some(v) => assert_eq!(option(MI_OPTION_DESTROY_ON_EXIT).to_string(), v.trim()),
            None => assert_eq!(option(MI_OPTION_DESTROY_ON_EXIT), 0),
        }
        if purge.is_none() {
            // the index names the purge delay: its documented default
            // (1000 ms in mimalloc 3) before, never (-1) after
            assert_eq!(option(MI_OPTION_PURGE_DELAY), 1000);
        }
        // `snapshot`'s and `plan`'s delay (the other commands' -1 takes the same
        // path), read back: the index is the purge delay's
        super::keep_freed_memory(super::PURGE_DELAY_MS);
        match &purge {
            // the user's setting wins
            Some(v) => assert_eq!(option(MI_OPTION_PURGE_DELAY).to_string(), v.trim()),
            None => assert_eq!(option(MI_OPTION_PURGE_DELAY), 100),
        }
        match &exit {
            Some(v) => assert_eq!(option(MI_OPTION_DESTROY_ON_EXIT).to_string(), v.trim()),
            None => assert_eq!(option(MI_OPTION_DESTROY_ON_EXIT), 2),
        }
    }

    /// The index is mimalloc's `destroy_on_exit`: the test above, run in a
    /// process of its own with the variable set, reads that value there.
    #[test]
    fn the_exit_option_index_is_the_one_mimalloc_reads_from_its_variable() {
        let exe = std::env::current_exe().expect("the test binary");
        let name = "alloc::tests::the_options_are_set_to_keep_freed_memory_and_skip_the_collection_at_exit";
        let out = std::process::Command::new(exe)
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env("MIMALLOC_DESTROY_ON_EXIT", "3")
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // the test ran (a filter that matches nothing passes too)
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
}
