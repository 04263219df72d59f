//! Work spread over the machine's cores, results in input order: loading a
//! config reads, defaults and validates thousands of independent jobs, and
//! `skiff check-config` waits on all of it (README "Benchmarks").

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// At most this many threads: past a few cores the merge and the allocator
/// dominate.
const MAX_THREADS: usize = 4;

/// `f` of each item, on up to [`MAX_THREADS`] threads, in the order of
/// `items`. Each thread takes the next item when it finishes one, so a few
/// large items do not leave a core idle. `f` sees only its item, so the
/// result is the one a loop over `items` gives.
pub(super) fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    map_with(items, || (), |(), t| f(t))
}

/// [`map`], with a state each thread makes once with `init` and hands to
/// every call of `f` on that thread (a cache of compiled regexes).
pub(super) fn map_with<T: Send, R: Send, S>(
    items: Vec<T>,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
        .min(items.len());
    if threads < 2 {
        let mut state = init();
        return items.into_iter().map(|t| f(&mut state, t)).collect();
    }
    let n = items.len();
    let slots: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(slot) = slots.get(i) else { break };
                        // Each index is taken by one thread only.
                        let item = slot.lock().ok().and_then(|mut s| s.take());
                        if let Some(item) = item {
                            done.push((i, f(&mut state, item)));
                        }
                    }
                    done
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(done) => {
                    for (i, r) in done {
                        out[i] = Some(r);
                    }
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_input_order() {
        let items: Vec<usize> = (0..1000).collect();
        let out = super::map(items, |i| i * 2);
        assert_eq!(out, (0..1000).map(|i| i * 2).collect::<Vec<_>>());
    }
}
