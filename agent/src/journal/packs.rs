//! Blob contents in append-only pack files, `packs/` beside sled's
//! database (since format version 4). The `blobs` tree holds, for each
//! blob written since, only its [`Place`]: pack, offset, length.
//!
//! Why: sled 0.34 keeps every page it reads in memory until 64 accesses
//! have queued on the page's shard (of 256), whatever its cache capacity,
//! and a leaf page holds up to 16 values. With blob contents in sled's
//! pages, a berthd serving old manifests kept most of what it read: 11 →
//! 291 MiB of its own memory after reading 300 revisions of a 2.7 MB
//! manifest, with a 64 MiB cache; with packs 13 → 42 MiB (the same with a
//! 16 MiB cache: what stays is the slack above the capacity, pages of
//! places now). A pack is read with `pread`: what was read stays in the
//! kernel's page cache, which gives it back under pressure, and sled's
//! pages hold places of 17 bytes.
//!
//! A pack is only appended to. What a write adds is appended and synced
//! before the transaction that names it, so a place in the journal always
//! points at durable bytes; a crash between the two leaves bytes nothing
//! names. Those, and the bytes of blobs a collection removed, are
//! reclaimed by the next collection's compaction
//! ([`super::Journal::collect_garbage`], once 64 revisions were dropped):
//! a pack of which less than half is live has its live blobs appended
//! anew and is removed once the journal names only their new places; the
//! active pack is retired first, so nothing moves into a pack being
//! emptied. Pack numbers never repeat: the journal keeps the next one
//! ([`NEXT_KEY`]), so a place read before a compaction never reads another
//! pack's bytes (a read that finds its pack gone looks the place up
//! again), and a journal opens only beside its own packs
//! (`Journal::own_packs`).
//!
//! What this does not own: which blobs are live (the journal decides), the
//! blobs of older journals, which stay inline in sled (deflate streams,
//! told apart from a place by its first byte: see [`TAG`]), and the object
//! tables of packed events, written inline with the transaction that
//! closes a revision (small, and shared by the upgrades of the same
//! objects).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::charts::{at, entries, sync_dir};

/// The first byte of a place. An inline blob is a raw deflate stream,
/// whose first byte's bits 1–2 are its first block's type: 0xFF would be
/// type 3, which RFC 1951 reserves, so no inline blob starts with it.
pub const TAG: u8 = 0xFF;

/// A pack grows to about this size before the next one is started.
pub const ROLL: u64 = 16 << 20;

/// Where a blob's (deflated) bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub pack: u32,
    pub offset: u64,
    pub len: u32,
}

/// A `blobs` value: the deflated bytes themselves (format 3 and older), or
/// where they are.
pub enum Stored<'a> {
    Inline(&'a [u8]),
    Packed(Place),
}

const ENCODED: usize = 17;

impl Place {
    pub fn encode(&self) -> [u8; ENCODED] {
        let mut out = [0u8; ENCODED];
        out[0] = TAG;
        out[1..5].copy_from_slice(&self.pack.to_le_bytes());
        out[5..13].copy_from_slice(&self.offset.to_le_bytes());
        out[13..17].copy_from_slice(&self.len.to_le_bytes());
        out
    }
}

/// What a `blobs` value holds; an error says why a value that starts as a
/// place is not one.
pub fn stored(value: &[u8]) -> Result<Stored<'_>, String> {
    if value.first() != Some(&TAG) {
        return Ok(Stored::Inline(value));
    }
    let v: &[u8; ENCODED] = value
        .try_into()
        .map_err(|_| format!("a pack place is {ENCODED} bytes, this one {}", value.len()))?;
    let u32_at = |i: usize| u32::from_le_bytes([v[i], v[i + 1], v[i + 2], v[i + 3]]);
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&v[5..13]);
    Ok(Stored::Packed(Place {
        pack: u32_at(1),
        offset: u64::from_le_bytes(offset),
        len: u32_at(13),
    }))
}

