//! Large blobs as trees of content-addressed pieces, so that ten thousand
//! revisions of a 1 MB manifest that differ in one object store that
//! object's document once per change, not the manifest.
//!
//! A blob above [`SPLIT_ABOVE`] bytes is cut into pieces: at document
//! starts (a line beginning with `---`, as berth writes manifests), and
//! pieces still larger than [`PIECE_MAX`] (or text without documents, such
//! as compact values JSON) at content-defined points (a gear rolling hash),
//! so an edit moves only the cuts near it. Each piece is an ordinary blob.
//! Consecutive pieces are grouped into nodes, again at content-defined
//! points (after a piece whose digest's first byte is below
//! 256/[`FANOUT`]), and nodes into nodes until one remains: the root.
//!
//! Every key is the sha256 of the bytes it stands for — a piece's of its
//! content, a node's of the concatenation of its children — so the root's
//! key is the blob's digest as before, and reading a node back yields
//! exactly the original bytes. Nodes live in the `nodes` tree as the list
//! of their children's digests (binary), children before parents.
//!
//! What it does not do: touch sled. [`split`] turns bytes into the entries
//! to store; the journal stores them and reassembles (`Journal::blob`).

use sha2::{Digest, Sha256};

/// Blobs up to this size are stored whole.
pub const SPLIT_ABOVE: usize = 32 * 1024;
/// Pieces above this size are cut further at content-defined points.
const PIECE_MAX: usize = 16 * 1024;
/// Content-defined cuts: no piece below this, and one on average every
/// `CDC_MASK + 1` bytes after it.
const CDC_MIN: usize = 1024;
const CDC_MASK: u64 = (1 << 11) - 1;
/// Average children per node (above NODE_MAX children per level); never
/// more than NODE_MAX.
const FANOUT: usize = 8;
pub const NODE_MAX: usize = 4 * FANOUT;
/// A node's encoding: this tag, then 32 bytes per child.
const NODE_TAG: &[u8; 2] = b"N1";

/// One entry to store for a split blob.
pub enum Entry<'a> {
    /// A piece: an ordinary blob under its sha256 (hex).
    Piece { key: String, bytes: &'a [u8] },
    /// A node: its children's digests, encoded ([`encode_node`]).
    Node { key: String, value: Vec<u8> },
}

/// The pieces and nodes of `bytes`, children before their parents, the
/// root (whose key is `digest(bytes)`) last; `None` when the blob is small
/// enough to be stored whole.
pub fn split(bytes: &[u8]) -> Option<Vec<Entry<'_>>> {
    if bytes.len() <= SPLIT_ABOVE {
        return None;
    }
    let pieces = pieces(bytes);
    if pieces.len() < 2 {
        return None;
    }
    let mut entries = Vec::new();
    // (digest, byte range) of the current level's children.
    let mut level: Vec<([u8; 32], std::ops::Range<usize>)> = Vec::new();
    let mut at = 0;
    for p in pieces {
        let range = at..at + p.len();
        at = range.end;
        let d: [u8; 32] = Sha256::digest(p).into();
        entries.push(Entry::Piece {
            key: hex::encode(d),
            bytes: p,
        });
        level.push((d, range));
    }
    loop {
        let groups = group(&level);
        let mut next = Vec::with_capacity(groups.len());
        for g in groups {
            let range = g[0].1.start..g[g.len() - 1].1.end;
            // The last level is one node over all of `bytes`: the root.
            let d: [u8; 32] = Sha256::digest(&bytes[range.clone()]).into();
            let children: Vec<[u8; 32]> = g.iter().map(|(d, _)| *d).collect();
            entries.push(Entry::Node {
                key: hex::encode(d),
                value: encode_node(&children),
            });
            next.push((d, range));
        }
        if next.len() == 1 {
            return Some(entries);
        }
        level = next;
    }
}

/// Consecutive children in nodes: a node ends after a child whose digest
/// starts below 256/FANOUT, or at NODE_MAX children. A level that fits in
/// one node is one node.
fn group<T>(level: &[([u8; 32], T)]) -> Vec<&[([u8; 32], T)]> {
    if level.len() <= NODE_MAX {
        return vec![level];
    }
    let mut groups = Vec::new();
    let mut start = 0;
    for (i, (d, _)) in level.iter().enumerate() {
        let len = i + 1 - start;
        if (d[0] as usize) < 256 / FANOUT && len >= 2 || len == NODE_MAX {
            groups.push(&level[start..=i]);
            start = i + 1;
        }
    }
    if start < level.len() {
        groups.push(&level[start..]);
    }
    groups
}

/// Cut `bytes` into pieces that concatenate to it exactly.
pub fn pieces(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for doc in documents(bytes) {
        if doc.len() <= PIECE_MAX {
            out.push(doc);
        } else {
            out.extend(content_defined(doc));
        }
    }
    out
}

