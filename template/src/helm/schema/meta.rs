//! The metaschemas of drafts 4, 6, 7, 2019-09 and 2020-12, and checking a
//! chart's schema against its draft's, as santhosh-tekuri/jsonschema v6
//! does when Helm compiles `values.schema.json` (`roots.validate`):
//!
//! ```text
//! "file:///values.schema.json#" is not valid against metaschema: jsonschema validation failed with 'https://json-schema.org/draft/2020-12/schema#'
//! - at '': 'allOf' failed
//!   - at '/required': got string, want array
//! ```
//!
//! The documents come from the `referencing` crate. Its drafts 2019-09 and
//! 2020-12 (with their vocabularies) are the ones the Go validator embeds;
//! its drafts 4, 6 and 7 are later revisions, so [`as_go_embeds`] puts back
//! what the Go copies say. The metaschemas are compiled once per process,
//! with `format` asserted as the validator compiles them.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{Value as J, json};

use super::compile::{self, Dialects, Options, Schema};
use super::doc::{self, Sj};
use super::validate;

/// The metaschema URLs, by draft.
const DRAFTS: [(u32, &str); 5] = [
    (2020, "https://json-schema.org/draft/2020-12/schema"),
    (2019, "https://json-schema.org/draft/2019-09/schema"),
    (7, "http://json-schema.org/draft-07/schema"),
    (6, "http://json-schema.org/draft-06/schema"),
    (4, "http://json-schema.org/draft-04/schema"),
];

/// A built-in metaschema document by URL (the validator's `loadMeta`: any
/// `http(s)://json-schema.org/` path it embeds; `schema` is the latest).
pub fn document(url: &str) -> Option<&'static Sj> {
    static DOCS: OnceLock<HashMap<&'static str, Sj>> = OnceLock::new();
    let path = url
        .strip_prefix("http://json-schema.org/")
        .or_else(|| url.strip_prefix("https://json-schema.org/"))?;
    let path = if path == "schema" {
        "draft/2020-12/schema"
    } else {
        path
    };
    DOCS.get_or_init(documents).get(path)
}

fn documents() -> HashMap<&'static str, Sj> {
    use referencing::meta;
    let docs: [(&str, &J); 19] = [
        ("draft-04/schema", &meta::DRAFT4),
        ("draft-06/schema", &meta::DRAFT6),
        ("draft-07/schema", &meta::DRAFT7),
        ("draft/2019-09/schema", &meta::DRAFT201909),
        ("draft/2019-09/meta/core", &meta::DRAFT201909_CORE),
        (
            "draft/2019-09/meta/applicator",
            &meta::DRAFT201909_APPLICATOR,
        ),
        (
            "draft/2019-09/meta/validation",
            &meta::DRAFT201909_VALIDATION,
        ),
        ("draft/2019-09/meta/meta-data", &meta::DRAFT201909_META_DATA),
        ("draft/2019-09/meta/format", &meta::DRAFT201909_FORMAT),
        ("draft/2019-09/meta/content", &meta::DRAFT201909_CONTENT),
        ("draft/2020-12/schema", &meta::DRAFT202012),
        ("draft/2020-12/meta/core", &meta::DRAFT202012_CORE),
        (
            "draft/2020-12/meta/applicator",
            &meta::DRAFT202012_APPLICATOR,
        ),
        (
            "draft/2020-12/meta/unevaluated",
            &meta::DRAFT202012_UNEVALUATED,
        ),
        (
            "draft/2020-12/meta/validation",
            &meta::DRAFT202012_VALIDATION,
        ),
        ("draft/2020-12/meta/meta-data", &meta::DRAFT202012_META_DATA),
        (
            "draft/2020-12/meta/format-annotation",
            &meta::DRAFT202012_FORMAT_ANNOTATION,
        ),
        (
            "draft/2020-12/meta/format-assertion",
            &meta::DRAFT202012_FORMAT_ASSERTION,
        ),
        ("draft/2020-12/meta/content", &meta::DRAFT202012_CONTENT),
    ];
    docs.into_iter()
        .map(|(path, value)| {
            let mut value = value.clone();
            as_go_embeds(path, &mut value);
            let text = value.to_string();
            let sj = doc::parse(&text).unwrap_or(Sj::Bool(true));
            (path, sj)
        })
        .collect()
}

