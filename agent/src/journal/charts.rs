//! Big charts, as files named by their digest in `charts/` beside sled's
//! database (since format version 3).
//!
//! A chart of [`crate::uploads::MIN_SIZE`] or more (berthd spools it to
//! a file as it arrives, mostly from a chart connection) is kept here
//! rather than in
//! sled: sled keeps every value it writes in its page cache until 64
//! accesses queue on the value's shard, which a quiet berthd never
//! reaches, so each big chart installed stayed in berthd's memory for
//! good (four 30 MiB charts: 17 → 152 MiB idle). A file costs no more to
//! write (sled writes a value over 128 KiB to a file of its own too) and
//! nothing to keep.
//!
//! A file is complete before it has its name: it is written under a
//! temporary one, synced, renamed, and the directory synced, all before the
//! transaction that records the revision naming it. A crash leaves at most
//! a temporary file (removed when berthd next opens the journal) or a
//! chart nothing names yet (removed by the sweep at the next start).
//!
//! A chart file no revision names is removed: after `--history-max` drops
//! revisions or an uninstall forgets a release, and at start (what a crash
//! left). Helm's storage is bounded by `--history-max`, each revision
//! holding its chart; berth's stays bounded too, with each chart once. An
//! operation pins its chart's digest ([`ChartFiles::pin`]) before it asks
//! whether the journal holds it and until it ends, so a chart it was told
//! it need not send, or has just kept, is not removed before its revision
//! names it: not as a file by a sweep, not from sled by a journal
//! collection ([`super::Journal::collect_garbage`] keeps pinned digests).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

// Digests are the only names this directory holds: a digest from a
// request never becomes another path.
use super::is_digest;

/// Temporary files start with this; no digest does.
const TEMPORARY: &str = ".tmp";

#[derive(Clone, Debug)]
pub struct ChartFiles {
    dir: PathBuf,
    /// Digest → how many running operations pinned it. Also the lock under
    /// which a sweep decides and removes.
    pins: Arc<Mutex<HashMap<String, usize>>>,
    /// Held while a file gets its name and the directory is synced, and
    /// while one is looked for: a chart found is a chart whose name is
    /// durable, so a revision naming it cannot outlive it in a crash.
    naming: Arc<Mutex<()>>,
}

/// A chart digest an operation uses: not swept while this lives.
#[derive(Debug)]
pub struct ChartPin {
    pins: Arc<Mutex<HashMap<String, usize>>>,
    digest: String,
}

impl Drop for ChartPin {
    fn drop(&mut self) {
        let mut pins = self.pins.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = pins.get_mut(&self.digest) {
            *n -= 1;
            if *n == 0 {
                pins.remove(&self.digest);
            }
        }
    }
}

impl ChartFiles {
    /// The chart files of the journal in data directory `data`.
    pub fn new(data: &Path) -> ChartFiles {
        ChartFiles {
            dir: data.join("charts"),
            pins: Arc::default(),
            naming: Arc::default(),
        }
    }

    fn naming(&self) -> std::sync::MutexGuard<'_, ()> {
        self.naming.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The pinned digests, locked: no pin is taken or dropped while the
    /// guard lives (a journal collection keeps a pinned chart kept in
    /// sled, as a sweep keeps a pinned file).
    pub fn pinned(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.pins.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn pin(&self, d: &str) -> ChartPin {
        *self.pinned().entry(d.to_string()).or_default() += 1;
        ChartPin {
            pins: Arc::clone(&self.pins),
            digest: d.to_string(),
        }
    }

    /// Remove the chart files among `candidates` (every file when None)
    /// that `named` (the digests the journal's revisions name, read while
    /// no pin can be taken or dropped) does not hold and no operation has
    /// pinned. Returns the digests removed.
    pub fn sweep<E: From<io::Error>>(
        &self,
        candidates: Option<&HashSet<String>>,
        named: impl FnOnce() -> Result<HashSet<String>, E>,
    ) -> Result<Vec<String>, E> {
        let pins = self.pinned();
        let held: Vec<String> = match candidates {
            Some(c) => c.iter().filter(|d| self.contains(d)).cloned().collect(),
            None => self.list()?,
        };
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let named = named()?;
        let mut removed = Vec::new();
        for d in held {
            if named.contains(&d) || pins.contains_key(&d) {
                continue;
            }
            match std::fs::remove_file(self.dir.join(&d)) {
                Ok(()) => removed.push(d),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !removed.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(removed)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, d: &str) -> Option<PathBuf> {
        is_digest(d).then(|| self.dir.join(d))
    }

    pub fn contains(&self, d: &str) -> bool {
        let _naming = self.naming();
        self.path(d).is_some_and(|p| p.is_file())
    }

    /// The chart's bytes, or None when there is no file of that name.
    pub fn read(&self, d: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(d) else {
            return Ok(None);
        };
        let Some((mut file, len)) = self.open(d)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(at(&path))?;
        Ok(Some(bytes))
    }

    /// The chart's file, open for reading, and its length; None when
    /// there is no file of that name.
    pub fn open(&self, d: &str) -> io::Result<Option<(File, u64)>> {
        let Some(path) = self.path(d) else {
            return Ok(None);
        };
        let file = {
            let _naming = self.naming();
            File::open(&path)
        };
        let opened = file.and_then(|f| {
            let len = f.metadata()?.len();
            Ok((f, len))
        });
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(at(&path)(e)),
        }
    }

    /// Keep the `len` bytes `bytes` reads as chart `d` (the caller has
    /// checked that they hash to `d`). Nothing is written when the file is
    /// there already.
    pub fn store(&self, d: &str, bytes: &mut dyn Read, len: u64) -> io::Result<()> {
        let path = self
            .path(d)
            .ok_or_else(|| io::Error::other(format!("{d:?} is not a sha256 digest")))?;
        if self.contains(d) {
            return Ok(());
        }
        {
            let _naming = self.naming();
            if !self.dir.is_dir() {
                std::fs::create_dir_all(&self.dir).map_err(at(&self.dir))?;
                if let Some(parent) = self.dir.parent() {
                    sync_dir(parent)?;
                }
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMPORARY)
            .tempfile_in(&self.dir)
            .map_err(at(&self.dir))?;
        let copied = io::copy(&mut bytes.take(len), tmp.as_file_mut()).map_err(at(tmp.path()))?;
        if copied != len {
            // Kept, they would be other bytes than the chart's under its name.
            return Err(io::Error::other(format!(
                "the chart held {copied} bytes, not {len}"
            )));
        }
        tmp.as_file().sync_all().map_err(at(tmp.path()))?;
        let _naming = self.naming();
        tmp.persist(&path).map_err(|e| at(&path)(e.error))?;
        sync_dir(&self.dir)
    }

    /// The digests of the charts held, in no particular order.
    pub fn list(&self) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in entries(&self.dir)? {
            let name = entry.file_name();
            if let Some(name) = name.to_str().filter(|n| is_digest(n))
                && entry.file_type().is_ok_and(|t| t.is_file())
            {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// Bytes the charts take.
    pub fn size(&self) -> io::Result<u64> {
        let mut total = 0;
        for d in self.list()? {
            let path = self.dir.join(d);
            total += std::fs::metadata(&path).map_err(at(&path))?.len();
        }
        Ok(total)
    }

    /// Remove temporary files a crash left, and make durable the names of
    /// the files there are (a crash may have come between a rename and
    /// its directory's sync). For a serving open, before any operation.
    pub fn clear_leftovers(&self) -> io::Result<()> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry.map_err(at(&self.dir))?;
            let temporary = entry.file_name().to_string_lossy().starts_with(TEMPORARY);
            if temporary && entry.file_type().is_ok_and(|t| t.is_file()) {
                std::fs::remove_file(entry.path()).map_err(at(&entry.path()))?;
            }
        }
        sync_dir(&self.dir)?;
        match self.dir.parent() {
            Some(parent) => sync_dir(parent),
            None => Ok(()),
        }
    }
}

/// The entries of `dir`; none when it does not exist.
pub(super) fn entries(dir: &Path) -> io::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.map_err(at(dir))).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(at(dir)(e)),
    }
}

