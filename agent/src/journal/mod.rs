//! The journal: every release, revision and operation event, in an embedded
//! sled database under `--data`.
//!
//! Trees:
//! - `meta`: the format version (`schema`).
//! - `releases`: `ns/name` → [`ReleaseHead`] (newest and deployed revision,
//!   the lock of the running operation).
//! - `revisions`: `ns/name/<rev:020>` → [`RevisionRecord`].
//! - `blobs`: sha256 → deflated bytes (charts, manifests, values, notes),
//!   stored once however many revisions share them.
//! - `events`: `ns/name/<rev:020>/<seq:020>` → protobuf [`proto::Event`].
//!
//! Every state change is one sled transaction, flushed to disk before the
//! caller goes on (and so before any RPC answers). Revisions are never
//! rewritten except for their status and description; history is
//! append-only until an uninstall without `--keep-history` purges it, as in
//! Helm.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth::proto;
use prost::Message;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

pub mod records;

pub use records::{ChartRef, Lock, OpKind, ReleaseHead, RevisionRecord, Status};

/// The on-disk format this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error(
        "journal at {path} has format version {found}; this berthd reads version {SCHEMA_VERSION} — refusing to open it (upgrade berthd, or export with the matching version)"
    )]
    Version { path: PathBuf, found: String },
    #[error("journal storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error("journal record {key} is corrupt: {message}")]
    Corrupt { key: String, message: String },
    #[error("operation in progress on {name} (revision {revision}, {operation} by {identity})")]
    Locked {
        name: String,
        revision: u64,
        operation: String,
        identity: String,
    },
    #[error("{0}")]
    Conflict(String),
}

type Result<T> = std::result::Result<T, JournalError>;

#[derive(Clone)]
pub struct Journal {
    db: sled::Db,
    releases: sled::Tree,
    revisions: sled::Tree,
    blobs: sled::Tree,
    events: sled::Tree,
}

fn head_key(ns: &str, name: &str) -> Vec<u8> {
    format!("{ns}/{name}").into_bytes()
}

fn revision_key(ns: &str, name: &str, rev: u64) -> Vec<u8> {
    format!("{ns}/{name}/{rev:020}").into_bytes()
}

fn release_prefix(ns: &str, name: &str) -> Vec<u8> {
    format!("{ns}/{name}/").into_bytes()
}

fn event_key(ns: &str, name: &str, rev: u64, seq: u64) -> Vec<u8> {
    format!("{ns}/{name}/{rev:020}/{seq:020}").into_bytes()
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| JournalError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: e.to_string(),
    })
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("journal records always serialize")
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// sha256 hex of a blob's content: its key.
pub fn digest(bytes: &[u8]) -> String {
    berth::chart::sha256_hex(bytes)
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("writing to a Vec cannot fail");
    e.finish().expect("writing to a Vec cannot fail")
}

fn inflate(key: &str, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| JournalError::Corrupt {
            key: format!("blob {key}"),
            message: e.to_string(),
        })?;
    Ok(out)
}

/// How a finished operation leaves its revision.
#[derive(Debug, Clone)]
pub struct Finish {
    pub status: Status,
    pub description: String,
    /// When true, the revision becomes the release's deployed one and the
    /// previously deployed revision is marked superseded.
    pub deploys: bool,
    /// When true, the release has no deployed revision afterwards
    /// (uninstall with kept history).
    pub undeploys: bool,
}

/// A revision about to be recorded as pending, with the blobs it needs.
pub struct Begin {
    pub record: RevisionRecord,
    pub blobs: Vec<Vec<u8>>,
    pub lock: Lock,
    /// Events emitted before the revision existed, persisted with it.
    pub events: Vec<proto::Event>,
}

