//! The journal: every release, revision and operation event, in an embedded
//! sled database under `--data`.
//!
//! Trees:
//! - `meta`: the format version (`schema`).
//! - `releases`: `ns/name` → [`ReleaseHead`] (newest and deployed revision,
//!   the lock of the running operation).
//! - `revisions`: `ns/name/<rev:020>` → [`RevisionRecord`].
//! - `blobs`: sha256 → where the blob's deflated bytes (charts, manifests,
//!   values, notes) are in the pack files of `packs/` ([`packs`], since
//!   format version 4; the bytes themselves before), stored once however
//!   many revisions share them.
//! - `nodes`: sha256 → the digests of the pieces a large blob was cut into
//!   ([`chunks`]): a manifest is stored as its documents, so revisions that
//!   differ in one object share all the others. Since format version 2.
//! - `charts/` (a directory beside sled's, not a tree): charts of
//!   [`crate::uploads::MIN_SIZE`] or more, as files named by their digest
//!   ([`charts`]), so that sled's cache does not keep them. Since format
//!   version 3.
//! - `packs/` (a directory beside sled's): append-only files of deflated
//!   blobs, so that reading old revisions does not fill sled's cache
//!   ([`packs`]). Since format version 4.
//! - `events`: `ns/name/<rev:020>/<seq:020>` → protobuf [`proto::Event`];
//!   once a revision is closed, `ns/name/<rev:020>/packed` → all its events
//!   in one record ([`packed`], since format version 2).
//!
//! Every state change is one sled transaction, flushed to disk before the
//! caller goes on (and so before any RPC answers).
//!
//! Opening is strict: a journal of another format version, with records but
//! no version marker, whose database file sled cannot read, or locked by
//! another process is refused with the path and the reason — never reset
//! to an empty journal. Moving between format versions goes through
//! `berthd journal export` and `import` ([`transfer`]); [`check`] verifies
//! a journal's invariants offline. Revisions are never
//! rewritten except for their status and description; history is
//! append-only until an uninstall without `--keep-history` purges it, as in
//! Helm.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth::proto;
use prost::Message;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

mod charts;
pub mod check;
mod chunks;
mod packed;
mod packs;
pub mod records;
pub mod spool;
pub mod transfer;

pub use charts::ChartPin;
pub use records::{ChartRef, Lock, OpKind, ReleaseHead, RevisionRecord, Status, TestRun};

use crate::spool::ChartBytes;

/// The on-disk format this build reads and writes. Each version is a
/// subset of the next: version 1 has no `nodes` and no packed events,
/// version 2 no `charts/` (format 2 kept big charts in sled, in pieces of
/// 1 MiB joined by a node, which this build reads as any other node),
/// version 3 no `packs/` (its blobs are inline in sled, and stay so: this
/// build reads both), version 4 the loose events of a revision not packed
/// yet in sled (version 5 appends them to a file per revision, [`spool`];
/// this build reads both). An older journal opens as it is and, once
/// berthd serves it, is marked version 5 (`journal check` and `export`
/// leave the marker); a berthd of an older version would not see what the
/// newer one adds, so it refuses the marker.
pub const SCHEMA_VERSION: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("journal at {path}: {message} — refusing to open it")]
    Version { path: PathBuf, message: String },
    #[error("journal storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error("journal record {key} is corrupt: {message}")]
    Corrupt { key: String, message: String },
    #[error(
        "another operation (install/upgrade/rollback) is in progress on {name} (revision {revision}, {operation} by {identity})"
    )]
    Locked {
        name: String,
        revision: u64,
        operation: String,
        identity: String,
    },
    #[error("{0}")]
    Conflict(String),
}

impl From<std::io::Error> for JournalError {
    fn from(e: std::io::Error) -> Self {
        JournalError::Storage(sled::Error::Io(e))
    }
}

type Result<T> = std::result::Result<T, JournalError>;

#[derive(Clone)]
pub struct Journal {
    path: PathBuf,
    db: sled::Db,
    releases: sled::Tree,
    revisions: sled::Tree,
    blobs: sled::Tree,
    nodes: sled::Tree,
    events: sled::Tree,
    charts: charts::ChartFiles,
    packs: packs::Packs,
    /// The events of revisions not packed yet.
    spool: std::sync::Arc<spool::Spool>,
    /// Held (shared) by a write from the moment it looks for the blobs it
    /// needs until its transaction names them, and (exclusive) by
    /// [`Journal::collect_garbage`]: a blob found present is never swept
    /// before the revision relying on it is in.
    gc: std::sync::Arc<tokio::sync::RwLock<()>>,
    /// Revisions dropped (pruned or purged) since the last collection.
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// sled's cache capacity unless told otherwise (berthd --journal-cache).
/// sled's own default is 1 GiB, and it keeps every page it read up to
/// that: a berthd that served 300 revisions' 2.3 MB manifests held 487 MiB
/// for good; 280 MiB with 64 MiB (270 with 16 MiB), when blob contents
/// were in sled's pages (before format 4, [`packs`]). sled exceeds the
/// capacity: it counts page accesses against it only once 64 have queued
/// in the page's shard (of 256), so the pages read since stay on top. At
/// 16 MiB the journal bench's writes were slower (10.7 against 8.6 ms
/// per upgrade, one run each; benches/README.md, "journal").
pub const DEFAULT_CACHE: u64 = 64 << 20;

/// [`DEFAULT_CACHE`] as berthd's flag writes it.
pub const DEFAULT_CACHE_FLAG: &str = "64Mi";

/// The smallest cache berthd's flag takes (sled refuses under 256 bytes,
/// with a panic; a cache of a few pages is no cache).
pub const MIN_CACHE: u64 = 1 << 20;

/// A --journal-cache: a size (see [`crate::limits::parse_size`]) of at
/// least [`MIN_CACHE`].
pub fn parse_cache(s: &str) -> std::result::Result<u64, String> {
    let size = crate::limits::parse_size(s)?;
    if size < MIN_CACHE {
        return Err(format!(
            "{s:?} is too small: the journal cache takes at least 1Mi"
        ));
    }
    Ok(size)
}

/// How often sled's flusher thread runs. Each run also moves live pages
/// out of mostly dead log segments, and that is most of sled's cleaning:
/// but sled 0.34's cleaner queue (`SegmentCleaner::pop`) answers "nothing"
/// when it has just emptied a segment's list, which ends the run's loop,
/// so a run cleans about one 512 KiB segment. While an operation's events
/// were written to sled one value each and removed when packed, sled's
/// file only stayed near its live data with a run every 20 ms (the journal
/// bench's 10,000 revisions written back to back: 443 MB for 37 MB at
/// 500 ms, 67 MB at 20 ms). With them in files of their own ([`spool`])
/// 200 ms keeps the bench's journal where 20 ms did (90.2 MB against
/// 92.8 MB); 500 ms is 1.6 times that at 2,000 revisions. Each run syncs
/// the file: 5 wake-ups and syncs a second for an idle berthd, not 50
/// (benches/README.md, "journal"). berthd's own flushes make every state
/// change durable, whatever this is.
const FLUSH_EVERY_MS: u64 = 200;

/// Blobs appended outside a transaction (a compaction's, an import's) go
/// in groups of about this many bytes.
const RELOCATE_GROUP: usize = 4 << 20;

/// A collection runs once this many revisions were dropped since the last.
pub const COLLECT_AFTER_DROPPED: u64 = 64;

/// Where the count of revisions dropped since the last collection is kept
/// (`meta` tree), so that a restart does not start it over.
const DROPPED_KEY: &str = "dropped-since-collection";

/// What a collection removed.
#[derive(Debug, Default, PartialEq)]
pub struct Collected {
    pub blobs: usize,
    pub nodes: usize,
    /// Pack files compacted away.
    pub packs: usize,
}

/// Every sled write (transaction, batch, insert) and every flush goes
/// through this one lock. sled 0.34 guards writes with a process-wide
/// readers-writer lock that prefers writers; a flush holds it for reading
/// while it waits for the log to become stable, which needs sled's flusher
/// thread to take it for reading too — behind any writer already queued: a
/// deadlock, seen with 20 concurrent operations. With writes and flushes
/// taking turns here, no writer ever queues behind a flush. Reads need not
/// wait.
static WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn writing<T>(f: impl FnOnce() -> T) -> T {
    let done = {
        let _turn = WRITES.lock().unwrap_or_else(|e| e.into_inner());
        f()
    };
    // What the write replaced is freed through this thread's epoch bag.
    crate::memory::hand_over_garbage();
    done
}

/// Why a journal does not open beside `count` packs it never wrote.
fn stray_packs(packs: &packs::Packs, count: usize) -> String {
    format!(
        "{} holds {count} pack file(s) this journal never wrote (another journal's blobs): \
         move them aside with the journal they belong to, or remove them",
        packs.dir().display()
    )
}

/// Where sled keeps the journal inside the data directory.
fn db_path(dir: &Path) -> PathBuf {
    dir.join("journal")
}

/// The one thing berth reads of sled's own file format, to refuse a damaged
/// database before sled opens it: sled 0.34 treats a segment whose header
/// fails its checksum as free space, so a file in which no segment header
/// is intact opens as an empty database — and is overwritten. A healthy
/// file always has at least one intact header: the segment being written.
mod sled_file {
    use std::io::Read;
    use std::path::Path;

    /// sled 0.34 pagecache/logger.rs SegmentHeader: crc32 ^ 0xFFFF_FFFF
    /// (little endian) over the lsn and max stable lsn that follow it.
    const SEG_HEADER_LEN: usize = 20;
    /// sled's default, which berth does not change; `conf` records it.
    const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024;

    fn segment_size(dir: &Path) -> u64 {
        std::fs::read_to_string(dir.join("conf"))
            .ok()
            .and_then(|conf| {
                conf.lines()
                    .find_map(|l| l.strip_prefix("segment_size: ")?.trim().parse().ok())
            })
            .filter(|s| *s >= SEG_HEADER_LEN as u64)
            .unwrap_or(DEFAULT_SEGMENT_SIZE)
    }

    fn intact(header: &[u8; SEG_HEADER_LEN]) -> bool {
        let stored = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) ^ 0xFFFF_FFFF;
        crc32fast::hash(&header[4..]) == stored
    }