/// An I/O error that names its path.
pub(super) fn at(path: &Path) -> impl Fn(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Make a directory's entries (a new or renamed file) durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(at(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digests_name_files() {
        let dir = tempfile::tempdir().unwrap();
        let files = ChartFiles::new(dir.path());
        std::fs::create_dir(files.dir()).unwrap();
        std::fs::write(dir.path().join("secret"), b"x").unwrap();
        for d in ["../secret", "", "/etc/passwd", &"A".repeat(64)] {
            assert!(!files.contains(d), "{d}");
            assert_eq!(files.read(d).unwrap(), None, "{d}");
            assert!(files.store(d, &mut &b"x"[..], 1).is_err(), "{d}");
        }
        assert_eq!(files.list().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn a_short_read_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = ChartFiles::new(dir.path());
        let d = "0".repeat(64);
        let err = files.store(&d, &mut &b"abc"[..], 4).unwrap_err();
        assert!(err.to_string().contains("held 3 bytes, not 4"), "{err}");
        assert!(!files.contains(&d));
        assert_eq!(std::fs::read_dir(files.dir()).unwrap().count(), 0);
    }

    #[test]
    fn a_sweep_keeps_named_and_pinned_charts() {
        let dir = tempfile::tempdir().unwrap();
        let files = ChartFiles::new(dir.path());
        let [a, b, c] = ["a", "b", "c"].map(|x| x.repeat(64));
        for d in [&a, &b, &c] {
            files.store(d, &mut &b"chart"[..], 5).unwrap();
        }
        let pin = files.pin(&b);
        let named = || Ok::<_, io::Error>(HashSet::from([a.clone()]));
        assert_eq!(files.sweep(None, named).unwrap(), vec![c.clone()]);
        let mut left = files.list().unwrap();
        left.sort();
        assert_eq!(left, vec![a.clone(), b.clone()]);
        // Pinned twice, dropped once: still pinned.
        let again = files.pin(&b);
        drop(pin);
        let only_b = HashSet::from([b.clone()]);
        let none = || Ok::<_, io::Error>(HashSet::new());
        assert_eq!(
            files.sweep(Some(&only_b), none).unwrap(),
            Vec::<String>::new()
        );
        drop(again);
        assert_eq!(files.sweep(Some(&only_b), none).unwrap(), vec![b.clone()]);
        assert_eq!(files.list().unwrap(), vec![a.clone()]);
    }

    #[test]
    fn leftovers_of_a_crash_are_cleared_and_charts_kept() {
        let dir = tempfile::tempdir().unwrap();
        let files = ChartFiles::new(dir.path());
        let d = "a".repeat(64);
        files.store(&d, &mut &b"chart"[..], 5).unwrap();
        std::fs::write(files.dir().join(".tmpXYZ"), b"half").unwrap();
        files.clear_leftovers().unwrap();
        assert_eq!(files.list().unwrap(), vec![d.clone()]);
        assert_eq!(files.read(&d).unwrap().unwrap(), b"chart");
        assert_eq!(std::fs::read_dir(files.dir()).unwrap().count(), 1);
        assert_eq!(files.size().unwrap(), 5);
    }
}
