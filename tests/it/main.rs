//! berth's end-to-end tests: one binary (one link step), one module per
//! area. Every test starts its own simulator and agent on loopback ports.

/// The allocator the binaries ship with (README, "Decisions worth knowing").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The CLI runs in this process for most tests, with this process's
/// environment: the charts it pulls would go to Helm's content cache in the
/// user's home, and a later run would read them from there instead of
/// downloading them; it would show times in the zone of the machine the
/// tests run on. This sets `$HELM_CONTENT_CACHE` to a directory under
/// target/ that every run starts empty, and `$TZ` to UTC, before `main`
/// starts the test threads (an ELF initializer: setting the environment
/// once threads run is not sound).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static OWN_CONTENT_CACHE: extern "C" fn() = {
    extern "C" fn own_content_cache() {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("it-content-cache");
        let _ = std::fs::remove_dir_all(&dir);
        // SAFETY: runs before main, while this process has one thread.
        unsafe {
            std::env::set_var("HELM_CONTENT_CACHE", dir);
            std::env::set_var("TZ", "UTC");
        }
    }
    own_content_cache
};

mod atomic;
mod cli;
mod common;
mod corpus;
mod crash;
mod crds;
mod create;
mod dependencies;
mod deploy;
mod diff;
mod drift;
mod faults;
mod fleet;
mod hooks;
mod journal;
mod lifecycle;
mod lint;
mod load;
mod migrate;
mod mtls;
mod mtls_rotation;
mod ops;
mod ownership;
mod plugins;
mod policy;
mod provenance;
mod repos;
mod safety;
mod show;
mod shutdown;
mod template;
mod tracking;
mod unlock;
mod uploads;
mod values;