    /// Whether any segment header of `dir/db` is intact (an unreadable
    /// file counts as not readable).
    pub fn readable(dir: &Path) -> bool {
        use std::io::{Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(dir.join("db")) else {
            return false;
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let size = segment_size(dir);
        let mut offset = 0;
        while offset + SEG_HEADER_LEN as u64 <= len {
            let mut header = [0u8; SEG_HEADER_LEN];
            let read = file
                .seek(SeekFrom::Start(offset))
                .and_then(|_| file.read_exact(&mut header));
            if read.is_ok() && intact(&header) {
                return true;
            }
            offset += size;
        }
        false
    }
}

/// The key of the format version in the `meta` tree.
const SCHEMA_KEY: &str = "schema";

/// Accept [`SCHEMA_VERSION`] and the versions it reads as they are
/// (returned, to be marked); say why anything else is refused.
fn check_version(dir: &Path, stored: &[u8]) -> Result<u32> {
    let text = String::from_utf8_lossy(stored);
    let message = match text.parse::<u32>() {
        Ok(v) if (1..=SCHEMA_VERSION).contains(&v) => return Ok(v),
        Ok(v) if v > SCHEMA_VERSION => format!(
            "it has format version {v}, written by a newer berthd; this berthd reads version {SCHEMA_VERSION} \
             (run the newer berthd, or export the journal with it)"
        ),
        Ok(v) => format!(
            "it has format version {v}; this berthd reads version {SCHEMA_VERSION} and has no migration from {v} \
             (export it with a berthd that reads it, then import it here)"
        ),
        Err(_) => format!("its format version marker is unreadable ({text:?})"),
    };
    Err(JournalError::Version {
        path: dir.to_path_buf(),
        message,
    })
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

fn packed_key(ns: &str, name: &str, rev: u64) -> Vec<u8> {
    format!("{ns}/{name}/{rev:020}/{}", packed::SUFFIX).into_bytes()
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

/// Whether `d` is a sha256 in lowercase hex, as [`digest`] writes them.
pub fn is_digest(d: &str) -> bool {
    d.len() == 64 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Blob `d` does not read: `message` says why.
fn corrupt_blob(d: &str, message: impl std::fmt::Display) -> JournalError {
    JournalError::Corrupt {
        key: format!("blob {d}"),
        message: message.to_string(),
    }
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return stored(bytes);
    }
    // Default rather than fast: pieces are small (a few KB), so the time is
    // negligible, and at 10,000 revisions the bytes are not (see
    // benches/README.md, "journal").
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("writing to a Vec cannot fail");
    e.finish().expect("writing to a Vec cannot fail")
}

/// A deflate stream of stored (uncompressed) blocks, for blobs that are
/// compressed already (chart bundles are gzip): compressing them again
/// gains nothing and cost ~15 ms per MiB, on the operation's path. It is
/// still deflate (RFC 1951, BTYPE 00), so [`inflate`] reads it like any
/// other blob and the journal's format does not change.
fn stored(bytes: &[u8]) -> Vec<u8> {
    const MAX_BLOCK: usize = 65_535;
    let blocks = bytes.len().div_ceil(MAX_BLOCK).max(1);
    let mut out = Vec::with_capacity(bytes.len() + 5 * blocks);
    let mut chunks = bytes.chunks(MAX_BLOCK).peekable();
    if chunks.peek().is_none() {
        // An empty final block.
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = chunk.len() as u16;
        out.push(u8::from(last));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
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

/// Blob pieces and nodes a write adds (see `Journal::to_store`).
#[derive(Default)]
struct Additions {
    blobs: Vec<(String, Vec<u8>)>,
    nodes: Vec<(String, Vec<u8>)>,
}

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<JournalError>>;

impl Additions {
    /// The blobs appended to a pack and synced, and the values sled is to
    /// hold: their places, and the nodes (sled copies a value into its own
    /// buffer, and a transaction may run more than once, so that copy is
    /// made once, here). Blocking.
    fn ready(self, packs: &packs::Packs) -> Result<Ready> {
        let values: Vec<&[u8]> = self.blobs.iter().map(|(_, v)| v.as_slice()).collect();
        let places = packs.append(&values)?;
        let blobs = self
            .blobs
            .iter()
            .zip(places)
            .map(|((d, _), place)| (d.clone(), sled::IVec::from(&place.encode()[..])))
            .collect();
        let nodes = self
            .nodes
            .into_iter()
            .map(|(k, bytes)| (k, sled::IVec::from(bytes)))
            .collect();
        Ok(Ready { blobs, nodes })
    }

    /// [`Additions::ready`] off the async workers (the pack is synced).
    async fn ready_async(self, packs: &packs::Packs) -> Result<Ready> {
        if self.blobs.is_empty() {
            return self.ready(packs);
        }
        let packs = packs.clone();
        tokio::task::spawn_blocking(move || self.ready(&packs))
            .await
            .map_err(|e| JournalError::Conflict(format!("journal pack task: {e}")))?
    }
}

/// [`Additions`] ready for a transaction.
struct Ready {
    blobs: Vec<(String, sled::IVec)>,
    nodes: Vec<(String, sled::IVec)>,
}

impl Ready {
    /// Insert, inside a transaction, what is still absent.
    fn insert(&self, blobs: &TransactionalTree, nodes: &TransactionalTree) -> TxResult<()> {
        for (tree, entries) in [(blobs, &self.blobs), (nodes, &self.nodes)] {
            for (d, bytes) in entries {
                if tree.get(d.as_bytes())?.is_none() {
                    tree.insert(d.as_bytes(), bytes.clone())?;
                }
            }
        }
        Ok(())
    }
}

/// Whether revision `revision` of `name` may begin after `head`: the
/// release is not locked, and it is the next revision.
fn may_begin(head: Option<&ReleaseHead>, name: &str, revision: u64) -> Result<()> {
    if let Some(lock) = head.and_then(|h| h.lock.clone()) {
        return Err(JournalError::Locked {
            name: name.to_string(),
            revision: lock.revision,
            operation: format!("{:?}", lock.operation).to_lowercase(),
            identity: lock.identity,
        });
    }
    let latest = head.map(|h| h.latest).unwrap_or(0);
    if revision != latest + 1 {
        return Err(JournalError::Conflict(format!(
            "revision {revision} of {name} is not the next one (latest is {latest})"
        )));
    }
    Ok(())
}

/// A closed revision's events packed: written with the transaction that
/// closes it (see `Journal::pack_plan`).
struct PackPlan {
    key: Vec<u8>,
    value: Vec<u8>,
    /// The object table blob: (digest, deflated).
    table: (String, Vec<u8>),
    loose: Vec<sled::IVec>,
    /// The revision whose spool file goes once the record is durable.
    spooled: Option<u64>,
}

impl PackPlan {
    fn apply(&self, blobs: &TransactionalTree, events: &TransactionalTree) -> TxResult<()> {
        let (d, bytes) = &self.table;
        if blobs.get(d.as_bytes())?.is_none() {
            blobs.insert(d.as_bytes(), bytes.as_slice())?;
        }
        events.insert(self.key.as_slice(), self.value.as_slice())?;
        for k in &self.loose {
            events.remove(k)?;
        }
        Ok(())
    }
}

/// An events file packed, to remove once the record is durable.
#[derive(Debug)]
pub struct PackedFile {
    ns: String,
    name: String,
    rev: u64,
    /// Its length when packed.
    len: u64,
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
    /// A revision this one replaces (an install over an uninstalled
    /// release, Helm's Replace): marked superseded, whatever the outcome.
    pub supersedes: Option<u64>,
}

/// A revision about to be recorded as pending, with the blobs it needs.
pub struct Begin {
    pub record: RevisionRecord,
    /// The packed chart, stored under `record.chart.digest`: the caller has
    /// checked that digest against the bytes (a chart can be 50 MiB; hashing
    /// it again here would cost ~30 ms).
    pub chart: Option<ChartBytes>,
    pub blobs: Vec<Vec<u8>>,
    pub lock: Lock,
    /// Events emitted before the revision existed, persisted with it.
    pub events: Vec<proto::Event>,
}

impl Journal {
    /// Open (or create) the journal under `dir` for serving: an absent or
    /// empty directory gets a new journal; anything else must be a journal of
    /// this format version, or it is refused (never reset).
    pub fn open(dir: &Path) -> Result<Journal> {
        Journal::open_cached(dir, DEFAULT_CACHE)
    }

    /// [`Journal::open`] with sled's cache capacity at `cache` bytes
    /// (berthd --journal-cache; see [`DEFAULT_CACHE`] for what it bounds).
    pub fn open_cached(dir: &Path, cache: u64) -> Result<Journal> {
        std::fs::create_dir_all(dir).map_err(|e| JournalError::Open {
            path: dir.to_path_buf(),
            // create_dir_all's "File exists" means something else is there.
            message: if dir.exists() && !dir.is_dir() {
                "it is not a directory (--data names the journal's directory)".into()
            } else {
                e.to_string()
            },
        })?;
        Journal::open_db(dir, true, cache)
    }

    /// Open the journal under `dir` that must exist already (`berthd
    /// journal check|export`); nothing is created.
    pub fn open_existing(dir: &Path) -> Result<Journal> {
        if !db_path(dir).is_dir() {
            return Err(JournalError::Open {
                path: dir.to_path_buf(),
                message: format!("no journal here (expected {})", db_path(dir).display()),
            });
        }
        Journal::open_db(dir, false, DEFAULT_CACHE)
    }

    fn open_db(dir: &Path, create: bool, cache: u64) -> Result<Journal> {
        let open_err = |message: String| JournalError::Open {
            path: dir.to_path_buf(),
            message,
        };
        // sled recovers a database file it cannot read as an empty
        // database, and overwrites it on open: look before it does.
        let data_file = db_path(dir).join("db");
        let had_data = std::fs::metadata(&data_file).is_ok_and(|m| m.len() > 0);
        if had_data && !sled_file::readable(&db_path(dir)) {
            return Err(open_err(format!(
                "{} is not empty but holds no readable journal (corrupt, or not a berth journal); \
                 refusing to start an empty journal over it — restore it from a `berthd journal export` backup \
                 or move it aside",
                data_file.display()
            )));
        }
        // A new journal never adopts another's packs: its first
        // collection would remove what it does not name.
        if !had_data {
            let packs = packs::Packs::new(dir);
            let held = packs.list().map_err(|e| open_err(e.to_string()))?;
            if !held.is_empty() {
                return Err(open_err(stray_packs(&packs, held.len())));
            }
        }
        let config = sled::Config::new()
            .path(db_path(dir))
            .flush_every_ms(Some(FLUSH_EVERY_MS))
            .cache_capacity(cache.max(256));
        // sled asserts on some damage it finds while recovering. A lock
        // still held by a process (or a handle of this one) that is
        // closing is given a moment to go before it counts as in use.
        let open = move || {
            let mut tries = 0;
            loop {
                match config.open() {
                    Err(sled::Error::Io(io))
                        if tries < 20 && io.to_string().contains("could not acquire lock") =>
                    {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    other => return other,
                }
            }
        };
        let opened =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(open)).map_err(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                open_err(format!(
                    "{} could not be recovered (corrupt?): {why}",
                    data_file.display()
                ))
            })?;
        let db = opened.map_err(|e| match e {
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                open_err(format!(
                    "{} is locked by another process (a berthd serving it?)",
                    data_file.display()
                ))
            }
            e => open_err(e.to_string()),
        })?;
        let has_tree = |name: &str| {
            db.tree_names()
                .iter()
                .any(|t| t.as_ref() == name.as_bytes())
        };
        let version = if has_tree("meta") {
            db.open_tree("meta")?.get(SCHEMA_KEY)?
        } else {
            None
        };
        match version {
            Some(v) => {
                // An older version is read as it is; serving it marks it
                // (it may write what only this version reads), `journal
                // check` and `export` leave it as it was.
                if check_version(dir, &v)? != SCHEMA_VERSION && create {
                    writing(|| {
                        db.open_tree("meta")?
                            .insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())?;
                        db.flush()
                    })?;
                }
            }
            None => {
                let has_records = ["releases", "revisions", "blobs", "events"]
                    .iter()
                    .any(|t| has_tree(t) && db.open_tree(t).is_ok_and(|t| !t.is_empty()));
                if has_records {
                    return Err(JournalError::Version {
                        path: dir.to_path_buf(),
                        message: "it has records but no format version marker".into(),
                    });
                }
                if had_data {
                    return Err(open_err(format!(
                        "{} is not empty but holds no readable journal (corrupt, or not a berth journal); \
                         refusing to start an empty journal over it — restore it from a `berthd journal export` backup \
                         or move it aside",
                        data_file.display()
                    )));
                }
                if !create {
                    return Err(open_err(
                        "the journal is empty (no format version marker)".into(),
                    ));
                }
                db.open_tree("meta")?
                    .insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())?;
                db.flush()?;
            }
        }
        let charts = charts::ChartFiles::new(dir);
        let meta = db.open_tree("meta")?;
        let packs = packs::Packs::new(dir).numbered_in(meta.clone())?;
        let blobs = db.open_tree("blobs")?;
        Journal::own_packs(&packs, &meta, &blobs).map_err(open_err)?;
        if create {
            charts
                .clear_leftovers()
                .map_err(|e| open_err(format!("cannot clear {}: {e}", charts.dir().display())))?;
        }
        let spool = spool::Spool::new(dir);
        if create {
            // A crash can leave a record cut short, and a file whose
            // revision was packed (or purged) just before it.
            let spooled = spool
                .repair()
                .map_err(|e| open_err(format!("cannot repair its events files: {e}")))?;
            let events = db.open_tree("events")?;
            let revisions = db.open_tree("revisions")?;
            for (ns, name, rev, last) in spooled {
                let exists = revisions.contains_key(revision_key(&ns, &name, rev))?;
                let packed = match events.get(packed_key(&ns, &name, rev))? {
                    Some(v) => packed::last_seq(&v).unwrap_or(0) >= last,
                    None => false,
                };
                if packed || !exists {
                    spool
                        .remove(&ns, &name, rev)
                        .map_err(|e| open_err(e.to_string()))?;
                }
            }
        }
        Ok(Journal {
            charts,
            packs,
            spool: std::sync::Arc::new(spool),
            gc: Default::default(),
            dropped: Default::default(),
            path: dir.to_path_buf(),
            releases: db.open_tree("releases")?,
            revisions: db.open_tree("revisions")?,
            blobs,
            nodes: db.open_tree("nodes")?,
            events: db.open_tree("events")?,
            db,
        })
    }

    /// Whether `packs/` and the journal belong together: packs the journal
    /// never numbered are another journal's (its first collection would
    /// remove them), and a journal that names places in packs needs some.
    /// Says what is wrong otherwise.
    fn own_packs(
        packs: &packs::Packs,
        meta: &sled::Tree,
        blobs: &sled::Tree,
    ) -> std::result::Result<(), String> {
        let held = packs.list().map_err(|e| e.to_string())?;
        let next = packs::next_in(meta).map_err(|e| e.to_string())?;
        match (next, held.last()) {
            (None, Some(_)) => Err(stray_packs(packs, held.len())),
            (Some(next), Some(&(newest, _))) if newest >= next => Err(format!(
                "{} holds pack {newest}, which this journal never wrote (it numbered packs below \
                 {next}): move the packs aside with the journal they belong to",
                packs.dir().display()
            )),
            (Some(_), None) => {
                let named = blobs
                    .iter()
                    .values()
                    .any(|v| v.is_ok_and(|v| v.first() == Some(&packs::TAG)));
                if named {
                    Err(format!(
                        "its blobs are in pack files and {} holds none (restored without them?): \
                         restore the packs with the journal",
                        packs.dir().display()
                    ))
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// The data directory (`--data`) this journal lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The format version the journal is marked with (an older one when
    /// it was opened for `journal check` or `export` only).
    pub fn format_version(&self) -> Result<u32> {
        let stored = self.db.open_tree("meta")?.get(SCHEMA_KEY)?;
        Ok(stored
            .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
            .unwrap_or(SCHEMA_VERSION))
    }

    /// Whether the journal answers reads (readiness).
    pub fn ping(&self) -> Result<()> {
        self.db.open_tree("meta")?.get("schema")?;
        Ok(())
    }

    /// Bytes the journal takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        Ok(self.db.size_on_disk()?
            + self.charts.size()?
            + self.packs.size()?
            + self.spool.size()?)
    }

    /// Make every write durable: sled's, then the events appended since
    /// (so an operation's outcome, recorded before its terminal event, is
    /// never behind it).
    pub async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        let spool = self.spool.clone();
        tokio::task::spawn_blocking(move || {
            writing(|| db.flush())?;
            // Not with the write turn: the events files are not sled's.
            spool.sync()?;
            Ok::<_, JournalError>(())
        })
        .await
        .map_err(|e| JournalError::Conflict(format!("journal flush task: {e}")))??;
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
        self.history(ns, name, usize::MAX)
    }

    /// The newest `max` revisions of a release, oldest first: a reverse
    /// scan that reads only those records, however long the history.
    pub fn history(&self, ns: &str, name: &str, max: usize) -> Result<Vec<RevisionRecord>> {
        let mut revs = self
            .revisions
            .scan_prefix(release_prefix(ns, name))
            .rev()
            .take(max)
            .map(|kv| {
                let (k, v) = kv?;
                decode(&k, &v)
            })
            .collect::<Result<Vec<RevisionRecord>>>()?;
        revs.reverse();
        Ok(revs)
    }

    pub fn has_blob(&self, digest: &str) -> Result<bool> {
        Ok(self.blobs.contains_key(digest.as_bytes())?
            || self.nodes.contains_key(digest.as_bytes())?
            || self.charts.contains(digest))
    }

    /// A blob's bytes: stored whole, reassembled from its pieces, or a
    /// chart file's.
    pub fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.blobs.get(digest.as_bytes())? {
            return self.blob_bytes(digest, v).map(Some);
        }
        let Some(node) = self.nodes.get(digest.as_bytes())? else {
            return self
                .charts
                .read(digest)
                .map_err(|e| corrupt_blob(digest, e));
        };
        let corrupt = |message: String| corrupt_blob(digest, message);
        let mut out = Vec::new();
        for child in chunks::decode_node(&node).map_err(corrupt)? {
            let part = self
                .blob(&child)?
                .ok_or_else(|| corrupt(format!("its piece {child} is missing")))?;
            out.extend_from_slice(&part);
        }
        Ok(Some(out))
    }

    /// Blob `d`'s content from its `blobs` value: inflated as it is, or
    /// read from its pack first. A pack read that fails because a
    /// compaction moved the blob since `value` was read is tried again at
    /// the new place.
    fn blob_bytes(&self, d: &str, mut value: sled::IVec) -> Result<Vec<u8>> {
        loop {
            let place = match packs::stored(&value).map_err(|m| corrupt_blob(d, m))? {
                packs::Stored::Inline(bytes) => return inflate(d, bytes),
                packs::Stored::Packed(place) => place,
            };
            match self.packs.read(place) {
                Ok(bytes) => return inflate(d, &bytes),
                Err(e) => match self.blobs.get(d.as_bytes())? {
                    Some(now) if now != value => value = now,
                    _ => return Err(corrupt_blob(d, e)),
                },
            }
        }
    }

    /// Keep chart `digest` from being swept until the pin is dropped: an
    /// operation takes it before it asks whether the journal holds its
    /// chart, and holds it until it ends.
    pub fn pin_chart(&self, digest: &str) -> ChartPin {
        self.charts.pin(digest)
    }

    /// The chart digests the revisions name.
    fn chart_names(&self) -> Result<std::collections::HashSet<String>> {
        self.revisions
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                Ok(decode::<RevisionRecord>(&k, &v)?.chart.digest)
            })
            .collect()
    }

