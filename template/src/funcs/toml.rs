//! Helm's `toToml`/`mustToToml`/`fromToml` (the parser is in
//! `toml_parse`): BurntSushi/toml v1.6's encoder over the
//! value as Go holds it. Plain keys are written before sub-tables, each
//! group sorted; tables become `[a.b]` sections indented two spaces per
//! level, lists of tables `[[a]]`, other nested maps inline tables; floats
//! always carry a decimal point or exponent (`1.0`, `1e+21`); a nil map
//! value is skipped, a nil list element is an error; the top level must
//! be a table unless it is a plain value.

use std::fmt::Write as _;

use super::{FuncMap, Ty, add, sig};
use crate::error::GoError;
use crate::value::{Object, Value};

pub fn register(m: &mut FuncMap) {
    use Ty::*;
    add(m, "toToml", sig(&[Any]), |_, a| {
        check_size(&a[0])?;
        nil_panic(&a[0])?;
        match to_toml(&a[0]) {
            Ok(s) => Ok(Value::str(s)),
            Err(Stop::Encoder(e)) => Ok(Value::str(e)),
            Err(Stop::TooLarge) => Err(too_large()),
        }
    });
    add(m, "mustToToml", sig(&[Any]), |_, a| {
        check_size(&a[0])?;
        nil_panic(&a[0])?;
        to_toml(&a[0]).map(Value::str).map_err(|e| match e {
            Stop::Encoder(e) => GoError::plain(e),
            Stop::TooLarge => too_large(),
        })
    });
    // Errors land in the map under "Error", as Helm's fromToml does.
    add(m, "fromToml", sig(&[Str]), |_, a| {
        Ok(match super::toml_parse::parse(super::s(&a[0])) {
            Ok(v) => v,
            Err(e) => {
                let m = crate::value::Map::new();
                m.insert("Error", Value::str(e));
                Value::Map(m)
            }
        })
    });
}

/// Refuses a value too large to write before writing any of it, but a
/// map that holds itself: Go's encoder may fail on a part it meets before
/// the map inside itself (a list with a nil element), and the encoder
/// stops there itself ([`Encoder::map_or_struct`]).
fn check_size(v: &Value) -> Result<(), GoError> {
    super::check_encodable(v).map(|_cycle| ())
}

/// The encoder panics (outside its own error handling) on a nil value,
/// which the template reports as the call's error.
fn nil_panic(v: &Value) -> Result<(), GoError> {
    if is_nil(v) {
        return Err(GoError::plain(
            "reflect: call of reflect.Value.Type on zero Value",
        ));
    }
    Ok(())
}

/// Why the encoder stopped.
pub enum Stop {
    /// BurntSushi's error: toToml's result, mustToToml's error.
    Encoder(String),
    /// The output passed [`super::MAX_RESULT`] bytes, where Go would go on
    /// until memory ran out.
    TooLarge,
}

impl From<String> for Stop {
    fn from(e: String) -> Stop {
        Stop::Encoder(e)
    }
}

impl From<&str> for Stop {
    fn from(e: &str) -> Stop {
        Stop::Encoder(e.into())
    }
}

fn too_large() -> GoError {
    let limit = super::MAX_RESULT;
    GoError::plain(format!(
        "result of more than {limit} bytes is too large (limit {limit})"
    ))
}

/// `toml.NewEncoder(buf).Encode(v)`.
pub fn to_toml(v: &Value) -> Result<String, Stop> {
    let mut e = Encoder {
        out: String::new(),
        written: false,
        open: Vec::new(),
    };
    e.encode(&[], v)?;
    Ok(e.out)
}

/// The TOML type of a Go value (`tomlTypeOfGo`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum TomlType {
    Bool,
    Integer,
    Float,
    String,
    Datetime,
    Array,
    Hash,
    ArrayHash,
}

/// A struct's exported fields in declaration order.
fn struct_fields(o: &Object) -> Option<Vec<(&'static str, Value)>> {
    let s = Value::str;
    Some(match o {
        Object::Capabilities(c) => vec![
            (
                "KubeVersion",
                Value::object(Object::KubeVersion(c.kube_version.clone())),
            ),
            ("APIVersions", Value::str_list(c.api_versions.clone())),
            (
                "HelmVersion",
                Value::object(Object::HelmVersion(c.helm_version.clone())),
            ),
        ],
        Object::KubeVersion(k) => vec![
            ("Version", s(&k.version)),
            ("Major", s(&k.major)),
            ("Minor", s(&k.minor)),
        ],
        Object::HelmVersion(h) => vec![
            ("Version", s(&h.version)),
            ("GitCommit", s(&h.git_commit)),
            ("GitTreeState", s(&h.git_tree_state)),
            ("GoVersion", s(&h.go_version)),
            ("KubeClientVersion", s(&h.kube_client_version)),
        ],
        Object::Certificate(c) => vec![("Cert", s(&c.cert)), ("Key", s(&c.key))],
        // Unexported fields only.
        Object::Location(_) => Vec::new(),
        _ => return None,
    })
}

