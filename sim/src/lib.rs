//! berth-sim: a Kubernetes API server simulator.
//!
//! A real HTTPS server speaking the Kubernetes API that the unmodified `kube` client (and
//! kubectl, and Helm) talk to: discovery, CRUD, server-side apply with managedFields, watch,
//! namespaces, garbage collection, and deterministic rollout controllers driven by a
//! simulated clock, with fault injection. See `shared/SIM_SPEC.md`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), berth_sim::SimError> {
//! use berth_sim::{Clock, Profile, Simulator};
//! let sim = Simulator::builder()
//!     .seed(42)
//!     .nodes(3)
//!     .profile(Profile::Fast)
//!     .clock(Clock::Real { scale: 1.0 })
//!     .start()
//!     .await?;
//! sim.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout: `store` keeps objects, resourceVersions, history and watch fan-out; `apiserver`
//! holds the semantics of reads and writes; `ssa` the managedFields logic; `controllers` one
//! file per controller plus the engine; `faults` the fault rules; `http` the HTTP edge;
//! `server` the listener and TLS.

pub mod apiserver;
pub mod clock;
pub mod config;
pub mod controllers;
pub mod discovery;
pub mod faults;
pub mod http;
pub mod kubeconfig;
pub mod object;
pub mod openapi;
pub mod persist;
pub mod protobuf;
pub mod resources;
pub mod selector;
pub mod server;
pub mod ssa;
pub mod status;
pub mod store;
pub mod tls;

mod handle;

pub use clock::{Clock, SimTime};
pub use config::{Profile, SimConfig, Timings, Transport};
pub use faults::{Action, Budget, Faults, Match, Rule};
pub use handle::{SimBuilder, SimClock, SimError, SimHandle, Simulator};
pub use http::RequestRecord;
