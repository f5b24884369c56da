//! Receiving an uploaded chart, hashed as it arrives.
//!
//! A small chart (under [`uploads::MIN_SIZE`], sent as chunks of the call)
//! is kept in one buffer and hashed at the end. A big one (it comes on a
//! chart connection) is spooled ([`ChartBytes::Spooled`]): the receive
//! loop, which bounds a big upload (it decrypts, copies and stores every
//! byte), only copies each chunk into a piece and, every [`PIECE`] bytes,
//! hands the filled piece to a blocking thread that hashes it and writes
//! it to an unnamed file while the next one arrives. At most [`QUEUE`]
//! pieces wait for that thread, so a chart of any size is received in a
//! few MiB.
//!
//! [`uploads::MIN_SIZE`]: crate::uploads::MIN_SIZE

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

/// How much arrives before it goes to the spooling thread: big enough
/// that handing over costs nothing next to hashing and writing it, small
/// enough that little is left to do after the last chunk.
const PIECE: usize = 1 << 20;

/// Pieces that may wait for the spooling thread before the receive loop
/// waits for it (and so the sender, through flow control).
const QUEUE: usize = 4;

/// An upload being received. The size was checked against
/// `--max-chart-size` before any chunk is accepted; in memory, the first
/// chunk reserves it, so the buffer is never copied to grow.
pub struct ChartBuffer {
    /// In memory: every byte so far. Spooled: the bytes not yet handed to
    /// the spooling thread.
    tail: BytesMut,
    len: u64,
    size: u64,
    /// Where a spooled upload's file is made; `None`: kept in memory.
    spool: Option<PathBuf>,
    spooler: Option<Spooler>,
}

/// A blocking thread hashing the pieces it is sent, in order, and writing
/// them to an unnamed file.
struct Spooler {
    pieces: mpsc::Sender<BytesMut>,
    done: oneshot::Receiver<std::io::Result<(std::fs::File, sha2::Sha256)>>,
}

impl Spooler {
    fn start(dir: PathBuf) -> Self {
        let (pieces, mut rx) = mpsc::channel::<BytesMut>(QUEUE);
        let (tx, done) = oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let mut spool = || {
                let mut file = tempfile::tempfile_in(&dir)?;
                let mut hasher = sha2::Sha256::new();
                while let Some(piece) = rx.blocking_recv() {
                    hasher.update(&piece);
                    file.write_all(&piece)?;
                }
                Ok((file, hasher))
            };
            let _ = tx.send(spool());
        });
        Spooler { pieces, done }
    }
}

impl ChartBuffer {
    /// A buffer in memory for a small upload the header declared to be
    /// `size` bytes.
    pub fn new(size: u64) -> Self {
        ChartBuffer {
            tail: BytesMut::new(),
            len: 0,
            size,
            spool: None,
            spooler: None,
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
        // Room the tail has (so it never grows), never past the declared
        // size.
        let room = self.reserve() as u64;
        let n = from
            .take(room.min(self.size - self.len))
            .read_buf(&mut self.tail)
            .await?;
        self.len += n as u64;
        self.cut().await;
        Ok(n)
    }

    /// Make room for more bytes, and say how many fit: in memory, the rest
    /// of the declared size; spooled, the rest of the current piece.
    fn reserve(&mut self) -> usize {
        // Within the declared size, which prepare() checked against the
        // limit (and so fits in usize).
        let left = (self.size - self.len) as usize;
        if self.spool.is_none() {
            if self.tail.capacity() == 0 {
                self.tail = BytesMut::with_capacity(left);
            }
            return left;
        }
        if self.tail.capacity() == 0 {
            self.tail = BytesMut::with_capacity(left.min(PIECE));
        }
        PIECE - self.tail.len()
    }

    /// Spooled: hand a filled piece to the spooling thread.
    async fn cut(&mut self) {
        if self.spool.is_some() && self.tail.len() >= PIECE {
            let piece = self.tail.split();
            self.send(piece).await;
        }
    }

    async fn send(&mut self, piece: BytesMut) {
        let Some(dir) = &self.spool else { return };
        let spooler = self
            .spooler
            .get_or_insert_with(|| Spooler::start(dir.clone()));
        // A spooler that is gone (its file failed, or its thread panicked)
        // shows as its result in finish().
        let _ = spooler.pieces.send(piece).await;
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

    /// The whole chart and its digest, once the spooling thread (if any)
    /// has caught up.
    pub async fn finish(mut self) -> Result<Received, Failure> {
        let in_memory = |bytes: BytesMut| Received {
            digest: hex::encode(sha2::Sha256::digest(&bytes)),
            bytes: ChartBytes::Memory(bytes.freeze()),
        };
        if self.spool.is_none() {
            return Ok(in_memory(self.tail));
        }
        if !self.tail.is_empty() {
            let last = self.tail.split();
            self.send(last).await;
        }
        let Some(Spooler { pieces, done }) = self.spooler.take() else {
            // A spooled upload of no bytes.
            return Ok(in_memory(BytesMut::new()));
        };
        drop(pieces);
        let (file, hasher) = done
            .await
            .map_err(|_| Failure::new("InternalError", "spooling the uploaded chart failed"))?
            .map_err(|e| {
                let dir = self.spool.as_deref().unwrap_or(Path::new(""));
                Failure::new(
                    "UploadFailed",
                    format!("cannot spool the chart upload in {}: {e}", dir.display()),
                )
            })?;
        Ok(Received {
            bytes: ChartBytes::Spooled {
                file,
                len: self.len,
            },
            digest: hex::encode(hasher.finalize()),
        })
    }
}

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
        // In memory, hashed at the end: chunks that do not divide it, and
        // more than a piece (the buffer is not cut into pieces).
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
