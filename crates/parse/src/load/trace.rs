//! Phase timings on standard error with `REWIND_TRACE` (for profiling).

/// Phase timings on stderr when `REWIND_TRACE` is set (for profiling).
pub struct Trace {
    on: bool,
    last: std::cell::Cell<std::time::Instant>,
    /// The process's processor time (user and system) at the last mark.
    cpu: std::cell::Cell<f64>,
}

/// The processor time (user and system, all threads) the process has
/// used, in seconds, where the system tells it (Linux's
/// `/proc/self/stat`, in ticks of 1/100 s); else 0.
pub(super) fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the command's name, which is in parentheses
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

impl Trace {
    pub fn new() -> Trace {
        let on = std::env::var_os("REWIND_TRACE").is_some();
        Trace {
            on,
            last: std::cell::Cell::new(std::time::Instant::now()),
            cpu: std::cell::Cell::new(if on { process_cpu() } else { 0.0 }),
        }
    }

    pub fn mark(&self, what: &str) {
        if self.on {
            let now = std::time::Instant::now();
            // resident and peak memory, where the system tells them
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let mb = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
                    .map(|kb| format!(" {}MiB", kb / 1024))
                    .unwrap_or_default()
            };
            // the processor time of every thread of the process (on
            // every core) since this trace's last mark
            let cpu = process_cpu();
            eprintln!(
                "trace: {what}: {:.3}s (cpu {:.2}s, rss{}, peak{})",
                (now - self.last.get()).as_secs_f64(),
                cpu - self.cpu.get(),
                mb("VmRSS:"),
                mb("VmHWM:")
            );
            self.last.set(now);
            self.cpu.set(cpu);
        }
    }
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}
