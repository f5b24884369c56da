//! The head of a rendered manifest document — `apiVersion`, `kind`,
//! `metadata.name`, `metadata.annotations` — read straight from the parser's
//! events, for Helm's `SortManifests` (Helm unmarshals every document into a
//! `SimpleHead`). Building the whole document as a value costs more than
//! rendering it; this walk still reads every event, so syntax errors are
//! seen, but keeps only the head.
//!
//! It answers only for documents whose full decoding (berth's manifest
//! reader: serde-saphyr into a JSON value) is certain to succeed and to give
//! these same strings: a single document with a mapping at its root, no
//! anchors, aliases, tags, merge keys or duplicate keys, no plain key that
//! could read as null, a boolean or a number, no non-finite number, a
//! modest size and depth, and a head whose values are plainly strings.
//! Anything else gives `None`, and the caller decodes the document fully
//! (and reports its errors).

use std::collections::BTreeMap;

use granit_parser::{Event, Parser, ScalarStyle};

/// What [`manifest_head`] reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestHead {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub annotations: BTreeMap<String, String>,
}

/// Past these, the full decoder's budget (depth 64, 250 000 nodes) could
/// refuse a document this walk would accept.
pub(super) const MAX_DEPTH: usize = 32;
pub(super) const MAX_BYTES: usize = 100_000;

/// Where a value sits, as far as the head cares.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    Other,
    ApiVersion,
    Kind,
    Metadata,
    Name,
    Annotations,
    Annotation,
}

/// An open collection: a mapping remembers its keys (hashed, to refuse
/// duplicates) and the key whose value comes next.
struct Open {
    slot: Slot,
    map: Option<OpenMap>,
}

struct OpenMap {
    keys: Vec<u64>,
    /// The key of the value being read, once read.
    key: Option<(Slot, String)>,
}

/// The head of `doc`, or `None` when only a full decoding can tell (see the
/// module docs). Plain block documents are read by a line scanner
/// (`scan.rs`); the parser's events are walked only when it gives up.
pub fn manifest_head(doc: &str) -> Option<ManifestHead> {
    super::scan::head(doc).or_else(|| from_events(doc))
}

/// [`manifest_head`] from the parser's events.
pub(super) fn from_events(doc: &str) -> Option<ManifestHead> {
    if doc.len() > MAX_BYTES {
        return None;
    }
    // Comments are not read ahead without limit otherwise (see decode.rs).
    let options = granit_parser::options! { max_buffered_comment_events: usize::MAX };
    let mut parser = Parser::new_from_str_with_options(doc, options);
    let mut head = ManifestHead::default();
    let mut stack: Vec<Open> = Vec::new();
    let (mut documents, mut root_done) = (0, false);
    while let Some(ev) = parser.next_event() {
        let (event, _) = ev.ok()?;
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(_, None) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
            }
            Event::Scalar(value, style, 0, None) => {
                let depth = stack.len();
                let Some(top) = stack.last_mut() else {
                    return None; // a scalar document
                };
                let parent = top.slot;
                match &mut top.map {
                    Some(m) if m.key.is_none() => {
                        if style == ScalarStyle::Plain && !plain_key_is_string(&value) {
                            return None;
                        }
                        let h = hash(&value);
                        if m.keys.contains(&h) {
                            return None;
                        }
                        m.keys.push(h);
                        let slot = child_slot(parent, &value, depth);
                        let keep = if slot == Slot::Annotation {
                            value.into_owned()
                        } else {
                            String::new()
                        };
                        m.key = Some((slot, keep));
                    }
                    Some(m) => {
                        let (slot, key) = m.key.take()?;
                        scalar_value(&mut head, slot, key, &value, style)?;
                    }
                    None => {
                        if style == ScalarStyle::Plain && non_finite(&value) {
                            return None;
                        }
                    }
                }
            }
            Event::MappingStart(_, 0, None) | Event::SequenceStart(_, 0, None) => {
                let is_map = matches!(event, Event::MappingStart(..));
                let slot = match stack.last_mut() {
                    None if root_done || !is_map => return None,
                    None => Slot::Other,
                    // A collection as a key: only the full decoder knows.
                    Some(Open { map: Some(m), .. }) if m.key.is_none() => return None,
                    Some(Open { map: Some(m), .. }) => m.key.as_ref().map(|k| k.0)?,
                    Some(Open { map: None, .. }) => Slot::Other,
                };
                // The head's strings and tables must be what they seem.
                match slot {
                    Slot::ApiVersion | Slot::Kind | Slot::Name | Slot::Annotation => return None,
                    Slot::Metadata | Slot::Annotations if !is_map => return None,
                    _ => {}
                }
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Open {
                    slot,
                    map: is_map.then(|| OpenMap {
                        keys: Vec::new(),
                        key: None,
                    }),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop()?;
                match stack.last_mut() {
                    None => root_done = true,
                    Some(Open { map: Some(m), .. }) => m.key = None,
                    Some(_) => {}
                }
            }
            // Comments are presentation, not data (the parser reports them
            // because serde-saphyr turns its `comments` feature on).
            Event::Comment(..) => {}
            // Anchors, aliases, tags, %YAML directives.
            _ => return None,
        }
    }
    (root_done && stack.is_empty()).then_some(head)
}