    /// Remove the blobs and nodes nothing names any more: no revision (its
    /// chart, manifest, hooks, values, computed values and notes, through
    /// every node under them) and no packed events record (its object
    /// table). Pruned and purged revisions leave their content behind;
    /// this is what bounds the journal to what `--history-max` keeps, as
    /// Helm's storage is. Writes wait while it runs (it holds
    /// [`Journal::gc`] exclusively); a record it cannot decode stops it
    /// before anything is removed. Blocking: not on an async worker.
    pub fn collect_garbage(&self) -> Result<Collected> {
        use std::collections::HashSet;
        let _gc = self.gc.blocking_write();
        // A chart an operation pinned (told the client it need not send
        // it) stays, and no pin comes or goes until the removal is done.
        let pinned = self.charts.pinned();
        let mut live: HashSet<String> = HashSet::new();
        let mut todo: Vec<String> = pinned.keys().cloned().collect();
        for kv in self.revisions.iter() {
            let (k, v) = kv?;
            let r: RevisionRecord = decode(&k, &v)?;
            todo.extend(r.blobs().map(String::from));
        }
        let packed_suffix = format!("/{}", packed::SUFFIX);
        for kv in self.events.iter() {
            let (k, v) = kv?;
            if k.ends_with(packed_suffix.as_bytes()) {
                let table = packed::table_digest(&v).map_err(|message| JournalError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    message,
                })?;
                todo.push(table);
            }
        }
        while let Some(d) = todo.pop() {
            if live.contains(&d) {
                continue;
            }
            if let Some(node) = self.nodes.get(d.as_bytes())? {
                let children =
                    chunks::decode_node(&node).map_err(|message| corrupt_blob(&d, message))?;
                todo.extend(children);
            }
            live.insert(d);
        }
        let mut collected = Collected::default();
        let dead = |tree: &sled::Tree, count: &mut usize| -> Result<sled::Batch> {
            let mut batch = sled::Batch::default();
            for k in tree.iter().keys() {
                let k = k?;
                if !live.contains(String::from_utf8_lossy(&k).as_ref()) {
                    batch.remove(k);
                    *count += 1;
                }
            }
            Ok(batch)
        };
        let blobs = dead(&self.blobs, &mut collected.blobs)?;
        let nodes = dead(&self.nodes, &mut collected.nodes)?;
        if collected != Collected::default() {
            apply_both((&self.blobs, &blobs), (&self.nodes, &nodes))?;
            writing(|| self.db.flush())?;
        }
        drop(pinned);
        collected.packs = self.compact_packs()?;
        Ok(collected)
    }

    /// Reclaim the pack bytes no place names (removed blobs, and what a
    /// crash left between an append and its transaction): every pack of
    /// which less than half is named has its named blobs appended anew,
    /// the journal then names their new places, and the pack is removed.
    /// Returns how many packs were removed. Only from
    /// [`Journal::collect_garbage`]: no write appends or names anything
    /// meanwhile.
    fn compact_packs(&self) -> Result<usize> {
        let files = self.packs.list()?;
        if files.is_empty() {
            return Ok(0);
        }
        let mut named: std::collections::HashMap<u32, (u64, Vec<(sled::IVec, packs::Place)>)> =
            Default::default();
        for kv in self.blobs.iter() {
            let (k, v) = kv?;
            // A value that is no place names no pack (`journal check` says
            // which blob it is).
            if let Ok(packs::Stored::Packed(place)) = packs::stored(&v) {
                let (live, places) = named.entry(place.pack).or_default();
                *live += u64::from(place.len);
                places.push((k, place));
            }
        }
        let compacted: Vec<(u32, Vec<(sled::IVec, packs::Place)>)> = files
            .into_iter()
            .filter_map(|(number, len)| {
                let (live, places) = named.remove(&number).unwrap_or_default();
                (live * 2 < len || len == 0).then_some((number, places))
            })
            .collect();
        if compacted.is_empty() {
            return Ok(0);
        }
        // What is moved goes to a new pack, never to one being emptied: not
        // the active pack, nor (before this run appended) the newest.
        self.packs.retire_active();
        let mut removed = 0;
        for (number, places) in compacted {
            match self.move_out(places) {
                Ok(()) => {}
                // A damaged pack stays as it is (what did read has moved);
                // the others are still compacted.
                Err(e @ JournalError::Corrupt { .. }) => {
                    tracing::warn!(pack = number, error = %e, "journal pack not compacted");
                    continue;
                }
                Err(e) => return Err(e),
            }
            // The new places are durable before the old pack goes.
            writing(|| self.db.flush())?;
            self.packs.remove(number)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Append the blobs at `places` anew and name their new places.
    fn move_out(&self, places: Vec<(sled::IVec, packs::Place)>) -> Result<()> {
        self.append_blobs(places.into_iter().map(|(k, place)| {
            let value = self
                .packs
                .read(place)
                .map_err(|e| corrupt_blob(&String::from_utf8_lossy(&k), e))?;
            Ok((k, value))
        }))
    }

    /// Append blobs (key, deflated bytes) to the active pack and name
    /// their places, outside any transaction (a compaction, an import into
    /// a new journal), in groups of [`RELOCATE_GROUP`] bytes: never all in
    /// memory at once.
    fn append_blobs(
        &self,
        blobs: impl IntoIterator<Item = Result<(sled::IVec, Vec<u8>)>>,
    ) -> Result<()> {
        let name = |group: &mut Vec<(sled::IVec, Vec<u8>)>| -> Result<()> {
            let values: Vec<&[u8]> = group.iter().map(|(_, v)| v.as_slice()).collect();
            let places = self.packs.append(&values)?;
            let mut batch = sled::Batch::default();
            for ((k, _), place) in group.iter().zip(places) {
                batch.insert(k.clone(), &place.encode()[..]);
            }
            writing(|| self.blobs.apply_batch(batch))?;
            group.clear();
            Ok(())
        };
        let mut group = Vec::new();
        let mut bytes = 0;
        for blob in blobs {
            let (k, value) = blob?;
            bytes += value.len();
            group.push((k, value));
            if bytes >= RELOCATE_GROUP {
                name(&mut group)?;
                bytes = 0;
            }
        }
        name(&mut group)
    }

    /// Count revisions dropped; past [`COLLECT_AFTER_DROPPED`] since the
    /// last collection, start one in the background.
    fn note_dropped(&self, revisions: usize) {
        use std::sync::atomic::Ordering;
        let total = self.dropped.fetch_add(revisions as u64, Ordering::Relaxed) + revisions as u64;
        let due = total >= COLLECT_AFTER_DROPPED
            && self.dropped.swap(0, Ordering::Relaxed) >= COLLECT_AFTER_DROPPED;
        // Kept across restarts (written with the next flush): a berthd
        // restarted more often than 64 revisions are dropped still collects.
        let left = if due { 0 } else { total };
        if let Err(e) = self
            .db
            .open_tree("meta")
            .and_then(|m| m.insert(DROPPED_KEY, &left.to_be_bytes()))
        {
            tracing::warn!(error = %e, "could not note the revisions dropped");
        }
        if due {
            self.start_collection();
        }
    }

    /// At start: the count of dropped revisions a previous run noted, and
    /// a collection if it is due.
    pub fn resume_collection(&self) {
        use std::sync::atomic::Ordering;
        let noted = self
            .db
            .open_tree("meta")
            .ok()
            .and_then(|m| m.get(DROPPED_KEY).ok().flatten())
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        self.dropped.store(0, Ordering::Relaxed);
        self.note_dropped(noted as usize);
    }

    /// A collection in the background.
    fn start_collection(&self) {
        let journal = self.clone();
        tokio::task::spawn_blocking(move || match journal.collect_garbage() {
            Ok(c) => tracing::debug!(
                blobs = c.blobs,
                nodes = c.nodes,
                "journal garbage collected"
            ),
            Err(e) => tracing::warn!(error = %e, "journal garbage collection"),
        });
    }

    /// The chart digests the revisions name, once what was read is on
    /// disk: a removal a sweep acts on is never one a crash undoes.
    fn durable_chart_names(&self) -> Result<std::collections::HashSet<String>> {
        let named = self.chart_names()?;
        writing(|| self.db.flush())?;
        Ok(named)
    }

    /// Remove every chart file no revision names and no operation has
    /// pinned (berthd runs it at start, for what a crash left). A journal
    /// with no release keeps its chart files: it may be a new journal
    /// beside the charts of one moved aside, and a journal whose last
    /// release was uninstalled has removed them already.
    pub fn sweep_charts(&self) -> Result<Vec<String>> {
        if self.releases.is_empty() {
            return Ok(Vec::new());
        }
        self.charts.sweep(None, || self.durable_chart_names())
    }

    /// After revisions naming `charts` were dropped, or an operation with
    /// one of them ended: remove those chart files no revision names. A
    /// file that cannot be removed now is removed at the next start.
    pub fn sweep_dropped(&self, charts: std::collections::HashSet<String>) {
        match self
            .charts
            .sweep(Some(&charts), || self.durable_chart_names())
        {
            Ok(removed) if !removed.is_empty() => {
                tracing::debug!(charts = ?removed, "removed chart files no revision names");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not remove chart files no revision names"),
        }
    }

    /// A chart the journal holds: a chart file is read from the file as
    /// it is needed (it can be 50 MiB), any other chart is in memory.
    pub fn chart(&self, digest: &str) -> Result<Option<ChartBytes>> {
        let opened = self
            .charts
            .open(digest)
            .map_err(|e| corrupt_blob(digest, e))?;
        if let Some((file, len)) = opened {
            return Ok(Some(ChartBytes::Spooled { file, len }));
        }
        Ok(self.blob(digest)?.map(|b| ChartBytes::Memory(b.into())))
    }

    /// What storing `bytes` adds to `blobs` and `nodes` (deflated pieces,
    /// encoded nodes) that the journal does not hold yet. Blobs are never
    /// rewritten (a compaction moves their bytes and names their new
    /// places), and removed or moved only by [`Journal::collect_garbage`],
    /// which waits for the caller's hold on [`Journal::gc`]: looking
    /// before the transaction is safe; the transaction inserts only what
    /// is still absent. (A chart file can be removed, but not while
    /// pinned: callers pin their charts.)
    fn to_store(&self, bytes: &[u8], out: &mut Additions) -> Result<()> {
        self.to_store_as(&digest(bytes), bytes, out)
    }

    /// [`Journal::to_store`] for bytes whose digest `d` is known.
    fn to_store_as(&self, d: &str, bytes: &[u8], out: &mut Additions) -> Result<()> {
        if self.has_blob(d)? {
            return Ok(());
        }
        let d = d.to_string();
        // Already compressed (a packed chart): pieces would not dedupe and
        // deflate would not shrink it; stored whole as it is.
        let split = if bytes.starts_with(&[0x1f, 0x8b]) {
            None
        } else {
            chunks::split(bytes)
        };
        let Some(entries) = split else {
            out.blobs.push((d, deflate(bytes)));
            return Ok(());
        };
        for e in entries {
            match e {
                chunks::Entry::Piece { key, bytes } => {
                    if !self.blobs.contains_key(key.as_bytes())? {
                        out.blobs.push((key, deflate(bytes)));
                    }
                }
                chunks::Entry::Node { key, value } => {
                    if !self.nodes.contains_key(key.as_bytes())? {
                        out.nodes.push((key, value));
                    }
                }
            }
        }
        Ok(())
    }

    /// A blob that must exist, as UTF-8 text.
    pub fn text_blob(&self, digest: &str) -> Result<String> {
        let bytes = self
            .blob(digest)?
            .ok_or_else(|| corrupt_blob(digest, "missing"))?;
        String::from_utf8(bytes).map_err(|e| corrupt_blob(digest, e))
    }

    /// One of revision `rev`'s text blobs (manifest, values, notes…), or
    /// None if the revision is gone: a read that raced `--history-max` or
    /// an uninstall, whose collection removed the blob after the record
    /// was read, finds no revision rather than a corrupt journal (also when
    /// a new install has recorded its own revision `rev` since).
    pub fn revision_text(
        &self,
        ns: &str,
        name: &str,
        rev: u64,
        digest: &str,
    ) -> Result<Option<String>> {
        match self.text_blob(digest) {
            Err(_)
                if !self
                    .revision(ns, name, rev)?
                    .is_some_and(|r| r.names(digest)) =>
            {
                Ok(None)
            }
            read => read.map(Some),
        }
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
        // Loose events first (sled's, then the spool's), then the packed
        // record: packing writes the record and removes the loose events
        // (in sled, in the same transaction; the spool's file once that is
        // durable), so a reader racing it sees the events in one place or
        // both.
        let mut events = self
            .events
            .range(start..=end)
            .map(|kv| {
                let (k, v) = kv?;
                proto::Event::decode(v.as_ref()).map_err(|e| JournalError::Corrupt {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<proto::Event>>>()?;
        let mut unsorted = !events.is_empty();
        let spooled = self.spool.read(ns, name, rev)?;
        unsorted |= !spooled.is_empty();
        events.extend(spooled.into_iter().filter(|e| e.seq > after_seq));
        if let Some(packed) = self.packed_events(ns, name, rev)? {
            unsorted = true;
            events.extend(packed.into_iter().filter(|e| e.seq > after_seq));
        }
        if unsorted {
            events.sort_by_key(|e| e.seq);
            events.dedup_by_key(|e| e.seq);
        }
        Ok(events)
    }

    /// The events of a revision's packed record, if it has one.
    fn packed_events(&self, ns: &str, name: &str, rev: u64) -> Result<Option<Vec<proto::Event>>> {
        let key = packed_key(ns, name, rev);
        let Some(value) = self.events.get(&key)? else {
            return Ok(None);
        };
        packed::unpack(ns, name, rev, &value, |d| {
            self.blob(d)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("its object table {d} is missing"))
        })
        .map(Some)
        .map_err(|message| JournalError::Corrupt {
            key: String::from_utf8_lossy(&key).into_owned(),
            message,
        })
    }

    /// Pack the loose events of a closed revision: the record and table to
    /// write and the loose keys to remove, or None if there is nothing to
    /// pack (or the events would not pack faithfully; they stay loose).
    /// Called with the write turn held, so the events cannot change.
    fn pack_plan(&self, ns: &str, name: &str, rev: u64) -> Result<Option<PackPlan>> {
        let start = event_key(ns, name, rev, 0);
        let end = event_key(ns, name, rev, u64::MAX);
        let loose = self
            .events
            .range(start..=end)
            .keys()
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let spooled = self.spool.has(ns, name, rev);
        if loose.is_empty() && !spooled {
            return Ok(None);
        }
        let events = self.events(ns, name, rev, 0)?;
        let Some(p) = packed::pack(ns, name, rev, &events) else {
            return Ok(None);
        };
        Ok(Some(PackPlan {
            key: packed_key(ns, name, rev),
            table: (digest(&p.table), deflate(&p.table)),
            value: p.value,
            loose,
            spooled: spooled.then_some(rev),
        }))
    }

    /// The sequence number of the last event of a revision, 0 if none.
    pub fn last_event_seq(&self, ns: &str, name: &str, rev: u64) -> Result<u64> {
        let start = event_key(ns, name, rev, 0);
        let end = event_key(ns, name, rev, u64::MAX);
        let loose = match self.events.range(start..=end).next_back() {
            None => 0,
            Some(kv) => {
                let (k, v) = kv?;
                proto::Event::decode(v.as_ref())
                    .map(|e| e.seq)
                    .map_err(|e| JournalError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        message: e.to_string(),
                    })?
            }
        };
        let key = packed_key(ns, name, rev);
        let packed = match self.events.get(&key)? {
            None => 0,
            Some(v) => packed::last_seq(&v).map_err(|message| JournalError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                message,
            })?,
        };
        let spooled = self.spool.read(ns, name, rev)?.last().map_or(0, |e| e.seq);
        Ok(loose.max(packed).max(spooled))
    }

    /// Append events of a recorded revision to its file ([`spool`]). They
    /// become durable with the next flush; the state change that ends an
    /// operation flushes. The events need no atomicity of their own:
    /// clients see none before the flush that follows (`events::flusher`),
    /// and one that reached the disk unseen is only an event nobody was
    /// shown yet. With the write turn, as packing reads them with it.
    pub fn append_events(&self, events: &[proto::Event]) -> Result<()> {
        writing(|| self.spool.append(events))?;
        Ok(())
    }

    /// Record a new pending revision and take the release's lock, in one
    /// transaction, then flush. Fails if another operation holds the lock.
    pub async fn begin(&self, ns: &str, name: &str, mut begin: Begin) -> Result<()> {
        let _gc = self.gc.read().await;
        let hkey = head_key(ns, name);
        let rkey = revision_key(ns, name, begin.record.revision);
        // Nothing is kept (a chart file, blobs appended to a pack) for an
        // operation the transaction would refuse; it checks again. What a
        // race leaves anyway is swept (a chart file, once its pin goes) or
        // compacted away (pack bytes).
        may_begin(self.head(ns, name)?.as_ref(), name, begin.record.revision)?;
        let mut adds = Additions::default();
        match begin.chart.take() {
            Some(ChartBytes::Memory(chart)) => {
                debug_assert_eq!(digest(&chart), begin.record.chart.digest);
                self.to_store_as(&begin.record.chart.digest, &chart, &mut adds)?;
                // The journal's copy is made: the received one goes before
                // sled makes its own.
                drop(chart);
            }
            Some(mut spooled) if !self.has_blob(&begin.record.chart.digest)? => {
                // A big chart is a file, complete before the transaction
                // names it. A file whose transaction never came (a disk
                // error, a race with another operation on the release) is
                // swept once the operation ends and its pin goes; after a
                // crash, at the next start.
                // Copying a big chart takes a while: not on the async workers.
                let charts = self.charts.clone();
                let d = begin.record.chart.digest.clone();
                tokio::task::spawn_blocking(move || {
                    let len = spooled.len();
                    charts.store(&d, &mut spooled.reader()?, len)
                })
                .await
                .map_err(|e| JournalError::Conflict(format!("journal chart task: {e}")))??;
            }
            Some(_) => {}
            None => {}
        }
        for b in &begin.blobs {
            self.to_store(b, &mut adds)?;
        }
        let adds = adds.ready_async(&self.packs).await?;
        let record = encode(&begin.record);
        let events: Vec<(Vec<u8>, Vec<u8>)> = begin
            .events
            .iter()
            .map(|ev| (event_key(ns, name, ev.revision, ev.seq), ev.encode_to_vec()))
            .collect();
        let mut spooled = None;
        let res = writing(|| {
            // The revision before this one is closed: pack its events (what
            // its operation did not, or appended after packing them).
            let previous = begin.record.revision.checked_sub(1).filter(|r| *r > 0);
            let pack = match previous {
                Some(prev) => self.pack_plan(ns, name, prev)?,
                None => None,
            };
            if let Some(rev) = pack.as_ref().and_then(|p| p.spooled) {
                spooled = self.spool.len(ns, name, rev)?.map(|len| PackedFile {
                    ns: ns.to_string(),
                    name: name.to_string(),
                    rev,
                    len,
                });
            }
            let trees = (
                &self.releases,
                &self.revisions,
                &self.blobs,
                &self.events,
                &self.nodes,
            );
            Ok::<_, JournalError>(trees.transaction(
                |(releases, revisions, blob_tree, event_tree, node_tree)| {
                    let head: Option<ReleaseHead> = match releases.get(&hkey)? {
                        Some(v) => {
                            Some(decode(&hkey, &v).map_err(ConflictableTransactionError::Abort)?)
                        }
                        None => None,
                    };
                    may_begin(head.as_ref(), name, begin.record.revision)
                        .map_err(ConflictableTransactionError::Abort)?;
                    let new_head = ReleaseHead {
                        namespace: ns.to_string(),
                        name: name.to_string(),
                        latest: begin.record.revision,
                        deployed: head.as_ref().and_then(|h| h.deployed),
                        lock: Some(begin.lock.clone()),
                        first_deployed_ms: head.as_ref().map(|h| h.first_deployed_ms).unwrap_or(0),
                    };
                    adds.insert(blob_tree, node_tree)?;
                    if let Some(p) = &pack {
                        p.apply(blob_tree, event_tree)?;
                    }
                    revisions.insert(rkey.as_slice(), record.as_slice())?;
                    for (k, v) in &events {
                        event_tree.insert(k.as_slice(), v.as_slice())?;
                    }
                    releases.insert(hkey.as_slice(), encode(&new_head))?;
                    Ok(())
                },
            ))
        })?;
        unwrap_tx(res)?;
        self.flush().await?;
        // The packed record is durable: the file it replaces goes.
        if let Some(f) = spooled {
            self.drop_packed(f);
        }
        Ok(())
    }

    /// Pack the events of a revision once the operation
    /// that wrote them has ended (its outcome recorded, its terminal event
    /// appended), so the next operation's [`begin`](Self::begin) finds
    /// nothing left to pack: the work (reading the file back, deflating
    /// the object table, removing the file) leaves the path between a
    /// request and its first write to the cluster (benches/README.md,
    /// "fleet"). berthd calls it while the release is still the ending
    /// operation's, so nothing else purges the release meanwhile. A
    /// revision an operation holds the lock on, one that is gone, or
    /// nothing loose: nothing happens. Returns the events file to remove
    /// once a flush has made the record durable ([`drop_packed`](Self::drop_packed)).
    pub async fn pack_closed(&self, ns: &str, name: &str, rev: u64) -> Result<Option<PackedFile>> {
        // A collection marks what the records name, then removes the rest:
        // the object table this inserts must not fall between the two.
        let _gc = self.gc.read().await;
        writing(|| {
            let Some(head) = self.head(ns, name)? else {
                return Ok(None);
            };
            if head.lock.is_some_and(|l| l.revision == rev) {
                return Ok(None);
            }
            let Some(pack) = self.pack_plan(ns, name, rev)? else {
                return Ok(None);
            };
            // With the write turn, nothing appends between reading the file
            // for the plan and taking its length.
            let len = match pack.spooled {
                Some(rev) => self.spool.len(ns, name, rev)?,
                None => None,
            };
            let rkey = revision_key(ns, name, rev);
            let res = (&self.revisions, &self.blobs, &self.events).transaction(
                |(revisions, blobs, events)| {
                    // A pack never outlives its revision.
                    if revisions.get(&rkey)?.is_some() {
                        pack.apply(blobs, events)?;
                    }
                    Ok(())
                },
            );
            unwrap_tx::<()>(res)?;
            Ok(len.map(|len| PackedFile {
                ns: ns.to_string(),
                name: name.to_string(),
                rev,
                len,
            }))
        })
    }

    /// Remove the events file [`pack_closed`](Self::pack_closed) packed,
    /// after a flush: unless something appended to it since (it then stays,
    /// to be packed again with what was added; readers take an event in
    /// both places once). What fails is only said, as for
    /// [`drop_spooled`](Self::drop_spooled).
    pub fn drop_packed(&self, f: PackedFile) {
        let removed = writing(|| match self.spool.len(&f.ns, &f.name, f.rev)? {
            Some(len) if len == f.len => self.spool.remove(&f.ns, &f.name, f.rev),
            _ => Ok(()),
        });
        if let Err(e) = removed {
            tracing::warn!(error = %e, "could not remove an events file");
        }
    }

    /// [`pack_closed`](Self::pack_closed), flushed, and its file removed.
    pub async fn pack_ended(&self, ns: &str, name: &str, rev: u64) -> Result<()> {
        if let Some(f) = self.pack_closed(ns, name, rev).await? {
            self.flush().await?;
            self.drop_packed(f);
        }
        Ok(())
    }

    /// Remove revisions' events files whose records are gone or packed
    /// (durably). What fails is only said: the revision is recorded
    /// whatever happens to the file, and the next start removes it.
    fn drop_spooled(&self, ns: &str, name: &str, revisions: impl IntoIterator<Item = u64>) {
        for rev in revisions {
            if let Err(e) = self.spool.remove(ns, name, rev) {
                tracing::warn!(error = %e, "could not remove an events file");
            }
        }
    }

    /// Bring a release's whole history in at once (`berth import`): every
    /// revision, its blobs and the head, in one transaction, flushed.
    /// Refused if the release already exists, so nothing is overwritten.
    pub async fn import(
        &self,
        head: ReleaseHead,
        records: Vec<RevisionRecord>,
        blobs: Vec<Vec<u8>>,
    ) -> Result<()> {
        let _gc = self.gc.read().await;
        let (ns, name) = (head.namespace.clone(), head.name.clone());
        let hkey = head_key(&ns, &name);
        // A chart kept as a file is not swept before the revisions naming
        // it are in.
        let _pins: Vec<ChartPin> = records
            .iter()
            .map(|r| self.pin_chart(&r.chart.digest))
            .collect();
        let mut adds = Additions::default();
        for b in &blobs {
            self.to_store(b, &mut adds)?;
        }
        drop(blobs);
        let exists = || {
            JournalError::Conflict(format!(
                "release {name:?} already exists in namespace {ns:?}"
            ))
        };
        // Not appended for an import the transaction would refuse.
        if self.releases.contains_key(&hkey)? {
            return Err(exists());
        }
        let adds = adds.ready_async(&self.packs).await?;
        let records: Vec<(Vec<u8>, Vec<u8>)> = records
            .iter()
            .map(|r| (revision_key(&ns, &name, r.revision), encode(r)))
            .collect();
        let res = writing(|| {
            (&self.releases, &self.revisions, &self.blobs, &self.nodes).transaction(
                |(releases, revisions, blob_tree, node_tree)| {
                    if releases.get(&hkey)?.is_some() {
                        return Err(ConflictableTransactionError::Abort(exists()));
                    }
                    adds.insert(blob_tree, node_tree)?;
                    for (k, v) in &records {
                        revisions.insert(k.as_slice(), v.as_slice())?;
                    }
                    releases.insert(hkey.as_slice(), encode(&head))?;
                    Ok(())
                },
            )
        });
        unwrap_tx(res)?;
        self.flush().await
    }

    /// Take the lock for an operation on the newest existing revision
    /// (uninstall), setting its status and adding the operation's first
    /// events — one transaction, flushed.
    pub async fn lock_latest(
        &self,
        ns: &str,
        name: &str,
        lock: Lock,
        status: Status,
        events: &[proto::Event],
    ) -> Result<RevisionRecord> {
        let hkey = head_key(ns, name);
        let now = now_ms();
        let events: Vec<(Vec<u8>, Vec<u8>)> = events
            .iter()
            .map(|ev| (event_key(ns, name, ev.revision, ev.seq), ev.encode_to_vec()))
            .collect();
        let trees = (&self.releases, &self.revisions, &self.events);
        let res = writing(|| {
            trees.transaction(|(releases, revisions, event_tree)| {
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
                    Some(v) => {
                        Some(decode(&rkey, &v).map_err(ConflictableTransactionError::Abort)?)
                    }
                    None => None,
                };
                let record = set_status(revisions, ns, name, head.latest, status, None, Some(now))?;
                for (k, v) in &events {
                    event_tree.insert(k.as_slice(), v.as_slice())?;
                }
                head.lock = Some(Lock {
                    revision: head.latest,
                    previous_status: before.map(|r| r.status),
                    ..lock.clone()
                });
                releases.insert(hkey.as_slice(), encode(&head))?;
                Ok(record)
            })
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
        let record = self.record_finish(ns, name, rev, finish)?;
        self.flush().await?;
        Ok(record)
    }

    /// Record the test hooks' runs of a revision an operation holds
    /// (`berth test`, as Helm's keeps its hooks' LastRun): `runs` replace
    /// the runs of the hooks they name, the others' stay, in `order` (the
    /// revision's test hooks' names); then flush.
    pub async fn record_test_runs(
        &self,
        ns: &str,
        name: &str,
        rev: u64,
        runs: Vec<TestRun>,
        order: &[String],
    ) -> Result<()> {
        let key = revision_key(ns, name, rev);
        let res = writing(|| {
            self.revisions.transaction(|revisions| {
                let Some(v) = revisions.get(&key)? else {
                    return Err(ConflictableTransactionError::Abort(JournalError::Conflict(
                        format!("revision {rev} of {name} does not exist"),
                    )));
                };
                let mut record: RevisionRecord =
                    decode(&key, &v).map_err(ConflictableTransactionError::Abort)?;
                let merged = order
                    .iter()
                    .filter_map(|hook| {
                        let of = |r: &&TestRun| &r.name == hook;
                        runs.iter()
                            .find(of)
                            .or_else(|| record.test_runs.iter().find(of))
                    })
                    .cloned()
                    .collect();
                record.test_runs = merged;
                revisions.insert(key.as_slice(), encode(&record))?;
                Ok(())
            })
        });
        unwrap_tx(res)?;
        self.flush().await
    }

    /// [`finish`](Self::finish) without the flush, for a caller whose next
    /// write is flushed anyway: an operation's terminal event
    /// (`ops::conclude`), so that the outcome and the event showing it
    /// become durable in one flush.
    pub fn record_finish(
        &self,
        ns: &str,
        name: &str,
        rev: u64,
        finish: Finish,
    ) -> Result<RevisionRecord> {
        let hkey = head_key(ns, name);
        let now = now_ms();
        let res = writing(|| {
            (&self.releases, &self.revisions).transaction(|(releases, revisions)| {
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
                if let Some(prev) = finish.supersedes.filter(|p| *p != rev) {
                    set_status(
                        revisions,
                        ns,
                        name,
                        prev,
                        Status::Superseded,
                        Some("superseded by new release"),
                        None,
                    )?;
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
            })
        });
        unwrap_tx(res)
    }

    /// Remove every record of a release (uninstall without --keep-history).
    /// Blobs stay until a collection finds nothing names them (other
    /// revisions may share them). Chart files no other
    /// revision names go.
    pub async fn purge(&self, ns: &str, name: &str) -> Result<()> {
        let prefix = release_prefix(ns, name);
        let mut batch = sled::Batch::default();
        let mut charts = std::collections::HashSet::new();
        let mut dropped = 0;
        for kv in self.revisions.scan_prefix(&prefix) {
            dropped += 1;
            let (k, v) = kv?;
            // A record that does not decode goes all the same.
            if let Ok(r) = decode::<RevisionRecord>(&k, &v) {
                charts.insert(r.chart.digest);
            }
            batch.remove(k);
        }
        let mut ebatch = sled::Batch::default();
        for k in self.events.scan_prefix(&prefix).keys() {
            ebatch.remove(k?);
        }
        // Every revision's events file, once the records are gone.
        let spooled: Vec<u64> = self
            .head(ns, name)?
            .map(|h| (1..=h.latest).collect())
            .unwrap_or_default();
        let hkey = head_key(ns, name);
        let res = writing(|| {
            (&self.releases, &self.revisions, &self.events).transaction(
                |(releases, revisions, events)| {
                    revisions.apply_batch(&batch)?;
                    events.apply_batch(&ebatch)?;
                    releases.remove(hkey.as_slice())?;
                    Ok(())
                },
            )
        });
        unwrap_tx::<()>(res)?;
        self.flush().await?;
        self.drop_spooled(ns, name, spooled);
        self.sweep_dropped(charts);
        self.note_dropped(dropped);
        Ok(())
    }

    /// Decode every release head and revision record: a journal whose
    /// records do not read is refused at start rather than failing one
    /// request at a time. (Blobs and events are checked by `berthd journal
    /// check`; they are too many to read on every start.)
    pub fn scan(&self) -> Result<()> {
        for kv in self.releases.iter() {
            let (k, v) = kv?;
            decode::<ReleaseHead>(&k, &v)?;
        }
        for kv in self.revisions.iter() {
            let (k, v) = kv?;
            decode::<RevisionRecord>(&k, &v)?;
        }
        Ok(())
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
                        supersedes: None,
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
    /// newest one), and the chart files only they named. Helm's
    /// --history-max.
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
        let mut charts = std::collections::HashSet::new();
        let mut dropped = 0;
        let mut spooled = Vec::new();
        for r in revs.iter().take(excess) {
            if Some(r.revision) == head.deployed || r.revision == head.latest {
                continue;
            }
            batch.remove(revision_key(ns, name, r.revision));
            charts.insert(r.chart.digest.clone());
            dropped += 1;
            spooled.push(r.revision);
            // Loose events and the packed record alike.
            for k in self
                .events
                .scan_prefix(format!("{ns}/{name}/{:020}/", r.revision))
                .keys()
            {
                ebatch.remove(k?);
            }
        }
        // One transaction: a prune cut short leaves no events of a
        // revision that is gone.
        apply_both((&self.revisions, &batch), (&self.events, &ebatch))?;
        self.flush().await?;
        self.drop_spooled(ns, name, spooled);
        self.sweep_dropped(charts);
        self.note_dropped(dropped);
        Ok(())
    }
}

/// Two batches on two trees, in one transaction.
fn apply_both(a: (&sled::Tree, &sled::Batch), b: (&sled::Tree, &sled::Batch)) -> Result<()> {
    let res = writing(|| {
        (a.0, b.0).transaction(|(ta, tb)| {
            ta.apply_batch(a.1)?;
            tb.apply_batch(b.1)?;
            Ok(())
        })
    });
    unwrap_tx(res)
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
mod tests_support {
    use super::*;

    pub fn record(rev: u64, op: OpKind) -> RevisionRecord {
        RevisionRecord {
            revision: rev,
            status: op.pending_status(),
            operation: op,
            chart: ChartRef {
                digest: digest(b"chart"),
                ..Default::default()
            },
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
            labels: Default::default(),
            test_runs: Vec::new(),
        }
    }

    pub fn begin(rev: u64, op: OpKind) -> Begin {
        Begin {
            record: record(rev, op),
            chart: None,
            blobs: vec![
                b"chart".to_vec(),
                b"m".to_vec(),
                b"[]".to_vec(),
                b"{}".to_vec(),
                b"".to_vec(),
            ],
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

    pub fn done() -> Finish {
        Finish {
            status: Status::Deployed,
            description: "Install complete".into(),
            deploys: true,
            undeploys: false,
            supersedes: None,
        }
    }

    /// The lock an uninstall keeping history takes on revision `rev`.
    pub fn uninstall_lock(rev: u64, since_ms: i64) -> Lock {
        Lock {
            revision: rev,
            operation: OpKind::Uninstall,
            since_ms,
            identity: "admin".into(),
            previous_status: None,
        }
    }

    pub fn ev(rev: u64, seq: u64) -> proto::Event {
        proto::Event {
            release: "a".into(),
            namespace: "ns".into(),
            revision: rev,
            seq,
            time_unix_ms: 1_000 + seq as i64,
            kind: Some(proto::event::Kind::ResourceApplied(
                proto::ResourceApplied {
                    object: Some(proto::ObjectRef {
                        api_version: "v1".into(),
                        kind: "ConfigMap".into(),
                        namespace: "ns".into(),
                        name: format!("c{}", seq % 2),
                    }),
                    action: 3,
                },
            )),
        }
    }

    /// Records each manifest as the next finished revision of ns/a (an
    /// install, then upgrades); with `events`, two events each.
    pub async fn record_manifests(j: &Journal, manifests: &[&String], events: bool) {
        for (i, m) in manifests.iter().enumerate() {
            let rev = i as u64 + 1;
            let evs = if events {
                vec![ev(rev, 1), ev(rev, 2)]
            } else {
                Vec::new()
            };
            record_manifest(j, rev, m, evs).await;
        }
    }

    /// Records `m` as finished revision `rev` of ns/a (an install for 1,
    /// else an upgrade), with `events`.
    pub async fn record_manifest(j: &Journal, rev: u64, m: &str, events: Vec<proto::Event>) {
        let op = if rev == 1 {
            OpKind::Install
        } else {
            OpKind::Upgrade
        };
        let mut b = begin(rev, op);
        b.record.manifest_blob = digest(m.as_bytes());
        b.blobs.push(m.as_bytes().to_vec());
        b.events = events;
        j.begin("ns", "a", b).await.unwrap();
        j.finish("ns", "a", rev, done()).await.unwrap();
    }

    /// A chart as big as berthd spools (see [`crate::uploads::MIN_SIZE`]).
    pub fn big_chart(seed: u8) -> Vec<u8> {
        [0x1f, 0x8b]
            .into_iter()
            .chain(
                (0..7 * crate::uploads::MIN_SIZE as u32 / 2)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 ^ seed),
            )
            .collect()
    }

    pub fn spooled(chart: &[u8]) -> ChartBytes {
        use std::io::Write as _;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(chart).unwrap();
        ChartBytes::Spooled {
            file,
            len: chart.len() as u64,
        }
    }

    /// Revision `rev` of release `a` with `chart`, spooled.
    pub fn begin_with_chart(rev: u64, op: OpKind, chart: &[u8]) -> Begin {
        let mut b = begin(rev, op);
        b.record.chart.digest = digest(chart);
        b.chart = Some(spooled(chart));
        b
    }

    pub fn manifest(objects: usize) -> String {
        (0..objects)
            .map(|i| {
                format!(
                    "---\n# Source: c/templates/t{i}.yaml\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  k: \"{}\"\n",
                    "v".repeat(i % 50 + 200)
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    #[test]
    fn the_cache_flags_default_is_the_journals() {
        assert_eq!(parse_cache(DEFAULT_CACHE_FLAG), Ok(DEFAULT_CACHE));
        assert_eq!(parse_cache("1Mi"), Ok(MIN_CACHE));
        assert_eq!(
            parse_cache("0").unwrap_err(),
            "\"0\" is too small: the journal cache takes at least 1Mi"
        );
        assert!(parse_cache("lots").is_err());
    }

    #[tokio::test]
    async fn a_cache_too_small_for_sled_is_its_least_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open_cached(dir.path(), 0).unwrap();
        record_manifest(&j, 1, &manifest(20), Vec::new()).await;
        let rec = j.revision("ns", "a", 1).unwrap().unwrap();
        assert_eq!(j.text_blob(&rec.manifest_blob).unwrap(), manifest(20));
    }

    /// With a cache far smaller than the journal, sled pages records out
    /// while it reads and writes, and back in: every revision still reads
    /// back as written, before and after a reopen.
    #[tokio::test]
    async fn a_journal_many_times_its_cache_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let cache = 64 << 10;
        let manifests: Vec<String> = (0..30)
            .map(|rev| {
                (0..150)
                    .map(|i| {
                        format!(
                            "---\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  k: \"{}\"\n",
                            digest(format!("{rev}/{i}").as_bytes()).repeat(8)
                        )
                    })
                    .collect()
            })
            .collect();
        let read_all = |j: &Journal| {
            for (i, m) in manifests.iter().enumerate().rev() {
                let rec = j.revision("ns", "a", i as u64 + 1).unwrap().unwrap();
                assert_eq!(&j.text_blob(&rec.manifest_blob).unwrap(), m);
            }
        };
        {
            let j = Journal::open_cached(dir.path(), cache).unwrap();
            record_manifests(&j, &manifests.iter().collect::<Vec<_>>(), true).await;
            read_all(&j);
            j.flush().await.unwrap();
        }
        let j = Journal::open_cached(dir.path(), cache).unwrap();
        assert!(j.size_on_disk().unwrap() > 10 * cache);
        read_all(&j);
        read_all(&j);
        assert_eq!(
            j.history("ns", "a", usize::MAX).unwrap().len(),
            manifests.len()
        );
    }

    /// A test run replaces the runs of the hooks it ran; the others' stay;
    /// the runs keep the revision's hook order; a missing revision is an
    /// error, not a new record.
    #[tokio::test]
    async fn test_runs_are_merged_into_the_revision() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        record_manifest(&j, 1, "m", Vec::new()).await;
        let run = |name: &str, at: i64, phase: &str| TestRun {
            name: name.into(),
            started_ms: at,
            completed_ms: at + 1,
            phase: phase.into(),
        };
        let order: Vec<String> = ["a", "b", "c"].map(String::from).into();
        let runs = |j: &Journal| j.revision("ns", "a", 1).unwrap().unwrap().test_runs;
        j.record_test_runs(
            "ns",
            "a",
            1,
            vec![run("b", 10, "Failed"), run("a", 10, "Succeeded")],
            &order,
        )
        .await
        .unwrap();
        assert_eq!(
            runs(&j),
            [run("a", 10, "Succeeded"), run("b", 10, "Failed")]
        );
        // --filter name=b: only b ran this time; a hook no longer among the
        // revision's is not kept.
        j.record_test_runs(
            "ns",
            "a",
            1,
            vec![run("b", 20, "Succeeded"), run("z", 20, "Failed")],
            &order,
        )
        .await
        .unwrap();
        assert_eq!(
            runs(&j),
            [run("a", 10, "Succeeded"), run("b", 20, "Succeeded")]
        );
        assert!(
            j.record_test_runs("ns", "a", 9, Vec::new(), &order)
                .await
                .is_err()
        );
        assert!(j.revision("ns", "a", 9).unwrap().is_none());
        // Records without runs read as before (the field is left out).
        record_manifest(&j, 2, "m", Vec::new()).await;
        assert!(
            runs(&j).len() == 2
                && j.revision("ns", "a", 2)
                    .unwrap()
                    .unwrap()
                    .test_runs
                    .is_empty()
        );
    }

    #[test]
    fn compressed_blobs_are_stored_and_read_back() {
        let gzip_like: Vec<u8> = [0x1f, 0x8b]
            .into_iter()
            .chain((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8))
            .collect();
        for blob in [
            &gzip_like[..],
            &gzip_like[..2],
            &gzip_like[..65_535],
            b"plain text",
        ] {
            assert_eq!(inflate("k", &deflate(blob)).unwrap(), blob);
        }
        assert_eq!(inflate("k", &stored(b"")).unwrap(), b"");
        assert_eq!(deflate(&gzip_like).len(), gzip_like.len() + 5 * 4);
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
            "another operation (install/upgrade/rollback) is in progress on a (revision 1, install by admin)"
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
            j.lock_latest("ns", "a", uninstall_lock(1, 1), Status::Uninstalling, &[])
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

    /// Store `marker` as the format version of a journal that holds one
    /// release, then reopen it.
    async fn reopen_with_marker(marker: Option<&[u8]>) -> String {
        let dir = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(dir.path()).unwrap();
            j.begin("ns", "a", begin(1, OpKind::Install)).await.unwrap();
            let meta = j.db.open_tree("meta").unwrap();
            match marker {
                Some(m) => meta.insert(SCHEMA_KEY, m).unwrap(),
                None => meta.remove(SCHEMA_KEY).unwrap(),
            };
            j.flush().await.unwrap();
        }
        let e = Journal::open(dir.path()).err().unwrap().to_string();
        // Refused, not reset: the release is still there under the old marker.
        let db = sled::open(dir.path().join("journal")).unwrap();
        assert_eq!(db.open_tree("releases").unwrap().len(), 1, "{e}");
        assert!(
            e.contains(&dir.path().display().to_string()),
            "names the path: {e}"
        );
        e
    }

    #[tokio::test]
    async fn a_newer_format_version_is_refused() {
        let e = reopen_with_marker(Some(b"99")).await;
        assert!(
            e.contains("format version 99, written by a newer berthd; this berthd reads version 5"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn an_older_format_version_without_a_migration_is_refused() {
        let e = reopen_with_marker(Some(b"0")).await;
        assert!(e.contains("has no migration from 0"), "{e}");
    }

    #[tokio::test]
    async fn a_garbage_format_version_is_refused() {
        let e = reopen_with_marker(Some(b"\xffv1")).await;
        assert!(e.contains("format version marker is unreadable"), "{e}");
    }

    #[tokio::test]
    async fn records_without_a_format_version_are_refused() {
        let e = reopen_with_marker(None).await;
        assert!(e.contains("records but no format version marker"), "{e}");
    }

    #[tokio::test]
    async fn a_corrupt_database_file_is_refused_not_reset() {
        let dir = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(dir.path()).unwrap();
            j.begin("ns", "a", begin(1, OpKind::Install)).await.unwrap();
        }
        let file = dir.path().join("journal/db");
        let garbage = vec![0xAB; std::fs::metadata(&file).unwrap().len() as usize];
        std::fs::write(&file, &garbage).unwrap();
        let e = Journal::open(dir.path()).err().unwrap().to_string();
        assert!(
            e.contains(&format!(
                "{} is not empty but holds no readable journal",
                file.display()
            )),
            "{e}"
        );
        assert!(std::fs::read(&file).unwrap() == garbage, "left as it was");
    }

    #[tokio::test]
    async fn a_journal_in_use_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let _serving = Journal::open(dir.path()).unwrap();
        let e = Journal::open_existing(dir.path())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("journal/db is locked by another process"), "{e}");
    }

    #[tokio::test]
    async fn a_journal_of_many_segments_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut seed = 7u64;
        let mut noise = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (seed >> 56) as u8
                })
                .collect()
        };
        for round in 0..3 {
            let j = Journal::open(dir.path()).unwrap();
            for i in 0..20 {
                let bytes = noise(100 * 1024);
                j.blobs
                    .insert(format!("{round}-{i}"), deflate(&bytes))
                    .unwrap();
            }
            j.flush().await.unwrap();
        }
        assert!(
            std::fs::metadata(dir.path().join("journal/db"))
                .unwrap()
                .len()
                > 4 * 512 * 1024
        );
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.blobs.len(), 60);
    }

    #[tokio::test]
    async fn a_record_that_does_not_decode_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        j.begin("ns", "a", begin(1, OpKind::Install)).await.unwrap();
        j.scan().unwrap();
        j.revisions
            .insert(revision_key("ns", "a", 1), b"{not json".to_vec())
            .unwrap();
        let e = j.scan().unwrap_err().to_string();
        assert!(
            e.starts_with("journal record ns/a/00000000000000000001 is corrupt: "),
            "{e}"
        );
    }

    fn assert_sound(j: &Journal) {
        let r = check::check(j).unwrap();
        assert!(r.is_ok(), "{}", r.problems.join("\n"));
    }

    #[tokio::test]
    async fn history_reads_the_newest_revisions_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        for rev in 1..=5 {
            let op = if rev == 1 {
                OpKind::Install
            } else {
                OpKind::Upgrade
            };
            j.begin("ns", "a", begin(rev, op)).await.unwrap();
            j.finish("ns", "a", rev, done()).await.unwrap();
        }
        // Neighbours in key order stay out of it.
        for name in ["a-b", "b"] {
            j.begin("ns", name, begin(1, OpKind::Install))
                .await
                .unwrap();
        }
        let revs = |max| -> Vec<u64> {
            j.history("ns", "a", max)
                .unwrap()
                .iter()
                .map(|r| r.revision)
                .collect()
        };
        assert_eq!(revs(3), [3, 4, 5]);
        assert_eq!(revs(1), [5]);
        assert_eq!(revs(usize::MAX), [1, 2, 3, 4, 5]);
        assert_eq!(j.revisions("ns", "a").unwrap().len(), 5);
        assert!(j.history("ns", "nope", 10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_closed_revisions_events_are_packed_and_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut b = begin(1, OpKind::Install);
        b.events = vec![ev(1, 1), ev(1, 2)];
        j.begin("ns", "a", b).await.unwrap();
        j.append_events(&[ev(1, 3), ev(1, 4), ev(1, 5)]).unwrap();
        j.finish("ns", "a", 1, done()).await.unwrap();
        j.append_events(&[ev(1, 6)]).unwrap();
        let all: Vec<_> = (1..=6).map(|s| ev(1, s)).collect();
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), all);

        j.begin("ns", "a", begin(2, OpKind::Upgrade)).await.unwrap();
        assert!(j.events.get(packed_key("ns", "a", 1)).unwrap().is_some());
        let loose = j
            .events
            .range(event_key("ns", "a", 1, 0)..=event_key("ns", "a", 1, u64::MAX));
        assert_eq!(loose.count(), 0, "the loose events are gone");
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), all);
        assert_eq!(j.events("ns", "a", 1, 4).unwrap(), all[4..]);
        assert!(j.events("ns", "a", 1, 6).unwrap().is_empty());
        assert_eq!(j.last_event_seq("ns", "a", 1).unwrap(), 6);
        assert_sound(&j);

        // Should anything append to a packed revision, it reads in order.
        j.append_events(&[ev(1, 7)]).unwrap();
        let mut more = all.clone();
        more.push(ev(1, 7));
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), more);
        assert_eq!(j.last_event_seq("ns", "a", 1).unwrap(), 7);

        j.purge("ns", "a").await.unwrap();
        assert!(j.events.is_empty(), "purge takes the packed record too");
        assert!(j.spool.list().unwrap().is_empty(), "and the events files");
    }

    #[tokio::test]
    async fn appended_events_live_in_their_revisions_file_until_packed() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut b = begin(1, OpKind::Install);
        b.events = vec![ev(1, 1)];
        j.begin("ns", "a", b).await.unwrap();
        j.append_events(&[ev(1, 2), ev(1, 3)]).unwrap();
        j.flush().await.unwrap();
        let loose = j
            .events
            .range(event_key("ns", "a", 1, 2)..=event_key("ns", "a", 1, u64::MAX));
        assert_eq!(loose.count(), 0, "not in sled");
        assert_eq!(j.spool.read("ns", "a", 1).unwrap(), [ev(1, 2), ev(1, 3)]);
        let all: Vec<_> = (1..=3).map(|s| ev(1, s)).collect();
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), all);
        assert_eq!(j.events("ns", "a", 1, 1).unwrap(), all[1..]);
        assert_eq!(j.last_event_seq("ns", "a", 1).unwrap(), 3);
        assert_sound(&j);
        j.finish("ns", "a", 1, done()).await.unwrap();

        // The next revision packs them; the file goes once that is durable.
        j.begin("ns", "a", begin(2, OpKind::Upgrade)).await.unwrap();
        assert!(j.spool.list().unwrap().is_empty());
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), all);

        // What a crash can leave: the file of a revision packed just before
        // (gone at the next open), a record cut short (cut off), and
        // events past a packed record (kept: they are in no other place).
        j.spool.append(&[ev(1, 2)]).unwrap();
        j.spool.append(&[ev(2, 1), ev(2, 2)]).unwrap();
        let later = ev(2, 3);
        let torn = j.spool.list().unwrap();
        let (path2, _) = torn
            .iter()
            .find(|(_, c)| c.events[0].revision == 2)
            .unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path2)
            .unwrap();
        f.write_all(&[9, 0, 0, 0, 1]).unwrap();
        drop(f);
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert!(j.spool.read("ns", "a", 1).unwrap().is_empty());
        assert_eq!(j.spool.read("ns", "a", 2).unwrap(), [ev(2, 1), ev(2, 2)]);
        j.append_events(std::slice::from_ref(&later)).unwrap();
        assert_eq!(
            j.events("ns", "a", 2, 0).unwrap(),
            [ev(2, 1), ev(2, 2), later]
        );
        assert_sound(&j);
    }

    #[tokio::test]
    async fn an_ended_operations_events_are_packed_and_its_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut b = begin(1, OpKind::Install);
        b.events = vec![ev(1, 1)];
        j.begin("ns", "a", b).await.unwrap();
        j.append_events(&[ev(1, 2), ev(1, 3)]).unwrap();
        // Still locked: its operation may add events; nothing is packed.
        j.pack_ended("ns", "a", 1).await.unwrap();
        assert!(j.events.get(packed_key("ns", "a", 1)).unwrap().is_none());
        assert_eq!(j.spool.read("ns", "a", 1).unwrap().len(), 2);

        j.finish("ns", "a", 1, done()).await.unwrap();
        j.pack_ended("ns", "a", 1).await.unwrap();
        let all: Vec<_> = (1..=3).map(|s| ev(1, s)).collect();
        assert!(j.events.get(packed_key("ns", "a", 1)).unwrap().is_some());
        assert!(j.spool.list().unwrap().is_empty(), "the file is gone");
        let loose = j
            .events
            .range(event_key("ns", "a", 1, 0)..=event_key("ns", "a", 1, u64::MAX));
        assert_eq!(loose.count(), 0, "so are the events begin put in sled");
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), all);
        assert_eq!(j.last_event_seq("ns", "a", 1).unwrap(), 3);

        // An operation that takes the lock on the same revision (uninstall
        // keeping its history) adds events; its end packs them with the
        // others.
        j.lock_latest("ns", "a", uninstall_lock(1, 1), Status::Uninstalling, &[])
            .await
            .unwrap();
        j.append_events(&[ev(1, 4)]).unwrap();
        j.pack_ended("ns", "a", 1).await.unwrap();
        assert!(j.spool.has("ns", "a", 1), "locked again: left alone");
        j.finish("ns", "a", 1, done()).await.unwrap();
        j.pack_ended("ns", "a", 1).await.unwrap();
        let mut more = all.clone();
        more.push(ev(1, 4));
        assert!(j.spool.list().unwrap().is_empty());
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), more);

        // A file appended to after it was packed stays until packed again.
        j.lock_latest("ns", "a", uninstall_lock(1, 2), Status::Uninstalling, &[])
            .await
            .unwrap();
        j.append_events(&[ev(1, 5)]).unwrap();
        j.finish("ns", "a", 1, done()).await.unwrap();
        let packed = j.pack_closed("ns", "a", 1).await.unwrap().expect("a file");
        j.append_events(&[ev(1, 6)]).unwrap();
        j.flush().await.unwrap();
        j.drop_packed(packed);
        assert_eq!(j.spool.read("ns", "a", 1).unwrap(), [ev(1, 5), ev(1, 6)]);
        more.extend([ev(1, 5), ev(1, 6)]);
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), more);
        j.pack_ended("ns", "a", 1).await.unwrap();
        assert!(j.spool.list().unwrap().is_empty());
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), more);

        // The next revision has nothing left to pack: what it reads is the same.
        j.begin("ns", "a", begin(2, OpKind::Upgrade)).await.unwrap();
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), more);
        assert_sound(&j);

        // A purged release: nothing to pack, nothing written.
        j.purge("ns", "a").await.unwrap();
        j.pack_ended("ns", "a", 1).await.unwrap();
        assert!(j.events.is_empty());
    }

    #[tokio::test]
    async fn a_large_manifest_is_stored_as_pieces_and_reads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let m1 = manifest(300);
        let m2 = m1.replace("name: c7\n", "name: c7b\n");
        record_manifests(&j, &[&m1, &m2, &m1], false).await;
        for m in [&m1, &m2] {
            assert_eq!(j.text_blob(&digest(m.as_bytes())).unwrap(), *m);
            assert!(j.has_blob(&digest(m.as_bytes())).unwrap());
            assert!(!j.blobs.contains_key(digest(m.as_bytes())).unwrap());
        }
        // m2 added its changed document, its node(s) and its root.
        let pieces = j.blobs.len() - 5;
        assert!((300..=302).contains(&pieces), "{pieces}");
        assert_sound(&j);
    }

    #[tokio::test]
    async fn a_spooled_chart_is_kept_as_a_file_and_reads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let chart = big_chart(0);
        let d = digest(&chart);
        j.begin("ns", "a", begin_with_chart(1, OpKind::Install, &chart))
            .await
            .unwrap();
        assert_eq!(j.blob(&d).unwrap().unwrap(), chart);
        assert!(j.has_blob(&d).unwrap());
        assert_eq!(
            std::fs::read(dir.path().join("charts").join(&d)).unwrap(),
            chart
        );
        assert!(!j.blobs.contains_key(&d).unwrap() && !j.nodes.contains_key(&d).unwrap());
        // The five small blobs only: sled holds none of the chart.
        assert_eq!((j.blobs.len(), j.nodes.len()), (5, 0));
        // Another chart while revision 1 holds the lock: refused before
        // anything of it is kept.
        let other = big_chart(0x5a);
        let err = j
            .begin("ns", "a", begin_with_chart(2, OpKind::Upgrade, &other))
            .await
            .unwrap_err();
        assert!(matches!(err, JournalError::Locked { .. }), "{err}");
        assert_eq!(j.charts.list().unwrap(), vec![d.clone()]);
        j.finish("ns", "a", 1, done()).await.unwrap();
        let modified = std::fs::metadata(j.charts.dir().join(&d))
            .unwrap()
            .modified()
            .unwrap();
        j.begin("ns", "a", begin_with_chart(2, OpKind::Upgrade, &chart))
            .await
            .unwrap();
        assert_eq!(j.charts.list().unwrap(), vec![d.clone()]);
        assert_eq!(
            std::fs::metadata(j.charts.dir().join(&d))
                .unwrap()
                .modified()
                .unwrap(),
            modified,
            "the same chart again writes nothing"
        );
        assert_eq!((j.blobs.len(), j.nodes.len()), (5, 0));
        assert!(j.size_on_disk().unwrap() >= chart.len() as u64);
        assert_sound(&j);
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.blob(&d).unwrap().unwrap(), chart);
    }

    #[tokio::test]
    async fn a_chart_file_goes_when_no_revision_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let [c1, c2, c3, orphan] = [1, 2, 3, 4].map(big_chart);
        let [d1, d2, d3, d4] = [&c1, &c2, &c3, &orphan].map(|c| digest(c));
        for (rev, c) in [(1, &c1), (2, &c2), (3, &c3)] {
            let op = if rev == 1 {
                OpKind::Install
            } else {
                OpKind::Upgrade
            };
            j.begin("ns", "a", begin_with_chart(rev, op, c))
                .await
                .unwrap();
            j.finish("ns", "a", rev, done()).await.unwrap();
        }
        j.begin("ns", "b", begin_with_chart(1, OpKind::Install, &c2))
            .await
            .unwrap();
        j.finish("ns", "b", 1, done()).await.unwrap();
        // Kept, but its transaction never came (a crash).
        j.charts
            .store(&d4, &mut orphan.as_slice(), orphan.len() as u64)
            .unwrap();
        let held = |j: &Journal| {
            let mut l = j.charts.list().unwrap();
            l.sort();
            l
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        // --history-max 1 drops revisions 1 and 2: chart 1 goes, chart 2
        // stays for release b.
        j.prune_history("ns", "a", 1).await.unwrap();
        assert_eq!(held(&j), sorted(vec![d2.clone(), d3.clone(), d4.clone()]));
        j.purge("ns", "b").await.unwrap();
        assert_eq!(held(&j), sorted(vec![d3.clone(), d4.clone()]));
        // The sweep at start: not a chart an operation has pinned.
        let pin = j.pin_chart(&d4);
        assert_eq!(j.sweep_charts().unwrap(), Vec::<String>::new());
        drop(pin);
        assert_eq!(j.sweep_charts().unwrap(), vec![d4.clone()]);
        assert_eq!(held(&j), vec![d3.clone()]);
        assert_eq!(j.blob(&d3).unwrap().unwrap(), c3);
        assert_eq!(j.blob(&d1).unwrap(), None);
        assert_sound(&j);
    }

    /// `manifest(objects)` with object `i` changed `n` times.
    fn changed(m: &str, n: usize) -> String {
        m.replace("name: c7\n", &format!("name: c7-{n}\n"))
    }

    #[tokio::test]
    async fn what_dropped_revisions_alone_named_is_collected() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let base = manifest(300);
        let ms: Vec<String> = (0..6).map(|n| changed(&base, n)).collect();
        record_manifests(&j, &ms.iter().collect::<Vec<_>>(), true).await;
        let (blobs, nodes) = (j.blobs.len(), j.nodes.len());
        j.prune_history("ns", "a", 2).await.unwrap();
        let jc = j.clone();
        let c = tokio::task::spawn_blocking(move || jc.collect_garbage())
            .await
            .unwrap()
            .unwrap();
        assert!(c.blobs > 0 && c.nodes > 0, "{c:?}");
        assert_eq!(
            (j.blobs.len(), j.nodes.len()),
            (blobs - c.blobs, nodes - c.nodes)
        );
        for (n, m) in ms.iter().enumerate() {
            assert_eq!(
                j.has_blob(&digest(m.as_bytes())).unwrap(),
                n >= 4,
                "manifest {n}"
            );
        }
        assert_eq!(j.text_blob(&digest(ms[5].as_bytes())).unwrap(), ms[5]);
        assert_eq!(j.events("ns", "a", 5, 0).unwrap(), vec![ev(5, 1), ev(5, 2)]);
        assert_sound(&j);
        // Nothing left to collect.
        let jc = j.clone();
        let again = tokio::task::spawn_blocking(move || jc.collect_garbage());
        assert_eq!(again.await.unwrap().unwrap(), Collected::default());
    }

    /// A collection on a blocking thread, as berthd runs it.
    async fn collect(j: &Journal) -> Collected {
        let jc = j.clone();
        tokio::task::spawn_blocking(move || jc.collect_garbage())
            .await
            .unwrap()
            .unwrap()
    }

    /// `n` revisions of a manifest of 100 objects, each changing all.
    fn all_changed(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| manifest(100).replace("k: \"", &format!("k: \"{i}-")))
            .collect()
    }

    /// The packed blobs: digest → its `blobs` value (a place).
    fn packed_values(j: &Journal) -> Vec<(String, sled::IVec)> {
        j.blobs
            .iter()
            .map(|kv| kv.unwrap())
            .filter(|(_, v)| v[0] == packs::TAG)
            .map(|(k, v)| (String::from_utf8(k.to_vec()).unwrap(), v))
            .collect()
    }

    #[tokio::test]
    async fn a_collection_compacts_the_packs_and_what_is_kept_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let ms = all_changed(12);
        record_manifests(&j, &ms.iter().collect::<Vec<_>>(), true).await;
        let before = j.packs.list().unwrap();
        assert_eq!(before.len(), 1, "{before:?}");
        j.prune_history("ns", "a", 2).await.unwrap();
        let c = collect(&j).await;
        assert_eq!(c.packs, 1, "{c:?}");
        let after = j.packs.list().unwrap();
        assert_eq!(after.len(), 1, "{after:?}");
        assert!(after[0].0 > before[0].0, "a new pack: {after:?}");
        assert!(after[0].1 * 4 < before[0].1, "{before:?} -> {after:?}");
        let kept = |j: &Journal| {
            for (n, m) in ms.iter().enumerate().skip(10) {
                assert_eq!(j.text_blob(&digest(m.as_bytes())).unwrap(), *m, "{n}");
            }
            assert_sound(j);
        };
        kept(&j);
        assert_eq!(collect(&j).await, Collected::default(), "nothing more");
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        kept(&j);
        // Appends go on after the compaction's pack.
        record_manifest(&j, 13, &changed(&ms[11], 13), vec![]).await;
        kept(&j);
    }

    /// Twelve revisions in two packs (six each), of which `--history-max`
    /// keeps the last two: less than half of either pack is named then.
    /// Half the objects never change (written once, in the first pack),
    /// half change every revision.
    async fn two_packs_mostly_dropped(j: &Journal) -> Vec<String> {
        let ms: Vec<String> = all_changed(12)
            .iter()
            .map(|varying| manifest(50) + &varying.replace("name: c", "name: d"))
            .collect();
        for (i, m) in ms.iter().enumerate() {
            if i == 6 {
                j.packs.retire_active();
            }
            record_manifest(j, i as u64 + 1, m, vec![]).await;
        }
        assert_eq!(j.packs.list().unwrap().len(), 2);
        j.prune_history("ns", "a", 2).await.unwrap();
        ms
    }

    #[tokio::test]
    async fn a_compaction_of_several_packs_keeps_what_each_moved() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let ms = two_packs_mostly_dropped(&j).await;
        // Both are compacted, the first one's unchanging objects moved
        // before the second goes.
        assert_eq!(collect(&j).await.packs, 2);
        for m in &ms[10..] {
            assert_eq!(j.text_blob(&digest(m.as_bytes())).unwrap(), *m);
        }
        assert_sound(&j);
    }

    #[tokio::test]
    async fn a_damaged_pack_is_left_and_the_others_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let ms = two_packs_mostly_dropped(&j).await;
        let in_second: Vec<(String, Vec<u8>)> = packed_values(&j)
            .into_iter()
            .filter(
                |(_, v)| matches!(packs::stored(v), Ok(packs::Stored::Packed(p)) if p.pack == 2),
            )
            .map(|(d, _)| (d.clone(), j.blob(&d).unwrap().unwrap()))
            .collect();
        // One blob the kept revisions name, of the first pack, now
        // points past its end.
        let first_len = j.packs.list().unwrap()[0].1;
        let damaged = packed_values(&j)
            .into_iter()
            .map(|(d, _)| d)
            .find(|d| j.text_blob(d).unwrap().contains("name: c0\n"))
            .expect("an unchanging object is a piece of its own");
        let dead_end = packs::Place {
            pack: 1,
            offset: first_len - 1,
            len: 100,
        };
        j.blobs.insert(&damaged, &dead_end.encode()[..]).unwrap();
        assert_eq!(collect(&j).await.packs, 1);
        let left: Vec<u32> = j.packs.list().unwrap().iter().map(|p| p.0).collect();
        assert_eq!(
            left,
            [1, 3],
            "the damaged one, and the moved blobs' new one"
        );
        // The damaged blob does not read; what the second pack held and
        // the revisions kept name does, from its new place.
        let e = j
            .text_blob(&digest(ms[11].as_bytes()))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("blob {damaged} is corrupt")), "{e}");
        let mut moved = 0;
        for (d, bytes) in in_second {
            if j.blobs.contains_key(&d).unwrap() {
                assert_eq!(j.blob(&d).unwrap().unwrap(), bytes);
                moved += 1;
            }
        }
        assert!(moved > 0);
    }

    #[tokio::test]
    async fn a_read_that_raced_a_compaction_finds_the_blob_where_it_went() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let ms = all_changed(3);
        record_manifests(&j, &ms.iter().collect::<Vec<_>>(), false).await;
        // Places read before the collection, of blobs it keeps and drops.
        let old = packed_values(&j);
        j.prune_history("ns", "a", 1).await.unwrap();
        assert_eq!(collect(&j).await.packs, 1);
        let (mut moved, mut gone) = (0, 0);
        for (d, value) in old {
            let read = j.blob_bytes(&d, value.clone());
            match j.blobs.get(&d).unwrap() {
                Some(now) => {
                    assert_ne!(now, value, "moved");
                    assert_eq!(read.unwrap(), j.blob(&d).unwrap().unwrap());
                    moved += 1;
                }
                None => {
                    let e = read.unwrap_err().to_string();
                    assert!(e.contains(&format!("blob {d} is corrupt")), "{e}");
                    gone += 1;
                }
            }
        }
        assert!(moved > 0 && gone > 0, "{moved} moved, {gone} gone");
        assert_eq!(j.text_blob(&digest(ms[2].as_bytes())).unwrap(), ms[2]);
    }

    #[tokio::test]
    async fn bytes_a_crash_left_in_a_pack_are_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let ms = all_changed(2);
        record_manifests(&j, &ms.iter().collect::<Vec<_>>(), false).await;
        let named = j.packs.size().unwrap();
        // Appended and synced, then no transaction named them.
        j.packs.append(&[&vec![7u8; 200_000]]).unwrap();
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        let c = collect(&j).await;
        assert_eq!(c.packs, 1, "{c:?}");
        assert!(j.packs.size().unwrap() <= named);
        for m in &ms {
            assert_eq!(j.text_blob(&digest(m.as_bytes())).unwrap(), *m);
        }
        assert_sound(&j);
    }

    #[tokio::test]
    async fn a_refused_operation_appends_nothing_to_the_packs() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let mut b = begin(1, OpKind::Install);
        b.blobs.push(manifest(50).into_bytes());
        j.begin("ns", "a", b).await.unwrap();
        let size = j.packs.size().unwrap();
        // Revision 1 holds the lock: revision 2's new blobs are not kept.
        let mut b = begin(2, OpKind::Upgrade);
        b.blobs.push(changed(&manifest(50), 2).into_bytes());
        let e = j.begin("ns", "a", b).await.unwrap_err().to_string();
        assert!(
            e.starts_with("another operation (install/upgrade/rollback) is in progress on a"),
            "{e}"
        );
        assert_eq!(j.packs.size().unwrap(), size);
    }

    #[tokio::test]
    async fn a_damaged_pack_is_a_corrupt_blob_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let m = manifest(100);
        record_manifest(&j, 1, &m, vec![]).await;
        let (number, len) = j.packs.list().unwrap()[0];
        let path = j.packs.dir().join(format!("{number:08}.pack"));
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(len / 2).unwrap();
        let e = j.text_blob(&digest(m.as_bytes())).unwrap_err().to_string();
        assert!(
            e.contains("is corrupt") && e.contains("ends at byte"),
            "{e}"
        );
        let report = check::check(&j).unwrap();
        assert!(!report.is_ok());
        assert!(
            report.problems.iter().any(|p| p.contains("ends at byte")),
            "{:?}",
            report.problems
        );
        // A collection leaves a damaged pack as it is.
        collect(&j).await;
        assert_eq!(j.packs.list().unwrap(), vec![(number, len / 2)]);
    }

    /// A revision read while `--history-max` drops it and a collection
    /// removes its content is gone, not corrupt.
    #[tokio::test]
    async fn a_revision_dropped_while_it_is_read_is_gone_not_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let ms: Vec<String> = (0..3).map(|n| changed(&manifest(50), n)).collect();
        record_manifests(&j, &ms.iter().collect::<Vec<_>>(), false).await;
        let old = j.revision("ns", "a", 1).unwrap().unwrap();
        j.prune_history("ns", "a", 1).await.unwrap();
        let jc = j.clone();
        tokio::task::spawn_blocking(move || jc.collect_garbage())
            .await
            .unwrap()
            .unwrap();
        assert!(j.text_blob(&old.manifest_blob).is_err());
        assert_eq!(
            j.revision_text("ns", "a", 1, &old.manifest_blob).unwrap(),
            None
        );
        let kept = j.revision("ns", "a", 3).unwrap().unwrap();
        assert_eq!(
            j.revision_text("ns", "a", 3, &kept.manifest_blob).unwrap(),
            Some(ms[2].clone())
        );
        // Revision 1 again, as after an uninstall and a new install: the
        // old record's content is still gone, not corrupt.
        let mut renewed = kept.clone();
        renewed.revision = 1;
        j.revisions
            .insert(
                revision_key("ns", "a", 1),
                serde_json::to_vec(&renewed).unwrap(),
            )
            .unwrap();
        assert_eq!(
            j.revision_text("ns", "a", 1, &old.manifest_blob).unwrap(),
            None
        );
        // A revision that is still there with its content missing is
        // corrupt, as before.
        j.blobs.remove(kept.manifest_blob.as_bytes()).unwrap();
        j.nodes.remove(kept.manifest_blob.as_bytes()).unwrap();
        assert!(j.revision_text("ns", "a", 3, &kept.manifest_blob).is_err());
    }

    /// A chart kept in sled that an operation pinned (its client was told
    /// it need not send it) stays, even once no revision names it.
    #[tokio::test]
    async fn a_collection_keeps_a_pinned_chart() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let chart = b"a small chart".to_vec();
        let d = digest(&chart);
        let mut b = begin(1, OpKind::Install);
        b.record.chart.digest = d.clone();
        b.chart = Some(ChartBytes::Memory(chart.clone().into()));
        j.begin("ns", "a", b).await.unwrap();
        j.finish("ns", "a", 1, done()).await.unwrap();
        let pin = j.pin_chart(&d);
        j.purge("ns", "a").await.unwrap();
        let collect = |j: &Journal| {
            let j = j.clone();
            tokio::task::spawn_blocking(move || j.collect_garbage().unwrap())
        };
        collect(&j).await.unwrap();
        assert_eq!(j.blob(&d).unwrap().unwrap(), chart);
        drop(pin);
        collect(&j).await.unwrap();
        assert_eq!(j.blob(&d).unwrap(), None);
    }

    /// The count of dropped revisions outlives a restart.
    #[tokio::test]
    async fn the_revisions_dropped_are_counted_across_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let base = manifest(20);
        {
            let j = Journal::open(dir.path()).unwrap();
            let ms: Vec<String> = (0..40).map(|n| changed(&base, n)).collect();
            record_manifests(&j, &ms.iter().collect::<Vec<_>>(), false).await;
            j.prune_history("ns", "a", 2).await.unwrap();
            j.flush().await.unwrap();
        }
        let j = Journal::open(dir.path()).unwrap();
        j.resume_collection();
        let dropped = j.dropped.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(dropped, 38);
    }

    /// Collections while upgrades run: no revision ever loses a blob.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_collection_never_takes_what_a_running_write_relies_on() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let base = manifest(120);
        let jc = j.clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        /// Stops the collector however the writes end, a failed
        /// assertion included.
        struct Stop(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Stop {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let writing_done = Stop(std::sync::Arc::clone(&stop));
        let collector = tokio::task::spawn_blocking(move || {
            let mut collected = Collected::default();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let c = jc.collect_garbage().unwrap();
                collected.blobs += c.blobs;
                collected.nodes += c.nodes;
            }
            collected
        });
        for rev in 1..=60u64 {
            // Every other revision brings back an older manifest: its
            // pieces were found present, and must stay.
            let m = changed(&base, (rev % 3) as usize);
            record_manifest(&j, rev, &m, vec![ev(rev, 1)]).await;
            j.prune_history("ns", "a", 1).await.unwrap();
            assert_eq!(j.text_blob(&digest(m.as_bytes())).unwrap(), m);
        }
        drop(writing_done);
        let collected = collector.await.unwrap();
        assert!(collected.blobs > 0, "the collector ran against something");
        assert_sound(&j);
    }

    /// A format-2 journal kept a big chart in sled, in pieces joined by a
    /// node: it reads as it is, and the same chart sent again is not
    /// copied into a file.
    #[tokio::test]
    async fn a_format_2_chart_in_pieces_reads_and_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let chart = big_chart(0);
        let d = digest(&chart);
        {
            let j = Journal::open(dir.path()).unwrap();
            let mut keys = Vec::new();
            for piece in chart.chunks(1 << 20) {
                let key: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(piece).into();
                j.blobs.insert(hex::encode(key), stored(piece)).unwrap();
                keys.push(key);
            }
            j.nodes.insert(&d, chunks::encode_node(&keys)).unwrap();
            j.db.open_tree("meta")
                .unwrap()
                .insert(SCHEMA_KEY, b"2")
                .unwrap();
            j.db.flush().unwrap();
        }
        let marker = |j: &Journal| {
            let m = j.db.open_tree("meta").unwrap().get(SCHEMA_KEY).unwrap();
            String::from_utf8(m.unwrap().to_vec()).unwrap()
        };
        {
            // `journal check` and `export` leave its format as it was.
            let j = Journal::open_existing(dir.path()).unwrap();
            assert_eq!(j.blob(&d).unwrap().unwrap(), chart);
            let report = check::check(&j).unwrap();
            assert!(
                report.summary().starts_with("format version 2;"),
                "{}",
                report.summary()
            );
            assert_eq!(marker(&j), "2");
        }
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(marker(&j), SCHEMA_VERSION.to_string());
        assert_eq!(j.blob(&d).unwrap().unwrap(), chart);
        j.begin("ns", "a", begin_with_chart(1, OpKind::Install, &chart))
            .await
            .unwrap();
        j.finish("ns", "a", 1, done()).await.unwrap();
        assert_eq!(j.charts.list().unwrap(), Vec::<String>::new());
        assert_sound(&j);
        // Exported and imported, its pieces stay pieces: none is a chart.
        let doc = transfer::export(&j).unwrap();
        assert_eq!(doc.schema_version, 2, "nothing in it needs format 3");
        let file = dir.path().join("export.json");
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let into = dir.path().join("imported");
        transfer::import(&into, &file).unwrap();
        let k = Journal::open_existing(&into).unwrap();
        assert_eq!(k.charts.list().unwrap(), Vec::<String>::new());
        assert_eq!(k.blob(&d).unwrap().unwrap(), chart);
    }

    /// A journal as berthd of format version 1 wrote it: a large manifest
    /// as one blob, loose events, marker "1".
    #[tokio::test]
    async fn a_format_1_journal_opens_reads_and_goes_on_in_the_current_format() {
        let dir = tempfile::tempdir().unwrap();
        let m1 = manifest(200);
        {
            let db = sled::open(dir.path().join("journal")).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(SCHEMA_KEY, b"1")
                .unwrap();
            let mut rec = record(1, OpKind::Install);
            rec.status = Status::Deployed;
            rec.manifest_blob = digest(m1.as_bytes());
            let head = ReleaseHead {
                namespace: "ns".into(),
                name: "a".into(),
                latest: 1,
                deployed: Some(1),
                lock: None,
                first_deployed_ms: 1,
            };
            let releases = db.open_tree("releases").unwrap();
            releases.insert(head_key("ns", "a"), encode(&head)).unwrap();
            let revisions = db.open_tree("revisions").unwrap();
            revisions
                .insert(revision_key("ns", "a", 1), encode(&rec))
                .unwrap();
            let blobs = db.open_tree("blobs").unwrap();
            for b in [m1.as_bytes(), b"chart", b"[]", b"{}", b""] {
                blobs.insert(digest(b).as_bytes(), deflate(b)).unwrap();
            }
            let events = db.open_tree("events").unwrap();
            for seq in 1..=3 {
                events
                    .insert(event_key("ns", "a", 1, seq), ev(1, seq).encode_to_vec())
                    .unwrap();
            }
            db.flush().unwrap();
        }
        let j = Journal::open(dir.path()).unwrap();
        let marker = j.db.open_tree("meta").unwrap().get(SCHEMA_KEY).unwrap();
        assert_eq!(
            marker.unwrap().as_ref(),
            SCHEMA_VERSION.to_string().as_bytes()
        );
        assert_eq!(j.text_blob(&digest(m1.as_bytes())).unwrap(), m1);
        let evs: Vec<_> = (1..=3).map(|s| ev(1, s)).collect();
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), evs);
        assert_eq!(j.last_event_seq("ns", "a", 1).unwrap(), 3);
        assert_eq!(j.history("ns", "a", 256).unwrap().len(), 1);
        assert_sound(&j);

        // The next upgrade writes the new layout beside the old one.
        let m2 = m1.replace("name: c7\n", "name: c7b\n");
        let mut b = begin(2, OpKind::Upgrade);
        b.record.manifest_blob = digest(m2.as_bytes());
        b.blobs.push(m2.clone().into_bytes());
        j.begin("ns", "a", b).await.unwrap();
        j.finish("ns", "a", 2, done()).await.unwrap();
        assert!(j.nodes.contains_key(digest(m2.as_bytes())).unwrap());
        assert_eq!(j.text_blob(&digest(m2.as_bytes())).unwrap(), m2);
        assert_eq!(j.text_blob(&digest(m1.as_bytes())).unwrap(), m1);
        assert!(j.events.get(packed_key("ns", "a", 1)).unwrap().is_some());
        assert_eq!(j.events("ns", "a", 1, 1).unwrap(), evs[1..]);
        // Its old blobs stay inline in sled, what the upgrade added is in
        // a pack.
        let value = |d: &str| j.blobs.get(d).unwrap().unwrap();
        assert_ne!(value(&digest(m1.as_bytes()))[0], packs::TAG);
        let packed: Vec<String> = j
            .blobs
            .iter()
            .map(|kv| kv.unwrap())
            .filter(|(_, v)| v[0] == packs::TAG)
            .map(|(k, _)| String::from_utf8(k.to_vec()).unwrap())
            .collect();
        assert!(
            packed
                .iter()
                .any(|d| j.text_blob(d).unwrap().contains("name: c7b\n")),
            "the changed object is packed"
        );
        assert_eq!(j.packs.list().unwrap().len(), 1);
        assert_sound(&j);
        drop(j);
        // And reopens as format 4.
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.events("ns", "a", 1, 0).unwrap(), evs);
        assert_eq!(j.text_blob(&digest(m2.as_bytes())).unwrap(), m2);
    }

    #[test]
    fn a_data_path_that_is_a_file_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data");
        std::fs::write(&file, "x").unwrap();
        let e = Journal::open(&file).err().expect("refused").to_string();
        assert!(
            e.ends_with("it is not a directory (--data names the journal's directory)"),
            "{e}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"x", "the file is left");
    }

    #[tokio::test]
    async fn a_journal_opens_only_with_its_own_packs() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, packs) = (dir.path().join("journal"), dir.path().join("packs"));
        let aside = |from: &Path, to: &str| std::fs::rename(from, dir.path().join(to)).unwrap();
        let back = |from: &str, to: &Path| std::fs::rename(dir.path().join(from), to).unwrap();
        let refused = |why: &str| {
            let e = Journal::open(dir.path()).err().unwrap().to_string();
            assert!(e.contains(why), "{e}");
            if journal.exists() {
                // `journal check` and `export` say the same.
                let e = Journal::open_existing(dir.path())
                    .err()
                    .unwrap()
                    .to_string();
                assert!(e.contains(why), "{e}");
            }
        };
        {
            let j = Journal::open(dir.path()).unwrap();
            record_manifest(&j, 1, &manifest(50), vec![]).await;
        }
        // The journal moved aside, its packs left behind: a new journal
        // is not started beside them.
        aside(&journal, "journal-1");
        refused("packs holds 1 pack file(s) this journal never wrote (another journal's blobs)");
        assert!(!journal.exists(), "nothing made");
        // Nor does a journal that never wrote packs (format 3) adopt them.
        let old = tempfile::tempdir().unwrap();
        {
            let j = Journal::open(old.path()).unwrap();
            j.db.open_tree("meta")
                .unwrap()
                .remove(packs::NEXT_KEY)
                .unwrap();
            j.db.flush().unwrap();
        }
        std::fs::rename(old.path().join("journal"), &journal).unwrap();
        refused("this journal never wrote (another journal's blobs)");
        std::fs::remove_dir_all(&journal).unwrap();
        // The journal without its packs.
        back("journal-1", &journal);
        aside(&packs, "packs-1");
        refused("its blobs are in pack files and");
        // With packs of a later journal than itself (numbered past it).
        let later = dir.path().join("later");
        {
            let j = Journal::open(&later).unwrap();
            j.packs.append(&[b"x"]).unwrap();
            j.packs.retire_active();
            j.packs.append(&[b"y"]).unwrap();
        }
        std::fs::rename(later.join("packs"), &packs).unwrap();
        refused("holds pack 2, which this journal never wrote (it numbered packs below 2)");
        // Its own packs back: it opens and reads.
        std::fs::remove_dir_all(&packs).unwrap();
        back("packs-1", &packs);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(
            j.text_blob(&digest(manifest(50).as_bytes())).unwrap(),
            manifest(50)
        );
    }

    #[test]
    fn open_existing_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let e = Journal::open_existing(&dir.path().join("nope"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no journal here"), "{e}");
        assert!(!dir.path().join("nope").exists());
    }
}

