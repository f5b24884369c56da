//! A received chart's bytes: in memory, or, for an upload big enough to
//! come on a chart connection, in an unnamed file in berthd's data
//! directory, written as the bytes arrive. A spooled chart is read front to
//! back twice (unpacked to render it, then copied into the journal's file
//! of it), so berthd never holds it whole. A chart the journal holds as a
//! file is read from that file the same way.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

use bytes::Bytes;

pub enum ChartBytes {
    Memory(Bytes),
    /// The file has no name (it is gone once closed, a crash included).
    Spooled {
        file: File,
        len: u64,
    },
}

impl ChartBytes {
    pub fn len(&self) -> u64 {
        match self {
            ChartBytes::Memory(b) => b.len() as u64,
            ChartBytes::Spooled { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes from the first one on. A spooled chart's file has one
    /// position, so a reader borrows the chart: one at a time.
    pub fn reader(&mut self) -> std::io::Result<Box<dyn Read + Send + '_>> {
        match self {
            ChartBytes::Memory(b) => Ok(Box::new(&b[..])),
            ChartBytes::Spooled { file, len } => {
                file.rewind()?;
                Ok(Box::new(file.take(*len)))
            }
        }
    }
}

impl From<Bytes> for ChartBytes {
    fn from(b: Bytes) -> Self {
        ChartBytes::Memory(b)
    }
}

/// An unpacked chart file this big or bigger is kept out of memory while
/// the chart renders (see [`kept`]).
pub const MAP_FROM: usize = 256 * 1024;

/// Where an unpacked chart file's bytes stay while berthd renders: a small
/// one in memory; one of [`MAP_FROM`] bytes or more in an unnamed file in
/// `dir`, mapped into memory, so that its pages are resident only while a
/// template reads them (a 50 MiB chart of data files no longer holds all
/// of them unpacked). If the file cannot be written, the bytes stay in
/// memory, as before. Once written back and evicted, a page is read from
/// `dir` again when a template reads it: a read error there (a failing
/// disk, which the journal beside it shares) stops berthd with SIGBUS.
pub fn kept(dir: &Path, data: Vec<u8>) -> Bytes {
    if data.len() < MAP_FROM {
        return data.into();
    }
    match mapped(dir, &data) {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "keeping a chart file in memory");
            data.into()
        }
    }
}

fn mapped(dir: &Path, data: &[u8]) -> std::io::Result<Bytes> {
    let mut file = tempfile::tempfile_in(dir)?;
    file.write_all(data)?;
    // SAFETY: the file has no name and this handle, which ends here, is its
    // only one; berthd never writes it again. Another process could reach it
    // only through /proc with berthd's own user or root, which could change
    // berthd's memory directly anyway. The map keeps the file until the
    // bytes are dropped.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    Ok(Bytes::from_owner(map))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::ChartBytes;

    /// The mapping that holds `addr`, from /proc/self/maps: its path.
    #[cfg(target_os = "linux")]
    fn mapping_of(addr: usize) -> Option<String> {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines().find_map(|line| {
            let (range, rest) = line.split_once(' ')?;
            let (lo, hi) = range.split_once('-')?;
            let (lo, hi) = (
                usize::from_str_radix(lo, 16).ok()?,
                usize::from_str_radix(hi, 16).ok()?,
            );
            (lo..hi).contains(&addr).then(|| {
                rest.split_whitespace()
                    .skip(4)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_large_chart_file_is_kept_in_a_mapped_file_a_small_one_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let large: Vec<u8> = (0..super::MAP_FROM + 7).map(|i| (i % 251) as u8).collect();
        let kept = super::kept(dir.path(), large.clone());
        assert_eq!(&kept[..], &large[..]);
        let path = mapping_of(kept.as_ptr() as usize).unwrap();
        assert!(
            path.starts_with(dir.path().to_str().unwrap()) && path.ends_with("(deleted)"),
            "mapped from {path:?}"
        );
        // Nothing is left in the directory, even while it is mapped.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let small = vec![7u8; super::MAP_FROM - 1];
        let kept_small = super::kept(dir.path(), small.clone());
        assert_eq!(&kept_small[..], &small[..]);
        assert!(
            !mapping_of(kept_small.as_ptr() as usize)
                .unwrap_or_default()
                .starts_with(dir.path().to_str().unwrap())
        );

        // A directory it cannot write to: the bytes stay in memory.
        let gone = dir.path().join("gone");
        assert_eq!(&super::kept(&gone, large.clone())[..], &large[..]);
    }

    #[test]
    fn a_spooled_chart_reads_from_its_start_each_time() {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(b"0123456789").unwrap();
        let mut chart = ChartBytes::Spooled { file, len: 10 };
        for _ in 0..2 {
            let mut got = Vec::new();
            chart.reader().unwrap().read_to_end(&mut got).unwrap();
            assert_eq!(got, b"0123456789");
        }
        assert_eq!(chart.len(), 10);
    }
}
