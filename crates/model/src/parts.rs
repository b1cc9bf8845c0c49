//! Work over a slice split in one part per core.

/// `work(first, part)` over `items` cut in one part per core (parts of at
/// least 1,024 items, so small inputs stay on this thread), the results
/// put back in order. The first part runs on the calling thread; a part
/// whose thread cannot start or finish is done on the calling thread too.
/// `stack` sets the threads' stack size (deeply nested values recurse
/// deeply); `None` keeps the default.
pub fn in_parts<I: Sync, T: Send>(
    items: &[I],
    stack: Option<usize>,
    work: impl Fn(usize, &[I]) -> Vec<T> + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1024);
    let mut parts = items.chunks(chunk).enumerate();
    let Some((_, first)) = parts.next() else {
        return Vec::new();
    };
    let work = &work;
    std::thread::scope(|s| {
        let rest: Vec<_> = parts
            .map(|(c, part)| {
                let mut b = std::thread::Builder::new();
                if let Some(size) = stack {
                    b = b.stack_size(size);
                }
                (
                    c * chunk,
                    part,
                    b.spawn_scoped(s, move || work(c * chunk, part)),
                )
            })
            .collect();
        let mut out = work(0, first);
        for (from, part, h) in rest {
            match h.ok().and_then(|h| h.join().ok()) {
                Some(more) => out.extend(more),
                None => out.extend(work(from, part)),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_come_back_in_order_with_their_first_index() {
        for n in [0, 1, 1023, 1024, 5000, 10_001] {
            let items: Vec<usize> = (0..n).collect();
            let out = super::in_parts(&items, None, |from, part| {
                part.iter()
                    .enumerate()
                    .map(|(k, &x)| {
                        assert_eq!(from + k, x);
                        x * 2
                    })
                    .collect()
            });
            assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
    }
}
