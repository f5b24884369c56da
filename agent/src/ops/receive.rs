//! Receiving an uploaded chart: the bytes land in one buffer and are hashed
//! as they arrive, off the receive loop.
//!
//! The receive loop is what bounds a big upload (it decrypts, copies and
//! stores every byte), so it does as little as it can: it copies each chunk
//! into a buffer reserved for the declared size and, every [`PIECE`]
//! bytes, hands the filled piece to a blocking thread that hashes it while
//! the next one arrives. The pieces are views of the same allocation, so
//! nothing is copied to hash them and they join again at no cost.

use bytes::{Bytes, BytesMut};
use sha2::Digest;
use tokio::sync::oneshot;

use super::Failure;

/// A chart as it arrived: its bytes and their sha256 (lower-case hex).
pub struct Received {
    pub bytes: Bytes,
    pub digest: String,
}

/// How much arrives before it goes to the hasher: big enough that handing
/// over costs nothing next to hashing it, small enough that little is left
/// to hash after the last chunk.
const PIECE: usize = 1 << 20;

/// An upload being received. Nothing is reserved from the header alone: the
/// first chunk reserves the declared size (address space; pages are only
/// taken as bytes are written into them), so the buffer is never copied to
/// grow and a chart costs its size and no slack. The size was checked
/// against `--max-chart-size` before any chunk is accepted.
pub struct ChartBuffer {
    /// Bytes written and not yet handed to the hasher.
    tail: BytesMut,
    len: u64,
    size: u64,
    hasher: Option<Hasher>,
}

/// A blocking thread hashing the pieces it is sent, in order, and joining
/// them back into one buffer.
struct Hasher {
    pieces: std::sync::mpsc::Sender<BytesMut>,
    done: oneshot::Receiver<(BytesMut, sha2::Sha256)>,
}

impl Hasher {
    fn start() -> Self {
        let (pieces, rx) = std::sync::mpsc::channel::<BytesMut>();
        let (tx, done) = oneshot::channel();
        tokio::task::spawn_blocking(move || {
            let mut hasher = sha2::Sha256::new();
            let mut joined = BytesMut::new();
            while let Ok(piece) = rx.recv() {
                hasher.update(&piece);
                // The pieces were split off one buffer in order: joining
                // them only moves an index.
                joined.unsplit(piece);
            }
            let _ = tx.send((joined, hasher));
        });
        Hasher { pieces, done }
    }
}

impl ChartBuffer {
    /// A buffer for an upload the header declared to be `size` bytes.
    pub fn new(size: u64) -> Self {
        ChartBuffer {
            tail: BytesMut::new(),
            len: 0,
            size,
            hasher: None,
        }
    }

    /// Add a chunk, refusing one that would pass the declared size.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Failure> {
        if self.len + chunk.len() as u64 > self.size {
            return Err(self.too_large());
        }
        if chunk.is_empty() {
            return Ok(());
        }
        self.reserve();
        self.tail.extend_from_slice(chunk);
        self.len += chunk.len() as u64;
        self.cut();
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
        self.reserve();
        // The spare capacity is what the header has still to come (so the
        // buffer never grows); the limit holds even if it were more.
        let n = from
            .take(self.size - self.len)
            .read_buf(&mut self.tail)
            .await?;
        self.len += n as u64;
        self.cut();
        Ok(n)
    }

    /// At the first bytes: reserve the declared size.
    fn reserve(&mut self) {
        if self.len == 0 && self.tail.capacity() == 0 {
            // Within the declared size, which prepare() checked against the
            // limit (and so fits in usize).
            self.tail = BytesMut::with_capacity(self.size as usize);
            huge_pages(&mut self.tail);
        }
    }

    /// Hand a filled piece to the hasher.
    fn cut(&mut self) {
        if self.tail.len() >= PIECE {
            let piece = self.tail.split();
            let hasher = self.hasher.get_or_insert_with(Hasher::start);
            // A hasher that is gone (only if its thread panicked) shows
            // as a missing result in finish().
            let _ = hasher.pieces.send(piece);
        }
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
    pub async fn finish(self) -> Result<Received, Failure> {
        let (mut bytes, mut hasher) = match self.hasher {
            None => (BytesMut::new(), sha2::Sha256::new()),
            Some(Hasher { pieces, done }) => {
                drop(pieces);
                done.await.map_err(|_| {
                    Failure::new("InternalError", "hashing the uploaded chart failed")
                })?
            }
        };
        hasher.update(&self.tail);
        bytes.unsplit(self.tail);
        Ok(Received {
            bytes: bytes.freeze(),
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
    use super::{ChartBuffer, PIECE};

    #[tokio::test]
    async fn a_chart_received_in_chunks_has_the_digest_of_its_bytes() {
        // Small (hashed at the end), several pieces (hashed on the way,
        // with a partial last piece), and exactly whole pieces.
        for len in [300_000, 3 * PIECE + 12_345, 2 * PIECE] {
            let bytes: Vec<u8> = (0..len as u32).map(|i| (i * 7 % 251) as u8).collect();
            let mut buf = ChartBuffer::new(bytes.len() as u64);
            for chunk in bytes.chunks(64 * 1024 + 3) {
                buf.push(chunk).unwrap();
            }
            assert_eq!(buf.len(), len as u64);
            let got = buf.finish().await.unwrap();
            assert_eq!(got.bytes, bytes, "{len} bytes");
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
        let got = buf.finish().await.unwrap();
        assert_eq!(got.bytes, bytes);
        assert_eq!(got.digest, berth::chart::sha256_hex(&bytes));
    }

    #[tokio::test]
    async fn a_chunk_past_the_declared_size_is_refused() {
        let mut buf = ChartBuffer::new(10);
        buf.push(&[1; 6]).unwrap();
        let err = buf.push(&[2; 5]).expect_err("refused");
        assert!(
            err.message.contains("larger than the declared 10 bytes"),
            "{}",
            err.message
        );
        assert_eq!(buf.len(), 6);
        let got = buf.finish().await.unwrap();
        assert_eq!(&got.bytes[..], &[1; 6]);
    }
}
