//! Giving memory back to the system once berthd has nothing to do.
//!
//! Three things kept what a busy spell had freed resident for good in a
//! quiet berthd (300 upgrades of a 300-object chart: 43–60 MiB anonymous
//! memory idle, against 7 MiB after the install; benches/README.md,
//! "upgrade"):
//!
//! - mimalloc (berthd's allocator) returns the pages a thread freed only
//!   when that thread allocates again, and berthd's threads go quiet when
//!   no operation runs. Once no operation has ended for [`IDLE_AFTER`] and
//!   none runs, berthd asks mimalloc to purge what is free ([`trim`]).
//! - That purge reaches only the calling thread's pages and what is free
//!   already. Every thread keeps two empty pages per size class, and pages
//!   freed later wait a second for a purge that an idle berthd never
//!   triggers. [`configure`] sets both to zero (an operator's own
//!   `MIMALLOC_*` setting wins) before berthd starts its threads; the main
//!   thread, whose heap exists before `main`, keeps its two pages.
//! - sled 0.34 frees replaced pages and its 512 KiB log buffers through
//!   crossbeam-epoch, into a bag of the thread that replaced them; a bag
//!   goes to the collector only once it holds 64 frees. A thread that wrote
//!   and then went quiet kept its bag, log buffers and all. After each
//!   write the journal hands the thread's bag over ([`hand_over_garbage`]),
//!   and [`trim`] runs what the collector holds.
//!
//! Together: 16–18 MiB anonymous after those 300 upgrades instead of 43–60.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::events::Registry;

/// How long berthd waits, after an operation ended, before it trims.
pub const IDLE_AFTER: Duration = Duration::from_secs(1);

/// mimalloc's option numbers (`mi_option_e` in mimalloc.h, v3 as
/// libmimalloc-sys 0.1.49 builds it); the sys crate names only older ones.
/// A unit test checks them against their defaults.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const PAGE_FULL_RETAIN: libmimalloc_sys::mi_option_t = 36;

/// Have mimalloc purge free memory at once and keep no empty pages per
/// thread, unless the environment sets these options itself (mimalloc
/// read it at process start; a default does not override it). Call it
/// before starting threads: a thread's heap copies `page_full_retain` when
/// the thread first allocates. Costs 5–10% of berthd's CPU over 300
/// upgrades in a row, no measurable time in the 200-object upgrade bench
/// (benches/README.md, "upgrade").
pub fn configure() {
    for option in [PURGE_DELAY, PAGE_FULL_RETAIN] {
        // SAFETY: an option may be set at any time; the purge delay is read
        // on each use, the retention by heaps created from now on.
        unsafe { libmimalloc_sys::mi_option_set_default(option, 0) }
    }
}

/// Hand this thread's deferred frees (sled's replaced pages and written
/// log buffers) to the epoch collector, so that [`trim`] can run them even
/// if this thread never writes again. A few microseconds.
pub fn hand_over_garbage() {
    crossbeam_epoch::pin().flush();
}

/// How many times [`trim`] asks the epoch collector to run what it holds:
/// each time it may advance the epoch once and run 8 bags, and a bag runs
/// two epochs after it was handed over.
const COLLECTOR_ROUNDS: usize = 64;

