//! Receiving an uploaded chart: the bytes are hashed as they arrive, off
//! the receive loop, and either kept in one buffer or, for a big upload,
//! written to an unnamed file ([`ChartBytes::Spooled`]).
//!
//! The receive loop is what bounds a big upload (it decrypts, copies and
//! stores every byte), so it does as little as it can: it copies each chunk
//! into a piece and, every [`PIECE`] bytes, hands the filled piece to a
//! blocking thread that hashes it (and writes it to the spool file) while
//! the next one arrives. Kept in memory, the pieces are views of one
//! allocation, so nothing is copied to hash them and they join again at no
//! cost; spooled, at most [`QUEUE`] pieces wait for the thread, so a chart
//! of any size is received in a few MiB.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use sha2::Digest;
use tokio::sync::{mpsc, oneshot};

use super::Failure;
pub use crate::spool::ChartBytes;

/// A chart as it arrived: its bytes and their sha256 (lower-case hex).
pub struct Received {
    pub bytes: ChartBytes,
    pub digest: String,
}

/// How much arrives before it goes to the hasher: big enough that handing
/// over costs nothing next to hashing it, small enough that little is left
/// to hash after the last chunk.
const PIECE: usize = 1 << 20;

/// Pieces that may wait for the hasher before the receive loop waits for
/// it (and so the sender, through flow control).
const QUEUE: usize = 4;

/// An upload being received. In memory, nothing is reserved from the
/// header alone: the first chunk reserves the declared size (address
/// space; pages are only taken as bytes are written into them), so the
/// buffer is never copied to grow and a chart costs its size and no slack.
/// The size was checked against `--max-chart-size` before any chunk is
/// accepted.
pub struct ChartBuffer {
    /// Bytes written and not yet handed to the hasher.
    tail: BytesMut,
    len: u64,
    size: u64,
    /// Where a spooled upload's file is made; `None`: kept in memory.
    spool: Option<PathBuf>,
    hasher: Option<Hasher>,
}

/// A blocking thread hashing the pieces it is sent, in order, and joining
/// them back into one buffer or writing them to the spool file.
struct Hasher {
    pieces: mpsc::Sender<BytesMut>,
    done: oneshot::Receiver<std::io::Result<(Kept, sha2::Sha256)>>,
}

enum Kept {
    Joined(BytesMut),
    Spooled(std::fs::File),
}