/// The key, in the journal's `meta` tree, of the lowest number a new pack
/// may take (u32 big endian): written and flushed before a pack is made. Numbers never repeat, also
/// when `packs/` lost files (restored without them, say), and a journal
/// without it never wrote a pack.
pub const NEXT_KEY: &str = "packs-next";

#[derive(Clone, Debug)]
pub struct Packs {
    dir: PathBuf,
    inner: Arc<Mutex<Inner>>,
    /// Packs open for reading, by number.
    open: Arc<Mutex<HashMap<u32, Arc<File>>>>,
    /// The journal's `meta` tree, where [`NEXT_KEY`] is kept (none in
    /// this module's tests).
    meta: Option<sled::Tree>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The pack appends go to, once one was opened.
    active: Option<Active>,
    /// The lowest number a new pack may take: above every pack this
    /// journal has made, removed ones included.
    next: u32,
    /// Whether a pack was opened for appending yet: only the first may be
    /// the newest pack a previous run left.
    started: bool,
}

#[derive(Debug)]
struct Active {
    number: u32,
    file: File,
    len: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Packs {
    /// The packs of the journal in data directory `data`.
    pub fn new(data: &Path) -> Packs {
        Packs {
            dir: data.join("packs"),
            inner: Arc::default(),
            open: Arc::default(),
            meta: None,
        }
    }

    /// These packs numbered from `meta`'s [`NEXT_KEY`] on, which every
    /// new pack raises.
    pub fn numbered_in(mut self, meta: sled::Tree) -> sled::Result<Packs> {
        lock(&self.inner).next = next_in(&meta)?.unwrap_or(0);
        self.meta = Some(meta);
        Ok(self)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, number: u32) -> PathBuf {
        self.dir.join(format!("{number:08}.pack"))
    }

    /// The packs there are, by number, with their lengths.
    pub fn list(&self) -> io::Result<Vec<(u32, u64)>> {
        let mut out = Vec::new();
        for entry in entries(&self.dir)? {
            let name = entry.file_name();
            let number = name
                .to_str()
                .and_then(|n| n.strip_suffix(".pack"))
                .filter(|n| n.len() == 8)
                .and_then(|n| n.parse::<u32>().ok());
            if let Some(number) = number {
                let len = entry.metadata().map_err(at(&entry.path()))?.len();
                out.push((number, len));
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Bytes the packs take.
    pub fn size(&self) -> io::Result<u64> {
        Ok(self.list()?.iter().map(|(_, len)| len).sum())
    }

    /// Appends go to a new pack from now on, not to the active one nor to
    /// the newest a previous run left (a compaction is about to empty it).
    pub fn retire_active(&self) {
        let mut inner = lock(&self.inner);
        inner.active = None;
        inner.started = true;
    }

    /// Append `values` to the active pack and sync it: their places, in
    /// order, once the bytes are durable. Blocking.
    pub fn append(&self, values: &[&[u8]]) -> io::Result<Vec<Place>> {
        let total: u64 = values.iter().map(|v| v.len() as u64).sum();
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let mut inner = lock(&self.inner);
        let reuse = inner
            .active
            .as_ref()
            .is_some_and(|a| a.len == 0 || a.len + total <= ROLL);
        if !reuse {
            inner.active = None;
            inner.active = Some(self.start(&mut inner)?);
        }
        let active = inner
            .active
            .as_mut()
            .expect("an active pack was just opened");
        let mut places = Vec::with_capacity(values.len());
        let mut buf = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        let mut offset = active.len;
        for v in values {
            let len = u32::try_from(v.len()).map_err(|_| {
                io::Error::other(format!("a blob of {} bytes is too big to pack", v.len()))
            })?;
            places.push(Place {
                pack: active.number,
                offset,
                len,
            });
            buf.extend_from_slice(v);
            offset += v.len() as u64;
        }
        let path = self.path(active.number);
        let written = active
            .file
            .write_all_at(&buf, active.len)
            .and_then(|()| active.file.sync_data())
            .map_err(at(&path));
        match written {
            Ok(()) => {
                active.len = offset;
                Ok(places)
            }
            Err(e) => {
                // What the failed write left is bytes nothing names; the
                // next append starts a pack of its own.
                inner.active = None;
                Err(e)
            }
        }
    }

    /// The pack to append to: the newest one if it has room (after a
    /// restart), else a new one, its name made durable.
    fn start(&self, inner: &mut Inner) -> io::Result<Active> {
        let first = !std::mem::replace(&mut inner.started, true);
        if let Some(&(number, len)) = self.list()?.last() {
            inner.next = inner.next.max(number + 1);
            if first && len < ROLL / 2 {
                let path = self.path(number);
                if let Ok(file) = OpenOptions::new().write(true).open(&path) {
                    return Ok(Active { number, file, len });
                }
            }
        }
        if !self.dir.is_dir() {
            std::fs::create_dir_all(&self.dir).map_err(at(&self.dir))?;
            if let Some(parent) = self.dir.parent() {
                sync_dir(parent)?;
            }
        }
        let number = inner.next.max(1);
        if let Some(meta) = &self.meta {
            // Durable before the file is: a crash between the two must not
            // leave a pack the journal's numbering does not cover.
            super::writing(|| {
                meta.insert(NEXT_KEY, &(number + 1).to_be_bytes())?;
                meta.flush()
            })
            .map_err(io::Error::other)?;
        }
        let path = self.path(number);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(at(&path))?;
        sync_dir(&self.dir)?;
        inner.next = number + 1;
        Ok(Active {
            number,
            file,
            len: 0,
        })
    }

    /// A place's bytes.
    pub fn read(&self, place: Place) -> io::Result<Vec<u8>> {
        let path = self.path(place.pack);
        let file = {
            let mut open = lock(&self.open);
            match open.get(&place.pack) {
                Some(f) => Arc::clone(f),
                None => {
                    let f = Arc::new(File::open(&path).map_err(at(&path))?);
                    open.insert(place.pack, Arc::clone(&f));
                    f
                }
            }
        };
        let end = place.offset.saturating_add(u64::from(place.len));
        let len = file.metadata().map_err(at(&path))?.len();
        if end > len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{}: ends at byte {len}, the blob at {}..{end}",
                    path.display(),
                    place.offset
                ),
            ));
        }
        let mut buf = vec![0u8; place.len as usize];
        file.read_exact_at(&mut buf, place.offset)
            .map_err(at(&path))?;
        Ok(buf)
    }

