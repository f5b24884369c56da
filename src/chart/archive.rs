//! Chart archives: packing chart files into the deterministic gzip tar that
//! travels to the agent, and unpacking an untrusted one.
//!
//! Unpacking trusts nothing in the archive. Only regular files (and
//! directories, which are skipped) are accepted: links, devices, FIFOs and
//! other special entries are refused, as are absolute paths, `..`, names
//! that are not UTF-8 and the same file twice. Every dimension is bounded
//! by [`Limits`], and the decompressed stream itself is cut off at the
//! unpacked limit (plus the tar framing of the files allowed), so a gzip
//! bomb stops there instead of inflating in memory — even inside a long
//! name or pax header, which the tar reader buffers whole.

use std::cell::Cell;
use std::collections::HashSet;
use std::io::{BufRead, Read, Write};
use std::path::Component;
use std::rc::Rc;

use super::{BufferedFile, ChartError, Limits, strip_bom};
use bytes::Bytes;

/// Tar framing the decompressed stream may carry per file allowed, beyond
/// the files' contents: a 512-byte header, up to 511 bytes of padding, and
/// a directory or long-name entry.
const FRAMING_PER_FILE: u64 = 2048;

/// Pack chart files into a gzip tar with a `<name>/` prefix, as `helm
/// package` lays it out. The output depends only on names and contents
/// (fixed mtime, mode and owner, sorted entries), so the same chart always
/// has the same digest and an agent can skip an upload it already has.
pub fn pack(files: &[BufferedFile], name: &str) -> Result<Vec<u8>, ChartError> {
    let mut sorted: Vec<&BufferedFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for f in sorted {
        let mut h = tar::Header::new_gnu();
        h.set_size(f.data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, format!("{name}/{}", f.name), &f.data[..])
            .map_err(|e| ChartError::Archive(format!("packing {}: {e}", f.name)))?;
    }
    let gz = tar
        .into_inner()
        .map_err(|e| ChartError::Archive(e.to_string()))?;
    let mut bytes = gz
        .finish()
        .map_err(|e| ChartError::Archive(e.to_string()))?;
    bytes.flush().ok();
    Ok(bytes)
}

/// A reader that fails once more than `left` bytes have been read through
/// it, and remembers that it did (the tar reader wraps the error).
struct Capped<R> {
    inner: R,
    left: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // Only fail if the stream really goes on.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.exceeded.set(true);
            return Err(std::io::Error::other("unpacked size limit reached"));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// What a tar entry type is, in words, for the ones refused.
fn special_kind(kind: tar::EntryType) -> String {
    use tar::EntryType as T;
    match kind {
        T::Symlink => "a symbolic link".into(),
        T::Link => "a hard link".into(),
        T::Char | T::Block => "a device".into(),
        T::Fifo => "a FIFO".into(),
        T::GNUSparse => "a sparse file".into(),
        other => format!("a special entry (type {:?})", other.as_byte() as char),
    }
}

/// Shorten a hostile name for an error message.
fn shown(name: &str) -> String {
    const MAX: usize = 120;
    if name.len() <= MAX {
        return name.to_string();
    }
    let mut cut = MAX;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &name[..cut])
}

/// A reader's error for a message: tar quotes header bytes as they are,
/// so anything but printable ASCII is replaced and the text is cut short.
fn reader_error(e: &std::io::Error) -> String {
    let text: String = e
        .to_string()
        .chars()
        .map(|c| {
            if c == ' ' || c.is_ascii_graphic() {
                c
            } else {
                '?'
            }
        })
        .collect();
    shown(&text)
}

/// Unpack a chart archive, refusing anything unsafe or over a limit (see
/// the module docs). The first path component (the chart's directory) is
/// stripped, as Helm's archive loader does.
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Vec<BufferedFile>, ChartError> {
    unpack_counted(bytes, limits, &mut Used::default(), &mut Bytes::from)
}

/// [`unpack`] from a reader (a chart spooled to a file), read once, front
/// to back, and never held whole, handing each file's bytes, once read, to
/// `keep`, which may move them out of memory (berthd keeps a large file in
/// a file of its own, mapped). Only one file at a time is read into memory
/// here.
pub fn unpack_keeping(
    reader: impl Read,
    limits: &Limits,
    keep: &mut dyn FnMut(Vec<u8>) -> Bytes,
) -> Result<Vec<BufferedFile>, ChartError> {
    unpack_counted(reader, limits, &mut Used::default(), keep)
}

/// What a chart has used of [`Limits::max_unpacked`] and
/// [`Limits::max_files`] so far: subcharts packed inside a chart share
/// their parent's limits.
#[derive(Debug, Default)]
pub(super) struct Used {
    pub bytes: u64,
    pub files: usize,
}

