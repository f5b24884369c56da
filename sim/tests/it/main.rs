//! Integration tests of berth-sim, through the real `kube` client over HTTPS.

mod apply;
mod crud;
mod discovery;
mod rollout;
mod support;
mod watch;
