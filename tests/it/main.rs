//! berth's end-to-end tests: one binary (one link step), one module per
//! area. Every test starts its own simulator and agent on loopback ports.

/// The allocator the binaries ship with (README, "Decisions worth knowing").
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