/// [`unpack`], counting on from `used`.
pub(super) fn unpack_counted(
    reader: impl Read,
    limits: &Limits,
    used: &mut Used,
    keep: &mut dyn FnMut(Vec<u8>) -> Bytes,
) -> Result<Vec<BufferedFile>, ChartError> {
    let mut reader = std::io::BufReader::new(reader);
    let magic = reader.fill_buf().map_err(|e| {
        ChartError::Archive(format!(
            "cannot read the chart archive: {}",
            reader_error(&e)
        ))
    })?;
    if !magic.starts_with(&[0x1f, 0x8b]) {
        return Err(ChartError::Archive(
            "not gzip-compressed (a chart bundle is a .tgz)".into(),
        ));
    }
    let exceeded = Rc::new(Cell::new(false));
    let files_left = limits.max_files.saturating_sub(used.files) as u64;
    let cap = (limits.max_unpacked.saturating_sub(used.bytes))
        .saturating_add(FRAMING_PER_FILE.saturating_mul(files_left + 2));
    let stream = Capped {
        inner: flate2::bufread::GzDecoder::new(reader),
        left: cap,
        exceeded: Rc::clone(&exceeded),
    };
    let too_big = || {
        ChartError::Limit(
            "unpacked chart size".into(),
            format!("{} bytes", limits.max_unpacked),
        )
    };
    let unreadable = |e: std::io::Error| {
        if exceeded.get() {
            too_big()
        } else {
            ChartError::Archive(format!("cannot read the gzip tar: {}", reader_error(&e)))
        }
    };
    let mut archive = tar::Archive::new(stream);
    let mut files: Vec<BufferedFile> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for entry in archive.entries().map_err(unreadable)? {
        let mut entry = entry.map_err(unreadable)?;
        let raw_name = entry.path_bytes().into_owned();
        let Ok(name) = String::from_utf8(raw_name) else {
            return Err(ChartError::Archive(
                "an entry's name is not valid UTF-8".into(),
            ));
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(ChartError::Archive(format!(
                "{}: {} is not allowed in a chart",
                shown(&name),
                special_kind(kind)
            )));
        }
        if name.len() > limits.max_path {
            return Err(ChartError::Limit(
                format!("the path length of {} ({} bytes)", shown(&name), name.len()),
                format!("{} bytes", limits.max_path),
            ));
        }
        let mut parts = Vec::new();
        for c in std::path::Path::new(&name).components() {
            match c {
                Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(ChartError::Archive(format!(
                        "{}: chart illegally references parent directory",
                        shown(&name)
                    )));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(ChartError::Archive(format!(
                        "{}: chart illegally contains absolute paths",
                        shown(&name)
                    )));
                }
            }
        }
        if parts.len() < 2 {
            return Err(ChartError::Archive(format!(
                "{}: chart files must live under the chart's directory",
                shown(&name)
            )));
        }
        if parts.len() > limits.max_depth {
            return Err(ChartError::Limit(
                format!("the path depth of {} ({})", shown(&name), parts.len()),
                limits.max_depth.to_string(),
            ));
        }
        let file_too_big = |size: u64| {
            ChartError::Limit(
                format!("file {} ({size} bytes)", shown(&name)),
                format!("{} bytes per file", limits.max_file),
            )
        };
        let size = entry.size();
        if size > limits.max_file {
            return Err(file_too_big(size));
        }
        let relative = parts[1..].join("/");
        if !names.insert(relative.clone()) {
            return Err(ChartError::Archive(format!(
                "{}: the archive holds this file twice",
                shown(&name)
            )));
        }
        used.files += 1;
        if used.files > limits.max_files {
            return Err(ChartError::Limit(
                "the number of files".into(),
                limits.max_files.to_string(),
            ));
        }
        let room = limits.max_unpacked.saturating_sub(used.bytes);
        let mut data = Vec::with_capacity(size.min(room) as usize);
        (&mut entry)
            .take(limits.max_file.min(room) + 1)
            .read_to_end(&mut data)
            .map_err(|e| {
                if exceeded.get() {
                    too_big()
                } else {
                    ChartError::Archive(format!("{}: {}", shown(&name), reader_error(&e)))
                }
            })?;
        if data.len() as u64 > limits.max_file {
            return Err(file_too_big(data.len() as u64));
        }
        used.bytes += data.len() as u64;
        if used.bytes > limits.max_unpacked {
            return Err(too_big());
        }
        strip_bom(&mut data);
        files.push(BufferedFile {
            name: relative,
            data: keep(data),
        });
    }
    if files.is_empty() {
        return Err(ChartError::Archive("no files in chart archive".into()));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;

    #[test]
    fn pack_is_deterministic_and_round_trips() {
        let a = pack(&sample(), "demo").unwrap();
        let mut reversed = sample();
        reversed.reverse();
        let b = pack(&reversed, "demo").unwrap();
        assert_eq!(a, b, "same files, same bytes");
        let mut back = unpack(&a, &Limits::default()).unwrap();
        back.sort_by(|x, y| x.name.cmp(&y.name));
        let mut want = sample();
        want.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(back, want);
    }

    /// A gzip tar with these raw entries: names written byte for byte so
    /// that unsafe ones reach the reader.
    fn raw_tar(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        for (name, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            let bytes = name.as_bytes();
            h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            t.append(&h, *data).unwrap();
        }
        t.into_inner().unwrap().finish().unwrap()
    }

    fn refusal(bytes: &[u8], limits: &Limits) -> String {
        unpack(bytes, limits).unwrap_err().to_string()
    }

    #[test]
    fn unsafe_entries_are_refused_by_name() {
        use tar::EntryType as T;
        let cases: &[(&str, T, &str)] = &[
            (
                "demo/../../etc/passwd",
                T::Regular,
                "chart illegally references parent directory",
            ),
            (
                "/etc/passwd",
                T::Regular,
                "illegally contains absolute paths",
            ),
            (
                "demo/link",
                T::Symlink,
                "demo/link: a symbolic link is not allowed",
            ),
            (
                "demo/hard",
                T::Link,
                "demo/hard: a hard link is not allowed",
            ),
            ("demo/dev", T::Char, "demo/dev: a device is not allowed"),
            ("demo/blk", T::Block, "a device is not allowed"),
            ("demo/fifo", T::Fifo, "demo/fifo: a FIFO is not allowed"),
            (
                "Chart.yaml",
                T::Regular,
                "must live under the chart's directory",
            ),
        ];
        for (name, kind, want) in cases {
            let e = refusal(&raw_tar(&[(name, *kind, b"x")]), &Limits::default());
            assert!(e.contains(want), "{name}: {e}");
        }
        let twice = raw_tar(&[
            ("demo/a.yaml", T::Regular, b"1"),
            ("demo/./a.yaml", T::Regular, b"2"),
        ]);
        assert!(
            refusal(&twice, &Limits::default())
                .ends_with("demo/./a.yaml: the archive holds this file twice")
        );
    }

    #[test]
    fn every_dimension_is_bounded() {
        use tar::EntryType as T;
        let small = Limits {
            max_unpacked: 4096,
            max_file: 1024,
            max_files: 3,
            max_depth: 4,
            max_path: 40,
            ..Limits::default()
        };
        let big = raw_tar(&[("demo/big", T::Regular, &[b'a'; 2048])]);
        assert_eq!(
            refusal(&big, &small),
            "chart: file demo/big (2048 bytes) exceeds the limit of 1024 bytes per file"
        );
        let many: Vec<(String, T, &[u8])> = (0..4)
            .map(|i| (format!("demo/f{i}"), T::Regular, &b"x"[..]))
            .collect();
        let many: Vec<(&str, T, &[u8])> =
            many.iter().map(|(n, k, d)| (n.as_str(), *k, *d)).collect();
        assert_eq!(
            refusal(&raw_tar(&many), &small),
            "chart: the number of files exceeds the limit of 3"
        );
        let deep = raw_tar(&[("demo/a/b/c/d", T::Regular, b"x")]);
        assert_eq!(
            refusal(&deep, &small),
            "chart: the path depth of demo/a/b/c/d (5) exceeds the limit of 4"
        );
        let long = raw_tar(&[(&format!("demo/{}", "n".repeat(40)), T::Regular, b"x")]);
        assert!(
            refusal(&long, &small).ends_with("(45 bytes) exceeds the limit of 40 bytes"),
            "{}",
            refusal(&long, &small)
        );
        let sum = raw_tar(&[
            ("demo/a", T::Regular, &[b'a'; 1000]),
            ("demo/b", T::Regular, &[b'b'; 1000]),
            ("demo/c", T::Regular, &[b'c'; 1000]),
        ]);
        let tight = Limits {
            max_unpacked: 2500,
            ..small.clone()
        };
        assert_eq!(
            refusal(&sum, &tight),
            "chart: unpacked chart size exceeds the limit of 2500 bytes"
        );
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_unpacked_limit() {
        // 64 MiB of zeros after one small file: the tar reader sees
        // end-of-archive blocks, but a long-name entry claiming all of it
        // would be buffered whole by the tar crate.
        let limits = Limits {
            max_unpacked: 1 << 20,
            max_files: 10,
            ..Limits::default()
        };
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(64 << 20);
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        h.set_cksum();
        gz.write_all(h.as_bytes()).unwrap();
        let zeros = vec![b'a'; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 200_000, "{} bytes packed", bomb.len());
        assert_eq!(
            refusal(&bomb, &limits),
            "chart: unpacked chart size exceeds the limit of 1048576 bytes"
        );
    }

    #[test]
    fn broken_streams_are_refused() {
        assert_eq!(
            refusal(b"PK\x03\x04 a zip", &Limits::default()),
            "chart archive: not gzip-compressed (a chart bundle is a .tgz)"
        );
        let e = refusal(b"\x1f\x8bnot really gzip", &Limits::default());
        assert!(
            e.starts_with("chart archive: cannot read the gzip tar: "),
            "{e}"
        );
        let good = pack(&sample(), "demo").unwrap();
        let e = refusal(&good[..good.len() / 2], &Limits::default());
        assert!(e.starts_with("chart archive: "), "{e}");
        let mut corrupt = good.clone();
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0xff;
        assert!(unpack(&corrupt, &Limits::default()).is_err());
    }
}
