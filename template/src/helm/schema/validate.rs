//! Validating values against a compiled schema, and the error tree with
//! santhosh-tekuri/jsonschema v6's messages and layout (`- at '/a': …`,
//! causes indented below their group).
//!
//! Go validates an object's properties in map order, which is random;
//! berth goes in key order, so when several properties of one object fail
//! the lines may come in a different order than Helm's.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use serde_json::Value as J;

use super::compile::{self, Additional, Compiled, Dependency, Items, Schema};
use super::doc::Sj;
use super::num::{Dec, locale_float, locale_int};

/// What went wrong (the validator's `ErrorKind`s).
#[derive(Clone, Debug)]
pub enum Kind {
    Schema(String),
    Group,
    Not,
    AllOf,
    AnyOf,
    OneOf(Option<(usize, usize)>),
    FalseSchema,
    RefCycle(String, String, String),
    Type(String, Vec<String>),
    Enum(Vec<Sj>),
    Const(Sj),
    Format(String, String, String),
    Reference,
    MinProperties(usize, i64),
    MaxProperties(usize, i64),
    MinItems(usize, i64),
    MaxItems(usize, i64),
    AdditionalItems(usize),
    Required(Vec<String>),
    Dependency(String, Vec<String>),
    DependentRequired(String, Vec<String>),
    AdditionalProperties(Vec<String>),
    PropertyNames(String),
    UniqueItems(usize, usize),
    Contains,
    MinContains(Vec<usize>, i64),
    MaxContains(Vec<usize>, i64),
    MinLength(usize, i64),
    MaxLength(usize, i64),
    Pattern(String, String),
    Minimum(Dec, Dec),
    Maximum(Dec, Dec),
    ExclusiveMinimum(Dec, Dec),
    ExclusiveMaximum(Dec, Dec),
    MultipleOf(Dec, Dec),
}

/// The validator's `quote`: Go's `%q`, then single quotes outside.
pub fn quote(s: &str) -> String {
    let q = crate::gofmt::quote(s);
    let inner = &q[1..q.len() - 1];
    format!("'{}'", inner.replace("\\\"", "\"").replace('\'', "\\'"))
}

