//! What the journal stores, as plain serde records. These are the on-disk
//! format: add fields with `#[serde(default)]`, never rename; a change that
//! cannot be read by the previous code bumps `SCHEMA_VERSION`.

use std::collections::BTreeMap;

use berth::proto;
use serde::{Deserialize, Serialize};

/// The state of one revision, with Helm's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Deployed,
    Superseded,
    Failed,
    Uninstalled,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
}

impl Status {
    pub fn to_proto(self) -> proto::ReleaseStatus {
        match self {
            Status::Deployed => proto::ReleaseStatus::Deployed,
            Status::Superseded => proto::ReleaseStatus::Superseded,
            Status::Failed => proto::ReleaseStatus::Failed,
            Status::Uninstalled => proto::ReleaseStatus::Uninstalled,
            Status::Uninstalling => proto::ReleaseStatus::Uninstalling,
            Status::PendingInstall => proto::ReleaseStatus::PendingInstall,
            Status::PendingUpgrade => proto::ReleaseStatus::PendingUpgrade,
            Status::PendingRollback => proto::ReleaseStatus::PendingRollback,
        }
    }

    pub fn is_pending(self) -> bool {
        self.to_proto().is_pending()
    }
}

/// The kind of operation that made a revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpKind {
    Install,
    Upgrade,
    Rollback,
    Uninstall,
    /// `berth test`: runs test hooks, records no revision.
    Test,
}

impl OpKind {
    pub fn to_proto(self) -> proto::Operation {
        match self {
            OpKind::Install => proto::Operation::Install,
            OpKind::Upgrade => proto::Operation::Upgrade,
            OpKind::Rollback => proto::Operation::Rollback,
            OpKind::Uninstall => proto::Operation::Uninstall,
            OpKind::Test => proto::Operation::Test,
        }
    }

    pub fn pending_status(self) -> Status {
        match self {
            OpKind::Install => Status::PendingInstall,
            OpKind::Upgrade => Status::PendingUpgrade,
            OpKind::Rollback => Status::PendingRollback,
            OpKind::Uninstall => Status::Uninstalling,
            // A test never records a revision; the release stays as it is.
            OpKind::Test => Status::Deployed,
        }
    }

    /// Helm's capitalised verb for descriptions ("Upgrade complete").
    pub fn title(self) -> &'static str {
        match self {
            OpKind::Install => "Install",
            OpKind::Upgrade => "Upgrade",
            OpKind::Rollback => "Rollback",
            OpKind::Uninstall => "Uninstallation",
            OpKind::Test => "Test",
        }
    }
}

/// The operation holding a release's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub revision: u64,
    pub operation: OpKind,
    pub since_ms: i64,
    pub identity: String,
    /// The status the locked revision had before an operation that works
    /// on an existing revision (uninstall) set it pending; a crash
    /// recovery puts it back.
    #[serde(default)]
    pub previous_status: Option<Status>,
}

/// One release: the pointer to its newest and deployed revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseHead {
    pub namespace: String,
    pub name: String,
    /// Highest revision number ever recorded.
    pub latest: u64,
    /// The revision whose objects are live, if any.
    pub deployed: Option<u64>,
    pub lock: Option<Lock>,
    #[serde(default)]
    pub first_deployed_ms: i64,
}

/// Chart identity of a revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartRef {
    pub name: String,
    pub version: String,
    pub app_version: String,
    /// sha256 of the packed chart; also its key in `blobs`.
    pub digest: String,
}

/// One revision. Large parts live in `blobs`, referenced by sha256, so a
/// revision record stays small however big its manifest is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRecord {
    pub revision: u64,
    pub status: Status,
    pub operation: OpKind,
    pub chart: ChartRef,
    pub description: String,
    /// Who made it: the client certificate's identity.
    pub by: String,
    pub client_addr: String,
    pub client_version: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// Blob digests of the rendered manifest, hooks (JSON), user values,
    /// computed values and notes.
    pub manifest_blob: String,
    pub hooks_blob: String,
    pub values_blob: String,
    pub computed_values_blob: String,
    pub notes_blob: String,
    /// For rollbacks: the revision whose manifest was re-applied.
    #[serde(default)]
    pub rollback_of: Option<u64>,
    /// The release's labels (Helm's `--labels`), as of this revision.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The last run of each of its test hooks that `berth test` ran (Helm's
    /// hooks' LastRun), in the order of its hooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_runs: Vec<TestRun>,
}

/// A test hook's last run (Helm's HookExecution).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestRun {
    /// The hook's name.
    pub name: String,
    pub started_ms: i64,
    pub completed_ms: i64,
    /// Helm's HookPhase: Succeeded, Failed (Running, Unknown).
    pub phase: String,
}

impl TestRun {
    pub fn to_proto(&self) -> proto::TestRun {
        proto::TestRun {
            name: self.name.clone(),
            started_unix_ms: self.started_ms,
            completed_unix_ms: self.completed_ms,
            phase: self.phase.clone(),
        }
    }
}

impl RevisionRecord {
    /// The digests of everything the revision holds outside its record:
    /// its chart, manifest, hooks, values, computed values and notes.
    pub fn blobs(&self) -> [&str; 6] {
        [
            &self.chart.digest,
            &self.manifest_blob,
            &self.hooks_blob,
            &self.values_blob,
            &self.computed_values_blob,
            &self.notes_blob,
        ]
    }

    /// Whether the revision holds blob `digest`.
    pub fn names(&self, digest: &str) -> bool {
        self.blobs().contains(&digest)
    }

    pub fn info(&self) -> proto::RevisionInfo {
        proto::RevisionInfo {
            revision: self.revision,
            updated_unix_ms: self.updated_ms,
            status: self.status.to_proto() as i32,
            chart_name: self.chart.name.clone(),
            chart_version: self.chart.version.clone(),
            app_version: self.chart.app_version.clone(),
            description: self.description.clone(),
            by: self.by.clone(),
            client_addr: self.client_addr.clone(),
            client_version: self.client_version.clone(),
            created_unix_ms: self.created_ms,
            labels: self.labels.clone().into_iter().collect(),
            rollback_revision: self.rollback_of.unwrap_or(0),
            test_runs: self.test_runs.iter().map(TestRun::to_proto).collect(),
            // Its hooks are a blob: Status and GetRevision read them.
            test_hooks: 0,
        }
    }
}
