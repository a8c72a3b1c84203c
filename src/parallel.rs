//! A small thread pool for blocking work (builds, checks, RPM writing).
//!
//! Input: items and a closure. Output: the closure's results in item order.
//! Invariant: at most `jobs` items run at once; results never reorder.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Run `work` over `items` on up to `jobs` threads; results in item order.
pub fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(index) else {
                    break;
                };
                let result = work(item);
                results.lock().expect("no worker panicked")[index] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|result| result.expect("every item was processed"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::run_parallel;

    #[test]
    fn keeps_item_order_whatever_the_job_count() {
        let items: Vec<u32> = (0..50).collect();
        for jobs in [0, 1, 3, 64] {
            let doubled = run_parallel(&items, jobs, |item| item * 2);
            assert_eq!(
                doubled,
                items.iter().map(|item| item * 2).collect::<Vec<_>>()
            );
        }
    }
}
