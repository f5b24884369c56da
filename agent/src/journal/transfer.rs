//! `berthd journal export|import`: a journal as one JSON document, for
//! backups and for moving a journal between machines or format versions.
//!
//! The document (format [`FORMAT`]) holds every release with its head,
//! revision records and events, and every blob once. Records are the
//! journal's own serde records, readable as they are; blobs are
//! decompressed, as `text` when they are UTF-8 and `base64` otherwise
//! (charts); events are their stored protobuf bytes in base64, with their
//! revision, sequence number and kind beside them for readers. Export
//! refuses a journal that fails `check`; import writes into an empty data
//! directory only and checks the result, removing what it wrote if the
//! check fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use berth::proto::{self, event::Kind};
use prost::Message;
use serde::{Deserialize, Serialize};

use super::check::{self, Report};
use super::{
    Journal, JournalError, ReleaseHead, Result, RevisionRecord, SCHEMA_VERSION, decode, deflate,
    digest, encode, event_key, head_key, revision_key,
};

/// The name and version of the export document's format.
pub const FORMAT: &str = "berth.journal.export/v1";

#[derive(Debug, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    /// The oldest journal format version that holds what the document
    /// does: 3 when it has chart files, else 2 (before 2026-12-05: the
    /// format version of the berthd that exported it).
    pub schema_version: u32,
    pub exported_at: String,
    pub berthd_version: String,
    pub releases: Vec<ReleaseExport>,
    pub blobs: Vec<BlobExport>,
    /// Blobs stored as pieces (journal format 2): each is its pieces'
    /// concatenation. Absent in exports of format-1 journals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeExport>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct NodeExport {
    pub sha256: String,
    /// The digests of its pieces (blobs or nodes), in order.
    pub parts: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReleaseExport {
    pub head: ReleaseHead,
    pub revisions: Vec<RevisionRecord>,
    pub events: Vec<EventExport>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EventExport {
    pub revision: u64,
    pub seq: u64,
    /// For readers only: `accepted`, `resource_applied`, `failed`…
    pub kind: String,
    /// The event as stored: protobuf `berth.v1.Event`, base64.
    pub protobuf: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct BlobExport {
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

/// Why an export or import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The journal fails its check: the problems, one per line.
    #[error("the journal at {path} fails its check; export a sound journal (or restore one):\n{}", problems.join("\n"))]
    Unsound {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("{path}: {message}")]
    Document { path: PathBuf, message: String },
    #[error(
        "{path} is not empty: berthd journal import writes only into an empty data directory (it never merges into or replaces a journal)"
    )]
    NotEmpty { path: PathBuf },
    #[error("the imported journal fails its check, so it was removed again:\n{}", problems.join("\n"))]
    ImportUnsound { problems: Vec<String> },
}

fn kind_name(ev: &proto::Event) -> &'static str {
    match &ev.kind {
        Some(Kind::Accepted(_)) => "accepted",
        Some(Kind::ChartReceived(_)) => "chart_received",
        Some(Kind::Rendered(_)) => "rendered",
        Some(Kind::Planned(_)) => "planned",
        Some(Kind::ResourceApplied(_)) => "resource_applied",
        Some(Kind::ResourceProgress(_)) => "resource_progress",
        Some(Kind::ResourceReady(_)) => "resource_ready",
        Some(Kind::ResourceFailed(_)) => "resource_failed",
        Some(Kind::Completed(_)) => "completed",
        Some(Kind::Failed(_)) => "failed",
        Some(Kind::Phase(_)) => "phase",
        Some(Kind::ResourceDiff(_)) => "resource_diff",
        Some(Kind::EventsLimited(_)) => "events_limited",
        Some(Kind::PostRender(_)) => "post_render",
        None => "unknown",
    }
}