/// Run the frees the epoch collector holds, then return the memory the
/// allocator holds free to the system.
pub fn trim() {
    for _ in 0..COLLECTOR_ROUNDS {
        crossbeam_epoch::pin().flush();
    }
    // SAFETY: mi_collect takes no arguments to uphold and may be called
    // from any thread at any time; it only purges free memory.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Call `trim` whenever no operation of `registry`
/// has ended for `idle_after` and none runs. Ends with `shutdown`.
pub async fn trim_when_idle(
    registry: &Registry,
    idle_after: Duration,
    shutdown: CancellationToken,
    trim: fn(),
) {
    let mut ends = registry.ends();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = ends.changed() => if changed.is_err() { return },
        }
        // Until no operation ended for `idle_after`.
        loop {
            ends.mark_unchanged();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(idle_after) => {}
            }
            if !ends.has_changed().unwrap_or(false) {
                break;
            }
        }
        if registry.is_idle() {
            // A few milliseconds at most, once per quiet spell: not worth a
            // blocking thread.
            let started = std::time::Instant::now();
            trim();
            tracing::debug!(took = ?started.elapsed(), "gave freed memory back to the system");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Journal, OpKind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static TRIMS: AtomicUsize = AtomicUsize::new(0);

    fn count() {
        TRIMS.fetch_add(1, Ordering::SeqCst);
    }

    /// Lets the trimmer run until it waits again (the clock is paused, so
    /// time moves only when every task waits).
    async fn after(d: Duration) {
        tokio::time::sleep(d).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn trims_once_after_the_last_operation_ended_and_only_when_idle() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let registry = Arc::new(Registry::default());
        let stop = CancellationToken::new();
        let trimmer = tokio::spawn({
            let (registry, stop) = (Arc::clone(&registry), stop.clone());
            async move { trim_when_idle(&registry, IDLE_AFTER, stop, count).await }
        });
        let trims = || TRIMS.load(Ordering::SeqCst);
        let start = |name: &str| {
            registry
                .start(&journal, "ns", name, 1, OpKind::Install, 0)
                .unwrap()
        };

        // Nothing ended yet: nothing to give back.
        after(IDLE_AFTER * 3).await;
        assert_eq!(trims(), 0);

        // Two operations end in a burst: one trim, a second after the last.
        let (a, b) = (start("a"), start("b"));
        registry.end(&a);
        after(IDLE_AFTER / 2).await;
        registry.end(&b);
        after(IDLE_AFTER / 2).await;
        assert_eq!(trims(), 0, "the burst is not over");
        after(IDLE_AFTER).await;
        assert_eq!(trims(), 1);
        after(IDLE_AFTER * 3).await;
        assert_eq!(trims(), 1, "once per quiet spell");

        // An operation still runs when the quiet spell ends: no trim.
        let (c, d) = (start("c"), start("d"));
        registry.end(&c);
        after(IDLE_AFTER * 2).await;
        assert_eq!(trims(), 1, "d still runs");
        registry.end(&d);
        after(IDLE_AFTER * 2).await;
        assert_eq!(trims(), 2);

        stop.cancel();
        trimmer.await.unwrap();
    }

    #[test]
    fn the_option_numbers_are_the_options_meant() {
        // Their defaults in this mimalloc (options.c): a purge delay of
        // 1000 ms, two full pages retained. Another number would read
        // another option's default. (An environment that sets either
        // leaves nothing to check.)
        let set = |name| std::env::vars_os().any(|(k, _)| k.eq_ignore_ascii_case(name));
        if set("MIMALLOC_PURGE_DELAY") || set("MIMALLOC_PAGE_FULL_RETAIN") {
            return;
        }
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        assert_eq!(get(PURGE_DELAY), 1000);
        assert_eq!(get(PAGE_FULL_RETAIN), 2);
        configure();
        assert_eq!((get(PURGE_DELAY), get(PAGE_FULL_RETAIN)), (0, 0));
    }

    #[test]
    fn a_quiet_writers_deferred_frees_run_at_the_next_trim() {
        use std::sync::atomic::AtomicBool;
        let freed = Arc::new(AtomicBool::new(false));
        let (wrote, quiet) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        // A writer that defers a free as sled does, then stays alive and
        // quiet: its bag is not handed over by its exit.
        let writer = std::thread::spawn({
            let freed = Arc::clone(&freed);
            move || {
                crossbeam_epoch::pin().defer(move || freed.store(true, Ordering::SeqCst));
                hand_over_garbage();
                wrote.0.send(()).unwrap();
                quiet.1.recv().unwrap();
            }
        });
        wrote.1.recv().unwrap();
        // Other tests' threads may hold the epoch back for a moment.
        for _ in 0..500 {
            trim();
            if freed.load(Ordering::SeqCst) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(freed.load(Ordering::SeqCst), "the deferred free never ran");
        quiet.0.send(()).unwrap();
        writer.join().unwrap();
    }

    #[test]
    fn trimming_is_safe_at_any_time() {
        let held: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 64 * 1024]).collect();
        trim();
        assert!(
            held.iter()
                .enumerate()
                .all(|(i, v)| v.iter().all(|&b| b == i as u8))
        );
    }
}