fn is_nil(v: &Value) -> bool {
    matches!(v, Value::Nil | Value::Invalid)
}

fn list_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l) => Some(l.items.to_vec()),
        Value::Bytes(b) => Some(b.iter().map(|x| Value::Uint(u64::from(*x))).collect()),
        _ => None,
    }
}

/// `tomlTypeOfGo`: `None` for what Go's `isNil` holds nil, a nil slice
/// or map as well as a nil interface (so a list holding a nil slice is an
/// array with a nil element, and a map's nil value is written among its
/// plain keys, where it is skipped).
fn toml_type(v: &Value) -> Result<Option<TomlType>, String> {
    Ok(Some(match v {
        Value::Nil | Value::Invalid => return Ok(None),
        Value::List(l) if l.nil => return Ok(None),
        Value::Map(m) if m.nil => return Ok(None),
        Value::Bool(_) => TomlType::Bool,
        Value::Int(_) | Value::Int64(_) | Value::Uint(_) => TomlType::Integer,
        Value::Float(_) => TomlType::Float,
        Value::Complex(..) => return Err(format!("unsupported type: {}", v.kind().name())),
        Value::String(_) => TomlType::String,
        Value::List(_) | Value::Bytes(_) => {
            if is_table_array(v)? {
                TomlType::ArrayHash
            } else {
                TomlType::Array
            }
        }
        Value::Map(_) => TomlType::Hash,
        Value::Object(o) => match &**o {
            Object::Time(_) => TomlType::Datetime,
            // semver.Version is an encoding.TextMarshaler; BurntSushi's
            // encoder writes a time.Duration as its String().
            Object::Semver(_) | Object::SemverValue(_) | Object::Duration(_) => TomlType::String,
            _ => TomlType::Hash,
        },
    }))
}

/// `isTableArray`: non-empty and all tables; a nil element is an error.
fn is_table_array(v: &Value) -> Result<bool, String> {
    let items = list_items(v).unwrap_or_default();
    if items.is_empty() {
        return Ok(false);
    }
    let mut all = true;
    for item in &items {
        match toml_type(item)? {
            None => return Err("toml: cannot encode array with nil element".into()),
            Some(t) => all &= t == TomlType::Hash,
        }
    }
    Ok(all)
}

fn is_table(t: Option<TomlType>) -> bool {
    matches!(t, Some(TomlType::Hash | TomlType::ArrayHash))
}

fn bare_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// BurntSushi's `dblQuotedReplacer`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_part(k: &str) -> String {
    if k.is_empty() {
        "\"\"".into()
    } else if k.chars().all(bare_key_char) {
        k.to_string()
    } else {
        quote(k)
    }
}

/// `Key.String()`: the dotted path.
fn key_string(key: &[String]) -> String {
    key.iter()
        .map(|k| key_part(k))
        .collect::<Vec<_>>()
        .join(".")
}

/// `floatAddDecimal(strconv.FormatFloat(f, 'g', -1, 64))`.
fn format_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    let s = crate::gofmt::format_float(f, 'g', None);
    if s.contains('e') || s.contains('.') {
        s
    } else {
        s + ".0"
    }
}

