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

/// mimalloc's `mi_option_purge_delay` (the 16th entry of `mi_option_e`
/// in mimalloc.h, versions 2 and 3; libmimalloc-sys does not name it):
/// milliseconds before freed memory is returned, -1 for never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory in the process until it exits (unless the user
/// set `MIMALLOC_PURGE_DELAY` themselves, which wins). Call it before
/// starting any thread.
pub fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // The workspace's one `unsafe` outside tests (its lints deny it
    // elsewhere).
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option
    // table and takes no pointer. It is called once, from `main` right
    // after the arguments are parsed, before the process starts any other
    // thread, so no allocation on another thread reads the table while
    // it is written.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
    }
}

#[cfg(test)]
mod tests {
    /// Reads option `MI_OPTION_PURGE_DELAY` back from mimalloc.
    fn purge_delay() -> std::ffi::c_long {
        #[allow(unsafe_code)]
        // SAFETY: reads an integer from mimalloc's option table.
        unsafe {
            libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY)
        }
    }

    #[test]
    fn the_option_is_mimallocs_purge_delay_and_is_set_to_never() {
        match std::env::var("MIMALLOC_PURGE_DELAY") {
            // the user's setting wins
            Ok(v) => {
                super::keep_freed_memory();
                assert_eq!(purge_delay().to_string(), v.trim());
            }
            Err(_) => {
                // the index names the purge delay: its documented default
                // (1000 ms in mimalloc 3) before, never (-1) after
                assert_eq!(purge_delay(), 1000);
                super::keep_freed_memory();
                assert_eq!(purge_delay(), -1);
            }
        }
    }
}
