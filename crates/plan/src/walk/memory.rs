//! The walk's guard on the memory the process holds. The walk's other
//! limits count elements, which is what makes a runaway configuration
//! slow; but what an element costs varies (a number is 100 bytes, a
//! string its length), so values within every count can still take more
//! memory than the machine has. Past three quarters of the machine's
//! memory (or of the container's, when its control group sets a limit)
//! the walk's evaluations fail, naming the expression, as the kernel
//! would otherwise kill the process with no word on what ran away.
//! `REWIND_MAX_MEMORY_MB` sets another limit (`0`: none).

use std::cell::Cell;

/// How many evaluations pass between two readings of the process's
/// memory (a reading is a small read of `/proc`: about 5 µs)...
const EVERY: u32 = 4096;

/// ... or how much work (the evaluator's units, summed over the walk):
/// one evaluation may build millions of elements.
const EVERY_WORK: u64 = 1_000_000;

/// The guard: the limit in bytes (none where the memory cannot be read),
/// and the evaluations since the last reading.
pub(crate) struct MemoryGuard {
    limit: Option<u64>,
    since: Cell<u32>,
    /// The walk's work at the last reading.
    work_then: Cell<u64>,
    /// The resident size that passed the limit, once one has: every later
    /// evaluation fails too, so the walk ends quickly.
    over: Cell<Option<u64>>,
}

impl Default for MemoryGuard {
    fn default() -> MemoryGuard {
        MemoryGuard {
            limit: limit(),
            since: Cell::new(0),
            work_then: Cell::new(0),
            over: Cell::new(None),
        }
    }
}

impl MemoryGuard {
    /// `Some((resident, limit))` in bytes once the process holds more
    /// than the limit (read every [`EVERY`] calls, or once the walk's
    /// `work` has grown by [`EVERY_WORK`] since the last reading).
    pub(crate) fn over(&self, work: u64) -> Option<(u64, u64)> {
        let limit = self.limit?;
        if let Some(rss) = self.over.get() {
            return Some((rss, limit));
        }
        let n = self.since.get() + 1;
        if n < EVERY && work.saturating_sub(self.work_then.get()) < EVERY_WORK {
            self.since.set(n);
            return None;
        }
        self.since.set(0);
        self.work_then.set(work);
        let rss = resident()?;
        if rss <= limit {
            return None;
        }
        self.over.set(Some(rss));
        Some((rss, limit))
    }
}

/// The limit: `REWIND_MAX_MEMORY_MB` when set (`0` or anything that is
/// not a number of MiB: none), else three quarters of the smaller of the
/// machine's memory and its control group's limit.
fn limit() -> Option<u64> {
    if let Some(v) = std::env::var_os("REWIND_MAX_MEMORY_MB") {
        let mib: u64 = v.to_str()?.trim().parse().ok()?;
        return (mib > 0).then(|| mib.saturating_mul(1 << 20));
    }
    let total = read_kib("/proc/meminfo", "MemTotal:")?.saturating_mul(1024);
    let group = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let memory = group.map_or(total, |g| g.min(total));
    Some(memory / 4 * 3)
}

/// The process's resident memory in bytes (Linux; `None` elsewhere).
fn resident() -> Option<u64> {
    read_kib("/proc/self/status", "VmRSS:").map(|k| k.saturating_mul(1024))
}

/// A `NAME: N kB` line's N, from a `/proc` file.
fn read_kib(path: &str, name: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(name))?;
    line[name.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On Linux the guard reads the machine's memory and the process's,
    /// and a limit below what the process holds trips it (after at most
    /// [`EVERY`] calls), then stays tripped.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_limit_below_the_resident_size_trips_and_stays_tripped() {
        assert!(read_kib("/proc/meminfo", "MemTotal:").is_some_and(|k| k > 0));
        let rss = resident().expect("VmRSS");
        assert!(rss > 0);
        let guard = MemoryGuard {
            limit: Some(1024),
            since: Cell::new(0),
            work_then: Cell::new(0),
            over: Cell::new(None),
        };
        let tripped = (0..EVERY).find_map(|_| guard.over(0));
        let (at, limit) = tripped.expect("tripped within EVERY calls");
        assert!(at > 1024 && limit == 1024);
        assert_eq!(guard.over(0).map(|(_, l)| l), Some(1024));
        // a limit above it does not
        let roomy = MemoryGuard {
            limit: Some(u64::MAX),
            since: Cell::new(0),
            work_then: Cell::new(0),
            over: Cell::new(None),
        };
        assert!((0..2 * EVERY).all(|_| roomy.over(0).is_none()));
        // work read it sooner: the first call after a million units
        let soon = MemoryGuard {
            limit: Some(1024),
            since: Cell::new(0),
            work_then: Cell::new(0),
            over: Cell::new(None),
        };
        assert!(soon.over(10).is_none());
        assert!(soon.over(EVERY_WORK + 10).is_some());
    }
}