struct Encoder {
    out: String,
    written: bool,
    /// The maps being written, outermost first (their identities).
    open: Vec<usize>,
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.write("\n");
        }
    }

    fn indent(key: &[String]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn encode(&mut self, key: &[String], v: &Value) -> Result<(), Stop> {
        let _level = self.enter()?;
        self.encode_inner(key, v)
    }

    /// One level down, if the value is not too deep and the output not
    /// too large yet.
    fn enter(&self) -> Result<crate::value::DepthGuard, Stop> {
        if self.out.len() as u128 > super::MAX_RESULT {
            return Err(Stop::TooLarge);
        }
        crate::value::DepthGuard::enter().ok_or_else(|| "toml: value nests too deeply".into())
    }

    fn encode_inner(&mut self, key: &[String], v: &Value) -> Result<(), Stop> {
        match v {
            Value::Nil | Value::Invalid => Ok(()),
            Value::List(_) | Value::Bytes(_) => {
                if toml_type(v)? == Some(TomlType::ArrayHash) {
                    self.array_of_tables(key, v)
                } else {
                    self.key_value(key, v, false)
                }
            }
            Value::Map(_) => self.table(key, v),
            Value::Object(o) if struct_fields(o).is_some() || matches!(**o, Object::Files(_)) => {
                self.table(key, v)
            }
            _ => self.key_value(key, v, false),
        }
    }

    fn key_value(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), Stop> {
        let Some(last) = key.last() else {
            return self.element(v);
        };
        let head = format!("{}{} = ", Self::indent(key), key_part(last));
        self.write(&head);
        self.element(v)?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, v: &Value) -> Result<(), Stop> {
        let _level = self.enter()?;
        match v {
            Value::Object(o) => match &**o {
                Object::Time(t) => {
                    let s =
                        crate::funcs::dates::format_time(t, "2006-01-02T15:04:05.999999999Z07:00");
                    self.write(&s);
                    Ok(())
                }
                Object::Semver(ver) | Object::SemverValue(ver) => {
                    self.write(&quote(&ver.to_string()));
                    Ok(())
                }
                Object::Duration(d) => {
                    self.write(&quote(&crate::funcs::dates::duration_string(*d)));
                    Ok(())
                }
                _ => self.map_or_struct(&[], v, true),
            },
            Value::String(s) => {
                let q = quote(s);
                self.write(&q);
                Ok(())
            }
            Value::Bool(b) => {
                self.write(if *b { "true" } else { "false" });
                Ok(())
            }
            Value::Int(i) | Value::Int64(i) => {
                self.write(&i.to_string());
                Ok(())
            }
            Value::Uint(u) => {
                self.write(&u.to_string());
                Ok(())
            }
            Value::Float(f) => {
                self.write(&format_float(*f));
                Ok(())
            }
            Value::Complex(..) => Err(format!("unsupported type: {}", v.kind().name()).into()),
            Value::List(_) | Value::Bytes(_) => {
                let items = list_items(v).unwrap_or_default();
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    self.element(item)?;
                    if i + 1 != items.len() {
                        self.write(", ");
                    }
                }
                self.write("]");
                Ok(())
            }
            Value::Map(_) => self.map_or_struct(&[], v, true),
            Value::Nil | Value::Invalid => {
                Err("reflect: call of reflect.Value.Interface on zero Value".into())
            }
        }
    }

    fn array_of_tables(&mut self, key: &[String], v: &Value) -> Result<(), Stop> {
        if key.is_empty() {
            return Err("toml: top-level values must be Go maps or structs".into());
        }
        for item in list_items(v).unwrap_or_default() {
            if is_nil(&item) {
                continue;
            }
            self.newline();
            let head = format!("{}[[{}]]", Self::indent(key), key_string(key));
            self.write(&head);
            self.newline();
            self.map_or_struct(key, &item, false)?;
        }
        Ok(())
    }

    fn table(&mut self, key: &[String], v: &Value) -> Result<(), Stop> {
        if key.len() == 1 {
            // An extra newline between top-level tables.
            self.newline();
        }
        if !key.is_empty() {
            let head = format!("{}[{}]", Self::indent(key), key_string(key));
            self.write(&head);
            self.newline();
        }
        self.map_or_struct(key, v, false)
    }

    /// `eMap`/`eStruct`: plain keys first, then sub-tables.
    /// A map inside itself: from there Go's encoder does what it did from
    /// the outer one, with no error this time either (none came since),
    /// and so never ends; berth stops as at the size limit, which Go's
    /// output passes in the end.
    fn map_or_struct(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), Stop> {
        let Value::Map(m) = v else {
            return self.map_or_struct_inner(key, v, inline);
        };
        let id = std::rc::Rc::as_ptr(&m.entries) as usize;
        if self.open.contains(&id) {
            return Err(Stop::TooLarge);
        }
        self.open.push(id);
        let done = self.map_or_struct_inner(key, v, inline);
        self.open.pop();
        done
    }

    fn map_or_struct_inner(&mut self, key: &[String], v: &Value, inline: bool) -> Result<(), Stop> {
        let (entries, is_struct): (Vec<(String, Value)>, bool) = match v {
            Value::Map(m) => (m.pairs(), false),
            Value::Object(o) => match &**o {
                Object::Files(files) => (
                    files
                        .iter()
                        .map(|(k, d)| (k.clone(), Value::bytes_of(d)))
                        .collect(),
                    false,
                ),
                other => (
                    struct_fields(other)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                    true,
                ),
            },
            _ => (Vec::new(), false),
        };
        let total = entries.len();
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (idx, (k, val)) in entries.into_iter().enumerate() {
            if is_table(toml_type(&val)?) {
                sub.push((idx, k, val));
            } else {
                direct.push((idx, k, val));
            }
        }
        if !is_struct {
            direct.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
            sub.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
        }
        if inline {
            self.write("{");
        }
        let has_sub = !sub.is_empty();
        for (group, trailing) in [(direct, has_sub), (sub, false)] {
            let n = group.len();
            for (i, (idx, k, val)) in group.into_iter().enumerate() {
                // BurntSushi skips nil values: interfaces, maps and slices.
                if is_nil(&val)
                    || matches!(&val, Value::List(l) if l.nil)
                    || matches!(&val, Value::Map(m) if m.nil)
                {
                    continue;
                }
                if inline {
                    self.key_value(std::slice::from_ref(&k), &val, true)?;
                    // Maps separate by position in the sorted group,
                    // structs by field index (BurntSushi's quirk).
                    let more = if is_struct {
                        idx + 1 != total
                    } else {
                        trailing || i + 1 != n
                    };
                    if more {
                        self.write(", ");
                    }
                } else {
                    let mut path = key.to_vec();
                    path.push(k);
                    self.encode(&path, &val)?;
                }
            }
        }
        if inline {
            self.write("}");
        }
        Ok(())
    }
}
