//! The runtime value model of the template engine.
//!
//! Go templates run on `reflect.Value`s; every behaviour Helm users observe
//! (what prints, what is "empty", which comparisons error, which function
//! arguments are rejected) follows from the Go type of the value. [`Value`]
//! keeps exactly as much of that type information as charts can observe:
//!
//! * `Invalid` is Go's zero `reflect.Value` ("no value"), e.g. the result of
//!   a pipeline that ended on a missing map key; `Nil` is a nil `interface{}`,
//!   e.g. the missing key itself before the pipeline unwraps it. They print
//!   alike but differ for field access and argument checks (see `exec`).
//! * Go `int` and `int64` are distinct (`typeOf`, `kindIs` see them), floats
//!   are `float64` — Helm reads every YAML/JSON number as float64.
//! * Maps are shared and mutable (`set`, `unset`, `merge` mutate in place and
//!   Helm charts rely on it), kept sorted because Go ranges and prints maps in
//!   key order.
//! * Helm's method-bearing objects (`.Files`, `.Capabilities`, …) are
//!   [`Object`]s.
//!
//! It does not own printing (see `gofmt`) or YAML/JSON (see `yaml`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// A template value. Cheap to clone: aggregates are reference counted.
#[derive(Clone, Default)]
pub enum Value {
    /// Go's zero `reflect.Value`: no value at all.
    #[default]
    Invalid,
    /// A nil `interface{}`.
    Nil,
    Bool(bool),
    /// Go `int`.
    Int(i64),
    /// Go `int64`.
    Int64(i64),
    /// Go `uint64`.
    Uint(u64),
    /// Go `float64`.
    Float(f64),
    /// Go `complex128` (real, imaginary): only a template's own literals
    /// (`{{ 1i }}`, `{{ 1+2i }}`) make one.
    Complex(f64, f64),
    String(Rc<str>),
    /// Go `[]byte`.
    Bytes(Rc<[u8]>),
    List(List),
    Map(Map),
    Object(Rc<Object>),
}

/// The Go element type of a slice, as far as charts can observe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListType {
    /// `[]interface {}`
    Any,
    /// `[]string`
    String,
    /// `[]int`
    Int,
    /// `common.VersionSet` (a `[]string` with a `Has` method)
    VersionSet,
    /// `[][]interface {}` (what `chunk` returns)
    Nested,
    /// `[]map[string]interface {}` (an array of TOML tables)
    Maps,
}

/// A Go slice.
#[derive(Clone)]
pub struct List {
    pub items: Rc<Vec<Value>>,
    pub ty: ListType,
    /// A nil slice (Go's `var s []string`): empty, but encoded as `null`.
    pub nil: bool,
}

/// The Go type of a map, as far as charts can observe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapType {
    /// `map[string]interface {}`
    Any,
    /// `common.Values` (Helm's named map type for `.`, `.Values`, `.Template`)
    Values,
    /// `map[string]string`
    StringString,
}

/// A Go map with string keys: shared, mutable, iterated in key order.
#[derive(Clone)]
pub struct Map {
    pub entries: Rc<RefCell<BTreeMap<String, Value>>>,
    pub ty: MapType,
    /// A nil Go map (always empty): it prints as `map[]` but encodes to
    /// JSON and YAML as `null`, like `.Chart.Annotations` of a chart
    /// without annotations.
    pub nil: bool,
}