/// The slot of the value under `key` in a mapping at `slot`, `depth` deep.
pub(super) fn child_slot(parent: Slot, key: &str, depth: usize) -> Slot {
    match (parent, key) {
        (Slot::Other, "apiVersion") if depth == 1 => Slot::ApiVersion,
        (Slot::Other, "kind") if depth == 1 => Slot::Kind,
        (Slot::Other, "metadata") if depth == 1 => Slot::Metadata,
        (Slot::Metadata, "name") => Slot::Name,
        (Slot::Metadata, "annotations") => Slot::Annotations,
        (Slot::Annotations, _) => Slot::Annotation,
        _ => Slot::Other,
    }
}

/// Records a scalar value found at `slot`.
fn scalar_value(
    head: &mut ManifestHead,
    slot: Slot,
    key: String,
    value: &str,
    style: ScalarStyle,
) -> Option<()> {
    let plain = style == ScalarStyle::Plain;
    if plain && non_finite(value) {
        return None;
    }
    let target = match slot {
        Slot::Other => return Some(()),
        // `metadata: x` or `annotations: ~`: not the tables they should be.
        Slot::Metadata | Slot::Annotations => return None,
        Slot::ApiVersion => &mut head.api_version,
        Slot::Kind => &mut head.kind,
        Slot::Name => &mut head.name,
        Slot::Annotation => head.annotations.entry(key).or_default(),
    };
    if plain && !plain_value_is_string(value) {
        return None;
    }
    *target = value.to_string();
    Some(())
}

/// A plain scalar that reads as a string whatever the resolver (YAML 1.1
/// or 1.2): not null, not a boolean, not a number. Anything starting like
/// a number counts as one unless it has a character no number, timestamp
/// or sexagesimal form has (a hex digest `6a18e5…`, `100m`, `1.5Gi`).
pub(super) fn plain_value_is_string(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    match first {
        b'+' | b'-' | b'.' | b'~' => return false,
        b'0'..=b'9' => {
            let radix = b.len() > 1 && first == b'0' && b[1].is_ascii_alphabetic();
            return !radix
                && b.iter().any(|c| {
                    !matches!(c, b'0'..=b'9' | b'.' | b'_' | b':' | b'+' | b'-' | b' ')
                        && !matches!(c.to_ascii_lowercase(), b'e' | b't' | b'z')
                });
        }
        _ => {}
    }
    !(b.len() <= 5
        && ["null", "y", "n", "yes", "no", "true", "false", "on", "off"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w)))
}

/// A plain key that the full decoder takes as the same string: as for
/// values, and not the merge key.
pub(super) fn plain_key_is_string(s: &str) -> bool {
    s != "<<" && plain_value_is_string(s)
}

/// A plain scalar that could read as an infinite or NaN float, which the
/// full decoder refuses (`.inf`, `.nan`, or a literal that overflows).
pub(super) fn non_finite(s: &str) -> bool {
    let u = s.strip_prefix(['+', '-']).unwrap_or(s);
    matches!(u, ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF")
        || (u.starts_with(|c: char| c.is_ascii_digit())
            && s.parse::<f64>().is_ok_and(f64::is_infinite))
}

/// FNV-1a: equal keys hash equal; a collision only sends the document to
/// the full decoder.
pub(super) fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// apiVersion, kind, name and the annotations, in key order.
    type Fields = (String, String, String, Vec<(String, String)>);

    fn head(doc: &str) -> Option<Fields> {
        manifest_head(doc).map(|h| {
            (
                h.api_version,
                h.kind,
                h.name,
                h.annotations.into_iter().collect(),
            )
        })
    }

    #[test]
    fn reads_the_head_of_an_ordinary_document() {
        let doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  labels:\n    a: b\n  annotations:\n    \"helm.sh/hook\": pre-install\n    x: 'y'\ndata:\n  kind: other\n  count: 1\nlist:\n  - name: not-this\n  - 1.5\n";
        assert_eq!(
            head(doc),
            Some((
                "v1".into(),
                "ConfigMap".into(),
                "cm".into(),
                vec![
                    ("helm.sh/hook".into(), "pre-install".into()),
                    ("x".into(), "y".into())
                ]
            ))
        );
        let hex = "kind: K\na: 6a18e5\nb: 1e5\nc: -.5\n";
        assert_eq!(head(hex).map(|h| h.1), Some("K".into()));
        let nested = "spec:\n  metadata:\n    name: inner\nkind: K\n";
        assert_eq!(
            head(nested).map(|h| (h.1, h.2)),
            Some(("K".into(), "".into()))
        );
    }

    #[test]
    fn leaves_to_the_full_decoder_what_it_cannot_be_sure_of() {
        for doc in [
            "",
            "# only a comment\n",
            "just text\n",
            "- a\n",
            "a: 1\na: 2\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {a: 1}\n",
            "true: 1\n",
            "1: a\n",
            "? [a]\n: b\n",
            "kind: 1\n",
            "kind: true\n",
            "kind:\n",
            "metadata:\n  name: null\n",
            "metadata: x\n",
            "metadata:\n  annotations:\n    a: 5\n",
            "metadata:\n  annotations:\n    a: [x]\n",
            "a: .inf\n",
            "a: [1e999]\n",
            "a: -9e400\n",
            "a: b\n---\nc: d\n",
            "a: [unclosed\n",
            "a: b\n c\n d: e\n",
        ] {
            assert_eq!(head(doc), None, "{doc:?}");
        }
    }
}
