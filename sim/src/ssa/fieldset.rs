//! Field paths and sets, and their `fieldsV1` encoding (structured-merge-diff's notation).
//!
//! A set holds paths; a path that is an ancestor of another and is itself a member is written
//! with a `".": {}` entry, as managedFields show list items and maps a manager created.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElem {
    /// `f:name`: a struct or map member.
    Field(String),
    /// `k:{...}`: an associative-list item; the canonical JSON of its key fields.
    Key(String),
    /// `v:...`: a set item; its JSON.
    Value(String),
}

impl PathElem {
    pub fn field(s: &str) -> PathElem {
        PathElem::Field(s.to_string())
    }

    fn encode(&self) -> String {
        match self {
            PathElem::Field(f) => format!("f:{f}"),
            PathElem::Key(k) => format!("k:{k}"),
            PathElem::Value(v) => format!("v:{v}"),
        }
    }

    fn decode(s: &str) -> Option<PathElem> {
        let (tag, rest) = s.split_at_checked(2)?;
        match tag {
            "f:" => Some(PathElem::Field(rest.to_string())),
            "k:" => Some(PathElem::Key(rest.to_string())),
            "v:" => Some(PathElem::Value(rest.to_string())),
            _ => None,
        }
    }
}

pub type Path = Vec<PathElem>;

/// Renders a path the way conflict messages do: `.spec.containers[name="app"].image`.
pub fn path_string(path: &[PathElem]) -> String {
    let mut out = String::new();
    for pe in path {
        match pe {
            PathElem::Field(f) => {
                out.push('.');
                out.push_str(f);
            }
            PathElem::Key(k) => {
                let parsed: BTreeMap<String, Value> = serde_json::from_str(k).unwrap_or_default();
                let parts: Vec<String> = parsed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", parts.join(",")));
            }
            PathElem::Value(v) => out.push_str(&format!("[={v}]")),
        }
    }
    out
}

/// A set of field paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(BTreeSet<Path>);

impl FieldSet {
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    pub fn insert(&mut self, p: Path) {
        self.0.insert(p);
    }

    pub fn contains(&self, p: &[PathElem]) -> bool {
        self.0.contains(p)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Path> {
        self.0.iter()
    }

    /// Whether `p` or anything beneath it is a member.
    pub fn has_under(&self, p: &[PathElem]) -> bool {
        self.0
            .range(p.to_vec()..)
            .next()
            .is_some_and(|q| q.starts_with(p))
    }

    /// Removes `p` and everything beneath it; whether anything was.
    pub fn remove_under(&mut self, p: &[PathElem]) -> bool {
        let doomed: Vec<Path> = self
            .0
            .range(p.to_vec()..)
            .take_while(|q| q.starts_with(p))
            .cloned()
            .collect();
        for d in &doomed {
            self.0.remove(d);
        }
        !doomed.is_empty()
    }

    pub fn remove(&mut self, p: &[PathElem]) {
        self.0.remove(p);
    }

    pub fn union_with(&mut self, other: &FieldSet) {
        self.0.extend(other.0.iter().cloned());
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    /// The `fieldsV1` JSON of this set.
    pub fn to_fields_v1(&self) -> Value {
        #[derive(Default)]
        struct Node {
            member: bool,
            children: BTreeMap<String, Node>,
        }
        let mut root = Node::default();
        for path in &self.0 {
            let mut node = &mut root;
            for pe in path {
                node = node.children.entry(pe.encode()).or_default();
            }
            node.member = true;
        }
        fn render(n: &Node) -> Value {
            let mut m = Map::new();
            if n.member && !n.children.is_empty() {
                m.insert(".".to_string(), Value::Object(Map::new()));
            }
            for (k, c) in &n.children {
                m.insert(k.clone(), render(c));
            }
            Value::Object(m)
        }
        render(&root)
    }

    /// Parses `fieldsV1`; unknown entries are skipped.
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        fn walk(v: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
            let Some(m) = v.as_object() else { return };
            if m.is_empty() && !prefix.is_empty() {
                out.insert(prefix.clone());
                return;
            }
            for (k, child) in m {
                if k == "." {
                    if !prefix.is_empty() {
                        out.insert(prefix.clone());
                    }
                    continue;
                }
                if let Some(pe) = PathElem::decode(k) {
                    prefix.push(pe);
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(v, &mut Vec::new(), &mut out);
        FieldSet(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_v1_round_trip() {
        let v = json!({"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}});
        let s = FieldSet::from_fields_v1(&v);
        assert_eq!(s.len(), 3);
        assert_eq!(s.to_fields_v1(), v);
    }

    #[test]
    fn path_strings() {
        let p = vec![
            PathElem::field("spec"),
            PathElem::field("containers"),
            PathElem::Key("{\"name\":\"c2\"}".into()),
            PathElem::field("image"),
        ];
        assert_eq!(path_string(&p), ".spec.containers[name=\"c2\"].image");
    }
}
