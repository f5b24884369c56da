//! Fields and methods of the Go objects templates can reach:
//! `.Files` (`engine.files`), `.Capabilities` (`*common.Capabilities`),
//! `.Capabilities.KubeVersion`, `.Capabilities.HelmVersion`,
//! `.Capabilities.APIVersions` (`VersionSet.Has`), `*semver.Version`, and
//! the methods of `common.Values` (the type of `.`, `.Values` and
//! `.Template`), which win over map keys of the same name.

use crate::error::GoError;
use crate::exec::Engine;
use crate::funcs::{Sig, Ty, s, sig};
use crate::value::{ListType, Map, MapType, Object, Value};

/// A method bound to its receiver by the executor.
#[derive(Clone, Copy)]
pub struct Method {
    pub sig: Sig,
    pub f: fn(&mut Engine<'_>, &Value, Vec<Value>) -> Result<Value, GoError>,
}

/// The result of looking up a struct field.
pub enum Field {
    Value(Value),
    /// The field exists but is unexported; carries the struct's type name.
    Unexported(&'static str),
    /// A method templates cannot call (text/template's `goodFunc`): why.
    Uncallable(&'static str),
    Missing,
}

fn obj(v: &Value) -> Option<&Object> {
    match v {
        Value::Object(o) => Some(o),
        _ => None,
    }
}

/// Finds method `name` of the value's Go type.
pub fn method(v: &Value, name: &str) -> Option<Method> {
    use Ty::*;
    if let Value::List(l) = v {
        if l.ty == ListType::VersionSet && name == "Has" {
            return Some(Method {
                sig: sig(&[Str]),
                f: |_, recv, a| {
                    let want = s(&a[0]);
                    Ok(Value::Bool(
                        matches!(recv, Value::List(l) if l.items.iter().any(|x| x.as_str() == Some(want))),
                    ))
                },
            });
        }
        return None;
    }
    if let Value::Map(m) = v {
        return if m.ty == MapType::Values {
            values_method(name)
        } else {
            None
        };
    }
    let o = obj(v)?;
    match o {
        Object::Files(_) => super::files::method(name),
        Object::Capabilities(_) if name == "Copy" => Some(Method {
            sig: sig(&[]),
            f: |_, recv, _| Ok(recv.clone()),
        }),
        Object::KubeVersion(_) => match name {
            "String" => Some(Method {
                sig: sig(&[]),
                f: |_, recv, _| {
                    Ok(Value::str(match obj(recv) {
                        Some(Object::KubeVersion(k)) => k.string(),
                        _ => "",
                    }))
                },
            }),
            "GitVersion" => Some(Method {
                sig: sig(&[]),
                f: |_, recv, _| {
                    Ok(Value::str(match obj(recv) {
                        Some(Object::KubeVersion(k)) => &k.version,
                        _ => "",
                    }))
                },
            }),
            _ => None,
        },
        Object::Semver(_) => crate::funcs::semver::method(name, true),
        Object::SemverValue(_) => crate::funcs::semver::method(name, false),
        Object::Time(_) => crate::funcs::dates::method(name),
        Object::Duration(_) => crate::funcs::dates::duration_method(name),
        Object::Location(_) => crate::funcs::dates::location_method(name),
        _ => None,
    }
}

/// Looks up struct field `name` (or map key, for `.Files`).
pub fn field(o: &Object, name: &str) -> Field {
    let st = |x: &str| Field::Value(Value::str(x));
    match o {
        Object::Files(f) => Field::Value(Value::bytes_of(f.get(name).map_or(&[], |b| b))),
        Object::Capabilities(c) => match name {
            "KubeVersion" => {
                Field::Value(Value::object(Object::KubeVersion(c.kube_version.clone())))
            }
            "APIVersions" => Field::Value(Value::List(crate::value::List::typed(
                c.api_versions.iter().map(Value::str).collect(),
                ListType::VersionSet,
            ))),
            "HelmVersion" => {
                Field::Value(Value::object(Object::HelmVersion(c.helm_version.clone())))
            }
            _ => Field::Missing,
        },
        Object::KubeVersion(k) => match name {
            "Version" => st(&k.version),
            "Major" => st(&k.major),
            "Minor" => st(&k.minor),
            "normalizedVersion" => Field::Unexported("common.KubeVersion"),
            _ => Field::Missing,
        },
        Object::HelmVersion(h) => match name {
            "Version" => st(&h.version),
            "GitCommit" => st(&h.git_commit),
            "GitTreeState" => st(&h.git_tree_state),
            "GoVersion" => st(&h.go_version),
            "KubeClientVersion" => st(&h.kube_client_version),
            _ => Field::Missing,
        },
        Object::Certificate(c) => match name {
            "Cert" => st(&c.cert),
            "Key" => st(&c.key),
            _ => Field::Missing,
        },
        // time.Time's methods of several results.
        Object::Time(_) => match name {
            "Zone" => Field::Uncallable(
                "invalid function signature for Zone: second return value should be error; is int",
            ),
            "ISOWeek" => Field::Uncallable(
                "invalid function signature for ISOWeek: second return value should be error; is int",
            ),
            "Date" => Field::Uncallable("function Date has 3 return values; should be 1 or 2"),
            "Clock" => Field::Uncallable("function Clock has 3 return values; should be 1 or 2"),
            _ => Field::Missing,
        },
        Object::Semver(_) | Object::SemverValue(_) | Object::Duration(_) | Object::Location(_) => {
            Field::Missing
        }
    }
}

/// The receiver of a `common.Values` method.
fn values_recv(v: &Value) -> Map {
    match v {
        Value::Map(m) => m.clone(),
        _ => Map::typed(Default::default(), MapType::Values),
    }
}

/// `m` seen as another map type (same entries, like a Go conversion).
fn retyped(m: &Map, ty: MapType) -> Value {
    Value::Map(Map {
        entries: m.entries.clone(),
        ty,
        nil: m.nil,
    })
}

/// Helm's `tableLookup`: only a `map[string]interface{}` (or `Values`) is a table.
fn table_lookup(v: &Map, key: &str) -> Result<Map, GoError> {
    let not_table = || GoError::plain(format!("{} is not a table", crate::gofmt::quote(key)));
    match v.get(key) {
        Some(Value::Map(m)) if matches!(m.ty, MapType::Any | MapType::Values) => Ok(m),
        _ => Err(not_table()),
    }
}

/// `Values.Table("a.b")`.
fn values_table(v: &Map, name: &str) -> Result<Map, GoError> {
    let mut table = v.clone();
    for part in name.split('.') {
        table = table_lookup(&table, part)?;
    }
    Ok(table)
}

/// Helm's `istable`: exactly a `map[string]interface{}`.
fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(m) if m.ty == MapType::Any)
}

/// `Values.PathValue("a.b.c")`.
fn values_path_value(v: &Map, path: &str) -> Result<Value, GoError> {
    if path.is_empty() {
        return Err(GoError::plain("YAML path cannot be empty"));
    }
    let parts: Vec<&str> = path.split('.').collect();
    let no_value = |k: &str| GoError::plain(format!("{} is not a value", crate::gofmt::quote(k)));
    let (key, table) = match parts.split_last() {
        Some((key, [])) => (*key, v.clone()),
        Some((key, rest)) => match values_table(v, &rest.join(".")) {
            Ok(t) => (*key, t),
            Err(_) => return Err(no_value(key)),
        },
        None => return Err(no_value("")),
    };
    match table.get(key) {
        Some(x) if !is_table(&x) => Ok(x),
        _ => Err(no_value(key)),
    }
}

fn values_method(name: &str) -> Option<Method> {
    use Ty::*;
    Some(match name {
        "YAML" => Method {
            sig: sig(&[]),
            f: |_, recv, _| {
                crate::yaml::marshal_value(recv)
                    .map(Value::str)
                    .map_err(GoError::plain)
            },
        },
        "Table" => Method {
            sig: sig(&[Str]),
            f: |_, recv, a| {
                values_table(&values_recv(recv), s(&a[0])).map(|t| retyped(&t, MapType::Values))
            },
        },
        "AsMap" => Method {
            sig: sig(&[]),
            f: |_, recv, _| {
                let m = values_recv(recv);
                Ok(if m.is_empty() {
                    Value::Map(Map::new())
                } else {
                    retyped(&m, MapType::Any)
                })
            },
        },
        "PathValue" => Method {
            sig: sig(&[Str]),
            f: |_, recv, a| values_path_value(&values_recv(recv), s(&a[0])),
        },
        // Encode(io.Writer): templates have no writer to give it; nil
        // makes Go's call dereference a nil pointer.
        "Encode" => Method {
            sig: sig(&[Any]),
            f: |_, _, _| {
                Err(GoError::plain(
                    "runtime error: invalid memory address or nil pointer dereference",
                ))
            },
        },
        _ => return None,
    })
}
