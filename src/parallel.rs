//! A small thread pool for blocking work (builds, checks, RPM writing).
//!
//! Input: items and a closure. Output: the closure's results in item order.
//! Invariant: at most `jobs` items run at once; results never reorder.
//! [`run_parallel_costliest_first`] starts the costliest items first (the
//! longest-processing-time rule), so one big item does not run alone at the
//! end while the other workers idle.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Run `work` over `items` on up to `jobs` threads; results in item order.
pub fn run_parallel<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let order: Vec<usize> = (0..items.len()).collect();
    run_in_order(items, &order, jobs, work)
}

/// [`run_parallel`], starting the items of highest `cost` first; results
/// are still in item order.
pub fn run_parallel_costliest_first<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    cost: impl Fn(&T) -> u64,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable, so equal costs keep item order.
    order.sort_by_key(|&index| std::cmp::Reverse(cost(&items[index])));
    run_in_order(items, &order, jobs, work)
}

/// Run `work` on `items[order[0]]`, `items[order[1]]`, … as workers free up.
fn run_in_order<T: Sync, R: Send>(
    items: &[T],
    order: &[usize],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = work(&items[index]);
                    results.lock().expect("no worker panicked")[index] = Some(result);
                }
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
    use super::{run_parallel, run_parallel_costliest_first};
    use std::sync::Mutex;

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

    #[test]
    fn starts_the_costliest_first_and_keeps_item_order() {
        let items: Vec<u64> = vec![3, 9, 1, 9, 5];
        let started = Mutex::new(Vec::new());
        let results = run_parallel_costliest_first(
            &items,
            1,
            |item| *item,
            |item| {
                started.lock().unwrap().push(*item);
                item * 10
            },
        );
        assert_eq!(results, vec![30, 90, 10, 90, 50]);
        assert_eq!(started.into_inner().unwrap(), vec![9, 9, 5, 3, 1]);
    }
}