fn join_quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| quote(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `display`: primitives as `%v` (strings quoted), compound values as
/// `value`.
fn display_sj(v: &Sj) -> String {
    match v {
        Sj::Null => "<nil>".into(),
        Sj::Bool(b) => b.to_string(),
        Sj::Num(t) => t.clone(),
        Sj::Str(s) => quote(s),
        Sj::Arr(_) | Sj::Obj(_) => "value".into(),
    }
}

fn display_j(v: &J) -> String {
    match v {
        J::Null => "<nil>".into(),
        J::Bool(b) => b.to_string(),
        J::Number(_) => go_num_text(v),
        J::String(s) => quote(s),
        J::Array(_) | J::Object(_) => "value".into(),
    }
}

/// Go's `%v` of a number as Helm holds it (float64, or int64 from --set).
fn go_num_text(v: &J) -> String {
    match v {
        J::Number(n) => {
            if let Some(i) = n.as_i64().filter(|_| !n.is_f64()) {
                i.to_string()
            } else if let Some(u) = n.as_u64().filter(|_| !n.is_f64()) {
                u.to_string()
            } else {
                crate::gofmt::format_float(n.as_f64().unwrap_or(0.0), 'g', None)
            }
        }
        _ => String::new(),
    }
}

impl Kind {
    fn message(&self) -> String {
        let f = |d: &Dec| locale_float(d.to_f64());
        let n = |x: usize| locale_int(x as i64);
        match self {
            Kind::Schema(loc) => format!("jsonschema validation failed with {}", quote(loc)),
            Kind::Group | Kind::Reference => "validation failed".into(),
            Kind::Not => "'not' failed".into(),
            Kind::AllOf => "'allOf' failed".into(),
            Kind::AnyOf => "'anyOf' failed".into(),
            Kind::OneOf(None) => "'oneOf' failed, none matched".into(),
            Kind::OneOf(Some((a, b))) => {
                format!("'oneOf' failed, subschemas {}, {} matched", n(*a), n(*b))
            }
            Kind::FalseSchema => "false schema".into(),
            Kind::RefCycle(url, a, b) => format!(
                "both {a} and {b} resolve to {} causing reference cycle",
                crate::gofmt::quote(url)
            ),
            Kind::Type(got, want) => format!("got {got}, want {}", want.join(" or ")),
            Kind::Enum(want) => {
                if want.iter().any(|v| matches!(v, Sj::Arr(_) | Sj::Obj(_))) {
                    "'enum' failed".into()
                } else if want.len() == 1 {
                    format!("value must be {}", display_sj(&want[0]))
                } else {
                    let items: Vec<String> = want.iter().map(display_sj).collect();
                    format!("value must be one of {}", items.join(", "))
                }
            }
            Kind::Const(want) => match want {
                Sj::Arr(_) | Sj::Obj(_) => "'const' failed".into(),
                other => format!("value must be {}", display_sj(other)),
            },
            Kind::Format(got, want, why) => format!("{got} is not valid {want}: {why}"),
            Kind::MinProperties(g, w) => {
                format!("minProperties: got {}, want {}", n(*g), locale_int(*w))
            }
            Kind::MaxProperties(g, w) => {
                format!("maxProperties: got {}, want {}", n(*g), locale_int(*w))
            }
            Kind::MinItems(g, w) => format!("minItems: got {}, want {}", n(*g), locale_int(*w)),
            Kind::MaxItems(g, w) => format!("maxItems: got {}, want {}", n(*g), locale_int(*w)),
            Kind::AdditionalItems(c) => format!("last {} additionalItem(s) not allowed", n(*c)),
            Kind::Required(m) => {
                if m.len() == 1 {
                    format!("missing property {}", quote(&m[0]))
                } else {
                    format!("missing properties {}", join_quoted(m))
                }
            }
            Kind::Dependency(p, m) | Kind::DependentRequired(p, m) => format!(
                "properties {} required, if {} exists",
                join_quoted(m),
                quote(p)
            ),
            Kind::AdditionalProperties(p) => {
                format!("additional properties {} not allowed", join_quoted(p))
            }
            Kind::PropertyNames(p) => format!("invalid propertyName {}", quote(p)),
            Kind::UniqueItems(a, b) => format!("items at {} and {} are equal", n(*a), n(*b)),
            Kind::Contains => "no items match contains schema".into(),
            Kind::MinContains(got, want) => {
                if got.is_empty() {
                    format!(
                        "min {} items required to match contains schema, but none matched",
                        locale_int(*want)
                    )
                } else {
                    format!(
                        "min {} items required to match contains schema, but matched {} items at {}",
                        locale_int(*want),
                        n(got.len()),
                        got.iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
            }
            Kind::MaxContains(got, want) => format!(
                "max {} items required to match contains schema, but matched {} items at {}",
                locale_int(*want),
                n(got.len()),
                got.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Kind::MinLength(g, w) => format!("minLength: got {}, want {}", n(*g), locale_int(*w)),
            Kind::MaxLength(g, w) => format!("maxLength: got {}, want {}", n(*g), locale_int(*w)),
            Kind::Pattern(got, want) => {
                format!("{} does not match pattern {}", quote(got), quote(want))
            }
            Kind::Minimum(g, w) => format!("minimum: got {}, want {}", f(g), f(w)),
            Kind::Maximum(g, w) => format!("maximum: got {}, want {}", f(g), f(w)),
            Kind::ExclusiveMinimum(g, w) => {
                format!("exclusiveMinimum: got {}, want {}", f(g), f(w))
            }
            Kind::ExclusiveMaximum(g, w) => {
                format!("exclusiveMaximum: got {}, want {}", f(g), f(w))
            }
            Kind::MultipleOf(g, w) => format!("multipleOf: got {}, want {}", f(g), f(w)),
        }
    }
}

/// A validation error and its causes.
#[derive(Clone, Debug)]
pub struct VErr {
    pub instance: Vec<String>,
    pub kind: Box<Kind>,
    pub causes: Vec<VErr>,
}

impl VErr {
    fn skip(&self) -> bool {
        self.causes.len() == 1 && matches!(*self.kind, Kind::Reference)
    }

    fn display(&self, out: &mut String, mut indent: usize) {
        if !self.skip() {
            if indent > 0 {
                out.push('\n');
                for _ in 0..indent - 1 {
                    out.push_str("  ");
                }
                out.push_str("- ");
            }
            indent += 1;
            if let Kind::Schema(_) = *self.kind {
                out.push_str(&self.kind.message());
            } else {
                let ptr: String = self
                    .instance
                    .iter()
                    .map(|t| format!("/{}", compile::escape(t)))
                    .collect();
                out.push_str(&format!("at {}: {}", quote(&ptr), self.kind.message()));
            }
        }
        for c in &self.causes {
            c.display(out, indent);
        }
    }

    /// `ValidationError.Error()`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.display(&mut out, 0);
        out
    }
}

/// The instance's JSON type (`typeOf`).
fn j_type(v: &J) -> u8 {
    match v {
        J::Null => compile::NULL,
        J::Bool(_) => compile::BOOLEAN,
        J::Number(_) => compile::NUMBER,
        J::String(_) => compile::STRING,
        J::Array(_) => compile::ARRAY,
        J::Object(_) => compile::OBJECT,
    }
}

fn j_dec(v: &J) -> Option<Dec> {
    Dec::parse(&go_num_text(v))
}

/// `equals` of an instance value and a schema value.
fn equals_js(a: &J, b: &Sj) -> bool {
    match (a, b) {
        (J::Object(x), Sj::Obj(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| equals_js(v, w)))
        }
        (J::Array(x), Sj::Arr(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| equals_js(v, w))
        }
        (J::Null, Sj::Null) => true,
        (J::Bool(x), Sj::Bool(y)) => x == y,
        (J::String(x), Sj::Str(y)) => x == y,
        (J::Number(_), Sj::Num(t)) => j_dec(a).is_some_and(|d| Some(d) == Dec::parse(t)),
        _ => false,
    }
}

/// A canonical text of an instance value, equal for equal values (for
/// `uniqueItems`).
fn canonical(v: &J) -> String {
    match v {
        J::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap_or_default(),
                        canonical(&m[*k])
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        J::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        J::Number(_) => format!("n{:?}", j_dec(v)),
        other => other.to_string(),
    }
}

/// Properties and items not yet evaluated (for `unevaluated*`).
#[derive(Clone, Default)]
struct Uneval {
    props: Option<BTreeSet<String>>,
    items: Option<BTreeSet<usize>>,
}

impl Uneval {
    fn from(v: &J, s: &Schema, caller_needs: bool) -> Uneval {
        let mut u = Uneval::default();
        match v {
            J::Object(m)
                if !s.all_props_evaluated
                    && (caller_needs || s.unevaluated_properties.is_some()) =>
            {
                u.props = Some(m.keys().cloned().collect());
            }
            J::Array(a)
                if !s.all_items_evaluated
                    && (caller_needs || s.unevaluated_items.is_some())
                    && s.num_items_evaluated < a.len() =>
            {
                u.items = Some((s.num_items_evaluated..a.len()).collect());
            }
            _ => {}
        }
        u
    }

    fn merge(&mut self, other: &Uneval) {
        if let Some(p) = &mut self.props {
            p.retain(|k| other.props.as_ref().is_some_and(|o| o.contains(k)));
        }
        if let Some(i) = &mut self.items {
            i.retain(|k| other.items.as_ref().is_some_and(|o| o.contains(k)));
        }
    }

    fn is_empty(&self) -> bool {
        self.props.as_ref().is_none_or(BTreeSet::is_empty)
            && self.items.as_ref().is_none_or(BTreeSet::is_empty)
    }
}

/// The chain of schemas applied to values (for cycle detection and
/// dynamic references).
struct Scope {
    sch: usize,
    ref_kw: &'static str,
    vid: usize,
    parent: Option<Rc<Scope>>,
}

/// Validating a schema document against its metaschema: the metaschema
/// of each draft, and the document's resources. The validator checks an
/// embedded resource against its own draft's metaschema when the
/// metaschema in use meets it (`handleMeta`).
pub struct Meta<'a> {
    pub roots: &'a dyn Fn(u32) -> Option<usize>,
    pub dialects: &'a compile::Dialects,
}

struct Vd<'a> {
    c: &'a Compiled,
    /// When validating against a metaschema: how, and the metaschema in use.
    meta: Option<(&'a Meta<'a>, usize)>,
    v: &'a J,
    vloc: Vec<String>,
    sch: usize,
    scp: Rc<Scope>,
    uneval: Uneval,
    errors: Vec<VErr>,
    bool_result: bool,
    depth: usize,
}

