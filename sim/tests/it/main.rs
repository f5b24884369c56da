//! Integration tests of berth-sim, through the real `kube` client over HTTPS.

mod apply;
mod crd;
mod crud;
mod delete;
mod discovery;
mod faults;
mod patch;
mod printing;
mod rollout;
mod support;
mod watch;
mod workloads;