#[cfg(test)]
mod transfer_tests {
    use super::tests_support::*;
    use super::*;

    /// Pieces, nodes and packed events survive export and import.
    #[tokio::test]
    async fn a_format_2_journal_exports_and_imports_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("a")).unwrap();
        let m1 = manifest(300);
        let m2 = m1.replace("name: c7\n", "name: c7b\n");
        record_manifests(&j, &[&m1, &m2], true).await;
        assert!(j.events.get(packed_key("ns", "a", 1)).unwrap().is_some());
        let doc = transfer::export(&j).unwrap();
        assert!(!doc.nodes.is_empty());
        let file = dir.path().join("export.json");
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let imported = transfer::import(&dir.path().join("b"), &file).unwrap();
        assert!(imported.report.is_ok(), "{:?}", imported.report.problems);
        let k = Journal::open_existing(&dir.path().join("b")).unwrap();
        for m in [&m1, &m2] {
            assert_eq!(k.text_blob(&digest(m.as_bytes())).unwrap(), *m);
        }
        for rev in [1, 2] {
            assert_eq!(
                k.events("ns", "a", rev, 0).unwrap(),
                j.events("ns", "a", rev, 0).unwrap()
            );
        }
    }

    /// A chart file goes out as a base64 blob and comes back as a file.
    #[tokio::test]
    async fn a_chart_file_exports_and_imports_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("a")).unwrap();
        let chart = big_chart(7);
        let d = digest(&chart);
        j.begin("ns", "a", begin_with_chart(1, OpKind::Install, &chart))
            .await
            .unwrap();
        j.finish("ns", "a", 1, done()).await.unwrap();
        // A chart file no revision names (a crash before its revision).
        let orphan = big_chart(8);
        j.charts
            .store(
                &digest(&orphan),
                &mut orphan.as_slice(),
                orphan.len() as u64,
            )
            .unwrap();
        let doc = transfer::export(&j).unwrap();
        assert_eq!(doc.schema_version, 3);
        let exported = doc.blobs.iter().find(|b| b.sha256 == d).unwrap();
        assert!(exported.base64.is_some());
        assert!(!doc.blobs.iter().any(|b| b.sha256 == digest(&orphan)));
        let file = dir.path().join("export.json");
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let imported = transfer::import(&dir.path().join("b"), &file).unwrap();
        assert!(imported.report.is_ok(), "{:?}", imported.report.problems);
        let k = Journal::open_existing(&dir.path().join("b")).unwrap();
        assert_eq!(k.charts.list().unwrap(), vec![d.clone()]);
        assert!(!k.blobs.contains_key(&d).unwrap());
        assert_eq!(k.blob(&d).unwrap().unwrap(), chart);
    }
}