/// Validates `v` against the compiled root schema.
pub fn validate(c: &Compiled, v: &J) -> Result<(), VErr> {
    validate_from(c, c.root, v, None)
}

/// Validates a schema document `v` against the metaschema `root`.
pub fn validate_meta(c: &Compiled, root: usize, v: &J, meta: &Meta) -> Result<(), VErr> {
    validate_from(c, root, v, Some((meta, root)))
}

fn validate_from<'a>(
    c: &'a Compiled,
    root: usize,
    v: &'a J,
    meta: Option<(&'a Meta<'a>, usize)>,
) -> Result<(), VErr> {
    let s = &c.schemas[root];
    let mut vd = Vd {
        c,
        meta,
        v,
        vloc: Vec::new(),
        sch: root,
        scp: Rc::new(Scope {
            sch: root,
            ref_kw: "",
            vid: 0,
            parent: None,
        }),
        uneval: Uneval::from(v, s, false),
        errors: Vec::new(),
        bool_result: false,
        depth: 0,
    };
    match vd.validate() {
        Ok(_) => Ok(()),
        Err(e) => {
            let causes = if matches!(*e.kind, Kind::Group) {
                e.causes
            } else {
                vec![e]
            };
            Err(VErr {
                instance: Vec::new(),
                kind: Box::new(Kind::Schema(s.location.clone())),
                causes,
            })
        }
    }
}

