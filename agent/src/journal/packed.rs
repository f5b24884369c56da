//! The events of a closed revision packed into one record.
//!
//! An upgrade of 450 objects emits ~455 events, most naming one object;
//! kept one per key they cost more than the revision's manifest changes.
//! Once a revision is closed (its operation ended, or the next revision
//! begins; an operation that locks it again, an uninstall keeping history,
//! adds to the record when it ends), its events move into one record under
//! `ns/name/<rev:020>/packed` in the `events` tree:
//!
//! ```text
//! "E1" | last seq (u64 BE) | sha256 of the object table (32 bytes) | deflate(body)
//! body: count, then per event: seq delta, time delta (zigzag varints),
//!       the event's protobuf without release/namespace/revision/seq/time
//!       and without its objects (length-prefixed), then one varint per
//!       object slot (its index in the table, delta-coded)
//! ```
//!
//! The object table (every object the events name, in order of first
//! appearance) is an ordinary blob: upgrades of the same objects share it.
//! A packed revision's events read back exactly as they were stored
//! ([`pack`] refuses, leaving them loose, if they would not).

use std::io::{Read, Write};

use berth::proto::{self, event::Kind};
use prost::Message;
use prost::encoding::{decode_varint, encode_varint};

const TAG: &[u8; 2] = b"E1";
const HEADER: usize = 2 + 8 + 32;

/// The key suffix of a packed record; sorts after every sequence number.
pub const SUFFIX: &str = "packed";

/// A revision's events, packed: the record and the object table blob.
pub struct Packed {
    pub value: Vec<u8>,
    pub table: Vec<u8>,
}

