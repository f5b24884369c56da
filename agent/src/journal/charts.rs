//! Big charts, as files named by their digest in `charts/` beside sled's
//! database (since format version 3).
//!
//! A chart that came on a chart connection (one of
//! [`crate::uploads::MIN_SIZE`] or more) is kept here rather than in
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
//! chart nothing names yet, which the next upload of it reuses. Files are
//! never rewritten or removed, as blobs are not.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Temporary files start with this; no digest does.
const TEMPORARY: &str = ".tmp";

#[derive(Clone, Debug)]
pub struct ChartFiles {
    dir: PathBuf,
}

/// Whether `d` is a sha256 in lowercase hex, the only names this directory
/// holds (a digest from a request never becomes another path).
fn is_digest(d: &str) -> bool {
    d.len() == 64 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl ChartFiles {
    /// The chart files of the journal in data directory `data`.
    pub fn new(data: &Path) -> ChartFiles {
        ChartFiles {
            dir: data.join("charts"),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, d: &str) -> Option<PathBuf> {
        is_digest(d).then(|| self.dir.join(d))
    }

    pub fn contains(&self, d: &str) -> bool {
        self.path(d).is_some_and(|p| p.is_file())
    }

    /// The chart's bytes, or None when there is no file of that name.
    pub fn read(&self, d: &str) -> io::Result<Option<Vec<u8>>> {
        let Some(path) = self.path(d) else {
            return Ok(None);
        };
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
    }

    /// The chart's file, open for reading, and its length; None when
    /// there is no file of that name.
    pub fn open(&self, d: &str) -> io::Result<Option<(File, u64)>> {
        let Some(path) = self.path(d) else {
            return Ok(None);
        };
        let opened = File::open(&path).and_then(|f| {
            let len = f.metadata()?.len();
            Ok((f, len))
        });
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
        }
    }

    /// Keep the `len` bytes `bytes` reads as chart `d` (the caller has
    /// checked that they hash to `d`). Nothing is written when the file is
    /// there already.
    pub fn store(&self, d: &str, bytes: &mut dyn Read, len: u64) -> io::Result<()> {
        let path = self
            .path(d)
            .ok_or_else(|| io::Error::other(format!("{d:?} is not a sha256 digest")))?;
        if path.is_file() {
            return Ok(());
        }
        if !self.dir.is_dir() {
            std::fs::create_dir_all(&self.dir)?;
            if let Some(parent) = self.dir.parent() {
                sync_dir(parent)?;
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMPORARY)
            .tempfile_in(&self.dir)?;
        let copied = io::copy(&mut bytes.take(len), tmp.as_file_mut())?;
        if copied != len {
            // Kept, they would be other bytes than the chart's under its name.
            return Err(io::Error::other(format!(
                "the chart held {copied} bytes, not {len}"
            )));
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        sync_dir(&self.dir)
    }

    /// The digests of the charts held, in no particular order.
    pub fn list(&self) -> io::Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            if let Some(name) = name.to_str().filter(|n| is_digest(n)) {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }

    /// Bytes the charts take.
    pub fn size(&self) -> io::Result<u64> {
        let mut total = 0;
        for d in self.list()? {
            total += std::fs::metadata(self.dir.join(d))?.len();
        }
        Ok(total)
    }

    /// Remove temporary files a crash left.
    pub fn clear_leftovers(&self) -> io::Result<()> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(());
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMPORARY) {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }
}

/// Make a directory's entries (a new or renamed file) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
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
