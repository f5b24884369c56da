//! The events of a revision not packed yet, in a file of its own under
//! `events/` beside sled's database (since format version 5).
//!
//! Why not sled: an operation's events are appended one flush at a time
//! and all removed when the revision is packed (`packed.rs`, as its
//! operation ends). In sled that was the most of what its log rewrote,
//! and sled's cleaner, which runs on its flusher thread, only kept the
//! file near its live data when it ran every 20 ms: 50 wake-ups and file
//! syncs a second for an idle berthd, 9% of the fleet bench's CPU
//! (benches/README.md, "journal" and "fleet"). Here an event is appended
//! to its revision's file, the file is synced by [`Spool::sync`] (part of
//! every journal flush), read back whole, and removed once the packed
//! record that replaces it is durable.
//!
//! A file is named by its revision (a digest of the revision's key: names
//! and namespaces need no escaping) and holds records:
//!
//! ```text
//! length (u32 LE) | crc32 of the event (u32 LE) | the event's protobuf
//! ```
//!
//! Every event names its release and revision, so the file needs no
//! header. A crash can leave the last record cut short: reading stops at
//! the first record that is not whole, and [`Spool::repair`] (when the
//! journal opens for serving) cuts it off, so appends go on after the last
//! whole one.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use berth::proto;
use prost::Message;

use super::charts::{at, entries, sync_dir};

const EXT: &str = "events";
const DAMAGED: &str = "damaged";
const HEADER: usize = 8;

/// Revisions' event files.
pub struct Spool {
    dir: PathBuf,
    /// Files appended to since the last sync; `true` for a file created
    /// since (its directory entry needs a sync too).
    dirty: Mutex<std::collections::BTreeMap<PathBuf, bool>>,
    /// Held through a sync: one that finds nothing dirty must still wait
    /// for the one that took the files before it to finish.
    syncing: Mutex<()>,
}

/// One revision's file, as read.
pub struct Contents {
    pub events: Vec<proto::Event>,
    /// Bytes of whole records (a cut-short record after them is ignored).
    pub whole: u64,
    pub len: u64,
}

impl Spool {
    pub fn new(journal_dir: &Path) -> Spool {
        Spool {
            dir: journal_dir.join("events"),
            dirty: Default::default(),
            syncing: Mutex::new(()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, ns: &str, name: &str, rev: u64) -> PathBuf {
        let digest = super::digest(&super::revision_key(ns, name, rev));
        self.dir.join(format!("{}.{EXT}", &digest[..40]))
    }

    /// Append events (in seq order) to their revisions' files; durable at
    /// the next [`Spool::sync`].
    pub fn append(&self, events: &[proto::Event]) -> io::Result<()> {
        let runs = events.chunk_by(|a, b| {
            (a.revision, &a.namespace, &a.release) == (b.revision, &b.namespace, &b.release)
        });
        for run in runs {
            let ev = &run[0];
            let path = self.path(&ev.namespace, &ev.release, ev.revision);
            let mut bytes = Vec::new();
            for ev in run {
                let body = ev.encode_to_vec();
                bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
                bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
                bytes.extend_from_slice(&body);
            }
            let created = !path.exists();
            if created {
                std::fs::create_dir_all(&self.dir).map_err(at(&self.dir))?;
            }
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(&bytes))
                .map_err(at(&path))?;
            let mut dirty = self.dirty.lock().unwrap_or_else(PoisonError::into_inner);
            *dirty.entry(path).or_default() |= created;
        }
        Ok(())
    }

    /// Make what was appended before the call durable.
    pub fn sync(&self) -> io::Result<()> {
        let _turn = self.syncing.lock().unwrap_or_else(PoisonError::into_inner);
        let dirty = std::mem::take(&mut *self.dirty.lock().unwrap_or_else(PoisonError::into_inner));
        let synced = self.sync_all(&dirty);
        if synced.is_err() {
            // Synced at the next flush, or this one fails again.
            let mut again = self.dirty.lock().unwrap_or_else(PoisonError::into_inner);
            for (path, created) in dirty {
                *again.entry(path).or_default() |= created;
            }
        }
        synced
    }

    fn sync_all(&self, dirty: &std::collections::BTreeMap<PathBuf, bool>) -> io::Result<()> {
        for path in dirty.keys() {
            match File::open(path).and_then(|f| f.sync_data()) {
                // Removed since (packed, purged): nothing to keep.
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(at(path)(e)),
                _ => {}
            }
        }
        if dirty.values().any(|created| *created) {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Whether a revision has a file.
    pub fn has(&self, ns: &str, name: &str, rev: u64) -> bool {
        self.path(ns, name, rev).exists()
    }

    /// The length of a revision's file, None if it has none.
    pub fn len(&self, ns: &str, name: &str, rev: u64) -> io::Result<Option<u64>> {
        let path = self.path(ns, name, rev);
        match std::fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(at(&path)(e)),
        }
    }

    /// The events of one revision's file (none if it has none).
    pub fn read(&self, ns: &str, name: &str, rev: u64) -> io::Result<Vec<proto::Event>> {
        Ok(read_file(&self.path(ns, name, rev))?
            .map(|r| r.events)
            .unwrap_or_default())
    }

    /// Remove a revision's file, if it has one.
    pub fn remove(&self, ns: &str, name: &str, rev: u64) -> io::Result<()> {
        let path = self.path(ns, name, rev);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(at(&path)(e)),
        }
    }

    /// Every file: its path and what it reads as.
    pub fn list(&self) -> io::Result<Vec<(PathBuf, Contents)>> {
        let mut out = Vec::new();
        for entry in entries(&self.dir)? {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some(EXT) {
                continue;
            }
            if let Some(read) = read_file(&path)? {
                out.push((path, read));
            }
        }
        Ok(out)
    }

    /// Cut off what a crash left of a last record, so appends go on after
    /// the last whole one; returns the revisions that have files, with the
    /// last seq each holds.
    pub fn repair(&self) -> io::Result<BTreeSet<(String, String, u64, u64)>> {
        let mut revisions = BTreeSet::new();
        for (path, read) in self.list()? {
            let Some(ev) = read.events.first() else {
                // Nothing whole in it: empty, it goes; damaged from its
                // first record, it is set aside as it is (what it held is
                // not guessed at, nor thrown away) and `journal check`
                // names it.
                if read.len == 0 {
                    std::fs::remove_file(&path).map_err(at(&path))?;
                } else {
                    let aside = path.with_extension(DAMAGED);
                    tracing::warn!(file = %path.display(), aside = %aside.display(),
                        "an events file holds no whole record: set aside");
                    std::fs::rename(&path, &aside).map_err(at(&path))?;
                }
                continue;
            };
            let last = read.events.iter().map(|e| e.seq).max().unwrap_or(0);
            revisions.insert((ev.namespace.clone(), ev.release.clone(), ev.revision, last));
            if read.whole < read.len {
                OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| {
                        f.set_len(read.whole)?;
                        f.sync_data()
                    })
                    .map_err(at(&path))?;
            }
        }
        Ok(revisions)
    }