/// Every object slot of an event, in a fixed order. (Exhaustive, so a new
/// event kind must say whether it names objects.)
fn slots(kind: &mut Kind) -> Vec<&mut Option<proto::ObjectRef>> {
    match kind {
        Kind::Planned(p) => p.changes.iter_mut().map(|c| &mut c.object).collect(),
        Kind::ResourceApplied(e) => vec![&mut e.object],
        Kind::ResourceProgress(e) => vec![&mut e.object],
        Kind::ResourceReady(e) => vec![&mut e.object],
        Kind::ResourceFailed(e) => vec![&mut e.object],
        Kind::ResourceDiff(e) => vec![&mut e.object],
        Kind::Failed(e) => vec![&mut e.culprit],
        Kind::Accepted(_)
        | Kind::ChartReceived(_)
        | Kind::Rendered(_)
        | Kind::Completed(_)
        | Kind::Phase(_)
        | Kind::EventsLimited(_)
        | Kind::PostRender(_) => vec![],
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    encode_varint(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

fn get_bytes<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let len = decode_varint(buf).map_err(|e| e.to_string())? as usize;
    if len > buf.len() {
        return Err("truncated".into());
    }
    let (head, rest) = buf.split_at(len);
    *buf = rest;
    Ok(head)
}

fn get_str(buf: &mut &[u8]) -> Result<String, String> {
    String::from_utf8(get_bytes(buf)?.to_vec()).map_err(|e| e.to_string())
}

fn get_varint(buf: &mut &[u8]) -> Result<u64, String> {
    decode_varint(buf).map_err(|e| e.to_string())
}

/// Pack one revision's events (sorted by seq), or `None` when they are
/// not all of `ns/name` revision `rev`, or would not read back the same.
pub fn pack(ns: &str, name: &str, rev: u64, events: &[proto::Event]) -> Option<Packed> {
    let last = events.last()?;
    if events
        .iter()
        .any(|e| e.namespace != ns || e.release != name || e.revision != rev || e.kind.is_none())
    {
        return None;
    }
    let mut table: Vec<proto::ObjectRef> = Vec::new();
    type Key = (String, String, String, String);
    let mut index: std::collections::HashMap<Key, u64> = Default::default();
    let mut body = Vec::new();
    encode_varint(events.len() as u64, &mut body);
    let (mut prev_seq, mut prev_time, mut prev_slot) = (0u64, 0i64, 0u64);
    for ev in events {
        encode_varint(
            zigzag(ev.seq.wrapping_sub(prev_seq).wrapping_sub(1) as i64),
            &mut body,
        );
        encode_varint(zigzag(ev.time_unix_ms.wrapping_sub(prev_time)), &mut body);
        prev_seq = ev.seq;
        prev_time = ev.time_unix_ms;
        let mut kind = ev.kind.clone()?;
        let mut refs = Vec::new();
        for slot in slots(&mut kind) {
            let v = match slot.take() {
                None => 0,
                Some(o) => {
                    let key = (
                        o.api_version.clone(),
                        o.kind.clone(),
                        o.namespace.clone(),
                        o.name.clone(),
                    );
                    *index.entry(key).or_insert_with(|| {
                        table.push(o);
                        table.len() as u64
                    })
                }
            };
            refs.push(v);
        }
        let stripped = proto::Event {
            kind: Some(kind),
            ..Default::default()
        };
        encode_varint(stripped.encoded_len() as u64, &mut body);
        stripped.encode(&mut body).ok()?;
        for v in refs {
            encode_varint(
                zigzag(v.wrapping_sub(prev_slot).wrapping_sub(1) as i64),
                &mut body,
            );
            prev_slot = v;
        }
    }
    let mut table_bytes = Vec::new();
    encode_varint(table.len() as u64, &mut table_bytes);
    for o in &table {
        for s in [&o.api_version, &o.kind, &o.namespace, &o.name] {
            put_str(&mut table_bytes, s);
        }
    }
    let mut value = Vec::with_capacity(HEADER + body.len() / 4);
    value.extend_from_slice(TAG);
    value.extend_from_slice(&last.seq.to_be_bytes());
    value.extend_from_slice(&sha2_digest(&table_bytes));
    let mut z = flate2::write::DeflateEncoder::new(value, flate2::Compression::default());
    z.write_all(&body).ok()?;
    let value = z.finish().ok()?;
    let packed = Packed {
        value,
        table: table_bytes,
    };
    // Read back before anything is replaced.
    let back = unpack(ns, name, rev, &packed.value, |_| Ok(packed.table.clone())).ok()?;
    (back == events).then_some(packed)
}

fn sha2_digest(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The sequence number of the last packed event, without unpacking.
pub fn last_seq(value: &[u8]) -> Result<u64, String> {
    if value.len() < HEADER || &value[..2] != TAG {
        return Err("not a packed events record".into());
    }
    Ok(u64::from_be_bytes(
        value[2..10].try_into().expect("8 bytes"),
    ))
}

/// The hex digest of the object table a packed record needs.
pub fn table_digest(value: &[u8]) -> Result<String, String> {
    last_seq(value)?;
    Ok(hex::encode(&value[10..HEADER]))
}

/// The events of a packed record; `table` fetches the object table blob.
pub fn unpack(
    ns: &str,
    name: &str,
    rev: u64,
    value: &[u8],
    table: impl FnOnce(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<proto::Event>, String> {
    let last = last_seq(value)?;
    let table_bytes = table(&table_digest(value)?)?;
    let mut t = table_bytes.as_slice();
    let n = get_varint(&mut t)?;
    let mut objects = Vec::new();
    for _ in 0..n {
        objects.push(proto::ObjectRef {
            api_version: get_str(&mut t)?,
            kind: get_str(&mut t)?,
            namespace: get_str(&mut t)?,
            name: get_str(&mut t)?,
        });
    }
    let mut body = Vec::new();
    flate2::read::DeflateDecoder::new(&value[HEADER..])
        .read_to_end(&mut body)
        .map_err(|e| format!("does not inflate: {e}"))?;
    let mut b = body.as_slice();
    let count = get_varint(&mut b)?;
    let mut events = Vec::new();
    let (mut seq, mut time, mut slot) = (0u64, 0i64, 0u64);
    for _ in 0..count {
        seq = seq
            .wrapping_add(1)
            .wrapping_add(unzigzag(get_varint(&mut b)?) as u64);
        time = time.wrapping_add(unzigzag(get_varint(&mut b)?));
        let stripped = proto::Event::decode(get_bytes(&mut b)?).map_err(|e| e.to_string())?;
        let mut kind = stripped.kind.ok_or("an event without a kind")?;
        for s in slots(&mut kind) {
            slot = slot
                .wrapping_add(1)
                .wrapping_add(unzigzag(get_varint(&mut b)?) as u64);
            *s = match slot {
                0 => None,
                i => Some(
                    objects
                        .get(i as usize - 1)
                        .cloned()
                        .ok_or("an object index out of the table")?,
                ),
            };
        }
        events.push(proto::Event {
            release: name.to_string(),
            namespace: ns.to_string(),
            revision: rev,
            seq,
            time_unix_ms: time,
            kind: Some(kind),
        });
    }
    if !b.is_empty() || events.last().map(|e| e.seq) != Some(last) {
        return Err("its events do not match its header".into());
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str, ns: &str) -> proto::ObjectRef {
        proto::ObjectRef {
            api_version: "v1".into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    fn ev(seq: u64, time: i64, kind: Kind) -> proto::Event {
        proto::Event {
            release: "a".into(),
            namespace: "ns".into(),
            revision: 3,
            seq,
            time_unix_ms: time,
            kind: Some(kind),
        }
    }

    pub fn sample() -> Vec<proto::Event> {
        let objs: Vec<_> = (0..50)
            .map(|i| obj("ConfigMap", &format!("c{i}"), ""))
            .collect();
        let mut evs = vec![
            ev(
                1,
                1_700_000_000_000,
                Kind::Accepted(proto::Accepted {
                    operation: 2,
                    identity: "me".into(),
                    chart_needed: false,
                    previous_revision: 2,
                }),
            ),
            ev(
                2,
                1_700_000_000_040,
                Kind::Planned(proto::Planned {
                    changes: objs
                        .iter()
                        .map(|o| proto::PlannedChange {
                            object: Some(o.clone()),
                            action: 3,
                        })
                        .collect(),
                }),
            ),
        ];
        for (i, o) in objs.iter().enumerate() {
            let mut o = o.clone();
            o.namespace = "ns".into();
            evs.push(ev(
                3 + i as u64,
                1_700_000_000_041 + i as i64 / 3,
                Kind::ResourceApplied(proto::ResourceApplied {
                    object: Some(o),
                    action: 3,
                }),
            ));
        }
        evs.push(ev(
            53,
            1_699_999_999_000,
            Kind::Failed(proto::Failed {
                reason: "X".into(),
                message: "m".into(),
                culprit: None,
                status: 3,
            }),
        ));
        evs.push(ev(
            54,
            1_700_000_000_100,
            Kind::ResourceFailed(proto::ResourceFailed {
                object: Some(obj("ConfigMap", "c7", "")),
                reason: "r".into(),
                ..Default::default()
            }),
        ));
        evs.push(ev(
            56,
            1_700_000_000_100,
            Kind::ResourceDiff(proto::ResourceDiff {
                object: Some(proto::ObjectRef::default()),
                ..Default::default()
            }),
        ));
        evs
    }

    #[test]
    fn packed_events_read_back_exactly() {
        let evs = sample();
        let p = pack("ns", "a", 3, &evs).unwrap();
        assert_eq!(last_seq(&p.value).unwrap(), 56);
        let back = unpack("ns", "a", 3, &p.value, |d| {
            assert_eq!(d, hex::encode(sha2_digest(&p.table)));
            Ok(p.table.clone())
        })
        .unwrap();
        assert_eq!(back, evs);
        let loose: usize = evs.iter().map(|e| e.encoded_len() + 45).sum();
        assert!(p.value.len() * 5 < loose, "{} vs {loose}", p.value.len());
    }

    #[test]
    fn events_of_another_revision_are_not_packed() {
        let mut evs = sample();
        evs[4].revision = 2;
        assert!(pack("ns", "a", 3, &evs).is_none());
        assert!(pack("ns", "a", 3, &[]).is_none());
    }

    #[test]
    fn a_damaged_record_is_an_error() {
        let evs = sample();
        let p = pack("ns", "a", 3, &evs).unwrap();
        let table = |_: &str| Ok(p.table.clone());
        assert!(unpack("ns", "a", 3, &p.value[..p.value.len() - 3], table).is_err());
        assert!(unpack("ns", "a", 3, b"E1", |_| Ok(vec![])).is_err());
        assert!(unpack("ns", "a", 3, &p.value, |_| Ok(vec![0])).is_err());
    }
}