    /// Remove pack `number` (no place names it any more). Under the lock
    /// of the open packs, so that no read opens it again meanwhile, and
    /// the number is not taken again.
    pub fn remove(&self, number: u32) -> io::Result<()> {
        {
            let mut inner = lock(&self.inner);
            inner.next = inner.next.max(number + 1);
        }
        let mut open = lock(&self.open);
        let path = self.path(number);
        let removed = match std::fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(at(&path)(e)),
        };
        open.remove(&number);
        removed
    }
}

/// The [`NEXT_KEY`] a journal's `meta` tree holds, if any.
pub fn next_in(meta: &sled::Tree) -> sled::Result<Option<u32>> {
    Ok(meta
        .get(NEXT_KEY)?
        .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
        .map(u32::from_be_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_reads_back_and_no_inline_blob_looks_like_one() {
        let place = Place {
            pack: 7,
            offset: 1 << 40,
            len: 12_345,
        };
        let Ok(Stored::Packed(back)) = stored(&place.encode()) else {
            panic!("a place reads back as a place");
        };
        assert_eq!(back, place);
        // What the journal stores inline: deflate streams of any content,
        // stored blocks included.
        let random: Vec<u8> = (0..100_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[1])
            .collect();
        for bytes in [&b""[..], b"x", b"\x1f\x8b gzip", &random] {
            for inline in [super::super::deflate(bytes), super::super::stored(bytes)] {
                assert!(matches!(stored(&inline), Ok(Stored::Inline(_))));
            }
        }
        let e = stored(&[TAG, 1, 2]).err().unwrap();
        assert_eq!(e, "a pack place is 17 bytes, this one 3");
    }

    #[test]
    fn appends_read_back_and_a_restart_goes_on_in_the_newest_pack() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::new(dir.path());
        assert_eq!(packs.append(&[]).unwrap(), vec![]);
        assert!(!packs.dir().exists(), "nothing to append makes nothing");
        let places = packs.append(&[b"one", b"", b"three"]).unwrap();
        assert_eq!(
            places[2],
            Place {
                pack: 1,
                offset: 3,
                len: 5
            }
        );
        let restarted = Packs::new(dir.path());
        let more = restarted.append(&[b"four"]).unwrap();
        assert_eq!(
            more[0],
            Place {
                pack: 1,
                offset: 8,
                len: 4
            }
        );
        for (place, want) in places.iter().chain(&more).zip(["one", "", "three", "four"]) {
            assert_eq!(restarted.read(*place).unwrap(), want.as_bytes());
            assert_eq!(packs.read(*place).unwrap(), want.as_bytes());
        }
        // Past the roll, a new pack.
        let big = vec![0u8; ROLL as usize];
        assert_eq!(restarted.append(&[&big]).unwrap()[0].pack, 2);
        assert_eq!(restarted.list().unwrap(), vec![(1, 12), (2, ROLL)]);
        assert_eq!(restarted.size().unwrap(), 12 + ROLL);
    }

    #[test]
    fn a_pack_number_is_never_taken_twice_while_berthd_runs() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::new(dir.path());
        let first = packs.append(&[b"a"]).unwrap()[0];
        packs.retire_active();
        packs.remove(first.pack).unwrap();
        // A place read before the removal must not read another pack's
        // bytes: the next pack has a new number.
        let second = packs.append(&[b"b"]).unwrap()[0];
        assert_eq!(second.pack, first.pack + 1);
        assert_eq!(
            packs.read(first).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(packs.read(second).unwrap(), b"b");
    }

    #[test]
    fn a_pack_removed_before_any_append_keeps_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let before = Packs::new(dir.path());
        before.append(&[b"a"]).unwrap();
        before.retire_active();
        let gone = before.append(&[b"b"]).unwrap()[0];
        // A restart, then a compaction empties the newest pack first.
        let packs = Packs::new(dir.path());
        packs.retire_active();
        packs.remove(gone.pack).unwrap();
        assert_eq!(packs.append(&[b"c"]).unwrap()[0].pack, gone.pack + 1);
    }

    #[test]
    fn the_numbering_is_kept_in_the_journal_not_in_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let meta = sled::Config::new().temporary(true).open().unwrap();
        let meta = meta.open_tree("meta").unwrap();
        let packs = Packs::new(dir.path()).numbered_in(meta.clone()).unwrap();
        assert_eq!(packs.append(&[b"a"]).unwrap()[0].pack, 1);
        assert_eq!(next_in(&meta).unwrap(), Some(2));
        // The directory lost its packs: the numbers still do not repeat.
        std::fs::remove_dir_all(packs.dir()).unwrap();
        let again = Packs::new(dir.path()).numbered_in(meta.clone()).unwrap();
        assert_eq!(again.append(&[b"b"]).unwrap()[0].pack, 2);
        assert_eq!(next_in(&meta).unwrap(), Some(3));
    }

    #[test]
    fn a_place_past_its_packs_end_is_an_error_not_an_allocation() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::new(dir.path());
        let mut place = packs.append(&[b"abc"]).unwrap()[0];
        place.len = u32::MAX;
        let e = packs.read(place).unwrap_err().to_string();
        assert!(
            e.ends_with("00000001.pack: ends at byte 3, the blob at 0..4294967295"),
            "{e}"
        );
    }
}