    /// Files set aside as damaged.
    pub fn damaged(&self) -> io::Result<Vec<PathBuf>> {
        Ok(entries(&self.dir)?
            .into_iter()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(DAMAGED))
            .collect())
    }

    /// Bytes the files take.
    pub fn size(&self) -> io::Result<u64> {
        let mut total = 0;
        for entry in entries(&self.dir)? {
            total += entry.metadata().map_err(at(&entry.path()))?.len();
        }
        Ok(total)
    }
}

/// A file's whole records; `None` if there is no file.
fn read_file(path: &Path) -> io::Result<Option<Contents>> {
    let mut bytes = Vec::new();
    match File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(at(path)(e)),
    }
    let mut events = Vec::new();
    let mut pos = 0usize;
    while bytes.len() - pos >= HEADER {
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
        let Some(body) = bytes.get(pos + HEADER..pos + HEADER + len) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        let Ok(ev) = proto::Event::decode(body) else {
            break;
        };
        events.push(ev);
        pos += HEADER + len;
    }
    Ok(Some(Contents {
        events,
        whole: pos as u64,
        len: bytes.len() as u64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth::proto::event::Kind;

    fn ev(rev: u64, seq: u64) -> proto::Event {
        proto::Event {
            release: "web".into(),
            namespace: "prod".into(),
            revision: rev,
            seq,
            time_unix_ms: 1_700_000_000_000 + seq as i64,
            kind: Some(Kind::Phase(proto::PhaseStarted {
                name: format!("phase {seq}"),
                time_left_ms: 1000,
            })),
        }
    }

    #[test]
    fn events_read_back_per_revision_and_go_with_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::new(dir.path());
        assert!(s.read("prod", "web", 1).unwrap().is_empty());
        s.append(&[ev(1, 1), ev(1, 2)]).unwrap();
        s.append(&[ev(1, 3), ev(2, 1)]).unwrap();
        s.sync().unwrap();
        assert_eq!(
            s.read("prod", "web", 1).unwrap(),
            [ev(1, 1), ev(1, 2), ev(1, 3)]
        );
        assert_eq!(s.read("prod", "web", 2).unwrap(), [ev(2, 1)]);
        s.remove("prod", "web", 1).unwrap();
        s.remove("prod", "web", 1).unwrap();
        assert!(s.read("prod", "web", 1).unwrap().is_empty());
        assert_eq!(s.list().unwrap().len(), 1);
    }

    #[test]
    fn a_record_cut_short_is_ignored_then_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let s = Spool::new(dir.path());
        s.append(&[ev(1, 1), ev(1, 2)]).unwrap();
        let (path, read) = s.list().unwrap().pop().unwrap();
        let whole = read.len;
        for cut in [1, 5, 9] {
            let f = OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(whole - cut).unwrap();
            assert_eq!(s.read("prod", "web", 1).unwrap(), [ev(1, 1)], "cut {cut}");
            f.set_len(whole).unwrap();
        }
        // A damaged last record, then a repair: appends go on after it.
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(s.read("prod", "web", 1).unwrap(), [ev(1, 1)]);
        let revisions = s.repair().unwrap();
        assert_eq!(
            revisions,
            BTreeSet::from([("prod".into(), "web".into(), 1, 1)])
        );
        s.append(&[ev(1, 2)]).unwrap();
        assert_eq!(s.read("prod", "web", 1).unwrap(), [ev(1, 1), ev(1, 2)]);
        // A file with nothing whole in it is set aside; an empty one goes.
        std::fs::write(&path, [1, 2, 3]).unwrap();
        assert!(s.repair().unwrap().is_empty());
        assert!(!path.exists());
        assert_eq!(s.damaged().unwrap(), [path.with_extension(DAMAGED)]);
        assert_eq!(
            std::fs::read(path.with_extension(DAMAGED)).unwrap(),
            [1, 2, 3]
        );
        std::fs::write(&path, []).unwrap();
        assert!(s.repair().unwrap().is_empty());
        assert!(!path.exists());
    }
}
