//! Compiling `values.schema.json` the way santhosh-tekuri/jsonschema v6
//! does for Helm: the document is `file:///values.schema.json`, its draft
//! comes from `$schema` (2020-12 when absent), `$id`s open sub-resources,
//! `$ref`s resolve against them (JSON pointers and anchors), and each
//! draft reads its own keywords (before 2019-09 a `$ref` hides its
//! siblings; `format` is asserted only before 2019-09).
//!
//! Several documents compile into one set of schemas: a reference may
//! name a document that [`Options::load`] knows (the built-in
//! metaschemas, which is also how the metaschemas themselves compile,
//! vocabularies and `$dynamicRef`/`$recursiveRef` included). The chart's
//! document is checked by [`Options::check`] (against its draft's
//! metaschema, see `meta.rs`) once its resources are known and before any
//! of it compiles, and so is each `$ref` target that no subschema keyword
//! reaches.
//!
//! Not supported: loading remote or file schemas (Helm fetches them),
//! `$vocabulary` declarations, and the compiler's own checks of `$id`s
//! and anchors (an `$id` that is no URL, a duplicate anchor).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::doc::Sj;
use super::num::Dec;

/// The URL Helm gives the chart's schema.
pub const ROOT_URL: &str = "file:///values.schema.json";

/// JSON types as a bit set (the validator's `jsonType`).
pub const NULL: u8 = 1 << 1;
pub const BOOLEAN: u8 = 1 << 2;
pub const NUMBER: u8 = 1 << 3;
pub const INTEGER: u8 = 1 << 4;
pub const STRING: u8 = 1 << 5;
pub const ARRAY: u8 = 1 << 6;
pub const OBJECT: u8 = 1 << 7;

pub fn type_name(t: u8) -> &'static str {
    match t {
        NULL => "null",
        BOOLEAN => "boolean",
        NUMBER => "number",
        INTEGER => "integer",
        STRING => "string",
        ARRAY => "array",
        OBJECT => "object",
        _ => "",
    }
}

fn type_from_name(s: &str) -> u8 {
    match s {
        "null" => NULL,
        "boolean" => BOOLEAN,
        "number" => NUMBER,
        "integer" => INTEGER,
        "string" => STRING,
        "array" => ARRAY,
        "object" => OBJECT,
        _ => 0,
    }
}

/// The type of a schema document value (`typeOf`).
pub fn sj_type(v: &Sj) -> u8 {
    match v {
        Sj::Null => NULL,
        Sj::Bool(_) => BOOLEAN,
        Sj::Num(_) => NUMBER,
        Sj::Str(_) => STRING,
        Sj::Arr(_) => ARRAY,
        Sj::Obj(_) => OBJECT,
    }
}

/// `additionalProperties`/`additionalItems`.
#[derive(Clone, Debug, Default)]
pub enum Additional {
    #[default]
    None,
    Bool(bool),
    Schema(usize),
}

#[derive(Clone, Debug, Default)]
pub enum Items {
    #[default]
    None,
    One(usize),
    Many(Vec<usize>),
}

#[derive(Clone, Debug)]
pub enum Dependency {
    Required(Vec<String>),
    Schema(usize),
}

