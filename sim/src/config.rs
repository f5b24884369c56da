//! Simulator configuration: the timing profile and everything the builder collects.
//!
//! Owns plain data only; nothing here starts tasks or touches the network.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::clock::Clock;

/// Timing profile of the simulated kubelet and controllers (SIM_SPEC §5 "Profiles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Profile {
    /// Tests: containers start after 200ms, are ready at once, terminate at once.
    #[default]
    Fast,
    /// `berth demo`: starts of 1–3s with jitter, 1s to ready, 2s to terminate.
    Realistic,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fast" => Ok(Profile::Fast),
            "realistic" => Ok(Profile::Realistic),
            other => Err(format!(
                "unknown profile {other:?} (expected fast or realistic)"
            )),
        }
    }
}

/// The concrete delays a profile stands for. All are simulated time.
#[derive(Clone, Debug)]
pub struct Timings {
    /// Container start after scheduling.
    pub start_delay: Duration,
    /// Extra random start delay, uniformly in `0..=start_jitter`.
    pub start_jitter: Duration,
    /// From Running to Ready.
    pub ready_delay: Duration,
    /// How long a deleted pod stays Terminating (capped by its grace period).
    pub pod_termination: Duration,
    /// How long a run-to-completion pod runs.
    pub run_duration: Duration,
    /// Interval between watch bookmarks.
    pub bookmark_interval: Duration,
    /// Controller latency after a change, uniformly in this range (Real clock only).
    pub reconcile_latency: (Duration, Duration),
    /// Delay before a CRD is Established.
    pub crd_establish_delay: Duration,
    /// Delay before a LoadBalancer Service or Ingress gets an address.
    pub lb_delay: Duration,
    /// Delay before a PVC is Bound.
    pub pvc_bind_delay: Duration,
    /// Base of the Job retry backoff (doubling up to 6 minutes); zero disables it.
    pub job_backoff_base: Duration,
}

impl Profile {
    pub fn timings(self) -> Timings {
        match self {
            Profile::Fast => Timings {
                start_delay: Duration::from_millis(200),
                start_jitter: Duration::ZERO,
                ready_delay: Duration::ZERO,
                pod_termination: Duration::ZERO,
                run_duration: Duration::from_millis(200),
                bookmark_interval: Duration::from_secs(15),
                reconcile_latency: (Duration::from_millis(20), Duration::from_millis(50)),
                crd_establish_delay: Duration::ZERO,
                lb_delay: Duration::from_millis(100),
                pvc_bind_delay: Duration::from_millis(100),
                job_backoff_base: Duration::ZERO,
            },
            Profile::Realistic => Timings {
                start_delay: Duration::from_secs(1),
                start_jitter: Duration::from_secs(2),
                ready_delay: Duration::from_secs(1),
                pod_termination: Duration::from_secs(2),
                run_duration: Duration::from_secs(3),
                bookmark_interval: Duration::from_secs(15),
                reconcile_latency: (Duration::from_millis(20), Duration::from_millis(50)),
                crd_establish_delay: Duration::from_millis(500),
                lb_delay: Duration::from_secs(2),
                pvc_bind_delay: Duration::from_secs(1),
                job_backoff_base: Duration::from_secs(10),
            },
        }
    }
}

/// Whether the server speaks TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    /// HTTPS with a CA generated at start-up (the default).
    #[default]
    Https,
    /// Plain HTTP, for tests that want to look at raw bytes cheaply.
    Http,
}

/// Everything the builder collected, validated.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub nodes: u32,
    pub profile: Profile,
    pub timings: Timings,
    pub clock: Clock,
    pub k8s_minor: u32,
    pub listen: SocketAddr,
    pub transport: Transport,
    pub state_file: Option<PathBuf>,
    /// Prefix of the pod annotations that steer the simulated kubelet.
    pub knob_prefix: String,
    /// How many watch events are kept for resuming watches.
    pub history_max_events: usize,
    /// The kubelet holds a pod while a ConfigMap or Secret its volumes or
    /// environment take is missing. Off by default: the simulator runs no
    /// workload, so what a chart's Job or operator would create at run
    /// time (a webhook's certificate Secret) never appears.
    pub check_pod_sources: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            nodes: 3,
            profile: Profile::Fast,
            timings: Profile::Fast.timings(),
            clock: Clock::Real { scale: 1.0 },
            k8s_minor: 35,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            transport: Transport::Https,
            state_file: None,
            knob_prefix: "kubesim.invalid/".to_string(),
            history_max_events: 10_000,
            check_pod_sources: false,
        }
    }
}
