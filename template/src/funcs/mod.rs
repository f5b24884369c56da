//! Template functions: Go's builtins, Sprig and Helm's additions.
//!
//! Each function declares its Go signature ([`Sig`]) so the executor can
//! apply Go's argument rules exactly (a float64 passed to an `int`
//! parameter fails with "wrong type for value; expected int; got float64",
//! a literal `1.5` for an `int` with "expected integer; found 1.5", …).
//! Implementations receive checked arguments and the [`Engine`] (for
//! `include`, `tpl` and `lookup`, which need the template set).
//!
//! Modules: `builtins` (Go's own), `strings`, `lists`, `dicts`, `math`,
//! `conv` (type conversion and inspection), `encoding`, `url`, `crypto` (hashes,
//! random, bcrypt, AES, derivePassword), `pki` (keys and certificates, over
//! `der`), `dates`, `semver`, `toml`/`toml_parse`, `helm` (include, tpl,
//! required, toYaml, …).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::GoError;
use crate::exec::Engine;
use crate::value::Value;

pub mod builtins;
pub mod conv;
pub mod crypto;
pub mod dates;
pub mod der;
pub mod dicts;
pub mod encoding;
pub mod goregex;
pub mod helm;
pub mod lists;
pub mod math;
pub mod pki;
pub mod semver;
pub mod strings;
pub mod toml;
pub mod toml_parse;
pub mod url;

/// A Go parameter type, as far as argument checking needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `interface {}`: anything; no value becomes nil.
    Any,
    /// `reflect.Value`: anything, passed through untouched (Go's builtins).
    Reflect,
    Str,
    Int,
    Int64,
    Float64,
    Bool,
    /// `map[string]interface {}`
    Dict,
    /// `[]interface {}`
    Slice,
    /// `[]string`
    StrList,
    /// `time.Time`
    Time,
    /// Sprig's `certificate` struct.
    Cert,
    /// `uint32` (`derivePassword`'s counter): only constants fit.
    Uint32,
    /// `time.Duration` (`time.Time`'s `Add`, `Truncate`, `Round` and
    /// `Duration`'s own): a duration (`Sub`'s) or a constant, which arrives
    /// as int64 nanoseconds.
    Duration,
    /// `*time.Location` (`time.Time`'s `In`).
    Location,
}

impl Ty {
    /// The Go spelling of the type, for error messages.
    pub fn go_name(self) -> &'static str {
        match self {
            Ty::Any => "interface {}",
            Ty::Reflect => "reflect.Value",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::Int64 => "int64",
            Ty::Float64 => "float64",
            Ty::Bool => "bool",
            Ty::Dict => "map[string]interface {}",
            Ty::Slice => "[]interface {}",
            Ty::StrList => "[]string",
            Ty::Time => "time.Time",
            Ty::Cert => "sprig.certificate",
            Ty::Uint32 => "uint32",
            Ty::Duration => "time.Duration",
            Ty::Location => "*time.Location",
        }
    }

    /// Whether Go's `reflect.Zero` of the type is nil (an untyped nil fits).
    pub fn can_be_nil(self) -> bool {
        matches!(
            self,
            Ty::Any | Ty::Reflect | Ty::Dict | Ty::Slice | Ty::StrList | Ty::Location
        )
    }
}

/// A Go function signature: fixed parameters and an optional variadic tail.
#[derive(Clone, Copy, Debug)]
pub struct Sig {
    pub params: &'static [Ty],
    pub variadic: Option<Ty>,
}

pub type FnImpl = fn(&mut Engine<'_>, Vec<Value>) -> Result<Value, GoError>;

/// A template function.
#[derive(Clone, Copy)]
pub struct Func {
    pub sig: Sig,
    pub f: FnImpl,
    /// Go's builtins (and, or, call, …) get special treatment in `evalCall`.
    pub builtin: bool,
}

/// Shorthand for building signatures.
pub const fn sig(params: &'static [Ty]) -> Sig {
    Sig {
        params,
        variadic: None,
    }
}

pub const fn sig_var(params: &'static [Ty], variadic: Ty) -> Sig {
    Sig {
        params,
        variadic: Some(variadic),
    }
}

pub type FuncMap = HashMap<&'static str, Func>;

/// The functions available to Helm templates (Sprig's `TxtFuncMap` minus
/// `env`/`expandenv`, plus Helm's own), and Go's builtins.
pub fn all() -> &'static FuncMap {
    static FUNCS: OnceLock<FuncMap> = OnceLock::new();
    FUNCS.get_or_init(|| {
        let mut m = FuncMap::new();
        builtins::register(&mut m);
        strings::register(&mut m);
        lists::register(&mut m);
        dicts::register(&mut m);
        math::register(&mut m);
        conv::register(&mut m);
        encoding::register(&mut m);
        crypto::register(&mut m);
        pki::register(&mut m);
        dates::register(&mut m);
        semver::register(&mut m);
        helm::register(&mut m);
        toml::register(&mut m);
        url::register(&mut m);
        m
    })
}