/// Helm's method-bearing values.
#[derive(Debug)]
pub enum Object {
    /// `.Files` (`engine.files`, a `map[string][]byte` with methods).
    Files(BTreeMap<String, bytes::Bytes>),
    /// `.Capabilities` (`*common.Capabilities`).
    Capabilities(Capabilities),
    /// `.Capabilities.KubeVersion` (`common.KubeVersion`).
    KubeVersion(KubeVersion),
    /// `.Capabilities.HelmVersion` (`version.BuildInfo`).
    HelmVersion(HelmVersion),
    /// A parsed semantic version (`*semver.Version`), from `semver`.
    Semver(crate::funcs::semver::Version),
    /// A `semver.Version` value (what `IncMajor` & co. return): only the
    /// value-receiver methods apply.
    SemverValue(crate::funcs::semver::Version),
    /// A `time.Time`.
    Time(crate::funcs::dates::GoTime),
    /// A `time.Duration` (what `time.Time`'s `Sub` returns): nanoseconds,
    /// an int64 to comparisons, a `fmt.Stringer` to printing.
    Duration(i64),
    /// A `*time.Location` (what `time.Time`'s `Location` returns).
    Location(crate::funcs::dates::Loc),
    /// Sprig's `certificate` (`genCA` & co.): fields `Cert` and `Key`.
    Certificate(crate::funcs::pki::Certificate),
}

/// The data behind `.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    pub api_versions: Vec<String>,
    pub helm_version: HelmVersion,
}

/// The data behind `.Capabilities.KubeVersion`.
#[derive(Debug, Clone)]
pub struct KubeVersion {
    /// As given, e.g. `v1.33.4-gke.1245000`.
    pub version: String,
    /// What `String()` returns: `v<major>.<minor>.<patch>` (unexported in
    /// Go: a deepCopy leaves it empty).
    pub normalized: String,
    pub major: String,
    pub minor: String,
}

impl KubeVersion {
    /// `String()`: the normalized version, or the version as given when
    /// there is none.
    pub fn string(&self) -> &str {
        if self.normalized.is_empty() {
            &self.version
        } else {
            &self.normalized
        }
    }

    /// What copystructure makes of it: the unexported field left empty.
    fn copied(&self) -> KubeVersion {
        KubeVersion {
            normalized: String::new(),
            ..self.clone()
        }
    }
}

/// The data behind `.Capabilities.HelmVersion`.
#[derive(Debug, Clone)]
pub struct HelmVersion {
    pub version: String,
    pub git_commit: String,
    pub git_tree_state: String,
    pub go_version: String,
    pub kube_client_version: String,
}

impl List {
    pub fn new(items: Vec<Value>) -> List {
        List::typed(items, ListType::Any)
    }
    pub fn typed(items: Vec<Value>, ty: ListType) -> List {
        List {
            items: Rc::new(items),
            ty,
            nil: false,
        }
    }
    /// A nil slice of the type.
    pub fn nil_of(ty: ListType) -> List {
        List {
            nil: true,
            ..List::typed(Vec::new(), ty)
        }
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Map {
    pub fn new() -> Map {
        Map::typed(BTreeMap::new(), MapType::Any)
    }
    pub fn typed(entries: BTreeMap<String, Value>, ty: MapType) -> Map {
        Map {
            entries: Rc::new(RefCell::new(entries)),
            ty,
            nil: false,
        }
    }
    /// A nil `map[string]interface {}`.
    pub fn nil_map() -> Map {
        Map {
            nil: true,
            ..Map::new()
        }
    }
    pub fn get(&self, key: &str) -> Option<Value> {
        self.entries.borrow().get(key).cloned()
    }
    pub fn contains(&self, key: &str) -> bool {
        self.entries.borrow().contains_key(key)
    }
    pub fn insert(&self, key: impl Into<String>, value: Value) {
        self.entries.borrow_mut().insert(key.into(), value);
    }
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.entries.borrow_mut().remove(key)
    }
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }
    /// A snapshot of the entries, in key order.
    pub fn pairs(&self) -> Vec<(String, Value)> {
        self.entries
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
    pub fn keys(&self) -> Vec<String> {
        self.entries.borrow().keys().cloned().collect()
    }
    /// Whether both handles refer to the same Go map.
    pub fn same(&self, other: &Map) -> bool {
        Rc::ptr_eq(&self.entries, &other.entries)
    }
}

impl Default for Map {
    fn default() -> Self {
        Map::new()
    }
}

impl From<BTreeMap<String, Value>> for Map {
    fn from(m: BTreeMap<String, Value>) -> Map {
        Map::typed(m, MapType::Any)
    }
}

/// Go's `reflect.Kind`, restricted to the kinds values here can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Invalid,
    Bool,
    Int,
    Int64,
    Uint64,
    Float64,
    Complex128,
    Interface,
    Map,
    Ptr,
    Slice,
    String,
    Struct,
}

