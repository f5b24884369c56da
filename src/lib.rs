//! berth: the library shared by the agent (`berthd`) and the CLI (`berth`).
//!
//! It owns what both sides must agree on: the generated wire contract
//! ([`proto`]), the domain names and their validation ([`types`]), chart
//! bundles ([`chart`]), user values ([`values`]), rendering glue over the
//! template engine ([`render`]), manifests ([`manifest`]) and TLS ([`tls`]).
//! It does not talk to Kubernetes, keep state, or print anything.

pub mod chart;
pub mod lint;
pub mod manifest;
pub mod postrender;
pub mod proto;
pub mod render;
pub mod schema_refs;
pub mod secrets;
pub mod tls;
pub mod types;
pub mod values;

/// The version of this build, shared by agent and CLI.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