/// A compiled (sub)schema.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub location: String,
    pub draft: u32,
    pub boolean: Option<bool>,
    /// The schema of the resource this one belongs to.
    pub resource: usize,
    pub dynamic_anchors: BTreeMap<String, usize>,
    pub recursive_anchor: bool,
    pub dynamic_anchor: String,
    pub reference: Option<usize>,
    pub recursive_ref: Option<usize>,
    pub dynamic_ref: Option<(usize, String)>,
    pub types: u8,
    pub enum_values: Option<(u8, Vec<Sj>)>,
    pub constant: Option<Sj>,
    pub format: Option<String>,
    pub all_of: Vec<usize>,
    pub any_of: Vec<usize>,
    pub one_of: Vec<usize>,
    pub not: Option<usize>,
    pub items: Items,
    pub additional_items: Additional,
    pub prefix_items: Vec<usize>,
    pub items2020: Option<usize>,
    pub properties: BTreeMap<String, usize>,
    pub pattern_properties: Vec<(regex::Regex, usize)>,
    pub additional_properties: Additional,
    pub dependencies: BTreeMap<String, Dependency>,
    pub multiple_of: Option<Dec>,
    pub maximum: Option<Dec>,
    pub exclusive_maximum: Option<Dec>,
    pub minimum: Option<Dec>,
    pub exclusive_minimum: Option<Dec>,
    pub min_length: Option<i64>,
    pub max_length: Option<i64>,
    pub pattern: Option<(regex::Regex, String)>,
    pub min_items: Option<i64>,
    pub max_items: Option<i64>,
    pub unique_items: bool,
    pub min_properties: Option<i64>,
    pub max_properties: Option<i64>,
    pub required: Vec<String>,
    pub contains: Option<usize>,
    pub min_contains: Option<i64>,
    pub max_contains: Option<i64>,
    pub property_names: Option<usize>,
    pub if_: Option<usize>,
    pub then: Option<usize>,
    pub else_: Option<usize>,
    pub dependent_required: BTreeMap<String, Vec<String>>,
    pub dependent_schemas: BTreeMap<String, usize>,
    pub unevaluated_items: Option<usize>,
    pub unevaluated_properties: Option<usize>,
    pub all_props_evaluated: bool,
    pub all_items_evaluated: bool,
    pub num_items_evaluated: usize,
}

/// A compiled schema document.
pub struct Compiled {
    pub schemas: Vec<Schema>,
    pub root: usize,
}

/// The draft of each resource of a document, by its JSON pointer.
pub type Dialects = HashMap<String, u32>;

/// Checks a schema of a document before it is compiled: given the schema,
/// its JSON pointer and the document's [`Dialects`].
pub type Check<'o> = &'o dyn Fn(&Sj, &str, &Dialects) -> Result<(), String>;

/// Documents a reference names outside the schema (`http(s)://`,
/// `file://`), by URL: each as its loader read it, or the loader's error.
pub type Fetched = BTreeMap<String, Result<Sj, String>>;

/// How documents are compiled, besides their content.
#[derive(Clone, Copy)]
pub struct Options<'o> {
    /// The documents a reference may name besides those compiled (the
    /// validator's built-in metaschemas).
    pub load: fn(&str) -> Option<&'static Sj>,
    /// The documents read for references to URLs (Helm's http, https and
    /// file loaders).
    pub fetched: Option<&'o Fetched>,
    /// Set to the first URL a reference named that neither `load` nor
    /// `fetched` has: what to read before compiling again.
    pub unfetched: Option<&'o std::cell::RefCell<Option<String>>>,
    /// Assert `format` in every draft (the metaschemas are compiled so).
    pub assert_format: bool,
    /// Run on the root document once its resources are known, then on each
    /// `$ref` target that is no subschema (the validator's `addRoot` and
    /// `ensureSubschema`), but not on loaded documents.
    pub check: Option<Check<'o>>,
}

/// A document being compiled.
struct Doc<'a> {
    url: String,
    root: &'a Sj,
    checked: bool,
}

/// A resource: the document root or a subschema with an `$id`.
struct Resource {
    doc: usize,
    ptr: String,
    url: String,
    draft: u32,
    anchors: BTreeMap<String, String>,
    dynamic_anchors: Vec<String>,
}

/// Go's `regexp.Compile` (the validator's default regexp engine).
pub fn go_regex(s: &str) -> Result<regex::Regex, String> {
    crate::funcs::strings::go_regex(s)
}

fn draft_from_url(url: &str) -> Option<u32> {
    let (u, frag) = url.split_once('#').unwrap_or((url, ""));
    if !frag.is_empty() {
        return None;
    }
    let u = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"))
        .unwrap_or(u);
    Some(match u {
        "json-schema.org/schema" | "json-schema.org/draft/2020-12/schema" => 2020,
        "json-schema.org/draft/2019-09/schema" => 2019,
        "json-schema.org/draft-07/schema" => 7,
        "json-schema.org/draft-06/schema" => 6,
        "json-schema.org/draft-04/schema" => 4,
        _ => return None,
    })
}

pub fn escape(tok: &str) -> String {
    tok.replace('~', "~0").replace('/', "~1")
}