impl Hasher {
    fn start(spool: Option<&Path>) -> Self {
        let (pieces, mut rx) = mpsc::channel::<BytesMut>(QUEUE);
        let (tx, done) = oneshot::channel();
        let spool = spool.map(Path::to_path_buf);
        tokio::task::spawn_blocking(move || {
            let mut hasher = sha2::Sha256::new();
            let mut kept = match spool.map(tempfile::tempfile_in).transpose() {
                Ok(Some(file)) => Kept::Spooled(file),
                Ok(None) => Kept::Joined(BytesMut::new()),
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            while let Some(piece) = rx.blocking_recv() {
                hasher.update(&piece);
                match &mut kept {
                    // The pieces were split off one buffer in order:
                    // joining them only moves an index.
                    Kept::Joined(joined) => joined.unsplit(piece),
                    Kept::Spooled(file) => {
                        if let Err(e) = file.write_all(&piece) {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(Ok((kept, hasher)));
        });
        Hasher { pieces, done }
    }
}

impl ChartBuffer {
    /// A buffer, in memory, for an upload the header declared to be `size`
    /// bytes.
    pub fn new(size: u64) -> Self {
        ChartBuffer {
            tail: BytesMut::new(),
            len: 0,
            size,
            spool: None,
            hasher: None,
        }
    }

    /// An upload of `size` bytes spooled to an unnamed file in `dir`.
    pub fn spooled(size: u64, dir: &Path) -> Self {
        ChartBuffer {
            spool: Some(dir.to_path_buf()),
            ..ChartBuffer::new(size)
        }
    }

    /// Add a chunk, refusing one that would pass the declared size.
    pub async fn push(&mut self, mut chunk: &[u8]) -> Result<(), Failure> {
        if self.len + chunk.len() as u64 > self.size {
            return Err(self.too_large());
        }
        while !chunk.is_empty() {
            let room = self.reserve();
            let (now, rest) = chunk.split_at(room.min(chunk.len()));
            self.tail.extend_from_slice(now);
            self.len += now.len() as u64;
            chunk = rest;
            self.cut().await;
        }
        Ok(())
    }

    /// Read what `from` has next straight into the buffer, never past the
    /// declared size. 0 at the end of `from`, or once all the declared
    /// bytes are in.
    pub async fn read_from<R>(&mut self, from: &mut R) -> std::io::Result<usize>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        use tokio::io::AsyncReadExt;
        if self.len == self.size {
            return Ok(0);
        }
        let room = self.reserve() as u64;
        // Never past the piece (the tail has room for it, so it never
        // grows) nor the declared size.
        let n = from
            .take(room.min(self.size - self.len))
            .read_buf(&mut self.tail)
            .await?;
        self.len += n as u64;
        self.cut().await;
        Ok(n)
    }

    /// Make room for more bytes, and say how many fit in the current piece.
    fn reserve(&mut self) -> usize {
        if self.tail.capacity() == 0 {
            let left = (self.size - self.len) as usize;
            if self.spool.is_some() {
                self.tail = BytesMut::with_capacity(left.min(PIECE));
            } else if self.len == 0 {
                // The declared size, which prepare() checked against the
                // limit (and so fits in usize).
                self.tail = BytesMut::with_capacity(left);
                huge_pages(&mut self.tail);
            }
        }
        PIECE - self.tail.len()
    }

    /// Hand a filled piece to the hasher.
    async fn cut(&mut self) {
        if self.tail.len() >= PIECE {
            let piece = self.tail.split();
            self.send(piece).await;
        }
    }

    async fn send(&mut self, piece: BytesMut) {
        let spool = self.spool.as_deref();
        let hasher = self.hasher.get_or_insert_with(|| Hasher::start(spool));
        // A hasher that is gone (its file failed, or its thread panicked)
        // shows as its result in finish().
        let _ = hasher.pieces.send(piece).await;
    }

    /// The refusal of bytes past the declared size.
    pub fn too_large(&self) -> Failure {
        Failure::new(
            "ChartInvalid",
            format!(
                "chart upload is larger than the declared {} bytes",
                self.size
            ),
        )
    }

    /// The size the header declared.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole chart and its digest, once the hasher has caught up.
    pub async fn finish(mut self) -> Result<Received, Failure> {
        if self.spool.is_some() && !self.tail.is_empty() {
            let last = self.tail.split();
            self.send(last).await;
        }
        let (kept, mut hasher) = match self.hasher.take() {
            None => (Kept::Joined(BytesMut::new()), sha2::Sha256::new()),
            Some(Hasher { pieces, done }) => {
                drop(pieces);
                done.await
                    .map_err(|_| {
                        Failure::new("InternalError", "hashing the uploaded chart failed")
                    })?
                    .map_err(|e| {
                        let dir = self.spool.as_deref().unwrap_or(Path::new(""));
                        Failure::new(
                            "UploadFailed",
                            format!("cannot spool the chart upload in {}: {e}", dir.display()),
                        )
                    })?
            }
        };
        hasher.update(&self.tail);
        let bytes = match kept {
            Kept::Joined(mut bytes) => {
                bytes.unsplit(self.tail);
                ChartBytes::Memory(bytes.freeze())
            }
            Kept::Spooled(file) => ChartBytes::Spooled {
                file,
                len: self.len,
            },
        };
        Ok(Received {
            bytes,
            digest: hex::encode(hasher.finalize()),
        })
    }
}

/// Ask for transparent huge pages under a large buffer: writing 50 MiB
/// into fresh 4 KiB pages costs some 12,800 page faults, a third of the
/// receive loop's time on a VM. Where THP is off or unsupported this does
/// nothing. Only for buffers past glibc's largest mmap threshold (32 MiB),
/// which are always a mapping of their own and unmapped when freed, so the
/// advice never outlives the buffer on memory the heap reuses.
#[cfg(target_os = "linux")]
fn huge_pages(buf: &mut BytesMut) {
    const HUGE: usize = 2 << 20;
    const OWN_MAPPING: usize = 32 << 20;
    if buf.capacity() <= OWN_MAPPING {
        return;
    }
    let start = buf.as_mut_ptr() as usize;
    let from = start.next_multiple_of(HUGE);
    let to = (start + buf.capacity()) / HUGE * HUGE;
    if to > from {
        // SAFETY: [from, to) lies inside the buffer's own allocation, which
        // lives as long as `buf`; MADV_HUGEPAGE changes how the kernel backs
        // the range, never its contents, and its failure is harmless.
        unsafe {
            libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn huge_pages(_: &mut BytesMut) {}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::{ChartBuffer, ChartBytes, PIECE};

    fn contents(bytes: &mut ChartBytes) -> Vec<u8> {
        let mut out = Vec::new();
        bytes.reader().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[tokio::test]
    async fn a_spooled_chart_is_in_its_file_with_the_digest_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        for len in [PIECE, 3 * PIECE + 12_345, 9 * PIECE] {
            let bytes: Vec<u8> = (0..len as u32).map(|i| (i * 13 % 247) as u8).collect();
            // Chunks from the call and reads from a connection alike.
            let mut buf = ChartBuffer::spooled(bytes.len() as u64, dir.path());
            let (chunks, rest) = bytes.split_at(len / 3);
            for chunk in chunks.chunks(64 * 1024 + 7) {
                buf.push(chunk).await.unwrap();
            }
            let mut from = rest;
            while buf.read_from(&mut from).await.unwrap() > 0 {}
            let mut got = buf.finish().await.unwrap();
            assert!(
                matches!(got.bytes, ChartBytes::Spooled { .. }),
                "{len} bytes are in a file"
            );
            assert_eq!(got.bytes.len(), len as u64);
            assert_eq!(contents(&mut got.bytes), bytes, "{len} bytes");
            assert_eq!(got.digest, berth::chart::sha256_hex(&bytes), "{len} bytes");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the spool files have no name"
        );
    }

    #[tokio::test]
    async fn a_spool_that_cannot_be_written_fails_the_upload_with_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let mut buf = ChartBuffer::spooled(2 * PIECE as u64, &gone);
        buf.push(&vec![7; 2 * PIECE]).await.unwrap();
        let err = buf.finish().await.err().expect("refused");
        assert_eq!(err.reason, "UploadFailed");
        assert!(
            err.message.contains("cannot spool the chart upload in")
                && err.message.contains("gone"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_chart_received_in_chunks_has_the_digest_of_its_bytes() {
        // Small (hashed at the end), several pieces (hashed on the way,
        // with a partial last piece), and exactly whole pieces.
        for len in [300_000, 3 * PIECE + 12_345, 2 * PIECE] {
            let bytes: Vec<u8> = (0..len as u32).map(|i| (i * 7 % 251) as u8).collect();
            let mut buf = ChartBuffer::new(bytes.len() as u64);
            for chunk in bytes.chunks(64 * 1024 + 3) {
                buf.push(chunk).await.unwrap();
            }
            assert_eq!(buf.len(), len as u64);
            let mut got = buf.finish().await.unwrap();
            assert_eq!(contents(&mut got.bytes), bytes, "{len} bytes");
            assert_eq!(got.digest, berth::chart::sha256_hex(&bytes), "{len} bytes");
        }

        let empty = ChartBuffer::new(10).finish().await.unwrap();
        assert_eq!(empty.digest, berth::chart::sha256_hex(b""));
        assert!(empty.bytes.is_empty());
    }

    #[tokio::test]
    async fn a_chart_read_from_a_stream_stops_at_the_declared_size() {
        let bytes: Vec<u8> = (0..(2 * PIECE + 999) as u32)
            .map(|i| (i % 253) as u8)
            .collect();
        let mut more = bytes.clone();
        more.extend_from_slice(b"extra");
        let mut from = &more[..];
        let mut buf = ChartBuffer::new(bytes.len() as u64);
        while buf.read_from(&mut from).await.unwrap() > 0 {}
        assert_eq!(from, b"extra", "nothing past the declared size is read");
        let mut got = buf.finish().await.unwrap();
        assert_eq!(contents(&mut got.bytes), bytes);
        assert_eq!(got.digest, berth::chart::sha256_hex(&bytes));
    }

    #[tokio::test]
    async fn a_chunk_past_the_declared_size_is_refused() {
        let mut buf = ChartBuffer::new(10);
        buf.push(&[1; 6]).await.unwrap();
        let err = buf.push(&[2; 5]).await.expect_err("refused");
        assert!(
            err.message.contains("larger than the declared 10 bytes"),
            "{}",
            err.message
        );
        assert_eq!(buf.len(), 6);
        let mut got = buf.finish().await.unwrap();
        assert_eq!(contents(&mut got.bytes), [1; 6]);
    }
}
