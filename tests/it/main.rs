//! berth's end-to-end tests: one binary (one link step), one module per
//! area. Every test starts its own simulator and agent on loopback ports.

mod atomic;
mod common;
mod corpus;
mod crds;
mod diff;
mod hooks;
mod lifecycle;
mod mtls;
mod safety;
mod template;
mod tracking;
