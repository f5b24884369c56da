//! The generated v1 wire contract (proto/berth/v1/agent.proto) and the few
//! conversions every consumer needs.

#[allow(clippy::all, clippy::pedantic)]
mod generated {
    tonic::include_proto!("berth.v1");
}
pub use generated::*;

/// The encoded descriptors of the wire contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("berth_descriptor");

/// Size of one chart chunk on the wire.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// The ALPN protocol of a chart connection (see `UpgradeHeader`'s
/// `chart_connection`): the agent's port serves it beside gRPC's `h2`.
pub const CHART_ALPN: &[u8] = b"berth-chart/1";

/// The upgrade response's metadata key for a chart connection's token
/// (hex). Response metadata reaches only the caller; events are also
/// journaled and shown to watchers.
pub const CHART_TOKEN_METADATA: &str = "berth-chart-token";

/// Length of a chart connection's token, in bytes.
pub const CHART_TOKEN_LEN: usize = 32;

/// The description of a dry run's outcome (Helm's): its status printer
/// shows the rendered release after one.
pub const DRY_RUN_DESCRIPTION: &str = "Dry run complete";

impl ReleaseStatus {
    /// Helm's spelling of a status (`deployed`, `pending-upgrade`, …).
    pub fn helm_name(self) -> &'static str {
        match self {
            ReleaseStatus::Unspecified | ReleaseStatus::Unknown => "unknown",
            ReleaseStatus::Deployed => "deployed",
            ReleaseStatus::Uninstalled => "uninstalled",
            ReleaseStatus::Superseded => "superseded",
            ReleaseStatus::Failed => "failed",
            ReleaseStatus::Uninstalling => "uninstalling",
            ReleaseStatus::PendingInstall => "pending-install",
            ReleaseStatus::PendingUpgrade => "pending-upgrade",
            ReleaseStatus::PendingRollback => "pending-rollback",
        }
    }

    /// Whether an operation is still running on a revision with this status.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            ReleaseStatus::PendingInstall
                | ReleaseStatus::PendingUpgrade
                | ReleaseStatus::PendingRollback
                | ReleaseStatus::Uninstalling
        )
    }
}

impl Operation {
    pub fn verb(self) -> &'static str {
        match self {
            Operation::Unspecified => "operation",
            Operation::Install => "install",
            Operation::Upgrade => "upgrade",
            Operation::Rollback => "rollback",
            Operation::Uninstall => "uninstall",
            Operation::Test => "test",
        }
    }
}

impl ApplyAction {
    /// kubectl's past-tense word for what happened to an object.
    pub fn word(self) -> &'static str {
        match self {
            ApplyAction::Unspecified => "applied",
            ApplyAction::Created => "created",
            ApplyAction::Configured => "configured",
            ApplyAction::Unchanged => "unchanged",
            ApplyAction::Deleted => "deleted",
            ApplyAction::Kept => "kept (helm.sh/resource-policy: keep)",
        }
    }
}

impl ObjectRef {
    /// `Deployment/web` or `Deployment/web (ns)` as kubectl users read it.
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.kind, self.name)
        } else {
            format!("{}/{} ({})", self.kind, self.name, self.namespace)
        }
    }
}

impl Event {
    /// True for the events that end an operation's stream.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self.kind,
            Some(event::Kind::Completed(_)) | Some(event::Kind::Failed(_))
        )
    }
}
