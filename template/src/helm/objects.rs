//! Fields and methods of the Go objects templates can reach:
//! `.Files` (`engine.files`), `.Capabilities` (`*common.Capabilities`),
//! `.Capabilities.KubeVersion`, `.Capabilities.HelmVersion`,
//! `.Capabilities.APIVersions` (`VersionSet.Has`) and `*semver.Version`.

use crate::error::GoError;
use crate::exec::Engine;
use crate::funcs::{Sig, Ty, s, sig};
use crate::value::{ListType, Object, Value};

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
                        Some(Object::KubeVersion(k)) => &k.normalized,
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
        _ => None,
    }
}

/// Looks up struct field `name` (or map key, for `.Files`).
pub fn field(o: &Object, name: &str) -> Field {
    let st = |x: &str| Field::Value(Value::str(x));
    match o {
        Object::Files(f) => Field::Value(Value::Bytes(
            f.get(name)
                .cloned()
                .unwrap_or_else(|| std::rc::Rc::from(Vec::new())),
        )),
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
        Object::Semver(_) | Object::SemverValue(_) | Object::Time(_) => Field::Missing,
    }
}
