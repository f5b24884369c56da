//! Giving memory back to the system once berthd has nothing to do.
//!
//! mimalloc (berthd's allocator) returns the pages a thread freed only when
//! that thread allocates again, and berthd's threads go quiet when no
//! operation runs: what a large operation had freed (a 50 MiB chart's
//! unpacked files, a 200-object apply) stayed resident for good. Once no
//! operation has ended for [`IDLE_AFTER`] and none runs, berthd asks
//! mimalloc to purge what is free.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::events::Registry;

/// How long berthd waits, after an operation ended, before it trims.
pub const IDLE_AFTER: Duration = Duration::from_secs(1);

/// Return the memory the allocator holds free to the system.
pub fn trim() {
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