impl Journal {
    /// Open (or create) the journal under `dir`, checking its format version.
    pub fn open(dir: &Path) -> Result<Journal> {
        std::fs::create_dir_all(dir).map_err(|e| JournalError::Open {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let db = sled::Config::new()
            .path(dir.join("journal"))
            .flush_every_ms(Some(500))
            .open()
            .map_err(|e| JournalError::Open {
                path: dir.to_path_buf(),
                message: e.to_string(),
            })?;
        let meta = db.open_tree("meta")?;
        let journal = Journal {
            releases: db.open_tree("releases")?,
            revisions: db.open_tree("revisions")?,
            blobs: db.open_tree("blobs")?,
            events: db.open_tree("events")?,
            db,
        };
        match meta.get("schema")? {
            Some(v) => {
                let found = String::from_utf8_lossy(&v).into_owned();
                if found != SCHEMA_VERSION.to_string() {
                    return Err(JournalError::Version {
                        path: dir.to_path_buf(),
                        found,
                    });
                }
            }
            None => {
                if !journal.releases.is_empty() || !journal.revisions.is_empty() {
                    return Err(JournalError::Version {
                        path: dir.to_path_buf(),
                        found: "none (records without a version marker)".into(),
                    });
                }
                meta.insert("schema", SCHEMA_VERSION.to_string().as_bytes())?;
                journal.db.flush()?;
            }
        }
        Ok(journal)
    }

    /// Whether the journal answers reads (readiness).
    pub fn ping(&self) -> Result<()> {
        self.db.open_tree("meta")?.get("schema")?;
        Ok(())
    }

    /// Bytes the journal takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?)
    }

    pub async fn flush(&self) -> Result<()> {
        self.db.flush_async().await?;
        Ok(())
    }

    pub fn head(&self, ns: &str, name: &str) -> Result<Option<ReleaseHead>> {
        let key = head_key(ns, name);
        self.releases
            .get(&key)?
            .map(|v| decode(&key, &v))
            .transpose()
    }

    /// Every release head, in namespace/name order.
    pub fn heads(&self) -> Result<Vec<ReleaseHead>> {
        self.releases
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                decode(&k, &v)
            })
            .collect()
    }

    pub fn revision(&self, ns: &str, name: &str, rev: u64) -> Result<Option<RevisionRecord>> {
        let key = revision_key(ns, name, rev);
        self.revisions
            .get(&key)?
            .map(|v| decode(&key, &v))
            .transpose()
    }

    /// All revisions of a release, oldest first.
    pub fn revisions(&self, ns: &str, name: &str) -> Result<Vec<RevisionRecord>> {
        self.revisions
            .scan_prefix(release_prefix(ns, name))
            .map(|kv| {
                let (k, v) = kv?;
                decode(&k, &v)
            })
            .collect()
    }

    pub fn has_blob(&self, digest: &str) -> Result<bool> {
        Ok(self.blobs.contains_key(digest.as_bytes())?)
    }

    pub fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        match self.blobs.get(digest.as_bytes())? {
            Some(v) => Ok(Some(inflate(digest, &v)?)),
            None => Ok(None),
        }
    }

    /// A blob that must exist, as UTF-8 text.
    pub fn text_blob(&self, digest: &str) -> Result<String> {
        let bytes = self.blob(digest)?.ok_or_else(|| JournalError::Corrupt {
            key: format!("blob {digest}"),
            message: "missing".into(),
        })?;
        String::from_utf8(bytes).map_err(|e| JournalError::Corrupt {
            key: format!("blob {digest}"),
            message: e.to_string(),
        })
    }

    /// Events of one revision with a sequence number above `after_seq`.
    pub fn events(
        &self,
        ns: &str,
        name: &str,
        rev: u64,
        after_seq: u64,
    ) -> Result<Vec<proto::Event>> {
        let start = event_key(ns, name, rev, after_seq.saturating_add(1));
        let end = event_key(ns, name, rev, u64::MAX);
        self.events
            .range(start..=end)
            .map(|kv| {
                let (k, v) = kv?;
                proto::Event::decode(v.as_ref()).map_err(|e| JournalError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    message: e.to_string(),
                })
            })
            .collect()
    }

    /// Append events of a recorded revision. They become durable with the
    /// next flush; the state change that ends an operation flushes.
    pub fn append_events(&self, events: &[proto::Event]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for ev in events {
            batch.insert(
                event_key(&ev.namespace, &ev.release, ev.revision, ev.seq),
                ev.encode_to_vec(),
            );
        }
        self.events.apply_batch(batch)?;
        Ok(())
    }

    /// Record a new pending revision and take the release's lock, in one
    /// transaction, then flush. Fails if another operation holds the lock.
    pub async fn begin(&self, ns: &str, name: &str, begin: Begin) -> Result<()> {
        let hkey = head_key(ns, name);
        let rkey = revision_key(ns, name, begin.record.revision);
        let blobs: Vec<(String, Vec<u8>)> = begin
            .blobs
            .iter()
            .map(|b| (digest(b), deflate(b)))
            .collect();
        let record = encode(&begin.record);
        let events: Vec<(Vec<u8>, Vec<u8>)> = begin
            .events
            .iter()
            .map(|ev| (event_key(ns, name, ev.revision, ev.seq), ev.encode_to_vec()))
            .collect();
        let res = (&self.releases, &self.revisions, &self.blobs, &self.events).transaction(
            |(releases, revisions, blob_tree, event_tree)| {
                let head: Option<ReleaseHead> = match releases.get(&hkey)? {
                    Some(v) => {
                        Some(decode(&hkey, &v).map_err(ConflictableTransactionError::Abort)?)
                    }
                    None => None,
                };
                if let Some(lock) = head.as_ref().and_then(|h| h.lock.clone()) {
                    return Err(ConflictableTransactionError::Abort(JournalError::Locked {
                        name: name.to_string(),
                        revision: lock.revision,
                        operation: format!("{:?}", lock.operation).to_lowercase(),
                        identity: lock.identity,
                    }));
                }
                let latest = head.as_ref().map(|h| h.latest).unwrap_or(0);
                if begin.record.revision != latest + 1 {
                    return Err(ConflictableTransactionError::Abort(JournalError::Conflict(
                        format!(
                            "revision {} of {name} is not the next one (latest is {latest})",
                            begin.record.revision
                        ),
                    )));
                }
                let new_head = ReleaseHead {
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    latest: begin.record.revision,
                    deployed: head.as_ref().and_then(|h| h.deployed),
                    lock: Some(begin.lock.clone()),
                    first_deployed_ms: head.as_ref().map(|h| h.first_deployed_ms).unwrap_or(0),
                };
                for (d, bytes) in &blobs {
                    if blob_tree.get(d.as_bytes())?.is_none() {
                        blob_tree.insert(d.as_bytes(), bytes.as_slice())?;
                    }
                }
                revisions.insert(rkey.as_slice(), record.as_slice())?;
                for (k, v) in &events {
                    event_tree.insert(k.as_slice(), v.as_slice())?;
                }
                releases.insert(hkey.as_slice(), encode(&new_head))?;
                Ok(())
            },
        );
        unwrap_tx(res)?;
        self.flush().await
    }

    /// Take the lock for an operation on the newest existing revision
    /// (uninstall), setting its status — one transaction, flushed.
    pub async fn lock_latest(
        &self,
        ns: &str,
        name: &str,
        lock: Lock,
        status: Status,
    ) -> Result<RevisionRecord> {
        let hkey = head_key(ns, name);
        let now = now_ms();
        let res = (&self.releases, &self.revisions).transaction(|(releases, revisions)| {
            let mut head: ReleaseHead = match releases.get(&hkey)? {
                Some(v) => decode(&hkey, &v).map_err(ConflictableTransactionError::Abort)?,
                None => {
                    return Err(ConflictableTransactionError::Abort(JournalError::Conflict(
                        format!("release {name} does not exist"),
                    )));
                }
            };
            if let Some(held) = head.lock.clone() {
                return Err(ConflictableTransactionError::Abort(JournalError::Locked {
                    name: name.to_string(),
                    revision: held.revision,
                    operation: format!("{:?}", held.operation).to_lowercase(),
                    identity: held.identity,
                }));
            }
            let rkey = revision_key(ns, name, head.latest);
            let before: Option<RevisionRecord> = match revisions.get(&rkey)? {
                Some(v) => Some(decode(&rkey, &v).map_err(ConflictableTransactionError::Abort)?),
                None => None,
            };
            let record = set_status(revisions, ns, name, head.latest, status, None, Some(now))?;
            head.lock = Some(Lock {
                revision: head.latest,
                previous_status: before.map(|r| r.status),
                ..lock.clone()
            });
            releases.insert(hkey.as_slice(), encode(&head))?;
            Ok(record)
        });
        let record = unwrap_tx(res)?;
        self.flush().await?;
        Ok(record)
    }

    /// End the operation holding the lock on `rev`: set its status and
    /// description, move the deployed pointer, release the lock — one
    /// transaction, flushed.
    pub async fn finish(
        &self,
        ns: &str,
        name: &str,
        rev: u64,
        finish: Finish,
    ) -> Result<RevisionRecord> {
        let hkey = head_key(ns, name);
        let now = now_ms();
        let res = (&self.releases, &self.revisions).transaction(|(releases, revisions)| {
            let mut head: ReleaseHead = match releases.get(&hkey)? {
                Some(v) => decode(&hkey, &v).map_err(ConflictableTransactionError::Abort)?,
                None => {
                    return Err(ConflictableTransactionError::Abort(JournalError::Conflict(
                        format!("release {name} vanished during its operation"),
                    )));
                }
            };
            let record = set_status(
                revisions,
                ns,
                name,
                rev,
                finish.status,
                Some(&finish.description),
                Some(now),
            )?;
            if finish.deploys {
                if let Some(prev) = head.deployed.filter(|p| *p != rev) {
                    // Like Helm, superseding leaves the revision's time alone.
                    set_status(revisions, ns, name, prev, Status::Superseded, None, None)?;
                }
                head.deployed = Some(rev);
                if head.first_deployed_ms == 0 {
                    head.first_deployed_ms = now;
                }
            }
            if finish.undeploys {
                if let Some(prev) = head.deployed.filter(|p| *p != rev) {
                    // Like Helm, superseding leaves the revision's time alone.
                    set_status(revisions, ns, name, prev, Status::Superseded, None, None)?;
                }
                head.deployed = None;
            }
            if head.lock.as_ref().is_some_and(|l| l.revision == rev) {
                head.lock = None;
            }
            releases.insert(hkey.as_slice(), encode(&head))?;
            Ok(record)
        });
        let record = unwrap_tx(res)?;
        self.flush().await?;
        Ok(record)
    }

    /// Remove every record of a release (uninstall without --keep-history).
    /// Blobs stay: other revisions may share them.
    pub async fn purge(&self, ns: &str, name: &str) -> Result<()> {
        let prefix = release_prefix(ns, name);
        let mut batch = sled::Batch::default();
        for k in self.revisions.scan_prefix(&prefix).keys() {
            batch.remove(k?);
        }
        let mut ebatch = sled::Batch::default();
        for k in self.events.scan_prefix(&prefix).keys() {
            ebatch.remove(k?);
        }
        let hkey = head_key(ns, name);
        let res = (&self.releases, &self.revisions, &self.events).transaction(
            |(releases, revisions, events)| {
                revisions.apply_batch(&batch)?;
                events.apply_batch(&ebatch)?;
                releases.remove(hkey.as_slice())?;
                Ok(())
            },
        );
        unwrap_tx::<()>(res)?;
        self.flush().await
    }

    /// Resolve operations a crash left pending: mark each pending revision
    /// failed with a description saying so, release every lock. Returns the
    /// (namespace, name, revision, operation) resolved.
    pub async fn recover(&self) -> Result<Vec<(String, String, u64, OpKind)>> {
        let mut resolved = Vec::new();
        for head in self.heads()? {
            let Some(lock) = head.lock.clone() else {
                continue;
            };
            let description = format!(
                "{} interrupted: berthd stopped while the operation was running; the cluster may hold a partial update",
                lock.operation.title()
            );
            let exists = self
                .revision(&head.namespace, &head.name, lock.revision)?
                .is_some();
            if exists {
                // An operation on an existing revision (uninstall) gives it
                // back the status it had: the release was not uninstalled,
                // and its description says the deletion may be partial.
                let (status, description) = match lock.previous_status {
                    Some(prev) if !prev.is_pending() => (
                        prev,
                        format!(
                            "{} interrupted: berthd stopped while deleting the release's objects; some may be gone — uninstall again, or upgrade to restore them",
                            lock.operation.title()
                        ),
                    ),
                    _ => (Status::Failed, description),
                };
                self.finish(
                    &head.namespace,
                    &head.name,
                    lock.revision,
                    Finish {
                        status,
                        description,
                        deploys: false,
                        undeploys: false,
                    },
                )
                .await?;
            } else {
                let mut h = head.clone();
                h.lock = None;
                self.releases
                    .insert(head_key(&head.namespace, &head.name), encode(&h))?;
            }
            resolved.push((
                head.namespace.clone(),
                head.name.clone(),
                lock.revision,
                lock.operation,
            ));
        }
        // Revisions left pending without a lock (should not happen; be safe).
        for head in self.heads()? {
            for rec in self.revisions(&head.namespace, &head.name)? {
                if rec.status.is_pending() && head.lock.is_none() {
                    let now = now_ms();
                    let key = revision_key(&head.namespace, &head.name, rec.revision);
                    let mut r = rec.clone();
                    r.status = Status::Failed;
                    r.description = format!(
                        "{} interrupted: berthd stopped while the operation was running",
                        rec.operation.title()
                    );
                    r.updated_ms = now;
                    self.revisions.insert(key, encode(&r))?;
                    resolved.push((
                        head.namespace.clone(),
                        head.name.clone(),
                        rec.revision,
                        rec.operation,
                    ));
                }
            }
        }
        self.flush().await?;
        Ok(resolved)
    }

    /// Drop the oldest revisions beyond `max` (never the deployed or the
    /// newest one). Helm's --history-max.
    pub async fn prune_history(&self, ns: &str, name: &str, max: u32) -> Result<()> {
        if max == 0 {
            return Ok(());
        }
        let head = match self.head(ns, name)? {
            Some(h) => h,
            None => return Ok(()),
        };
        let revs = self.revisions(ns, name)?;
        if revs.len() <= max as usize {
            return Ok(());
        }
        let excess = revs.len() - max as usize;
        let mut batch = sled::Batch::default();
        let mut ebatch = sled::Batch::default();
        for r in revs.iter().take(excess) {
            if Some(r.revision) == head.deployed || r.revision == head.latest {
                continue;
            }
            batch.remove(revision_key(ns, name, r.revision));
            for k in self
                .events
                .scan_prefix(format!("{ns}/{name}/{:020}/", r.revision))
                .keys()
            {
                ebatch.remove(k?);
            }
        }
        self.revisions.apply_batch(batch)?;
        self.events.apply_batch(ebatch)?;
        self.flush().await
    }
}