/// Registers a (non-builtin) function.
pub fn add(m: &mut FuncMap, name: &'static str, sig: Sig, f: FnImpl) {
    m.insert(
        name,
        Func {
            sig,
            f,
            builtin: false,
        },
    );
}

/// The largest string (bytes) or list (items) a function may build. Go
/// would try and die of memory exhaustion; we refuse with an error.
pub const MAX_RESULT: u128 = 1 << 28;

/// Refuses a result of `n` bytes or items beyond [`MAX_RESULT`].
pub fn check_size(n: u128) -> Result<(), GoError> {
    if n > MAX_RESULT {
        return Err(err(format!(
            "result of {n} bytes or items is too large (limit {MAX_RESULT})"
        )));
    }
    Ok(())
}

/// Refuses to print or encode a value whose output would pass
/// [`MAX_RESULT`] bytes (see [`Value::printed_size_within`]).
pub fn check_printable(v: &Value) -> Result<(), GoError> {
    check_all_printable(std::slice::from_ref(v))
}

/// What encoding/json makes of a value the size check passes: `Ok(None)`
/// to encode it, `Ok(Some(error))` when it holds itself (Go's error, which
/// Sprig's toJson and toYaml turn into ""), or the size refusal.
/// Like Go, which starts looking for cycles 1,000 levels down, only a value
/// that deep is searched for one: the size walk notes the depth for free.
/// Go's error is the first its encoder meets on the way down, a NaN before
/// the cycle (`dict "a" NaN "self" ...`), which berth's encoder finds too.
pub fn check_encodable(v: &Value) -> Result<Option<String>, GoError> {
    check_encodable_by(v, crate::json::marshal)
}

/// [`check_encodable`] for a value `marshal` encodes (`toRawJson`'s
/// encoder, which meets a cycle one level later).
pub fn check_encodable_by(
    v: &Value,
    marshal: fn(&Value) -> Result<String, String>,
) -> Result<Option<String>, GoError> {
    match v.printed_size_and_depth(MAX_RESULT, 1000) {
        Ok(_) => Ok(None),
        Err(deep) => {
            if deep && let Some(cycle) = crate::json::cycle_error(v) {
                return Ok(Some(marshal(v).err().unwrap_or(cycle)));
            }
            check_printable(v).map(|()| None)
        }
    }
}

/// [`check_printable`] for the arguments one call prints together.
pub fn check_all_printable(values: &[Value]) -> Result<(), GoError> {
    let mut room = MAX_RESULT;
    for v in values {
        match v.printed_size_within(room) {
            Some(n) => room -= n,
            None => {
                return Err(err(format!(
                    "result of more than {MAX_RESULT} bytes is too large (limit {MAX_RESULT})"
                )));
            }
        }
    }
    Ok(())
}

/// A plain error from a function (Go's `errors.New`).
pub fn err(msg: impl Into<String>) -> GoError {
    GoError::plain(msg)
}

// ---- argument helpers used by the implementations ----

/// The string in a value known to be a string (checked by the signature).
pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The integer in a value known to be an integer (checked by the signature).
pub fn i(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => *f as i64,
        _ => 0,
    }
}

/// The items of a list-typed argument; nil is the empty list.
pub fn items(v: &Value) -> Vec<Value> {
    match v {
        Value::List(l) => l.items.to_vec(),
        _ => Vec::new(),
    }
}

/// The strings of a `[]string` argument.
pub fn strs(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .items
            .iter()
            .map(|x| x.as_str().unwrap_or("").to_string())
            .collect(),
        _ => Vec::new(),
    }
}