/// Cut before every line that starts with `---` (berth's manifests:
/// `---\n# Source: …`); the first piece holds what precedes the first one.
fn documents(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(nl) = memchr(b'\n', &bytes[i..]) {
        let line = i + nl + 1;
        if bytes[line..].starts_with(b"---") && line > start {
            out.push(&bytes[start..line]);
            start = line;
        }
        i = line;
    }
    out.push(&bytes[start..]);
    out.retain(|p| !p.is_empty());
    out
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Content-defined pieces (a gear hash; FastCDC's, without normalisation)
/// of at least CDC_MIN and at most PIECE_MAX bytes.
fn content_defined(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut h: u64 = 0;
    for (i, &b) in bytes.iter().enumerate() {
        h = (h << 1).wrapping_add(GEAR[b as usize]);
        let len = i + 1 - start;
        if len >= CDC_MIN && h & CDC_MASK == 0 || len >= PIECE_MAX {
            out.push(&bytes[start..=i]);
            start = i + 1;
            h = 0;
        }
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

/// 256 fixed pseudo-random words (splitmix64 of the byte).
const GEAR: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut z = (i as u64)
            .wrapping_add(1)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        t[i] = z ^ (z >> 31);
        i += 1;
    }
    t
};

pub fn encode_node(children: &[[u8; 32]]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + 32 * children.len());
    v.extend_from_slice(NODE_TAG);
    for c in children {
        v.extend_from_slice(c);
    }
    v
}

/// A node's children as hex digests, or why it does not decode.
pub fn decode_node(value: &[u8]) -> Result<Vec<String>, String> {
    let body = value
        .strip_prefix(NODE_TAG)
        .ok_or("not a node (unknown tag)")?;
    if body.is_empty() || body.len() % 32 != 0 {
        return Err(format!(
            "a node of {} bytes is not a list of digests",
            body.len()
        ));
    }
    Ok(body.chunks(32).map(hex::encode).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reassemble(entries: &[Entry<'_>], key: &str) -> Vec<u8> {
        for e in entries {
            match e {
                Entry::Piece { key: k, bytes } if k == key => return bytes.to_vec(),
                Entry::Node { key: k, value } if k == key => {
                    return decode_node(value)
                        .unwrap()
                        .iter()
                        .flat_map(|c| reassemble(entries, c))
                        .collect();
                }
                _ => {}
            }
        }
        panic!("no entry {key}")
    }

    fn round_trip(bytes: &[u8]) -> usize {
        let Some(entries) = split(bytes) else {
            return 0;
        };
        let root = hex::encode(Sha256::digest(bytes));
        match entries.last().unwrap() {
            Entry::Node { key, .. } => assert_eq!(key, &root),
            Entry::Piece { .. } => panic!("the root is a node"),
        }
        for e in &entries {
            let (key, content) = match e {
                Entry::Piece { key, bytes } => (key, bytes.to_vec()),
                Entry::Node { key, .. } => (key, reassemble(&entries, key)),
            };
            assert_eq!(
                key,
                &hex::encode(Sha256::digest(&content)),
                "every key is its content's sha256"
            );
        }
        assert_eq!(reassemble(&entries, &root), bytes, "byte-identical");
        entries.len()
    }

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b"abcdefghij klmnop\n{}:,\"0123456789"[(s >> 59) as usize % 34]
            })
            .collect()
    }

    fn manifest(objects: usize, changed: usize) -> String {
        (0..objects)
            .map(|i| {
                let body = String::from_utf8(noise(1500 + i % 700, i as u64)).unwrap();
                let serial = if i == changed { 1 } else { 0 };
                format!("---\n# Source: c/templates/t{i}.yaml\nkind: ConfigMap\nserial: {serial}\ndata: {body}\n")
            })
            .collect()
    }

    #[test]
    fn manifests_reassemble_byte_for_byte() {
        assert!(round_trip(manifest(450, 0).as_bytes()) > 450);
        // Leading text, no trailing newline, `---` inside a line, CRLF.
        let odd = format!(
            "# head\r\nx: ---\r\n{}---",
            manifest(40, 3).replace('\n', "\r\n")
        );
        assert!(round_trip(odd.as_bytes()) > 0);
        // A document far larger than a piece, and text with no documents.
        let big = format!(
            "---\n{}\n---\nsmall: 1\n",
            String::from_utf8(noise(300_000, 9)).unwrap()
        );
        assert!(round_trip(big.as_bytes()) > 10);
        assert!(round_trip(&noise(200_000, 4)) > 10);
        let json = serde_json::to_string(
            &(0..3000)
                .map(|i| (format!("k{i}"), i))
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap();
        assert!(round_trip(json.as_bytes()) > 2);
        // Small, or nothing to cut: stored whole.
        assert!(split(b"---\na: 1\n---\nb: 2\n").is_none());
        assert!(split(&vec![b'x'; 40_000]).is_some_and(|e| e.len() > 2));
        round_trip(&vec![b'x'; 40_000]);
        round_trip(&vec![b'\n'; 40_000]);
        round_trip(&b"---\n".repeat(20_000));
    }

    #[test]
    fn one_changed_object_costs_a_few_new_entries() {
        let keys = |m: &str| -> std::collections::HashSet<String> {
            split(m.as_bytes())
                .unwrap()
                .into_iter()
                .map(|e| match e {
                    Entry::Piece { key, .. } | Entry::Node { key, .. } => key,
                })
                .collect()
        };
        let before = keys(&manifest(450, usize::MAX));
        let changed = manifest(450, 200);
        let after = keys(&changed);
        let new = after.difference(&before).count();
        assert!(
            new <= 4,
            "{new} new entries: the document, its node(s) and the root"
        );
        // The digests are what a change costs beyond its document (they do
        // not compress): a path of small nodes, not one node of a wide level.
        let node_bytes: usize = split(changed.as_bytes())
            .unwrap()
            .into_iter()
            .filter_map(|e| match e {
                Entry::Node { key, value } if !before.contains(&key) => Some(value.len()),
                _ => None,
            })
            .sum();
        assert!(node_bytes <= 999, "{node_bytes} bytes of new nodes");
    }
}