fn unescape(tok: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = tok.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// `url.PathEscape` per pointer token (the validator's `encode`).
pub fn encode(ptr: &str) -> String {
    ptr.split('/')
        .map(|tok| {
            let mut out = String::new();
            for b in tok.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:@".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `url.PathUnescape`.
fn decode(frag: &str) -> Option<String> {
    let b = frag.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// RFC 3986 reference resolution (Go's `URL.ResolveReference`), for the
/// URLs schemas use.
fn join(base: &str, reference: &str) -> String {
    let (reference, frag) = match reference.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (reference, None),
    };
    let with_frag = |u: String| match frag {
        Some(f) => format!("{u}#{f}"),
        None => u,
    };
    let base = base.split('#').next().unwrap_or(base);
    let has_scheme = |s: &str| {
        s.find(':').is_some_and(|i| {
            i > 0
                && s[..i]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && s[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
    };
    if reference.is_empty() {
        return with_frag(base.to_string());
    }
    if has_scheme(reference) {
        return with_frag(reference.to_string());
    }
    let (scheme, rest) = base.split_once(':').unwrap_or(("", base));
    if let Some(r) = reference.strip_prefix("//") {
        return with_frag(format!("{scheme}://{r}"));
    }
    let (authority, path) = match rest.strip_prefix("//") {
        Some(r) => match r.find('/') {
            Some(i) => (format!("//{}", &r[..i]), r[i..].to_string()),
            None => (format!("//{r}"), String::new()),
        },
        None => (String::new(), rest.to_string()),
    };
    let merged = if reference.starts_with('/') {
        reference.to_string()
    } else {
        let dir = match path.rfind('/') {
            Some(i) => &path[..=i],
            None => "/",
        };
        format!("{dir}{reference}")
    };
    // Remove dot segments.
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = merged.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            "." => {
                if i + 1 == segs.len() {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i + 1 == segs.len() {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let path = out.join("/");
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    with_frag(format!("{scheme}:{authority}{path}"))
}

struct Compiler<'a> {
    opts: Options<'a>,
    docs: Vec<Doc<'a>>,
    resources: Vec<Resource>,
    schemas: Vec<Schema>,
    by_ptr: HashMap<(usize, String), usize>,
    /// The subschemas whose resources and anchors are known.
    collected: HashSet<(usize, String)>,
}

/// Compiles the schema document at `url`.
pub fn compile(doc: &Sj, url: &str, opts: Options) -> Result<Compiled, String> {
    let mut c = Compiler::new(opts);
    let root = c.add_root(url, doc, opts.check.is_some())?;
    Ok(Compiled {
        schemas: c.schemas,
        root,
    })
}

/// Compiles documents that `opts.load` knows into one set of schemas (so
/// that one may refer to another's): their roots, in order.
pub fn compile_loaded(urls: &[&str], opts: Options) -> Result<(Vec<Schema>, Vec<usize>), String> {
    let mut c = Compiler::new(opts);
    let mut roots = Vec::new();
    for url in urls {
        let doc = (opts.load)(url).ok_or_else(|| format!("no document {url}"))?;
        roots.push(c.add_root(url, doc, false)?);
    }
    Ok((c.schemas, roots))
}

impl<'a> Compiler<'a> {
    fn new(opts: Options<'a>) -> Self {
        Compiler {
            opts,
            docs: Vec::new(),
            resources: Vec::new(),
            schemas: Vec::new(),
            by_ptr: HashMap::new(),
            collected: HashSet::new(),
        }
    }

    /// Adds a document, checks it if `checked`, and compiles its root.
    fn add_root(&mut self, url: &str, root: &'a Sj, checked: bool) -> Result<usize, String> {
        let res = self.add_doc(url, root, checked)?;
        if checked && let Some(check) = self.opts.check {
            check(root, "", &self.dialects(self.resources[res].doc))?;
        }
        let doc = self.resources[res].doc;
        self.schema_at(doc, "")
    }

    /// Adds a document and collects its resources: its root resource.
    fn add_doc(&mut self, url: &str, root: &'a Sj, checked: bool) -> Result<usize, String> {
        let draft = match root.get("$schema").and_then(Sj::as_str) {
            Some(u) => draft_from_url(u).ok_or_else(|| {
                format!(
                    "failing loading {}: berth does not load remote metaschemas",
                    crate::gofmt::quote(u)
                )
            })?,
            None => 2020,
        };
        let doc = self.docs.len();
        self.docs.push(Doc {
            url: url.to_string(),
            root,
            checked,
        });
        self.resources.push(Resource {
            doc,
            ptr: String::new(),
            url: url.to_string(),
            draft,
            anchors: BTreeMap::new(),
            dynamic_anchors: Vec::new(),
        });
        let res = self.resources.len() - 1;
        self.collect(root, doc, "", res, 0)?;
        Ok(res)
    }

    /// The draft of each resource of a document.
    fn dialects(&self, doc: usize) -> Dialects {
        self.resources
            .iter()
            .filter(|r| r.doc == doc)
            .map(|r| (r.ptr.clone(), r.draft))
            .collect()
    }

    /// Finds resources and anchors, walking subschema keywords.
    fn collect(
        &mut self,
        node: &Sj,
        doc: usize,
        ptr: &str,
        res: usize,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 1000 {
            return Err("jsonschema: schema nests too deeply".into());
        }
        self.collected.insert((doc, ptr.to_string()));
        let Sj::Obj(obj) = node else {
            return Ok(());
        };
        let mut res = res;
        let draft = self.resources[res].draft;
        let id_key = if draft == 4 { "id" } else { "$id" };
        let ref_hides = draft < 2019 && obj.contains_key("$ref");
        if !ptr.is_empty()
            && !ref_hides
            && let Some(id) = obj.get(id_key).and_then(Sj::as_str)
        {
            let (url_part, frag) = id.split_once('#').unwrap_or((id, ""));
            if !url_part.is_empty() {
                let url = join(&self.resources[res].url, url_part);
                let draft = obj
                    .get("$schema")
                    .and_then(Sj::as_str)
                    .and_then(draft_from_url)
                    .unwrap_or(draft);
                self.resources.push(Resource {
                    doc,
                    ptr: ptr.to_string(),
                    url,
                    draft,
                    anchors: BTreeMap::new(),
                    dynamic_anchors: Vec::new(),
                });
                res = self.resources.len() - 1;
            }
            if draft < 2019 && !frag.is_empty() {
                let name = decode(frag).unwrap_or_default();
                self.resources[res].anchors.insert(name, ptr.to_string());
            }
        } else if ptr.is_empty()
            && draft < 2019
            && !ref_hides
            && let Some(id) = obj.get(id_key).and_then(Sj::as_str)
            && let Some((_, frag)) = id.split_once('#')
            && !frag.is_empty()
        {
            let name = decode(frag).unwrap_or_default();
            self.resources[res].anchors.insert(name, ptr.to_string());
        }
        if ptr.is_empty()
            && !ref_hides
            && let Some(id) = obj.get(id_key).and_then(Sj::as_str)
        {
            let url_part = id.split('#').next().unwrap_or("");
            if !url_part.is_empty() {
                self.resources[res].url = join(&self.docs[doc].url, url_part);
            }
        }
        let draft = self.resources[res].draft;
        if draft >= 2019 {
            if let Some(a) = obj.get("$anchor").and_then(Sj::as_str) {
                self.resources[res]
                    .anchors
                    .insert(a.to_string(), ptr.to_string());
            }
            if draft >= 2020
                && let Some(a) = obj.get("$dynamicAnchor").and_then(Sj::as_str)
            {
                self.resources[res]
                    .anchors
                    .insert(a.to_string(), ptr.to_string());
                self.resources[res].dynamic_anchors.push(a.to_string());
            }
        }
        for (key, kind) in subschema_keywords(draft) {
            let Some(v) = obj.get(key) else {
                continue;
            };
            let base = format!("{ptr}/{}", escape(key));
            match kind {
                Sub::One => self.collect(v, doc, &base, res, depth + 1)?,
                Sub::Map => {
                    if let Sj::Obj(m) = v {
                        for (k, sub) in m {
                            self.collect(
                                sub,
                                doc,
                                &format!("{base}/{}", escape(k)),
                                res,
                                depth + 1,
                            )?;
                        }
                    }
                }
                Sub::Arr => {
                    if let Sj::Arr(a) = v {
                        for (i, sub) in a.iter().enumerate() {
                            self.collect(sub, doc, &format!("{base}/{i}"), res, depth + 1)?;
                        }
                    }
                }
                Sub::OneOrArr => match v {
                    Sj::Arr(a) => {
                        for (i, sub) in a.iter().enumerate() {
                            self.collect(sub, doc, &format!("{base}/{i}"), res, depth + 1)?;
                        }
                    }
                    other => self.collect(other, doc, &base, res, depth + 1)?,
                },
            }
        }
        Ok(())
    }

    /// The resource a pointer lies in: the one with the longest pointer
    /// prefix.
    fn resource_of(&self, doc: usize, ptr: &str) -> usize {
        let mut best = None;
        for (i, r) in self.resources.iter().enumerate() {
            let inside = r.doc == doc && (ptr == r.ptr || ptr.starts_with(&format!("{}/", r.ptr)));
            if inside && best.is_none_or(|b: usize| r.ptr.len() >= self.resources[b].ptr.len()) {
                best = Some(i);
            }
        }
        best.unwrap_or(0)
    }

    fn lookup(&self, doc: usize, ptr: &str) -> Option<&'a Sj> {
        let mut node = self.docs[doc].root;
        if ptr.is_empty() {
            return Some(node);
        }
        for tok in ptr.split('/').skip(1) {
            node = node.child(&unescape(tok)?)?;
        }
        Some(node)
    }

    fn location(&self, doc: usize, ptr: &str) -> String {
        format!("{}#{}", self.docs[doc].url, encode(ptr))
    }

    /// Resolves a reference made from the schema at `ptr`.
    fn resolve(&mut self, doc: usize, ptr: &str, reference: &str) -> Result<usize, String> {
        let res = self.resource_of(doc, ptr);
        let abs = join(&self.resources[res].url, reference);
        let (url, frag) = abs.split_once('#').unwrap_or((&abs, ""));
        let frag = decode(frag)
            .ok_or_else(|| format!("invalid URL escape in {}", crate::gofmt::quote(&abs)))?;
        let target = self.resource_by_url(url)?;
        let tdoc = self.resources[target].doc;
        let target_ptr = if frag.is_empty() || frag.starts_with('/') {
            let p = format!("{}{frag}", self.resources[target].ptr);
            if self.lookup(tdoc, &p).is_none() {
                return Err(format!(
                    "json-pointer in {} not found",
                    crate::gofmt::quote(&self.location(tdoc, &p))
                ));
            }
            p
        } else {
            match self.resources[target].anchors.get(&frag) {
                Some(p) => p.clone(),
                None => {
                    return Err(format!(
                        "anchor in {} not found in schema {}",
                        crate::gofmt::quote(&abs),
                        crate::gofmt::quote(url)
                    ));
                }
            }
        };
        self.schema_at(tdoc, &target_ptr)
    }

    /// The resource a URL names: one with that `$id`, or the root of the
    /// document loaded from it.
    fn resource_by_url(&mut self, url: &str) -> Result<usize, String> {
        let known = self
            .resources
            .iter()
            .position(|r| r.url == url || (r.ptr.is_empty() && self.docs[r.doc].url == url));
        if let Some(i) = known {
            return Ok(i);
        }
        if let Some(doc) = (self.opts.load)(url) {
            return self.add_doc(url, doc, false);
        }
        match self.opts.fetched.and_then(|f| f.get(url)) {
            Some(Ok(doc)) => return self.add_doc(url, doc, false),
            Some(Err(why)) => {
                return Err(format!(
                    "failing loading {}: {why}",
                    crate::gofmt::quote(url)
                ));
            }
            None => {}
        }
        if let Some(unfetched) = self.opts.unfetched {
            unfetched
                .borrow_mut()
                .get_or_insert_with(|| url.to_string());
        }
        let why = match url.strip_prefix("file://") {
            Some(path) => format!("open {path}: no such file or directory"),
            None => "berth does not load remote schemas".to_string(),
        };
        Err(format!(
            "failing loading {}: {why}",
            crate::gofmt::quote(url)
        ))
    }

    /// The compiled schema at a pointer (compiled once; references may be
    /// cyclic).
    fn schema_at(&mut self, doc: usize, ptr: &str) -> Result<usize, String> {
        if let Some(&i) = self.by_ptr.get(&(doc, ptr.to_string())) {
            return Ok(i);
        }
        if self.schemas.len() > 100_000 {
            return Err("jsonschema: schema too large".into());
        }
        let node = self.lookup(doc, ptr).ok_or_else(|| {
            format!(
                "json-pointer in {} not found",
                crate::gofmt::quote(&self.location(doc, ptr))
            )
        })?;
        if !self.collected.contains(&(doc, ptr.to_string())) {
            // A reference into a place no subschema keyword reaches: its
            // resources and anchors are collected, and it is checked, now.
            let res = self.resource_of(doc, ptr);
            self.collect(node, doc, ptr, res, 0)?;
            if self.docs[doc].checked
                && let Some(check) = self.opts.check
            {
                check(node, ptr, &self.dialects(doc))?;
            }
        }
        let idx = self.schemas.len();
        self.schemas.push(Schema::default());
        self.by_ptr.insert((doc, ptr.to_string()), idx);
        let res = self.resource_of(doc, ptr);
        let draft = self.resources[res].draft;
        let mut s = Schema {
            location: self.location(doc, ptr),
            draft,
            ..Schema::default()
        };
        s.resource = if self.resources[res].ptr == ptr {
            idx
        } else {
            let rp = self.resources[res].ptr.clone();
            self.schema_at(doc, &rp)?
        };
        if draft >= 2020 && self.resources[res].ptr == ptr {
            let dynamic: Vec<(String, String)> = self.resources[res]
                .dynamic_anchors
                .iter()
                .filter_map(|a| {
                    self.resources[res]
                        .anchors
                        .get(a)
                        .map(|p| (a.clone(), p.clone()))
                })
                .collect();
            for (a, p) in dynamic {
                let i = self.schema_at(doc, &p)?;
                s.dynamic_anchors.insert(a, i);
            }
        }
        match node {
            Sj::Bool(b) => s.boolean = Some(*b),
            Sj::Obj(obj) if obj.is_empty() => s.boolean = Some(true),
            Sj::Obj(obj) => self.compile_object(&mut s, obj, doc, ptr)?,
            _ => {}
        }
        s.all_props_evaluated = !matches!(s.additional_properties, Additional::None);
        if draft < 2020 {
            s.all_items_evaluated = !matches!(s.additional_items, Additional::None);
            match &s.items {
                Items::One(_) => s.all_items_evaluated = true,
                Items::Many(v) => s.num_items_evaluated = v.len(),
                Items::None => {}
            }
        } else {
            s.all_items_evaluated = s.items2020.is_some();
            s.num_items_evaluated = s.prefix_items.len();
        }
        self.schemas[idx] = s;
        Ok(idx)
    }

    fn compile_object(
        &mut self,
        s: &mut Schema,
        obj: &BTreeMap<String, Sj>,
        doc: usize,
        ptr: &str,
    ) -> Result<(), String> {
        let draft = s.draft;
        let sub = |kw: &str| format!("{ptr}/{}", escape(kw));
        // $ref --
        if let Some(r) = obj.get("$ref").and_then(Sj::as_str) {
            s.reference = Some(self.resolve(doc, ptr, r)?);
            if draft < 2019 {
                // All other properties in a "$ref" object MUST be ignored.
                return Ok(());
            }
        }
        let prop = |this: &mut Self, kw: &str| -> Result<Option<usize>, String> {
            match obj.get(kw) {
                Some(_) => this.schema_at(doc, &sub(kw)).map(Some),
                None => Ok(None),
            }
        };
        let arr = |this: &mut Self, kw: &str| -> Result<Vec<usize>, String> {
            match obj.get(kw) {
                Some(Sj::Arr(a)) => (0..a.len())
                    .map(|i| this.schema_at(doc, &format!("{}/{i}", sub(kw))))
                    .collect(),
                _ => Ok(Vec::new()),
            }
        };
        let map = |this: &mut Self, kw: &str| -> Result<BTreeMap<String, usize>, String> {
            let mut out = BTreeMap::new();
            if let Some(Sj::Obj(m)) = obj.get(kw) {
                for k in m.keys() {
                    let i = this.schema_at(doc, &format!("{}/{}", sub(kw), escape(k)))?;
                    out.insert(k.clone(), i);
                }
            }
            Ok(out)
        };
        let additional = |this: &mut Self, kw: &str| -> Result<Additional, String> {
            Ok(match obj.get(kw) {
                Some(Sj::Bool(b)) => Additional::Bool(*b),
                Some(_) => Additional::Schema(this.schema_at(doc, &sub(kw))?),
                None => Additional::None,
            })
        };
        let num = |kw: &str| match obj.get(kw) {
            Some(Sj::Num(t)) => Dec::parse(t),
            _ => None,
        };
        let int = |kw: &str| num(kw).filter(Dec::is_int).map(|d| d.to_f64() as i64);
        let boolean = |kw: &str| matches!(obj.get(kw), Some(Sj::Bool(true)));
        let strings = |kw: &str| match obj.get(kw) {
            Some(Sj::Arr(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let doc_url = self.docs[doc].url.clone();
        let regex_err = |kw: &str, re: &str, e: String| {
            format!(
                "invalid regex {} at {}: {e}",
                crate::gofmt::quote(re),
                crate::gofmt::quote(&format!("{doc_url}#{}", encode(&sub(kw))))
            )
        };

        // applicator --
        s.all_of = arr(self, "allOf")?;
        s.any_of = arr(self, "anyOf")?;
        s.one_of = arr(self, "oneOf")?;
        s.not = prop(self, "not")?;
        if draft < 2020 && obj.contains_key("items") {
            if let Some(Sj::Arr(_)) = obj.get("items") {
                s.items = Items::Many(arr(self, "items")?);
                s.additional_items = additional(self, "additionalItems")?;
            } else if let Some(i) = prop(self, "items")? {
                s.items = Items::One(i);
            }
        }
        s.properties = map(self, "properties")?;
        if let Some(Sj::Obj(m)) = obj.get("patternProperties") {
            for k in m.keys() {
                let re = go_regex(k).map_err(|e| regex_err("patternProperties", k, e))?;
                let i =
                    self.schema_at(doc, &format!("{}/{}", sub("patternProperties"), escape(k)))?;
                s.pattern_properties.push((re, i));
            }
        }
        s.additional_properties = additional(self, "additionalProperties")?;
        if let Some(Sj::Obj(m)) = obj.get("dependencies") {
            for (k, v) in m {
                let dep = match v {
                    Sj::Arr(a) => Dependency::Required(
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect(),
                    ),
                    _ => Dependency::Schema(
                        self.schema_at(doc, &format!("{}/{}", sub("dependencies"), escape(k)))?,
                    ),
                };
                s.dependencies.insert(k.clone(), dep);
            }
        }

        // validation --
        match obj.get("type") {
            Some(Sj::Str(t)) => s.types = type_from_name(t),
            Some(Sj::Arr(a)) => {
                for t in a.iter().filter_map(Sj::as_str) {
                    s.types |= type_from_name(t);
                }
            }
            _ => {}
        }
        if let Some(Sj::Arr(a)) = obj.get("enum") {
            let types = a.iter().fold(0, |t, v| t | sj_type(v));
            s.enum_values = Some((types, a.clone()));
        }
        s.multiple_of = num("multipleOf");
        s.maximum = num("maximum");
        if boolean("exclusiveMaximum") {
            s.exclusive_maximum = s.maximum.take();
        } else {
            s.exclusive_maximum = num("exclusiveMaximum");
        }
        s.minimum = num("minimum");
        if boolean("exclusiveMinimum") {
            s.exclusive_minimum = s.minimum.take();
        } else {
            s.exclusive_minimum = num("exclusiveMinimum");
        }
        s.min_length = int("minLength");
        s.max_length = int("maxLength");
        if let Some(Sj::Str(p)) = obj.get("pattern") {
            let re = go_regex(p).map_err(|e| regex_err("pattern", p, e))?;
            s.pattern = Some((re, p.clone()));
        }
        s.min_items = int("minItems");
        s.max_items = int("maxItems");
        s.unique_items = boolean("uniqueItems");
        s.max_properties = int("maxProperties");
        s.min_properties = int("minProperties");
        s.required = strings("required");

        // format: asserted before 2019-09 only (no format-assertion vocabulary).
        if (draft < 2019 || self.opts.assert_format)
            && let Some(Sj::Str(f)) = obj.get("format")
            && super::format::check(f, "").is_some()
        {
            s.format = Some(f.clone());
        }

        if draft >= 6 {
            s.contains = prop(self, "contains")?;
            s.property_names = prop(self, "propertyNames")?;
            s.constant = obj.get("const").cloned();
        }
        if draft >= 7 {
            s.if_ = prop(self, "if")?;
            if s.if_.is_some() {
                let b = match obj.get("if") {
                    Some(Sj::Bool(b)) => Some(*b),
                    _ => None,
                };
                if b != Some(false) {
                    s.then = prop(self, "then")?;
                }
                if b != Some(true) {
                    s.else_ = prop(self, "else")?;
                }
            }
        }
        if draft >= 2019 {
            if let Some(r) = obj.get("$recursiveRef").and_then(Sj::as_str) {
                s.recursive_ref = Some(self.resolve(doc, ptr, r)?);
            }
            s.recursive_anchor = boolean("$recursiveAnchor");
            if s.contains.is_some() {
                s.min_contains = int("minContains");
                s.max_contains = int("maxContains");
            }
            if let Some(Sj::Obj(m)) = obj.get("dependentRequired") {
                for (k, v) in m {
                    if let Sj::Arr(a) = v {
                        s.dependent_required.insert(
                            k.clone(),
                            a.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect(),
                        );
                    }
                }
            }
            s.dependent_schemas = map(self, "dependentSchemas")?;
            s.unevaluated_items = prop(self, "unevaluatedItems")?;
            s.unevaluated_properties = prop(self, "unevaluatedProperties")?;
        }
        if draft >= 2020 {
            if let Some(r) = obj.get("$dynamicRef").and_then(Sj::as_str) {
                let target = self.resolve(doc, ptr, r)?;
                let frag = r.split_once('#').map(|(_, f)| f).unwrap_or("");
                let anchor = if frag.is_empty() || frag.starts_with('/') {
                    String::new()
                } else {
                    decode(frag).unwrap_or_default()
                };
                s.dynamic_ref = Some((target, anchor));
            }
            if let Some(a) = obj.get("$dynamicAnchor").and_then(Sj::as_str) {
                s.dynamic_anchor = a.to_string();
            }
            s.prefix_items = arr(self, "prefixItems")?;
            s.items2020 = prop(self, "items")?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Sub {
    One,
    Map,
    Arr,
    OneOrArr,
}

fn subschema_keywords(draft: u32) -> Vec<(&'static str, Sub)> {
    let mut v = vec![
        ("definitions", Sub::Map),
        ("not", Sub::One),
        ("allOf", Sub::Arr),
        ("anyOf", Sub::Arr),
        ("oneOf", Sub::Arr),
        ("properties", Sub::Map),
        ("additionalProperties", Sub::One),
        ("patternProperties", Sub::Map),
        ("items", Sub::OneOrArr),
        ("additionalItems", Sub::One),
        ("dependencies", Sub::Map),
    ];
    if draft >= 6 {
        v.extend([("propertyNames", Sub::One), ("contains", Sub::One)]);
    }
    if draft >= 7 {
        v.extend([("if", Sub::One), ("then", Sub::One), ("else", Sub::One)]);
    }
    if draft >= 2019 {
        v.extend([
            ("$defs", Sub::Map),
            ("dependentSchemas", Sub::Map),
            ("unevaluatedProperties", Sub::One),
            ("unevaluatedItems", Sub::One),
            ("contentSchema", Sub::One),
        ]);
    }
    if draft >= 2020 {
        v.push(("prefixItems", Sub::Arr));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join() {
        assert_eq!(
            join(ROOT_URL, "#/definitions/a"),
            "file:///values.schema.json#/definitions/a"
        );
        assert_eq!(join(ROOT_URL, "other.json#x"), "file:///other.json#x");
        assert_eq!(
            join("http://example.com/a/b.json", "../c.json"),
            "http://example.com/c.json"
        );
        assert_eq!(
            join("http://example.com/a/b.json", "http://x.org/y"),
            "http://x.org/y"
        );
    }
}