fn set_status(
    revisions: &TransactionalTree,
    ns: &str,
    name: &str,
    rev: u64,
    status: Status,
    description: Option<&str>,
    now: Option<i64>,
) -> std::result::Result<RevisionRecord, ConflictableTransactionError<JournalError>> {
    let key = revision_key(ns, name, rev);
    let mut record: RevisionRecord = match revisions.get(&key)? {
        Some(v) => decode(&key, &v).map_err(ConflictableTransactionError::Abort)?,
        None => {
            return Err(ConflictableTransactionError::Abort(JournalError::Conflict(
                format!("revision {rev} of {name} does not exist"),
            )));
        }
    };
    record.status = status;
    if let Some(d) = description {
        record.description = d.to_string();
    }
    if let Some(now) = now {
        record.updated_ms = now;
    }
    revisions.insert(key, encode(&record))?;
    Ok(record)
}

fn unwrap_tx<T>(res: std::result::Result<T, TransactionError<JournalError>>) -> Result<T> {
    match res {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(JournalError::Storage(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(rev: u64, op: OpKind) -> RevisionRecord {
        RevisionRecord {
            revision: rev,
            status: op.pending_status(),
            operation: op,
            chart: ChartRef::default(),
            description: String::new(),
            by: "admin".into(),
            client_addr: String::new(),
            client_version: String::new(),
            created_ms: 1,
            updated_ms: 1,
            manifest_blob: digest(b"m"),
            hooks_blob: digest(b"[]"),
            values_blob: digest(b"{}"),
            computed_values_blob: digest(b"{}"),
            notes_blob: digest(b""),
            rollback_of: None,
        }
    }

    fn begin(rev: u64, op: OpKind) -> Begin {
        Begin {
            record: record(rev, op),
            blobs: vec![b"m".to_vec(), b"[]".to_vec(), b"{}".to_vec(), b"".to_vec()],
            lock: Lock {
                revision: rev,
                operation: op,
                since_ms: 1,
                identity: "admin".into(),
                previous_status: None,
            },
            events: vec![],
        }
    }

    fn done() -> Finish {
        Finish {
            status: Status::Deployed,
            description: "Install complete".into(),
            deploys: true,
            undeploys: false,
        }
    }

    #[tokio::test]
    async fn lifecycle_supersedes_and_locks() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        j.begin("ns", "a", begin(1, OpKind::Install)).await.unwrap();
        let second = j
            .begin("ns", "a", begin(2, OpKind::Upgrade))
            .await
            .unwrap_err();
        assert_eq!(
            second.to_string(),
            "operation in progress on a (revision 1, install by admin)"
        );
        j.finish("ns", "a", 1, done()).await.unwrap();
        j.begin("ns", "a", begin(2, OpKind::Upgrade)).await.unwrap();
        j.finish("ns", "a", 2, done()).await.unwrap();
        let revs = j.revisions("ns", "a").unwrap();
        assert_eq!(revs[0].status, Status::Superseded);
        assert_eq!(revs[1].status, Status::Deployed);
        assert_eq!(j.head("ns", "a").unwrap().unwrap().deployed, Some(2));
        assert_eq!(j.blob(&digest(b"m")).unwrap().unwrap(), b"m");
    }

    #[tokio::test]
    async fn recovery_fails_pending_and_unlocks() {
        let dir = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(dir.path()).unwrap();
            j.begin("ns", "a", begin(1, OpKind::Install)).await.unwrap();
            j.finish("ns", "a", 1, done()).await.unwrap();
            j.begin("ns", "a", begin(2, OpKind::Upgrade)).await.unwrap();
        }
        let j = Journal::open(dir.path()).unwrap();
        let resolved = j.recover().await.unwrap();
        assert_eq!(resolved.len(), 1);
        let r2 = j.revision("ns", "a", 2).unwrap().unwrap();
        assert_eq!(r2.status, Status::Failed);
        assert!(r2.description.starts_with("Upgrade interrupted"));
        let head = j.head("ns", "a").unwrap().unwrap();
        assert!(head.lock.is_none());
        assert_eq!(head.deployed, Some(1));
    }

    #[tokio::test]
    async fn an_interrupted_uninstall_gives_the_revision_its_status_back() {
        let dir = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(dir.path()).unwrap();
            j.begin("ns", "a", begin(1, OpKind::Install)).await.unwrap();
            j.finish("ns", "a", 1, done()).await.unwrap();
            let lock = Lock {
                revision: 1,
                operation: OpKind::Uninstall,
                since_ms: 1,
                identity: "admin".into(),
                previous_status: None,
            };
            j.lock_latest("ns", "a", lock, Status::Uninstalling)
                .await
                .unwrap();
        }
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.recover().await.unwrap().len(), 1);
        let r1 = j.revision("ns", "a", 1).unwrap().unwrap();
        assert_eq!(r1.status, Status::Deployed, "still the deployed revision");
        assert!(
            r1.description.starts_with("Uninstallation interrupted"),
            "{}",
            r1.description
        );
        let head = j.head("ns", "a").unwrap().unwrap();
        assert!(head.lock.is_none());
        assert_eq!(head.deployed, Some(1));
    }

    #[tokio::test]
    async fn wrong_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(dir.path()).unwrap();
            j.db.open_tree("meta")
                .unwrap()
                .insert("schema", "99")
                .unwrap();
            j.flush().await.unwrap();
        }
        let e = Journal::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("format version 99"), "{e}");
    }
}
