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
//! Nor do they use transparent huge pages (Linux): mimalloc asks for them
//! (`MADV_HUGEPAGE`) on the memory it maps, then returns freed memory in
//! 64 KiB pieces, which splits a huge page the kernel zeroed whole, and a
//! fault may first have to compact memory to find a free 2 MiB. With
//! them off for the process (`PR_SET_THP_DISABLE`), a plan between two
//! directories of 100k resources spent 1.2-1.3 s of system time instead
//! of 2.5 s, and `graph` of 100k resources 0.46-0.48 s instead of
//! 0.76-1.16 s, at 15-20 MB less peak memory (interleaved runs with
//! `MIMALLOC_ALLOW_THP=0` in the environment, which has mimalloc make the
//! same call; bench/results/2026-12-01-plan-memory-s26.md). A user's own
//! `MIMALLOC_ALLOW_THP` wins.
//!
//! Nor does such a command have mimalloc collect its heap when it exits:
//! by default mimalloc's exit handler visits every page the main thread
//! holds to free what it can (for a library unloaded from a process that
//! lives on), which after a plan of 100k resources was about 1% of the
//! processor time, all of it at the end of the wall time. The kernel
//! takes the memory back whole when the process ends.

/// The global allocator: mimalloc, asked for plain blocks when the
/// alignment wanted is at most a pointer's.
///
/// The `mimalloc` crate's allocator asks for every block through
/// `mi_malloc_aligned`, whose fast path only takes small blocks from a
/// page that happens to hold a free one; everything else goes through
/// its generic aligned path, which over-allocates blocks above a few
/// KiB. Under callgrind that was 12% of the instructions of a `graph` of
/// 10,000 resources. Every block mimalloc hands out is aligned to at
/// least a pointer's size (its blocks are multiples of a word in pages
/// that start on one; `mi_realloc_aligned` relies on the same), so a
/// Rust allocation that wants no more than that is a plain `mi_malloc`,
/// as the standard library's own allocator does with `malloc`.
pub struct Mimalloc;

/// Alignments every mimalloc block has.
const PLAIN_ALIGN: usize = std::mem::size_of::<usize>();

// SAFETY: each function forwards to mimalloc, which returns a block of at
// least `layout.size()` bytes aligned to `layout.align()` (or null): the
// plain functions when the alignment is at most `PLAIN_ALIGN`, which
// every mimalloc block has, else the aligned ones. Blocks from either are
// freed and reallocated by `mi_free` and `mi_realloc`/`mi_realloc_aligned`
// alike (mimalloc finds a block's page from its address).
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: see the impl
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                libmimalloc_sys::mi_malloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: see the impl
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                libmimalloc_sys::mi_zalloc(layout.size()).cast()
            } else {
                libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from this allocator (the caller's contract)
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout` (the
        // caller's contract)
        unsafe {
            if layout.align() <= PLAIN_ALIGN {
                libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }
}

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
    // With the allocator above, the workspace's only `unsafe` outside
    // tests (its lints deny it elsewhere).
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
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        no_huge_pages();
    }
}

/// Turns transparent huge pages off for the process (see the module's
/// documentation): the kernel checks the flag at each page fault, so it
/// holds for memory mapped before `main` too.
#[cfg(target_os = "linux")]
fn no_huge_pages() {
    #[allow(unsafe_code)]
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` sets a flag of the
    // calling process; it reads no memory of ours. A kernel without it
    // returns an error, which changes nothing and is ignored.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn no_huge_pages() {}

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

    /// Every block has the alignment asked for, plain or not, and keeps
    /// its bytes when it grows or shrinks (across mimalloc's size classes,
    /// up to blocks it allocates on their own).
    #[test]
    fn blocks_are_aligned_as_asked_and_keep_their_bytes() {
        use std::alloc::{GlobalAlloc, Layout};
        let a = super::Mimalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 24, 100, 1000, 1025, 5000, 70_000, 3 << 20] {
                let layout = Layout::from_size_align(size, align).expect("a layout");
                #[allow(unsafe_code)]
                // SAFETY: a non-zero size; every block is written and read
                // within its size and freed with the layout it has
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        *p.add(i) = (i % 251) as u8;
                    }
                    let grown = a.realloc(p, layout, size * 3);
                    assert_eq!(grown as usize % align, 0, "grown {size} align {align}");
                    for i in 0..size {
                        assert_eq!(*grown.add(i), (i % 251) as u8);
                    }
                    let layout3 = Layout::from_size_align(size * 3, align).expect("a layout");
                    let shrunk = a.realloc(grown, layout3, size / 2 + 1);
                    assert_eq!(shrunk as usize % align, 0);
                    for i in 0..size / 2 + 1 {
                        assert_eq!(*shrunk.add(i), (i % 251) as u8);
                    }
                    a.dealloc(
                        shrunk,
                        Layout::from_size_align(size / 2 + 1, align).expect("a layout"),
                    );
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, layout);
                }
            }
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
        // no transparent huge pages for the process, unless the user chose
        #[cfg(target_os = "linux")]
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
            #[allow(unsafe_code)]
            // SAFETY: reads a flag of the calling process.
            let disabled = unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
            assert_eq!(disabled, 1);
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