impl<'a> Vd<'a> {
    fn s(&self) -> &'a Schema {
        &self.c.schemas[self.sch]
    }

    /// `handleMeta`: at an embedded resource, the metaschema in use gives
    /// way to the resource's draft's.
    fn handle_meta(&mut self) {
        let Some((meta, current)) = self.meta else {
            return;
        };
        if self.sch != current {
            return;
        }
        let ptr: String = self
            .vloc
            .iter()
            .map(|t| format!("/{}", compile::escape(t)))
            .collect();
        if let Some(&draft) = meta.dialects.get(&ptr)
            && let Some(root) = (meta.roots)(draft)
        {
            self.meta = Some((meta, root));
            self.sch = root;
        }
    }

    fn error(&self, kind: Kind) -> VErr {
        VErr {
            instance: self.vloc.clone(),
            kind: Box::new(kind),
            causes: Vec::new(),
        }
    }

    fn add_error(&mut self, kind: Kind) {
        let e = self.error(kind);
        self.errors.push(e);
    }

    fn add_err(&mut self, e: Result<(), VErr>) {
        if let Err(e) = e {
            self.errors.push(e);
        }
    }

    fn add_errors(&mut self, causes: Vec<VErr>, kind: Kind) {
        let mut e = self.error(kind);
        e.causes = causes;
        self.errors.push(e);
    }

    fn check_cycle(&self) -> Option<Rc<Scope>> {
        let mut scp = self.scp.parent.clone();
        while let Some(s) = scp {
            if s.vid != self.scp.vid {
                break;
            }
            if s.sch == self.scp.sch {
                return Some(s);
            }
            scp = s.parent.clone();
        }
        None
    }

    fn kw_loc(&self, scope: &Rc<Scope>) -> String {
        let mut loc = String::new();
        let mut sc = scope.clone();
        while let Some(parent) = sc.parent.clone() {
            if !sc.ref_kw.is_empty() {
                loc = format!("/{}{loc}", sc.ref_kw);
            } else {
                let cur = &self.c.schemas[sc.sch].location;
                let par = &self.c.schemas[parent.sch].location;
                loc = format!("{}{loc}", cur.get(par.len()..).unwrap_or(""));
            }
            sc = parent;
        }
        loc
    }

    fn validate(&mut self) -> Result<Uneval, VErr> {
        let s = self.s();
        let v = self.v;
        if self.depth > 2000 {
            return Err(self.error(Kind::Group));
        }
        if let Some(b) = s.boolean {
            return if b {
                Ok(std::mem::take(&mut self.uneval))
            } else {
                Err(self.error(Kind::FalseSchema))
            };
        }
        if let Some(scp) = self.check_cycle() {
            return Err(self.error(Kind::RefCycle(
                s.location.clone(),
                self.kw_loc(&self.scp.clone()),
                self.kw_loc(&scp),
            )));
        }
        let t = j_type(v);
        // type --
        if s.types != 0 {
            let is_int = j_dec(v).is_some_and(|d| d.is_int());
            let matched = s.types & t != 0
                || (s.types & compile::INTEGER != 0 && t == compile::NUMBER && is_int);
            if !matched {
                let want: Vec<String> = [
                    compile::NULL,
                    compile::BOOLEAN,
                    compile::NUMBER,
                    compile::INTEGER,
                    compile::STRING,
                    compile::ARRAY,
                    compile::OBJECT,
                ]
                .into_iter()
                .filter(|b| s.types & b != 0)
                .map(|b| compile::type_name(b).to_string())
                .collect();
                return Err(self.error(Kind::Type(compile::type_name(t).into(), want)));
            }
        }
        // const --
        if let Some(c) = &s.constant
            && !equals_js(v, c)
        {
            return Err(self.error(Kind::Const(c.clone())));
        }
        // enum --
        if let Some((types, values)) = &s.enum_values {
            let matched = types & t != 0 && values.iter().any(|x| equals_js(v, x));
            if !matched {
                return Err(self.error(Kind::Enum(values.clone())));
            }
        }
        // format --
        if let Some(f) = &s.format
            && let J::String(text) = v
            && let Some(Err(why)) = super::format::check(f, text)
        {
            return Err(self.error(Kind::Format(display_j(v), f.clone(), why)));
        }
        // $ref --
        if let Some(r) = s.reference {
            let res = self.validate_ref(r, "$ref");
            if s.draft < 2019 {
                return res.map(|_| std::mem::take(&mut self.uneval));
            }
            self.add_err(res);
        }
        match v {
            J::Object(obj) => self.obj_validate(obj),
            J::Array(arr) => self.arr_validate(arr),
            J::String(text) => self.str_validate(text),
            J::Number(_) => self.num_validate(),
            _ => {}
        }
        if self.errors.is_empty() || !self.bool_result {
            if s.draft >= 2019 {
                self.validate_refs();
            }
            self.cond_validate();
            if s.draft >= 2019 {
                self.uneval_validate();
            }
        }
        match self.errors.len() {
            0 => Ok(std::mem::take(&mut self.uneval)),
            1 => Err(self.errors.remove(0)),
            _ => {
                let mut e = self.error(Kind::Group);
                e.causes = std::mem::take(&mut self.errors);
                Err(e)
            }
        }
    }

    fn obj_validate(&mut self, obj: &'a serde_json::Map<String, J>) {
        let s = self.s();
        if let Some(min) = s.min_properties
            && (obj.len() as i64) < min
        {
            self.add_error(Kind::MinProperties(obj.len(), min));
        }
        if let Some(max) = s.max_properties
            && obj.len() as i64 > max
        {
            self.add_error(Kind::MaxProperties(obj.len(), max));
        }
        if !s.required.is_empty() {
            let missing: Vec<String> = s
                .required
                .iter()
                .filter(|p| !obj.contains_key(*p))
                .cloned()
                .collect();
            if !missing.is_empty() {
                self.add_error(Kind::Required(missing));
            }
        }
        if self.bool_result && !self.errors.is_empty() {
            return;
        }
        for (pname, dep) in &s.dependencies {
            if obj.contains_key(pname) {
                match dep {
                    Dependency::Required(reqd) => {
                        let missing: Vec<String> = reqd
                            .iter()
                            .filter(|p| !obj.contains_key(*p))
                            .cloned()
                            .collect();
                        if !missing.is_empty() {
                            self.add_error(Kind::Dependency(pname.clone(), missing));
                        }
                    }
                    Dependency::Schema(d) => {
                        let r = self.validate_self(*d, "", false);
                        self.add_err(r);
                    }
                }
            }
        }
        let mut additional = Vec::new();
        for (pname, pvalue) in obj {
            if self.bool_result && !self.errors.is_empty() {
                return;
            }
            let mut evaluated = false;
            if let Some(&p) = s.properties.get(pname) {
                evaluated = true;
                let r = self.validate_val(p, pvalue, pname);
                self.add_err(r);
            }
            for (re, p) in &s.pattern_properties {
                if re.is_match(pname) {
                    evaluated = true;
                    let r = self.validate_val(*p, pvalue, pname);
                    self.add_err(r);
                }
            }
            if !evaluated {
                match &s.additional_properties {
                    Additional::None => {}
                    Additional::Bool(b) => {
                        evaluated = true;
                        if !b {
                            additional.push(pname.clone());
                        }
                    }
                    Additional::Schema(a) => {
                        evaluated = true;
                        let r = self.validate_val(*a, pvalue, pname);
                        self.add_err(r);
                    }
                }
            }
            if evaluated && let Some(p) = &mut self.uneval.props {
                p.remove(pname);
            }
        }
        if !additional.is_empty() {
            self.add_error(Kind::AdditionalProperties(additional));
        }
        if s.draft == 4 {
            return;
        }
        if let Some(pn) = s.property_names {
            for pname in obj.keys() {
                let key = J::String(pname.clone());
                let r = self.validate_detached(pn, &key);
                if let Err(mut e) = r {
                    // The error keeps the detached validation's instance
                    // location, '' (the validator sets only the kind).
                    e.kind = Box::new(Kind::PropertyNames(pname.clone()));
                    self.errors.push(e);
                }
            }
        }
        if s.draft == 6 {
            return;
        }
        for (pname, d) in &s.dependent_schemas {
            if obj.contains_key(pname) {
                let r = self.validate_self(*d, "", false);
                self.add_err(r);
            }
        }
        for (pname, reqd) in &s.dependent_required {
            if obj.contains_key(pname) {
                let missing: Vec<String> = reqd
                    .iter()
                    .filter(|p| !obj.contains_key(*p))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    self.add_error(Kind::DependentRequired(pname.clone(), missing));
                }
            }
        }
    }

    fn arr_validate(&mut self, arr: &'a [J]) {
        let s = self.s();
        if let Some(min) = s.min_items
            && (arr.len() as i64) < min
        {
            self.add_error(Kind::MinItems(arr.len(), min));
        }
        if let Some(max) = s.max_items
            && arr.len() as i64 > max
        {
            self.add_error(Kind::MaxItems(arr.len(), max));
        }
        if s.unique_items && arr.len() > 1 {
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (i, item) in arr.iter().enumerate() {
                let key = canonical(item);
                if let Some(&j) = seen.get(&key) {
                    self.add_error(Kind::UniqueItems(j, i));
                    break;
                }
                seen.insert(key, i);
            }
        }
        if s.draft < 2020 {
            let mut evaluated = 0;
            match &s.items {
                Items::One(it) => {
                    for (i, item) in arr.iter().enumerate() {
                        let r = self.validate_val(*it, item, &i.to_string());
                        self.add_err(r);
                    }
                    evaluated = arr.len();
                }
                Items::Many(its) => {
                    let n = arr.len().min(its.len());
                    for (i, item) in arr[..n].iter().enumerate() {
                        let r = self.validate_val(its[i], item, &i.to_string());
                        self.add_err(r);
                    }
                    evaluated = n;
                }
                Items::None => {}
            }
            match &s.additional_items {
                Additional::None => {}
                Additional::Bool(b) => {
                    if !b && evaluated != arr.len() {
                        self.add_error(Kind::AdditionalItems(arr.len() - evaluated));
                    }
                }
                Additional::Schema(a) => {
                    // The index restarts at 0 here (as in the validator).
                    for (i, item) in arr[evaluated..].iter().enumerate() {
                        let r = self.validate_val(*a, item, &i.to_string());
                        self.add_err(r);
                    }
                }
            }
        } else {
            let evaluated = s.prefix_items.len().min(arr.len());
            for (i, item) in arr[..evaluated].iter().enumerate() {
                let r = self.validate_val(s.prefix_items[i], item, &i.to_string());
                self.add_err(r);
            }
            if let Some(it) = s.items2020 {
                for (i, item) in arr[evaluated..].iter().enumerate() {
                    let r = self.validate_val(it, item, &i.to_string());
                    self.add_err(r);
                }
            }
        }
        if let Some(c) = s.contains {
            let mut errors = Vec::new();
            let mut matched = Vec::new();
            for (i, item) in arr.iter().enumerate() {
                match self.validate_val(c, item, &i.to_string()) {
                    Err(e) => errors.push(e),
                    Ok(()) => {
                        matched.push(i);
                        if s.draft >= 2020
                            && let Some(items) = &mut self.uneval.items
                        {
                            items.remove(&i);
                        }
                    }
                }
            }
            if let Some(min) = s.min_contains {
                if (matched.len() as i64) < min {
                    self.add_errors(errors, Kind::MinContains(matched.clone(), min));
                }
            } else if matched.is_empty() {
                self.add_errors(errors, Kind::Contains);
            }
            if let Some(max) = s.max_contains
                && matched.len() as i64 > max
            {
                self.add_error(Kind::MaxContains(matched, max));
            }
        }
    }

    fn str_validate(&mut self, text: &str) {
        let s = self.s();
        let len = text.chars().count();
        if let Some(min) = s.min_length
            && (len as i64) < min
        {
            self.add_error(Kind::MinLength(len, min));
        }
        if let Some(max) = s.max_length
            && len as i64 > max
        {
            self.add_error(Kind::MaxLength(len, max));
        }
        if let Some((re, src)) = &s.pattern
            && !re.is_match(text)
        {
            self.add_error(Kind::Pattern(text.to_string(), src.clone()));
        }
    }

    fn num_validate(&mut self) {
        let s = self.s();
        let Some(num) = j_dec(self.v) else {
            return;
        };
        if let Some(m) = &s.minimum
            && num < *m
        {
            self.add_error(Kind::Minimum(num.clone(), m.clone()));
        }
        if let Some(m) = &s.maximum
            && num > *m
        {
            self.add_error(Kind::Maximum(num.clone(), m.clone()));
        }
        if let Some(m) = &s.exclusive_minimum
            && num <= *m
        {
            self.add_error(Kind::ExclusiveMinimum(num.clone(), m.clone()));
        }
        if let Some(m) = &s.exclusive_maximum
            && num >= *m
        {
            self.add_error(Kind::ExclusiveMaximum(num.clone(), m.clone()));
        }
        if let Some(m) = &s.multiple_of
            && !num.is_multiple_of(m)
        {
            self.add_error(Kind::MultipleOf(num, m.clone()));
        }
    }

    fn cond_validate(&mut self) {
        let s = self.s();
        if let Some(n) = s.not
            && self.validate_self(n, "", true).is_ok()
        {
            self.add_error(Kind::Not);
        }
        if !s.all_of.is_empty() {
            let mut errors = Vec::new();
            for &sch in &s.all_of {
                if let Err(e) = self.validate_self(sch, "", false) {
                    errors.push(e);
                    if self.bool_result {
                        break;
                    }
                }
            }
            if !errors.is_empty() {
                self.add_errors(errors, Kind::AllOf);
            }
        }
        if !s.any_of.is_empty() {
            let mut matched = false;
            let mut errors = Vec::new();
            for &sch in &s.any_of {
                match self.validate_self(sch, "", false) {
                    Err(e) => errors.push(e),
                    Ok(()) => {
                        matched = true;
                        if self.uneval.is_empty() {
                            break;
                        }
                    }
                }
            }
            if !matched {
                self.add_errors(errors, Kind::AnyOf);
            }
        }
        if !s.one_of.is_empty() {
            let mut matched: Option<usize> = None;
            let mut errors = Vec::new();
            for (i, &sch) in s.one_of.iter().enumerate() {
                match self.validate_self(sch, "", matched.is_some()) {
                    Err(e) => {
                        if matched.is_none() {
                            errors.push(e);
                        }
                    }
                    Ok(()) => match matched {
                        None => matched = Some(i),
                        Some(first) => {
                            self.add_error(Kind::OneOf(Some((first, i))));
                            break;
                        }
                    },
                }
            }
            if matched.is_none() {
                self.add_errors(errors, Kind::OneOf(None));
            }
        }
        if let Some(i) = s.if_ {
            if self.validate_self(i, "", true).is_ok() {
                if let Some(t) = s.then {
                    let r = self.validate_self(t, "", false);
                    self.add_err(r);
                }
            } else if let Some(e) = s.else_ {
                let r = self.validate_self(e, "", false);
                self.add_err(r);
            }
        }
    }

    fn uneval_validate(&mut self) {
        let s = self.s();
        if let (J::Object(obj), Some(up)) = (self.v, s.unevaluated_properties) {
            let props: Vec<String> = self
                .uneval
                .props
                .as_ref()
                .map(|p| p.iter().cloned().collect())
                .unwrap_or_default();
            for pname in props {
                if let Some(pv) = obj.get(&pname) {
                    let r = self.validate_val(up, pv, &pname);
                    self.add_err(r);
                }
            }
            self.uneval.props = None;
        }
        if let (J::Array(arr), Some(ui)) = (self.v, s.unevaluated_items) {
            let items: Vec<usize> = self
                .uneval
                .items
                .as_ref()
                .map(|p| p.iter().copied().collect())
                .unwrap_or_default();
            for i in items {
                let r = self.validate_val(ui, &arr[i], &i.to_string());
                self.add_err(r);
            }
            self.uneval.items = None;
        }
    }

    fn validate_refs(&mut self) {
        let s = self.s();
        if let Some(mut r) = s.recursive_ref {
            if self.c.schemas[r].recursive_anchor {
                let mut scp = Some(self.scp.clone());
                while let Some(sc) = scp {
                    let res = self.c.schemas[sc.sch].resource;
                    if self.c.schemas[res].recursive_anchor {
                        r = sc.sch;
                    }
                    scp = sc.parent.clone();
                }
            }
            let res = self.validate_ref(r, "$recursiveRef");
            self.add_err(res);
        }
        if let Some((mut r, anchor)) = s.dynamic_ref.clone() {
            if !anchor.is_empty() && self.c.schemas[r].dynamic_anchor == anchor {
                let mut scp = Some(self.scp.clone());
                while let Some(sc) = scp {
                    let res = self.c.schemas[sc.sch].resource;
                    if let Some(&d) = self.c.schemas[res].dynamic_anchors.get(&anchor) {
                        r = d;
                    }
                    scp = sc.parent.clone();
                }
            }
            let res = self.validate_ref(r, "$dynamicRef");
            self.add_err(res);
        }
    }

    fn validate_ref(&mut self, sch: usize, kw: &'static str) -> Result<(), VErr> {
        if let Err(e) = self.validate_self(sch, kw, false) {
            let mut ref_err = self.error(Kind::Reference);
            if matches!(*e.kind, Kind::Group) {
                ref_err.causes = e.causes;
            } else {
                ref_err.causes.push(e);
            }
            return Err(ref_err);
        }
        Ok(())
    }

    fn sub(
        &self,
        sch: usize,
        v: &'a J,
        vloc: Vec<String>,
        scp: Rc<Scope>,
        uneval: Uneval,
        bool_result: bool,
    ) -> Vd<'a> {
        Vd {
            c: self.c,
            meta: self.meta,
            v,
            vloc,
            sch,
            scp,
            uneval,
            errors: Vec::new(),
            bool_result,
            depth: self.depth + 1,
        }
    }

    /// Another schema applied to the same value.
    fn validate_self(
        &mut self,
        sch: usize,
        ref_kw: &'static str,
        bool_result: bool,
    ) -> Result<(), VErr> {
        let scp = Rc::new(Scope {
            sch,
            ref_kw,
            vid: self.scp.vid,
            parent: Some(self.scp.clone()),
        });
        let uneval = Uneval::from(self.v, &self.c.schemas[sch], !self.uneval.is_empty());
        let mut sub = self.sub(
            sch,
            self.v,
            self.vloc.clone(),
            scp,
            uneval,
            self.bool_result || bool_result,
        );
        sub.handle_meta();
        let r = sub.validate();
        match r {
            Ok(u) => {
                self.uneval.merge(&u);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// A schema applied to a member of the value.
    fn validate_val(&mut self, sch: usize, v: &'a J, tok: &str) -> Result<(), VErr> {
        let mut vloc = self.vloc.clone();
        vloc.push(tok.to_string());
        let scp = Rc::new(Scope {
            sch,
            ref_kw: "",
            vid: self.scp.vid + 1,
            parent: Some(self.scp.clone()),
        });
        let uneval = Uneval::from(v, &self.c.schemas[sch], false);
        let mut sub = self.sub(sch, v, vloc, scp, uneval, self.bool_result);
        sub.handle_meta();
        sub.validate().map(|_| ())
    }

    /// A schema applied to a value outside the instance (property names):
    /// a fresh validation whose root is that schema.
    fn validate_detached(&mut self, sch: usize, v: &J) -> Result<(), VErr> {
        let c = self.c;
        let s = &c.schemas[sch];
        let mut sub = Vd {
            c,
            meta: self.meta,
            v,
            vloc: Vec::new(),
            sch,
            scp: Rc::new(Scope {
                sch,
                ref_kw: "",
                vid: 0,
                parent: None,
            }),
            uneval: Uneval::from(v, s, false),
            errors: Vec::new(),
            bool_result: self.bool_result,
            depth: self.depth + 1,
        };
        sub.validate().map(|_| ()).map_err(|e| {
            let causes = if matches!(*e.kind, Kind::Group) {
                e.causes
            } else {
                vec![e]
            };
            VErr {
                instance: Vec::new(),
                kind: Box::new(Kind::Schema(s.location.clone())),
                causes,
            }
        })
    }
}