impl Kind {
    /// The name Go prints for the kind (`reflect.Kind.String`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Invalid => "invalid",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Int64 => "int64",
            Kind::Uint64 => "uint64",
            Kind::Float64 => "float64",
            Kind::Complex128 => "complex128",
            Kind::Interface => "interface",
            Kind::Map => "map",
            Kind::Ptr => "ptr",
            Kind::Slice => "slice",
            Kind::String => "string",
            Kind::Struct => "struct",
        }
    }
}

impl Value {
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::String(Rc::from(s.as_ref()))
    }
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(List::new(items))
    }
    pub fn str_list(items: Vec<String>) -> Value {
        Value::List(List::typed(
            items.into_iter().map(Value::str).collect(),
            ListType::String,
        ))
    }
    pub fn map(m: BTreeMap<String, Value>) -> Value {
        Value::Map(Map::from(m))
    }
    pub fn bytes(b: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(Rc::from(b.into()))
    }
    /// A copy of borrowed bytes (a chart file's, say, which renders share).
    pub fn bytes_of(b: &[u8]) -> Value {
        Value::Bytes(Rc::from(b))
    }
    pub fn object(o: Object) -> Value {
        Value::Object(Rc::new(o))
    }

    /// Go's `reflect.Kind` of the value.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Invalid => Kind::Invalid,
            Value::Nil => Kind::Interface,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Int64(_) => Kind::Int64,
            Value::Uint(_) => Kind::Uint64,
            Value::Float(_) => Kind::Float64,
            Value::Complex(..) => Kind::Complex128,
            Value::String(_) => Kind::String,
            Value::Bytes(_) | Value::List(_) => Kind::Slice,
            Value::Map(_) => Kind::Map,
            Value::Object(o) => match **o {
                Object::Files(_) => Kind::Map,
                Object::Capabilities(_) | Object::Semver(_) | Object::Location(_) => Kind::Ptr,
                Object::Duration(_) => Kind::Int64,
                Object::KubeVersion(_)
                | Object::HelmVersion(_)
                | Object::SemverValue(_)
                | Object::Time(_)
                | Object::Certificate(_) => Kind::Struct,
            },
        }
    }

    /// Go's name for the dynamic type (`%T`, `typeOf`, error messages).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Invalid => "<nil>",
            Value::Nil => "interface {}",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint(_) => "uint64",
            Value::Float(_) => "float64",
            Value::Complex(..) => "complex128",
            Value::String(_) => "string",
            Value::Bytes(_) => "[]uint8",
            Value::List(l) => match l.ty {
                ListType::Any => "[]interface {}",
                ListType::String => "[]string",
                ListType::Int => "[]int",
                ListType::VersionSet => "common.VersionSet",
                ListType::Nested => "[][]interface {}",
                ListType::Maps => "[]map[string]interface {}",
            },
            Value::Map(m) => match m.ty {
                MapType::Any => "map[string]interface {}",
                MapType::Values => "common.Values",
                MapType::StringString => "map[string]string",
            },
            Value::Object(o) => match **o {
                Object::Files(_) => "engine.files",
                Object::Capabilities(_) => "*common.Capabilities",
                Object::KubeVersion(_) => "common.KubeVersion",
                Object::HelmVersion(_) => "version.BuildInfo",
                Object::Semver(_) => "*semver.Version",
                Object::SemverValue(_) => "semver.Version",
                Object::Time(_) => "time.Time",
                Object::Duration(_) => "time.Duration",
                Object::Location(_) => "*time.Location",
                Object::Certificate(_) => "sprig.certificate",
            },
        }
    }

    /// `typeOf` in Sprig: `fmt.Sprintf("%T", v)`, where a nil interface is `<nil>`.
    pub fn go_type_of(&self) -> &'static str {
        match self {
            Value::Nil | Value::Invalid => "<nil>",
            other => other.type_name(),
        }
    }

    /// True for both flavours of nil.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil | Value::Invalid)
    }

    /// Go's `template.IsTrue` (the truth of `if`, `with`, `and`, `or`, `not`).
    pub fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Complex(re, im) => *re != 0.0 || *im != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Object(o) => match &**o {
                Object::Files(f) => !f.is_empty(),
                Object::Duration(d) => *d != 0,
                _ => true,
            },
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The length of strings, slices and maps (Go's `len`).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::String(s) => Some(gostr::len(s)),
            Value::Bytes(b) => Some(b.len()),
            Value::List(l) => Some(l.len()),
            Value::Map(m) => Some(m.len()),
            Value::Object(o) => match &**o {
                Object::Files(f) => Some(f.len()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Integer value of any integer kind.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            Value::Uint(u) => i64::try_from(*u).ok(),
            other => other.duration(),
        }
    }

    /// The nanoseconds of a `time.Duration`.
    pub fn duration(&self) -> Option<i64> {
        match self {
            Value::Object(o) => match **o {
                Object::Duration(d) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    /// Removes the "interface" wrapper: a nil interface becomes no value.
    /// (Go's `indirectInterface`.)
    pub fn indirect_interface(self) -> Value {
        match self {
            Value::Nil => Value::Invalid,
            v => v,
        }
    }

    /// Deep copy (Sprig's `deepCopy`, Helm's value copies).
    pub fn deep_copy(&self) -> Value {
        // Beyond the depth cap (only reachable through cycles) the copy
        // shares the original instead of recursing forever.
        let Some(_level) = DepthGuard::enter() else {
            return self.clone();
        };
        match self {
            Value::List(l) => Value::List(List {
                nil: l.nil,
                ..List::typed(l.items.iter().map(Value::deep_copy).collect(), l.ty)
            }),
            Value::Map(m) => {
                let copy = m
                    .entries
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect();
                Value::Map(Map {
                    nil: m.nil,
                    ..Map::typed(copy, m.ty)
                })
            }
            // copystructure copies exported fields only: what Go keeps in
            // unexported ones is left zero in the copy.
            Value::Object(o) => match &**o {
                Object::Semver(_) => Value::object(Object::Semver(Default::default())),
                Object::SemverValue(_) => Value::object(Object::SemverValue(Default::default())),
                Object::Location(_) => {
                    Value::object(Object::Location(crate::funcs::dates::Loc::fixed("", 0)))
                }
                Object::KubeVersion(k) => Value::object(Object::KubeVersion(k.copied())),
                Object::Capabilities(c) => Value::object(Object::Capabilities(Capabilities {
                    kube_version: c.kube_version.copied(),
                    ..c.clone()
                })),
                _ => self.clone(),
            },
            other => other.clone(),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::gofmt::sprint_value(self))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Rc::from(s))
    }
}

/// Conversions between the engine's values and the `serde_json::Value`s that
/// flow between crates.
///
/// The convention: JSON floats are Go float64 (what Helm reads from YAML and
/// JSON); JSON integers (`i64`/`u64`) are Go int64 (what Helm's `--set`
/// parser produces).
pub mod json {
    use super::*;
    use serde_json::Value as J;

    /// Converts an inter-crate value into a template value (maps are `map[string]interface {}`).
    pub fn from_json(v: &J) -> Value {
        match v {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => {
                if let Some(i) = n.as_i64().filter(|_| !n.is_f64()) {
                    Value::Int64(i)
                } else if let Some(u) = n.as_u64().filter(|_| !n.is_f64()) {
                    Value::Uint(u)
                } else {
                    Value::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            J::String(s) => Value::str(s),
            J::Array(a) => Value::list(a.iter().map(from_json).collect()),
            J::Object(o) => Value::map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
        }
    }

    /// Converts a template value into an inter-crate value. Non-finite floats
    /// become null (JSON cannot carry them); objects become their JSON form.
    pub fn to_json(v: &Value) -> J {
        match v {
            Value::Invalid | Value::Nil => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) | Value::Int64(i) => J::from(*i),
            Value::Uint(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .unwrap_or(J::Null),
            // JSON has no complex numbers (Go's encoding/json refuses them).
            Value::Complex(..) => J::Null,
            Value::String(s) => J::String(s.to_string()),
            Value::Bytes(b) => J::String(String::from_utf8_lossy(b).into_owned()),
            Value::List(l) if l.nil => J::Null,
            Value::List(l) => J::Array(l.items.iter().map(to_json).collect()),
            Value::Map(m) if m.nil => J::Null,
            Value::Map(m) => J::Object(
                m.entries
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), to_json(v)))
                    .collect(),
            ),
            Value::Object(_) => {
                let text = crate::json::marshal(v).unwrap_or_default();
                serde_json::from_str(&text).unwrap_or(J::Null)
            }
        }
    }
}

/// How deep recursive walks over values (printing, copying, comparing,
/// merging) may go. Values built by templates can be cyclic (`set $d "self"
/// $d`); Go overflows its stack on those, we stop at this depth instead.
pub(crate) const MAX_VALUE_DEPTH: usize = 10_000;

thread_local! {
    static VALUE_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// One level of a recursive walk over a value; `None` once
/// [`MAX_VALUE_DEPTH`] levels are active. The level ends when the guard drops.
pub(crate) struct DepthGuard(());

impl DepthGuard {
    pub(crate) fn enter() -> Option<DepthGuard> {
        VALUE_DEPTH.with(|d| {
            if d.get() >= MAX_VALUE_DEPTH {
                None
            } else {
                d.set(d.get() + 1);
                Some(DepthGuard(()))
            }
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        VALUE_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

impl Value {
    /// At least how many bytes printing or encoding this value writes
    /// (its strings, keys and one per value), counting a value held in
    /// several places once per place; `None` once that passes `limit`, where
    /// the walk stops. A list holding one 1 MB string three thousand times
    /// would make `toJson` write 3 GB: that is known before any is written.
    pub fn printed_size_within(&self, limit: u128) -> Option<u128> {
        self.printed_size_and_depth(limit, usize::MAX).ok()
    }

    /// [`Value::printed_size_within`], stopping with `Err(true)` as soon as
    /// the walk goes more than `max_depth` maps and lists deep (a value
    /// that holds itself goes on forever), `Err(false)` past the limit.
    pub fn printed_size_and_depth(&self, limit: u128, max_depth: usize) -> Result<u128, bool> {
        // Most values printed are scalars: no walk.
        let scalar = match self {
            Value::String(s) => Some(s.len() as u128 + 1),
            Value::Bytes(b) => Some(b.len() as u128 + 1),
            Value::List(_) | Value::Map(_) => None,
            _ => Some(1),
        };
        if let Some(n) = scalar {
            return if n <= limit { Ok(n) } else { Err(false) };
        }
        let mut total: u128 = 0;
        let mut stack = vec![(self.clone(), 0usize)];
        while let Some((v, depth)) = stack.pop() {
            total += 1;
            match &v {
                Value::String(s) => total += s.len() as u128,
                Value::Bytes(b) => total += b.len() as u128,
                Value::List(_) | Value::Map(_) if depth >= max_depth => return Err(true),
                Value::List(l) => stack.extend(l.items.iter().map(|x| (x.clone(), depth + 1))),
                Value::Map(m) => {
                    for (k, x) in m.entries.borrow().iter() {
                        total += k.len() as u128;
                        stack.push((x.clone(), depth + 1));
                    }
                }
                _ => {}
            }
            if total > limit {
                return Err(false);
            }
        }
        Ok(total)
    }
}

/// Go strings are byte strings; Rust strings are UTF-8. Bytes that are not
/// part of valid UTF-8 (from `b64dec`, `.Files.Get` on a binary file,
/// `decryptAES`, byte-wise slicing) travel inside our strings as the
/// plane-16 private-use characters U+10FF80..=U+10FFFF (one per byte), and
/// turn back into the bytes wherever Go would look at bytes (`b64enc`,
/// hashes, `len`). Text never contains those characters in practice.
pub mod gostr {
    use std::borrow::Cow;

    const BASE: u32 = 0x10FF00;

    fn escape(b: u8) -> char {
        char::from_u32(BASE + u32::from(b)).unwrap_or('\u{FFFD}')
    }

    /// The byte an escape character stands for.
    pub fn escaped_byte(c: char) -> Option<u8> {
        let v = c as u32;
        (BASE + 0x80..=BASE + 0xFF)
            .contains(&v)
            .then(|| (v - BASE) as u8)
    }

    fn has_escapes(s: &str) -> bool {
        // U+10FF80..U+10FFFF encode as F4 8F BE/BF xx. Every rendered
        // template is checked, so look for the rare lead byte first.
        let b = s.as_bytes();
        let mut from = 0;
        while let Some(i) = b[from..].iter().position(|&x| x == 0xF4) {
            let i = from + i;
            if b.get(i + 1) == Some(&0x8F) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) {
                return true;
            }
            from = i + 1;
        }
        false
    }

    /// Go's `string(bytes)`.
    pub fn from_bytes(b: &[u8]) -> String {
        let mut out = String::with_capacity(b.len());
        for chunk in b.utf8_chunks() {
            out.push_str(chunk.valid());
            out.extend(chunk.invalid().iter().map(|&x| escape(x)));
        }
        out
    }

    /// Go's `[]byte(s)`.
    pub fn to_bytes(s: &str) -> Cow<'_, [u8]> {
        if !has_escapes(s) {
            return Cow::Borrowed(s.as_bytes());
        }
        let mut out = Vec::with_capacity(s.len());
        for c in s.chars() {
            match escaped_byte(c) {
                Some(b) => out.push(b),
                None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        Cow::Owned(out)
    }

    /// Go's comparison of two strings, byte by byte: a stray byte sorts by
    /// its value (0x80 before `é`), not as the character carrying it.
    pub fn cmp(a: &str, b: &str) -> std::cmp::Ordering {
        to_bytes(a).cmp(&to_bytes(b))
    }

    /// Go's `utf8.ValidString(s)`: the string holds no stray bytes.
    pub fn is_utf8(s: &str) -> bool {
        !has_escapes(s)
    }

    /// Go's `len(s)`.
    pub fn len(s: &str) -> usize {
        if has_escapes(s) {
            to_bytes(s).len()
        } else {
            s.len()
        }
    }

    /// The text as it leaves berth (rendered manifests, JSON): invalid bytes
    /// become U+FFFD, as a UTF-8 reader of Go's output would show them.
    pub fn to_display(s: &str) -> Cow<'_, str> {
        if !has_escapes(s) {
            return Cow::Borrowed(s);
        }
        Cow::Owned(
            s.chars()
                .map(|c| {
                    if escaped_byte(c).is_some() {
                        '\u{FFFD}'
                    } else {
                        c
                    }
                })
                .collect(),
        )
    }

    /// What go-yaml's reader (Helm's and kubectl's, through
    /// sigs.k8s.io/yaml) refuses in a document's bytes, in its words: the
    /// first byte that is not UTF-8, or the first character YAML does not
    /// allow (controls other than tab and line breaks, U+FFFE, U+FFFF).
    /// `None` for a document it reads.
    pub fn yaml_reader_error(s: &str) -> Option<&'static str> {
        // Every rendered document passes here: only those holding a byte
        // that can start a problem are decoded. The test is branch-free
        // over 64-byte chunks, which the compiler vectorizes.
        let suspect = |b: u8| {
            (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
                | (b == 0x7F)
                | (b == 0xC2)
                | (b == 0xEF)
                | (b == 0xF4)
        };
        let any_suspect = s
            .as_bytes()
            .chunks(64)
            .any(|c| c.iter().fold(false, |found, &b| found | suspect(b)));
        if !any_suspect {
            return None;
        }
        let b = to_bytes(s);
        let mut i = 0;
        while i < b.len() {
            let lead = b[i];
            let (width, mut value) = match lead {
                0x00..=0x7F => (1, u32::from(lead)),
                _ if lead & 0xE0 == 0xC0 => (2, u32::from(lead & 0x1F)),
                _ if lead & 0xF0 == 0xE0 => (3, u32::from(lead & 0x0F)),
                _ if lead & 0xF8 == 0xF0 => (4, u32::from(lead & 0x07)),
                _ => return Some("invalid leading UTF-8 octet"),
            };
            if i + width > b.len() {
                return Some("incomplete UTF-8 octet sequence");
            }
            for &octet in &b[i + 1..i + width] {
                if octet & 0xC0 != 0x80 {
                    return Some("invalid trailing UTF-8 octet");
                }
                value = (value << 6) | u32::from(octet & 0x3F);
            }
            let shortest = match width {
                1 => true,
                2 => value >= 0x80,
                3 => value >= 0x800,
                _ => value >= 0x10000,
            };
            if !shortest {
                return Some("invalid length of a UTF-8 sequence");
            }
            if (0xD800..=0xDFFF).contains(&value) || value > 0x10FFFF {
                return Some("invalid Unicode character");
            }
            let allowed = matches!(
                value,
                0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..
            );
            if !allowed {
                return Some("control characters are not allowed");
            }
            i += width;
        }
        None
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn yaml_reader_refuses_what_go_yaml_refuses() {
            // Each case's message is Helm v4's (helm-python-sdk) for a
            // manifest holding these bytes.
            let cases: [(&[u8], Option<&str>); 11] = [
                (b"x: plain \xc3\xa9 text\t\r\n", None),
                (b"x: \xc3\xa9\xc3\n", Some("invalid trailing UTF-8 octet")),
                (b"x: \xff\n", Some("invalid leading UTF-8 octet")),
                (b"x: \xe2\x82\n", Some("invalid trailing UTF-8 octet")),
                (b"x: \xe2\x82", Some("incomplete UTF-8 octet sequence")),
                (b"x: \xc0\xaf", Some("invalid length of a UTF-8 sequence")),
                (b"x: \xed\xa0\x80", Some("invalid Unicode character")),
                (b"x: \x01\n", Some("control characters are not allowed")),
                (b"x: \x7f\n", Some("control characters are not allowed")),
                (b"x: \xc2\x85 \xef\xbf\xbd \xf0\x9f\x98\x80\n", None),
                (
                    b"x: \xef\xbf\xbe\n",
                    Some("control characters are not allowed"),
                ),
            ];
            for (bytes, want) in cases {
                let s = super::from_bytes(bytes);
                assert_eq!(super::yaml_reader_error(&s), want, "{bytes:?}");
            }
        }

        #[test]
        fn bytes_round_trip() {
            let raw = [b'a', 0xC3, 0xA9, 0xFF, 0x80, b'z', 0xE2, 0x82];
            let s = super::from_bytes(&raw);
            assert_eq!(s.chars().count(), 7);
            assert_eq!(&*super::to_bytes(&s), &raw);
            assert_eq!(super::len(&s), raw.len());
            assert_eq!(super::to_display(&s), "aé\u{FFFD}\u{FFFD}z\u{FFFD}\u{FFFD}");
            assert_eq!(super::to_bytes("plain é"), "plain é".as_bytes());
        }
    }
}