/// The whole journal as an export document. Refuses a journal that fails
/// its check.
pub fn export(journal: &Journal) -> std::result::Result<Export, TransferError> {
    let report = check::check(journal)?;
    if !report.is_ok() {
        return Err(TransferError::Unsound {
            path: journal.path().to_path_buf(),
            problems: report.problems,
        });
    }
    let mut releases = Vec::new();
    for head in journal.heads()? {
        let (ns, name) = (head.namespace.as_str(), head.name.as_str());
        let revisions = journal.revisions(ns, name)?;
        let mut events = Vec::new();
        // A sound journal has events of its kept revisions only.
        for r in &revisions {
            for ev in journal.events(ns, name, r.revision, 0)? {
                events.push(EventExport {
                    revision: ev.revision,
                    seq: ev.seq,
                    kind: kind_name(&ev).to_string(),
                    protobuf: BASE64.encode(ev.encode_to_vec()),
                });
            }
        }
        releases.push(ReleaseExport {
            head,
            revisions,
            events,
        });
    }
    let mut blobs = Vec::new();
    for kv in journal.blobs.iter() {
        let (k, v) = kv.map_err(JournalError::from)?;
        let sha256 = String::from_utf8_lossy(&k).into_owned();
        let bytes = journal.blob_bytes(&sha256, v)?;
        blobs.push(match String::from_utf8(bytes) {
            Ok(text) => BlobExport {
                sha256,
                text: Some(text),
                base64: None,
            },
            Err(e) => BlobExport {
                sha256,
                text: None,
                base64: Some(BASE64.encode(e.as_bytes())),
            },
        });
    }
    // Chart files the revisions name (the check read each); one no
    // revision names is left behind, as berthd would sweep it.
    let mut named: Vec<&str> = charts_named(&releases).into_iter().collect();
    named.sort();
    let mut chart_files = 0;
    for sha256 in named {
        // Never in sled too: each chart is kept in one place.
        if !journal.charts.contains(sha256) {
            continue;
        }
        let bytes = journal.blob(sha256)?.ok_or_else(|| JournalError::Corrupt {
            key: format!("blob {sha256}"),
            message: "its file went while exporting".into(),
        })?;
        blobs.push(BlobExport {
            sha256: sha256.to_string(),
            text: None,
            base64: Some(BASE64.encode(bytes)),
        });
        chart_files += 1;
    }
    let mut nodes = Vec::new();
    for kv in journal.nodes.iter() {
        let (k, v) = kv.map_err(JournalError::from)?;
        let sha256 = String::from_utf8_lossy(&k).into_owned();
        let parts = super::chunks::decode_node(&v).map_err(|message| JournalError::Corrupt {
            key: format!("blob {sha256}"),
            message,
        })?;
        nodes.push(NodeExport { sha256, parts });
    }
    Ok(Export {
        format: FORMAT.to_string(),
        // The oldest format that reads what the document holds: a berthd
        // of format 2 imports a journal that has no chart files.
        // Packs (format 4) are how a journal stores blobs, not what it
        // holds: a document has none.
        schema_version: if chart_files > 0 { 3 } else { 2 },
        exported_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        berthd_version: berth::VERSION.to_string(),
        releases,
        blobs,
        nodes,
    })
}

/// The chart digests the releases' revisions name.
fn charts_named(releases: &[ReleaseExport]) -> std::collections::HashSet<&str> {
    releases
        .iter()
        .flat_map(|r| r.revisions.iter().map(|rev| rev.chart.digest.as_str()))
        .collect()
}

/// What an import wrote.
#[derive(Debug)]
pub struct Imported {
    pub report: Report,
}

/// Read an export document from `file` into a new journal under `dir`,
/// which must be empty (or not exist), then check it.
pub fn import(dir: &Path, file: &Path) -> std::result::Result<Imported, TransferError> {
    let doc_err = |message: String| TransferError::Document {
        path: file.to_path_buf(),
        message,
    };
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(TransferError::NotEmpty {
            path: dir.to_path_buf(),
        });
    }
    let text = std::fs::read(file).map_err(|e| doc_err(e.to_string()))?;
    let doc: Export = serde_json::from_slice(&text).map_err(|e| doc_err(e.to_string()))?;
    if doc.format != FORMAT {
        return Err(doc_err(format!(
            "format is {:?}; this berthd imports {FORMAT:?}",
            doc.format
        )));
    }
    if doc.schema_version > SCHEMA_VERSION {
        return Err(doc_err(format!(
            "exported by a newer berthd (journal format version {}); this berthd writes version {SCHEMA_VERSION}",
            doc.schema_version
        )));
    }
    let records = Records::from_export(&doc).map_err(doc_err)?;

    let existed = dir.exists();
    let journal = Journal::open(dir)?;
    let written = records.write(&journal).and_then(|()| {
        let report = check::check(&journal)?;
        journal.db.flush()?;
        Ok(report)
    });
    let failed = match written {
        Ok(report) if report.is_ok() => return Ok(Imported { report }),
        Ok(report) => TransferError::ImportUnsound {
            problems: report.problems,
        },
        Err(e) => e.into(),
    };
    // Leave the directory as it was: empty, or absent.
    let charts = journal.charts.dir().to_path_buf();
    let packs = journal.packs.dir().to_path_buf();
    drop(journal);
    let _ = std::fs::remove_dir_all(super::db_path(dir));
    let _ = std::fs::remove_dir_all(charts);
    let _ = std::fs::remove_dir_all(packs);
    if !existed {
        let _ = std::fs::remove_dir(dir);
    }
    Err(failed)
}

/// An export document turned into the journal's keys and values, checked
/// on the way: every problem names where in the document it is.
struct Records {
    releases: Vec<(Vec<u8>, Vec<u8>)>,
    revisions: Vec<(Vec<u8>, Vec<u8>)>,
    events: Vec<(Vec<u8>, Vec<u8>)>,
    blobs: BTreeMap<String, Vec<u8>>,
    /// Binary blobs a revision names as its chart, as big as berthd
    /// spools: chart files, as berthd would have kept them.
    charts: BTreeMap<String, Vec<u8>>,
    nodes: Vec<(String, Vec<u8>)>,
}