/// The Go validator embeds older revisions of drafts 4, 6 and 7 than the
/// crate ships (their `enum` must be non-empty and unique; draft 4 checks
/// `$ref` and `$schema`; draft 6 has neither `examples` nor a regex check
/// of `patternProperties`' names).
fn as_go_embeds(path: &str, doc: &mut J) {
    let Some(J::Object(props)) = doc.get_mut("properties") else {
        return;
    };
    if matches!(
        path,
        "draft-04/schema" | "draft-06/schema" | "draft-07/schema"
    ) && let Some(J::Object(e)) = props.get_mut("enum")
    {
        e.insert("minItems".into(), json!(1));
        e.insert("uniqueItems".into(), json!(true));
    }
    match path {
        "draft-04/schema" => {
            props.insert("$ref".into(), json!({"type": "string"}));
            if let Some(J::Object(s)) = props.get_mut("$schema") {
                s.insert("format".into(), json!("uri"));
            }
            if let Some(J::Object(s)) = props.get_mut("id") {
                s.insert("format".into(), json!("uriref"));
            }
            if let J::Object(root) = doc {
                root.remove("id");
            }
        }
        "draft-06/schema" => {
            props.remove("examples");
            if let Some(J::Object(p)) = props.get_mut("patternProperties") {
                p.remove("propertyNames");
            }
        }
        _ => {}
    }
}

/// The metaschemas compiled together, and the root of each draft's.
struct Metaschemas {
    compiled: compile::Compiled,
    roots: Vec<(u32, usize)>,
}

fn metaschemas() -> &'static Metaschemas {
    static META: OnceLock<Metaschemas> = OnceLock::new();
    META.get_or_init(|| {
        let opts = Options {
            load: document,
            fetched: None,
            unfetched: None,
            assert_format: true,
            check: None,
        };
        let urls = DRAFTS.map(|(_, url)| url);
        let (schemas, roots): (Vec<Schema>, Vec<usize>) =
            compile::compile_loaded(&urls, opts).unwrap_or_default();
        Metaschemas {
            compiled: compile::Compiled { schemas, root: 0 },
            roots: DRAFTS.iter().map(|(d, _)| *d).zip(roots).collect(),
        }
    })
}

/// Checks the schema at `ptr` of the chart's schema document against the
/// metaschema of its resource's draft (the compiler's `roots.validate`).
pub fn check(node: &Sj, ptr: &str, dialects: &Dialects) -> Result<(), String> {
    let meta = metaschemas();
    let root_of = |draft: u32| {
        meta.roots
            .iter()
            .find(|(d, _)| *d == draft)
            .map(|(_, r)| *r)
    };
    let draft = dialects
        .iter()
        .filter(|(p, _)| ptr == *p || ptr.starts_with(&format!("{p}/")))
        .max_by_key(|(p, _)| p.len())
        .map_or(2020, |(_, d)| *d);
    let Some(root) = root_of(draft) else {
        return Ok(());
    };
    let ctx = validate::Meta {
        roots: &root_of,
        dialects,
    };
    let instance = node.to_json();
    validate::validate_meta(&meta.compiled, root, &instance, &ctx).map_err(|e| {
        format!(
            "{} is not valid against metaschema: {}",
            crate::gofmt::quote(&format!("{}#{}", compile::ROOT_URL, compile::encode(ptr))),
            e.text()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_draft_metaschema_compiles() {
        let meta = metaschemas();
        let drafts: Vec<u32> = meta.roots.iter().map(|(d, _)| *d).collect();
        assert_eq!(drafts, [2020, 2019, 7, 6, 4]);
        let root = meta.roots[0].1;
        assert_eq!(
            meta.compiled.schemas[root].location,
            "https://json-schema.org/draft/2020-12/schema#"
        );
    }

    #[test]
    fn invalid_keyword_value_is_reported_with_its_causes() {
        let schema = doc::parse(r#"{"properties":{"a":{"type":"strin"}}}"#).unwrap();
        let dialects = Dialects::from([(String::new(), 2020)]);
        let err = check(&schema, "", &dialects).unwrap_err();
        assert_eq!(
            err,
            "\"file:///values.schema.json#\" is not valid against metaschema: \
             jsonschema validation failed with 'https://json-schema.org/draft/2020-12/schema#'\n\
             - at '': 'allOf' failed\n  \
             - at '/properties/a': 'allOf' failed\n    \
             - at '/properties/a/type': 'anyOf' failed\n      \
             - at '/properties/a/type': value must be one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string'\n      \
             - at '/properties/a/type': got string, want array"
        );
    }

    #[test]
    fn valid_schema_passes() {
        let schema =
            doc::parse(r#"{"type":"object","properties":{"a":{"type":"string"}}}"#).unwrap();
        let dialects = Dialects::from([(String::new(), 2020)]);
        assert_eq!(check(&schema, "", &dialects), Ok(()));
    }
}
