//! The big stack rendering runs on, kept by each thread for its next call.
//!
//! Templates and values can nest deeply (Go's stacks grow, Rust's do not),
//! so work on untrusted input runs on a stack of [`BIG_STACK`] bytes rather
//! than on the caller's. `stacker::grow` maps such a stack for every call
//! and unmaps it after: on a busy multi-threaded berthd, the unmapping
//! (a TLB shoot-down on every core the process runs on) cost a third as
//! much as rendering the chart (benches/README.md, fleet, 2026-12-06). A
//! thread here maps its stack once and keeps it, giving back all but the
//! top [`KEEP`] bytes after each call, so a deep render leaves no memory
//! behind; the mapping goes with the thread.

use std::cell::Cell;
use std::io;

/// Stack for rendering and for decoding untrusted YAML.
pub(crate) const BIG_STACK: usize = 256 << 20;

/// How much of a big stack a call may find used and still run in place.
const NESTED_SLACK: usize = 1 << 20;

/// What a kept stack holds on to between calls (the depth small charts
/// reach); pages below it are given back.
const KEEP: usize = 1 << 20;

thread_local! {
    /// The lowest usable address of the big stack this thread is on, if it
    /// is on one.
    static LIMIT: Cell<Option<usize>> = const { Cell::new(None) };
    /// The thread's big stack while no call is using it.
    static SPARE: Cell<Option<Mapping>> = const { Cell::new(None) };
}

/// Bytes of stack left below the current frame, if known.
pub(crate) fn remaining() -> Option<usize> {
    match LIMIT.get() {
        Some(limit) => Some((psm::stack_pointer() as usize).saturating_sub(limit)),
        None => stacker::remaining_stack(),
    }
}

/// Runs `f` on a stack of at least `stack` bytes: in place when all but
/// [`NESTED_SLACK`] of that is free (inside another such call), else on the
/// thread's kept stack. A panic in `f` (a bug) comes back as `Err`, as does
/// a stack the system would not map.
pub(crate) fn on_big_stack<T>(stack: usize, f: impl FnOnce() -> T) -> Result<T, String> {
    if remaining().is_some_and(|left| left >= stack.saturating_sub(NESTED_SLACK)) {
        return caught(f);
    }
    let mapping = match SPARE.take() {
        Some(m) if m.usable() >= stack => m,
        _ => {
            Mapping::new(stack).map_err(|e| format!("cannot map a stack of {stack} bytes: {e}"))?
        }
    };
    let (low, size) = (mapping.low(), mapping.usable());
    let outer = LIMIT.replace(Some(low as usize));
    // SAFETY: `low` is page-aligned and `size` a multiple of the page size
    // (`Mapping::new`), readable and writable, with an inaccessible page
    // below it; the mapping outlives the call (it is dropped after); the
    // callback cannot unwind (`caught`).
    let out = unsafe { psm::on_stack(low, size, || caught(f)) };
    LIMIT.set(outer);
    mapping.trim();
    SPARE.set(Some(mapping));
    out
}

fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        format!(
            "internal error: {}",
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        )
    })
}

/// A stack mapping: one inaccessible guard page, then the stack (which
/// grows down towards the guard).
struct Mapping {
    base: *mut u8,
    len: usize,
    page: usize,
}

impl Mapping {
    fn new(stack: usize) -> io::Result<Mapping> {
        // SAFETY: sysconf has no preconditions.
        let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            p if p > 0 => p as usize,
            _ => 4096,
        };
        let usable = stack.div_ceil(page).max(1) * page;
        let len = usable + page;
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let m = Mapping {
            base: base.cast(),
            len,
            page,
        };
        // SAFETY: the range is inside the mapping just made.
        if unsafe { libc::mprotect(m.low().cast(), usable, libc::PROT_READ | libc::PROT_WRITE) }
            != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(m)
    }

    /// The stack's lowest address (just above the guard page).
    fn low(&self) -> *mut u8 {
        // SAFETY: the guard page is inside the mapping.
        unsafe { self.base.add(self.page) }
    }

    fn usable(&self) -> usize {
        self.len - self.page
    }

    /// Give back the pages a deep call touched below the top [`KEEP`]
    /// bytes (they read as zeros if touched again).
    fn trim(&self) {
        let deep = self.usable().saturating_sub(KEEP) / self.page * self.page;
        if deep > 0 {
            // SAFETY: the range is the lower part of this thread's stack,
            // which no call is using now. Advice that fails leaves the
            // pages where they were: nothing to do about it.
            unsafe {
                libc::madvise(self.low().cast(), deep, libc::MADV_DONTNEED);
            }
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the whole mapping, made in `new`, used by no call now.
        unsafe {
            libc::munmap(self.base.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(n: u64) -> u64 {
        // A frame of 512 bytes or more, kept whole.
        let pad = std::hint::black_box([0u8; 512]);
        if n == 0 {
            pad[0] as u64
        } else {
            depth(n - 1) + 1 + pad[511] as u64
        }
    }

    #[test]
    fn a_thread_keeps_its_stack_and_nested_calls_run_in_place() {
        let first = on_big_stack(BIG_STACK, || psm::stack_pointer() as usize).unwrap();
        let again = on_big_stack(BIG_STACK, || psm::stack_pointer() as usize).unwrap();
        assert_eq!(first, again, "the same stack, kept");
        let nested = on_big_stack(BIG_STACK, || {
            let outer = remaining().unwrap();
            assert!(outer > BIG_STACK - NESTED_SLACK);
            on_big_stack(BIG_STACK, || remaining().unwrap()).unwrap() < outer
        })
        .unwrap();
        assert!(nested, "in place, below the outer frame");
        assert_eq!(LIMIT.get(), None, "back on the thread's own stack");
    }

    /// How many of the kept stack's pages are in memory.
    fn resident_pages() -> usize {
        let m = SPARE.take().expect("a kept stack");
        let pages = m.usable() / m.page;
        let mut vec = vec![0u8; pages];
        // SAFETY: the range is the stack part of a live mapping.
        let ok = unsafe { libc::mincore(m.low().cast(), m.usable(), vec.as_mut_ptr()) };
        assert_eq!(ok, 0, "{}", io::Error::last_os_error());
        SPARE.set(Some(m));
        vec.iter().filter(|v| **v & 1 == 1).count()
    }

    #[test]
    fn deep_recursion_fits_and_its_pages_are_given_back() {
        // 32 MiB of frames or more: far past a test thread's own 2 MiB.
        let n = (32 << 20) / 512;
        assert_eq!(on_big_stack(BIG_STACK, || depth(n)).unwrap(), n);
        let page = 4096;
        assert!(
            resident_pages() <= KEEP / page,
            "{} pages kept",
            resident_pages()
        );
        assert_eq!(on_big_stack(BIG_STACK, || depth(10)).unwrap(), 10);
    }

    #[test]
    fn a_panic_comes_back_as_an_error_and_the_stack_stays_usable() {
        let err = on_big_stack(BIG_STACK, || -> u8 { panic!("boom") }).unwrap_err();
        assert_eq!(err, "internal error: boom");
        assert_eq!(on_big_stack(BIG_STACK, || 7).unwrap(), 7);
        assert_eq!(LIMIT.get(), None);
    }
}