impl Records {
    fn from_export(doc: &Export) -> std::result::Result<Records, String> {
        let mut r = Records {
            releases: Vec::new(),
            revisions: Vec::new(),
            events: Vec::new(),
            blobs: BTreeMap::new(),
            charts: BTreeMap::new(),
            nodes: Vec::new(),
        };
        for (i, rel) in doc.releases.iter().enumerate() {
            let (ns, name) = (rel.head.namespace.as_str(), rel.head.name.as_str());
            let at = format!("releases[{i}] ({ns}/{name})");
            let hkey = head_key(ns, name);
            // Round-trip through the decoder berthd itself uses.
            let head = encode(&rel.head);
            decode::<ReleaseHead>(&hkey, &head).map_err(|e| format!("{at}: {e}"))?;
            r.releases.push((hkey, head));
            for rev in &rel.revisions {
                r.revisions
                    .push((revision_key(ns, name, rev.revision), encode(rev)));
            }
            for (j, ev) in rel.events.iter().enumerate() {
                let at = format!("{at}.events[{j}]");
                let bytes = BASE64
                    .decode(&ev.protobuf)
                    .map_err(|e| format!("{at}: protobuf is not base64: {e}"))?;
                let decoded = proto::Event::decode(bytes.as_slice())
                    .map_err(|e| format!("{at}: protobuf does not decode: {e}"))?;
                if decoded.revision != ev.revision
                    || decoded.seq != ev.seq
                    || decoded.namespace != ns
                    || decoded.release != name
                {
                    return Err(format!(
                        "{at}: the event is {}/{} revision {} seq {}, not {ns}/{name} revision {} seq {}",
                        decoded.namespace,
                        decoded.release,
                        decoded.revision,
                        decoded.seq,
                        ev.revision,
                        ev.seq
                    ));
                }
                r.events
                    .push((event_key(ns, name, ev.revision, ev.seq), bytes));
            }
        }
        // A big chart a revision names is a chart file, as berthd keeps it
        // (a format 2 document's pieces of one stay blobs).
        let charts_named = charts_named(&doc.releases);
        for (i, b) in doc.blobs.iter().enumerate() {
            let at = format!("blobs[{i}] ({})", b.sha256);
            let (bytes, binary) = match (&b.text, &b.base64) {
                (Some(t), None) => (t.clone().into_bytes(), false),
                (None, Some(b64)) => (
                    BASE64
                        .decode(b64)
                        .map_err(|e| format!("{at}: base64: {e}"))?,
                    true,
                ),
                _ => return Err(format!("{at}: needs exactly one of text and base64")),
            };
            let actual = digest(&bytes);
            if actual != b.sha256 {
                return Err(format!("{at}: the content hashes to {actual}"));
            }
            if binary
                && bytes.len() as u64 >= crate::uploads::MIN_SIZE
                && charts_named.contains(b.sha256.as_str())
            {
                r.charts.insert(b.sha256.clone(), bytes);
            } else {
                r.blobs.insert(b.sha256.clone(), bytes);
            }
        }
        // Whether a node reassembles to its key is the check's to say.
        for (i, n) in doc.nodes.iter().enumerate() {
            let at = format!("nodes[{i}] ({})", n.sha256);
            let parts = n
                .parts
                .iter()
                .map(|p| {
                    let d = hex::decode(p).ok().filter(|d| d.len() == 32);
                    d.and_then(|d| <[u8; 32]>::try_from(d).ok())
                        .ok_or_else(|| format!("{at}: {p:?} is not a sha256"))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            if parts.is_empty() {
                return Err(format!("{at}: has no parts"));
            }
            r.nodes
                .push((n.sha256.clone(), super::chunks::encode_node(&parts)));
        }
        Ok(r)
    }

    fn nodes_kv(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.nodes
            .iter()
            .map(|(k, v)| (k.clone().into_bytes(), v.clone()))
            .collect()
    }

    fn write(&self, journal: &Journal) -> Result<()> {
        let batch = |pairs: &[(Vec<u8>, Vec<u8>)]| {
            let mut b = sled::Batch::default();
            for (k, v) in pairs {
                b.insert(k.as_slice(), v.as_slice());
            }
            b
        };
        // Chart files first, as berthd writes them: a revision never names
        // a chart that is not there yet.
        for (d, bytes) in &self.charts {
            journal
                .charts
                .store(d, &mut bytes.as_slice(), bytes.len() as u64)?;
        }
        journal.releases.apply_batch(batch(&self.releases))?;
        journal.revisions.apply_batch(batch(&self.revisions))?;
        journal.events.apply_batch(batch(&self.events))?;
        // Into packs, as berthd writes them: appended and synced before
        // sled names them.
        journal.append_blobs(
            self.blobs
                .iter()
                .map(|(d, bytes)| Ok((sled::IVec::from(d.as_bytes()), deflate(bytes)))),
        )?;
        journal.nodes.apply_batch(batch(&self.nodes_kv()))?;
        Ok(())
    }
}
