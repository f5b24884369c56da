//! `values.schema.json` validation as Helm v4 does it (`ValidateAgainstSchema`
//! with santhosh-tekuri/jsonschema v6): each chart's schema checks the
//! values the chart sees (a subchart's section of the coalesced values),
//! and failures are reported per chart:
//!
//! ```text
//! values don't meet the specifications of the schema(s) in the following chart(s):
//! mychart:
//! - at '/replicaCount': got string, want integer
//! ```
//!
//! A schema that does not compile (invalid JSON, a keyword value its
//! draft's metaschema rejects, a reference that does not resolve) fails
//! the same way, with the compiler's error in place of the list.

mod compile;
mod doc;
mod format;
mod meta;
mod num;
mod validate;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde_json::Value as J;

use super::Chart;

/// Helm's `ValidateAgainstSchema`: the problems of every chart, in Helm's
/// layout, or `None` when the values fit.
pub fn validate_against_schema(chart: &Chart, values: &J) -> Option<String> {
    let mut out = String::new();
    if let Some(schema) = &chart.schema
        && let Err(e) = validate_single(values, schema, &chart.remote_schemas)
    {
        out.push_str(&format!("{}:\n{e}", chart.name()));
    }
    for sub in &chart.dependencies {
        let raw = values.get(sub.name());
        match raw {
            None | Some(J::Null) => continue,
            Some(J::Object(_)) => {
                if let Some(e) = validate_against_schema(sub, raw.unwrap_or(&J::Null)) {
                    out.push_str(&e);
                }
            }
            Some(other) => out.push_str(&format!(
                "{}:\ninvalid type for values: expected object (map), got {}\n",
                sub.name(),
                go_type(other)
            )),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The documents a chart's schemas refer to by URL (`http(s)://`,
/// `file://`), as Helm's loaders read them when it compiles a schema: the
/// bytes read, or the loader's error (`HTTP request to URL returned status
/// 404 (Not Found)`). Read ahead by the caller, which has the network and
/// the files: [`unfetched_reference`] says what to read next.
pub type RemoteSchemas = BTreeMap<String, Result<Vec<u8>, String>>;

/// The first URL a schema of the chart (or of a subchart) refers to that
/// is not in its [`RemoteSchemas`] yet, nor a metaschema: what to read
/// before it can be compiled. None: nothing left to read.
pub fn unfetched_reference(chart: &Chart) -> Option<String> {
    if let Some(schema) = &chart.schema {
        let unfetched = RefCell::new(None);
        // Whatever else is wrong with the schema is for validation to say.
        let _ = compile_schema(schema, &chart.remote_schemas, Some(&unfetched));
        if let Some(url) = unfetched.into_inner() {
            return Some(url);
        }
    }
    chart.dependencies.iter().find_map(unfetched_reference)
}

/// A schema file compiled, or why it cannot be.
fn compile_schema(
    schema: &[u8],
    remote: &RemoteSchemas,
    unfetched: Option<&RefCell<Option<String>>>,
) -> Result<compile::Compiled, String> {
    let text = String::from_utf8_lossy(schema);
    decode_schema(&text)?;
    let doc = doc::parse(&text).ok_or("invalid character after top-level value")?;
    // Each read document as jsonschema's UnmarshalJSON takes it.
    let fetched: compile::Fetched = remote
        .iter()
        .map(|(url, read)| {
            let parsed = read.as_ref().map_err(String::clone).and_then(|bytes| {
                let text = String::from_utf8_lossy(bytes);
                decode_schema(&text)?;
                doc::parse(&text).ok_or_else(|| "invalid character after top-level value".into())
            });
            (url.clone(), parsed)
        })
        .collect();
    let opts = compile::Options {
        load: meta::document,
        fetched: Some(&fetched),
        unfetched,
        assert_format: false,
        check: Some(&meta::check),
    };
    compile::compile(&doc, compile::ROOT_URL, opts)
}

/// jsonschema's `UnmarshalJSON`, as far as its errors go: one value read
/// by Go's `json.Decoder` (with `UseNumber`, so no number is too big), then
/// nothing but whitespace. Nothing at all is `EOF`, a value cut short
/// `unexpected EOF`, where `json.Unmarshal` says `unexpected end of JSON
/// input` for both; anything after the value is `invalid character after
/// top-level value`, without the character.
fn decode_schema(text: &str) -> Result<(), String> {
    use crate::json::{PrefixError, unmarshal_prefix};
    match unmarshal_prefix(text) {
        Ok(None) => Err("EOF".into()),
        Err(PrefixError::UnexpectedEof) => Err("unexpected EOF".into()),
        Err(PrefixError::Syntax(msg, _)) if msg.starts_with("json: cannot unmarshal number") => {
            Ok(())
        }
        Err(PrefixError::Syntax(msg, _)) => Err(msg),
        Ok(Some((_, n))) if !text[n..].trim_matches([' ', '\t', '\n', '\r']).is_empty() => {
            Err("invalid character after top-level value".into())
        }
        Ok(Some(_)) => Ok(()),
    }
}

/// [`compile_schema`], remembered per thread: a chart's schemas are the
/// same every render, and compiling one costs more than validating. Not
/// a schema that refers to documents read from URLs: those may differ
/// from one render to the next, as they do for Helm.
fn compiled(schema: &[u8], remote: &RemoteSchemas) -> Result<Rc<compile::Compiled>, String> {
    if !remote.is_empty() {
        return compile_schema(schema, remote, None).map(Rc::new);
    }
    /// Past this many schemas the cache starts over.
    const MAX_SCHEMAS: usize = 64;
    type Cache = HashMap<Box<[u8]>, Result<Rc<compile::Compiled>, String>>;
    thread_local! {
        static CACHE: RefCell<Cache> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        if let Some(r) = c.borrow().get(schema) {
            return r.clone();
        }
        let r = compile_schema(schema, remote, None).map(Rc::new);
        let mut c = c.borrow_mut();
        if c.len() >= MAX_SCHEMAS {
            c.clear();
        }
        c.insert(schema.into(), r.clone());
        r
    })
}

/// Go's `%T` of a value as Helm holds it.
fn go_type(v: &J) -> &'static str {
    match v {
        J::Null => "<nil>",
        J::Bool(_) => "bool",
        J::Number(n) if n.is_f64() => "float64",
        J::Number(_) => "int64",
        J::String(_) => "string",
        J::Array(_) => "[]interface {}",
        J::Object(_) => "map[string]interface {}",
    }
}

/// Helm's `ValidateAgainstSingleSchema`: the error text (validation
/// failures end with a newline, other errors do not).
/// Helm's `ValidateAgainstSingleSchema`: one schema file's verdict on
/// `values`, its problems one per line (what `helm lint` reports for
/// values.yaml).
/// `remote`: the documents its references name by URL.
pub fn validate_single(values: &J, schema: &[u8], remote: &RemoteSchemas) -> Result<(), String> {
    let compiled = compiled(schema, remote)?;
    let values = match values {
        J::Object(_) => values.clone(),
        _ => J::Object(Default::default()),
    };
    match validate::validate(&compiled, &values) {
        Ok(()) => Ok(()),
        Err(e) => {
            let text = e.text();
            let prefix = "jsonschema validation failed with 'file:///values.schema.json#'\n";
            let text = text.strip_prefix(prefix).unwrap_or(&text);
            Err(format!("{text}\n"))
        }
    }
}
